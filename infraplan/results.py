"""Results: tables beside the inputs, metrics, and the ``results.json`` contract.

The contract is documented in docs/results.md.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from infraplan import __version__
from infraplan.finance import discount_factors
from infraplan.optimize.inputs import PlanInputs
from infraplan.optimize.model import OBJ_SCALE, SECONDS_PER_HOUR, BuiltModel
from infraplan.optimize.solve import SolveInfo

# Components always present; others (carbon, renewables, training_shortfall) when used.
COST_COMPONENTS = ["it_capex", "facility_capex", "energy", "om", "unserved_penalty"]
TABLES = [
    "costs_by_year",
    "build",
    "installed",
    "sites",
    "regions",
    "services",
    "capacity",
    "demand",
    "dispatch",
    "serving",
    "unserved",
    "site_load",
    "training",
    "campaigns",
    "zones",
    "explanations",
    "assumptions",
]


@dataclass
class Results:
    """Everything a run produced. Tables are pandas DataFrames; ``to_dict`` gives results.json."""

    scenario: dict[str, Any]
    status: str
    termination: str
    objective_usd: float
    costs_usd: dict[str, float]
    metrics: dict[str, float]
    solve: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"

    def to_dict(self) -> dict[str, Any]:
        """The results.json mapping (see docs/results.md)."""
        out: dict[str, Any] = {
            "infraplan_version": __version__,
            "scenario": self.scenario,
            "status": self.status,
            "termination": self.termination,
            "objective_usd": self.objective_usd,
            "costs_usd": self.costs_usd,
            "metrics": self.metrics,
            "solve": self.solve,
            "baseline": self.baseline,
        }
        for name in TABLES:
            df = self.tables.get(name)
            out[name] = [] if df is None else _records(df)
        return out

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write results.json and one CSV per table into ``out_dir``; returns the paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"results.json": out / "results.json"}
        paths["results.json"].write_text(
            json.dumps(self.to_dict(), indent=1, default=_json_default)
        )
        for name in TABLES:
            df = self.tables.get(name)
            if df is not None:
                p = out / f"{name}.csv"
                df.to_csv(p, index=False)
                paths[f"{name}.csv"] = p
        return paths


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return None if math.isnan(o) else float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    return str(o)


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    clean = df.astype(object).where(pd.notna(df), None)
    return [
        {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
        for row in clean.to_dict(orient="records")
    ]


def _sol(expr: Any, *dims: str) -> np.ndarray:
    """Solution values of a linopy expression or variable in ``dims`` order (NaN -> 0)."""
    sol = expr.solution
    if dims:
        sol = sol.transpose(*dims)
    return np.nan_to_num(np.asarray(sol.values, dtype=float))


def scenario_info(inp: PlanInputs, source: str | None = None) -> dict[str, Any]:
    scn = inp.scenario
    return {
        "name": scn.name,
        "description": scn.description,
        "years": inp.years,
        "base_year": scn.horizon.base_year or scn.horizon.start_year,
        "discount_rate": scn.horizon.discount_rate,
        "file": source,
        "partners": [p.model_dump() for p in scn.partners],
        "policy_packs": list(scn.policy_packs),
    }


def input_tables(inp: PlanInputs) -> dict[str, pd.DataFrame]:
    """Tables that do not depend on the solution (so a failed solve still reports them)."""
    sites = inp.sites.reset_index()[
        [
            "id",
            "name",
            "country",
            "lat",
            "lon",
            "power_cap_mw",
            "pue",
            "power_price_usd_mwh",
            "carbon_g_kwh",
            "capex_usd_per_mw",
            "lead_time_months",
        ]
    ]
    regions = inp.regions.reset_index()[
        ["id", "name", "country", "lat", "lon", "population", "internet_share", "utc_offset"]
    ]
    services = inp.services.reset_index()
    demand = inp.demand[
        ["year", "hour_utc", "region", "service", "requests_per_s", "output_tokens_per_s"]
    ]
    zones = inp.zones.reset_index()
    return {
        "sites": sites,
        "regions": regions,
        "services": services,
        "capacity": inp.capacity.copy(),
        "demand": demand,
        "zones": zones,
        "assumptions": pd.DataFrame(inp.assumptions, columns=["name", "value", "unit", "source"]),
    }


def empty_results(
    inp: PlanInputs, info: SolveInfo, timings: dict[str, Any], source: str | None = None
) -> Results:
    """Results of a run whose solve did not produce a plan: inputs and status only."""
    return Results(
        scenario=scenario_info(inp, source),
        status=info.status,
        termination=info.termination,
        objective_usd=float("nan"),
        costs_usd={},
        metrics={},
        solve=timings,
        tables=input_tables(inp),
    )


def _long(
    index_cols: dict[str, np.ndarray],
    years: list[int],
    hours: np.ndarray,
    values: np.ndarray,
    name: str,
) -> pd.DataFrame:
    """(n, year, block) values -> long table with the index columns, year, hour_utc."""
    n, ny, nb = values.shape
    out = {"year": np.tile(np.repeat(years, nb), n), "hour_utc": np.tile(hours, n * ny)}
    for col, arr in index_cols.items():
        out[col] = np.repeat(np.asarray(arr), ny * nb)
    out[name] = values.ravel()
    return pd.DataFrame(out)


def member_shares(inp: PlanInputs) -> np.ndarray:
    """(load, year, block) share of each member load in its zone's demand (for disaggregation).

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


