"""Build the linopy capacity-expansion and dispatch model from its constraint families.

``build_model(inp)`` creates the coordinates, runs every family of
``infraplan.model.families.FAMILIES`` in order, then any user extras, and sets the objective:
the sum over cost components (``infraplan.model.costs``) of their present value, in million
USD. Nothing is solved here.

User extras are functions ``extra(ctx: BuildContext) -> None`` that may add variables,
constraints and cost terms (``ctx.costs[name] = (year,) expression``); every solution method
keeps them, because each model it solves is built by this function with the same extras.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import linopy
import numpy as np

from infraplan.model import costs as cost_mod
from infraplan.model.costs import CostCoefficients
from infraplan.model.families import FAMILIES, BuildContext
from infraplan.model.inputs import PlanInputs

Extra = Callable[[BuildContext], None]


@dataclass
class BuiltModel:
    """A linopy model with the expressions used to solve and report it."""

    model: linopy.Model
    inputs: PlanInputs
    coef: CostCoefficients
    costs: dict[str, linopy.LinearExpression]  # component -> (year,) million USD discounted
    exprs: dict[str, linopy.LinearExpression]  # installed, facility_mw, energy_mwh, ...
    integer_vars: list[str] = field(default_factory=list)
    extras: tuple[Extra, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def integer(self) -> bool:
        """True when the model has integer variables."""
        return bool(self.integer_vars)

    def rebuild(self, integer: bool | None = None) -> BuiltModel:
        """A fresh copy of this model (same inputs and extras)."""
        return build_model(self.inputs, self.extras, coef=self.coef, integer=integer)


def coordinates(inp: PlanInputs) -> dict[str, Any]:
    """The model's dimensions and their coordinates."""
    years = np.asarray(inp.years)
    return {
        "fleet": np.arange(len(inp.fleet)),
        "site": np.asarray(inp.sites.index),
        "year": years,
        "vintage": years,
        "block": np.arange(len(inp.blocks)),
        "arc": np.arange(len(inp.arcs)),
        "option": np.arange(len(inp.options)),
        "zone": np.arange(len(inp.zones)),
        "pair": np.arange(len(inp.pairs)),
        "training": np.arange(len(inp.trainings)),
        "campaign": np.arange(len(inp.campaigns)),
    }


def build_model(
    inp: PlanInputs,
    extras: Sequence[Extra] = (),
    *,
    coef: CostCoefficients | None = None,
    integer: bool | None = None,
) -> BuiltModel:
    """Create variables, constraints and objective for ``inp``.

    ``integer`` overrides ``solver.integer_servers`` (whole servers) for this build.
    """
    coef = coef if coef is not None else cost_mod.coefficients(inp)
    whole = inp.scenario.solver.integer_servers if integer is None else integer
    ctx = BuildContext(
        m=linopy.Model(force_dim_names=True),
        inp=inp,
        coef=coef,
        coords=coordinates(inp),
        integer=bool(whole),
    )
    for family in FAMILIES:
        family.build(ctx)
    for extra in extras:
        extra(ctx)
    costs = cost_mod.expressions(ctx.m, ctx.exprs, coef, ctx.coords)
    for name, expr in ctx.costs.items():
        costs[name] = costs[name] + expr if name in costs else expr
    parts = [c.sum() for c in costs.values()]
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    ctx.m.add_objective(total)
    return BuiltModel(
        model=ctx.m,
        inputs=inp,
        coef=coef,
        costs=costs,
        exprs=ctx.exprs,
        integer_vars=list(ctx.integer_vars),
        extras=tuple(extras),
        data=ctx.data,
    )
