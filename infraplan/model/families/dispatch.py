"""Demand and dispatch: where each zone's load is served, hour by hour, or left unserved.

Variables ``flow[arc, year, block]`` (requests/s a zone sends to a site), ``serve[option,
year, block]`` (requests/s a workload is served on an accelerator at a site) and
``unserved[zone, year, block]``. Constraints:

- ``demand-balance[zone, year, block]``: flows + unserved = demand (interactive zones);
- ``demand-daily[zone, year]``: the same summed over the day (batch zones may move load);
- ``site-balance[pair, year, block]``: what arrives at a (workload, site) is served there.

Explanation rule: one row per (region, service, year) with unserved demand, its hours in the
region's local time, and its cause (latency, residency, no accelerator that fits, capacity that
cannot arrive yet, power caps, chip caps, budget, carbon cap, or a cost above the value of lost
service). The impact is the value of lost service the objective charges for it; the impacts of
all rows add up to ``costs_usd.unserved_penalty``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from infraplan import catalog
from infraplan.model.families.base import BuildContext, ExplainContext, row
from infraplan.model.inputs import PlanInputs, member_shares
from infraplan.model.linexpr import group_sum
from infraplan.units import SECONDS_PER_HOUR, as_float
from infraplan.words import num, region_label, service_label, spans_text, words_list

NAME = "dispatch"


def build(ctx: BuildContext) -> None:
    """Flows, service and shortfalls with their balance rows."""
    inp = ctx.inp
    arcs, options = inp.arcs, inp.options
    flow = ctx.var("flow", ["arc", "year", "block"], lower=0)
    serve = ctx.var("serve", ["option", "year", "block"], lower=0)
    unserved = ctx.var("unserved", ["zone", "year", "block"], lower=0)
    zdem = ctx.da(inp.zone_demand, ["zone", "year", "block"])
    batch = inp.zone_batch
    to_zone = group_sum(flow, "arc", arcs["zone"].to_numpy(), len(inp.zones), "zone")
    ctx.m.add_constraints(
        to_zone + unserved == zdem, name="demand-balance", mask=ctx.da(~batch, ["zone"])
    )
    if batch.any():
        w_day = ctx.da(inp.blocks["hours"].to_numpy(dtype=float), ["block"])
        mean = zdem * ctx.da(inp.zone_ratio, ["zone", "year", "block"])
        ctx.m.add_constraints(
            ((to_zone + unserved) * w_day).sum("block") == (mean * w_day).sum("block"),
            name="demand-daily",
            mask=ctx.da(batch, ["zone"]),
        )
    in_pair = group_sum(flow, "arc", arcs["pair"].to_numpy(), len(inp.pairs), "pair")
    out_pair = group_sum(serve, "option", options["pair"].to_numpy(), len(inp.pairs), "pair")
    ctx.m.add_constraints(in_pair - out_pair == 0, name="site-balance")


# ----------------------------------------------------------------------------------------------
# unserved demand, per region and service


def unserved_by_load(inp: PlanInputs, unserved_z: np.ndarray, unserved_coef: np.ndarray) -> dict:
    """Each load's share of its zone's shortfall: (load, year, block) requests/s at the block's
    busiest hour, and (load, year) present-value penalty (these add up to the objective's
    ``unserved_penalty``) and requests a year."""
    zone = inp.loads["zone"].to_numpy()
    share = member_shares(inp)
    rps = unserved_z[zone] * share
    impact = (rps * unserved_coef[zone]).sum(axis=2)
    uratio = np.where(inp.zone_batch[:, None, None], 1.0, inp.zone_ratio)[zone]
    requests = (rps * uratio * inp.hour_weight[None, None, :]).sum(axis=2) * SECONDS_PER_HOUR
    return {"rps": rps, "impact_usd": impact, "requests": requests}


def _fleet_rows_for(inp: PlanInputs, workload: str, sites: list[str]) -> pd.DataFrame:
    opts = inp.options
    sel = opts[(opts["workload"] == workload) & (opts["site"].isin(sites))]
    return inp.fleet.iloc[np.unique(sel["fleet"].to_numpy())]


def residency_rules_text(inp: PlanInputs, region: str, data_class: str) -> str:
    """The residency rules that apply to (region, data class), with their allowed hosts and
    sources."""
    parts = []
    for rule in inp.scenario.residency:
        classes = [rule.data_class] if isinstance(rule.data_class, str) else rule.data_class
        if data_class not in classes:
            continue
        if rule.regions is not None and region not in rule.regions:
            continue
        hosts = []
        for c in rule.allowed_countries or []:
            hosts.append(
                f"its home country {inp.regions.loc[region, 'country']!s}" if c == "home" else c
            )
        hosts += list(rule.allowed_sites or [])
        allowed = words_list(hosts, 6) if hosts else "no host"
        src = f" ({rule.source})" if rule.source else ""
        parts.append(f"the residency rule{src} allows {allowed} only")
    return "; ".join(parts) if parts else "the residency rules allow none of them"


def arrival_text(
    ctx: ExplainContext,
    late: list[str],
    first: pd.Series,
    cap_y: pd.Series,
    year: int,
    single: bool,
) -> str:
    """Why capacity cannot be at ``late`` sites in ``year``: lead time, accelerators not yet
    shipping, and grid power that is not there yet."""
    sites = ctx.inp.sites
    decision = ctx.inp.decision_year
    groups: dict[tuple[int, str], list[str]] = {}
    for k in late:
        arrive = int(first.get(k, 10_000))
        lead = as_float(sites.loc[k, "lead_time_months"])
        site_first = decision + math.ceil(lead / 12.0)
        why = (
            ""
            if arrive >= 10_000
            else f"build decisions from {decision}, {num(lead)}-month lead time"
            if arrive <= site_first
            else "the accelerators that fit ship only then"
        )
        groups.setdefault((arrive, why), []).append(k)
    parts = []
    for (arrive, why), ks in groups.items():
        at = "there" if single else f"at {words_list(ks, 5)}"
        if arrive >= 10_000:
            parts.append(f"no capacity can arrive {at} within the horizon")
            continue
        txt = f"capacity can arrive {at} in {arrive} at the earliest ({why})"
        dark = [k for k in ks if float(cap_y[k]) <= 0]
        if dark:
            who = "it" if single else words_list(dark, 5)
            txt += f", and {who} {'has' if len(dark) == 1 else 'have'} no grid power in {year} "
            txt += "either"
        parts.append(txt)
    return "; ".join(parts)


def unserved_cause(ctx: ExplainContext, load: int, year: int) -> tuple[str, str, str | None]:
    """(cause in words, constraint family, site) for the shortfall of ``load`` in ``year``."""
    from infraplan.model.families import budget, chips, energy, facility

    inp = ctx.inp
    ld = inp.loads.iloc[load]
    region, service, wl = str(ld["region"]), str(ld["service"]), str(ld["workload"])
    w = inp.workloads.loc[wl]
    budget_ms = as_float(w["network_budget_ms"])
    dclass = str(w["data_class"])
    allowed = [k for k in str(ld["allowed_sites"]).split(";") if k]
    yi = ctx.yi(year)
    sites = inp.sites

    if int(ld["n_sites_latency"]) == 0:
        rtt = inp.rtt_ms.loc[region]
        near = str(rtt.idxmin())
        return (
            f"no candidate site is within its {num(budget_ms)} ms network round-trip budget "
            f"(nearest: {near}, {num(as_float(rtt.min()))} ms)",
            "latency",
            near,
        )
    if int(ld["n_sites_residency"]) == 0:
        rtt = inp.rtt_ms.loc[region]
        in_reach = [k for k in sites.index if rtt[k] <= budget_ms]
        countries = sorted({str(sites.loc[k, "country"]) for k in in_reach})
        return (
            f"no site within {num(budget_ms)} ms may hold its {dclass} data: the sites in reach "
            f"are in {words_list(countries, 6)}, and {residency_rules_text(inp, region, dclass)}",
            "residency",
            None,
        )
    if not allowed:
        cap = inp.capacity
        rows = cap[cap["service"] == service]
        feas = rows[rows["feasible"]]
        model = str(w["model"])
        if feas.empty:
            reasons = [r for r in rows["reason"].dropna().astype(str).unique() if r][:2]
            why = f" ({'; '.join(reasons)})" if reasons else ""
            return (
                f"no accelerator of the plan can serve {model} within its SLO (TTFT "
                f"{num(as_float(w['ttft_ms']))} ms with {num(budget_ms)} ms for the network, TPOT "
                f"{num(as_float(w['tpot_ms']))} ms){why}",
                "accelerator-fit",
                None,
            )
        return (
            f"the sites within {num(budget_ms)} ms allowed for {dclass} data may not host an "
            f"accelerator that serves {model} within its SLO "
            f"({words_list(sorted(feas['accelerator'].unique()))} could)",
            "accelerator-fit",
            None,
        )

    reach = f"allowed for {dclass} data within {num(budget_ms)} ms"
    single = len(allowed) == 1
    k0 = allowed[0]
    fl = _fleet_rows_for(inp, wl, allowed)
    first = fl.groupby("site")["first_online_year"].min() if len(fl) else pd.Series(dtype=int)
    cap_y = inp.power_cap_mw.loc[allowed, year]
    not_yet = [k for k in allowed if int(first.get(k, 10_000)) > year]
    no_power = [k for k in allowed if k not in not_yet and float(cap_y[k]) <= 0]
    avail = [k for k in allowed if k not in not_yet and k not in no_power]
    late_txt = arrival_text(ctx, not_yet, first, cap_y, year, single) if not_yet else ""
    nopow_txt = (
        f"{words_list(no_power)} {'has' if len(no_power) == 1 else 'have'} no grid power in {year}"
        if no_power
        else ""
    )
    if not avail:
        if not_yet:
            text = (
                f"the only site {reach} is {k0}: {late_txt}"
                if single
                else f"no site {reach} can have capacity in {year}: {late_txt}"
            ) + (f"; {nopow_txt}" if nopow_txt else "")
            return text, "lead-time", not_yet[0]
        return (
            f"the only site {reach} is {k0}, and it has no grid power in {year}"
            if single
            else f"no site {reach} has grid power in {year} ({words_list(no_power)})",
            f"site-power-cap[{no_power[0]}, {year}]",
            no_power[0],
        )

    tight = facility.power_tight(ctx)
    site_idx = [int(sites.index.get_indexer(pd.Index([k]))[0]) for k in avail]
    at_cap = [k for k, i in zip(avail, site_idx, strict=True) if tight[i, yi]]
    caps = chips.cap_status(ctx)
    budget_binding = budget.binding(ctx)
    fl_av = fl[fl["site"].isin(avail) & (fl["first_online_year"] <= year)]
    open_rows = []
    cap_hits: dict[str, dict[str, Any]] = {}
    blocked_by_budget = False
    for fidx, f in fl_av.iterrows():
        if f["site"] in at_cap:
            continue
        hit = None
        for cs in caps:
            if not cs["sel"][fidx]:
                continue
            if (cs["cumulative"] and cs["binding"].any()) or (
                not cs["cumulative"] and cs["binding"][: yi + 1].any()
            ):
                hit = cs
                break
        if hit is None and budget_binding is not None and budget_binding[: yi + 1].any():
            blocked_by_budget = True
            continue
        if hit is not None:
            cap_hits[hit["name"]] = hit
            continue
        open_rows.append(fidx)
    extra = f"; {late_txt}" if late_txt else ""
    extra += f"; {nopow_txt}" if nopow_txt else ""
    if len(at_cap) == len(avail):
        if single:
            text = f"the only site {reach}, {k0}, is at its {year} power cap"
        else:
            can = f" that can have capacity in {year}" if len(avail) < len(allowed) else ""
            text = f"every site {reach}{can} ({words_list(at_cap)}) is at its {year} power cap"
        return (
            text + extra,
            f"site-power-cap[{at_cap[0]}, {year}]" if len(at_cap) == 1 else "site-power-cap",
            at_cap[0],
        )
    if not open_rows and (cap_hits or blocked_by_budget):
        reasons = []
        if at_cap:
            reasons.append(f"{words_list(at_cap)} at the {year} power cap")
        constraint = ""
        for name, cs in cap_hits.items():
            what = "import cap" if cs.get("country") else "supply cap"
            reasons.append(f"the chip {what} '{name}' used up")
            constraint = constraint or cs["constraint"]
        if blocked_by_budget and budget_binding is not None:
            spent = [str(ctx.years[i]) for i in np.flatnonzero(budget_binding[: yi + 1])]
            reasons.append(f"the capital budget is spent in {words_list(spent)}")
            constraint = constraint or "capex-budget"
        head = (
            f"the only site {reach}, {k0}, cannot grow"
            if single
            else f"the sites {reach} cannot grow"
        )
        return f"{head}: {words_list(reasons, 6)}{extra}", constraint, None
    carbon_binding = energy.carbon_binding(ctx)
    if carbon_binding is not None and carbon_binding[yi]:
        cap_t = catalog.year_values(inp.scenario.energy.carbon_cap_t, ctx.years, np.inf)[yi]
        return f"the {year} carbon cap ({num(cap_t)} tCO2) is reached", "carbon-cap", None
    return (
        f"serving it costs more than the value of lost service "
        f"({inp.workload.lost_value_text(inp.scenario.economics)}): capacity for these hours "
        "would stand idle the rest of the day"
        + (f" (other options: {late_txt})" if late_txt else ""),
        "value-of-lost-service",
        None,
    )


def explain(ctx: ExplainContext) -> list[dict[str, Any]]:
    """One row per (region, service, year) with unserved demand."""
    inp = ctx.inp
    uns = ctx.values("unserved")
    if uns is None or not len(inp.loads):
        return []
    by_load = ctx.memo("unserved_by_load", lambda: unserved_by_load(inp, uns, ctx.coef.unserved))
    rps, impact, lost = by_load["rps"], by_load["impact_usd"], by_load["requests"]
    scale = max(1.0, float(inp.zone_demand.max()) if inp.zone_demand.size else 1.0)
    hours_of_block = [
        list(range(int(h), int(h) + int(n)))
        for h, n in zip(inp.blocks["hour_utc"], inp.blocks["hours"], strict=True)
    ]
    demand_y = (
        inp.demand.groupby(["region", "service", "year"])["requests_per_s"].sum()
        * SECONDS_PER_HOUR
        * 365.0
    )
    country_names = {
        str(c): catalog.iso_country_name(str(c)) or str(c) for c in inp.regions["country"].unique()
    }
    rows = []
    for li, yi in zip(*np.nonzero(rps.max(axis=2) > 1e-6 * scale), strict=True):
        ld = inp.loads.iloc[li]
        region, service, year = str(ld["region"]), str(ld["service"]), ctx.years[yi]
        blocks = np.flatnonzero(rps[li, yi] > 1e-6 * scale)
        hours = {h for b in blocks for h in hours_of_block[b]}
        offset = as_float(inp.regions.loc[region, "utc_offset"])
        when = spans_text(hours, offset)
        dem = float(demand_y.get((region, service, year), 0.0))
        share = (
            f", {100 * min(lost[li, yi] / dem, 1.0):.3g} % of its requests that year" if dem else ""
        )
        cause, constraint, site = unserved_cause(ctx, int(li), int(year))
        who = f"{region_label(inp.regions, region, country_names)} {service_label(service)}"
        head = (
            f"{who} unserved all day in {year}"
            if when == "all day"
            else (f"{who} {when} unserved in {year}")
        )
        rows.append(
            row(
                "unserved",
                f"{head} (peak {num(float(rps[li, yi].max()))} requests/s{share}): {cause}",
                float(impact[li, yi]),
                "value of lost service charged",
                constraint,
                year=int(year),
                site=site,
                region=region,
                service=service,
            )
        )
    return rows