def extract(
    inp: PlanInputs,
    built: BuiltModel,
    info: SolveInfo,
    timings: dict[str, Any],
    source: str | None = None,
) -> Results:
    """Read the solution into tables and metrics."""
    years = inp.years
    hours = inp.hours
    ny = len(years)
    m = built.model
    tables = input_tables(inp)
    scn = inp.scenario

    # --- costs ------------------------------------------------------------------------------
    by_year = {name: _sol(expr, "year") * OBJ_SCALE for name, expr in built.costs.items()}
    costs_usd = {k: float(v.sum()) for k, v in by_year.items()}
    objective = float(m.objective.value) * OBJ_SCALE
    cby = pd.DataFrame({"year": years, **{f"{k}_usd": v for k, v in by_year.items()}})
    cby["total_usd"] = cby[[f"{k}_usd" for k in by_year]].sum(axis=1)
    base = scn.horizon.base_year or scn.horizon.start_year
    dfac = discount_factors(years, base, scn.horizon.discount_rate)
    cby["total_undiscounted_usd"] = cby["total_usd"] / dfac
    tables["costs_by_year"] = cby

    # --- build and installed -------------------------------------------------------------------
    fleet = inp.fleet
    build = _sol(m.variables["build"], "fleet", "vintage")
    installed = _sol(built.installed, "fleet", "year")
    price = inp.server_price_usd.loc[fleet["accelerator"], years].to_numpy()
    aps = fleet["accels_per_server"].to_numpy()[:, None]
    net = 1 - scn.economics.network_capex_fraction
    b = pd.DataFrame(
        {
            "site": np.repeat(fleet["site"].to_numpy(), ny),
            "accelerator": np.repeat(fleet["accelerator"].to_numpy(), ny),
            "year": np.tile(years, len(fleet)),
            "servers": build.ravel(),
            "accelerators": (build * aps).ravel(),
            "capex_usd": (build * price / net).ravel(),
        }
    )
    tables["build"] = b[b["servers"] > 1e-6].reset_index(drop=True)
    peak_w = fleet["peak_power_w_per_server"].to_numpy()[:, None]
    inst = pd.DataFrame(
        {
            "site": np.repeat(fleet["site"].to_numpy(), ny),
            "accelerator": np.repeat(fleet["accelerator"].to_numpy(), ny),
            "year": np.tile(years, len(fleet)),
            "servers": installed.ravel(),
            "accelerators": (installed * aps).ravel(),
            "it_capacity_mw": (installed * peak_w / 1e6).ravel(),
        }
    )
    tables["installed"] = inst[inst["servers"] > 1e-6].reset_index(drop=True)

    # --- dispatch and unserved, back from zones to regions and services ------------------------
    loads, arcs = inp.loads, inp.arcs
    flow = _sol(m.variables["flow"], "arc", "year", "block")  # (arc, year, block)
    uns_z = _sol(m.variables["unserved"], "zone", "year", "block")
    share = member_shares(inp)
    # each arc of a zone -> one row per member load of that zone
    members = loads.reset_index().rename(columns={"index": "load"})[["load", "zone"]]
    am = arcs.reset_index().rename(columns={"index": "arc"}).merge(members, on="zone")
    disp_vals = flow[am["arc"].to_numpy()] * share[am["load"].to_numpy()]
    disp = _long(
        {
            "region": loads["region"].to_numpy()[am["load"].to_numpy()],
            "service": loads["service"].to_numpy()[am["load"].to_numpy()],
            "site": am["site"].to_numpy(),
        },
        years,
        hours,
        disp_vals,
        "requests_per_s",
    )
    tables["dispatch"] = disp[disp["requests_per_s"] > 1e-9].reset_index(drop=True)
    uns_l = uns_z[loads["zone"].to_numpy()] * share
    un = _long(
        {"region": loads["region"].to_numpy(), "service": loads["service"].to_numpy()},
        years,
        hours,
        uns_l,
        "requests_per_s",
    )
    scale = max(1.0, float(inp.zone_demand.max()) if inp.zone_demand.size else 1.0)
    tables["unserved"] = un[un["requests_per_s"] > 1e-6 * scale].reset_index(drop=True)

    serve = _sol(m.variables["serve"], "option", "year", "block")
    opts = inp.options
    sv = _long(
        {
            "workload": opts["workload"].to_numpy(),
            "site": opts["site"].to_numpy(),
            "accelerator": opts["accelerator"].to_numpy(),
        },
        years,
        hours,
        serve,
        "requests_per_s",
    )
    sv["servers_busy"] = sv["requests_per_s"] / np.repeat(
        opts["requests_per_s_per_server"].to_numpy(), ny * len(hours)
    )
    tables["serving"] = sv[sv["requests_per_s"] > 1e-9].reset_index(drop=True)

    # --- training ---------------------------------------------------------------------------------
    if "train" in m.variables:
        tr = inp.trainings
        tv = _sol(m.variables["train"], "training", "year")
        trt = pd.DataFrame(
            {
                "campaign": np.repeat(tr["campaign"].to_numpy(), ny),
                "site": np.repeat(tr["site"].to_numpy(), ny),
                "accelerator": np.repeat(tr["accelerator"].to_numpy(), ny),
                "year": np.tile(years, len(tr)),
                "servers": tv.ravel(),
                "accelerator_hours": (
                    tv
                    * tr["accelerator"]
                    .map(inp.accelerators["accels_per_server"])
                    .to_numpy(dtype=float)[:, None]
                    * 8760.0
                ).ravel(),
                "share_of_campaign": (tv / tr["server_years"].to_numpy()[:, None]).ravel(),
            }
        )
        tables["training"] = trt[trt["servers"] > 1e-9].reset_index(drop=True)
        short = _sol(m.variables["train_short"], "campaign")
        camp = inp.campaigns.copy()
        camp["shortfall_share"] = short
        tables["campaigns"] = camp

    # --- site load -------------------------------------------------------------------------
    it_mw = _sol(built.it_power_mw, "site", "year", "block")
    pue = inp.sites["pue"].to_numpy()[:, None, None]
    fac_mw = it_mw * pue
    site_cap = np.zeros((len(inp.sites), ny))
    site_idx = inp.sites.index.get_indexer(fleet["site"])
    np.add.at(site_cap, site_idx, installed * peak_w / 1e6)
    sl = _long({"site": inp.sites.index.to_numpy()}, years, hours, it_mw, "it_power_mw")
    sl["facility_power_mw"] = fac_mw.ravel()
    sl["it_capacity_mw"] = np.repeat(site_cap.ravel(), len(hours))
    tables["site_load"] = sl

    # --- metrics ---------------------------------------------------------------------------
    w = inp.hour_weight  # hours per year each block stands for
    zw = inp.zones["workload"]
    z_tokens = zw.map(inp.workloads["input_tokens"] + inp.workloads["output_tokens"]).to_numpy(
        float
    )
    z_out = zw.map(inp.workloads["output_tokens"]).to_numpy(float)
    zdem = inp.zone_demand * inp.zone_ratio  # mean load of each block
    batch = zw.map(inp.workloads["kind"]).eq("batch").to_numpy()
    uns_ratio = np.where(batch[:, None, None], 1.0, inp.zone_ratio)
    demand_req_y = (zdem * w).sum(axis=2) * SECONDS_PER_HOUR  # (zone, year)
    unserved_req_y = (uns_z * uns_ratio * w).sum(axis=2) * SECONDS_PER_HOUR
    served_req_y = np.clip(demand_req_y - unserved_req_y, 0, None)
    served_tok_y = (served_req_y * z_tokens[:, None]).sum(axis=0)
    served_out_y = (served_req_y * z_out[:, None]).sum(axis=0)
    penalties = costs_usd.get("unserved_penalty", 0.0) + costs_usd.get("training_shortfall", 0.0)
    cost_wo_penalty = objective - penalties
    pv_tokens = float((served_tok_y * dfac).sum())
    pv_out = float((served_out_y * dfac).sum())
    pv_pop = float(inp.regions["population"].sum()) * float(dfac.sum())
    energy_y = _sol(built.energy_mwh, "site", "year").sum(axis=0)
    emissions_y = _sol(built.emissions_t, "year")
    metrics = {
        "cost_per_million_tokens_usd": cost_wo_penalty / (pv_tokens / 1e6) if pv_tokens else None,
        "cost_per_million_output_tokens_usd": cost_wo_penalty / (pv_out / 1e6) if pv_out else None,
        "cost_per_citizen_year_usd": cost_wo_penalty / pv_pop if pv_pop else None,
        "energy_mwh": float(energy_y.sum()),
        "emissions_tco2": float(emissions_y.sum()),
        "peak_it_power_mw": float(it_mw.sum(axis=0).max()) if it_mw.size else 0.0,
        "peak_facility_power_mw": float(fac_mw.sum(axis=0).max()) if fac_mw.size else 0.0,
        "served_fraction": float(served_req_y.sum() / demand_req_y.sum())
        if demand_req_y.sum()
        else 1.0,
        "served_tokens": float(served_tok_y.sum()),
        "accelerators_installed_max": float((installed * aps).sum(axis=0).max())
        if installed.size
        else 0.0,
        "total_cost_usd": cost_wo_penalty,
    }
    return Results(
        scenario=scenario_info(inp, source),
        status=info.status,
        termination=info.termination,
        objective_usd=objective,
        costs_usd=costs_usd,
        metrics=metrics,
        solve=timings,
        tables=tables,
    )
