"""One HiGHS solve of a built model, and the plain ``Solution`` read back from it.

This is the only module (with ``pricing`` and ``integer``) that touches linopy's solver
interface and HiGHS. HiGHS is silenced by its own options (``output_flag``, ``log_to_console``)
on each solver object; nothing process-wide is changed, so plans can be solved in threads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from infraplan.model.build import BuiltModel
from infraplan.model.solution import Solution
from infraplan.scenario import Solver
from infraplan.units import OBJ_SCALE

# Above this many variables an LP goes to interior point without crossover (much faster on
# these sparse transport-like models; docs/planning.md has the measurements).
IPM_THRESHOLD = 200_000
# Ranging (how far each dual holds) needs a simplex basis; above this many rows it is skipped
# to keep the analysis fast (explanations then state marginal rates without a range).
RANGING_MAX_ROWS = 400_000


@dataclass
class Outcome:
    """What one solve returned, before values are read."""

    status: str  # optimal, infeasible, time_limit, error
    termination: str
    solve_s: float
    method: str
    mip_gap: float | None = None
    stats: dict[str, Any] = field(default_factory=dict)


def highs_options(
    settings: Solver,
    n_variables: int,
    has_integers: bool = False,
    time_limit_s: float | None = None,
) -> tuple[dict[str, Any], str]:
    """HiGHS options for the scenario's solver settings; returns (options, method label)."""
    opts: dict[str, Any] = {
        "time_limit": float(time_limit_s if time_limit_s is not None else settings.time_limit_s),
        "output_flag": False,
        "log_to_console": False,
    }
    method = settings.method
    if has_integers:
        opts["mip_rel_gap"] = float(settings.mip_gap)
        return opts, "branch-and-bound (HiGHS MIP)"
    if method == "auto":
        method = "ipm" if n_variables > IPM_THRESHOLD else "simplex"
    if method == "ipm":
        opts["solver"] = "ipm"
        opts["run_crossover"] = "off"
        return opts, "interior point without crossover (HiGHS IPX)"
    opts["solver"] = "simplex"
    return opts, "dual simplex (HiGHS)"


def solve_once(built: BuiltModel, settings: Solver, time_limit_s: float | None = None) -> Outcome:
    """One HiGHS solve of the model as it stands (LP or MIP, as its variables are)."""
    m = built.model
    opts, method = highs_options(settings, m.nvars, built.integer, time_limit_s)
    t0 = time.perf_counter()
    try:
        status, condition = m.solve(solver_name="highs", io_api="direct", progress=False, **opts)
    except Exception as exc:  # solver crash: report, do not traceback the user
        return Outcome("error", f"solver error: {exc}", time.perf_counter() - t0, method)
    dt = time.perf_counter() - t0
    condition = str(condition)
    if status == "ok" and condition == "optimal":
        label = "optimal"
    elif "infeasible" in condition:
        label = "infeasible"
    elif "time" in condition or "limit" in condition:
        label = "time_limit"
    else:
        label = "error"
    gap = None
    if built.integer:
        try:
            gap = float(m.solver_model.getInfo().mip_gap)
        except Exception:
            gap = None
    return Outcome(label, condition, dt, method, gap)


def fix_integers(built: BuiltModel, values: dict[str, np.ndarray] | None = None) -> None:
    """Fix the integer variables (at ``values``, or at their solution) and make them
    continuous: the LP that remains prices the continuous part of an integer plan."""
    m = built.model
    for name in built.integer_vars:
        var = m.variables[name]
        if values is not None and name in values:
            var.fix(_like(var, values[name]))
        else:
            var.fix()
        var.relax()


def _like(var: Any, values: np.ndarray) -> Any:
    import xarray as xr

    labels = var.labels
    return xr.DataArray(values, dims=labels.dims, coords=labels.coords)


