"""Integer plans: whole servers, and the LP-guided method's proven gap."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from infraplan.generate import generate
from infraplan.optimize import build_inputs, build_model, integer, solve_model
from infraplan.optimize import model as model_mod
from infraplan.results import extract
from infraplan.scenario import parse_scenario


def _scenario(**solver: object) -> dict:
    data = generate(6, 5, 2, 3, 3, seed=5, training=True)
    data["horizon"]["decision_year"] -= 1
    data["solver"] = {"integer_servers": True, "mip_gap": 0.005, **solver}
    return data


def _run(data: dict) -> tuple[object, object, object]:
    scn = parse_scenario(copy.deepcopy(data))
    inp = build_inputs(scn)
    built = build_model(inp)
    info = solve_model(built, scn.solver, inp)
    return inp, built, info


def test_lp_guided_integer_plan_is_integer_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forced on a small model: whole servers, upper bound >= LP bound, gap as reported, and the
    plan is never cheaper than the direct branch-and-bound optimum (within its gap)."""
    data = _scenario()
    _, direct_built, direct = _run(data)
    assert direct.status == "optimal"
    best = float(direct_built.model.objective.value)

    monkeypatch.setattr(integer, "LARGE_MIP_VARIABLES", 0)
    inp, built, info = _run(data)
    assert info.status in ("optimal", "feasible")
    p = info.pricing
    assert p["upper_bound_musd"] >= p["lower_bound_musd"] * (1 - 1e-9)
    assert info.mip_gap == pytest.approx(
        (p["upper_bound_musd"] - p["lower_bound_musd"]) / p["upper_bound_musd"], abs=1e-9
    )
    assert float(built.model.objective.value) == pytest.approx(p["upper_bound_musd"], rel=1e-9)
    # the LP bound is a true lower bound on the best integer plan
    assert p["lower_bound_musd"] <= best * (1 + 0.005)
    assert p["upper_bound_musd"] >= best * (1 - 0.005)
    res = extract(inp, built, info, {})
    servers = res.build["servers"].to_numpy()
    np.testing.assert_allclose(servers, np.rint(servers), atol=1e-6)
    assert sum(res.costs_usd.values()) == pytest.approx(res.objective_usd, rel=1e-6)


def _relaxed_servers(data: dict) -> tuple[float, float]:
    """Solve the LP relaxation of an integer scenario: (installed servers, objective)."""
    from infraplan.optimize.solve import _solve_once

    scn = parse_scenario(copy.deepcopy(data))
    inp = build_inputs(scn)
    built = build_model(inp)
    for name in built.integer_vars:
        built.model.variables[name].relax()
    built.integer_vars = []
    info = _solve_once(built, scn.solver)
    assert info.status == "optimal"
    return float(built.installed.solution.sum()), float(built.model.objective.value)


@pytest.mark.usefixtures("fixed_perf")
def test_whole_server_cut_hand_worked(base_scenario: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """105 requests/s, 10 per server: b = 10.5, MIR cut n + u / (10 x 0.5) >= 11.

    Without the cut the relaxation builds 10.5 servers; with it, leaving 2.5 requests/s
    unserved (about 1.1 M USD a year at 20 USD/Mtok x 700 tokens) costs more than the half
    server, so the relaxation builds 11: the LP bound equals the integer optimum.
    """
    base_scenario["services"][0]["requests_per_user_per_day"] = 8.64 * 1.05
    base_scenario["solver"] = {"integer_servers": True}
    with_cut, lp_cut = _relaxed_servers(base_scenario)
    monkeypatch.setattr(model_mod, "MAX_CUT_SITES", 0)
    without, lp_plain = _relaxed_servers(base_scenario)
    assert without == pytest.approx(10.5, rel=1e-6)
    assert with_cut == pytest.approx(11.0, rel=1e-6)
    assert lp_cut > lp_plain
    _, direct_built, direct = _run(base_scenario)
    assert direct.status == "optimal"
    assert float(direct_built.model.objective.value) == pytest.approx(lp_cut, rel=1e-6)


def test_whole_server_cut_keeps_integer_optimum(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cuts are valid: the best integer plan costs the same with and without them, and
    the relaxation with cuts lies between the plain relaxation and the integer optimum."""
    for seed in (1, 2, 3):
        data = generate(4, 3, 2, 2, 2, seed=seed, training=False)
        data["horizon"]["decision_year"] -= 1
        data["solver"] = {"integer_servers": True, "mip_gap": 1e-6}
        _, b_cut, i_cut = _run(data)
        _, lp_cut = _relaxed_servers(data)
        with monkeypatch.context() as mp:
            mp.setattr(model_mod, "MAX_CUT_SITES", 0)
            _, b_plain, i_plain = _run(data)
            _, lp_plain = _relaxed_servers(data)
        assert i_cut.status == i_plain.status == "optimal"
        best_cut = float(b_cut.model.objective.value)
        best_plain = float(b_plain.model.objective.value)
        assert best_cut == pytest.approx(best_plain, rel=1e-5), seed
        assert lp_plain <= lp_cut * (1 + 1e-7) <= best_cut * (1 + 1e-5), seed
