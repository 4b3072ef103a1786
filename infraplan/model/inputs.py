"""Assemble the planning model's input tables from a scenario (catalog defaults filled in).

Everything the optimiser needs is a table with a flat index (PyPSA style), units in column
names. Building this object involves no solver; it is cheap and can be inspected on its own.

Flat indices
- ``workloads``: services with identical serving figures (model, token lengths, SLO, data class,
  kind) merged into one workload (exact); optionally services sharing model and SLO class.
- ``zones``: (region, service) loads whose workload may go to exactly the same set of sites
  (latency, residency and feasibility pruned) merged into one zone (exact: any flow of the zone
  can be split back among its members in proportion to their demand).
- ``fleet``: (site, accelerator) pairs that may be built.
- ``options``: (workload, site, accelerator): a workload served on an accelerator at a site.
- ``arcs``: (zone, site): a zone's load may be sent to a site.
- ``pairs``: (workload, site): links arcs and options (flow balance).
- ``trainings``: (campaign, site, accelerator) where a training campaign may run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from infraplan import catalog
from infraplan.demand import demand_table, region_table, to_utc
from infraplan.errors import InfraplanError
from infraplan.network import FIBRE_KM_PER_MS, OVERHEAD_MS, ROUTE_FACTOR, rtt_matrix
from infraplan.perf.efficiency import Efficiency, packaged
from infraplan.policy.compile import Governance, compile_policy
from infraplan.scenario import Scenario
from infraplan.scenario.checks import scenario_warnings
from infraplan.units import DAYS_PER_YEAR, HOURS_PER_YEAR, as_float
from infraplan.workloads import WORKLOADS, Workload

H100_BF16_TFLOPS = 989.4
"""Dense BF16 peak of an H100 SXM (TFLOP/s): the unit of H100-equivalent hours."""
# Defaults for a custom site (not in the catalog) when the scenario leaves a field out, with
# where they come from (listed in the assumptions table of every run that uses them).
CUSTOM_SITE_DEFAULTS: dict[str, tuple[float, str]] = {
    "pue": (1.3, "estimate: typical PUE of a new air-cooled hyperscale hall (economics.md)"),
    "capex_usd_per_mw": (
        11.7e6,
        "estimate: Cushman & Wakefield 2025 data-center development cost guide, US average "
        "11.7 M USD per MW of IT load (economics.md)",
    ),
    "lead_time_months": (18.0, "estimate: 18-24 months from decision to first capacity"),
}


@dataclass
class PlanInputs:
    """All input tables of one planning problem."""

    scenario: Scenario
    years: list[int]
    workload: Workload  # the workload type of the services (LLM)
    efficiency: Efficiency  # performance-model efficiency table used for capacities
    blocks: pd.DataFrame  # block -> first hour, hours, weight_h (hours per year it stands for)
    regions: pd.DataFrame
    services: pd.DataFrame
    workloads: pd.DataFrame
    sites: pd.DataFrame
    power_cap_mw: pd.DataFrame  # site x year
    price_mult: np.ndarray  # (site, block) power-price multiplier
    accelerators: pd.DataFrame
    server_price_usd: pd.DataFrame  # accelerator x year (price of a server online that year)
    capacity: pd.DataFrame  # (service, accelerator) rows from the performance model
    rtt_ms: pd.DataFrame  # region x site
    demand: pd.DataFrame  # long table (region, service, year, hour_utc) from infraplan.demand
    loads: pd.DataFrame  # (region, service) with zone and allowed sites
    zones: pd.DataFrame
    fleet: pd.DataFrame
    options: pd.DataFrame
    arcs: pd.DataFrame
    pairs: pd.DataFrame
    zone_demand: np.ndarray  # (zone, year, block) requests/s at the block's busiest hour
    load_demand: np.ndarray  # (load, year, block) requests/s at the block's busiest hour
    zone_ratio: np.ndarray  # (zone, year, block) mean / busiest-hour demand in the block
    block_ratio: np.ndarray  # (year, block) the same over all zones (for load energy)
    build_allowed: np.ndarray  # (fleet, year) 1 where capacity may come online that year
    campaigns: pd.DataFrame
    trainings: pd.DataFrame
    chip_caps: list[dict] = field(default_factory=list)
    source_scenario: Scenario | None = None
    """The scenario as written, before its rule packs were applied (None: no packs)."""
    governance: Governance | None = None
    """The compiled rule packs (``infraplan.policy``), when the scenario names any."""
    premium_usd_mwh: np.ndarray | None = None
    """(site, year) renewable-certificate premium per facility MWh required by site rules."""
    compliance_usd: np.ndarray | None = None
    """(year,) undiscounted compliance cost of the packs' obligations (a constant)."""
    assumptions: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """Legal but suspicious input (``infraplan.scenario.checks``), shown before anything else."""

    @property
    def hours(self) -> np.ndarray:
        return self.blocks["hour_utc"].to_numpy()

    @property
    def hour_weight(self) -> np.ndarray:
        return self.blocks["weight_h"].to_numpy()

    @property
    def base_year(self) -> int:
        """Year costs are discounted to."""
        return int(self.scenario.horizon.base_year or self.scenario.horizon.start_year)

    @property
    def decision_year(self) -> int:
        """First year a build decision can be taken."""
        h = self.scenario.horizon
        return int(h.decision_year if h.decision_year is not None else h.start_year - 1)

    @property
    def zone_batch(self) -> np.ndarray:
        """(zone,) True for batch zones (load may move within the day)."""
        return self.zones["workload"].map(self.workloads["kind"]).eq("batch").to_numpy()


