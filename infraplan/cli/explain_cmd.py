"""`infraplan explain DIR` (filled in by a later commit)."""
