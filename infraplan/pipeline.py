"""The planning pipeline: named steps from a scenario to results, each timed.

    inputs -> build -> solve -> analyse -> explain -> baseline -> bands -> rules

``run(scenario)`` runs the steps and returns a typed ``Run``; ``plan(scenario)`` returns its
``Results``. Studies and coalition games that only need the optimum use ``SOLVE_ONLY`` and pay
for no tables, explanations or baseline. ``reanalyse(scenario, solution)`` computes results from
a stored solution without solving again. ``bands`` re-solves (solve-only) with the capacities at
the other points of the performance model's error band and records the plan's cost there.
``rules`` re-solves (solve-only, in parallel processes) without each rule of the scenario's rule
packs that changed the plan's inputs: the cost of a rule is the plan with it minus the plan
without it.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from infraplan.analysis.baseline import naive_baseline
from infraplan.analysis.explain import explain
from infraplan.analysis.metrics import saving_metrics
from infraplan.analysis.results import Results, analyse, empty_results
from infraplan.model.build import BuiltModel, Extra, build_model
from infraplan.model.costs import CostCoefficients, coefficients
from infraplan.model.inputs import PlanInputs, build_inputs
from infraplan.model.solution import Solution
from infraplan.model.solve import solve
from infraplan.perf.efficiency import Efficiency
from infraplan.policy.compile import Governance, compile_policy
from infraplan.scenario import Scenario

STEPS = ("inputs", "build", "solve", "analyse", "explain", "baseline", "bands", "rules")
SOLVE_ONLY = ("inputs", "build", "solve")
STEP_WORDS = {
    "inputs": "demand, performance and network inputs",
    "build": "building the optimisation model",
    "solve": "solving with HiGHS",
    "analyse": "reading the plan",
    "explain": "explaining the plan",
    "baseline": "pricing the naive baseline",
    "bands": "re-solving at the ends of the capacity band",
    "rules": "re-solving without each binding rule",
}
BAND_POINTS = ("p10", "p50", "p90")
PR_SET_PDEATHSIG = 1  # prctl option: the signal a process gets when its parent dies (Linux)

__all__ = ["SOLVE_ONLY", "STEPS", "Run", "plan", "reanalyse", "run"]


@dataclass
class Run:
    """What the steps produced (a step not run leaves its field None)."""

    scenario: Scenario
    inputs: PlanInputs | None = None
    coef: CostCoefficients | None = None
    built: BuiltModel | None = None
    solution: Solution | None = None
    results: Results | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def objective_usd(self) -> float | None:
        """The optimum (present value USD), or None without a plan."""
        return self.solution.objective_usd if self.solution is not None else None


def run(
    scenario: Scenario,
    *,
    steps: Sequence[str] = STEPS,
    on_step: Callable[[str], None] | None = None,
    efficiency: Efficiency | None = None,
    extras: Sequence[Extra] = (),
    source: str | None = None,
    keep_model: bool = False,
    governance: Governance | None = None,
    workers: int | None = None,
) -> Run:
    """Run ``steps`` (in pipeline order) on a validated scenario.

    ``extras`` are user constraint functions (see ``infraplan.model.build``); ``keep_model``
    keeps the linopy model on the run (it is dropped after the solve to free memory);
    ``governance`` is the scenario's compiled rule packs (default: compiled from the scenario);
    ``workers`` caps the processes of the rule re-solves (default: the CPU count; 1 solves them
    here, one after another).
    """
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        msg = f"unknown pipeline steps {unknown}; allowed: {', '.join(STEPS)}"
        raise ValueError(msg)
    tell = on_step or (lambda _s: None)
    out = Run(scenario=scenario)

    def timed(name: str) -> float:
        tell(STEP_WORDS[name])
        return time.perf_counter()

    t = timed("inputs")
    out.inputs = build_inputs(scenario, efficiency, governance)
    out.coef = coefficients(out.inputs)
    out.timings["inputs_s"] = time.perf_counter() - t
    if "build" not in steps:
        return out
    t = timed("build")
    out.built = build_model(out.inputs, extras, coef=out.coef)
    out.timings["build_s"] = time.perf_counter() - t
    if "solve" not in steps:
        return out
    t = timed("solve")
    out.solution = solve(out.built)
    out.timings["solve_s"] = time.perf_counter() - t
    if not keep_model:
        out.built = None
    rest = [s for s in steps if s in ("analyse", "explain", "baseline")]
    if rest:
        out.results = _analysis(out.inputs, out.coef, out.solution, rest, out.timings, source, tell)
    if ("bands" in steps and out.results is not None and out.results.has_plan
            and scenario.serving.band_costs):
        t = timed("bands")
        out.results.capacity_band = band_costs(scenario, out.results, efficiency, extras)
        out.results.solve["bands_s"] = time.perf_counter() - t
    if ("rules" in steps and out.results is not None and out.results.has_plan
            and out.inputs.governance is not None and out.inputs.governance.effective):
        t = timed("rules")
        out.results.governance["rule_costs"] = rule_costs(
            scenario, out.results, out.inputs.governance, efficiency, extras, workers)
        out.results.solve["rules_s"] = time.perf_counter() - t
    return out


def _quiet_worker() -> None:
    """Set up a rule re-solve process: it prints nothing into the user's terminal (its errors
    reach the parent as exceptions), ignores Ctrl-C (the parent handles it) and, on Linux, dies
    with the parent, so that a killed run leaves no solver process holding the terminal."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)


