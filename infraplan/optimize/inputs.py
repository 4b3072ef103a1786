"""Assemble the planning model's input tables from a scenario (catalog defaults filled in).

Everything the optimiser needs is a table with a flat index (PyPSA style), units in column
names. Building this object involves no solver; it is cheap and can be inspected on its own.

Flat indices
- ``loads``: (region, service) pairs with demand.
- ``fleet``: (site, accelerator) pairs that may be built.
- ``options``: (service, site, accelerator) triples: a service served on an accelerator at a site.
- ``arcs``: (region, service, site) triples: a region's service load may be sent to a site
  (within the latency budget; only where some option exists at that site).
- ``pairs``: (service, site) pairs linking arcs and options (flow balance).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from infraplan import catalog, perf
from infraplan.demand import demand_table, region_table, service_table
from infraplan.errors import InfraplanError
from infraplan.network import rtt_matrix
from infraplan.scenario import Scenario

HOURS_PER_YEAR = 8760.0


@dataclass
class PlanInputs:
    """All input tables of one planning problem."""

    scenario: Scenario
    years: list[int]
    hours: np.ndarray
    hour_weight: np.ndarray  # hours of the year each representative hour stands for
    regions: pd.DataFrame
    services: pd.DataFrame
    sites: pd.DataFrame
    power_cap_mw: pd.DataFrame  # site x year
    accelerators: pd.DataFrame
    server_price_usd: pd.DataFrame  # accelerator x year (price of a server online that year)
    capacity: pd.DataFrame  # (service, accelerator) rows from the performance model
    rtt_ms: pd.DataFrame  # region x site
    demand: pd.DataFrame  # long table from infraplan.demand
    loads: pd.DataFrame
    fleet: pd.DataFrame
    options: pd.DataFrame
    arcs: pd.DataFrame
    pairs: pd.DataFrame
    demand_rps: np.ndarray  # (load, year, hour) requests/s
    build_allowed: np.ndarray  # (fleet, year) 1 where capacity may come online that year
    assumptions: list[dict] = field(default_factory=list)


def site_table(scn: Scenario) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sites with catalog values and scenario overrides, and grid power (MW) by year."""
    cat = catalog.sites()
    countries = catalog.countries()
    rows = []
    caps = {}
    years = scn.horizon.years
    for s in scn.sites:
        base = cat.loc[s.id].to_dict() if s.id in cat.index else {}
        country = s.country or base.get("country")
        c = countries.loc[country]
        row = {
            "id": s.id,
            "name": s.name or base.get("name") or s.id,
            "country": country,
            "lat": s.lat if s.lat is not None else base.get("lat"),
            "lon": s.lon if s.lon is not None else base.get("lon"),
            "utc_offset": _first(s.utc_offset, base.get("utc_offset"), c["utc_offset"]),
            "power_price_usd_mwh": _first(
                s.power_price_usd_mwh,
                base.get("power_price_usd_mwh"),
                c["elec_price_usd_kwh"] * 1000,
            ),
            "carbon_g_kwh": _first(s.carbon_g_kwh, base.get("carbon_g_kwh"), c["carbon_g_kwh"]),
            "pue": _first(s.pue, base.get("pue"), 1.3),
            "capex_usd_per_mw": _first(s.capex_usd_per_mw, base.get("capex_usd_per_mw"), 11.7e6),
            "lead_time_months": _first(s.lead_time_months, base.get("lead_time_months"), 18.0),
        }
        if s.power_mw is None:
            steps = catalog.parse_year_steps(base.get("power_mw", "") or "")
            if not steps:
                msg = (
                    f"sites: {s.id!r} has no power_mw; give the grid power available in MW, "
                    "e.g. power_mw: 100 or power_mw: {2027: 100, 2030: 500}"
                )
                raise InfraplanError(msg)
        elif isinstance(s.power_mw, dict):
            steps = {int(k): float(v) for k, v in sorted(s.power_mw.items())}
        else:
            steps = {years[0]: float(s.power_mw)}
        caps[s.id] = [catalog.step_value(steps, y) for y in years]
        rows.append(row)
    sites = pd.DataFrame(rows).set_index("id")
    cap = pd.DataFrame(caps, index=pd.Index(years, name="year")).T
    cap.index.name = "site"
    sites["power_cap_mw"] = cap.max(axis=1)
    return sites, cap


