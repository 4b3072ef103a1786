"""Number formatting for people: ``1.23 M``, ``$ 1.23 B``, ``3.4 GW``, ``99.1 %``.

Every helper takes ``None``/NaN and returns :data:`MISSING`, so a partial results file never
crashes the report.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import TypeGuard

MISSING = "–"
"""Shown where a value is absent (en dash)."""

_SUFFIXES = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")]


def _is_number(x: object) -> TypeGuard[Real]:
    """True for a finite real number (bools excluded)."""
    return isinstance(x, Real) and not isinstance(x, bool) and math.isfinite(float(x))


def _sig(x: float, sig: int) -> str:
    """``x`` to ``sig`` significant digits, trailing zeros stripped (``1.20`` -> ``1.2``)."""
    if x == 0:
        return "0"
    decimals = max(0, sig - 1 - math.floor(math.log10(abs(x))))
    text = f"{x:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def human(x: object, sig: int = 3) -> str:
    """A number with a k/M/B/T suffix and ``sig`` significant digits: ``1234567 -> '1.23 M'``.

    Numbers below 1,000 get no suffix (``12.345 -> '12.3'``); ``None``/NaN give ``'–'``.
    """
    if not _is_number(x):
        return MISSING
    v = float(x)
    for scale, suffix in _SUFFIXES:
        if abs(v) >= scale * (1 - 0.5 * 10 ** (-sig)):  # 999,950 rounds up to 1 M, not 1000 k
            return f"{_sig(v / scale, sig)} {suffix}"
    return _sig(v, sig)


def usd(x: object, sig: int = 3) -> str:
    """Money: ``'$ 1.23 B'``, ``'$ 950 k'``, ``'$ 5.46'``, ``'$ 0.0031'``."""
    if not _is_number(x):
        return MISSING
    v = float(x)
    sign = "-" if v < 0 else ""
    a = abs(v)
    if a >= 1e3 * (1 - 0.5 * 10 ** (-sig)):
        return f"{sign}$ {human(a, sig)}"
    if a >= 1:
        return f"{sign}$ {a:.2f}"
    return f"{sign}$ {_sig(a, sig)}"


def _with_units(x: object, units: list[tuple[float, str]], sig: int) -> str:
    """Pick the largest unit that keeps the number >= 1 (units given largest first, in base)."""
    if not _is_number(x):
        return MISSING
    v = float(x)
    for scale, unit in units:
        if abs(v) >= scale * (1 - 0.5 * 10 ** (-sig)):
            return f"{_sig(v / scale, sig)} {unit}"
    scale, unit = units[-1]
    return f"{_sig(v / scale, sig)} {unit}"


def power_mw(x: object, sig: int = 3) -> str:
    """Power given in MW: ``3400 -> '3.4 GW'``, ``84.2 -> '84.2 MW'``, ``0.5 -> '500 kW'``."""
    return _with_units(x, [(1e3, "GW"), (1.0, "MW"), (1e-3, "kW"), (1e-6, "W")], sig)


def energy_mwh(x: object, sig: int = 3) -> str:
    """Energy given in MWh: ``2362416 -> '2.36 TWh'``, ``950 -> '950 MWh'``."""
    return _with_units(x, [(1e6, "TWh"), (1e3, "GWh"), (1.0, "MWh"), (1e-3, "kWh")], sig)


def tonnes_co2(x: object, sig: int = 3) -> str:
    """Emissions given in tonnes CO2: ``537114 -> '537 kt CO₂'``, ``1.2e6 -> '1.2 Mt CO₂'``."""
    return _with_units(x, [(1e6, "Mt CO₂"), (1e3, "kt CO₂"), (1.0, "t CO₂")], sig)


def percent(x: object, decimals: int = 1) -> str:
    """A fraction as a percentage: ``0.99075 -> '99.1 %'``.

    Never rounds a fraction below 1 up to 100 % (``0.99996 -> '> 99.9 %'``) nor one above 0
    down to 0 %, so a small shortfall is never hidden.
    """
    if not _is_number(x):
        return MISSING
    v = float(x) * 100
    text = f"{v:.{decimals}f}"
    top = f"{100:.{decimals}f}"
    step = 10.0**-decimals
    if v < 100 and text == top:
        return f"> {100 - step:.{decimals}f} %"
    if v > 0 and float(text) == 0:
        return f"< {step:.{decimals}f} %"
    return f"{text} %"


def seconds(x: object) -> str:
    """A duration: ``3.21 -> '3.2 s'``, ``0.42 -> '0.42 s'``, ``125 -> '2 min 5 s'``."""
    if not _is_number(x):
        return MISSING
    v = float(x)
    if v < 1:
        return f"{_sig(v, 2)} s"
    if v < 60:
        return f"{v:.1f} s"
    if v < 3600:
        m, s = divmod(round(v), 60)
        return f"{m} min {s} s"
    h, rest = divmod(round(v), 3600)
    return f"{h} h {rest // 60} min"


def exact(x: object) -> str:
    """A number in full with thousands separators, for tables and tooltips.

    Integers (or integral floats) show no decimals; other numbers keep up to 6 significant
    decimals: ``1634263601.41 -> '1,634,263,601.41'``, ``41230 -> '41,230'``.
    """
    if isinstance(x, bool):
        return "yes" if x else "no"
    if not _is_number(x):
        return MISSING if x is None or (isinstance(x, float) and math.isnan(x)) else str(x)
    v = float(x)
    if v.is_integer() and abs(v) < 1e18:
        return f"{int(v):,}"
    a = abs(v)
    if a < 1e-4:
        return f"{v:.3g}"
    decimals = 2 if a >= 100 else max(2, 6 - max(0, math.floor(math.log10(a)) + 1)) if a else 2
    text = f"{v:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


# --------------------------------------------------------------------------------------------
# words for the plan's figures, shared by the HTML report and the terminal summary

METRIC_LABELS: dict[str, str] = {
    "total_cost_usd": "Total cost of the plan (present value)",
    "objective_usd": "Objective (cost + value of lost service and unfinished training)",
    "serving_cost_usd": "Serving cost (present value)",
    "training_cost_usd": "Training cost (present value)",
    "cost_per_million_tokens_usd": "Cost per million tokens (serving only)",
    "cost_per_million_output_tokens_usd": "Cost per million output tokens (serving only)",
    "cost_per_active_user_year_usd": "Serving cost per active user per year",
    "cost_per_resident_served_year_usd": "Serving cost per resident served per year",
    "energy_mwh": "Energy",
    "emissions_tco2": "Emissions",
    "peak_it_power_mw": "Peak IT power",
    "peak_facility_power_mw": "Peak facility power",
    "served_fraction": "Demand served",
    "served_tokens": "Tokens served",
    "accelerators_installed_max": "Accelerators installed",
    "saving_vs_baseline_usd": "Saving against the naive baseline",
    "saving_vs_baseline_pct": "Saving against the naive baseline (%)",
    "saving_vs_baseline_excl_penalties_usd": "Saving against the naive baseline, cost only",
    "saving_vs_baseline_excl_penalties_pct": "Saving against the naive baseline, cost only (%)",
    "cost_per_citizen_year_usd": "Cost per citizen-year (older results)",
}
"""Plain-words name of each key of ``metrics`` (and of ``objective_usd``), the one place the
report and the terminal take them from."""

METRIC_NOTES: dict[str, str] = {
    "total_cost_usd": "capital, energy, O&M, carbon, renewables; lost service not included",
    "objective_usd": "what the optimiser minimises; not a cost",
    "serving_cost_usd": "part of the total cost that serves the services",
    "training_cost_usd": "part of the total cost that trains the campaigns",
    "cost_per_million_tokens_usd": "serving cost / million tokens served, input + output",
    "cost_per_million_output_tokens_usd": "serving cost / million output tokens served",
    "cost_per_active_user_year_usd": "a person using two services counts twice",
    "cost_per_resident_served_year_usd": "residents of regions that at least one service serves",
    "energy_mwh": "facility, whole horizon",
    "emissions_tco2": "grid average, whole horizon",
    "peak_it_power_mw": "all sites together, busiest hour",
    "served_fraction": "share of requests",
    "served_tokens": "input + output, whole horizon",
    "accelerators_installed_max": "at most, in any year",
    "saving_vs_baseline_usd": "lost service valued on both sides",
    "saving_vs_baseline_excl_penalties_usd": "lost service and unfinished training left out",
    "cost_per_citizen_year_usd": "older results: all costs over all regions' population",
}
"""A short qualifier under a metric's label (cards, tooltips)."""

