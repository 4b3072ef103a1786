"""Words for explanations: money, counts, lists and clock times as people write them."""

from __future__ import annotations


def money(x: float) -> str:
    """``1234567 -> '1.23 M USD'``, ``41.2 -> '41 USD'``."""
    a = abs(x)
    for lim, suf in ((1e12, " T"), (1e9, " B"), (1e6, " M")):
        if a >= lim:
            return f"{x / lim:.3g}{suf} USD"
    if a >= 100:
        return f"{x:,.0f} USD"
    if a >= 1:
        return f"{x:.3g} USD"
    return f"{x:.2g} USD"


def num(x: float) -> str:
    """``1234.5 -> '1,234'``, ``790e6 -> '790 M'``, ``0.25 -> '0.25'``."""
    a = abs(x)
    for lim, suf in ((1e12, " T"), (1e9, " B"), (1e6, " M")):
        if a >= lim:
            return f"{x / lim:.3g}{suf}"
    if a >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def clock(h: float) -> str:
    """Hours since midnight -> ``'HH:MM'`` (24:00 kept for an end of day)."""
    h = h % 24 if h != 24 else 24
    hh, mm = int(h), round((h - int(h)) * 60)
    if mm == 60:
        hh, mm = hh + 1, 0
    return f"{hh:02d}:{mm:02d}"


def utc_label(offset: float) -> str:
    """``4 -> 'UTC+4'``, ``5.5 -> 'UTC+5:30'``, ``0 -> 'UTC'``."""
    if offset == 0:
        return "UTC"
    sign = "+" if offset > 0 else "-"
    a = abs(offset)
    hh, mm = int(a), round((a - int(a)) * 60)
    return f"UTC{sign}{hh}" + (f":{mm:02d}" if mm else "")


def hour_spans(hours: set[int]) -> list[tuple[int, int]]:
    """Covered UTC hours -> circular contiguous spans ``(start, end)`` (end exclusive, may be
    beyond 24 when a span crosses midnight). All 24 hours give ``[(0, 24)]``."""
    hs = sorted(h % 24 for h in hours)
    if not hs:
        return []
    if len(hs) == 24:
        return [(0, 24)]
    spans: list[list[int]] = []
    for h in hs:
        if spans and h == spans[-1][1]:
            spans[-1][1] = h + 1
        else:
            spans.append([h, h + 1])
    if len(spans) > 1 and spans[0][0] == 0 and spans[-1][1] == 24:  # wraps around midnight
        first = spans.pop(0)
        spans[-1][1] = 24 + first[1]
    return [(a, b) for a, b in spans]


def spans_text(hours: set[int], offset: float) -> str:
    """``{14..17}``, offset 4 -> ``'18:00-22:00 UTC+4'``; every hour -> ``'all day'``."""
    spans = hour_spans(hours)
    if spans == [(0, 24)]:
        return "all day"
    parts = [f"{clock((a + offset) % 24)}-{clock((b + offset) % 24 or 24)}" for a, b in spans]
    return ", ".join(parts) + f" {utc_label(offset)}"


def words_list(items: list[str], limit: int = 4) -> str:
    """``['a', 'b', 'c'] -> 'a, b and c'`` (at most ``limit`` shown)."""
    items = list(items)
    if len(items) > limit:
        return ", ".join(items[:limit]) + f" and {len(items) - limit} more"
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def region_label(regions: object, region: str, country_names: dict[str, str] | None = None) -> str:
    """A region's display name (with its country's name when the name is just the id)."""
    import pandas as pd

    regs = regions if isinstance(regions, pd.DataFrame) else None
    if regs is None or region not in regs.index:
        return str(region)
    name = str(regs.loc[region, "name"] or region)
    if name == region and country_names:
        cname = country_names.get(str(regs.loc[region, "country"]))
        if cname:
            return f"{region} ({cname})"
    return name


def service_label(service: str) -> str:
    """``'health-triage' -> 'health triage'``."""
    return str(service).replace("-", " ").replace("_", " ")
