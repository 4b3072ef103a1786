"""Small tables for the report, aggregated from the hourly ones with the model's weights.

With representative hour blocks a block stands for several hours and carries its busiest hour;
these tables count requests a year the way the objective does (block means), so a report never
has to know about blocks. Columns are documented in docs/results.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from infraplan.model.inputs import PlanInputs
from infraplan.units import DAYS_PER_YEAR, HOURS_PER_DAY, SECONDS_PER_HOUR

TABLES = [
    "demand_by_service",
    "served_by_service",
    "served_by_region",
    "unserved_hours",
    "flows",
    "serving_summary",
]


def demand_by_service(demand: pd.DataFrame) -> pd.DataFrame:
    """Hourly demand summed over regions: year, hour_utc, service, requests/s and work/s."""
    cols = [c for c in demand.columns if c.endswith("_per_s")]
    return demand.groupby(["year", "hour_utc", "service"], as_index=False)[cols].sum()


def plan_tables(
    inp: PlanInputs, tables: dict[str, pd.DataFrame], by_load: dict[str, np.ndarray]
) -> dict[str, pd.DataFrame]:
    """The aggregates of a solved plan (see module docstring)."""
    years = inp.years
    loads = inp.loads
    year_s = SECONDS_PER_HOUR * DAYS_PER_YEAR
    demand = inp.demand.groupby(["region", "service", "year"])["requests_per_s"].sum() * year_s
    li, yi = np.meshgrid(np.arange(len(loads)), np.arange(len(years)), indexing="ij")
    reg = pd.DataFrame(
        {
            "year": np.asarray(years)[yi.ravel()],
            "region": loads["region"].to_numpy()[li.ravel()],
            "service": loads["service"].to_numpy()[li.ravel()],
            "unserved_requests": by_load["requests"].ravel(),
        }
    )
    reg["demanded_requests"] = [
        float(demand.get((r, s, y), 0.0))
        for r, s, y in zip(reg["region"], reg["service"], reg["year"], strict=True)
    ]
    reg["unserved_requests"] = np.minimum(reg["unserved_requests"], reg["demanded_requests"])
    reg["served_requests"] = reg["demanded_requests"] - reg["unserved_requests"]
    reg["served_share"] = np.where(
        reg["demanded_requests"] > 0,
        reg["served_requests"] / reg["demanded_requests"].where(reg["demanded_requests"] > 0, 1),
        1.0,
    )
    cols = [
        "year",
        "region",
        "service",
        "demanded_requests",
        "served_requests",
        "unserved_requests",
        "served_share",
    ]
    served_by_region = reg[cols].sort_values(["year", "region", "service"]).reset_index(drop=True)
    served_by_service = served_by_region.groupby(["year", "service"], as_index=False)[
        ["demanded_requests", "served_requests", "unserved_requests"]
    ].sum()

    # unserved hours per (region, service, year)
    rps = by_load["rps"]
    scale = max(1.0, float(inp.zone_demand.max()) if inp.zone_demand.size else 1.0)
    hours_of_block = [
        list(range(int(h), int(h) + int(n)))
        for h, n in zip(inp.blocks["hour_utc"], inp.blocks["hours"], strict=True)
    ]
    rows = []
    for l_i, y_i in zip(*np.nonzero(rps.max(axis=2) > 1e-6 * scale), strict=True):
        blocks = np.flatnonzero(rps[l_i, y_i] > 1e-6 * scale)
        dem = float(
            demand.get((loads["region"].iloc[l_i], loads["service"].iloc[l_i], years[y_i]), 0.0)
        )
        lost = float(by_load["requests"][l_i, y_i])
        rows.append(
            {
                "region": str(loads["region"].iloc[l_i]),
                "service": str(loads["service"].iloc[l_i]),
                "year": int(years[y_i]),
                "hours_utc": sorted({h for b in blocks for h in hours_of_block[b]}),
                "peak_unserved_requests_per_s": float(rps[l_i, y_i].max()),
                "unserved_requests": lost,
                "unserved_share": min(lost / dem, 1.0) if dem > 0 else 0.0,
            }
        )
    unserved_hours = pd.DataFrame(
        rows,
        columns=[
            "region",
            "service",
            "year",
            "hours_utc",
            "peak_unserved_requests_per_s",
            "unserved_requests",
            "unserved_share",
        ],
    )

    # flows region -> site: mean over the day and the busiest block
    hours_w = dict(
        zip(inp.blocks["hour_utc"].astype(int), inp.blocks["hours"].astype(float), strict=True)
    )
    disp = tables["dispatch"]
    if len(disp):
        per_hour = (
            disp.groupby(["year", "region", "site", "hour_utc"])["requests_per_s"]
            .sum()
            .reset_index()
        )
        per_hour["weighted"] = per_hour["requests_per_s"] * per_hour["hour_utc"].map(hours_w)
        flows = per_hour.groupby(["year", "region", "site"], as_index=False).agg(
            mean_requests_per_s=("weighted", "sum"), peak_requests_per_s=("requests_per_s", "max")
        )
        flows["mean_requests_per_s"] /= HOURS_PER_DAY
    else:
        flows = pd.DataFrame(
            {c: [] for c in ["year", "region", "site", "mean_requests_per_s",
                             "peak_requests_per_s"]}
        )

    # serving per (year, site, accelerator, workload)
    sv = tables["serving"]
    services_of = (
        inp.services.reset_index().groupby("workload")["id"].agg(lambda x: ";".join(sorted(x)))
    )
    if len(sv):
        ratio = pd.Series(
            inp.block_ratio.ravel(),
            index=pd.MultiIndex.from_product([years, inp.blocks["hour_utc"].astype(int)]),
        )
        key = pd.MultiIndex.from_arrays([sv["year"], sv["hour_utc"].astype(int)])
        w = sv["hour_utc"].map(hours_w) * DAYS_PER_YEAR * SECONDS_PER_HOUR
        sv = sv.assign(req=sv["requests_per_s"] * ratio.reindex(key).to_numpy() * w)
        summary = sv.groupby(["year", "site", "accelerator", "workload"], as_index=False).agg(
            requests_per_year=("req", "sum"), peak_servers_busy=("servers_busy", "max")
        )
        summary["services"] = summary["workload"].map(services_of)
    else:
        summary = pd.DataFrame(
            columns=[
                "year",
                "site",
                "accelerator",
                "workload",
                "requests_per_year",
                "peak_servers_busy",
                "services",
            ]
        )
    return {
        "served_by_service": served_by_service,
        "served_by_region": served_by_region,
        "unserved_hours": unserved_hours,
        "flows": flows,
        "serving_summary": summary[
            [
                "year",
                "site",
                "accelerator",
                "workload",
                "services",
                "requests_per_year",
                "peak_servers_busy",
            ]
        ],
    }
