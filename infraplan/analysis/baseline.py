"""The naive baseline: each country builds for its own peak, alone.

The plan a spreadsheet would produce, written as values of the optimiser's own variables
(servers built, facility MW, requests served, unserved, training) and priced by the same cost
module (``infraplan.model.costs.evaluate``) and measured by the same metrics, so that the two
plans are compared like with like (see docs/explain.md):

- Each country serves only its own regions' demand, at one site: its cheapest in-country
  candidate site, or, when it has none, the candidate site nearest to its people
  (population-weighted round-trip time). No sharing across time zones or borders.
- One accelerator per country: the (site, accelerator) pair with the lowest cost per unit of
  work demanded, counting what it cannot serve at the value of lost service.
- Servers: the peak over the hour blocks of the country's load in servers, year by year (whole
  servers, and whole model instances, unless the scenario asks for the relaxation); capacity
  never shrinks; servers retire after their life and are replaced. Capacity arrives no earlier
  than the site's lead time allows, never beyond the grid power left and never beyond the chip
  quotas (supply and import caps, used up country by country); demand above that is unserved.
- Each country builds its own facility MW for its servers; training campaigns run on dedicated
  new servers at their cheapest allowed (site, accelerator), spread evenly over the window, or
  are left unfinished when that is cheaper or impossible.

With one region, one site and one accelerator the baseline is the optimum, and the saving is 0
at any number of hour blocks. The baseline is a feasible plan of the model whenever
``feasible`` is true (its budget and carbon checks pass; it does not adapt to those), so the
optimised objective never exceeds its ``total_usd`` (up to the MIP gap).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from infraplan import catalog
from infraplan.analysis.metrics import plan_metrics
from infraplan.model import costs
from infraplan.model.costs import PENALTIES, CostCoefficients
from infraplan.model.families.chips import cap_specs
from infraplan.model.inputs import PlanInputs
from infraplan.units import SECONDS_PER_HOUR, as_float

DESCRIPTION = (
    "Each country builds for its own peak at one site (its cheapest in-country candidate site, "
    "or the nearest one) with its single cheapest accelerator; no sharing across time zones or "
    "borders. Priced with the optimiser's cost formulas; unserved demand and unfinished "
    "training are charged as in the objective."
)


def _builds(
    target: np.ndarray,
    alive: np.ndarray,
    room: list[tuple[float, np.ndarray, bool]] | None = None,
    integer: bool = False,
    step: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """New units per year so that units in service reach ``target`` (with retirement), within
    chip quotas ``(units per server, amount left by year, cumulative)``, in multiples of
    ``step`` for whole plans; returns (builds by vintage, units in service by year)."""
    ny = len(target)
    b = np.zeros(ny)
    used = [0.0] * len(room or [])
    for y in range(ny):
        in_service = float(b @ alive[:, y])
        want = max(0.0, float(target[y]) - in_service)
        for i, (per, left, cumulative) in enumerate(room or []):
            free = (left[-1] if cumulative else left[y]) - (used[i] if cumulative else 0.0)
            want = min(want, max(free, 0.0) / per)
        if integer:
            want = math.floor(want / step + 1e-9) * step
        b[y] = want
        for i, (per, _left, _cum) in enumerate(room or []):
            used[i] += want * per
    return b, b @ alive


@dataclass
class _State:
    """What the countries have taken so far: grid power, chip quotas."""

    power_left: np.ndarray  # (site, year) MW
    caps: list[dict[str, Any]]
    integer: bool


@dataclass
class _Part:
    """One country's (or campaign's) part of the naive plan, in model variables."""

    fleet: int
    builds: np.ndarray  # (year,) servers by vintage
    servers: np.ndarray  # (year,) in service
    facility: np.ndarray  # (year,) MW of facility built by vintage
    facility_mw: np.ndarray  # (year,) in service
    served: dict[int, np.ndarray] = field(default_factory=dict)  # load -> (year, block)
    unserved: dict[int, np.ndarray] = field(default_factory=dict)
    instances: dict[int, np.ndarray] = field(default_factory=dict)  # option -> (year,)
    train: tuple[int, np.ndarray] | None = None  # (training row, (year,) server-years)
    peak: np.ndarray | None = None


def _quota(inp: PlanInputs, st: _State, f: int) -> list[tuple[float, np.ndarray, bool]]:
    return [
        (float(c["per_server"][f]), c["left"], c["form"] != "annual")
        for c in st.caps
        if c["sel"][f] and c["per_server"][f] > 0
    ]


def _consume(st: _State, f: int, builds: np.ndarray) -> None:
    for c in st.caps:
        if not c["sel"][f]:
            continue
        taken = builds * c["per_server"][f]
        c["left"] = c["left"] - (taken.sum() if c["form"] != "annual" else taken)


def _facility(coef: CostCoefficients, servers: np.ndarray, f: int) -> tuple[np.ndarray, np.ndarray]:
    """Facility MW built (by vintage) and in service for ``servers`` of fleet ``f``."""
    target = np.maximum.accumulate(servers * coef.peak_mw[f])
    return _builds(target, coef.alive_fac)


def _first_year(inp: PlanInputs, f: int) -> int:
    row = inp.fleet.iloc[f]
    return int(row["first_online_year"])


def _country_part(
    inp: PlanInputs, coef: CostCoefficients, st: _State, loads: np.ndarray, f: int
) -> _Part:
    """Serve ``loads`` on fleet ``f`` (one site, one accelerator) as a spreadsheet would."""
    fl = inp.fleet.iloc[f]
    site, acc = str(fl["site"]), str(fl["accelerator"])
    opts = inp.options
    okey = {
        (w, s, a): i
        for i, (w, s, a) in enumerate(
            zip(opts["workload"], opts["site"], opts["accelerator"], strict=True)
        )
    }
    years = np.asarray(inp.years)
    ny = len(years)
    dem = inp.load_demand[loads]  # (l, year, block)
    opt_of = np.full(len(loads), -1)
    for j, li in enumerate(loads):
        ld = inp.loads.iloc[li]
        if site in str(ld["allowed_sites"]).split(";"):
            opt_of[j] = okey.get((ld["workload"], site, acc), -1)
    ok = opt_of >= 0
    # gathered only where an option exists (there may be none at all: nothing feasible)
    cap = np.ones(len(loads))
    cap[ok] = opts["requests_per_s_per_server"].to_numpy(float)[opt_of[ok]]
    size = np.ones(len(loads))
    size[ok] = opts["servers_per_instance"].to_numpy(float)[opt_of[ok]]
    multi = ok & (size > 1) & st.integer
    single = ok & ~multi
    need_single = (dem[single] / cap[single, None, None]).sum(axis=0)  # (year, block)
    per_opt_multi: dict[int, np.ndarray] = {}
    for j in map(int, np.flatnonzero(multi)):
        o = int(opt_of[j])
        per_opt_multi[o] = per_opt_multi.get(o, np.zeros((ny, dem.shape[2]))) + dem[j]
    instances = {
        o: np.ceil(d.max(axis=1) / (cap_o * s_o) - 1e-9)
        for o, d in per_opt_multi.items()
        for cap_o, s_o in [
            (
                float(opts["requests_per_s_per_server"].iloc[o]),
                float(opts["servers_per_instance"].iloc[o]),
            )
        ]
    }
    held = sum(
        (inst * float(opts["servers_per_instance"].iloc[o]) for o, inst in instances.items()),
        np.zeros(ny),
    )
    peak = (need_single.max(axis=1) if need_single.size else np.zeros(ny)) + held
    target = np.maximum.accumulate(peak)
    target = np.where(years >= _first_year(inp, f), target, 0.0)
    pue = as_float(inp.sites.loc[site, "pue"])
    s_idx = inp.sites.index.get_loc(site)
    room = np.minimum.accumulate(np.maximum(st.power_left[s_idx], 0.0)[::-1])[::-1]
    max_servers = room / pue / coef.peak_mw[f]
    if st.integer:
        target = np.ceil(target - 1e-9)
        max_servers = np.floor(max_servers + 1e-9)
    builds, alive = _builds(
        np.minimum(target, max_servers), coef.alive_srv, _quota(inp, st, f), st.integer, 1.0
    )
    # serve what the servers can: whole instances first, then the rest in proportion
    frac_multi = {
        o: np.minimum(
            1.0,
            np.floor(alive / float(opts["servers_per_instance"].iloc[o]) + 1e-9)
            / np.maximum(inst, 1e-12),
        )
        for o, inst in instances.items()
    }
    inst_used = {
        o: np.minimum(inst, np.floor(alive / float(opts["servers_per_instance"].iloc[o]) + 1e-9))
        for o, inst in instances.items()
    }
    left_servers = alive - sum(
        (inst_used[o] * float(opts["servers_per_instance"].iloc[o]) for o in instances),
        np.zeros(ny),
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(
            need_single > 0,
            np.minimum(1.0, left_servers[:, None] / np.maximum(need_single, 1e-12)),
            1.0,
        )
    part = _Part(
        fleet=f,
        builds=builds,
        servers=alive,
        facility=np.zeros(ny),
        facility_mw=np.zeros(ny),
        peak=peak,
    )
    for j, li in enumerate(loads):
        if multi[j]:
            served = dem[j] * frac_multi[int(opt_of[j])][:, None]
        elif ok[j]:
            served = dem[j] * frac
        else:
            served = np.zeros_like(dem[j])
        part.served[int(li)] = served
        part.unserved[int(li)] = dem[j] - served
    part.instances = inst_used
    part.facility, part.facility_mw = _facility(coef, alive, f)
    return part


def _values(inp: PlanInputs, coef: CostCoefficients, parts: list[_Part]) -> dict[str, np.ndarray]:
    """The model variables of a set of parts (a feasible point of the model)."""
    ny, nb = len(inp.years), len(inp.blocks)
    v: dict[str, np.ndarray] = {
        "build": np.zeros((len(inp.fleet), ny)),
        "facility": np.zeros((len(inp.sites), ny)),
        "serve": np.zeros((len(inp.options), ny, nb)),
        "unserved": inp.zone_demand.copy(),
        "flow": np.zeros((len(inp.arcs), ny, nb)),
    }
    site_of_fleet = inp.sites.index.get_indexer(pd.Index(inp.fleet["site"]))
    served_l: dict[int, np.ndarray] = {}
    fleet_l: dict[int, int] = {}
    for p in parts:
        v["build"][p.fleet] += p.builds
        v["facility"][site_of_fleet[p.fleet]] += p.facility
        for li, s in p.served.items():
            served_l[li] = s
            fleet_l[li] = p.fleet
    # zone by zone: served share of the member loads applied to the zone's demand
    zone = inp.loads["zone"].to_numpy()
    opts = inp.options
    okey = {(w, f): i for i, (w, f) in enumerate(zip(opts["workload"], opts["fleet"], strict=True))}
    akey = {
        (z, s): i for i, (z, s) in enumerate(zip(inp.arcs["zone"], inp.arcs["site"], strict=True))
    }
    touched = sorted({int(zone[li]) for li in served_l})
    for z in touched:
        members = np.flatnonzero(zone == z)
        dem = inp.load_demand[members].sum(axis=0)
        srv = sum((served_l.get(int(li), np.zeros((ny, nb))) for li in members), np.zeros((ny, nb)))
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(dem > 0, np.clip(srv / np.maximum(dem, 1e-300), 0.0, 1.0), 0.0)
        served_z = inp.zone_demand[z] * ratio
        v["unserved"][z] = inp.zone_demand[z] - served_z
        wl = inp.zones.loc[z, "workload"]
        for li in map(int, members):
            if li not in served_l:
                continue
            with np.errstate(invalid="ignore", divide="ignore"):
                part = np.where(srv > 0, served_l[int(li)] / np.maximum(srv, 1e-300), 0.0)
            f = fleet_l[int(li)]
            o = okey.get((wl, f))
            if o is None:
                continue
            v["serve"][o] += served_z * part
            a = akey.get((z, str(inp.fleet.iloc[f]["site"])))
            if a is not None:
                v["flow"][a] += served_z * part
    multi = np.flatnonzero(opts["servers_per_instance"].to_numpy() > 1)
    if len(multi) and inp.scenario.solver.integer_servers:
        pos = {int(o): i for i, o in enumerate(multi)}
        v["instances"] = np.zeros((len(multi), ny))
        for p in parts:
            for o, inst in p.instances.items():
                v["instances"][pos[o]] += inst
    return v


def _work_pv(inp: PlanInputs, coef: CostCoefficients, loads: np.ndarray) -> float:
    """Present-value-weighted work (tokens) the loads demand, counted at block means."""
    zone = inp.loads["zone"].to_numpy()[loads]
    work = inp.loads["workload"].map(inp.workloads["work_per_request"]).to_numpy(float)[loads]
    req = (inp.load_demand[loads] * inp.zone_ratio[zone] * inp.hour_weight).sum(axis=2)
    return float((req * SECONDS_PER_HOUR * work[:, None] * coef.df[None, :]).sum())


def _part_cost(inp: PlanInputs, coef: CostCoefficients, p: _Part) -> tuple[float, float]:
    """(spending, value of lost service) of a country's part, present value USD."""
    v = _values(inp, coef, [p])
    zone = inp.loads["zone"].to_numpy()
    # only this country's shortfall: its loads' unserved at their zone's coefficient
    pen = sum(float((u * coef.unserved[zone[li]]).sum()) for li, u in p.unserved.items())
    v["unserved"] = np.zeros_like(v["unserved"])
    spend = sum(x.sum() for k, x in costs.evaluate(inp, coef, v).items() if k not in PENALTIES)
    return float(spend), pen


