"""Explanations: unserved demand and binding constraints in plain words.

``explain(inp, built, results)`` returns one row per explanation, largest cost impact first:

- ``unserved``: one row per (region, service, year) with unserved demand. The unserved hours are
  grouped into contiguous spans (shown in the region's local time) and the cause is named from
  the inputs and the solution: no site within the latency budget, none allowed by residency, no
  accelerator that fits the model and SLO, capacity that cannot arrive yet (lead time, no grid
  power), allowed sites at their power cap, chip caps or the capex budget, or else serving costs
  more than the value of lost service. Impact = the unserved penalty of that row (present value,
  as in the objective); the impacts of all unserved rows add up to ``costs_usd.unserved_penalty``.
- ``binding``: constraints with a nonzero shadow price (site power caps, chip caps, capex budget,
  carbon cap, renewable share, training deadlines) and lead times (reduced costs of the builds
  that the lead time forbids). Shadow prices are reported as the saving per unit of relaxation
  (positive) in a unit people use; impact = shadow price x the capped amount (the scarcity rent
  of the constraint, present value USD), or x one unit when the cap is zero.

Sign convention (pinned by tests/test_explain.py): linopy reports ``dual = d objective / d rhs``
for HiGHS, so a binding ``<=`` cap of a minimisation has a negative dual and a ``>=``
requirement a positive one. The objective is in million USD (``OBJ_SCALE``), present value at
the base year; shadow prices that refer to one year are converted to that year's money (divided
by the year's discount factor), impacts stay in present value.

Without duals (``results.solve['duals'] == 'none'``) causes are found from the primal solution
only (a cap is binding when its row is tight) and shadow prices are left empty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from infraplan import catalog
from infraplan.finance import discount_factors

COLUMNS = ["kind", "text", "impact_usd", "constraint", "shadow_price", "unit"]
EXTRA_COLUMNS = ["year", "site", "region", "service"]
OBJ_SCALE = 1e6  # the model's objective unit (million USD); see infraplan.optimize.model
SECONDS_PER_HOUR = 3600.0
HOURS_PER_YEAR = 8760.0
DUAL_EPS = 1e-7  # |dual| below this (million USD per unit, i.e. 0.1 USD) counts as zero
TIGHT_REL = 1e-6


# --------------------------------------------------------------------------------------------
# small formatting helpers


def money(x: float) -> str:
    """``1234567 -> '1.23 M USD'``, ``41.2 -> '41 USD'``."""
    a = abs(x)
    for lim, suf in ((1e12, " T"), (1e9, " B"), (1e6, " M")):
        if a >= lim:
            return f"{x / lim:.3g}{suf} USD"
    if a >= 100:
        return f"{x:,.0f} USD"
    if a >= 1:
        return f"{x:.3g} USD"
    return f"{x:.2g} USD"


def num(x: float) -> str:
    """``1234.5 -> '1,234'``, ``790e6 -> '790 M'``, ``0.25 -> '0.25'``."""
    a = abs(x)
    for lim, suf in ((1e12, " T"), (1e9, " B"), (1e6, " M")):
        if a >= lim:
            return f"{x / lim:.3g}{suf}"
    if a >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def clock(h: float) -> str:
    """Hours since midnight -> ``'HH:MM'`` (24:00 kept for an end of day)."""
    h = h % 24 if h != 24 else 24
    hh, mm = int(h), round((h - int(h)) * 60)
    if mm == 60:
        hh, mm = hh + 1, 0
    return f"{hh:02d}:{mm:02d}"


def utc_label(offset: float) -> str:
    """``4 -> 'UTC+4'``, ``5.5 -> 'UTC+5:30'``, ``0 -> 'UTC'``."""
    if offset == 0:
        return "UTC"
    sign = "+" if offset > 0 else "-"
    a = abs(offset)
    hh, mm = int(a), round((a - int(a)) * 60)
    return f"UTC{sign}{hh}" + (f":{mm:02d}" if mm else "")


def hour_spans(hours: set[int]) -> list[tuple[int, int]]:
    """Covered UTC hours -> circular contiguous spans ``(start, end)`` (end exclusive, may be
    beyond 24 when a span crosses midnight). All 24 hours give ``[(0, 24)]``."""
    hs = sorted(h % 24 for h in hours)
    if not hs:
        return []
    if len(hs) == 24:
        return [(0, 24)]
    spans: list[list[int]] = []
    for h in hs:
        if spans and h == spans[-1][1]:
            spans[-1][1] = h + 1
        else:
            spans.append([h, h + 1])
    if len(spans) > 1 and spans[0][0] == 0 and spans[-1][1] == 24:  # wraps around midnight
        first = spans.pop(0)
        spans[-1][1] = 24 + first[1]
    return [(a, b) for a, b in spans]


def spans_text(hours: set[int], offset: float) -> str:
    """``{14..17}``, offset 4 -> ``'18:00-22:00 UTC+4'``; every hour -> ``'all day'``."""
    spans = hour_spans(hours)
    if spans == [(0, 24)]:
        return "all day"
    parts = [f"{clock((a + offset) % 24)}-{clock((b + offset) % 24 or 24)}" for a, b in spans]
    return ", ".join(parts) + f" {utc_label(offset)}"


def words_list(items: list[str], limit: int = 4) -> str:
    """``['a', 'b', 'c'] -> 'a, b and c'`` (at most ``limit`` shown)."""
    items = list(items)
    if len(items) > limit:
        return ", ".join(items[:limit]) + f" and {len(items) - limit} more"
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# --------------------------------------------------------------------------------------------
# reading the solution


def read_dual(built: Any, name: str) -> Any | None:
    """The dual of constraint ``name`` as an xarray DataArray (NaN -> 0), or None."""
    try:
        if name not in built.model.constraints:
            return None
        d = built.model.constraints[name].dual
    except Exception:  # no duals (MIP without LP re-solve, solver without duals)
        return None
    if d is None:
        return None
    vals = np.asarray(d.values, dtype=float)
    if vals.size and np.isnan(vals).all():
        return None
    return d.fillna(0.0)


def reduced_costs(built: Any, var: str, dims: tuple[str, ...]) -> np.ndarray | None:
    """Reduced costs of variable ``var`` (HiGHS column duals) in ``dims`` order, or None.

    Uses the HiGHS object kept by linopy after a direct-API solve; anything else gives None.
    """
    try:
        from linopy.solvers import _solution_from_labels

        m = built.model
        solver = m.solver
        h = m.solver_model
        col_dual = np.asarray(h.getSolution().col_dual, dtype=float)
        if not col_dual.size:
            return None
        lookup = _solution_from_labels(col_dual, solver._vlabels, solver._n_vars)
        labels = m.variables[var].labels.transpose(*dims).values
        return np.where(labels >= 0, lookup[np.clip(labels, 0, None)], 0.0)
    except Exception:
        return None


def solution(expr: Any, *dims: str) -> np.ndarray | None:
    """Solution values in ``dims`` order (NaN -> 0), or None when absent."""
    try:
        sol = expr.solution
        if dims:
            sol = sol.transpose(*dims)
        return np.nan_to_num(np.asarray(sol.values, dtype=float))
    except Exception:
        return None


@dataclass
class Context:
    """Everything the explanation rules read, computed once."""

    inp: Any
    built: Any
    results: Any
    has_duals: bool
    years: list[int]
    dfac: np.ndarray  # discount factor by year index
    decision_year: int
    power_dual: np.ndarray | None  # (site, year) million USD per MW (<= 0)
    power_tight: np.ndarray  # (site, year) bool
    cap_status: list[dict] = field(default_factory=list)  # chip caps with binding info
    budget_binding: np.ndarray | None = None  # (year,) bool
    budget_dual: np.ndarray | None = None
    build_rc: np.ndarray | None = None  # (fleet, vintage) reduced costs of build, million USD
    carbon_binding: np.ndarray | None = None  # (year,) bool
    carbon_price: np.ndarray | None = None  # (year,) USD per tCO2, that year's money

    @property
    def sites(self) -> pd.DataFrame:
        return self.inp.sites

    def yi(self, year: int) -> int:
        return self.years.index(int(year))


def context(inp: Any, built: Any, results: Any) -> Context:
    """Collect duals and tightness of the capacity-limiting constraints."""
    scn = inp.scenario
    years = list(inp.years)
    base = scn.horizon.base_year or scn.horizon.start_year
    dfac = discount_factors(years, base, scn.horizon.discount_rate)
    solve = getattr(results, "solve", {}) or {}
    has_duals = solve.get("duals", "lp") != "none"
    sites = inp.sites
    cap = inp.power_cap_mw.loc[sites.index, years].to_numpy(dtype=float)
    fac = solution(built.facility_mw, "site", "year")
    pue = sites["pue"].to_numpy(dtype=float)[:, None]
    if fac is None:
        fac = np.zeros_like(cap)
    headroom = cap - fac * pue
    power_tight = headroom <= np.maximum(TIGHT_REL * cap, 1e-6)
    if scn.solver.integer_servers and len(inp.fleet):
        # whole servers: a site is full when the grid power left is less than one server's
        one = inp.fleet.groupby("site")["peak_power_w_per_server"].min() / 1e6
        one = one.reindex(sites.index).fillna(np.inf).to_numpy()[:, None] * pue
        power_tight |= headroom < one * (1 - 1e-9)
    power_dual = None
    if has_duals:
        d = read_dual(built, "site-power-cap")
        if d is not None:
            power_dual = np.asarray(d.transpose("site", "year").values, dtype=float)
            power_tight = power_tight | (power_dual < -DUAL_EPS)
        else:
            has_duals = False
    decision = scn.horizon.decision_year or (scn.horizon.start_year - 1)
    ctx = Context(
        inp=inp,
        built=built,
        results=results,
        has_duals=has_duals,
        years=years,
        dfac=dfac,
        decision_year=int(decision),
        power_dual=power_dual,
        power_tight=power_tight,
    )
    if has_duals:
        ctx.build_rc = reduced_costs(built, "build", ("fleet", "vintage"))
    ctx.cap_status = chip_cap_status(ctx)
    ctx.budget_binding, ctx.budget_dual = budget_status(ctx)
    ctx.carbon_binding, ctx.carbon_price = carbon_status(ctx)
    return ctx


def cap_selection(fleet: pd.DataFrame, cap_row: dict) -> np.ndarray:
    """Fleet rows counted by a chip cap (same rule as the model)."""
    sel = np.ones(len(fleet), dtype=bool)
    if cap_row.get("accelerators"):
        sel &= fleet["accelerator"].isin(cap_row["accelerators"]).to_numpy()
    if cap_row.get("country"):
        sel &= (fleet["country"] == cap_row["country"]).to_numpy()
    return sel


def chip_cap_status(ctx: Context) -> list[dict]:
    """Per chip cap built: fleet selection, amount used, dual and binding years."""
    built, inp = ctx.built, ctx.inp
    fleet = inp.fleet
    out = []
    build = solution(built.model.variables["build"], "fleet", "vintage")
    for row in getattr(built, "cap_rows", []) or []:
        sel = cap_selection(fleet, row)
        unit = fleet["tpp_per_server"] if row["unit"] == "tpp" else fleet["accels_per_server"]
        per_server = np.where(sel, unit.to_numpy(dtype=float), 0.0)
        delivered = (
            (build * per_server[:, None]).sum(axis=0) if build is not None else None
        )  # (vintage,)
        amount = np.asarray(row["amount"], dtype=float)
        scale = float(row.get("scale", 1.0))
        cumulative = row["period"] == "cumulative"
        dual = read_dual(built, row["constraint"]) if ctx.has_duals else None
        dual_v = None
        if dual is not None:
            dual_v = np.atleast_1d(np.asarray(dual.values, dtype=float))
        if cumulative:
            used = float(delivered.sum()) if delivered is not None else 0.0
            tight_p = used >= float(amount[-1]) * (1 - TIGHT_REL) - 1e-9
            binding = (
                np.full(len(ctx.years), bool(dual_v[0] < -DUAL_EPS))
                if dual_v is not None
                else np.full(len(ctx.years), tight_p)
            )
        else:
            used_v = delivered if delivered is not None else np.zeros(len(ctx.years))
            tight_p = used_v >= amount * (1 - TIGHT_REL) - 1e-9
            binding = dual_v < -DUAL_EPS if dual_v is not None else tight_p
        out.append(
            {
                **row,
                "sel": sel,
                "scale": scale,
                "cumulative": cumulative,
                "dual": dual_v,
                "binding": np.asarray(binding, dtype=bool),
                "delivered": delivered,
            }
        )
    return out


def budget_status(ctx: Context) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(year,) binding flags and duals of the capex budget, or (None, None) without one."""
    econ = ctx.inp.scenario.economics
    if econ.capex_budget_usd is None or "capex-budget" not in ctx.built.model.constraints:
        return None, None
    dual = read_dual(ctx.built, "capex-budget") if ctx.has_duals else None
    if dual is not None:
        dv = np.asarray(dual.values, dtype=float)
        return dv < -DUAL_EPS, dv
    spent = solution(ctx.built.capex_usd, "vintage") if ctx.built.capex_usd is not None else None
    budget = catalog.year_values(econ.capex_budget_usd, ctx.years, np.inf)
    if spent is None:
        return None, None
    return spent * OBJ_SCALE >= budget * (1 - TIGHT_REL) - 1.0, None


