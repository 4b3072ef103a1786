"""The planning model: input tables, cost coefficients, constraint families, solve.

    inp = build_inputs(scenario)        # component tables (no solver)
    built = build_model(inp)            # linopy model from the constraint families
    sol = solve.solve(built)            # plain Solution: primal values, duals, ranges

``infraplan.model.solve`` is the solve subpackage (not re-exported as a function here, so that
``infraplan.model.solve`` always names the same thing).
"""

from __future__ import annotations

from infraplan.model.build import BuiltModel, build_model
from infraplan.model.inputs import PlanInputs, build_inputs
from infraplan.model.solution import Solution

__all__ = ["BuiltModel", "PlanInputs", "Solution", "build_inputs", "build_model"]
