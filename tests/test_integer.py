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


@pytest.mark.usefixtures("fixed_perf")
def test_whole_server_cut_families_hand_worked(
    base_scenario: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """112 requests/s at one site with H100 servers (10 req/s) and H200 servers (15 req/s).

    Reference H100: an H200 does the work of ceil(15 / 10) = 2 H100s, b = 11.2, so
    n_h100 + 2 n_h200 + u / (10 x 0.2) >= 12. Reference H200 (also each zone's best server):
    an H100 counts ceil(10 / 15) = 1, b = 7.47, so n_h100 + n_h200 + u / (15 x 0.467) >= 8.
    """
    base_scenario["services"][0]["requests_per_user_per_day"] = 8.64 * 1.12
    base_scenario["accelerators"] = ["h100-sxm", "h200-sxm"]
    base_scenario["solver"] = {"integer_servers": True}
    inp = build_inputs(parse_scenario(base_scenario))
    cut = model_mod.whole_server_cuts(inp)
    fleet_acc = inp.fleet["accelerator"].to_numpy()
    rhs = cut["rhs"][:, 0, 0]
    assert sorted(rhs.tolist()) == [8.0, 8.0, 12.0]  # references: best, h100, h200
    h100_family = int(np.argmax(rhs))
    members = cut["family_fleet"][:, 0] == h100_family
    accs = fleet_acc[cut["family_fleet"][members, 1]]
    coef = dict(zip(accs, cut["fleet_coef"][members], strict=True))
    assert coef == {"h100-sxm": 1.0, "h200-sxm": 2.0}
    zone_rows = cut["family_zone"][:, 0] == h100_family
    assert cut["zone_coef"][zone_rows, 0, 0] == pytest.approx([1 / (10 * 0.2)])
    for family in np.flatnonzero(rhs == 8.0):
        members = cut["family_fleet"][:, 0] == family
        assert cut["fleet_coef"][members].tolist() == [1.0, 1.0]
        zone_rows = cut["family_zone"][:, 0] == family
        assert cut["zone_coef"][zone_rows, 0, 0] == pytest.approx([1 / (15 * (112 / 15 - 7))])
    # the relaxation holds whole servers: without the cuts it builds 7.47 H200 servers, with
    # them at least 8 servers (or leaves load unserved at the cut's rate)
    from infraplan.optimize.solve import _solve_once

    def servers() -> float:
        built = build_model(inp)
        for name in built.integer_vars:
            built.model.variables[name].relax()
        built.integer_vars = []
        assert _solve_once(built, inp.scenario.solver).status == "optimal"
        inst = built.installed.solution.sel(year=2027).to_numpy()
        short = float(built.model.variables["unserved"].solution.sum()) / (15 * (112 / 15 - 7))
        return float(inst.sum()) + short

    assert servers() >= 8 - 1e-6
    monkeypatch.setattr(model_mod, "MAX_CUT_SITES", 0)
    assert servers() == pytest.approx(112 / 15, rel=1e-6)