def _first(*values: object) -> float:
    for v in values:
        if v is not None and not (isinstance(v, float) and math.isnan(v)) and v is not pd.NA:
            return float(v)  # type: ignore[arg-type]
    msg = "no value"
    raise ValueError(msg)


def accelerator_table(scn: Scenario) -> pd.DataFrame:
    """Accelerators the plan may buy, with server-level power and price."""
    cat = catalog.accelerators()
    end = scn.horizon.end_year
    ids = scn.accelerators or [a for a in cat.index if int(cat.loc[a, "first_year"]) <= end]
    acc = cat.loc[ids].copy()
    return acc


def build_inputs(scn: Scenario) -> PlanInputs:
    """Turn a scenario into the planning model's input tables."""
    years = scn.horizon.years
    hours = np.arange(24)
    hour_weight = np.full(24, HOURS_PER_YEAR / 24)
    regions = region_table(scn)
    services = service_table(scn)
    sites, power_cap = site_table(scn)
    accel = accelerator_table(scn)
    econ = scn.economics

    # Server price by online year (optional yearly decline after the accelerator's price year).
    price = pd.DataFrame(index=accel.index, columns=years, dtype=float)
    for a, row in accel.iterrows():
        ref = int(row["year"]) if not pd.isna(row["year"]) else int(row["first_year"])
        age = np.maximum(0, np.asarray(years) - ref)
        price.loc[a] = (
            float(row["server_price_usd"]) * (1 - econ.accelerator_price_decline_per_year) ** age
        )

    # Per-server capacity for each service x accelerator from the performance model.
    cap_rows = []
    for sid, s in services.iterrows():
        server_ttft = float(s["ttft_ms"] - s["network_budget_ms"])
        for a in accel.index:
            c = perf.server_capacity(
                s["model"],
                a,
                isl=int(s["input_tokens"]),
                osl=int(s["output_tokens"]),
                ttft_ms=server_ttft,
                tpot_ms=float(s["tpot_ms"]),
                precision=s["precision"] if isinstance(s["precision"], str) else None,
            )
            cap_rows.append(
                {
                    "service": sid,
                    "model": s["model"],
                    "accelerator": a,
                    "feasible": bool(c.feasible and c.requests_per_s > 0),
                    "reason": c.reason,
                    "requests_per_s_per_server": c.requests_per_s,
                    "output_tokens_per_s_per_server": c.output_tokens_per_s,
                    "power_w_per_server": c.power_w,
                    "idle_power_w_per_server": c.idle_power_w,
                    "joules_per_output_token": c.joules_per_output_token,
                    "server_ttft_ms": c.ttft_ms,
                    "server_tpot_ms": c.tpot_ms,
                    "config": c.config,
                }
            )
    capacity = pd.DataFrame(cap_rows)

    rtt = pd.DataFrame(
        rtt_matrix(regions["lat"], regions["lon"], sites["lat"], sites["lon"]),
        index=regions.index,
        columns=sites.index,
    )

    demand = demand_table(scn)
    loads = demand.groupby(["region", "service"], sort=False)["requests_per_s"].sum().reset_index()
    loads = loads[loads["requests_per_s"] > 0][["region", "service"]].reset_index(drop=True)

    # Fleet: (site, accelerator) pairs allowed by the scenario.
    fleet_rows = []
    scn_sites = {s.id: s for s in scn.sites}
    for k in sites.index:
        allowed = scn_sites[k].accelerators or list(accel.index)
        fleet_rows += [{"site": k, "accelerator": a} for a in allowed if a in accel.index]
    fleet = pd.DataFrame(fleet_rows)

    # Options: service x (site, accelerator) where the accelerator can serve the service.
    feas = capacity[capacity["feasible"]][["service", "accelerator"]]
    options = feas.merge(fleet, on="accelerator")[["service", "site", "accelerator"]]

    # Arcs: region's service to a site within the network budget, where an option exists.
    arcs = loads.merge(options[["service", "site"]].drop_duplicates(), on="service")
    budget = arcs["service"].map(services["network_budget_ms"]).to_numpy()
    arc_rtt = rtt.to_numpy()[
        regions.index.get_indexer(arcs["region"]), sites.index.get_indexer(arcs["site"])
    ]
    arcs["rtt_ms"] = arc_rtt
    arcs = arcs[arc_rtt <= budget].reset_index(drop=True)

    # Keep only options reachable from some arc, and (service, site) pairs used by both.
    pairs = arcs[["service", "site"]].drop_duplicates().reset_index(drop=True)
    options = options.merge(pairs, on=["service", "site"]).reset_index(drop=True)
    fleet = fleet.merge(
        options[["site", "accelerator"]].drop_duplicates(), on=["site", "accelerator"]
    )
    fleet = fleet.reset_index(drop=True)

    # Attach flat-index positions.
    load_key = pd.MultiIndex.from_frame(loads[["region", "service"]])
    arcs["load"] = load_key.get_indexer(pd.MultiIndex.from_frame(arcs[["region", "service"]]))
    pair_key = pd.MultiIndex.from_frame(pairs)
    arcs["pair"] = pair_key.get_indexer(pd.MultiIndex.from_frame(arcs[["service", "site"]]))
    options["pair"] = pair_key.get_indexer(pd.MultiIndex.from_frame(options[["service", "site"]]))
    fleet_key = pd.MultiIndex.from_frame(fleet[["site", "accelerator"]])
    options["fleet"] = fleet_key.get_indexer(
        pd.MultiIndex.from_frame(options[["site", "accelerator"]])
    )
    cap_idx = capacity.set_index(["service", "accelerator"])
    okey = pd.MultiIndex.from_frame(options[["service", "accelerator"]])
    for col in (
        "requests_per_s_per_server",
        "power_w_per_server",
        "idle_power_w_per_server",
    ):
        options[col] = cap_idx[col].reindex(okey).to_numpy()
    idle = capacity.groupby("accelerator")["idle_power_w_per_server"].max()
    fleet["idle_power_w_per_server"] = fleet["accelerator"].map(idle).to_numpy()
    fleet["peak_power_w_per_server"] = (
        fleet["accelerator"]
        .map(accel["tdp_w"] * accel["accels_per_server"] + accel["server_overhead_w"])
        .astype(float)
        .to_numpy()
    )
    fleet["accels_per_server"] = fleet["accelerator"].map(accel["accels_per_server"]).astype(float)

    # Demand array (load, year, hour).
    d = demand.set_index(["region", "service", "year", "hour_utc"])["requests_per_s"]
    idx = pd.MultiIndex.from_product(
        [range(len(loads)), years, hours], names=["load", "year", "hour"]
    )
    reg = loads["region"].to_numpy()[idx.get_level_values("load")]
    svc = loads["service"].to_numpy()[idx.get_level_values("load")]
    keys = pd.MultiIndex.from_arrays(
        [reg, svc, idx.get_level_values("year"), idx.get_level_values("hour")]
    )
    demand_rps = d.reindex(keys).fillna(0.0).to_numpy().reshape(len(loads), len(years), 24)

    # Capacity may come online once the site's lead time after the decision year has passed.
    decision = scn.horizon.decision_year or (scn.horizon.start_year - 1)
    first_online = decision + np.ceil(fleet["site"].map(sites["lead_time_months"]) / 12.0)
    avail = fleet["accelerator"].map(accel["first_year"]).astype(int).to_numpy()
    ys = np.asarray(years)[None, :]
    build_allowed = ((ys >= first_online.to_numpy()[:, None]) & (ys >= avail[:, None])).astype(
        float
    )

    return PlanInputs(
        scenario=scn,
        years=years,
        hours=hours,
        hour_weight=hour_weight,
        regions=regions,
        services=services,
        sites=sites,
        power_cap_mw=power_cap,
        accelerators=accel,
        server_price_usd=price,
        capacity=capacity,
        rtt_ms=rtt,
        demand=demand,
        loads=loads,
        fleet=fleet,
        options=options,
        arcs=arcs,
        pairs=pairs,
        demand_rps=demand_rps,
        build_allowed=build_allowed,
    )
