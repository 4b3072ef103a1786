"""Column generation: the restricted-and-priced LP reaches the full LP's optimum."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from infraplan.generate import generate
from infraplan.optimize import build_inputs, build_model, solve_model
from infraplan.optimize.pricing import Restriction, apply_restriction, initial_restriction
from infraplan.optimize.solve import _solve_once
from infraplan.scenario import parse_scenario


def _scenario(seed: int, **solver: object) -> dict:
    data = generate(8, 8, 2, 4, 5, seed=seed, chip_caps=True, training=True)
    for t in data.get("training", []):
        t["one_site"] = False  # keep it an LP
    data["horizon"]["decision_year"] -= 1
    data["solver"] = dict(solver)
    return data


def _objective(data: dict) -> tuple[float, object]:
    scn = parse_scenario(copy.deepcopy(data))
    inp = build_inputs(scn)
    built = build_model(inp)
    info = solve_model(built, scn.solver, inp)
    assert info.status == "optimal"
    return float(built.model.objective.value), info


@pytest.mark.parametrize("seed", [0, 3])
def test_column_generation_matches_full_lp(seed: int) -> None:
    full, _ = _objective(_scenario(seed, column_generation="off"))
    cg, info = _objective(_scenario(seed, column_generation="on"))
    assert info.pricing is not None
    assert info.pricing["certified"]
    assert cg == pytest.approx(full, rel=1e-6)


def test_pricing_adds_columns_when_the_start_is_poor() -> None:
    """Start from the worst possible restriction (one arbitrary accelerator per site): pricing
    must bring in what the optimum needs and still reach the full optimum."""
    from infraplan.optimize import pricing

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
    orig = pricing.initial_restriction
    pricing.initial_restriction = lambda _inp: r  # type: ignore[assignment]
    try:
        _, stats = pricing.solve_with_pricing(built, inp, lambda b: _solve_once(b, scn.solver))
    finally:
        pricing.initial_restriction = orig  # type: ignore[assignment]
    assert stats["certified"]
    assert sum(a["fleet"] for a in stats["added"]) > 0
    assert float(built.model.objective.value) == pytest.approx(full, rel=1e-6)


def test_highs_reduced_costs_follow_c_minus_a_transpose_y() -> None:
    """The pricing code relies on HiGHS's convention d = c - A'y; pin it."""
    scn = parse_scenario(_scenario(2, column_generation="off"))
    inp = build_inputs(scn)
    built = build_model(inp)
    r = initial_restriction(inp)
    apply_restriction(built, inp, r)
    solve_model(built, scn.solver)
    m = built.model
    sol = m.solver_model.getSolution()
    mat = m.matrices
    c = np.asarray(mat.c)
    a = mat.A.tocsc()
    d = c - a.T @ np.asarray(sol.row_dual)
    np.testing.assert_allclose(d, np.asarray(sol.col_dual), atol=1e-7)
