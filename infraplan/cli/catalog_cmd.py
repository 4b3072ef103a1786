"""CLI commands (catalog_cmd)."""
