"""Planning: scenario -> input tables -> linopy model -> HiGHS -> results.

The three steps are separate so that users can inspect or extend the model between them::

    inp = build_inputs(scenario)
    built = build_model(inp)          # built.model is a linopy.Model
    info = solve_model(built, scenario.solver)
    results = extract(inp, built, info, timings)

``plan`` runs them in order and times each step.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from infraplan.optimize.inputs import PlanInputs, build_inputs
from infraplan.optimize.model import BuiltModel, build_model
from infraplan.optimize.solve import SolveInfo, solve_model

__all__ = [
    "BuiltModel",
    "PlanInputs",
    "SolveInfo",
    "build_inputs",
    "build_model",
    "plan",
    "solve_model",
]


def plan(
    scenario: object,
    source: str | None = None,
    on_step: Callable[[str], None] | None = None,
) -> object:
    """Run the whole pipeline on a validated ``Scenario`` and return ``Results``."""
    from infraplan.results import empty_results, extract

    step = on_step or (lambda _s: None)
    t0 = time.perf_counter()
    step("demand, performance and network inputs")
    inp = build_inputs(scenario)  # type: ignore[arg-type]
    t1 = time.perf_counter()
    step("building the optimisation model")
    built = build_model(inp)
    t2 = time.perf_counter()
    step("solving with HiGHS")
    info = solve_model(built, scenario.solver, inp)  # type: ignore[attr-defined]
    t3 = time.perf_counter()
    timings = {
        "inputs_s": t1 - t0,
        "build_s": t2 - t1,
        "solve_s": info.solve_s,
        "n_variables": int(built.model.nvars),
        "n_constraints": int(built.model.ncons),
        "solver": "highs",
        "method": info.method,
        "mip_gap": info.mip_gap,
        "duals": info.duals,
        "dual_s": info.dual_s,
        "column_generation": info.pricing,
    }
    if info.status not in ("optimal",) and built.model.objective.value is None:
        return empty_results(inp, info, timings, source)
    step("extracting results")
    res = extract(inp, built, info, timings, source)
    step("explaining the plan")
    from infraplan.baseline import naive_baseline, saving_metrics
    from infraplan.explain import explain

    res.tables["explanations"] = explain(inp, built, res)
    res.baseline = naive_baseline(inp)
    res.metrics.update(
        saving_metrics(res.objective_usd, res.baseline, res.metrics.get("total_cost_usd"))
    )
    res.solve["extract_s"] = time.perf_counter() - t3
    return res