def _objective_without(job: tuple[Scenario, str | None, Efficiency | None,
                                  Sequence[Extra]]) -> tuple[float | None, str]:
    """Solve-only optimum of ``scenario`` with rule ``rule`` left out (None: all rules)."""
    scenario, rule, efficiency, extras = job
    gov = compile_policy(scenario, disabled=() if rule is None else (rule,))
    sub = run(scenario, steps=SOLVE_ONLY, efficiency=efficiency, extras=extras, governance=gov)
    status = sub.solution.status if sub.solution is not None else "not solved"
    return sub.objective_usd, status


def rule_costs(
    scenario: Scenario,
    results: Results,
    governance: Governance,
    efficiency: Efficiency | None,
    extras: Sequence[Extra] = (),
    workers: int | None = None,
) -> list[dict[str, Any]]:
    """The cost of each rule that changed the plan's inputs: this plan minus the plan without
    the rule. Constraint rules (residency, caps, site limits) cost >= 0; a prohibition or a
    lead time removes demand, so the plan without it serves more and its cost is usually < 0
    (the service forgone is then what the rule costs).

    Whole-server plans are not solved again as MIPs: both sides are continuous relaxations
    (their difference is applied), as for the capacity band. The re-solves run in parallel
    processes (one per rule, at most the CPU count); with user extras (functions that may not
    pickle) they run here, one after another.
    """
    relax = scenario.solver.integer_servers
    base = (scenario.model_copy(update={"solver": scenario.solver.model_copy(
        update={"integer_servers": False})}) if relax else scenario)
    rules = list(governance.effective)
    jobs: list[tuple[Scenario, str | None, Efficiency | None, Sequence[Extra]]] = [
        (base, r, efficiency, extras) for r in rules]
    if relax:
        jobs.append((base, None, efficiency, extras))
    workers = min(len(jobs), workers or os.cpu_count() or 1)
    if workers > 1 and not extras:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                 initializer=_quiet_worker) as pool:
            outcomes = list(pool.map(_objective_without, jobs))
    else:
        outcomes = [_objective_without(j) for j in jobs]
    ref = outcomes[-1][0] if relax else results.objective_usd
    kinds = {c["rule"]: c["kind"] for c in governance.constraints}
    kinds.update({c["rule"]: "obligation" for c in governance.compliance_rows})
    out = []
    for rule, (obj, status) in zip(rules, outcomes, strict=False):
        cost = None if obj is None or ref is None else ref - obj
        out.append({
            "rule": rule, "kind": kinds.get(rule, ""), "cost_usd": cost,
            "binding": cost is not None and abs(cost) > 1e-6 * max(1.0, abs(ref or 0.0)),
            "without_rule_usd": obj, "status_without": status,
            "method": "continuous relaxations" if relax else "the same solve without the rule",
        })
    return out


