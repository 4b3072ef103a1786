"""Column generation: solve large LPs on a restricted set of columns, prove optimality by pricing.

Most of a continental model's variables are dispatch columns that the optimum leaves at zero:
accelerators that are never bought at a site, and sites a zone never uses. We start from a
restricted set (for each workload and site the most cost-effective accelerators; for each zone
its most cost-effective sites), fix every other column at zero (HiGHS presolve removes fixed
columns, so the LP that is solved is the small one), solve, and then price the excluded
columns with the duals of the full model:

- a flow or serve column is added when its reduced cost ``c - A'y`` is negative;
- an accelerator type at a site (build + serve columns + its capacity rows) is priced as a
  composite: its capacity rows are degenerate while nothing is built there, so their duals are
  chosen optimally: y_cap[y, b] = min(0, min_w cap_w * c~_serve_w[y, b]); the type is added
  when the build column's reduced cost with those duals is negative for some vintage.

When no column prices out, the restricted optimum is optimal for the full LP (within the
tolerance): the result is exact, not a heuristic. Usually one or two rounds suffice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from infraplan.model.build import BuiltModel
from infraplan.model.costs import CostCoefficients
from infraplan.model.inputs import PlanInputs
from infraplan.model.solve.highs import Outcome
from infraplan.units import as_float

# Restricted set: accelerator types per site.
ACCELERATORS_PER_SITE = 2
SITES_PER_ZONE = 10_000  # all arcs: their duals stay exact
MAX_ROUNDS = 8
REL_TOL = 1e-7


@dataclass
class Restriction:
    """Which columns are active (free) in the restricted LP."""

    options: np.ndarray  # bool per option
    fleet: np.ndarray  # bool per fleet pair
    arcs: np.ndarray  # bool per arc
    history: list[dict] = field(default_factory=list)


def cost_scores(inp: PlanInputs, coef: CostCoefficients) -> pd.Series:
    """Rough present cost (USD) per request/s of each option over the horizon: the server (its
    first possible vintage), the facility it needs, and energy, from the cost coefficients.

    Used only to choose the starting columns; pricing makes the result exact anyway.
    """
    o = inp.options
    f = o["fleet"].to_numpy()
    s = inp.sites.index.get_indexer(pd.Index(o["site"]))
    allowed = inp.build_allowed[f] > 0
    first = np.where(allowed.any(axis=1), allowed.argmax(axis=1), 0)
    server = (coef.server[f, first] + coef.server_om[f, first]).sum(axis=1)
    fac = (coef.facility[s, first] + coef.facility_om[s, first]).sum(axis=1) * coef.peak_mw[f]
    idle = coef.energy_idle[f].sum(axis=1)
    cap = o["requests_per_s_per_server"].to_numpy(float)
    dyn = coef.energy_serve.sum(axis=(1, 2)) / max(coef.energy_serve.shape[2], 1)
    return pd.Series((server + fac + idle) / cap + dyn, index=o.index)


def initial_restriction(inp: PlanInputs, coef: CostCoefficients) -> Restriction:
    """Per site, the accelerator types closest to the cheapest for some workload; per zone,
    the sites where it is cheapest to serve.

    An accelerator type's relative score at a site is min over workloads of its cost per
    request/s divided by the cheapest type's for that workload there. Every (workload, site)
    pair keeps at least its cheapest type, so every pair row stays in play.
    """
    o = inp.options.copy()
    o["score"] = cost_scores(inp, coef)
    o["rel"] = o["score"] / o.groupby(["workload", "site"])["score"].transform("min")
    per_fleet = o.groupby("fleet")["rel"].min()
    site_of = inp.fleet["site"]
    rank = per_fleet.groupby(site_of.reindex(per_fleet.index)).rank(method="first")
    fleet = np.zeros(len(inp.fleet), dtype=bool)
    fleet[rank.index[rank <= ACCELERATORS_PER_SITE].to_numpy()] = True
    # fleets that host a multi-server workload stay active: pricing does not price instances
    fleet[o.loc[o["servers_per_instance"] > 1, "fleet"].to_numpy()] = True
    options = fleet[o["fleet"].to_numpy()]
    pair_score = o[options].groupby("pair")["score"].min()
    a = inp.arcs
    arc_rank = a["pair"].map(pair_score).fillna(np.inf).groupby(a["zone"]).rank(method="first")
    arcs = (arc_rank <= SITES_PER_ZONE).to_numpy()
    return Restriction(options=options.copy(), fleet=fleet, arcs=arcs)


def apply_restriction(built: BuiltModel, inp: PlanInputs, r: Restriction) -> None:
    """Fix inactive columns at zero (upper bound 0); restore active ones."""
    m = built.model
    allowed = np.where(inp.build_allowed > 0, np.inf, 0.0)
    build_ub = np.where(r.fleet[:, None], allowed, 0.0)
    _set_upper(m.variables["build"], build_ub, ["fleet", "vintage"])
    ny, nb = len(inp.years), len(inp.blocks)
    serve_ub = np.where(r.options[:, None, None], np.inf, 0.0) * np.ones((1, ny, nb))
    _set_upper(m.variables["serve"], serve_ub, ["option", "year", "block"])
    flow_ub = np.where(r.arcs[:, None, None], np.inf, 0.0) * np.ones((1, ny, nb))
    _set_upper(m.variables["flow"], flow_ub, ["arc", "year", "block"])


def _set_upper(var: object, values: np.ndarray, dims: list[str]) -> None:
    labels = var.labels  # type: ignore[attr-defined]
    da = xr.DataArray(values, dims=dims, coords={d: labels[d] for d in dims})
    var.update(upper=da.transpose(*labels.dims))  # type: ignore[attr-defined]


def _duals(built: BuiltModel) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Column and row duals of the last solve, with label -> position maps."""
    m = built.model
    h = m.solver_model
    sol = h.getSolution()
    col_dual = np.asarray(sol.col_dual, dtype=float)
    row_dual = np.asarray(sol.row_dual, dtype=float)
    M = m.matrices
    vl = np.asarray(M.vlabels)
    cl = np.asarray(M.clabels)
    vpos = np.full(int(vl.max()) + 1 if vl.size else 1, -1, dtype=np.int64)
    vpos[vl] = np.arange(len(vl))
    cpos = np.full(int(cl.max()) + 1 if cl.size else 1, -1, dtype=np.int64)
    cpos[cl] = np.arange(len(cl))
    return col_dual, row_dual, vpos, cpos


