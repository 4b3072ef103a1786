"""Vectorised linopy helpers: grouped sums and gathers over flat indices, without a Python loop
per element (faster than ``groupby`` on these models; ``tests/test_model.py`` checks that
``group_sum`` equals linopy's own ``groupby(...).sum()``)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import linopy
import numpy as np
import xarray as xr


def da(values: np.ndarray, dims: list[str], coords: Mapping[str, object]) -> xr.DataArray:
    """A labelled array over ``dims`` with the model's coordinates."""
    return xr.DataArray(values, dims=dims, coords={d: coords[d] for d in dims})


def group_sum(
    var: linopy.Variable | linopy.LinearExpression,
    dim: str,
    groups: np.ndarray,
    n_groups: int,
    new_dim: str,
    new_coords: np.ndarray | None = None,
) -> linopy.LinearExpression:
    """Sum ``var`` over ``dim`` within groups (``groups[i]`` = group of element i) -> ``new_dim``.

    Vectorised: builds a padded (group, term) position table with numpy and gathers labels and
    coefficients in one indexing operation, instead of a Python loop per group.
    """
    expr = var.to_linexpr() if isinstance(var, linopy.Variable) else var
    groups = np.asarray(groups, dtype=np.int64)
    order = np.argsort(groups, kind="stable")
    counts = np.bincount(groups, minlength=n_groups)
    width = max(int(counts.max()) if counts.size else 0, 1)
    starts = np.cumsum(counts) - counts
    pos = np.full((n_groups, width), -1, dtype=np.int64)
    rank = np.arange(len(groups)) - np.repeat(starts, counts)
    pos[groups[order], rank] = order

    data = expr.data
    other = [d for d in data["vars"].dims if d not in (dim, "_term")]
    vars_ = data["vars"].transpose(dim, *other, "_term").values
    coeffs = data["coeffs"].transpose(dim, *other, "_term").values
    if vars_.shape[0] == 0:  # nothing to sum: every group gets an empty (masked) term
        vars_ = np.full((1, *vars_.shape[1:]), -1, dtype=vars_.dtype)
        coeffs = np.zeros((1, *coeffs.shape[1:]))
    valid = pos >= 0
    safe = np.where(valid, pos, 0)
    g_vars = vars_[safe]  # (group, width, *other, term)
    g_coef = coeffs[safe]
    mask = valid.reshape(valid.shape + (1,) * (g_vars.ndim - 2))
    g_vars = np.where(mask, g_vars, -1)
    g_coef = np.where(mask, g_coef, 0.0)
    # merge the (width, term) axes into one term axis
    shape = (g_vars.shape[0], *g_vars.shape[2:-1], g_vars.shape[1] * g_vars.shape[-1])
    g_vars = np.moveaxis(g_vars, 1, -2).reshape(shape)
    g_coef = np.moveaxis(g_coef, 1, -2).reshape(shape)
    coords: dict[Hashable, object] = {
        new_dim: np.arange(n_groups) if new_coords is None else new_coords
    }
    for d in other:
        coords[d] = data.indexes[d] if d in data.indexes else data[d].values
    ds = xr.Dataset(
        {
            "vars": ((new_dim, *other, "_term"), g_vars),
            "coeffs": ((new_dim, *other, "_term"), g_coef),
            "const": ((new_dim, *other), np.zeros(shape[:-1])),
        },
        coords=coords,
    )
    return linopy.LinearExpression(ds, expr.model)


def gather(
    var: linopy.Variable | linopy.LinearExpression,
    dim: str,
    index: np.ndarray,
    new_dim: str,
    new_coords: object,
) -> linopy.LinearExpression:
    """Expression whose element i along ``new_dim`` is element ``index[i]`` of ``var``."""
    expr = var.to_linexpr() if isinstance(var, linopy.Variable) else var
    data = expr.data
    other = [d for d in data["vars"].dims if d not in (dim, "_term")]
    idx = np.asarray(index, dtype=np.int64)
    vars_ = data["vars"].transpose(dim, *other, "_term").values[idx]
    coeffs = data["coeffs"].transpose(dim, *other, "_term").values[idx]
    const = data["const"].transpose(dim, *other).values[idx]
    coords: dict[Hashable, object] = {new_dim: new_coords}
    for d in other:
        coords[d] = data.indexes[d] if d in data.indexes else data[d].values
    ds = xr.Dataset(
        {
            "vars": ((new_dim, *other, "_term"), vars_),
            "coeffs": ((new_dim, *other, "_term"), coeffs),
            "const": ((new_dim, *other), const),
        },
        coords=coords,
    )
    return linopy.LinearExpression(ds, expr.model)
