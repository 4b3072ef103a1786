"""Integer plans: whole servers, and the LP-guided method's proven gap."""

from __future__ import annotations

import copy
import sys

import numpy as np
import pytest

from infraplan import perf
from infraplan.generate import generate
from infraplan.model.build import BuiltModel, build_model
from infraplan.model.families import cuts as cuts_mod
from infraplan.model.inputs import build_inputs
from infraplan.model.solve import highs
from infraplan.pipeline import run
from infraplan.scenario import parse_scenario


def _scenario(**solver: object) -> dict:
    data = generate(6, 5, 2, 3, 3, seed=5, training=True)
    data["horizon"]["decision_year"] -= 1
    data["solver"] = {"integer_servers": True, "mip_gap": 0.005, **solver}
    return data


def _direct(data: dict) -> tuple[BuiltModel, highs.Outcome]:
    """HiGHS branch and bound on the exact whole-server model (no LP-guided method)."""
    scn = parse_scenario(copy.deepcopy(data))
    built = build_model(build_inputs(scn))
    assert "build" in built.integer_vars
    return built, highs.solve_once(built, scn.solver)


def _relaxed_servers(data: dict) -> tuple[float, float]:
    """Solve the LP relaxation of an integer scenario: (installed servers, objective)."""
    scn = parse_scenario(copy.deepcopy(data))
    built = build_model(build_inputs(scn))
    for name in built.integer_vars:
        built.model.variables[name].relax()
    built.integer_vars = []
    out = highs.solve_once(built, scn.solver)
    assert out.status == "optimal"
    return float(built.exprs["installed"].solution.sum()), float(built.model.objective.value)


@pytest.mark.slow
def test_lp_guided_integer_plan_is_integer_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a small model: whole servers, upper bound >= LP bound, gap as reported, and the
    plan is never cheaper than the direct branch-and-bound optimum (within its gap)."""
    data = _scenario()
    direct_built, direct = _direct(data)
    assert direct.status == "optimal"
    best = float(direct_built.model.objective.value)

    # whole-server plans take the LP-guided method; force it regardless of the model's size
    # (``infraplan.model.solve`` the attribute is the function; the module is in sys.modules)
    monkeypatch.setattr(sys.modules["infraplan.model.solve"], "LARGE_MIP_VARIABLES", 0)
    out = run(parse_scenario(copy.deepcopy(data)), keep_model=True)
    sol, built, res = out.solution, out.built, out.results
    assert sol is not None
    assert built is not None
    assert res is not None
    assert sol.method.startswith("LP-guided integer plan")
    assert sol.integer
    assert sol.status in ("optimal", "feasible")
    p = sol.stats
    upper, lower = p["upper_bound_musd"], p["lower_bound_musd"]
    assert upper >= lower * (1 - 1e-9)
    assert sol.mip_gap == pytest.approx((upper - lower) / upper, abs=1e-9)
    assert float(built.model.objective.value) == pytest.approx(upper, rel=1e-9)
    assert sol.objective_usd == pytest.approx(upper * 1e6, rel=1e-9)
    assert sol.bound_usd == pytest.approx(lower * 1e6, rel=1e-9)
    # the LP bound is a true lower bound on the best integer plan
    assert lower <= best * (1 + 0.005)
    assert upper >= best * (1 - 0.005)
    servers = res.tables["build"]["servers"].to_numpy()
    assert len(servers)
    np.testing.assert_allclose(servers, np.rint(servers), atol=1e-6)
    np.testing.assert_allclose(sol.primal["build"], np.rint(sol.primal["build"]), atol=1e-6)
    assert sum(res.costs_usd.values()) == pytest.approx(res.objective_usd, rel=1e-6)


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
    direct_built, direct = _direct(base_scenario)
    assert direct.status == "optimal"
    assert float(direct_built.model.objective.value) == pytest.approx(lp_cut, rel=1e-6)
    monkeypatch.setattr(cuts_mod, "MAX_CUT_SITES", 0)
    without, lp_plain = _relaxed_servers(base_scenario)
    assert without == pytest.approx(10.5, rel=1e-6)
    assert with_cut == pytest.approx(11.0, rel=1e-6)
    assert lp_cut > lp_plain


@pytest.mark.slow
def test_whole_server_cut_keeps_integer_optimum(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cuts are valid: the best integer plan costs the same with and without them, and
    the relaxation with cuts lies between the plain relaxation and the integer optimum."""
    for seed in (1, 2, 3):
        data = generate(4, 3, 2, 2, 2, seed=seed, training=False)
        data["horizon"]["decision_year"] -= 1
        data["solver"] = {"integer_servers": True, "mip_gap": 1e-6}
        b_cut, i_cut = _direct(data)
        _, lp_cut = _relaxed_servers(data)
        with monkeypatch.context() as mp:
            mp.setattr(cuts_mod, "MAX_CUT_SITES", 0)
            b_plain, i_plain = _direct(data)
            assert "whole-server-cut" not in b_plain.model.constraints
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
    cut = cuts_mod.whole_server_cuts(inp)
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
    def servers() -> float:
        built = build_model(inp)
        for name in built.integer_vars:
            built.model.variables[name].relax()
        built.integer_vars = []
        assert highs.solve_once(built, inp.scenario.solver).status == "optimal"
        inst = built.exprs["installed"].solution.sel(year=2027).to_numpy()
        short = float(built.model.variables["unserved"].solution.sum()) / (15 * (112 / 15 - 7))
        return float(inst.sum()) + short

    assert servers() >= 8 - 1e-6
    monkeypatch.setattr(cuts_mod, "MAX_CUT_SITES", 0)
    assert servers() == pytest.approx(112 / 15, rel=1e-6)


