"""Solve a built model with HiGHS and report the outcome in plain words."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

from infraplan.optimize.model import BuiltModel
from infraplan.scenario import Solver

# Above this many variables an LP goes to interior point without crossover (much faster on
# these sparse transport-like models; see docs/design.md for measurements).
IPM_THRESHOLD = 200_000


@dataclass
class SolveInfo:
    status: str  # optimal, feasible (plan, gap above target), infeasible, time_limit, error
    termination: str
    solve_s: float
    method: str
    mip_gap: float | None
    duals: str = "none"  # where shadow prices come from: lp, lp-fixed-integers, none
    dual_s: float = 0.0
    pricing: dict | None = None  # column-generation statistics when used


def highs_options(
    settings: Solver, n_variables: int, has_integers: bool = False
) -> tuple[dict[str, object], str]:
    """HiGHS options for the scenario's solver settings; returns (options, method label)."""
    opts: dict[str, object] = {
        "time_limit": float(settings.time_limit_s),
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


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Silence C-level output (the HiGHS banner) on file descriptor 1 while solving."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # e.g. captured by pytest
        yield
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), fd)
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, fd)
        os.close(saved)


def solve_model(built: BuiltModel, settings: Solver, inp: object | None = None) -> SolveInfo:
    """Solve with HiGHS (column generation for large LPs); reports infeasibility in ``status``."""
    from infraplan.optimize.integer import solve_integer_plan, use_lp_guided
    from infraplan.optimize.pricing import solve_with_pricing, use_column_generation

    if inp is not None and use_lp_guided(built, settings):
        return solve_integer_plan(built, inp, settings)  # type: ignore[arg-type, return-value]
    if inp is not None and use_column_generation(inp, built):  # type: ignore[arg-type]
        t0 = time.perf_counter()
        info, stats = solve_with_pricing(built, inp, lambda b: _solve_once(b, settings))  # type: ignore[arg-type]
        info.solve_s = time.perf_counter() - t0  # type: ignore[attr-defined]
        info.method += f" + column generation ({stats['rounds']} rounds)"  # type: ignore[attr-defined]
        info.pricing = stats  # type: ignore[attr-defined]
        return info  # type: ignore[return-value]
    return _solve_once(built, settings)


def _solve_once(built: BuiltModel, settings: Solver) -> SolveInfo:
    """One HiGHS solve of the model as it stands."""
    m = built.model
    opts, method = highs_options(settings, m.nvars, bool(built.integer_vars))
    t0 = time.perf_counter()
    logging.getLogger("linopy").setLevel(logging.WARNING)
    try:
        with quiet_stdout():
            status, condition = m.solve(
                solver_name="highs", io_api="direct", progress=False, **opts
            )
    except Exception as exc:  # solver crash: report, do not traceback the user
        return SolveInfo("error", f"solver error: {exc}", time.perf_counter() - t0, method, None)
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
    duals = "lp" if label == "optimal" else "none"
    dual_s = 0.0
    if built.integer_vars:
        try:
            gap = float(m.solver_model.getInfo().mip_gap)
        except Exception:
            gap = None
        if m.objective.value is not None:
            t1 = time.perf_counter()
            duals = lp_duals_with_integers_fixed(built, settings)
            dual_s = time.perf_counter() - t1
    return SolveInfo(label, condition, dt, method, gap, duals, dual_s)


def lp_duals_with_integers_fixed(built: BuiltModel, settings: Solver) -> str:
    """Shadow prices of a MIP plan: fix the integer variables at their values, relax them and
    re-solve the LP. The primal solution is unchanged; duals then price the continuous part."""
    m = built.model
    for name in built.integer_vars:
        m.variables[name].fix()
        m.variables[name].relax()
    opts, _ = highs_options(settings, m.nvars, has_integers=False)
    try:
        with quiet_stdout():
            status, _ = m.solve(solver_name="highs", io_api="direct", progress=False, **opts)
    except Exception:
        return "none"
    return "lp-fixed-integers" if status == "ok" else "none"
