"""Capital budget: capital spent per year (servers, facilities, site openings) within a cap.

Constraint ``capex-budget[vintage]`` (in million USD, undiscounted), when the scenario sets
``economics.capex_budget_usd``. Expression ``capex_usd[vintage]``.

Explanation rule: the years in which the budget binds, with the value of one more dollar of
budget as a rate and the amount over which it holds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from infraplan import catalog
from infraplan.model.costs import capex_spend_usd
from infraplan.model.families.base import (
    DUAL_EPS,
    TIGHT_REL,
    BuildContext,
    ExplainContext,
    relax_saving,
    row,
)
from infraplan.units import OBJ_SCALE
from infraplan.words import money

NAME = "budget"


def build(ctx: BuildContext) -> None:
    """Capital spending by year and its cap."""
    coef, m = ctx.coef, ctx.m
    v = m.variables
    s = 1.0 / OBJ_SCALE
    capex = (v["build"] * ctx.da(coef.spend_server * s, ["fleet", "vintage"])).sum("fleet") + (
        v["facility"] * ctx.da(coef.spend_facility * s, ["site"])
    ).sum("site")
    if "open" in v:
        capex = capex + (v["open"] * ctx.da(coef.spend_opening * s, ["site"])).sum("site")
    ctx.exprs["capex_musd"] = capex
    budget = ctx.inp.scenario.economics.capex_budget_usd
    if budget is None:
        return
    cap = catalog.year_values(budget, ctx.inp.years, np.inf)
    m.add_constraints(
        capex <= ctx.da(np.where(np.isfinite(cap), cap * s, 0.0), ["vintage"]),
        name="capex-budget",
        mask=ctx.da(np.isfinite(cap), ["vintage"]),
    )


def binding(ctx: ExplainContext) -> np.ndarray | None:
    """(year,) True where the budget is spent, or None without a budget."""
    budget = ctx.inp.scenario.economics.capex_budget_usd
    if budget is None:
        return None
    dual = ctx.dual("capex-budget")
    if dual is not None:
        return dual < -DUAL_EPS * 1e-6 * OBJ_SCALE
    cap = catalog.year_values(budget, ctx.years, np.inf)
    spent = capex_spend_usd(ctx.coef, ctx.sol.primal)
    return spent >= cap * (1 - TIGHT_REL) - 1.0


def explain(ctx: ExplainContext) -> list[dict[str, Any]]:
    """Binding capital budget per year."""
    budget = ctx.inp.scenario.economics.capex_budget_usd
    flags = binding(ctx)
    if budget is None or flags is None:
        return []
    cap = catalog.year_values(budget, ctx.years, np.inf)
    dual = ctx.dual("capex-budget")
    rng = ctx.range_of("capex-budget")
    rows = []
    for yi, year in enumerate(ctx.years):
        if not flags[yi]:
            continue
        head = f"The capital budget of {year} ({money(cap[yi])}) is fully spent"
        if dual is None:
            rows.append(
                row(
                    "binding",
                    head + "; its value was not computed (no duals)",
                    float("nan"),
                    "none",
                    "capex-budget",
                    year=year,
                )
            )
            continue
        per_usd = -float(dual[yi]) / OBJ_SCALE  # PV USD saved per USD of budget that year
        up = float(rng[0][yi]) * OBJ_SCALE if rng is not None else None
        saving, room = relax_saving(float(dual[yi]) / OBJ_SCALE, float(cap[yi]), up, +1)
        text = (
            f"{head}: each extra dollar of budget that year would lower the discounted cost by "
            f"{per_usd:.3g} USD"
        )
        if room is None:
            rows.append(
                row(
                    "binding",
                    text + " at the margin (range not computed)",
                    saving,
                    "rate per unit",
                    "capex-budget",
                    per_usd,
                    "USD/USD",
                    year=year,
                )
            )
        elif room > 1e-6:
            rows.append(
                row(
                    "binding",
                    f"{text}, for up to {money(room)} more: {money(saving)} in all",
                    saving,
                    "saving over the stated range",
                    "capex-budget",
                    per_usd,
                    "USD/USD",
                    money(room),
                    year=year,
                )
            )
    return rows