def carbon_status(ctx: Context) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(year,) binding flags and shadow prices (USD/tCO2, that year's money) of the carbon
    cap, or (None, None) without one."""
    cap = ctx.inp.scenario.energy.carbon_cap_t
    if cap is None or "carbon-cap" not in ctx.built.model.constraints:
        return None, None
    cap_t = catalog.year_values(cap, ctx.years, np.inf)
    dual = read_dual(ctx.built, "carbon-cap") if ctx.has_duals else None
    if dual is not None:
        dv = np.asarray(dual.values, dtype=float)
        return dv < -DUAL_EPS, -dv * OBJ_SCALE / ctx.dfac
    em = solution(ctx.built.emissions_t, "year")
    if em is None:
        return None, None
    return em >= cap_t * (1 - TIGHT_REL) - 1e-6, None


# --------------------------------------------------------------------------------------------
# unserved demand


def region_label(inp: Any, region: str) -> str:
    """The region's display name (with its country's name when the name is just the id)."""
    regs = inp.regions
    if region not in regs.index:
        return str(region)
    name = str(regs.loc[region, "name"] or region)
    if name == region:
        try:
            from infraplan import catalog

            cname = str(catalog.countries().loc[regs.loc[region, "country"], "country"])
            return f"{region} ({cname})"
        except Exception:
            return name
    return name


def service_label(service: str) -> str:
    """``'health-triage' -> 'health triage'``."""
    return str(service).replace("-", " ").replace("_", " ")


def residency_rules_text(inp: Any, region: str, data_class: str) -> str:
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
                f"its home country {inp.regions.loc[region, 'country']}" if c == "home" else c
            )
        hosts += list(rule.allowed_sites or [])
        allowed = words_list(hosts, 6) if hosts else "no host"
        src = f" ({rule.source})" if rule.source else ""
        parts.append(f"the residency rule{src} allows {allowed} only")
    return "; ".join(parts) if parts else "the residency rules allow none of them"


def _fleet_rows_for(inp: Any, workload: str, sites: list[str]) -> pd.DataFrame:
    """Fleet rows (with first_online_year) that may serve ``workload`` at ``sites``."""
    opts = inp.options
    sel = opts[(opts["workload"] == workload) & (opts["site"].isin(sites))]
    return inp.fleet.iloc[np.unique(sel["fleet"].to_numpy())]


def power_price_text(ctx: Context, site_idx: list[int], yi: int) -> tuple[str, float | None]:
    """``'shadow price 41 USD/MWh'`` for the cheapest of the given (site, year) power caps."""
    if ctx.power_dual is None or not site_idx:
        return "", None
    vals = [-ctx.power_dual[i, yi] for i in site_idx if ctx.power_dual[i, yi] < -DUAL_EPS]
    if not vals:
        return "", None
    per_mwh = [v * OBJ_SCALE / ctx.dfac[yi] / HOURS_PER_YEAR for v in vals]
    lo, hi = min(per_mwh), max(per_mwh)
    if len(per_mwh) == 1 or hi - lo < 0.05 * max(abs(hi), 1e-9):
        return f"shadow price {num(lo)} USD/MWh", lo
    return f"shadow prices {num(lo)}-{num(hi)} USD/MWh", lo


def arrival_text(
    ctx: Context,
    late: list[str],
    first: pd.Series,
    cap_y: pd.Series,
    year: int,
    single: bool,
) -> str:
    """Why capacity cannot be at ``late`` sites in ``year``: lead time, accelerators not yet
    shipping, and grid power that is not there yet."""
    sites = ctx.inp.sites
    groups: dict[tuple[int, str], list[str]] = {}
    for k in late:
        arrive = int(first.get(k, 10_000))
        lead = float(sites.loc[k, "lead_time_months"])
        site_first = ctx.decision_year + math.ceil(lead / 12.0)
        why = (
            ""
            if arrive >= 10_000
            else f"build decisions from {ctx.decision_year}, {num(lead)}-month lead time"
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


def lead_time_price(ctx: Context, fl: pd.DataFrame, year: int) -> float | None:
    """Largest saving (PV USD) one server arriving in ``year`` at one of the fleet rows ``fl``
    would bring (minus their reduced cost), or None without reduced costs."""
    if ctx.build_rc is None or fl.empty:
        return None
    vals = -ctx.build_rc[fl.index.to_numpy(), ctx.yi(year)]
    best = float(vals.max()) if vals.size else 0.0
    return best * OBJ_SCALE if best > DUAL_EPS else None


def unserved_cause(
    ctx: Context, region: str, service: str, year: int
) -> tuple[str, str, float | None, str | None, str | None]:
    """(cause in words, constraint, shadow price, unit, site) for unserved (region, service,
    year)."""
    inp = ctx.inp
    loads = inp.loads
    row = loads[(loads["region"] == region) & (loads["service"] == service)]
    if row.empty:
        return "it has no load row in the plan", "", None, None, None
    ld = row.iloc[0]
    wl = ld["workload"]
    w = inp.workloads.loc[wl]
    budget = float(w["network_budget_ms"])
    dclass = str(w["data_class"])
    allowed = [k for k in str(ld["allowed_sites"]).split(";") if k]
    yi = ctx.yi(year)
    sites = inp.sites

    if int(ld["n_sites_latency"]) == 0:
        rtt = inp.rtt_ms.loc[region]
        near = rtt.idxmin()
        return (
            f"no candidate site is within its {num(budget)} ms network round-trip budget "
            f"(nearest: {near}, {num(float(rtt.min()))} ms)",
            "latency",
            None,
            None,
            str(near),
        )
    if int(ld["n_sites_residency"]) == 0:
        rtt = inp.rtt_ms.loc[region]
        reach = [k for k in sites.index if rtt[k] <= budget]
        countries = sorted({str(sites.loc[k, "country"]) for k in reach})
        return (
            f"no site within {num(budget)} ms may hold its {dclass} data: the sites in reach are "
            f"in {words_list(countries, 6)}, and {residency_rules_text(inp, region, dclass)}",
            "residency",
            None,
            None,
            None,
        )
    if not allowed:
        cap = inp.capacity
        rows = cap[(cap["service"] == service)]
        feas = rows[rows["feasible"]]
        model = str(w["model"])
        if feas.empty:
            reasons = [r for r in rows["reason"].dropna().astype(str).unique() if r][:2]
            why = f" ({'; '.join(reasons)})" if reasons else ""
            return (
                f"no accelerator of the plan can serve {model} within its SLO (TTFT "
                f"{num(float(w['ttft_ms']))} ms with {num(budget)} ms for the network, TPOT "
                f"{num(float(w['tpot_ms']))} ms){why}",
                "accelerator-fit",
                None,
                None,
                None,
            )
        return (
            f"the sites within {num(budget)} ms allowed for {dclass} data may not host an "
            f"accelerator that serves {model} within its SLO "
            f"({words_list(sorted(feas['accelerator'].unique()))} could)",
            "accelerator-fit",
            None,
            None,
            None,
        )

    reach = f"allowed for {dclass} data within {num(budget)} ms"
    single = len(allowed) == 1
    k0 = allowed[0]
    fl = _fleet_rows_for(inp, wl, allowed)
    first = fl.groupby("site")["first_online_year"].min() if len(fl) else pd.Series(dtype=int)
    cap_y = inp.power_cap_mw.loc[allowed, year]
    not_yet = [k for k in allowed if int(first.get(k, 10_000)) > year]
    no_power = [k for k in allowed if k not in not_yet and float(cap_y[k]) <= 0]
    avail = [k for k in allowed if k not in not_yet and k not in no_power]
    late_txt = ""
    lead_price: float | None = None
    if not_yet:
        late_txt = arrival_text(ctx, not_yet, first, cap_y, year, single=len(allowed) == 1)
        lead_price = lead_time_price(ctx, fl[fl["site"].isin(not_yet)], year)
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
            if lead_price is not None:
                text += f" (shadow price {money(lead_price)} per server, present value)"
            unit = "USD/server" if lead_price is not None else None
            return text, "lead-time", lead_price, unit, not_yet[0]
        return (
            f"the only site {reach} is {k0}, and it has no grid power in {year}"
            if single
            else f"no site {reach} has grid power in {year} ({words_list(no_power)})",
            f"site-power-cap[{no_power[0]}, {year}]",
            None,
            None,
            (no_power[0]),
        )

    site_idx = [int(sites.index.get_loc(k)) for k in avail]
    at_cap = [k for k, i in zip(avail, site_idx, strict=True) if ctx.power_tight[i, yi]]
    blocked_by: list[str] = []
    # fleet rows at available sites that could still grow: not at power cap, not capped
    fl_av = fl[fl["site"].isin(avail) & (fl["first_online_year"] <= year)]
    open_rows = []
    cap_hits: dict[str, dict] = {}
    for fidx, f in fl_av.iterrows():
        if f["site"] in at_cap:
            continue
        hit = None
        for cs in ctx.cap_status:
            if not cs["sel"][fidx]:
                continue
            if cs["cumulative"]:
                if cs["binding"].any():
                    hit = cs
            elif cs["binding"][: yi + 1].any():
                hit = cs
            if hit is not None:
                break
        if hit is None and ctx.budget_binding is not None and ctx.budget_binding[: yi + 1].any():
            blocked_by.append("budget")
            continue
        if hit is not None:
            cap_hits[hit["name"]] = hit
            continue
        open_rows.append(fidx)
    extra = f"; {late_txt}" if late_txt else ""
    extra += f"; {nopow_txt}" if nopow_txt else ""
    if len(at_cap) == len(avail):
        price_txt, price = power_price_text(ctx, site_idx, yi)
        if single:
            text = f"the only site {reach}, {k0}, is at its {year} power cap"
        else:
            can = f" that can have capacity in {year}" if len(avail) < len(allowed) else ""
            text = f"every site {reach}{can} ({words_list(at_cap)}) is at its {year} power cap"
        text += f" ({price_txt})" if price_txt else ""
        return (
            text + extra,
            f"site-power-cap[{at_cap[0]}, {year}]" if len(at_cap) == 1 else "site-power-cap",
            price,
            "USD/MWh" if price is not None else None,
            at_cap[0],
        )
    if not open_rows and (cap_hits or blocked_by):
        reasons = []
        if at_cap:
            reasons.append(f"{words_list(at_cap)} at the {year} power cap")
        price = None
        unit = None
        constraint = ""
        for name, cs in cap_hits.items():
            p, unit_txt = chip_cap_price(ctx, cs, yi)
            what = "import cap" if cs.get("country") else "supply cap"
            reasons.append(
                f"the chip {what} '{name}' used up"
                + (f" (shadow price {num(p)} {unit_txt})" if p is not None else "")
            )
            if p is not None and price is None:
                price, unit = p, unit_txt
            constraint = constraint or cs["constraint"]
        if blocked_by and ctx.budget_binding is not None:
            spent = [str(ctx.years[i]) for i in np.flatnonzero(ctx.budget_binding[: yi + 1])]
            reasons.append(f"the capital budget is spent in {words_list(spent)}")
            constraint = constraint or "capex-budget"
            if price is None and ctx.budget_dual is not None:
                b = -float(ctx.budget_dual[: yi + 1].min())
                price, unit = (b, "USD/USD") if b > DUAL_EPS else (None, None)
        head = (
            f"the only site {reach}, {k0}, cannot grow"
            if single
            else f"the sites {reach} cannot grow"
        )
        return (
            f"{head}: {words_list(reasons, 6)}{extra}",
            constraint,
            price,
            unit,
            None,
        )
    if ctx.carbon_binding is not None and ctx.carbon_binding[yi]:
        price = ctx.carbon_price[yi] if ctx.carbon_price is not None else None
        cap_t = catalog.year_values(inp.scenario.energy.carbon_cap_t, ctx.years, np.inf)[yi]
        return (
            f"the {year} carbon cap ({num(cap_t)} tCO2) is reached"
            + (f" (shadow price {money(price)} per tCO2)" if price else ""),
            "carbon-cap",
            price if price else None,
            "USD/tCO2" if price else None,
            None,
        )
    penalty = float(inp.scenario.economics.unserved_usd_per_mtok)
    return (
        f"serving it costs more than the value of lost service ({num(penalty)} USD per million "
        f"tokens): capacity for these hours would stand idle the rest of the day"
        + (f" (other options: {late_txt})" if late_txt else ""),
        "value-of-lost-service",
        None,
        None,
        None,
    )


def unserved_rows(ctx: Context) -> list[dict[str, Any]]:
    """One row per (region, service, year) with unserved demand."""
    inp, res = ctx.inp, ctx.results
    un = res.tables.get("unserved")
    if un is None or un.empty:
        return []
    blocks = inp.blocks
    block_of = {int(h): int(b) for b, h in zip(blocks.index, blocks["hour_utc"], strict=True)}
    size = {int(h): int(n) for h, n in zip(blocks["hour_utc"], blocks["hours"], strict=True)}
    weight = blocks["weight_h"].to_numpy(dtype=float)
    loads = inp.loads
    load_idx = {
        (r, s): i for i, (r, s) in enumerate(zip(loads["region"], loads["service"], strict=True))
    }
    tok = inp.workloads["input_tokens"] + inp.workloads["output_tokens"]
    usd_per_tok = float(inp.scenario.economics.unserved_usd_per_mtok) / 1e6
    rows = []
    for (region, service, year), g in un.groupby(["region", "service", "year"], sort=False):
        yi = ctx.yi(int(year))
        li = load_idx.get((region, service))
        wl = loads.loc[li, "workload"] if li is not None else inp.services.loc[service, "workload"]
        tokens = float(tok[wl])
        b = g["hour_utc"].astype(int).map(block_of).to_numpy()
        rps = g["requests_per_s"].to_numpy(dtype=float)
        impact = float(
            (rps * weight[b]).sum() * SECONDS_PER_HOUR * tokens * usd_per_tok * ctx.dfac[yi]
        )
        hours: set[int] = set()
        for h in g["hour_utc"].astype(int):
            hours.update(range(h, h + size.get(h, 1)))
        offset = float(inp.regions.loc[region, "utc_offset"]) if region in inp.regions.index else 0
        when = spans_text(hours, offset)
        share = ""
        if li is not None:
            dem = float((inp.load_demand[li, yi, :] * blocks["hours"].to_numpy()).sum())
            lost = float((rps * blocks["hours"].to_numpy()[b]).sum())
            if dem > 0:
                share = f", {100 * min(lost / dem, 1.0):.3g} % of its requests that year"
        cause, constraint, price, unit, site = unserved_cause(ctx, region, service, int(year))
        allowed = str(loads.loc[li, "allowed_sites"]).split(";") if li is not None else []
        who = f"{region_label(inp, region)} {service_label(service)}"
        if when == "all day":
            head = f"{who} unserved all day in {year}"
        else:
            head = f"{who} {when} unserved in {year}"
        text = f"{head} (peak {num(float(rps.max()))} requests/s{share}): {cause}."
        rows.append(
            {
                "kind": "unserved",
                "text": text,
                "impact_usd": impact,
                "constraint": constraint,
                "shadow_price": price,
                "unit": unit,
                "year": int(year),
                "site": site,
                "region": region,
                "service": service,
                "sites": allowed,
            }
        )
    return rows


# --------------------------------------------------------------------------------------------
# binding constraints


def chip_cap_price(ctx: Context, cs: dict, yi: int) -> tuple[float | None, str]:
    """Shadow price of a chip cap in USD per accelerator or per TPP (year money for annual
    caps, present value for cumulative ones)."""
    unit = "USD/TPP" if cs["unit"] == "tpp" else "USD/accelerator"
    if cs["dual"] is None:
        return None, unit
    d = cs["dual"][0] if cs["cumulative"] else cs["dual"][yi]
    if d >= -DUAL_EPS:
        return None, unit
    per_unit = -d * OBJ_SCALE / cs["scale"]
    if not cs["cumulative"]:
        per_unit /= ctx.dfac[yi]
    return per_unit, unit


def power_cap_rows(ctx: Context) -> list[dict[str, Any]]:
    """Binding site power caps per site and year."""
    inp = ctx.inp
    sites = inp.sites
    cap = inp.power_cap_mw.loc[sites.index, ctx.years].to_numpy(dtype=float)
    rows = []
    for i, k in enumerate(sites.index):
        name = str(sites.loc[k, "name"])
        label = k if name == k else f"{name} ({k})"
        for yi, year in enumerate(ctx.years):
            c = cap[i, yi]
            if ctx.power_dual is not None:
                d = ctx.power_dual[i, yi]
                if d >= -DUAL_EPS:
                    continue
                per_mw_pv = -d * OBJ_SCALE
                per_mw = per_mw_pv / ctx.dfac[yi]
                per_mwh = per_mw / HOURS_PER_YEAR
                impact = per_mw_pv * (c if c > 0 else 1.0)
                text = (
                    f"Grid power at {label} is fully used in {year} ({num(c)} MW): one more MW "
                    f"would save {money(per_mw)} in {year} money, i.e. {num(per_mwh)} USD/MWh if "
                    "used all year"
                )
                if c <= 0:
                    text = (
                        f"{label} has no grid power in {year}: the first MW would save "
                        f"{money(per_mw)} in {year} money ({num(per_mwh)} USD/MWh if used all "
                        "year)"
                    )
                rows.append(
                    _binding(
                        text,
                        impact,
                        f"site-power-cap[{k}, {year}]",
                        per_mwh,
                        "USD/MWh",
                        year=year,
                        site=k,
                    )
                )
            elif ctx.power_tight[i, yi] and c > 0:
                rows.append(
                    _binding(
                        f"Grid power at {label} is fully used in {year} ({num(c)} MW); no shadow "
                        "price (the solve gave no duals)",
                        math.nan,
                        f"site-power-cap[{k}, {year}]",
                        None,
                        None,
                        year=year,
                        site=k,
                    )
                )
    return rows


def chip_rows(ctx: Context) -> list[dict[str, Any]]:
    """Binding chip supply and import caps."""
    rows = []
    h100_tpp = None
    try:
        from infraplan import catalog

        h100_tpp = float(catalog.accelerators().loc["h100-sxm", "tpp"])
    except Exception:
        h100_tpp = None
    for cs in ctx.cap_status:
        what = "import cap" if cs.get("country") else "supply cap"
        src = f" ({cs['source']})" if cs.get("source") else ""
        unit_word = "TPP" if cs["unit"] == "tpp" else "accelerators"
        years = [0] if cs["cumulative"] else range(len(ctx.years))
        for yi in years:
            if not cs["binding"][yi]:
                continue
            amount = float(cs["amount"][-1] if cs["cumulative"] else cs["amount"][yi])
            period = "over the horizon" if cs["cumulative"] else f"in {ctx.years[yi]}"
            price, unit = chip_cap_price(ctx, cs, yi)
            if price is None:
                if ctx.has_duals:
                    continue
                rows.append(
                    _binding(
                        f"Chip {what} '{cs['name']}'{src} is used up: {num(amount)} {unit_word} "
                        f"{period}; no shadow price (the solve gave no duals)",
                        math.nan,
                        cs["constraint"],
                        None,
                        None,
                        year=None if cs["cumulative"] else ctx.years[yi],
                    )
                )
                continue
            money_note = "present value" if cs["cumulative"] else f"{ctx.years[yi]} money"
            extra = ""
            if cs["unit"] == "tpp" and h100_tpp:
                extra = f" ({money(price * h100_tpp)} per H100-equivalent)"
            pv = price * (1.0 if cs["cumulative"] else ctx.dfac[yi])
            rows.append(
                _binding(
                    f"Chip {what} '{cs['name']}'{src} is used up: {num(amount)} {unit_word} "
                    f"{period}; one more {'TPP' if cs['unit'] == 'tpp' else 'accelerator'} would "
                    f"save {money(price) if price >= 1 else f'{price:.3g} USD'}{extra} "
                    f"({money_note})",
                    pv * amount,
                    cs["constraint"],
                    price,
                    unit,
                    year=None if cs["cumulative"] else ctx.years[yi],
                )
            )
    return rows


def budget_rows(ctx: Context) -> list[dict[str, Any]]:
    """Binding capital budget per year."""
    if ctx.budget_binding is None:
        return []
    econ = ctx.inp.scenario.economics
    budget = catalog.year_values(econ.capex_budget_usd, ctx.years, np.inf)
    rows = []
    for yi, year in enumerate(ctx.years):
        if not ctx.budget_binding[yi]:
            continue
        if ctx.budget_dual is None:
            rows.append(
                _binding(
                    f"The capital budget of {year} ({money(budget[yi])}) is fully spent; no "
                    "shadow price (the solve gave no duals)",
                    math.nan,
                    "capex-budget",
                    None,
                    None,
                    year=year,
                )
            )
            continue
        per_usd = -float(ctx.budget_dual[yi])  # PV USD saved per USD of budget in that year
        rows.append(
            _binding(
                f"The capital budget of {year} ({money(budget[yi])}) is fully spent: each extra "
                f"dollar of budget that year would lower the discounted cost by {per_usd:.3g} USD",
                per_usd * budget[yi],
                "capex-budget",
                per_usd,
                "USD/USD",
                year=year,
            )
        )
    return rows


def carbon_rows(ctx: Context) -> list[dict[str, Any]]:
    """Binding carbon cap and renewable-share commitments per year."""
    energy = ctx.inp.scenario.energy
    rows = []
    if energy.carbon_cap_t is not None and ctx.has_duals:
        d = read_dual(ctx.built, "carbon-cap")
        cap_t = catalog.year_values(energy.carbon_cap_t, ctx.years, np.inf)
        if d is not None:
            dv = np.asarray(d.values, dtype=float)
            for yi, year in enumerate(ctx.years):
                if dv[yi] >= -DUAL_EPS:
                    continue
                per_t = -dv[yi] * OBJ_SCALE / ctx.dfac[yi]
                rows.append(
                    _binding(
                        f"The carbon cap of {year} ({num(cap_t[yi])} tCO2) binds: one more tonne "
                        f"would save {money(per_t)} ({year} money), the plan's implicit carbon "
                        "price",
                        -dv[yi] * OBJ_SCALE * (cap_t[yi] if cap_t[yi] > 0 else 1.0),
                        "carbon-cap",
                        per_t,
                        "USD/tCO2",
                        year=year,
                    )
                )
    if energy.renewable_share_min is not None and ctx.has_duals:
        d = read_dual(ctx.built, "renewable-share")
        target = catalog.year_values(energy.renewable_share_min, ctx.years, 0.0)
        e = solution(ctx.built.energy_mwh, "site", "year")
        if d is not None:
            dv = np.asarray(d.values, dtype=float)
            for yi, year in enumerate(ctx.years):
                if dv[yi] <= DUAL_EPS:
                    continue
                per_mwh = dv[yi] * OBJ_SCALE / ctx.dfac[yi]
                need = float(target[yi] * e[:, yi].sum()) if e is not None else 1.0
                rows.append(
                    _binding(
                        f"The renewable-share commitment of {year} ({100 * target[yi]:.3g} %) "
                        f"binds: each MWh of renewable energy it requires costs {num(per_mwh)} "
                        f"USD ({year} money)",
                        dv[yi] * OBJ_SCALE * (need if need > 0 else 1.0),
                        "renewable-share",
                        per_mwh,
                        "USD/MWh",
                        year=year,
                    )
                )
    return rows


def training_rows(ctx: Context) -> list[dict[str, Any]]:
    """Training campaigns: what finishing each by its deadline costs at the margin."""
    camp = ctx.inp.campaigns
    if camp is None or not len(camp) or not ctx.has_duals:
        return []
    d = read_dual(ctx.built, "training-complete")
    if d is None:
        return []
    dv = np.atleast_1d(np.asarray(d.values, dtype=float))
    short = None
    if "train_short" in ctx.built.model.variables:
        short = solution(ctx.built.model.variables["train_short"], "campaign")
    tr = ctx.results.tables.get("training")
    rows = []
    for ci, c in camp.reset_index(drop=True).iterrows():
        if dv[ci] <= DUAL_EPS:
            continue
        value_pv = dv[ci] * OBJ_SCALE
        per_h = value_pv / float(c["h100_equivalent_hours"])
        where = ""
        if tr is not None and not tr.empty:
            t = tr[tr["campaign"] == c["id"]]
            if not t.empty:
                pairs = sorted(
                    {f"{a} at {k}" for k, a in zip(t["site"], t["accelerator"], strict=True)}
                )
                where = f" on {words_list(pairs)}"
        sh = float(short[ci]) if short is not None else 0.0
        if sh > 1e-6:
            text = (
                f"Training campaign '{c['id']}' is {100 * sh:.3g} % unfinished by its deadline "
                f"{int(c['deadline_year'])}: finishing it would cost more than its stated value "
                f"({money(float(c['shortfall_usd']))})"
            )
        else:
            text = (
                f"Training campaign '{c['id']}' must finish by {int(c['deadline_year'])}"
                f"{where}: at the margin it costs {money(value_pv)} (present value), "
                f"{num(per_h)} USD per H100-equivalent hour"
            )
        rows.append(
            _binding(
                text,
                value_pv,
                "training-complete",
                value_pv,
                "USD/campaign",
                year=int(c["deadline_year"]),
            )
        )
    return rows


def movable_servers(ctx: Context, site: str, accelerator: str, year: int) -> float:
    """Peak servers of ``accelerator`` busy elsewhere in ``year`` with workloads that may be
    served at ``site``: how much capacity an earlier arrival there could replace (at least
    one)."""
    sv = ctx.results.tables.get("serving")
    opts = ctx.inp.options
    if sv is None or sv.empty or "workload" not in sv.columns:
        return 1.0
    wls = set(opts.loc[opts["site"] == site, "workload"])
    sel = sv[
        (sv["year"] == year)
        & (sv["accelerator"] == accelerator)
        & (sv["site"] != site)
        & sv["workload"].isin(wls)
    ]
    if sel.empty:
        return 1.0
    return max(float(sel.groupby("hour_utc")["servers_busy"].sum().max()), 1.0)


def lead_time_rows(ctx: Context, unserved: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Lead times that bind: reduced costs of builds forbidden before a site's first year.

    Sites with the same lead time whose early capacity would relieve the same unserved demand
    (e.g. several hubs of one country) share one row. Impact: the unserved penalty of that
    year that the lead time explains, when there is some; otherwise the reduced cost x the
    servers of that accelerator busy elsewhere that year with work the site could take (a
    linear estimate of what earlier capacity would save), summed over the sites."""
    rc = ctx.build_rc
    if rc is None:
        return []
    inp = ctx.inp
    fleet, sites = inp.fleet, inp.sites
    decision = ctx.decision_year
    first_site = decision + np.ceil(
        fleet["site"].map(sites["lead_time_months"]).to_numpy(dtype=float) / 12.0
    )
    years = np.asarray(ctx.years)
    groups: dict[tuple, dict[str, Any]] = {}
    for k in sites.index:
        fmask = (fleet["site"] == k).to_numpy()
        for yi, year in enumerate(years):
            lead_blocked = fmask & (first_site > year)
            if not lead_blocked.any():
                continue
            vals = -rc[lead_blocked, yi]
            j = int(np.argmax(vals))
            best = float(vals[j])
            if best <= DUAL_EPS:
                continue
            acc = str(fleet[lead_blocked].iloc[j]["accelerator"])
            arrive = int(first_site[lead_blocked][j])
            lead = float(sites.loc[k, "lead_time_months"])
            relieved = tuple(
                i
                for i, u in enumerate(unserved)
                if u["constraint"] == "lead-time" and u["year"] == year and k in u["sites"]
            )
            key = (int(year), arrive, lead, relieved or k)
            g = groups.setdefault(
                key,
                {"sites": [], "price": 0.0, "acc": acc, "estimate": 0.0, "relieved": relieved},
            )
            g["sites"].append(str(k))
            per_server = best * OBJ_SCALE
            if per_server > g["price"]:
                g["price"], g["acc"] = per_server, acc
            g["estimate"] += per_server * movable_servers(ctx, k, acc, int(year))
    rows = []
    for (year, arrive, lead, _), g in groups.items():
        explained = sum(unserved[i]["impact_usd"] for i in g["relieved"])
        impact = explained if explained > 0 else g["estimate"]
        where = words_list(g["sites"], 5)
        there = "there" if len(g["sites"]) == 1 else "at one of them"
        rows.append(
            _binding(
                f"Lead time at {where}: capacity can arrive in {arrive} at the earliest (build "
                f"decisions from {decision}, {num(lead)}-month lead time); one {g['acc']} "
                f"server online {there} in {year} would save {money(g['price'])} (present "
                "value)",
                impact,
                "lead-time",
                g["price"],
                "USD/server",
                year=int(year),
                site=g["sites"][0],
            )
        )
    return rows


