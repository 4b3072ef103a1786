"""Column generation: the restricted-and-priced LP reaches the full LP's optimum."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from infraplan.generate import generate
from infraplan.model.build import build_model
from infraplan.model.inputs import build_inputs
from infraplan.model.solution import Solution
from infraplan.model.solve import highs, pricing, solve
from infraplan.model.solve.pricing import Restriction, apply_restriction, initial_restriction
from infraplan.scenario import parse_scenario


def _scenario(seed: int, **solver: object) -> dict:
    data = generate(8, 8, 2, 4, 5, seed=seed, chip_caps=True, training=True)
    for t in data.get("training", []):
        t["one_site"] = False  # keep it an LP
    data["horizon"]["decision_year"] -= 1
    # an LP: the continuous relaxation (whole servers would make it a MIP, never priced)
    data["solver"] = {"integer_servers": False, **solver}
    return data


def _objective(data: dict) -> tuple[float, Solution]:
    scn = parse_scenario(copy.deepcopy(data))
    built = build_model(build_inputs(scn))
    assert not built.integer
    sol = solve(built)
    assert sol.status == "optimal"
    assert sol.objective_usd == pytest.approx(float(built.model.objective.value) * 1e6, rel=1e-12)
    return float(built.model.objective.value), sol


@pytest.mark.parametrize("seed", [0, 3])
def test_column_generation_matches_full_lp(seed: int) -> None:
    full, full_sol = _objective(_scenario(seed, column_generation="off"))
    assert "column_generation" not in full_sol.stats
    cg, sol = _objective(_scenario(seed, column_generation="on"))
    stats: dict[str, Any] | None = sol.stats.get("column_generation")
    assert stats is not None
    assert "column generation" in sol.method
    assert stats["certified"]
    assert cg == pytest.approx(full, rel=1e-6)


def test_pricing_adds_columns_when_the_start_is_poor(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start from the worst possible restriction (one arbitrary accelerator per site): pricing
    must bring in what the optimum needs and still reach the full optimum."""
    data = _scenario(1, column_generation="off")
    full, _ = _objective(data)
    scn = parse_scenario(copy.deepcopy(data))
    inp = build_inputs(scn)
    built = build_model(inp)
    first = ~inp.fleet.duplicated("site").to_numpy()  # first accelerator listed per site
    r = Restriction(
        options=first[inp.options["fleet"].to_numpy()],
        fleet=first,
        arcs=np.ones(len(inp.arcs), dtype=bool),
    )
    monkeypatch.setattr(pricing, "initial_restriction", lambda _inp, _coef: r)
    out, stats = pricing.solve_with_pricing(built, lambda b: highs.solve_once(b, scn.solver))
    assert out.status == "optimal"
    assert stats["certified"]
    assert sum(a["fleet"] for a in stats["added"]) > 0
    assert float(built.model.objective.value) == pytest.approx(full, rel=1e-6)


def test_highs_reduced_costs_follow_c_minus_a_transpose_y() -> None:
    """The pricing code relies on HiGHS's convention d = c - A'y; pin it."""
    scn = parse_scenario(_scenario(2, column_generation="off"))
    inp = build_inputs(scn)
    built = build_model(inp)
    r = initial_restriction(inp, built.coef)
    apply_restriction(built, inp, r)
    assert highs.solve_once(built, scn.solver).status == "optimal"
    m = built.model
    sol = m.solver_model.getSolution()
    mat = m.matrices
    c = np.asarray(mat.c)
    a = mat.A.tocsc()
    d = c - a.T @ np.asarray(sol.row_dual)
    np.testing.assert_allclose(d, np.asarray(sol.col_dual), atol=1e-7)