def band_costs(
    scenario: Scenario,
    results: Results,
    efficiency: Efficiency | None,
    extras: Sequence[Extra] = (),
) -> dict[str, Any]:
    """The plan's cost with every per-server capacity at the other band points.

    Solve-only runs of the scenario with ``serving.capacity_band`` changed. A whole-server plan
    is not solved again as a MIP at each point: the continuous relaxation is solved at every
    point (the run's own included) and its relative change applied to this plan's optimum (the
    relaxations differ from the plans by at most the MIP gap; ``method`` says which was used).
    """
    point = scenario.serving.capacity_band
    main = results.objective_usd
    points: dict[str, dict[str, Any]] = {
        point: {"objective_usd": main, "status": results.status, "change_pct": 0.0}
    }
    out: dict[str, Any] = {"point": point, "margin": scenario.serving.capacity_margin,
                           "engine": scenario.serving.engine, "points": points}
    cap = results.tables.get("capacity")
    if cap is None or cap.empty or not (
        (cap["band_p10"] != 1.0).any() or (cap["band_p90"] != 1.0).any()
    ):
        out["note"] = "the performance model has no error band for these predictions"
        return out
    relax = scenario.solver.integer_servers
    out["method"] = ("continuous relaxation at each point, its change applied to this plan"
                     if relax else "the same solve at each point")

    def solve_at(at: str) -> tuple[float | None, str]:
        serving = scenario.serving.model_copy(update={"capacity_band": at, "band_costs": False})
        solver = scenario.solver.model_copy(update={"integer_servers": False})
        sub = run(scenario.model_copy(update={"serving": serving, "solver": solver}),
                  steps=SOLVE_ONLY, efficiency=efficiency, extras=extras)
        status = sub.solution.status if sub.solution is not None else "not solved"
        return sub.objective_usd, status

    ref = solve_at(point)[0] if relax else main
    for other in (p for p in BAND_POINTS if p != point):
        obj, status = solve_at(other)
        if obj is None or not ref or main is None:
            points[other] = {"objective_usd": None, "status": status, "change_pct": None}
            continue
        change = obj / ref - 1.0
        points[other] = {"objective_usd": main * (1.0 + change), "status": status,
                         "change_pct": 100.0 * change}
    return out


def _analysis(
    inp: PlanInputs,
    coef: CostCoefficients,
    sol: Solution,
    steps: Sequence[str],
    timings: dict[str, float],
    source: str | None,
    tell: Callable[[str], None],
) -> Results:
    t0 = time.perf_counter()
    tell(STEP_WORDS["analyse"])
    if not sol.has_plan:
        return empty_results(inp, sol, timings, source)
    res = analyse(inp, sol, coef, timings, source)
    if "explain" in steps:
        tell(STEP_WORDS["explain"])
        t = time.perf_counter()
        res.tables["explanations"] = explain(inp, coef, sol, res.tables)
        res.solve["explain_s"] = time.perf_counter() - t
    if "baseline" in steps:
        tell(STEP_WORDS["baseline"])
        t = time.perf_counter()
        res.baseline = naive_baseline(inp, coef)
        res.metrics.update(
            saving_metrics(
                res.objective_usd or float("nan"), res.metrics["total_cost_usd"], res.baseline
            )
        )
        res.solve["baseline_s"] = time.perf_counter() - t
    res.solve["analysis_s"] = time.perf_counter() - t0
    return res


def plan(
    scenario: Scenario,
    *,
    on_step: Callable[[str], None] | None = None,
    efficiency: Efficiency | None = None,
    extras: Sequence[Extra] = (),
    source: str | None = None,
) -> Results:
    """Every step; returns the results (tables are pandas DataFrames)."""
    res = run(
        scenario, on_step=on_step, efficiency=efficiency, extras=extras, source=source
    ).results
    assert res is not None
    return res


def reanalyse(
    scenario: Scenario,
    solution: Solution,
    *,
    steps: Sequence[str] = ("analyse", "explain", "baseline"),
    efficiency: Efficiency | None = None,
    source: str | None = None,
) -> Results:
    """Results of a stored solution of ``scenario`` (no solve)."""
    t = time.perf_counter()
    inp = build_inputs(scenario, efficiency)
    coef = coefficients(inp)
    timings = {"inputs_s": time.perf_counter() - t}
    return _analysis(inp, coef, solution, steps, timings, source, lambda _s: None)
