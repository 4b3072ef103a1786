"""Constraint families of the planning model, one module each, assembled from ``FAMILIES``.

Each module has ``NAME``, ``build(ctx: BuildContext)`` (variables and constraints) and
``explain(ctx: ExplainContext)`` (its explanation rule). The order of ``FAMILIES`` is the
order in which they are built: a family may use the variables and expressions of the ones
before it (``ctx.m.variables``, ``ctx.exprs``).
"""

from __future__ import annotations

from infraplan.model.families import (
    budget,
    chips,
    cuts,
    dispatch,
    energy,
    facility,
    servers,
    training,
)
from infraplan.model.families.base import BuildContext, ExplainContext, Family

FAMILIES: list[Family] = [dispatch, training, servers, cuts, facility, energy, chips, budget]  # type: ignore[list-item]

__all__ = ["FAMILIES", "BuildContext", "ExplainContext", "Family"]
