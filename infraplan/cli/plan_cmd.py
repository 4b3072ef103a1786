"""CLI commands (plan_cmd)."""
