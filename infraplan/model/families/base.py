"""What a constraint family is: a ``build`` step that adds variables and constraints to the
model, and an ``explain`` rule that reads a solved plan and says, in words, what the family's
constraints did to it.

``build`` runs on a ``BuildContext`` (the linopy model under construction, the inputs, the cost
coefficients and the shared coordinates); ``explain`` runs on an ``ExplainContext`` (inputs,
cost coefficients, the plain ``Solution`` and the result tables; no linopy model), so a stored
run can be explained again without solving it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import linopy
import numpy as np
import pandas as pd
import xarray as xr

from infraplan.model.costs import CostCoefficients
from infraplan.model.inputs import PlanInputs
from infraplan.model.linexpr import da
from infraplan.model.solution import Solution

ROW_COLUMNS = [
    "kind",
    "text",
    "impact_usd",
    "impact_basis",
    "constraint",
    "shadow_price",
    "unit",
    "valid_up_to",
    "year",
    "site",
    "region",
    "service",
]
"""Columns of an explanation row (see docs/explain.md)."""

DUAL_EPS = 0.1
"""|dual| below this (USD per unit of the row) counts as zero."""
TIGHT_REL = 1e-6


@dataclass
class BuildContext:
    """A model under construction: every family adds its variables and constraints here."""

    m: linopy.Model
    inp: PlanInputs
    coef: CostCoefficients
    coords: dict[str, Any]
    integer: bool
    exprs: dict[str, linopy.LinearExpression] = field(default_factory=dict)
    integer_vars: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    costs: dict[str, linopy.LinearExpression] = field(default_factory=dict)
    """Extra (year,) cost terms in million USD added by families or user extras; they join
    the objective under their component name."""

    def var(self, name: str, dims: list[str], **kw: Any) -> linopy.Variable:
        """Add a variable over ``dims`` (coordinates from ``coords``)."""
        return self.m.add_variables(
            coords=[self.coords[d] for d in dims], dims=dims, name=name, **kw
        )

    def da(self, values: np.ndarray, dims: list[str]) -> xr.DataArray:
        """A labelled array over ``dims``."""
        return da(values, dims, self.coords)


@dataclass
class ExplainContext:
    """A solved plan as the explanation rules read it (no linopy model)."""

    inp: PlanInputs
    coef: CostCoefficients
    sol: Solution
    tables: dict[str, pd.DataFrame]
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def years(self) -> list[int]:
        return list(self.inp.years)

    @property
    def dfac(self) -> np.ndarray:
        return self.coef.df

    @property
    def has_duals(self) -> bool:
        return self.sol.duals_from != "none"

    def yi(self, year: int) -> int:
        return self.years.index(int(year))

    def values(self, name: str) -> np.ndarray | None:
        return self.sol.primal.get(name)

    def dual(self, name: str) -> np.ndarray | None:
        """Dual of constraint ``name`` in USD per unit of its row (None without duals)."""
        return self.sol.duals.get(name) if self.has_duals else None

    def range_of(self, name: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(rhs up, rhs down) between which the duals of ``name`` hold, or None."""
        r = self.sol.ranging.get(name)
        if r is None:
            return None
        return r["up"], r["down"]

    def memo(self, key: str, make: Callable[[], Any]) -> Any:
        """Compute once per explanation run."""
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]


class Family(Protocol):
    """A constraint family module."""

    NAME: str

    def build(self, ctx: BuildContext) -> None: ...

    def explain(self, ctx: ExplainContext) -> list[dict[str, Any]]: ...


def row(
    kind: str,
    text: str,
    impact: float,
    basis: str,
    constraint: str,
    price: float | None = None,
    unit: str | None = None,
    valid_up_to: str | None = None,
    **where: Any,
) -> dict[str, Any]:
    """One explanation row (``where``: year, site, region, service)."""
    out = {
        "kind": kind,
        "text": text if text.endswith(".") else text + ".",
        "impact_usd": impact,
        "impact_basis": basis,
        "constraint": constraint,
        "shadow_price": price,
        "unit": unit,
        "valid_up_to": valid_up_to,
        "year": None,
        "site": None,
        "region": None,
        "service": None,
    }
    out.update(where)
    return out


def relax_saving(
    dual_usd: float, rhs: float, up: float | None, direction: int
) -> tuple[float, float | None]:
    """(saving, room): relaxing a row whose dual is ``dual_usd`` (USD per unit, the objective's
    d/d rhs) in ``direction`` (+1 raise a ``<=`` cap, -1 lower a ``>=`` requirement) by the
    whole range over which that dual holds saves ``|dual| x room``; ``room`` is None when the
    range is unknown (then the saving is per unit, at the margin)."""
    if up is None or not math.isfinite(up):
        return abs(dual_usd), None
    room = max(0.0, (up - rhs) * direction)
    return abs(dual_usd) * room, room