def _binding(
    text: str,
    impact: float,
    constraint: str,
    price: float | None,
    unit: str | None,
    year: int | None = None,
    site: str | None = None,
) -> dict[str, Any]:
    return {
        "kind": "binding",
        "text": text + ".",
        "impact_usd": impact,
        "constraint": constraint,
        "shadow_price": price,
        "unit": unit,
        "year": year,
        "site": site,
        "region": None,
        "service": None,
    }


# --------------------------------------------------------------------------------------------


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


def explain(inp: Any, built: Any, results: Any) -> pd.DataFrame:
    """Rows (kind, text, impact_usd, constraint, shadow_price, unit, year, site, region,
    service) sorted by impact, largest first (rows without an impact last)."""
    cols = COLUMNS + EXTRA_COLUMNS
    ctx = context(inp, built, results)
    rows = unserved_rows(ctx)
    for rule in (power_cap_rows, chip_rows, budget_rows, carbon_rows, training_rows):
        rows += rule(ctx)
    rows += lead_time_rows(ctx, rows)
    if not rows:
        return pd.DataFrame(columns=cols)
    df = pd.DataFrame(rows, columns=cols)
    df["impact_usd"] = pd.to_numeric(df["impact_usd"], errors="coerce")
    df["shadow_price"] = pd.to_numeric(df["shadow_price"], errors="coerce")
    df["year"] = df["year"].astype("Int64")
    return df.sort_values(
        "impact_usd", ascending=False, na_position="last", kind="stable"
    ).reset_index(drop=True)