def _take(values: np.ndarray, pos: np.ndarray, labels: xr.DataArray, dims: list[str]) -> np.ndarray:
    lab = labels.transpose(*dims).values
    p = np.where(lab >= 0, pos[np.clip(lab, 0, len(pos) - 1)], -1)
    return np.where(p >= 0, values[np.clip(p, 0, None)], 0.0)


def price(built: BuiltModel, inp: PlanInputs, r: Restriction, tol: float) -> dict[str, float]:
    """Activate excluded columns that price out; returns how many of each were added.

    Marginal costs from the duals (HiGHS convention d = c - A'y, minimisation):
    - MC_z: marginal cost of serving zone z (dual of its demand row; for batch zones the daily
      row's dual times the block's hours);
    - MC_o = d_serve - y_bal: marginal cost of serving through option o, capacity included;
    - e_o = MC_o + y_cap / cap: the same without the capacity shadow price.
    An excluded arc pays when MC_z exceeds the cheapest MC_o at a built accelerator of its
    site. An accelerator type pays (composite column: build + serve + training with its
    capacity duals chosen optimally) when the value V of serving the best zone that can reach
    the site exceeds e_o by more than the server costs.
    """
    m = built.model
    col_dual, row_dual, vpos, cpos = _duals(built)
    years = inp.years
    arcs, opts = inp.arcs, inp.options
    ny, nb = len(years), len(inp.blocks)

    # marginal cost of serving each zone
    mc_z = _take(row_dual, cpos, m.constraints["demand-balance"].labels, ["zone", "year", "block"])
    if "demand-daily" in m.constraints:
        day = _take(row_dual, cpos, m.constraints["demand-daily"].labels, ["zone", "year"])
        hours = inp.blocks["hours"].to_numpy(float)
        batch = inp.zones["workload"].map(inp.workloads["kind"]).eq("batch").to_numpy()
        mc_z[batch] = day[batch][:, :, None] * hours[None, None, :]
    mc_z = np.where(inp.zone_demand > 0, mc_z, 0.0)

    # marginal cost through each option, with and without the capacity shadow price
    d_serve = _take(col_dual, vpos, m.variables["serve"].labels, ["option", "year", "block"])
    y_bal = _take(row_dual, cpos, m.constraints["site-balance"].labels, ["pair", "year", "block"])
    y_cap = _take(
        row_dual, cpos, m.constraints["server-capacity"].labels, ["fleet", "year", "block"]
    )
    cap = opts["requests_per_s_per_server"].to_numpy(float)
    f_of_o = opts["fleet"].to_numpy()
    p_of_o = opts["pair"].to_numpy()
    mc_o = d_serve - y_bal[p_of_o]
    e_o = mc_o + y_cap[f_of_o] / cap[:, None, None]

    # arcs: MC_z against the cheapest active option at a built accelerator of the pair
    installed = np.nan_to_num(built.exprs["installed"].solution.transpose("fleet", "year").values)
    built_fy = installed > 1e-9
    usable = r.options[:, None] & built_fy[f_of_o]  # (option, year)
    mc_p = np.full((len(inp.pairs), ny, nb), np.inf)
    np.minimum.at(mc_p, p_of_o, np.where(usable[:, :, None], mc_o, np.inf))
    a_zone = arcs["zone"].to_numpy()
    a_pair = arcs["pair"].to_numpy()
    gain = mc_z[a_zone] - mc_p[a_pair]
    new_arcs = (~r.arcs) & (gain.max(axis=(1, 2)) > tol)

    # composite pricing of accelerator types (fleet): value of the best zone reaching the pair
    v_pair = np.full((len(inp.pairs), ny, nb), -np.inf)
    np.maximum.at(v_pair, a_pair, mc_z[a_zone])
    margin = cap[:, None, None] * (v_pair[p_of_o] - e_o)  # value of one server via option o
    u = np.zeros_like(y_cap)
    np.minimum.at(u, f_of_o, -np.maximum(0.0, margin))
    d_build = _take(col_dual, vpos, m.variables["build"].labels, ["fleet", "vintage"])
    alive = built.coef.alive_srv  # (vintage, year)
    c_build = d_build - np.einsum("vy,fyb->fv", alive, y_cap)
    # per year, the capacity duals can sum at most to min(sum_b U, c~_train): a server-year
    # of a training campaign occupies the server in every block of that year
    s_year = u.sum(axis=2)  # (fleet, year)
    if "train" in m.variables:
        tr = inp.trainings
        d_train = _take(col_dual, vpos, m.variables["train"].labels, ["training", "year"])
        f_of_t = tr["fleet"].to_numpy()
        c_train = d_train + y_cap[f_of_t].sum(axis=2)
        ub = m.variables["train"].upper.transpose("training", "year").values
        c_train = np.where(ub > 0, c_train, np.inf)
        best_train = np.full(s_year.shape, np.inf)
        np.minimum.at(best_train, f_of_t, c_train)
        s_year = np.minimum(s_year, best_train)
    best = c_build + np.einsum("vy,fy->fv", alive, s_year)
    best = np.where(inp.build_allowed > 0, best, np.inf)
    pays = best.min(axis=1) < -tol
    new_fleet = (~r.fleet) & pays
    new_opts = (~r.options) & pays[f_of_o]
    # the arcs that make a paying accelerator type attractive
    wanted = np.zeros((len(inp.pairs), ny, nb), dtype=bool)
    good = pays[f_of_o][:, None, None] & (margin > 0)
    np.logical_or.at(wanted, p_of_o, good)
    e_min = np.full((len(inp.pairs), ny, nb), np.inf)
    np.minimum.at(e_min, p_of_o, np.where(good, e_o, np.inf))
    attract = (wanted[a_pair] & (mc_z[a_zone] > e_min[a_pair] + tol)).any(axis=(1, 2))
    new_arcs |= (~r.arcs) & attract

    r.arcs = r.arcs | new_arcs
    r.fleet = r.fleet | new_fleet
    r.options = r.options | new_opts
    return {
        "arcs": int(new_arcs.sum()),
        "fleet": int(new_fleet.sum()),
        "options": int(new_opts.sum()),
        "max_arc_gain": float(gain[~r.arcs].max(initial=0.0)),
        "min_fleet_reduced_cost": float(best[~r.fleet].min(initial=0.0)),
    }


