"""Datacenter facilities and grid power: the MW that house the servers.

Variables ``facility[site, vintage]`` (MW of IT capacity coming online) and, for sites with an
opening cost, ``open[site, vintage]`` (binary: the site opens that year). Expression
``facility_mw[site, year]``: capacity in service.

Constraints:
- ``facility-capacity[site, year]``: nameplate IT power of installed servers <= facility MW;
- ``site-power-cap[site, year]``: facility MW x PUE <= grid power available that year;
- ``site-open-once``, ``site-open``: no facility before the site opens; it opens at most once.

Explanation rule: grid power caps that bind, with the value of one more MW as a rate and the
number of MW over which that rate holds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from infraplan.model.families.base import (
    DUAL_EPS,
    TIGHT_REL,
    BuildContext,
    ExplainContext,
    relax_saving,
    row,
)
from infraplan.model.linexpr import group_sum
from infraplan.units import HOURS_PER_YEAR
from infraplan.words import money, num

NAME = "facility"


def build(ctx: BuildContext) -> None:
    """Facility MW, site openings, and the facility and grid-power rows."""
    inp = ctx.inp
    sites, fleet = inp.sites, inp.fleet
    n_sites = len(sites)
    ny = len(inp.years)
    facility = ctx.var("facility", ["site", "vintage"], lower=0)
    facility_mw = (facility * ctx.da(ctx.coef.alive_fac, ["vintage", "year"])).sum("vintage")
    ctx.exprs["facility_mw"] = facility_mw
    site_of_fleet = sites.index.get_indexer(pd.Index(fleet["site"]))
    nameplate = group_sum(
        ctx.exprs["installed"] * ctx.da(ctx.coef.peak_mw, ["fleet"]),
        "fleet",
        site_of_fleet,
        n_sites,
        "site",
        ctx.coords["site"],
    )
    ctx.m.add_constraints(nameplate - facility_mw <= 0, name="facility-capacity")
    pue = ctx.da(sites["pue"].to_numpy(), ["site"])
    cap = ctx.da(inp.power_cap_mw.loc[sites.index, inp.years].to_numpy(), ["site", "year"])
    ctx.m.add_constraints(facility_mw * pue <= cap, name="site-power-cap")

    opening = sites["opening_cost_usd"].to_numpy()
    if (opening > 0).any():
        open_ = ctx.var("open", ["site", "vintage"], binary=True)
        ctx.integer_vars.append("open")
        has_cost = ctx.da(opening > 0, ["site"])
        ctx.m.add_constraints(open_.sum("vintage") <= 1, name="site-open-once", mask=has_cost)
        cum = ctx.da(np.tril(np.ones((ny, ny))).T, ["vintage", "year"])  # v <= y
        opened = (open_ * cum).sum("vintage")  # (site, year) 1 once open
        big_mw = ctx.da(sites["power_cap_mw"].to_numpy() / sites["pue"].to_numpy(), ["site"])
        # facility in service (not all ever built: a retired facility may be rebuilt)
        ctx.m.add_constraints(facility_mw - opened * big_mw <= 0, name="site-open", mask=has_cost)


def power_tight(ctx: ExplainContext) -> np.ndarray:
    """(site, year) True where the grid power left is below one server's (or the cap's dual
    is nonzero)."""

    def make() -> np.ndarray:
        inp = ctx.inp
        sites = inp.sites
        cap = inp.power_cap_mw.loc[sites.index, ctx.years].to_numpy(dtype=float)
        fac = ctx.values("facility")
        pue = sites["pue"].to_numpy(dtype=float)[:, None]
        fac_mw = fac @ ctx.coef.alive_fac if fac is not None else np.zeros_like(cap)
        headroom = cap - fac_mw * pue
        tight = headroom <= np.maximum(TIGHT_REL * cap, 1e-6)
        if ctx.sol.integer and len(inp.fleet):
            one = inp.fleet.groupby("site")["peak_power_w_per_server"].min() / 1e6
            one = one.reindex(sites.index).fillna(np.inf).to_numpy()[:, None] * pue
            tight |= headroom < one * (1 - 1e-9)
        dual = ctx.dual("site-power-cap")
        if dual is not None:
            tight |= dual < -DUAL_EPS
        return tight

    return ctx.memo("power_tight", make)  # type: ignore[no-any-return]


def explain(ctx: ExplainContext) -> list[dict[str, Any]]:
    """Binding grid power caps per site and year."""
    inp = ctx.inp
    sites = inp.sites
    cap = inp.power_cap_mw.loc[sites.index, ctx.years].to_numpy(dtype=float)
    dual = ctx.dual("site-power-cap")
    rng = ctx.range_of("site-power-cap")
    tight = power_tight(ctx)
    rows = []
    for i, k in enumerate(sites.index):
        name = str(sites.loc[k, "name"])
        label = k if name == k else f"{name} ({k})"
        for yi, year in enumerate(ctx.years):
            c = float(cap[i, yi])
            where: dict[str, Any] = {"year": year, "site": str(k)}
            constraint = f"site-power-cap[{k}, {year}]"
            if dual is None:
                if tight[i, yi] and c > 0:
                    rows.append(
                        row(
                            "binding",
                            f"Grid power at {label} is fully used in {year} ({num(c)} MW); "
                            "its value was not computed (the solve gave no duals)",
                            float("nan"),
                            "none",
                            constraint,
                            **where,
                        )
                    )
                continue
            d = float(dual[i, yi])
            if d >= -DUAL_EPS:
                continue
            rate_y = -d / ctx.dfac[yi]  # USD per MW, that year's money
            up = float(rng[0][i, yi]) if rng is not None else None
            saving, room = relax_saving(d, c, up, +1)
            head = (
                f"Grid power at {label} is fully used in {year} ({num(c)} MW)"
                if c > 0
                else f"{label} has no grid power in {year}"
            )
            rate_txt = (
                f"each extra MW that year would lower the cost by {money(rate_y)} ({year} money; "
                f"{num(rate_y / HOURS_PER_YEAR)} USD per MWh if used all year)"
            )
            if room is None:
                rows.append(
                    row(
                        "binding",
                        f"{head}: at the margin, {rate_txt}; how far this rate holds was not "
                        "computed",
                        saving,
                        "rate per unit",
                        constraint,
                        rate_y,
                        "USD/MW",
                        None,
                        **where,
                    )
                )
                continue
            if room <= 1e-9:
                continue
            rows.append(
                row(
                    "binding",
                    f"{head}: {rate_txt}, for up to {num(room)} MW more: {money(saving)} in all "
                    "(present value)",
                    saving,
                    "saving over the stated range",
                    constraint,
                    rate_y,
                    "USD/MW",
                    f"{num(room)} MW",
                    **where,
                )
            )
    return rows
