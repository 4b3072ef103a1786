"""Explanations: what limits a plan, in plain words, largest impact first.

Each constraint family states its own explanation rule (``explain`` in its module under
``infraplan.model.families``); this module runs them on a solved plan and orders the rows.

Every number a row states is true for the change it names:

- ``unserved`` rows: the value of lost service the objective charges for that demand
  (``impact_basis`` = "value of lost service charged"; the rows add up to
  ``costs_usd.unserved_penalty``);
- ``binding`` rows: a marginal rate (the dual or reduced cost, in USD per unit, converted to the
  year's money where it refers to one year) with the range over which it holds, from HiGHS
  ranging on the final LP (``valid_up_to``); the impact is the rate x that range, the saving of
  relaxing the constraint that far (``impact_basis`` = "saving over the stated range"). Where
  the solve gives no range (interior point without crossover), the row says so and its impact is
  the rate for one unit ("rate per unit"). Rows whose rate holds over no range at all (a
  degenerate dual) are not stated.

For whole-server plans the duals come from the LP with the integer decisions held at the plan's
values (``solve.duals`` = "lp-fixed-integers"): rates then say what a change is worth with the
servers as bought.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from infraplan.model.costs import CostCoefficients
from infraplan.model.families import FAMILIES, ExplainContext
from infraplan.model.families.base import ROW_COLUMNS
from infraplan.model.inputs import PlanInputs
from infraplan.model.solution import Solution

COLUMNS = ROW_COLUMNS


def explain(
    inp: PlanInputs, coef: CostCoefficients, sol: Solution, tables: dict[str, pd.DataFrame]
) -> pd.DataFrame:
    """Rows (``COLUMNS``) sorted by impact, largest first (rows without an impact last)."""
    if not sol.has_plan:
        return pd.DataFrame(columns=COLUMNS)
    ctx = ExplainContext(inp=inp, coef=coef, sol=sol, tables=tables)
    rows: list[dict[str, Any]] = []
    for family in FAMILIES:
        rows += family.explain(ctx)
    if not rows:
        return pd.DataFrame(columns=COLUMNS)
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["impact_usd"] = pd.to_numeric(df["impact_usd"], errors="coerce")
    df["shadow_price"] = pd.to_numeric(df["shadow_price"], errors="coerce")
    df["year"] = df["year"].astype("Int64")
    return df.sort_values(
        "impact_usd", ascending=False, na_position="last", kind="stable"
    ).reset_index(drop=True)


def headline_rows(rows: list[dict[str, Any]], n: int = 3) -> list[dict[str, Any]]:
    """The ``n`` largest explanations (rows sorted by impact) without repeating one cause: a
    row whose constraint family and site were already named is skipped (e.g. a lead time and
    the demand it leaves unserved)."""
    seen: set[tuple[str, str]] = set()
    out = []
    for r in rows:
        family = str(r.get("constraint") or "").split("[")[0]
        site = r.get("site")
        key = (family, str(site)) if site and family else None
        if key is not None and key in seen:
            continue
        if key is not None:
            seen.add(key)
        out.append(r)
        if len(out) >= n:
            break
    return out
