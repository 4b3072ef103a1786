"""Servers: how many are built where and when, and what they can serve.

Variables ``build[fleet, vintage]`` (servers coming online at a (site, accelerator) in a year;
whole numbers unless the scenario asks for the continuous relaxation) and, for whole-server
plans, ``instances[multi, year]``: model instances of a workload that spans several servers
(e.g. DeepSeek-R1 on H100: 671 GB of weights on 640 GB per server), deployed for the year.
Expression ``installed[fleet, year]``: servers in service (built within their life).

Constraints:
- ``server-capacity[fleet, year, block]``: requests served / requests per server + servers held
  by multi-server instances + servers busy training <= servers installed;
- ``instance-capacity[multi, year, block]``: a multi-server workload is served only by its
  instances (whole-server plans), so its servers come in multiples of the instance size;
- builds are 0 before a site's lead time has passed or before the accelerator ships (bounds).

Explanation rule: lead times that bind, from the reduced costs of the builds they forbid, as a
rate per server with the range in which it holds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from infraplan.model.families.base import DUAL_EPS, BuildContext, ExplainContext, row
from infraplan.model.linexpr import gather, group_sum
from infraplan.words import money, num, words_list

NAME = "servers"


def multi_server_options(ctx: BuildContext) -> np.ndarray:
    """Options whose model instance spans several servers (whole-server plans only)."""
    if not ctx.integer:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(ctx.inp.options["servers_per_instance"].to_numpy() > 1)


def build(ctx: BuildContext) -> None:
    """Builds, installed servers and the per-hour server capacity."""
    inp = ctx.inp
    fleet, options = inp.fleet, inp.options
    upper = ctx.da(np.where(inp.build_allowed > 0, np.inf, 0.0), ["fleet", "vintage"])
    build_v = ctx.var("build", ["fleet", "vintage"], lower=0, upper=upper, integer=ctx.integer)
    if ctx.integer:
        ctx.integer_vars.append("build")
    alive = ctx.da(ctx.coef.alive_srv, ["vintage", "year"])
    installed = (build_v * alive).sum("vintage")
    ctx.exprs["installed"] = installed

    serve = ctx.m.variables["serve"]
    cap = options["requests_per_s_per_server"].to_numpy(float)
    multi = multi_server_options(ctx)
    single = np.ones(len(options), dtype=bool)
    single[multi] = False
    inv_cap = ctx.da(np.where(single, 1.0 / cap, 0.0), ["option"])
    used = group_sum(serve * inv_cap, "option", options["fleet"].to_numpy(), len(fleet), "fleet")
    if len(multi):
        ctx.coords["multi"] = multi
        size = options["servers_per_instance"].to_numpy(float)[multi]
        inst = ctx.var("instances", ["multi", "year"], lower=0, integer=True)
        ctx.integer_vars.append("instances")
        per_instance = ctx.da(cap[multi] * size, ["multi"])
        ctx.m.add_constraints(
            gather(serve, "option", multi, "multi", multi) - inst * per_instance <= 0,
            name="instance-capacity",
        )
        held = group_sum(
            inst * ctx.da(size, ["multi"]),
            "multi",
            options["fleet"].to_numpy()[multi],
            len(fleet),
            "fleet",
        )
        used = used + held
    busy = ctx.exprs.get("train_busy")
    lhs = used - installed if busy is None else used + busy - installed
    ctx.m.add_constraints(lhs <= 0, name="server-capacity")


def explain(ctx: ExplainContext) -> list[dict[str, Any]]:
    """Lead times that bind: the value of allowing a build before a site's first year, as a
    rate per server and the number of servers over which that rate holds."""
    rc = ctx.sol.reduced_costs.get("build") if ctx.has_duals else None
    if rc is None:
        return []
    inp = ctx.inp
    fleet, sites = inp.fleet, inp.sites
    decision = inp.decision_year
    rng = ctx.sol.ranging.get("build")
    first_site = decision + np.ceil(
        fleet["site"].map(sites["lead_time_months"]).to_numpy(dtype=float) / 12.0
    )
    years = np.asarray(ctx.years)
    groups: dict[tuple[int, int, float], dict[str, Any]] = {}
    for k in sites.index:
        fmask = (fleet["site"] == k).to_numpy()
        for yi, year in enumerate(years):
            blocked = np.flatnonzero(fmask & (first_site > year))
            if not len(blocked):
                continue
            rate = -rc[blocked, yi]  # USD saved per server allowed (PV)
            room = (
                np.clip(rng["up"][blocked, yi], 0.0, None)
                if rng is not None
                else np.full(len(blocked), np.nan)
            )
            value = np.where(np.isnan(room), rate, rate * room)
            j = int(np.argmax(value))
            if rate[j] <= DUAL_EPS or (not np.isnan(room[j]) and room[j] <= 1e-9):
                continue
            arrive = int(first_site[blocked[j]])
            lead = float(sites.loc[k, "lead_time_months"])
            g = groups.setdefault(
                (int(year), arrive, lead), {"sites": [], "best": None, "value": 0.0}
            )
            g["sites"].append(str(k))
            cand = (
                float(value[j]),
                float(rate[j]),
                float(room[j]),
                str(fleet.iloc[blocked[j]]["accelerator"]),
                str(k),
            )
            if g["best"] is None or cand[0] > g["best"][0]:
                g["best"] = cand
    rows = []
    for (year, arrive, lead), g in groups.items():
        value, rate, room, acc, site = g["best"]
        where = words_list(g["sites"], 5)
        head = (
            f"Lead time at {where}: capacity can arrive in {arrive} at the earliest (build "
            f"decisions from {decision}, {num(lead)}-month lead time)"
        )
        if np.isnan(room):
            text = (
                f"{head}; allowing {acc} servers at {site} in {year} would lower the cost at a "
                f"marginal rate of {money(rate)} per server (present value; how far this rate "
                "holds was not computed)"
            )
            rows.append(
                row(
                    "binding",
                    text,
                    rate,
                    "rate per unit",
                    "lead-time",
                    rate,
                    "USD/server",
                    None,
                    year=year,
                    site=site,
                )
            )
            continue
        span = (
            f"for up to {num(room)} servers"
            if room >= 1
            else f"for the first {num(room)} of a server only (a whole server is worth less)"
        )
        text = (
            f"{head}; {acc} servers online at {site} in {year} would lower the cost by "
            f"{money(rate)} per server (present value), {span}: {money(value)} in all"
        )
        rows.append(
            row(
                "binding",
                text,
                value,
                "saving over the stated range",
                "lead-time",
                rate,
                "USD/server",
                f"{num(room)} servers",
                year=year,
                site=site,
            )
        )
    return rows
