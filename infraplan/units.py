"""Unit constants used across infraplan, defined once.

The optimisation model states money in million USD (``OBJ_SCALE``) so that its coefficients
stay near 1; every table and document the user sees is in USD.
"""

from __future__ import annotations

OBJ_SCALE = 1e6
"""Objective unit of the linear programme: one unit = one million USD (present value)."""
HOURS_PER_DAY = 24
DAYS_PER_YEAR = 365.0
HOURS_PER_YEAR = 8760.0
SECONDS_PER_HOUR = 3600.0
W_PER_MW = 1e6
KG_PER_T = 1000.0
TOKENS_PER_MTOK = 1e6


def as_float(cell: object) -> float:
    """A table cell as a float: pandas types cells loosely (``Any | Series``), this says which."""
    return float(cell)  # type: ignore[arg-type]