@pytest.mark.parametrize(("load", "expected"), [(0.6, 2), (2.6, 4)])
def test_two_server_instances_come_in_whole_pairs(
    base_scenario: dict, load: float, expected: int
) -> None:
    """Regression: a model instance that spans two servers (DeepSeek-R1 on H100: 671 GB of
    weights on 640 GB per server) was credited as half an instance per server, so the integer
    plan bought one H100 server for a 2-server instance. Servers of such a workload must come
    in multiples of the instance size.

    A load of 0.6 (2.6) servers' worth: rounding per server would buy 1 (3) servers; whole
    instances need 1 (2) instances of 2 servers, 2 (4) servers.
    """
    svc = base_scenario["services"][0]
    svc["model"] = "deepseek-r1"
    base_scenario["accelerators"] = ["h100-sxm"]
    base_scenario["solver"] = {"integer_servers": True}
    cap = perf.server_capacity(
        "deepseek-r1",
        "h100-sxm",
        isl=svc["input_tokens"],
        osl=svc["output_tokens"],
        ttft_ms=svc["ttft_ms"],
        tpot_ms=svc["tpot_ms"],
    )
    assert cap.feasible
    assert cap.servers_per_instance == 2
    population = base_scenario["regions"][0]["population"]
    svc["requests_per_user_per_day"] = load * cap.requests_per_s * 86_400 / population
    out = run(parse_scenario(base_scenario), keep_model=True)
    sol, res = out.solution, out.results
    assert sol is not None
    assert res is not None
    assert sol.status == "optimal"
    inst = res.tables["installed"]
    servers = inst.loc[inst["accelerator"] == "h100-sxm", "servers"].to_numpy()
    assert len(servers) == 1
    n = float(servers[0])
    assert n == pytest.approx(round(n), abs=1e-6)
    assert round(n) > 0
    assert round(n) % cap.servers_per_instance == 0, n
    # the whole load is served, by whole instances of two servers each
    assert float(sol.primal["unserved"].sum()) == pytest.approx(0.0, abs=1e-6)
    assert round(n) == expected
    assert float(sol.primal["instances"].sum()) == pytest.approx(expected / 2, abs=1e-6)


def test_no_feasible_server_anywhere_is_a_plan_that_serves_nothing(base_scenario):
    """Regression: with no (service, site, accelerator) option at all (a 1 ms TTFT), the
    whole-server method indexed an empty arc table with floats and the naive baseline gathered
    from an empty option table; both crashed with an internal error."""
    from infraplan.scenario import parse_scenario

    data = copy.deepcopy(base_scenario)
    data["solver"] = {"integer_servers": True}
    data["services"][0].update(ttft_ms=1, network_budget_ms=0.5)
    res = run(parse_scenario(data)).results
    assert res is not None
    assert res.status == "optimal"
    assert res.metrics["served_fraction"] == 0.0
    assert res.costs_usd["unserved_penalty"] > 0
    assert res.costs_usd["it_capex"] == 0.0