def use_column_generation(built: BuiltModel) -> bool:
    """On for large pure LPs (or when the scenario asks); never for MIPs."""
    mode = built.inputs.scenario.solver.column_generation
    if built.integer or mode == "off":
        return False
    if mode == "on":
        return True
    return built.model.nvars > 150_000


def solve_with_pricing(
    built: BuiltModel, solve_once: Callable[[BuiltModel], Outcome]
) -> tuple[Outcome, dict[str, Any]]:
    """Column-generation loop around ``solve_once(built) -> Outcome``."""
    inp = built.inputs
    r = initial_restriction(inp, built.coef)
    apply_restriction(built, inp, r)
    stats: dict[str, Any] = {"rounds": 0, "added": []}
    t0 = time.perf_counter()
    info = solve_once(built)
    for _ in range(MAX_ROUNDS):
        stats["rounds"] += 1
        if info.status != "optimal":
            break
        tol = REL_TOL * max(1.0, abs(as_float(built.model.objective.value)))
        added = price(built, inp, r, tol)
        stats["added"].append(added)
        if added["arcs"] + added["fleet"] + added["options"] == 0:
            stats["certified"] = True
            break
        apply_restriction(built, inp, r)
        info = solve_once(built)
    else:
        stats["certified"] = False
    stats["active"] = {
        "options": f"{int(r.options.sum())}/{len(r.options)}",
        "fleet": f"{int(r.fleet.sum())}/{len(r.fleet)}",
        "arcs": f"{int(r.arcs.sum())}/{len(r.arcs)}",
    }
    stats["seconds"] = time.perf_counter() - t0
    info.solve_s = stats["seconds"]
    return info, stats
