"""The one metrics interface: every headline figure of a plan, from inputs and plain values.

``plan_metrics`` works on any set of values in the model's variables (a solved plan, the naive
baseline), so that two plans are always measured the same way. Money is present value at the
base year; per-unit figures divide it by present-value-weighted quantities (a levelised cost).

- ``total_cost_usd``: what the plan spends (capital, energy, O&M, carbon, renewables), the one
  total shown everywhere; the objective adds the value of lost service and unfinished training.
- ``serving_cost_usd`` / ``training_cost_usd``: the split of that total by cause (see
  ``training_costs``): servers bought in a year for training are training's for their whole
  life, even when they serve afterwards; the rest is serving.
- ``cost_per_million_tokens_usd`` (and per output token): serving cost per served token;
  ``cost_per_active_user_year_usd``: per user of a service and year (a person using two services
  counts twice); ``cost_per_resident_served_year_usd``: per resident of the regions that some
  service serves, and year.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from infraplan.model import costs
from infraplan.model.costs import PENALTIES, CostCoefficients, Values
from infraplan.model.inputs import PlanInputs
from infraplan.units import SECONDS_PER_HOUR


def served_requests(inp: PlanInputs, values: Values) -> tuple[np.ndarray, np.ndarray]:
    """(zone, year) requests demanded and served a year, counted at block means as the
    objective counts them."""
    w = inp.hour_weight
    zdem = inp.zone_demand * inp.zone_ratio
    uns = np.asarray(values.get("unserved", np.zeros_like(zdem)), dtype=float)
    uratio = np.where(inp.zone_batch[:, None, None], 1.0, inp.zone_ratio)
    demand = (zdem * w).sum(axis=2) * SECONDS_PER_HOUR
    unserved = (uns * uratio * w).sum(axis=2) * SECONDS_PER_HOUR
    return demand, np.clip(demand - unserved, 0.0, None)


def training_costs(
    inp: PlanInputs, coef: CostCoefficients, values: Values
) -> dict[str, np.ndarray]:
    """(year,) part of each spending component charged to training.

    Cost follows cause: the servers a fleet brings online in a year are charged to training in
    the share training takes of that fleet's use that year (servers busy training against the
    busiest hour's servers serving), for their whole life; facility MW built in a year likewise
    by the site's nameplate power of those servers; energy and carbon by the servers training
    owns (their idle power) and the training load; certificates by energy share.
    """
    ny = len(coef.years)
    out = {
        k: np.zeros(ny)
        for k in ("it_capex", "facility_capex", "energy", "om", "carbon", "renewables")
    }
    train = values.get("train")
    if train is None or not np.asarray(train).size:
        return out
    train = np.asarray(train, dtype=float)
    nf = len(inp.fleet)
    fleet_t = inp.trainings["fleet"].to_numpy(dtype=np.int64)
    busy = np.zeros((nf, ny))
    np.add.at(busy, fleet_t, train)
    serve = np.asarray(values["serve"], dtype=float)
    opts = inp.options
    serving = np.zeros((nf, ny, serve.shape[2]))
    np.add.at(
        serving,
        opts["fleet"].to_numpy(),
        serve / opts["requests_per_s_per_server"].to_numpy(float)[:, None, None],
    )
    serving_peak = serving.max(axis=2) if serving.size else np.zeros((nf, ny))
    use = busy + serving_peak
    share_v = np.where(use > 1e-12, busy / np.maximum(use, 1e-12), 0.0)  # (fleet, vintage)
    build = np.asarray(values["build"], dtype=float)
    owned = np.einsum("fv,vy->fy", build * share_v, coef.alive_srv)  # training-owned servers
    out["it_capex"] = np.einsum("fv,fvy->y", build * share_v, coef.server)
    it_om = np.einsum("fv,fvy->y", build * share_v, coef.server_om)
    sites = inp.sites
    site_f = sites.index.get_indexer(pd.Index(inp.fleet["site"]))
    n = len(sites)
    new_all = np.zeros((n, ny))
    new_tr = np.zeros((n, ny))
    np.add.at(new_all, site_f, build * coef.peak_mw[:, None])
    np.add.at(new_tr, site_f, build * share_v * coef.peak_mw[:, None])
    site_share = np.where(new_all > 1e-12, new_tr / np.maximum(new_all, 1e-12), 0.0)
    fac = np.asarray(values.get("facility", np.zeros(coef.facility.shape[:2])), dtype=float)
    out["facility_capex"] = np.einsum("sv,svy->y", fac * site_share, coef.facility)
    if "open" in values:
        opened = np.asarray(values["open"], float)
        out["facility_capex"] += np.einsum("sv,svy->y", opened * site_share, coef.opening)
    out["om"] = it_om + np.einsum("sv,svy->y", fac * site_share, coef.facility_om)
    out["energy"] = (owned * coef.energy_idle).sum(axis=0) + (train * coef.energy_train).sum(axis=0)
    mwh = np.zeros((n, ny))
    np.add.at(mwh, site_f, owned * coef.mwh_idle.sum(axis=1)[:, None])
    np.add.at(
        mwh,
        sites.index.get_indexer(pd.Index(inp.trainings["site"])),
        train * coef.mwh_train.sum(axis=1)[:, None],
    )
    out["carbon"] = (mwh * coef.carbon_t_per_mwh[:, None]).sum(axis=0) * coef.carbon
    total_mwh = costs.energy_mwh(inp, coef, values).sum(axis=0)
    green = np.asarray(values.get("green", np.zeros((n, ny))), dtype=float).sum(axis=0)
    e_share = np.where(total_mwh > 0, mwh.sum(axis=0) / np.maximum(total_mwh, 1e-12), 0.0)
    out["renewables"] = green * coef.renewables * e_share
    return out


def plan_metrics(
    inp: PlanInputs, coef: CostCoefficients, values: Values, by_year: dict[str, np.ndarray]
) -> dict[str, Any]:
    """Headline figures of a plan given its cost components by year (``costs.evaluate``)."""
    df = coef.df
    total = float(sum(v.sum() for k, v in by_year.items() if k not in PENALTIES))
    train = training_costs(inp, coef, values)
    training_cost = float(sum(train[k].sum() for k in train if k in by_year))
    serving_cost = total - training_cost
    demand_z, served_z = served_requests(inp, values)
    wl = inp.zones["workload"]
    work = wl.map(inp.workloads["work_per_request"]).to_numpy(float)
    out_work = wl.map(inp.workloads["output_per_request"]).to_numpy(float)
    pv_tokens = float(((served_z * work[:, None]).sum(axis=0) * df).sum())
    pv_out = float(((served_z * out_work[:, None]).sum(axis=0) * df).sum())
    users = inp.demand.groupby(["region", "service", "year"])["users"].first()
    user_years = users.groupby(level="year").sum().reindex(inp.years).fillna(0.0).to_numpy()
    pv_users = float((user_years * df).sum())
    served_regions = sorted(set(inp.demand.loc[inp.demand["users"] > 0, "region"]))
    pop = float(inp.regions.loc[served_regions, "population"].sum()) if served_regions else 0.0
    pv_residents = pop * float(df.sum())
    energy = costs.energy_mwh(inp, coef, values)
    emissions = (energy * coef.carbon_t_per_mwh[:, None]).sum(axis=0)
    it_mw = costs.it_power_mw(inp, coef, values)
    pue = inp.sites["pue"].to_numpy(float)[:, None, None]
    inst = costs.installed(coef, values)
    aps = inp.fleet["accels_per_server"].to_numpy(float)[:, None]
    tokens_y = (served_z * work[:, None]).sum(axis=0)

    def per(cost: float, pv: float, scale: float = 1.0) -> float | None:
        return cost / (pv / scale) if pv > 0 else None

    return {
        "total_cost_usd": total,
        "serving_cost_usd": serving_cost,
        "training_cost_usd": training_cost,
        "cost_per_million_tokens_usd": per(serving_cost, pv_tokens, 1e6),
        "cost_per_million_output_tokens_usd": per(serving_cost, pv_out, 1e6),
        "cost_per_active_user_year_usd": per(serving_cost, pv_users),
        "cost_per_resident_served_year_usd": per(serving_cost, pv_residents),
        "energy_mwh": float(energy.sum()),
        "emissions_tco2": float(emissions.sum()),
        "peak_it_power_mw": float(it_mw.sum(axis=0).max()) if it_mw.size else 0.0,
        "peak_facility_power_mw": float((it_mw * pue).sum(axis=0).max()) if it_mw.size else 0.0,
        "served_fraction": float(served_z.sum() / demand_z.sum()) if demand_z.sum() else 1.0,
        "served_tokens": float(tokens_y.sum()),
        "accelerators_installed_max": float((inst * aps).sum(axis=0).max()) if inst.size else 0.0,
    }


def saving_metrics(
    plan_objective_usd: float, plan_cost_usd: float, baseline: dict[str, Any]
) -> dict[str, float]:
    """Savings of the plan against the naive baseline, both priced by the same formulas:
    with lost service and unfinished training valued on both sides (``saving_vs_baseline``),
    and on spending alone (``..._excl_penalties``). Empty without a baseline."""
    total = baseline.get("total_usd") if baseline else None
    if total is None or not np.isfinite(plan_objective_usd):
        return {}
    saving = float(total) - float(plan_objective_usd)
    out = {
        "saving_vs_baseline_usd": saving,
        "saving_vs_baseline_pct": 100.0 * saving / float(total) if total else 0.0,
    }
    base_cost = baseline.get("total_excl_penalties_usd")
    if base_cost:
        s2 = float(base_cost) - float(plan_cost_usd)
        out["saving_vs_baseline_excl_penalties_usd"] = s2
        out["saving_vs_baseline_excl_penalties_pct"] = 100.0 * s2 / float(base_cost)
    return out
