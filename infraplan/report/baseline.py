"""Data for the report's naive-baseline section (optimised plan vs each country alone).

Pure functions of the parsed ``results.json``; the HTML is made in :mod:`infraplan.report.html`.
Every function tolerates a missing or partial ``baseline`` key.
"""

from __future__ import annotations

from typing import Any

from infraplan import fmt
from infraplan.report import data as d

PENALTIES = d.PENALTY_COMPONENTS


def baseline(results: dict[str, Any]) -> dict[str, Any]:
    """The ``baseline`` mapping, or {} when absent or empty."""
    b = results.get("baseline")
    return b if isinstance(b, dict) and b.get("total_usd") is not None else {}


def optimised_figures(results: dict[str, Any]) -> dict[str, float | None]:
    """The optimised plan's figures compared with the baseline's."""
    m = d.obj(results, "metrics")
    costs = d.cost_components(results)
    total = d.number(results.get("objective_usd"))
    penalties = sum(costs.get(k, 0.0) for k in PENALTIES)
    excl = d.total_cost(results)
    return {
        "total": total,
        "excl": excl,
        "penalties": penalties if costs else None,
        **_metric_figures(m),
    }


def _metric_figures(m: dict[str, Any]) -> dict[str, float | None]:
    """Figures read from a ``metrics`` mapping (the plan's or the baseline's)."""
    return {
        "per_mtok": d.number(m.get("cost_per_million_tokens_usd")),
        "served": d.number(m.get("served_fraction")),
        "accelerators": d.number(m.get("accelerators_installed_max")),
        "peak_it": d.number(m.get("peak_it_power_mw")),
        "energy": d.number(m.get("energy_mwh")),
        "emissions": d.number(m.get("emissions_tco2")),
    }


def baseline_figures(b: dict[str, Any]) -> dict[str, float | None]:
    """The same figures for the baseline mapping."""
    m = d.obj(b, "metrics")
    costs = d.obj(b, "costs_usd")
    penalties = sum(d.number(costs.get(k)) or 0.0 for k in PENALTIES)
    return {
        "total": d.number(b.get("total_usd")),
        "excl": d.number(b.get("total_excl_penalties_usd")),
        "penalties": penalties if costs else None,
        **_metric_figures(m),
    }


ROWS: list[tuple[str, str, Any]] = [
    ("total", f"{fmt.metric_label('objective_usd')} (USD)", fmt.usd),
    ("excl", f"{fmt.metric_label('total_cost_usd')} (USD)", fmt.usd),
    ("penalties", "Value of lost service and unfinished training (USD)", fmt.usd),
    ("per_mtok", f"{fmt.metric_label('cost_per_million_tokens_usd')} (USD)", fmt.usd),
    ("served", fmt.metric_label("served_fraction"), fmt.percent),
    ("accelerators", "Accelerators installed (peak year)", fmt.human),
    ("peak_it", fmt.metric_label("peak_it_power_mw"), fmt.power_mw),
    ("energy", "Energy over the horizon", fmt.energy_mwh),
    ("emissions", "Emissions over the horizon", fmt.tonnes_co2),
]
"""Rows of the comparison: figure key, label (words from :data:`infraplan.fmt.METRIC_LABELS`),
formatter. ``total`` is the objective, ``excl`` the total cost of the plan."""


def comparison_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows: figure, optimised, baseline, difference (baseline minus optimised), formatted."""
    b = baseline(results)
    if not b:
        return []
    opt, base = optimised_figures(results), baseline_figures(b)
    rows = []
    for key, label, f in ROWS:
        if key == "per_mtok" and d.older_metrics(results):
            label = f"{fmt.metric_label('cost_per_million_tokens_usd', older=True)} (USD)"
        o, n = opt[key], base[key]
        if o is None and n is None:
            continue
        diff = None if o is None or n is None else n - o
        if key == "served" and diff is not None:
            shown = f"{100 * diff:+.2f} points"
        elif diff is None:
            shown = fmt.MISSING
        else:
            shown = ("+" if diff > 0 else "") + f(diff) if diff else "0"
        rows.append(
            {
                "figure": label,
                "optimised": f(o),
                "baseline": f(n),
                "difference": shown,
                "optimised_exact": o,
                "baseline_exact": n,
            }
        )
    return rows


def saving_sentence(results: dict[str, Any]) -> str:
    """One plain-words sentence on the saving against the baseline ('' without one)."""
    b = baseline(results)
    m = d.obj(results, "metrics")
    s = d.number(m.get("saving_vs_baseline_usd"))
    if not b or s is None:
        return ""
    pct = d.number(m.get("saving_vs_baseline_pct")) or 0.0
    s2 = d.number(m.get("saving_vs_baseline_excl_penalties_usd"))
    pct2 = d.number(m.get("saving_vs_baseline_excl_penalties_pct"))
    verb = "saves" if s >= 0 else "costs"
    text = (
        f"Planned together, the plan {verb} {fmt.usd(abs(s))} ({abs(pct):.1f} %) against the "
        "naive baseline in which each country builds alone for its own peak, with lost service "
        "and unfinished training valued the same way on both sides."
    )
    if s2 is not None and pct2 is not None:
        word = "lower" if s2 >= 0 else "higher"
        text += (
            f" The total cost of the plan, lost service and unfinished training left out, is "
            f"{fmt.usd(abs(s2))} ({abs(pct2):.1f} %) {word}"
        )
        opt, base = optimised_figures(results), baseline_figures(b)
        if opt["served"] is not None and base["served"] is not None:
            text += (
                f", while the plan serves {fmt.percent(opt['served'], 2)} of requests against "
                f"{fmt.percent(base['served'], 2)}"
            )
        text += "."
    return text


def country_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The baseline's per-country choices, with the servers of the last year."""
    rows = []
    for r in baseline(results).get("countries") or []:
        if not isinstance(r, dict):
            continue
        servers = d.obj(r, "servers")
        peak = d.obj(r, "peak_servers")
        last = max(servers, key=lambda y: int(y)) if servers else None
        site = str(r.get("site") or "")
        if "nearest" in str(r.get("site_choice") or ""):
            site += " (nearest; no site in the country)"
        rows.append(
            {
                "country": r.get("country_name") or r.get("country"),
                "site": site,
                "accelerator": r.get("accelerator"),
                "first_year": r.get("first_year"),
                "peak_last": d.number(peak.get(last)) if last is not None else None,
                "servers_last": d.number(servers.get(last)) if last is not None else None,
                "accelerators_max": d.number(r.get("accelerators_max")),
                "served": d.number(r.get("served_fraction")),
                "cost": d.number(r.get("cost_usd")),
            }
        )
    return rows
