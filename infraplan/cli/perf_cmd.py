"""CLI commands (perf_cmd)."""
