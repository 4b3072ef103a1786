"""Discounting and capital annuities."""

from __future__ import annotations

import numpy as np
import numpy_financial as npf


def annuity_factor(rate: float, years: int) -> float:
    """Share of an overnight cost paid each year over ``years`` at ``rate`` (capital recovery)."""
    if years <= 0:
        msg = "annuity years must be positive"
        raise ValueError(msg)
    if rate == 0:
        return 1.0 / years
    return rate / (1.0 - (1.0 + rate) ** -years)


def discount_factors(years: list[int] | np.ndarray, base_year: int, rate: float) -> np.ndarray:
    """Present-value factor per year: (1 + rate)^-(year - base_year)."""
    y = np.asarray(years, dtype=float)
    return (1.0 + rate) ** -(y - base_year)


def alive_matrix(vintages: list[int], years: list[int], lifetime: int) -> np.ndarray:
    """1 where an asset online in year ``vintage`` is still in service in ``year``."""
    v = np.asarray(vintages)[:, None]
    y = np.asarray(years)[None, :]
    return ((y >= v) & (y < v + lifetime)).astype(float)


def npv(cash: np.ndarray, rate: float) -> float:
    """Net present value of a yearly cash-flow series starting at t=0."""
    return float(npf.npv(rate, np.asarray(cash, dtype=float)))


def irr(cash: np.ndarray) -> float | None:
    """Internal rate of return (numpy-financial); None when the cash flow does not change sign
    or has no rate."""
    cash = np.asarray(cash, dtype=float)
    if not (np.any(cash > 0) and np.any(cash < 0)):
        return None
    r = float(npf.irr(cash))
    return r if np.isfinite(r) else None