def _first(*values: object) -> float:
    for v in values:
        if v is None or v is pd.NA:
            continue
        if isinstance(v, float) and math.isnan(v):
            continue
        return float(v)  # type: ignore[arg-type]
    msg = "no value"
    raise ValueError(msg)


def site_table(scn: Scenario) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sites with catalog values and scenario overrides, and grid power (MW) by year."""
    cat = catalog.sites()
    rows = []
    caps = {}
    years = scn.horizon.years
    for s in scn.sites:
        base = cat.loc[s.id].to_dict() if s.id in cat.index else {}
        country = s.country or base.get("country")
        c = catalog.country_row(str(country))
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
            "pue": _first(s.pue, base.get("pue"), CUSTOM_SITE_DEFAULTS["pue"][0]),
            "capex_usd_per_mw": _first(
                s.capex_usd_per_mw,
                base.get("capex_usd_per_mw"),
                CUSTOM_SITE_DEFAULTS["capex_usd_per_mw"][0],
            ),
            "lead_time_months": _first(
                s.lead_time_months,
                base.get("lead_time_months"),
                CUSTOM_SITE_DEFAULTS["lead_time_months"][0],
            ),
            "opening_cost_usd": float(s.opening_cost_usd or 0.0),
            "renewable_share": float(s.renewable_share or 0.0),
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


def accelerator_table(scn: Scenario) -> pd.DataFrame:
    """Accelerators the plan may buy, with server-level power and price."""
    cat = catalog.accelerators()
    end = scn.horizon.end_year
    ids = scn.accelerators or [a for a in cat.index if int(cat.loc[a, "first_year"]) <= end]
    acc = cat.loc[ids].copy()
    acc["peak_power_w_per_server"] = (
        acc["tdp_w"] * acc["accels_per_server"] + acc["server_overhead_w"]
    ).astype(float)
    return acc


def hour_blocks(n_blocks: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Contiguous UTC blocks; returns the block table and the block of each hour."""
    size = 24 // n_blocks
    block_of_hour = np.arange(24) // size
    blocks = pd.DataFrame(
        {
            "hour_utc": np.arange(n_blocks) * size,
            "hours": np.full(n_blocks, size),
            "weight_h": np.full(n_blocks, size * DAYS_PER_YEAR),
        }
    )
    blocks.index.name = "block"
    return blocks, block_of_hour


def workload_ids(services: pd.DataFrame, keys: list[str] | None) -> pd.Series:
    """Workload id of each service: services equal on ``keys`` share one (the first service's
    id); ``keys=None`` keeps every service apart."""
    if keys is None:
        return pd.Series(services.index, index=services.index)
    key = pd.Series(
        ["|".join(str(v) for v in row) for row in services[keys].itertuples(index=False)],
        index=services.index,
    )
    first = {k: sid for sid, k in zip(services.index[::-1], key[::-1], strict=True)}
    return key.map(first)


