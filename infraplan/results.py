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
    capacity = inp.capacity.copy()
    demand = inp.demand[
        ["year", "hour_utc", "region", "service", "requests_per_s", "output_tokens_per_s"]
    ]
    return {
        "sites": sites,
        "regions": regions,
        "services": services,
        "capacity": capacity,
        "demand": demand,
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
    ny, nh = len(years), len(hours)
    m = built.model
    tables = input_tables(inp)

    # --- costs ------------------------------------------------------------------------------
    by_year = {
        name: _sol(getattr(built.costs, name), "year") * OBJ_SCALE for name in COST_COMPONENTS
    }  # each (year,)
    costs_usd = {k: float(v.sum()) for k, v in by_year.items()}
    objective = float(m.objective.value) * OBJ_SCALE
    cby = pd.DataFrame({"year": years, **{f"{k}_usd": v for k, v in by_year.items()}})
    cby["total_usd"] = cby[[f"{k}_usd" for k in COST_COMPONENTS]].sum(axis=1)
    base = inp.scenario.horizon.base_year or inp.scenario.horizon.start_year
    dfac = discount_factors(years, base, inp.scenario.horizon.discount_rate)
    cby["total_undiscounted_usd"] = cby["total_usd"] / dfac
    tables["costs_by_year"] = cby

    # --- build and installed -------------------------------------------------------------------
    fleet = inp.fleet
    build = _sol(m.variables["build"], "fleet", "vintage")  # (fleet, vintage)
    installed = _sol(built.installed, "fleet", "year")  # (fleet, year)
    price = inp.server_price_usd.loc[fleet["accelerator"], years].to_numpy()
    aps = fleet["accels_per_server"].to_numpy()[:, None]
    b = pd.DataFrame(
        {
            "site": np.repeat(fleet["site"].to_numpy(), ny),
            "accelerator": np.repeat(fleet["accelerator"].to_numpy(), ny),
            "year": np.tile(years, len(fleet)),
            "servers": build.ravel(),
            "accelerators": (build * aps).ravel(),
            "capex_usd": (
                build * price / (1 - inp.scenario.economics.network_capex_fraction)
            ).ravel(),
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

    # --- dispatch and unserved -----------------------------------------------------------------
    flow = _sol(m.variables["flow"], "arc", "year", "hour")  # (arc, year, hour)
    arcs = inp.arcs
    disp = pd.DataFrame(
        {
            "year": np.tile(np.repeat(years, nh), len(arcs)),
            "hour_utc": np.tile(hours, len(arcs) * ny),
            "region": np.repeat(arcs["region"].to_numpy(), ny * nh),
            "service": np.repeat(arcs["service"].to_numpy(), ny * nh),
            "site": np.repeat(arcs["site"].to_numpy(), ny * nh),
            "requests_per_s": flow.ravel(),
        }
    )
    tables["dispatch"] = disp[disp["requests_per_s"] > 1e-9].reset_index(drop=True)
    serve = _sol(m.variables["serve"], "option", "year", "hour")
    opts = inp.options
    sv = pd.DataFrame(
        {
            "year": np.tile(np.repeat(years, nh), len(opts)),
            "hour_utc": np.tile(hours, len(opts) * ny),
            "service": np.repeat(opts["service"].to_numpy(), ny * nh),
            "site": np.repeat(opts["site"].to_numpy(), ny * nh),
            "accelerator": np.repeat(opts["accelerator"].to_numpy(), ny * nh),
            "requests_per_s": serve.ravel(),
        }
    )
    sv["servers_busy"] = sv["requests_per_s"] / np.repeat(
        opts["requests_per_s_per_server"].to_numpy(), ny * nh
    )
    tables["serving"] = sv[sv["requests_per_s"] > 1e-9].reset_index(drop=True)
    uns = _sol(m.variables["unserved"], "load", "year", "hour")  # (load, year, hour)
    loads = inp.loads
    un = pd.DataFrame(
        {
            "year": np.tile(np.repeat(years, nh), len(loads)),
            "hour_utc": np.tile(hours, len(loads) * ny),
            "region": np.repeat(loads["region"].to_numpy(), ny * nh),
            "service": np.repeat(loads["service"].to_numpy(), ny * nh),
            "requests_per_s": uns.ravel(),
        }
    )
    tables["unserved"] = un[
        un["requests_per_s"] > 1e-6 * max(1.0, inp.demand_rps.max())
    ].reset_index(drop=True)

    # --- site load ------------------------------------------------------------------------------
    it_mw = _sol(built.it_power_mw, "site", "year", "hour")  # (site, year, hour)
    pue = inp.sites["pue"].to_numpy()[:, None, None]
    fac_mw = it_mw * pue
    site_cap = np.zeros((len(inp.sites), ny))
    site_idx = inp.sites.index.get_indexer(fleet["site"])
    np.add.at(site_cap, site_idx, installed * peak_w / 1e6)
    sl = pd.DataFrame(
        {
            "year": np.tile(np.repeat(years, nh), len(inp.sites)),
            "hour_utc": np.tile(hours, len(inp.sites) * ny),
            "site": np.repeat(inp.sites.index.to_numpy(), ny * nh),
            "it_power_mw": it_mw.ravel(),
            "facility_power_mw": fac_mw.ravel(),
            "it_capacity_mw": np.repeat(site_cap.ravel(), nh),
        }
    )
    tables["site_load"] = sl

    # --- metrics --------------------------------------------------------------------------------
    w = inp.hour_weight  # hours per representative hour
    svc_tokens = inp.services["input_tokens"] + inp.services["output_tokens"]
    load_tokens = loads["service"].map(svc_tokens).to_numpy()
    load_out = loads["service"].map(inp.services["output_tokens"]).to_numpy()
    demand = inp.demand_rps
    served = np.clip(demand - uns, 0, None)
    # requests per year per load: sum_h rps x 3600 x weight
    served_req_y = (served * w[None, None, :]).sum(axis=2) * SECONDS_PER_HOUR  # (load, year)
    demand_req_y = (demand * w[None, None, :]).sum(axis=2) * SECONDS_PER_HOUR
    served_tok_y = (served_req_y * load_tokens[:, None]).sum(axis=0)  # (year,)
    served_out_y = (served_req_y * load_out[:, None]).sum(axis=0)
    cost_wo_penalty = objective - costs_usd["unserved_penalty"]
    pv_tokens = float((served_tok_y * dfac).sum())
    pv_out = float((served_out_y * dfac).sum())
    population = float(inp.regions["population"].sum())
    pv_pop = population * float(dfac.sum())
    energy_mwh_y = (fac_mw * w[None, None, :]).sum(axis=(0, 2))  # (year,)
    carbon = inp.sites["carbon_g_kwh"].to_numpy()[:, None, None]
    emissions_t = float((fac_mw * carbon * w[None, None, :]).sum() / 1000.0)
    metrics = {
        "cost_per_million_tokens_usd": cost_wo_penalty / (pv_tokens / 1e6) if pv_tokens else None,
        "cost_per_million_output_tokens_usd": cost_wo_penalty / (pv_out / 1e6) if pv_out else None,
        "cost_per_citizen_year_usd": cost_wo_penalty / pv_pop if pv_pop else None,
        "energy_mwh": float(energy_mwh_y.sum()),
        "emissions_tco2": emissions_t,
        "peak_it_power_mw": float(it_mw.sum(axis=0).max()) if it_mw.size else 0.0,
        "peak_facility_power_mw": float(fac_mw.sum(axis=0).max()) if fac_mw.size else 0.0,
        "served_fraction": float(served_req_y.sum() / demand_req_y.sum())
        if demand_req_y.sum()
        else 1.0,
        "served_tokens": float(served_tok_y.sum()),
        "accelerators_installed_max": float(
            (installed * aps).sum(axis=0).max() if installed.size else 0.0
        ),
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
