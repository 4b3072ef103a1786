"""Naive baseline plan to compare the optimised plan against (filled in by a later commit)."""

from __future__ import annotations

from typing import Any


def naive_baseline(inp: Any) -> dict[str, Any]:
    """Each country builds for its own peak with its single cheapest-per-token accelerator."""
    return {}
