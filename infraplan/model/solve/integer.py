"""Whole-server plans: an LP-guided integer method with a proven gap.

Branch and bound on a large model (hundreds of thousands of dispatch columns, simplex at every
node) does not finish in minutes. Instead:

1. Solve the LP relaxation of the exact model (every hour block, column generation when large,
   whole-server cuts): its optimum is a lower bound on every whole-server plan.
2. On a copy restricted to the fleets the relaxation builds and, for each zone, to the sites
   that carry at least ``ARC_SHARE`` of its peak load there (and its main site), round the
   fleets that carry most of the capital, largest first (a dive): for each, fix its builds to
   the cumulative plan rounded up, down or to nearest, whichever the restricted LP re-solved
   finds cheapest. HiGHS branch and bound then settles the remaining small fleets. The
   restriction and the dive only shape the plan; they play no part in the bound.
3. Fix its integer decisions (servers built, instances, site openings, training sites) in the
   exact model and solve the remaining LP with every site and accelerator free again: the cost
   of a feasible whole-server plan, an upper bound, and the duals of the plan's continuous part.
   With continuous servers (a relaxation that still has site or training binaries) the builds of
   step 2 are fixed too: the LP with every build free costs as much as step 1 again.
4. If the gap is above ``solver.mip_gap`` and the model is small, HiGHS branch and bound on the
   exact model, started from that plan, for the time left: its own bound can only be tighter.

The gap (upper - lower) / upper is a proven bound on how far the plan is from the best
whole-server plan of the exact model; the status is ``optimal`` when it is within
``solver.mip_gap``, ``feasible`` otherwise.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import numpy as np
import xarray as xr

from infraplan.model.build import BuiltModel
from infraplan.model.solution import Solution
from infraplan.model.solve import highs
from infraplan.model.solve.pricing import solve_with_pricing, use_column_generation
from infraplan.scenario import Solver
from infraplan.units import as_float

# integer step: keep the arcs that carry at least this share of their zone's peak load in the
# relaxation (measured on the continental instance: 0.01 -> 3.4 %, 0.05 -> 1.9 %, 0.10 -> 1.7 %,
# 0.25 -> 3.5 % proven gap; too few arcs force detours, too many leave the MIP unsolved)
ARC_SHARE = 0.03
# dive over fleets holding at least this share of the relaxation's server capital
DIVE_SHARE = 0.001
# step 4 (branch and bound on the exact model) only below this many variables
FULL_MIP_MAX_VARIABLES = 60_000
# LP solves the dive may spend (two rounding rules per batch of fleets)
DIVE_LPS = 36
# time kept for step 3 (about 10 s on the continental instance)
FINAL_RESERVE_S = 60.0


def _labels_like(var: Any, values: np.ndarray) -> xr.DataArray:
    labels = var.labels
    return xr.DataArray(values, dims=labels.dims, coords=labels.coords)


def _lp(
    built: BuiltModel, settings: Solver, time_limit_s: float | None = None
) -> tuple[highs.Outcome, dict[str, Any] | None]:
    """Solve ``built`` as it stands (an LP), with column generation when it is large."""
    if use_column_generation(built):
        return solve_with_pricing(built, lambda b: highs.solve_once(b, settings, time_limit_s))
    return highs.solve_once(built, settings, time_limit_s), None


def solve_integer_plan(built: BuiltModel, settings: Solver) -> Solution:
    """Run the four steps on ``built``; returns the plan with its proven gap."""
    t0 = time.perf_counter()
    inp = built.inputs
    m = built.model
    integer_vars = list(built.integer_vars)
    whole = "build" in integer_vars
    method = (
        "LP-guided integer plan: LP bound, integer builds on the restricted model (LP dive, "
        "then HiGHS MIP), exact dispatch LP"
        if whole
        else "LP bound, site and training decisions on the restricted model (HiGHS MIP), "
        "dispatch LP with those decisions and their builds fixed"
    )

    # 1. LP relaxation of the exact model
    for name in integer_vars:
        m.variables[name].relax()
    built.integer_vars = []
    lp, stats = _lp(built, settings)
    if lp.status != "optimal":
        return highs.extract(built, lp, integer=whole, duals_from="none")
    lower = as_float(m.objective.value)
    lp_build = np.nan_to_num(m.variables["build"].solution.transpose("fleet", "vintage").values)
    t_lp = time.perf_counter() - t0

    # 2. the integer problem on a fresh copy restricted to the fleets the relaxation builds
    # and, for each zone, the sites that carry a noticeable share of its load there
    cbuilt = built.rebuild(integer=whole)
    cm = cbuilt.model
    used = lp_build.sum(axis=1) > 1e-6
    allowed = np.where(inp.build_allowed > 0, np.inf, 0.0)
    cm.variables["build"].update(
        upper=_labels_like(cm.variables["build"], np.where(used[:, None], allowed, 0.0))
    )
    flow = np.nan_to_num(m.variables["flow"].solution.transpose("arc", "year", "block").values)
    arc_zone = inp.arcs["zone"].to_numpy(dtype=np.int64)  # int even with no arc at all
    arc_peak = flow.max(axis=(1, 2)) if flow.size else np.zeros(len(arc_zone))
    keep = arc_peak > ARC_SHARE * np.maximum(inp.zone_demand.max(axis=(1, 2))[arc_zone], 1e-12)
    zone_best = np.full(len(inp.zones), -np.inf)
    np.maximum.at(zone_best, arc_zone, arc_peak)
    keep |= arc_peak >= zone_best[arc_zone]  # every zone keeps its main site
    ny, nb = len(inp.years), len(inp.blocks)
    flow_ub = np.where(keep, np.inf, 0.0)[:, None, None] * np.ones((1, ny, nb))
    cm.variables["flow"].update(upper=_labels_like(cm.variables["flow"], flow_ub))
    budget = max(30.0, float(settings.time_limit_s) - (time.perf_counter() - t0) - FINAL_RESERVE_S)
    dive: dict[str, float] = {}
    values, mip_status, sub_gap = _dive_and_branch(cbuilt, lp_build, budget, settings, dive)
    if values is None:
        out = highs.Outcome(
            "time_limit",
            f"restricted integer problem: {mip_status}",
            time.perf_counter() - t0,
            method,
        )
        return highs.extract(built, out, integer=whole, duals_from="none")
    t_int = time.perf_counter() - t0 - t_lp

    # 3. fix the integer decisions in the exact model and solve the rest
    built.integer_vars = integer_vars
    t3 = time.perf_counter()
    upper, final = _fixed_lp(built, values, settings)
    t_final = time.perf_counter() - t3
    if upper is None:
        built.integer_vars = []
        return highs.extract(built, final, integer=whole, duals_from="none")
    gap = max(0.0, (upper - lower) / abs(upper)) if upper else 0.0

    # 4. branch and bound on the exact model from that plan, when small and not yet close
    full_bound = None
    left = float(settings.time_limit_s) - (time.perf_counter() - t0)
    if gap > settings.mip_gap + 1e-9 and m.nvars <= FULL_MIP_MAX_VARIABLES and left > 5:
        better = _full_mip(built, values, settings, left)
        if better is not None:
            values, mip_obj, full_bound = better
            if mip_obj < upper - 1e-9:
                upper2, final2 = _fixed_lp(built, values, settings)
                if upper2 is not None:
                    upper, final = upper2, final2
            lower = max(lower, full_bound)
            gap = max(0.0, (upper - lower) / abs(upper)) if upper else 0.0
    status = "optimal" if gap <= settings.mip_gap + 1e-9 else "feasible"
    final.status = status
    final.termination = f"whole-server plan within {100 * gap:.2f} % of the best possible (proven)"
    final.solve_s = time.perf_counter() - t0
    final.method = method + (" + branch and bound on the exact model" if full_bound else "")
    final.mip_gap = gap
    final.stats = {
        "column_generation": stats,
        "lower_bound_musd": lower,
        "upper_bound_musd": upper,
        "integer_subproblem": mip_status,
        "integer_subproblem_gap": sub_gap,
        "lp_s": t_lp,
        "integer_s": t_int,
        **{f"integer_{k}": v for k, v in dive.items()},
        "final_lp_s": t_final,
    }
    # the final model is the LP with integer decisions fixed: keep its duals
    built.integer_vars = []
    sol = highs.extract(built, final, integer=whole, duals_from="lp-fixed-integers")
    built.integer_vars = integer_vars
    sol.bound_usd = lower * 1e6
    return sol


def _fixed_lp(
    built: BuiltModel, values: dict[str, np.ndarray], settings: Solver
) -> tuple[float | None, highs.Outcome]:
    """Fix the integer decisions at ``values``, free every site and accelerator again, solve the
    LP that remains; returns (objective in million USD or None, outcome)."""
    inp = built.inputs
    m = built.model
    highs.fix_integers(built, values)
    if "build" in values and "build" not in built.integer_vars:
        # continuous servers: fix the builds of the restricted problem as well. The LP with
        # every build free again costs as much as the relaxation itself (a minute on a
        # continental model); with builds fixed it takes seconds, and the gap stays proven
        m.variables["build"].fix(_labels_like(m.variables["build"], values["build"]))
    ny, nb = len(inp.years), len(inp.blocks)
    if "build" in values:
        built_servers = values["build"].sum(axis=1) > 0
        serve_ub = np.where(built_servers[inp.options["fleet"].to_numpy()], np.inf, 0.0)
        m.variables["serve"].update(
            upper=_labels_like(m.variables["serve"], serve_ub[:, None, None] * np.ones((1, ny, nb)))
        )
    else:  # builds left free: undo any column-generation restriction
        allowed = np.where(inp.build_allowed > 0, np.inf, 0.0)
        m.variables["build"].update(upper=_labels_like(m.variables["build"], allowed))
        m.variables["serve"].update(
            upper=_labels_like(m.variables["serve"], np.full((len(inp.options), ny, nb), np.inf))
        )
    m.variables["flow"].update(
        upper=_labels_like(m.variables["flow"], np.full((len(inp.arcs), ny, nb), np.inf))
    )
    integer_vars = built.integer_vars
    built.integer_vars = []
    if "build" in values:
        # the servers are fixed, so only built fleets can serve: the restricted columns of column
        # generation would change nothing here but cost its pricing rounds
        final = highs.solve_once(built, settings)
    else:
        final, _ = _lp(built, settings)
    built.integer_vars = integer_vars
    if final.status != "optimal" or m.objective.value is None:
        return None, final
    return float(m.objective.value), final


def _full_mip(
    built: BuiltModel, start: dict[str, np.ndarray], settings: Solver, time_s: float
) -> tuple[dict[str, np.ndarray], float, float] | None:
    """Branch and bound on the exact model from the plan ``start``; (values, objective, dual
    bound), both in million USD, or None when it finds nothing."""

    fresh = built.rebuild()
    cm = fresh.model
    h = cm.to_highspy()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    h.setOptionValue("time_limit", max(time_s, 1.0))
    h.setOptionValue("mip_rel_gap", float(settings.mip_gap))
    vlabels = np.asarray(cm.matrices.vlabels)
    # start: the integer decisions; HiGHS completes the continuous part
    cols, vals = [], []
    for name, v in start.items():
        if name not in cm.variables:
            continue
        lab = np.asarray(cm.variables[name].labels.values)
        pos, ok = highs._positions(lab, vlabels)
        cols.append(pos[ok])
        vals.append(np.asarray(v)[ok])
    if cols:
        x = np.full(len(vlabels), np.nan)
        x[np.concatenate(cols)] = np.concatenate(vals)
        idx = np.flatnonzero(~np.isnan(x)).astype(np.int32)
        # an older highspy without sparse starts: solve without a start
        with contextlib.suppress(Exception):
            h.setSolution(len(idx), idx, x[idx])
    h.run()
    info = h.getInfo()
    if not h.getSolution().value_valid:
        return None
    xs = np.asarray(h.getSolution().col_value)
    values = {}
    for name in fresh.integer_vars:
        lab = np.asarray(cm.variables[name].labels.values)
        pos, ok = highs._positions(lab, vlabels)
        values[name] = np.where(ok, np.rint(xs[pos]), 0.0)
    return values, float(info.objective_function_value), float(info.mip_dual_bound)


def _dive_and_branch(
    cbuilt: BuiltModel,
    lp_build: np.ndarray,
    budget_s: float,
    settings: Solver,
    stats: dict[str, float],
) -> tuple[dict[str, np.ndarray] | None, str, float | None]:
    """Integer values for the restricted model ``cbuilt``: an LP dive over the big fleets, then
    HiGHS branch and bound on the rest. Returns (values per integer variable, status, gap)."""
    import highspy

    t0 = time.perf_counter()
    cm = cbuilt.model
    h = cm.to_highspy()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    vlabels = np.asarray(cm.matrices.vlabels)
    int_cols = np.flatnonzero(np.asarray(cm.matrices.vtypes) != "C").astype(np.int32)
    lab = cm.variables["build"].labels.transpose("fleet", "vintage").values
    pos, ok = highs._positions(lab, vlabels)
    cost = np.asarray(cm.matrices.c)
    col_lower, col_upper = np.asarray(cm.matrices.lb), np.asarray(cm.matrices.ub)
    unit = np.where(ok, cost[pos], 0.0)  # present cost of one server (objective units)
    whole = "build" in cbuilt.integer_vars

    def lp() -> tuple[float, np.ndarray | None]:
        h.clearSolver()  # from scratch with presolve: faster here than a warm dual simplex
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return np.inf, None
        return h.getInfo().objective_function_value, np.asarray(h.getSolution().col_value)

    if len(int_cols):
        h.changeColsIntegrality(len(int_cols), int_cols, np.zeros(len(int_cols), dtype=np.uint8))
    h.setOptionValue("solver", "simplex")
    h.setOptionValue("time_limit", max(budget_s, 1.0))
    _, x = lp()
    capital = (lp_build * unit).sum(axis=1)
    order = np.argsort(-capital)
    order = order[capital[order] >= DIVE_SHARE * max(capital.sum(), 1e-12)] if whole else order[:0]
    # round the big fleets in batches (largest capital first), one LP per rounding rule and
    # batch: per-fleet dives cost up to three LPs per fleet (minutes on a continental model)
    n_batches = max(1, min(len(order), DIVE_LPS // 2))
    lps = 0
    for batch in np.array_split(order, n_batches) if len(order) else []:
        if x is None or time.perf_counter() - t0 > 0.6 * budget_s:
            break
        cols_list, options = [], []
        for f in batch:
            cols_list.append(pos[f][ok[f]].astype(np.int32))
            cum = np.cumsum(np.where(ok[f], x[pos[f]], 0.0))
            options.append(
                [
                    np.diff(np.concatenate([[0.0], np.maximum.accumulate(r)]))[ok[f]]
                    for r in (np.rint(cum), np.ceil(cum - 1e-6))
                ]
            )
        cols = np.concatenate(cols_list)
        best: tuple[float, np.ndarray, np.ndarray] | None = None
        for rule in range(2):
            builds = np.concatenate([o[rule] for o in options])
            if rule and best is not None and np.array_equal(builds, best[1]):
                continue
            if np.allclose(builds, x[cols], atol=1e-6):  # already whole: the LP stays optimal
                best = (-np.inf, builds, x)
                break
            h.changeColsBounds(len(cols), cols, builds, builds)
            obj, xx = lp()
            lps += 1
            if xx is not None and (best is None or obj < best[0]):
                best = (obj, builds, xx)
        if best is None:  # no rounding of this batch keeps the LP feasible: leave it as it was
            h.changeColsBounds(len(cols), cols, col_lower[cols], col_upper[cols])
            continue
        h.changeColsBounds(len(cols), cols, best[1], best[1])
        x = best[2]
    stats.update(dive_s=time.perf_counter() - t0, dive_lps=lps, dive_fleets=len(order))

    if len(int_cols):
        h.changeColsIntegrality(len(int_cols), int_cols, np.ones(len(int_cols), dtype=np.uint8))
    h.setOptionValue("solver", "choose")
    h.setOptionValue("mip_rel_gap", max(settings.mip_gap / 10, 1e-4))
    h.setOptionValue("time_limit", max(budget_s - (time.perf_counter() - t0), 10.0))
    h.clearSolver()
    t_mip = time.perf_counter()
    h.run()
    stats["branch_s"] = time.perf_counter() - t_mip
    status = h.modelStatusToString(h.getModelStatus())
    sol = np.asarray(h.getSolution().col_value)
    if not h.getSolution().value_valid or len(sol) != len(vlabels):
        return None, status, None
    values = {}
    for name in cbuilt.integer_vars:
        var_labels = np.asarray(cm.variables[name].labels.values)
        p, o = highs._positions(var_labels, vlabels)
        values[name] = np.where(o, np.rint(sol[p]), 0.0)
    if not whole:  # continuous servers: keep the builds too (step 3 fixes them)
        var_labels = np.asarray(cm.variables["build"].labels.values)
        p, o = highs._positions(var_labels, vlabels)
        values["build"] = np.where(o, np.maximum(sol[p], 0.0), 0.0)
    return values, status, float(h.getInfo().mip_gap)