def _score(inp: PlanInputs, coef: CostCoefficients, p: _Part, work: float) -> float:
    """Cost of a country's part (lost service included) per unit of work it demands."""
    spend, pen = _part_cost(inp, coef, p)
    return (spend + pen) / max(work, 1.0)


def _home_sites(inp: PlanInputs, country: str, region_ids: list[str]) -> tuple[list[str], str]:
    """In-country candidate sites, or the nearest one (population-weighted RTT)."""
    sites = inp.sites
    own = [k for k in sites.index if sites.loc[k, "country"] == country]
    if own:
        return own, "in-country"
    pop = inp.regions.loc[region_ids, "population"].to_numpy(dtype=float)
    rtt = inp.rtt_ms.loc[region_ids].to_numpy(dtype=float)
    mean = (pop[:, None] * rtt).sum(axis=0) / max(pop.sum(), 1.0)
    return [str(sites.index[int(np.argmin(mean))])], "nearest (no candidate site in the country)"


def _training_part(
    inp: PlanInputs, coef: CostCoefficients, st: _State, ci: int
) -> tuple[_Part | None, float]:
    """The cheapest dedicated (site, accelerator) for campaign ``ci``, or None when leaving it
    unfinished is cheaper or nothing fits; returns (part, its spend in PV USD)."""
    tr, camp = inp.trainings, inp.campaigns
    c = camp.iloc[ci]
    years = np.asarray(inp.years)
    short_pv = float(coef.shortfall[ci].sum())
    best: tuple[float, _Part] | None = None
    for t in np.flatnonzero(tr["campaign_idx"].to_numpy() == ci):
        f = int(tr["fleet"].iloc[t])
        window = (
            (years >= int(c["start_year"]))
            & (years <= int(c["end_year"]))
            & (years >= _first_year(inp, f))
        )
        if not window.any():
            continue
        busy = np.where(window, float(tr["server_years"].iloc[t]) / window.sum(), 0.0)
        target = np.ceil(busy - 1e-9) if st.integer else busy
        builds, alive = _builds(target, coef.alive_srv, _quota(inp, st, f), st.integer)
        if (alive < busy - 1e-9).any():  # the chip quota left cannot supply it
            continue
        s_idx = inp.sites.index.get_loc(str(tr["site"].iloc[t]))
        pue = as_float(inp.sites["pue"].iloc[s_idx])
        if (
            np.maximum.accumulate(alive * coef.peak_mw[f]) * pue > st.power_left[s_idx] + 1e-9
        ).any():
            continue
        fac, fac_mw = _facility(coef, alive, f)
        p = _Part(
            fleet=f,
            builds=builds,
            servers=alive,
            facility=fac,
            facility_mw=fac_mw,
            train=(int(t), busy),
        )
        v = _values(inp, coef, [p])
        v["unserved"] = np.zeros_like(v["unserved"])
        v["train"] = np.zeros((len(tr), len(years)))
        v["train"][t] = busy
        spend = sum(x.sum() for k, x in costs.evaluate(inp, coef, v).items() if k not in PENALTIES)
        if best is None or spend < best[0]:
            best = (spend, p)
    if best is None or best[0] >= short_pv:
        return None, 0.0
    return best[1], best[0]