def _positions(labels: np.ndarray, ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position in the solver of each linopy label (and whether it is there)."""
    if not len(ordered):
        return np.zeros(labels.shape, dtype=np.int64), np.zeros(labels.shape, dtype=bool)
    lookup = np.full(int(ordered.max()) + 1, -1, dtype=np.int64)
    lookup[ordered] = np.arange(len(ordered))
    safe = np.clip(labels, 0, len(lookup) - 1)
    pos = np.where(labels >= 0, lookup[safe], -1)
    return np.clip(pos, 0, None), pos >= 0


def _primal_feasible(m: Any) -> bool:
    """Whether HiGHS holds a feasible primal solution (after a time limit, often it does not)."""
    try:
        return int(m.solver_model.getInfo().primal_solution_status) == 2
    except Exception:
        return False


def extract(
    built: BuiltModel,
    outcome: Outcome,
    *,
    integer: bool,
    duals_from: str,
    ranging: bool = True,
) -> Solution:
    """Read primal values, duals, reduced costs and (with a simplex basis) ranges."""
    m = built.model
    sol = Solution(
        status=outcome.status,
        termination=outcome.termination,
        method=outcome.method,
        integer=integer,
        mip_gap=outcome.mip_gap,
        stats={
            "n_variables": int(m.nvars),
            "n_constraints": int(m.ncons),
            "solve_s": outcome.solve_s,
            **outcome.stats,
        },
    )
    if m.objective.value is None or outcome.status in ("infeasible", "error"):
        return sol
    if outcome.status == "time_limit" and not _primal_feasible(m):
        # stopped before any feasible plan: values exist but are not a plan (no "100 % served
        # at 0 USD" from an unfinished solve)
        sol.termination = f"{outcome.termination}: the time limit passed before any feasible plan"
        return sol
    sol.objective_usd = float(m.objective.value) * OBJ_SCALE
    for name in m.variables:
        var = m.variables[name]
        dims = tuple(str(d) for d in var.labels.dims)
        sol.dims[name] = dims
        sol.primal[name] = np.nan_to_num(np.asarray(var.solution.values, dtype=float))
    extra = {
        name: np.nan_to_num(np.asarray(expr.solution.values, dtype=float)) * OBJ_SCALE
        for name, expr in built.costs.items()
    }
    sol.stats["costs_by_year_usd"] = {k: v.tolist() for k, v in extra.items()}
    if duals_from == "none":
        return sol
    t0 = time.perf_counter()
    try:
        h = m.solver_model
        hs = h.getSolution()
        mat = m.matrices
        vlabels = np.asarray(mat.vlabels)
        clabels = np.asarray(mat.clabels)
        col_dual = np.asarray(hs.col_dual, dtype=float)
        row_dual = np.asarray(hs.row_dual, dtype=float)
    except Exception:
        return sol
    if not len(row_dual):
        return sol
    sol.duals_from = duals_from
    for name in m.constraints:
        labels = np.asarray(m.constraints[name].labels.values)
        pos, ok = _positions(labels, clabels)
        sol.duals[name] = np.where(ok, row_dual[pos], 0.0) * OBJ_SCALE
        sol.dims[f"constraint:{name}"] = tuple(str(d) for d in m.constraints[name].labels.dims)
    for name in m.variables:
        labels = np.asarray(m.variables[name].labels.values)
        pos, ok = _positions(labels, vlabels)
        sol.reduced_costs[name] = np.where(ok, col_dual[pos], 0.0) * OBJ_SCALE
    basis_ok = False
    try:
        basis_ok = bool(h.getInfo().basis_validity == 1)
    except Exception:
        basis_ok = False
    if ranging and basis_ok and len(clabels) <= RANGING_MAX_ROWS:
        try:
            status, rng = h.getRanging()
            if int(status) == 0:
                up = np.asarray(rng.row_bound_up.value_, dtype=float)
                dn = np.asarray(rng.row_bound_dn.value_, dtype=float)
                for name in m.constraints:
                    labels = np.asarray(m.constraints[name].labels.values)
                    pos, ok = _positions(labels, clabels)
                    sol.ranging[name] = {
                        "up": np.where(ok, up[pos], np.nan),
                        "down": np.where(ok, dn[pos], np.nan),
                    }
                cup = np.asarray(rng.col_bound_up.value_, dtype=float)
                cdn = np.asarray(rng.col_bound_dn.value_, dtype=float)
                for name in ("build",):
                    if name in m.variables:
                        labels = np.asarray(m.variables[name].labels.values)
                        pos, ok = _positions(labels, vlabels)
                        sol.ranging[name] = {
                            "up": np.where(ok, cup[pos], np.nan),
                            "down": np.where(ok, cdn[pos], np.nan),
                        }
        except Exception:  # ranging is a nicety; the duals stand without it
            sol.ranging = {}
    sol.stats["dual_s"] = time.perf_counter() - t0
    return sol
