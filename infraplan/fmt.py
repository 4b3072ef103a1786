"""Human-readable number formatting shared by the terminal summary and the report."""

from __future__ import annotations

import math


def fmt_num(x: float | None, digits: int = 3) -> str:
    """1234 -> '1,234'; 1.2e6 -> '1.2 M'; 3.4e9 -> '3.4 B' (significant digits kept)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    ax = abs(x)
    for limit, suffix in ((1e12, " T"), (1e9, " B"), (1e6, " M")):
        if ax >= limit:
            return f"{x / limit:.{max(digits - 1 - int(math.log10(ax / limit)), 0)}f}{suffix}"
    if ax >= 100:
        return f"{x:,.0f}"
    if ax >= 1:
        return f"{x:,.{max(digits - 1 - int(math.log10(ax)), 0)}f}"
    if ax == 0:
        return "0"
    return f"{x:.{digits}g}"


def fmt_money(x: float | None) -> str:
    """USD with a magnitude suffix: '$ 1.23 B'."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"$ {fmt_num(x)}"