def naive_plan(
    inp: PlanInputs, coef: CostCoefficients
) -> tuple[dict[str, np.ndarray], list[dict[str, Any]], list[dict[str, Any]]]:
    """The naive plan as model values, with its per-country and per-campaign rows."""
    years = inp.years
    ny = len(years)
    caps = [{**c, "left": np.asarray(c["amount"], dtype=float).copy()} for c in cap_specs(inp)]
    st = _State(
        power_left=inp.power_cap_mw.loc[inp.sites.index, years].to_numpy(dtype=float).copy(),
        caps=caps,
        integer=bool(inp.scenario.solver.integer_servers),
    )
    loads, regions, sites = inp.loads, inp.regions, inp.sites
    load_country = loads["region"].map(regions["country"]).to_numpy()
    parts: list[_Part] = []
    rows: list[dict[str, Any]] = []
    fleet_index = {
        (s, a): i
        for i, (s, a) in enumerate(zip(inp.fleet["site"], inp.fleet["accelerator"], strict=True))
    }
    for country in dict.fromkeys(regions.loc[loads["region"], "country"]):
        idx = np.flatnonzero(load_country == country)
        reg_ids = sorted(set(loads["region"].iloc[idx]))
        cands, how = _home_sites(inp, str(country), reg_ids)
        demand_work = _work_pv(inp, coef, idx)
        best: tuple[float, _Part] | None = None
        for k in cands:
            for a in inp.accelerators.index:
                f = fleet_index.get((k, a))
                if f is None:
                    continue
                p = _country_part(inp, coef, st, idx, f)
                score = _score(inp, coef, p, demand_work)
                if best is None or score < best[0] - 1e-12:
                    best = (score, p)
        if best is None:
            continue
        p = best[1]
        s_idx = inp.sites.index.get_loc(str(inp.fleet["site"].iloc[p.fleet]))
        st.power_left[s_idx] -= p.facility_mw * as_float(sites["pue"].iloc[s_idx])
        _consume(st, p.fleet, p.builds)
        parts.append(p)
        fl = inp.fleet.iloc[p.fleet]
        aps = float(fl["accels_per_server"])
        spend, pen = _part_cost(inp, coef, p)
        dem = sum(float(inp.load_demand[li].sum()) for li in p.served)
        srv = sum(float(s.sum()) for s in p.served.values())
        rows.append(
            {
                "country": str(country),
                "country_name": catalog.iso_country_name(str(country)) or str(country),
                "regions": ";".join(reg_ids),
                "site": str(fl["site"]),
                "site_country": str(sites.loc[fl["site"], "country"]),
                "site_choice": how,
                "accelerator": str(fl["accelerator"]),
                "first_year": max(_first_year(inp, p.fleet), int(years[0])),
                "peak_servers": {
                    int(y): float(x)
                    for y, x in zip(years, p.peak if p.peak is not None else [], strict=True)
                },
                "servers": {int(y): float(x) for y, x in zip(years, p.servers, strict=True)},
                "accelerators_max": float(p.servers.max() * aps) if ny else 0.0,
                "served_fraction": srv / dem if dem > 0 else 1.0,
                "cost_usd": spend + pen,
                "unserved_penalty_usd": pen,
                "cost_per_million_tokens_demanded_usd": best[0] * 1e6,
            }
        )
    train_rows: list[dict[str, Any]] = []
    train_parts: list[_Part] = []
    for ci in range(len(inp.campaigns)):
        cid = str(inp.campaigns["id"].iloc[ci])
        tp, spend = _training_part(inp, coef, st, ci)
        if tp is None:
            train_rows.append({"campaign": cid, "trained": False})
            continue
        s_idx = inp.sites.index.get_loc(str(inp.fleet["site"].iloc[tp.fleet]))
        st.power_left[s_idx] -= tp.facility_mw * as_float(sites["pue"].iloc[s_idx])
        _consume(st, tp.fleet, tp.builds)
        train_parts.append(tp)
        fl = inp.fleet.iloc[tp.fleet]
        train_rows.append(
            {
                "campaign": cid,
                "trained": True,
                "site": str(fl["site"]),
                "accelerator": str(fl["accelerator"]),
                "servers_max": float(tp.servers.max()),
                "cost_usd": spend,
            }
        )
    v = _values(inp, coef, parts + train_parts)
    if len(inp.trainings):
        v["train"] = np.zeros((len(inp.trainings), ny))
        for q in train_parts:
            assert q.train is not None
            v["train"][q.train[0]] = q.train[1]
    if len(inp.campaigns):
        v["train_short"] = np.ones(len(inp.campaigns))
        for q in train_parts:
            assert q.train is not None
            v["train_short"][int(inp.trainings["campaign_idx"].iloc[q.train[0]])] = 0.0
    opening = sites["opening_cost_usd"].to_numpy(float)
    if (opening > 0).any():
        fac_mw = v["facility"] @ coef.alive_fac
        v["open"] = np.zeros((len(sites), ny))
        for s in np.flatnonzero((opening > 0) & (fac_mw > 0).any(axis=1)):
            v["open"][s, int(np.argmax(fac_mw[s] > 0))] = 1.0
    target = inp.scenario.energy.renewable_share_min
    if target is not None:
        share = catalog.year_values(target, years, 0.0)
        e = costs.energy_mwh(inp, coef, v)
        ren = sites["renewable_share"].to_numpy(float)[:, None]
        grey = e * (1 - ren)
        need = np.maximum(0.0, share * e.sum(axis=0) - (e * ren).sum(axis=0))
        tot = grey.sum(axis=0)
        v["green"] = np.where(tot > 0, grey / np.maximum(tot, 1e-12), 0.0) * need
    return v, rows, train_rows