OLDER_METRIC_LABELS: dict[str, str] = {
    "cost_per_million_tokens_usd": "Cost per million tokens (training included)",
    "cost_per_million_output_tokens_usd": "Cost per million output tokens (training included)",
}
"""Labels that differ in results.json files of the older contract (the one with
``cost_per_citizen_year_usd``), whose costs per token included training."""

RELAXATION_LABEL = "continuous relaxation: fractional servers, not a plan you can buy as is"
"""Shown next to every server or accelerator count of a plan solved with fractional servers
(``solve.integer_servers`` false)."""


def metric_label(key: str, older: bool = False) -> str:
    """Plain-words name of a metric key (``served_fraction`` -> ``Demand served``); unknown keys
    are spelled out from the key itself. ``older``: the words for a file of the older contract
    (see :data:`OLDER_METRIC_LABELS`)."""
    if older and key in OLDER_METRIC_LABELS:
        return OLDER_METRIC_LABELS[key]
    if key in METRIC_LABELS:
        return METRIC_LABELS[key]
    words = key.removesuffix("_usd").replace("_", " ")
    return words[:1].upper() + words[1:]


def metric_note(key: str) -> str:
    """The short qualifier of a metric ('' when it needs none)."""
    return METRIC_NOTES.get(key, "")


_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7F, 0xA0)] if c not in (0x0A,)}
"""Control characters (newline kept) shown as ``\\xNN`` so they cannot drive the terminal."""


def plain(x: object) -> str:
    """User text (names, ids, file paths) safe to print with rich: markup such as ``[/]`` is
    escaped and control characters (escape sequences) are shown as ``\\xNN``."""
    from rich.markup import escape

    return escape(str(x).translate(_CONTROL))
