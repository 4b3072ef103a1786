"""Tolerant access to a parsed ``results.json`` (see docs/results.md).

The report must render older or partial files, so every accessor returns an empty DataFrame or
``None`` instead of raising when a key or column is missing.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

COST_COMPONENT_LABELS: dict[str, str] = {
    "it_capex": "IT equipment (servers)",
    "facility_capex": "Datacenter construction",
    "energy": "Electricity",
    "om": "Operation & maintenance",
    "unserved_penalty": "Penalty for unserved demand",
    "site_opening": "Site opening",
    "carbon": "Carbon price",
}


def table(results: dict[str, Any], key: str, columns: list[str] | None = None) -> pd.DataFrame:
    """Rows under ``key`` as a DataFrame; empty (with ``columns``) if absent or malformed."""
    rows = results.get(key) if isinstance(results, dict) else None
    if not isinstance(rows, list) or not rows:
        return pd.DataFrame(columns=columns or [])
    df = pd.DataFrame([r for r in rows if isinstance(r, dict)])
    return df


def has_columns(df: pd.DataFrame, *cols: str) -> bool:
    """True if ``df`` has rows and all ``cols``."""
    return not df.empty and all(c in df.columns for c in cols)


def obj(results: dict[str, Any], key: str) -> dict[str, Any]:
    """The object under ``key`` or ``{}``."""
    value = results.get(key) if isinstance(results, dict) else None
    return value if isinstance(value, dict) else {}


def number(value: Any) -> float | None:
    """``value`` as a finite float, else ``None``."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def years(results: dict[str, Any]) -> list[int]:
    """Modelled years: ``scenario.years``, else the years found in the tables."""
    ys = obj(results, "scenario").get("years")
    if isinstance(ys, list) and ys:
        try:
            return sorted({int(y) for y in ys})
        except (TypeError, ValueError):
            pass
    found: set[int] = set()
    for key in ("demand", "dispatch", "site_load", "installed", "build", "costs_by_year"):
        df = table(results, key)
        if "year" in df.columns:
            found.update(int(y) for y in pd.to_numeric(df["year"], errors="coerce").dropna())
    return sorted(found)


def names(results: dict[str, Any], key: str) -> dict[str, str]:
    """``id -> name`` for ``sites`` or ``regions`` (the id itself where no name is given)."""
    df = table(results, key)
    if "id" not in df.columns:
        return {}
    out: dict[str, str] = {}
    for _, row in df.iterrows():
        name = row.get("name")
        out[str(row["id"])] = str(name) if isinstance(name, str) and name else str(row["id"])
    return out


def label(mapping: dict[str, str], key: Any) -> str:
    """Display name for an id, falling back to the id."""
    return mapping.get(str(key), str(key))


def cost_label(component: str) -> str:
    """Plain-words name of a cost component (``om`` -> ``Operation & maintenance``)."""
    key = component.removesuffix("_usd")
    return COST_COMPONENT_LABELS.get(key, key.replace("_", " ").capitalize())


def cost_components(results: dict[str, Any]) -> dict[str, float]:
    """Discounted cost components from ``costs_usd`` (numbers only), in file order."""
    out: dict[str, float] = {}
    for k, v in obj(results, "costs_usd").items():
        n = number(v)
        if n is not None:
            out[str(k)] = n
    return out