def violations(inp: PlanInputs, coef: CostCoefficients, v: dict[str, np.ndarray]) -> list[str]:
    """Scenario limits the naive plan breaks (it does not adapt to budgets or carbon caps)."""
    out = []
    years = inp.years
    energy = inp.scenario.energy
    if energy.carbon_cap_t is not None:
        cap_t = catalog.year_values(energy.carbon_cap_t, years, np.inf)
        em = costs.emissions_t(inp, coef, v)
        out += [
            f"carbon cap {y}: {e:,.0f} t > {c:,.0f} t"
            for y, e, c in zip(years, em, cap_t, strict=True)
            if e > c * (1 + 1e-9)
        ]
    budget = inp.scenario.economics.capex_budget_usd
    if budget is not None:
        cap = catalog.year_values(budget, years, np.inf)
        spent = costs.capex_spend_usd(coef, v)
        out += [
            f"capex budget {y}: {c:,.0f} USD > {b:,.0f} USD"
            for y, c, b in zip(years, spent, cap, strict=True)
            if c > b * (1 + 1e-9) + 1.0
        ]
    return out


def naive_baseline(inp: PlanInputs, coef: CostCoefficients | None = None) -> dict[str, Any]:
    """The naive plan priced and measured like the optimised one (see the module docstring).

    Returns ``costs_usd`` (the same components as the plan's), ``total_usd`` (penalties
    included, comparable with the plan's objective), ``total_excl_penalties_usd``, per-country
    and per-campaign rows, ``metrics`` and ``feasible``/``violations``.
    """
    if not len(inp.loads) and not len(inp.campaigns):
        return {}
    coef = coef if coef is not None else costs.coefficients(inp)
    v, rows, train_rows = naive_plan(inp, coef)
    by_year = costs.evaluate(inp, coef, v)
    costs_usd = {k: float(x.sum()) for k, x in by_year.items()}
    total = float(sum(costs_usd.values()))
    penalties = sum(costs_usd.get(k, 0.0) for k in PENALTIES)
    bad = violations(inp, coef, v)
    return {
        "description": DESCRIPTION,
        "feasible": not bad,
        "violations": bad,
        "costs_usd": costs_usd,
        "total_usd": total,
        "total_excl_penalties_usd": total - penalties,
        "countries": rows,
        "training": train_rows,
        "metrics": plan_metrics(inp, coef, v, by_year),
    }


def baseline_frame(baseline: dict[str, Any]) -> pd.DataFrame:
    """The baseline's per-country rows as a table."""
    return pd.DataFrame(baseline.get("countries", []))
