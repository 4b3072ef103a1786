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
    "unserved_penalty": "Value of lost service (unserved demand)",
    "training_shortfall": "Value of unfinished training",
    "site_opening": "Site opening",
    "carbon": "Carbon price",
    "renewables": "Renewable energy",
}
"""Plain-words names of the ``costs_usd`` components (they add up to the objective)."""

PENALTY_COMPONENTS = ("unserved_penalty", "training_shortfall")
"""Components of the objective that are values of what the plan fails to do, not costs."""


YEAR_TABLES = (
    "demand_by_service",
    "served_by_service",
    "serving_summary",
    "flows",
    "site_load",
    "installed",
    "build",
    "costs_by_year",
    "demand",
    "dispatch",
)
"""Tables whose ``year`` column names the modelled years when ``scenario.years`` is absent."""

HOURLY_TABLES = ("demand", "dispatch", "serving", "unserved")
"""Hourly tables that older results.json files carried inside them (now Parquet files)."""


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
    for key in YEAR_TABLES:
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


def older_format(results: dict[str, Any]) -> bool:
    """True for a results.json of the older contract (hourly tables inside the file)."""
    return any(not table(results, k).empty for k in HOURLY_TABLES)


def missing_table_note(results: dict[str, Any], key: str, what: str) -> str:
    """Why ``what`` cannot be shown: the table ``key`` is absent (older file or partial one)."""
    if older_format(results):
        return (
            f"This results.json is in the older format (hourly tables inside the file, no "
            f"{key} table), so {what} cannot be shown; run the plan again with this version of "
            "infraplan."
        )
    return f"These results have no {key} table, so {what} cannot be shown."


def integral(value: Any) -> bool:
    """True for a number within 1e-6 of a whole number (or not a number at all)."""
    n = number(value)
    return n is None or abs(n - round(n)) <= 1e-6


def relaxed(results: dict[str, Any]) -> bool:
    """True when server counts are fractional: the plan is the continuous relaxation.

    ``solve.integer_servers`` decides; files written before that key existed are judged by
    their server counts (any fractional count in ``build`` or ``installed``).
    """
    flag = obj(results, "solve").get("integer_servers")
    if isinstance(flag, bool):
        return not flag
    for key in ("build", "installed"):
        df = table(results, key)
        if "servers" in df.columns and not all(integral(v) for v in df["servers"]):
            return True
    return False


def split_ids(value: Any) -> list[str]:
    """``'a;b'`` or ``['a', 'b']`` as a list of ids (``services`` of ``serving_summary``)."""
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v is not None and str(v)]
    if isinstance(value, str):
        return [v.strip() for v in value.split(";") if v.strip()]
    return []


def hours_list(value: Any) -> list[int]:
    """UTC hours from a list of ints (``hours_utc``), tolerating a ``'10;11'`` string."""
    items = value if isinstance(value, list | tuple) else split_ids(value)
    out = []
    for v in items:
        n = number(v)
        if n is not None and 0 <= n < 24:
            out.append(int(n))
    return sorted(set(out))


def older_metrics(results: dict[str, Any]) -> bool:
    """True when ``metrics`` follows the older contract (``cost_per_citizen_year_usd``, costs per
    token that include training)."""
    m = obj(results, "metrics")
    return "cost_per_citizen_year_usd" in m and "serving_cost_usd" not in m


def total_cost(results: dict[str, Any]) -> float | None:
    """``metrics.total_cost_usd``; for files without it, the objective less the values of lost
    service and unfinished training (the same definition)."""
    n = number(obj(results, "metrics").get("total_cost_usd"))
    if n is not None:
        return n
    objective = number(results.get("objective_usd"))
    costs = cost_components(results)
    if objective is None or not costs:
        return None
    return objective - sum(costs.get(k, 0.0) for k in PENALTY_COMPONENTS)