def build_inputs(scn: Scenario, efficiency: Efficiency | None = None,
                 governance: Governance | None = None) -> PlanInputs:
    """Turn a scenario into the planning model's input tables.

    ``efficiency`` is the performance model's efficiency table (default: the packaged fit).
    ``governance`` is the scenario's compiled rule packs (default: compiled here when the
    scenario names packs): the model is built from its transformed scenario and demand mask.
    """
    eff = efficiency if efficiency is not None else packaged()
    if governance is None and scn.policy_packs:
        governance = compile_policy(scn)
    source = scn
    if governance is not None and governance.active:
        scn = governance.scenario
    else:
        governance = None
    wl: Workload = WORKLOADS["llm"]
    years = scn.horizon.years
    ny = len(years)
    blocks, block_of_hour = hour_blocks(scn.solver.hour_blocks)
    nb = len(blocks)
    regions = region_table(scn)
    services = wl.service_rows(scn)
    sites, power_cap = site_table(scn)
    accel = accelerator_table(scn)
    econ = scn.economics
    notes: list[str] = []

    # Server price by online year (optional yearly decline after the catalog price year).
    price = pd.DataFrame(index=accel.index, columns=years, dtype=float)
    for a, row in accel.iterrows():
        ref = int(row["year"]) if not pd.isna(row["year"]) else int(row["first_year"])
        age = np.maximum(0, np.asarray(years) - ref)
        decline = (1 - econ.accelerator_price_decline_per_year) ** age
        price.loc[a] = float(row["server_price_usd"]) * decline

    # Workloads: merge services with the same serving figures.
    mode = scn.solver.merge_services
    services["workload"] = workload_ids(services, None if mode == "off" else wl.merge_keys(mode))
    demand = wl.demand_work(
        demand_table(scn, governance.demand_mask if governance else None), services
    )
    workloads = wl.workload_table(services, demand)
    workloads["lost_value_usd_per_request"] = wl.lost_value_usd_per_request(workloads, econ)

    # Per-server capacity of each workload x accelerator from the performance model.
    wcap = wl.capacity(workloads, list(accel.index), eff)
    svc_w = services[["workload"]].reset_index().rename(columns={"id": "service"})
    capacity = svc_w.merge(wcap, on="workload")[["service", *wcap.columns]]

    rtt = pd.DataFrame(
        rtt_matrix(
            regions["lat"].to_numpy(float),
            regions["lon"].to_numpy(float),
            sites["lat"].to_numpy(float),
            sites["lon"].to_numpy(float),
        ),
        index=regions.index,
        columns=sites.index,
    )

    # Fleet: (site, accelerator) pairs allowed by the scenario.
    scn_sites = {s.id: s for s in scn.sites}
    fleet_rows = []
    for k in sites.index:
        allowed = scn_sites[k].accelerators or list(accel.index)
        fleet_rows += [{"site": k, "accelerator": a} for a in allowed if a in accel.index]
    fleet_all = pd.DataFrame(fleet_rows, columns=["site", "accelerator"])
    feas = wcap[wcap["feasible"]][["workload", "accelerator"]]
    options = feas.merge(fleet_all, on="accelerator")[["workload", "site", "accelerator"]]
    wl_sites = options.groupby("workload")["site"].agg(frozenset)

    # Loads: (region, service) with demand; allowed sites by feasibility, latency, residency.
    loads = demand.groupby(["region", "service"], sort=False)["requests_per_s"].sum().reset_index()
    loads = loads[loads["requests_per_s"] > 0][["region", "service"]].reset_index(drop=True)
    loads["workload"] = loads["service"].map(services["workload"])
    site_ids = list(sites.index)
    rtt_np = rtt.to_numpy()
    r_idx = regions.index.get_indexer(pd.Index(loads["region"]))
    budget = loads["workload"].map(workloads["network_budget_ms"]).to_numpy()
    within = rtt_np[r_idx] <= budget[:, None]  # (load, site)
    feasible = np.array(
        [[k in wl_sites.get(wl, frozenset()) for k in site_ids] for wl in loads["workload"]],
        dtype=bool,
    ).reshape(len(loads), len(site_ids))
    resid = residency_mask(scn, loads, regions, services, sites)
    allowed = within & feasible & resid
    loads["n_sites_latency"] = within.sum(axis=1)
    loads["n_sites_residency"] = (within & resid).sum(axis=1)
    loads["allowed_sites"] = [";".join(np.asarray(site_ids)[row]) for row in allowed]

    # Zones: loads of the same workload with the same allowed sites (exact merge).
    if scn.solver.merge_regions:
        zkey = loads["workload"] + "#" + loads["allowed_sites"]
    else:
        zkey = loads["region"] + "#" + loads["service"]
    codes, _ = pd.factorize(zkey)
    loads["zone"] = codes
    zones = (
        loads.groupby("zone")
        .agg(
            workload=("workload", "first"),
            allowed_sites=("allowed_sites", "first"),
            regions=("region", lambda x: ";".join(sorted(set(x)))),
            services=("service", lambda x: ";".join(sorted(set(x)))),
            n_loads=("region", "size"),
        )
        .reset_index(drop=True)
    )
    zones.index.name = "zone"

    # Demand arrays: (load, year, block) at the block's busiest hour, and per zone.
    d = demand.set_index(["region", "service", "year", "hour_utc"])["requests_per_s"]
    hourly = np.zeros((len(loads), ny, 24))
    if len(loads):
        idx = pd.MultiIndex.from_product([range(len(loads)), years, range(24)])
        reg = loads["region"].to_numpy()[idx.get_level_values(0)]
        svc = loads["service"].to_numpy()[idx.get_level_values(0)]
        keys = pd.MultiIndex.from_arrays(
            [reg, svc, idx.get_level_values(1), idx.get_level_values(2)]
        )
        hourly = d.reindex(keys).fillna(0.0).to_numpy().reshape(len(loads), ny, 24)
    zone_hourly = np.zeros((len(zones), ny, 24))
    np.add.at(zone_hourly, loads["zone"].to_numpy(), hourly)
    zone_demand = _block_peak(zone_hourly, block_of_hour, nb)
    load_demand = _block_peak(hourly, block_of_hour, nb)
    # Blocks are sized for their busiest hour; energy, tokens and the unserved penalty are
    # counted at the block's mean load through these ratios (all 1 with 24 hours).
    zone_mean = np.zeros_like(zone_demand)
    for b in range(nb):
        zone_mean[..., b] = zone_hourly[..., block_of_hour == b].mean(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        zone_ratio = np.where(zone_demand > 0, zone_mean / zone_demand, 1.0)
        tot_peak = zone_demand.sum(axis=0)
        block_ratio = np.where(tot_peak > 0, zone_mean.sum(axis=0) / tot_peak, 1.0)
    if nb < 24:
        notes.append(
            f"{nb} representative blocks per day: each block carries its busiest hour "
            "(capacity is sized for the peak; energy and tokens are slightly overstated)."
        )

    # Arcs (zone, site); pairs (workload, site); keep options and fleet that are reachable.
    arc_rows = []
    for z, row in zones.iterrows():
        for k in filter(None, row["allowed_sites"].split(";")):
            arc_rows.append((z, row["workload"], k))
    arcs = pd.DataFrame(arc_rows, columns=["zone", "workload", "site"])
    pairs = arcs[["workload", "site"]].drop_duplicates().reset_index(drop=True)
    options = options.merge(pairs, on=["workload", "site"]).reset_index(drop=True)

    # Training campaigns: where each may run, accelerator-hours it needs.
    campaigns, trainings = training_tables(scn, sites, fleet_all, accel)
    used_pairs = pd.concat(
        [options[["site", "accelerator"]], trainings[["site", "accelerator"]]]
    ).drop_duplicates()
    fleet = fleet_all.merge(used_pairs, on=["site", "accelerator"]).reset_index(drop=True)

    # Flat-index positions.
    pair_key = pd.MultiIndex.from_frame(pairs)
    arcs["pair"] = pair_key.get_indexer(pd.MultiIndex.from_frame(arcs[["workload", "site"]]))
    arcs["rtt_ms"] = [
        float(rtt.loc[zones.loc[z, "regions"].split(";"), k].max())
        for z, k in zip(arcs["zone"], arcs["site"], strict=True)
    ]
    options["pair"] = pair_key.get_indexer(pd.MultiIndex.from_frame(options[["workload", "site"]]))
    fleet_key = pd.MultiIndex.from_frame(fleet[["site", "accelerator"]])
    options["fleet"] = fleet_key.get_indexer(
        pd.MultiIndex.from_frame(options[["site", "accelerator"]])
    )
    trainings["fleet"] = fleet_key.get_indexer(
        pd.MultiIndex.from_frame(trainings[["site", "accelerator"]])
    )
    cap_idx = wcap.set_index(["workload", "accelerator"])
    okey = pd.MultiIndex.from_frame(options[["workload", "accelerator"]])
    for col in (
        "requests_per_s_per_server",
        "power_w_per_server",
        "idle_power_w_per_server",
        "servers_per_instance",
    ):
        options[col] = cap_idx[col].reindex(okey).to_numpy()
    options["servers_per_instance"] = options["servers_per_instance"].astype(int)
    idle = wcap.groupby("accelerator")["idle_power_w_per_server"].max()
    fleet["idle_power_w_per_server"] = fleet["accelerator"].map(idle).fillna(0.0).to_numpy()
    fleet["peak_power_w_per_server"] = (
        fleet["accelerator"].map(accel["peak_power_w_per_server"]).to_numpy()
    )
    fleet["accels_per_server"] = fleet["accelerator"].map(accel["accels_per_server"]).astype(float)
    fleet["tpp_per_server"] = (
        fleet["accelerator"].map(accel["tpp"] * accel["accels_per_server"]).astype(float)
    )
    fleet["country"] = fleet["site"].map(sites["country"])

    # Capacity may come online once the site's lead time after the decision year has passed.
    h = scn.horizon
    decision = h.decision_year if h.decision_year is not None else h.start_year - 1
    first_online = decision + np.ceil(
        fleet["site"].map(sites["lead_time_months"]).to_numpy(float) / 12.0
    )
    avail = fleet["accelerator"].map(accel["first_year"]).astype(int).to_numpy()
    ys = np.asarray(years)[None, :]
    build_allowed = ((ys >= first_online[:, None]) & (ys >= avail[:, None])).astype(float)
    fleet["first_online_year"] = np.maximum(first_online, avail).astype(int)

    # Hourly power-price multipliers (site local time -> UTC), averaged per block.
    mult = np.ones((len(sites), nb))
    for i, s in enumerate(scn.sites):
        if s.price_profile is not None:
            m24 = to_utc(np.asarray(s.price_profile, dtype=float), sites["utc_offset"].iloc[i])
            mult[i] = np.bincount(block_of_hour, weights=m24, minlength=nb) / blocks["hours"]

    inp = PlanInputs(
        scenario=scn,
        years=years,
        workload=wl,
        efficiency=eff,
        blocks=blocks,
        regions=regions,
        services=services,
        workloads=workloads,
        sites=sites,
        power_cap_mw=power_cap,
        price_mult=mult,
        accelerators=accel,
        server_price_usd=price,
        capacity=capacity,
        rtt_ms=rtt,
        demand=demand,
        loads=loads,
        zones=zones,
        fleet=fleet,
        options=options,
        arcs=arcs,
        pairs=pairs,
        zone_demand=zone_demand,
        load_demand=load_demand,
        zone_ratio=zone_ratio,
        block_ratio=block_ratio,
        build_allowed=build_allowed,
        campaigns=campaigns,
        trainings=trainings,
        chip_caps=chip_cap_rows(scn),
        notes=notes,
    )
    if governance is not None:
        inp.source_scenario, inp.governance = source, governance
        prem = np.zeros((len(sites), ny))
        for k, values in governance.premium_usd_mwh.items():
            prem[sites.index.get_loc(k)] = values
        inp.premium_usd_mwh = prem
        inp.compliance_usd = np.asarray(governance.compliance_usd, dtype=float)
    inp.assumptions = assumption_rows(scn, inp)
    inp.warnings = scenario_warnings(scn, inp)
    if governance is not None:
        inp.warnings = [*governance.messages, *governance.warnings, *inp.warnings]
    return inp


def member_shares(inp: PlanInputs) -> np.ndarray:
    """(load, year, block) share of each member load in its zone's demand (to split a zone's
    flows and shortfalls back to regions and services; shares of a zone sum to 1).

    Interactive zones split by hour; batch zones (which may move load within the day) by day.
    """
    loads = inp.loads
    ld = inp.load_demand
    zone = loads["zone"].to_numpy()
    batch = loads["workload"].map(inp.workloads["kind"]).eq("batch").to_numpy()
    tot = np.zeros((len(inp.zones), *ld.shape[1:]))
    np.add.at(tot, zone, ld)
    with np.errstate(invalid="ignore", divide="ignore"):
        hourly = np.where(tot[zone] > 0, ld / tot[zone], 0.0)
        day_l = ld.sum(axis=2, keepdims=True)
        day_z = tot.sum(axis=2, keepdims=True)[zone]
        daily = np.broadcast_to(np.where(day_z > 0, day_l / day_z, 0.0), ld.shape)
    # a zone with a single member gets share 1 everywhere (keeps batch flows at any hour)
    single = (np.bincount(zone, minlength=len(inp.zones)) == 1)[zone]
    share = np.where(batch[:, None, None], daily, hourly)
    share[single] = 1.0
    return share


def _block_peak(hourly: np.ndarray, block_of_hour: np.ndarray, nb: int) -> np.ndarray:
    """(n, year, 24) -> (n, year, blocks): the busiest hour of each block."""
    if nb == 24:
        return hourly.copy()
    out = np.zeros((*hourly.shape[:2], nb))
    for b in range(nb):
        out[..., b] = hourly[..., block_of_hour == b].max(axis=-1)
    return out


def residency_mask(
    scn: Scenario,
    loads: pd.DataFrame,
    regions: pd.DataFrame,
    services: pd.DataFrame,
    sites: pd.DataFrame,
) -> np.ndarray:
    """(load, site) True where every residency rule matching the load allows the site."""
    mask = np.ones((len(loads), len(sites)), dtype=bool)
    if not scn.residency or not len(loads):
        return mask
    dclass = loads["service"].map(services["data_class"]).to_numpy()
    home = loads["region"].map(regions["country"]).to_numpy()
    site_country = sites["country"].to_numpy()
    site_ids = np.asarray(sites.index)
    for rule in scn.residency:
        classes = [rule.data_class] if isinstance(rule.data_class, str) else rule.data_class
        applies = np.isin(dclass, classes)
        if rule.regions is not None:
            applies &= loads["region"].isin(rule.regions).to_numpy()
        if not applies.any():
            continue
        ok = np.zeros((len(loads), len(sites)), dtype=bool)
        countries = rule.allowed_countries or []
        fixed = [c for c in countries if c != "home"]
        ok |= np.isin(site_country, fixed)[None, :]
        if "home" in countries:
            ok |= home[:, None] == site_country[None, :]
        if rule.allowed_sites:
            ok |= np.isin(site_ids, rule.allowed_sites)[None, :]
        mask &= np.where(applies[:, None], ok, True)
    return mask


def training_tables(
    scn: Scenario, sites: pd.DataFrame, fleet_all: pd.DataFrame, accel: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Campaigns (FLOPs, window) and where they may run (campaign, site, accelerator)."""
    years = scn.horizon.years
    camp_rows, tr_rows = [], []
    for c in scn.training:
        start = max(c.start_year or years[0], years[0])
        end = min(c.deadline_year, years[-1])
        h100_hours = c.total_flops / (H100_BF16_TFLOPS * 1e12 * c.mfu) / 3600.0
        camp_rows.append(
            {
                "id": c.id,
                "flops": c.total_flops,
                "start_year": start,
                "deadline_year": c.deadline_year,
                "end_year": end,
                "mfu": c.mfu,
                "one_site": c.one_site,
                "h100_equivalent_hours": h100_hours,
                "shortfall_usd": h100_hours * scn.economics.unfinished_training_usd_per_h100_hour,
            }
        )
        for _, f in fleet_all.iterrows():
            k, a = f["site"], f["accelerator"]
            if c.accelerators and a not in c.accelerators:
                continue
            if c.sites and k not in c.sites:
                continue
            if c.countries and sites.loc[k, "country"] not in c.countries:
                continue
            col = "fp8_tflops" if c.precision == "fp8" else "bf16_tflops"
            peak = accel.loc[a, col]
            if pd.isna(peak) or peak <= 0:
                continue
            hours = c.total_flops / (float(peak) * 1e12 * c.mfu) / 3600.0
            tr_rows.append(
                {
                    "campaign": c.id,
                    "site": k,
                    "accelerator": a,
                    "accelerator_hours": hours,
                    "server_years": hours
                    / (float(accel.loc[a, "accels_per_server"]) * HOURS_PER_YEAR),
                }
            )
    campaigns = pd.DataFrame(
        camp_rows,
        columns=[
            "id",
            "flops",
            "start_year",
            "deadline_year",
            "end_year",
            "mfu",
            "one_site",
            "h100_equivalent_hours",
            "shortfall_usd",
        ],
    )
    trainings = pd.DataFrame(
        tr_rows, columns=["campaign", "site", "accelerator", "accelerator_hours", "server_years"]
    )
    trainings["campaign_idx"] = (
        campaigns.reset_index().set_index("id")["index"].reindex(trainings["campaign"]).to_numpy()
        if len(trainings)
        else np.zeros(0, dtype=int)
    )
    return campaigns, trainings


def chip_cap_rows(scn: Scenario) -> list[dict]:
    """Chip caps as plain rows with amounts per horizon year (a ``{year: amount}`` schedule is
    a step function whatever the order of its keys; 0 before its first year)."""
    rows = []
    years = scn.horizon.years
    for i, cap in enumerate(scn.chip_caps):
        amounts = catalog.year_values(cap.amount, years, 0.0)
        rows.append(
            {
                "name": cap.name or f"chip cap {i + 1}",
                "accelerators": cap.accelerators,
                "country": cap.country,
                "unit": cap.unit,
                "period": cap.period,
                "amount": [float(a) for a in amounts],
                "source": cap.source,
            }
        )
    return rows


_SITE_SOURCE_LABELS = {
    "power_price_usd_mwh": "price:",
    "carbon_g_kwh": "carbon:",
    "pue": "PUE:",
    "capex_usd_per_mw": "capex:",
    "power_mw": "power:",
    "lead_time_months": "lead time:",
}


def source_part(source: str, field_: str) -> str:
    """The part of a catalog site's source that concerns ``field_`` (whole text if unlabelled)."""
    import re

    label = _SITE_SOURCE_LABELS.get(field_)
    if not label or label not in source:
        return source
    starts = sorted(
        m.start()
        for lab in _SITE_SOURCE_LABELS.values()
        for m in re.finditer(rf"(?:^|; ){re.escape(lab)}", source)
    )
    i = source.index(label)
    after = [x for x in starts if x > i]
    return source[i : after[0] if after else len(source)].strip("; ")


def assumption_rows(scn: Scenario, inp: PlanInputs) -> list[dict]:
    """Every number the plan uses that the scenario did not state, with its source.

    Catalog values for catalog sites, regions and accelerators; country figures and estimates
    for custom sites; every default of the horizon, economics, energy, services, training
    campaigns and network; and the performance model's efficiency factors.
    """
    from infraplan.scenario.schema import Economics, Energy, Horizon, TrainingCampaign

    rows: list[dict] = []

    def add(name: str, value: object, unit: str, source: str) -> None:
        rows.append({"name": name, "value": value, "unit": unit, "source": source})

    cat_sites = catalog.sites()
    site_units = {
        "power_price_usd_mwh": "USD/MWh",
        "carbon_g_kwh": "gCO2/kWh",
        "pue": "",
        "capex_usd_per_mw": "USD/MW",
        "lead_time_months": "months",
        "power_mw": "MW by year",
    }
    for s in scn.sites:
        used = inp.sites.loc[s.id]
        in_cat = s.id in cat_sites.index
        row = cat_sites.loc[s.id] if in_cat else None
        est = str(row["estimate"] or "").split(";") if row is not None else []
        c = catalog.country_row(str(used["country"]))
        for field_, unit in site_units.items():
            if getattr(s, field_) is not None:
                continue
            cat_value = row[field_] if row is not None else None
            if row is not None and not (isinstance(cat_value, float) and math.isnan(cat_value)):
                flag = " [estimate]" if field_ in est else ""
                add(
                    f"site {s.id}: {field_}",
                    cat_value,
                    unit,
                    f"catalog sites.csv ({row['year']}): "
                    f"{source_part(str(row['source']), field_)}{flag}",
                )
            elif field_ == "power_price_usd_mwh":
                add(
                    f"site {s.id}: {field_}",
                    as_float(used[field_]),
                    unit,
                    f"{used['country']} electricity price ({c['price_year']}): {c['price_source']}",
                )
            elif field_ == "carbon_g_kwh":
                add(
                    f"site {s.id}: {field_}",
                    as_float(used[field_]),
                    unit,
                    f"{used['country']} grid carbon intensity ({c['carbon_year']}): "
                    f"{c['carbon_source']}",
                )
            elif field_ in CUSTOM_SITE_DEFAULTS:
                value, source = CUSTOM_SITE_DEFAULTS[field_]
                add(f"site {s.id}: {field_}", value, unit, f"default for a custom site, {source}")
        if s.utc_offset is None and not in_cat:
            add(
                f"site {s.id}: utc_offset",
                as_float(used["utc_offset"]),
                "hours",
                f"{used['country']} time zone: {c['source']}",
            )
    for r in scn.regions:
        c = catalog.country_row(r.country)
        if r.population is None:
            add(
                f"region {r.id}: population",
                as_float(inp.regions.loc[r.id, "population"]),
                "people",
                f"{r.population_share:g} x {r.country} population ({c['year']}): {c['source']}",
            )
        if r.internet_share is None:
            add(
                f"region {r.id}: internet share",
                as_float(inp.regions.loc[r.id, "internet_share"]),
                "share",
                f"{r.country} internet users ({c['year']}): {c['source']}",
            )
        for field_, unit in (("lat", "degrees"), ("lon", "degrees"), ("utc_offset", "hours")):
            if getattr(r, field_) is None:
                add(
                    f"region {r.id}: {field_}",
                    as_float(inp.regions.loc[r.id, field_]),
                    unit,
                    f"{r.country} centre ({c['centre']}): {c['source']}",
                )
    acc = inp.accelerators
    for a, arow in acc.iterrows():
        est = str(arow["estimate"] or "").split(";")
        for field_, unit in (
            ("server_price_usd", "USD"),
            ("tdp_w", "W"),
            ("server_overhead_w", "W"),
            ("accels_per_server", ""),
            ("first_year", ""),
        ):
            flag = " [estimate]" if field_ in est else ""
            add(
                f"accelerator {a}: {field_}",
                arow[field_],
                unit,
                f"catalog accelerators.csv ({arow['year']}): {arow['source']}{flag}",
            )

    def defaults(prefix: str, obj: object, model: type, names: list[str] | None = None) -> None:
        given = obj.model_fields_set  # type: ignore[attr-defined]
        for name, fld in model.model_fields.items():  # type: ignore[attr-defined]
            if names is not None and name not in names:
                continue
            value = getattr(obj, name)
            if name not in given and value is not None:
                add(f"{prefix}: {name}", value, "", f"default: {fld.description or ''}")

    defaults("economics", scn.economics, Economics)
    defaults("horizon", scn.horizon, Horizon, ["discount_rate"])
    h = scn.horizon
    if h.decision_year is None:
        add(
            "horizon: decision_year",
            inp.decision_year,
            "year",
            "default: the year before start_year (build decisions can be taken from then)",
        )
    if h.base_year is None:
        add("horizon: base_year", inp.base_year, "year", "default: start_year")
    energy_names = ["carbon_price_usd_per_t"]
    if scn.energy.renewable_share_min is not None:
        energy_names.append("renewable_premium_usd_mwh")
    defaults("energy", scn.energy, Energy, energy_names)
    for svc in scn.services:
        if svc.network_budget_ms is None:
            add(
                f"service {svc.id}: network_budget_ms",
                svc.network_ms,
                "ms",
                "default: min(150 ms, ttft_ms / 4) of the TTFT limit kept for the network",
            )
        if svc.precision is None:
            cfg = inp.capacity[inp.capacity["service"] == svc.id]
            cfg = cfg[cfg["feasible"]]
            chosen = ", ".join(
                f"{a}: {c.split(' ')[0]}"
                for a, c in zip(cfg["accelerator"], cfg["config"], strict=True)
            )
            add(
                f"service {svc.id}: precision",
                chosen or "none feasible",
                "",
                "chosen by the performance model (FP8 where supported, else BF16)",
            )
    sv = scn.serving
    add("serving: engine", sv.engine, "",
        "serving engine of the services without their own (performance-model factor "
        f"{inp.efficiency.engine(sv.engine):.2f}); set serving.engine or a service's engine")
    add("serving: capacity point", sv.capacity_band, "",
        "p50 = the performance model's prediction; p10/p90 = its out-of-sample error band")
    add("serving: capacity margin", sv.capacity_margin, "share",
        "share of predicted capacity held back (services may set their own)")
    for camp in scn.training:
        defaults(f"training {camp.id}", camp, TrainingCampaign, ["mfu", "precision"])
    add("network: fibre speed", FIBRE_KM_PER_MS, "km/ms", "light in fibre, about 2/3 c")
    add(
        "network: route factor",
        ROUTE_FACTOR,
        "x great circle",
        "planning rule of thumb for fibre routes",
    )
    add(
        "network: fixed overhead",
        OVERHEAD_MS,
        "ms per round trip",
        "estimate: last-mile access and switching",
    )
    eff_table = inp.efficiency.table
    if eff_table is not None:
        for _, e in eff_table.iterrows():
            key = "/".join(
                str(e[c]) for c in ("family", "engine", "precision") if str(e[c]) not in ("", "nan")
            )
            add(
                f"perf: {e['parameter']}{' ' + key if key else ''}",
                e["value"],
                "",
                f"{e['provenance']} ({e['n_rows']} rows)",
            )
    return rows
