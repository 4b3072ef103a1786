"""Energy, emissions and the scenario's carbon and renewable commitments.

Expressions ``energy_mwh[site, year]`` (facility energy, priced in ``infraplan.model.costs``)
and ``emissions_t[year]``; variable ``green[site, year]`` (MWh of renewable certificates or
PPAs bought, when a renewable share is required).

Constraints:
- ``carbon-cap[year]``: emissions within the cap;
- ``renewable-available[site, year]``: certificates cover at most the site's grey energy;
- ``renewable-share[year]``: grid renewable share + certificates >= commitment x energy.

Explanation rule: binding carbon caps (the plan's implicit carbon price) and renewable
commitments (the cost of each MWh they require), each with the range over which it holds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from infraplan import catalog
from infraplan.model.families.base import DUAL_EPS, BuildContext, ExplainContext, relax_saving, row
from infraplan.model.linexpr import group_sum
from infraplan.words import money, num

NAME = "energy"


def build(ctx: BuildContext) -> None:
    """Energy and emissions expressions; carbon and renewable rows when the scenario sets them."""
    inp, coef = ctx.inp, ctx.coef
    sites = inp.sites
    n = len(sites)
    site_c = ctx.coords["site"]
    m = ctx.m
    e = group_sum(
        ctx.exprs["installed"] * ctx.da(coef.mwh_idle.sum(axis=1), ["fleet"]),
        "fleet",
        sites.index.get_indexer(pd.Index(inp.fleet["site"])),
        n,
        "site",
        site_c,
    ) + group_sum(
        (m.variables["serve"] * ctx.da(coef.mwh_serve, ["option", "year", "block"])).sum("block"),
        "option",
        sites.index.get_indexer(pd.Index(inp.options["site"])),
        n,
        "site",
        site_c,
    )
    if "train" in m.variables:
        e = e + group_sum(
            m.variables["train"] * ctx.da(coef.mwh_train.sum(axis=1), ["training"]),
            "training",
            sites.index.get_indexer(pd.Index(inp.trainings["site"])),
            n,
            "site",
            site_c,
        )
    ctx.exprs["energy_mwh"] = e
    emissions = (e * ctx.da(coef.carbon_t_per_mwh, ["site"])).sum("site")
    ctx.exprs["emissions_t"] = emissions

    cfg = inp.scenario.energy
    if cfg.carbon_cap_t is not None:
        cap_t = catalog.year_values(cfg.carbon_cap_t, inp.years, np.inf)
        m.add_constraints(
            emissions <= ctx.da(np.where(np.isfinite(cap_t), cap_t, 0.0), ["year"]),
            name="carbon-cap",
            mask=ctx.da(np.isfinite(cap_t), ["year"]),
        )
    if cfg.renewable_share_min is not None:
        target = catalog.year_values(cfg.renewable_share_min, inp.years, 0.0)
        green = ctx.var("green", ["site", "year"], lower=0)
        ren = sites["renewable_share"].to_numpy()
        m.add_constraints(green - e * ctx.da(1.0 - ren, ["site"]) <= 0, name="renewable-available")
        m.add_constraints(
            (e * ctx.da(ren, ["site"]) + green).sum("site")
            - e.sum("site") * ctx.da(target, ["year"])
            >= 0,
            name="renewable-share",
        )


def carbon_binding(ctx: ExplainContext) -> np.ndarray | None:
    """(year,) True where the carbon cap binds, or None without a cap."""
    cap = ctx.inp.scenario.energy.carbon_cap_t
    if cap is None:
        return None
    dual = ctx.dual("carbon-cap")
    if dual is not None:
        return dual < -DUAL_EPS
    from infraplan.model.costs import emissions_t

    em = emissions_t(ctx.inp, ctx.coef, ctx.sol.primal)
    cap_t = catalog.year_values(cap, ctx.years, np.inf)
    return em >= cap_t * (1 - 1e-6) - 1e-6


def explain(ctx: ExplainContext) -> list[dict[str, Any]]:
    """Binding carbon caps and renewable-share commitments per year."""
    cfg = ctx.inp.scenario.energy
    rows: list[dict[str, Any]] = []
    if cfg.carbon_cap_t is not None and (d := ctx.dual("carbon-cap")) is not None:
        cap_t = catalog.year_values(cfg.carbon_cap_t, ctx.years, np.inf)
        rng = ctx.range_of("carbon-cap")
        for yi, year in enumerate(ctx.years):
            if d[yi] >= -DUAL_EPS or not np.isfinite(cap_t[yi]):
                continue
            per_t = -float(d[yi]) / ctx.dfac[yi]
            up = float(rng[0][yi]) if rng is not None else None
            saving, room = relax_saving(float(d[yi]), float(cap_t[yi]), up, +1)
            head = (
                f"The carbon cap of {year} ({num(cap_t[yi])} tCO2) binds: each extra tonne "
                f"allowed would lower the cost by {money(per_t)} ({year} money), the plan's "
                "implicit carbon price"
            )
            if room is None:
                rows.append(
                    row(
                        "binding",
                        head + ", at the margin (range not computed)",
                        saving,
                        "rate per unit",
                        "carbon-cap",
                        per_t,
                        "USD/tCO2",
                        year=year,
                    )
                )
            elif room > 1e-9:
                rows.append(
                    row(
                        "binding",
                        f"{head}, for up to {num(room)} tCO2 more: "
                        f"{money(saving)} in all (present value)",
                        saving,
                        "saving over the stated range",
                        "carbon-cap",
                        per_t,
                        "USD/tCO2",
                        f"{num(room)} tCO2",
                        year=year,
                    )
                )
    if cfg.renewable_share_min is not None and (d := ctx.dual("renewable-share")) is not None:
        target = catalog.year_values(cfg.renewable_share_min, ctx.years, 0.0)
        for yi, year in enumerate(ctx.years):
            if d[yi] <= DUAL_EPS:
                continue
            per_mwh = float(d[yi]) / ctx.dfac[yi]
            rows.append(
                row(
                    "binding",
                    f"The renewable-share commitment of {year} ({100 * target[yi]:.3g} %) binds: "
                    f"each MWh of renewable energy it requires costs {num(per_mwh)} USD ({year} "
                    "money) at the margin",
                    float(d[yi]),
                    "rate per unit",
                    "renewable-share",
                    per_mwh,
                    "USD/MWh",
                    year=year,
                )
            )
    return rows
