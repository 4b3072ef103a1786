"""Solve a built model: an LP, column generation for large LPs, or the whole-server method.

``solve(built)`` returns a plain ``Solution`` (``infraplan.model.solution``); nothing after this
stage needs linopy or HiGHS.
"""

from __future__ import annotations

import time

from infraplan.model.build import BuiltModel
from infraplan.model.costs import constant_usd
from infraplan.model.solution import Solution
from infraplan.model.solve import highs
from infraplan.model.solve.integer import solve_integer_plan
from infraplan.model.solve.pricing import solve_with_pricing, use_column_generation
from infraplan.scenario import Solver

# Models with binaries but continuous servers (a one-site training campaign, a site opening
# cost) above this size go through the LP-guided integer method instead of branch and bound.
LARGE_MIP_VARIABLES = 150_000

__all__ = ["Solution", "solve"]


def solve(built: BuiltModel, settings: Solver | None = None) -> Solution:
    """Solve ``built`` with HiGHS; infeasibility is reported in ``Solution.status``.

    The optimum reported includes the plan's constant costs (``costs.constant_usd``)."""
    sol = _solve(built, settings)
    const = constant_usd(built.coef)
    if sol.objective_usd is not None:
        sol.objective_usd += const
    if sol.bound_usd is not None:
        sol.bound_usd += const
    return sol


def _solve(built: BuiltModel, settings: Solver | None = None) -> Solution:
    settings = settings or built.inputs.scenario.solver
    whole = "build" in built.integer_vars
    t0 = time.perf_counter()
    if built.integer and (whole or built.model.nvars > LARGE_MIP_VARIABLES):
        sol = solve_integer_plan(built, settings)
    elif built.integer:  # small model, continuous servers, a few binaries: branch and bound
        out = highs.solve_once(built, settings)
        if built.model.objective.value is None:
            return highs.extract(built, out, integer=False, duals_from="none")
        gap = out.mip_gap
        highs.fix_integers(built)
        integer_vars, built.integer_vars = built.integer_vars, []
        fixed = highs.solve_once(built, settings)
        fixed.status, fixed.termination, fixed.method = out.status, out.termination, out.method
        fixed.mip_gap, fixed.solve_s = gap, out.solve_s
        fixed.stats["dual_lp_s"] = time.perf_counter() - t0 - out.solve_s
        sol = highs.extract(built, fixed, integer=False, duals_from="lp-fixed-integers")
        built.integer_vars = integer_vars
    elif use_column_generation(built):
        out, stats = solve_with_pricing(built, lambda b: highs.solve_once(b, settings))
        out.method += f" + column generation ({stats['rounds']} rounds)"
        out.stats["column_generation"] = stats
        sol = highs.extract(built, out, integer=False, duals_from="lp")
    else:
        out = highs.solve_once(built, settings)
        sol = highs.extract(built, out, integer=False, duals_from="lp")
    sol.stats["solve_s"] = time.perf_counter() - t0
    return sol
