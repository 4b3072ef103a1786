"""Integer plans: whole servers, and the LP-guided method's proven gap."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from infraplan.generate import generate
from infraplan.optimize import build_inputs, build_model, integer, solve_model
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
