"""Results: tables beside the inputs and metrics, computed from inputs + a plain ``Solution``.

No linopy model is needed, so a stored run (scenario + ``solution.npz``) can be analysed again.
``Results.to_dict()`` is the ``results.json`` contract (docs/results.md); the hourly tables
(``HOURLY_TABLES``) are written as Parquet files beside it and the document carries their
aggregates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from infraplan import __version__
from infraplan.analysis import aggregates
from infraplan.analysis.metrics import plan_metrics
from infraplan.model import costs
from infraplan.model.costs import COMPONENTS, PENALTIES, CostCoefficients
from infraplan.model.families.dispatch import unserved_by_load
from infraplan.model.inputs import PlanInputs, member_shares
from infraplan.model.solution import Solution
from infraplan.units import HOURS_PER_YEAR

HOURLY_TABLES = ["demand", "dispatch", "serving", "unserved"]
"""Tables per year x hour x region/site that go to Parquet files, not into results.json."""
SMALL_TABLES = [
    "costs_by_year",
    "build",
    "installed",
    "sites",
    "regions",
    "services",
    "capacity",
    "site_load",
    "training",
    "campaigns",
    "zones",
    "explanations",
    "assumptions",
    *aggregates.TABLES,
]
"""Tables inside results.json (and as CSV files)."""


@dataclass
class Results:
    """Everything a run produced. Tables are pandas DataFrames; ``to_dict`` gives results.json."""

    scenario: dict[str, Any]
    status: str
    termination: str
    objective_usd: float | None
    costs_usd: dict[str, float]
    metrics: dict[str, Any]
    solve: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)
    scenario_input: dict[str, Any] = field(default_factory=dict)
    """The full scenario as validated (every field, defaults filled): runs can be rebuilt."""
    warnings: list[str] = field(default_factory=list)
    """Legal but suspicious input, from ``infraplan.scenario.checks`` (shown first)."""
    capacity_band: dict[str, Any] = field(default_factory=dict)
    """The plan re-solved at the ends of the performance model's error band (``bands`` step)."""
    governance: dict[str, Any] = field(default_factory=dict)
    """The rule packs applied: classifications, constraints, compliance and rule costs."""

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"

    @property
    def has_plan(self) -> bool:
        return self.objective_usd is not None and bool(self.metrics)

    def to_dict(self) -> dict[str, Any]:
        """The results.json mapping (see docs/results.md); hourly tables not included."""
        out: dict[str, Any] = {
            "infraplan_version": __version__,
            "scenario": self.scenario,
            "status": self.status,
            "termination": self.termination,
            "warnings": self.warnings,
            "objective_usd": self.objective_usd,
            "costs_usd": self.costs_usd,
            "metrics": self.metrics,
            "solve": self.solve,
            "baseline": self.baseline,
            "capacity_band": self.capacity_band,
            "governance": self.governance,
            "scenario_input": self.scenario_input,
            "hourly_tables": {
                name: f"{name}.parquet" for name in HOURLY_TABLES if name in self.tables
            },
        }
        for name in SMALL_TABLES:
            df = self.tables.get(name)
            out[name] = [] if df is None else records(df)
        return out


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain Python objects (NaN -> None)."""
    clean = df.astype(object).where(pd.notna(df), None)
    return [
        {str(k): (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
        for row in clean.to_dict(orient="records")
    ]


def scenario_info(inp: PlanInputs, source: str | None = None) -> dict[str, Any]:
    """The scenario's identity and horizon, for the results document."""
    scn = inp.scenario
    return {
        "name": scn.name,
        "description": scn.description,
        "years": inp.years,
        "base_year": inp.base_year,
        "discount_rate": scn.horizon.discount_rate,
        "file": source,
        "workload": inp.workload.kind,
        "work_unit": inp.workload.work_unit,
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
    work_cols = [c for c in inp.demand.columns if c.endswith("_per_s")]
    demand = inp.demand[["year", "hour_utc", "region", "service", "users", *work_cols]]
    return {
        "sites": sites,
        "regions": regions,
        "services": inp.services.reset_index(),
        "capacity": inp.capacity.copy(),
        "demand": demand.reset_index(drop=True),
        "zones": inp.zones.reset_index(),
        "assumptions": pd.DataFrame(inp.assumptions, columns=["name", "value", "unit", "source"]),
        "demand_by_service": aggregates.demand_by_service(demand),
    }


def solve_info(sol: Solution, timings: dict[str, Any]) -> dict[str, Any]:
    """The ``solve`` object of results.json."""
    stats = {k: v for k, v in sol.stats.items() if k != "costs_by_year_usd"}
    return {
        **timings,
        "solver": "highs",
        "method": sol.method,
        "integer_servers": sol.integer,
        "mip_gap": sol.mip_gap,
        "bound_usd": sol.bound_usd,
        "duals": sol.duals_from,
        "ranging": bool(sol.ranging),
        **stats,
    }


def empty_results(
    inp: PlanInputs, sol: Solution, timings: dict[str, Any], source: str | None = None
) -> Results:
    """Results of a run whose solve did not produce a plan: inputs and status only."""
    return Results(
        scenario=scenario_info(inp, source),
        status=sol.status,
        termination=sol.termination,
        objective_usd=None,
        costs_usd={},
        metrics={},
        solve=solve_info(sol, timings),
        tables=input_tables(inp),
        scenario_input=(inp.source_scenario or inp.scenario).model_dump(mode="json"),
        warnings=list(inp.warnings),
        governance=inp.governance.to_dict() if inp.governance is not None else {},
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
    out: dict[str, Any] = {
        "year": np.tile(np.repeat(years, nb), n),
        "hour_utc": np.tile(hours, n * ny),
    }
    for col, arr in index_cols.items():
        out[col] = np.repeat(np.asarray(arr), ny * nb)
    out[name] = values.ravel()
    return pd.DataFrame(out)


def analyse(
    inp: PlanInputs,
    sol: Solution,
    coef: CostCoefficients | None = None,
    timings: dict[str, Any] | None = None,
    source: str | None = None,
) -> Results:
    """Read a solution into tables and metrics (no explanations or baseline: see pipeline)."""
    timings = dict(timings or {})
    if not sol.has_plan:
        return empty_results(inp, sol, timings, source)
    coef = coef if coef is not None else costs.coefficients(inp)
    v = sol.primal
    years, hours = inp.years, inp.hours
    ny = len(years)
    tables = input_tables(inp)

    # --- costs -------------------------------------------------------------------------------
    by_year = costs.evaluate(inp, coef, v)
    for name, vals in sol.stats.get("costs_by_year_usd", {}).items():
        if name not in by_year:  # a user's extra cost term
            by_year[name] = np.asarray(vals, dtype=float)
    costs_usd = {k: float(x.sum()) for k, x in by_year.items()}
    cby = pd.DataFrame({"year": years, **{f"{k}_usd": x for k, x in by_year.items()}})
    cby["total_usd"] = cby[[f"{k}_usd" for k in by_year]].sum(axis=1)
    cby["total_undiscounted_usd"] = cby["total_usd"] / coef.df
    tables["costs_by_year"] = cby

    # --- build and installed -------------------------------------------------------------------
    fleet = inp.fleet
    build = v["build"]
    installed = costs.installed(coef, v)
    aps = fleet["accels_per_server"].to_numpy()[:, None]
    site_rep = np.repeat(fleet["site"].to_numpy(), ny)
    acc_rep = np.repeat(fleet["accelerator"].to_numpy(), ny)
    b = pd.DataFrame(
        {
            "site": site_rep,
            "accelerator": acc_rep,
            "year": np.tile(years, len(fleet)),
            "servers": build.ravel(),
            "accelerators": (build * aps).ravel(),
            "capex_usd": (build * coef.spend_server).ravel(),
        }
    )
    tables["build"] = b[b["servers"] > 1e-6].reset_index(drop=True)
    inst = pd.DataFrame(
        {
            "site": site_rep,
            "accelerator": acc_rep,
            "year": np.tile(years, len(fleet)),
            "servers": installed.ravel(),
            "accelerators": (installed * aps).ravel(),
            "it_capacity_mw": (installed * coef.peak_mw[:, None]).ravel(),
        }
    )
    tables["installed"] = inst[inst["servers"] > 1e-6].reset_index(drop=True)

    # --- dispatch and unserved, back from zones to regions and services ------------------------
    loads, arcs = inp.loads, inp.arcs
    flow = v["flow"]
    share = member_shares(inp)
    members = loads.reset_index().rename(columns={"index": "load"})[["load", "zone"]]
    am = arcs.reset_index().rename(columns={"index": "arc"}).merge(members, on="zone")
    a_idx, l_idx = am["arc"].to_numpy(), am["load"].to_numpy()
    disp_vals = flow[a_idx] * share[l_idx]
    keep = disp_vals.max(axis=(1, 2)) > 1e-9 if len(a_idx) else np.zeros(0, dtype=bool)
    disp = _long(
        {
            "region": loads["region"].to_numpy()[l_idx[keep]],
            "service": loads["service"].to_numpy()[l_idx[keep]],
            "site": am["site"].to_numpy()[keep],
        },
        years,
        hours,
        disp_vals[keep],
        "requests_per_s",
    )
    tables["dispatch"] = disp[disp["requests_per_s"] > 1e-9].reset_index(drop=True)
    by_load = unserved_by_load(inp, v["unserved"], coef.unserved)
    un = _long(
        {"region": loads["region"].to_numpy(), "service": loads["service"].to_numpy()},
        years,
        hours,
        by_load["rps"],
        "requests_per_s",
    )
    scale = max(1.0, float(inp.zone_demand.max()) if inp.zone_demand.size else 1.0)
    tables["unserved"] = un[un["requests_per_s"] > 1e-6 * scale].reset_index(drop=True)

    opts = inp.options
    serve = v["serve"]
    okeep = serve.max(axis=(1, 2)) > 1e-9 if len(opts) else np.zeros(0, dtype=bool)
    sv = _long(
        {
            "workload": opts["workload"].to_numpy()[okeep],
            "site": opts["site"].to_numpy()[okeep],
            "accelerator": opts["accelerator"].to_numpy()[okeep],
        },
        years,
        hours,
        serve[okeep],
        "requests_per_s",
    )
    sv["servers_busy"] = sv["requests_per_s"] / np.repeat(
        opts["requests_per_s_per_server"].to_numpy()[okeep], ny * len(hours)
    )
    tables["serving"] = sv[sv["requests_per_s"] > 1e-9].reset_index(drop=True)

    # --- training ------------------------------------------------------------------------------
    if "train" in v and len(inp.trainings):
        tr = inp.trainings
        tv = v["train"]
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
                    .to_numpy(float)[:, None]
                    * HOURS_PER_YEAR
                ).ravel(),
                "share_of_campaign": (tv / tr["server_years"].to_numpy()[:, None]).ravel(),
            }
        )
        tables["training"] = trt[trt["servers"] > 1e-9].reset_index(drop=True)
    if len(inp.campaigns):
        camp = inp.campaigns.copy()
        camp["shortfall_share"] = v.get("train_short", np.zeros(len(camp)))
        tables["campaigns"] = camp

    # --- site load -----------------------------------------------------------------------------
    it_mw = costs.it_power_mw(inp, coef, v)
    pue = inp.sites["pue"].to_numpy()[:, None, None]
    site_cap = np.zeros((len(inp.sites), ny))
    np.add.at(
        site_cap,
        inp.sites.index.get_indexer(pd.Index(fleet["site"])),
        installed * coef.peak_mw[:, None],
    )
    sl = _long({"site": inp.sites.index.to_numpy()}, years, hours, it_mw, "it_power_mw")
    sl["facility_power_mw"] = (it_mw * pue).ravel()
    sl["it_capacity_mw"] = np.repeat(site_cap.ravel(), len(hours))
    tables["site_load"] = sl

    # --- aggregates the report reads ---------------------------------------------------------
    tables.update(aggregates.plan_tables(inp, tables, by_load))

    metrics = plan_metrics(inp, coef, v, by_year)
    objective = float(sum(costs_usd.values()))
    return Results(
        scenario=scenario_info(inp, source),
        status=sol.status,
        termination=sol.termination,
        objective_usd=objective,
        costs_usd=costs_usd,
        metrics=metrics,
        solve=solve_info(sol, timings),
        tables=tables,
        scenario_input=(inp.source_scenario or inp.scenario).model_dump(mode="json"),
        warnings=list(inp.warnings),
        governance=inp.governance.to_dict() if inp.governance is not None else {},
    )


def cost_labels() -> dict[str, str]:
    """Plain-words name of each cost component."""
    return {k: c.label for k, c in COMPONENTS.items()}


__all__ = ["HOURLY_TABLES", "PENALTIES", "SMALL_TABLES", "Results", "analyse", "empty_results"]
