"""Explanations: unserved demand and binding constraints in plain words (filled in by a later
commit; the interface is stable)."""

from __future__ import annotations

from typing import Any

import pandas as pd

COLUMNS = ["kind", "text", "impact_usd", "constraint", "shadow_price", "unit"]


def explain(inp: Any, built: Any, results: Any) -> pd.DataFrame:
    """Rows (kind, text, impact_usd, constraint, shadow_price, unit) sorted by impact."""
    return pd.DataFrame(columns=COLUMNS)
