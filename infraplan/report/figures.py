"""Plotly figures of a plan, built from a parsed ``results.json``.

Every builder returns ``None`` when the results lack the data it needs, so partial files give
fewer charts rather than an error. :func:`build_figures` is the public entry point.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any, cast

import pandas as pd
import plotly.graph_objects as go  # type: ignore[import-untyped]  # plotly ships no types

from infraplan import fmt
from infraplan.report import data as d

log = logging.getLogger(__name__)

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
PALETTE = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
    "#d62728",
]
SERVICE_PALETTE = ["#66c2a5", "#fc8d62", "#8da0cb", "#e78ac3", "#a6d854", "#ffd92f", "#b3b3b3"]
COST_COLOURS = {
    "it_capex": "#1f77b4",
    "facility_capex": "#9ecae1",
    "energy": "#ff7f0e",
    "om": "#2ca02c",
    "unserved_penalty": "#d62728",
    "training_shortfall": "#e377c2",
    "site_opening": "#9467bd",
    "carbon": "#7f7f7f",
    "renewables": "#bcbd22",
}
SERVED_COLOUR = "#2ca02c"
UNSERVED_COLOUR = "#d62728"
FLOW_COLOUR = "rgba(230, 110, 20, 0.55)"
REGION_COLOUR = "rgba(70, 90, 120, 0.35)"

FIGURE_TITLES: dict[str, str] = {
    "map": "Sites, regions and where each region is served from",
    "buildout": "Accelerators brought online, by year and accelerator",
    "cost_components": "Objective by component: costs and value of lost service (present value)",
    "cost_by_year": "Objective by year and component (present value)",
    "site_load": "IT power used and installed, by site and hour (UTC)",
    "utilisation": "Utilisation of installed IT capacity, by site and hour (UTC)",
    "demand": "Demand by service and hour (UTC), all regions",
    "served": "Served and unserved requests per year by service",
    "data_map": "Where each service's data may be served (rule packs, residency, latency)",
}


_AXIS = {
    "gridcolor": "#e9edf2",
    "linecolor": "#c9d1db",
    "zerolinecolor": "#c9d1db",
    "ticks": "",
    "automargin": True,
}
TEMPLATE: dict[str, Any] = {
    "layout": {
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "colorway": PALETTE,
        "xaxis": _AXIS,
        "yaxis": _AXIS,
        "hovermode": "closest",
    }
}
"""A small white template (the built-in ``plotly_white`` is slow to copy and large to embed)."""


def _base_layout(fig: go.Figure, title: str, height: int = 420) -> go.Figure:
    """Apply the report's common look: title top left, legend at the bottom, B for billions."""
    fig.update_layout(
        template=TEMPLATE,
        title={
            "text": title,
            "x": 0,
            "xanchor": "left",
            "xref": "container",
            "y": 0.985,
            "yanchor": "top",
            "yref": "container",
            "font": {"size": 16},
            "pad": {"l": 10},
        },
        font={"family": FONT, "size": 13},
        height=height,
        margin={"l": 60, "r": 20, "t": 70, "b": 40},
        legend={
            "orientation": "h",
            "yref": "container",
            "y": 0,
            "yanchor": "bottom",
            "x": 0,
            "xanchor": "left",
        },
        hoverlabel={"font": {"family": FONT}},
    )
    # "B" writes 1.6B for billions where SI would write 1.6G
    fig.update_xaxes(exponentformat="B")
    fig.update_yaxes(exponentformat="B")
    return fig


def _relaxation_subtitle(fig: go.Figure, results: dict[str, Any]) -> go.Figure:
    """Put :data:`infraplan.fmt.RELAXATION_LABEL` under the title of a chart that shows server or
    accelerator counts of a plan with fractional servers (so a saved PNG carries it too)."""
    if d.relaxed(results):
        fig.update_layout(
            title_subtitle={"text": fmt.RELAXATION_LABEL, "font": {"size": 13, "color": "#a15c00"}}
        )
        fig.update_layout(margin_t=fig.layout.margin.t + 22)
    return fig


def _colour_map(keys: list[str], palette: list[str] = PALETTE) -> dict[str, str]:
    """Stable colour per key."""
    return {k: palette[i % len(palette)] for i, k in enumerate(keys)}


def _year_selector(fig: go.Figure, trace_years: list[int], years: list[int]) -> None:
    """Show the last year's traces and add one button per year when there are several."""
    if not years:
        return
    last = years[-1]
    for trace, y in zip(fig.data, trace_years, strict=True):
        trace.visible = y == last
    if len(years) < 2:
        return
    buttons = [
        {
            "label": str(y),
            "method": "update",
            "args": [{"visible": [ty == y for ty in trace_years]}],
        }
        for y in years
    ]
    fig.update_layout(
        updatemenus=[
            {
                "type": "buttons",
                "direction": "right",
                "buttons": buttons,
                "active": len(years) - 1,
                "x": 1.0,
                "xanchor": "right",
                "y": 1.01,
                "yanchor": "bottom",
                "pad": {"r": 0, "t": 0},
                "showactive": True,
            }
        ]
    )


def _num(df: pd.DataFrame, *cols: str) -> pd.DataFrame:
    """Copy of ``df`` with ``cols`` coerced to numbers (bad cells become NaN, then 0)."""
    out = df.copy()
    for c in cols:
        out[c] = pd.to_numeric(out[c], errors="coerce").fillna(0.0)
    return out


def _year_ints(df: pd.DataFrame) -> pd.DataFrame:
    """Rows with a numeric ``year``, as int."""
    out = df.copy()
    out["year"] = pd.to_numeric(out["year"], errors="coerce")
    out = out.dropna(subset=["year"])
    out["year"] = out["year"].astype(int)
    return out


def fig_buildout(results: dict[str, Any]) -> go.Figure | None:
    """Stacked bars: new accelerators per year by accelerator; line: accelerators installed."""
    build = d.table(results, "build")
    if not d.has_columns(build, "year", "accelerator", "accelerators"):
        return None
    build = _year_ints(_num(build, "accelerators"))
    site_names = d.names(results, "sites")
    ys = sorted(set(d.years(results)) | set(build["year"]))
    xs = [str(y) for y in ys]
    accels = sorted(build["accelerator"].astype(str).unique())
    colours = _colour_map(accels)
    fig = go.Figure()
    for acc in accels:
        sub = build[build["accelerator"].astype(str) == acc]
        values, hovers = [], []
        for y in ys:
            rows = sub[sub["year"] == y]
            total = float(rows["accelerators"].sum())
            values.append(total)
            lines = [f"<b>{acc}</b>, online in {y}: {fmt.exact(total)} accelerators"]
            if "site" in rows.columns:
                per_site = rows.groupby(rows["site"].astype(str))["accelerators"].sum()
                lines += [
                    f"{d.label(site_names, s)}: {fmt.exact(v)}" for s, v in per_site.items() if v
                ]
            hovers.append("<br>".join(lines))
        fig.add_bar(
            name=acc,
            x=xs,
            y=values,
            marker_color=colours[acc],
            hovertext=hovers,
            hovertemplate="%{hovertext}<extra></extra>",
        )
    installed = d.table(results, "installed")
    if d.has_columns(installed, "year", "accelerators"):
        inst = _year_ints(_num(installed, "accelerators")).groupby("year")["accelerators"].sum()
        fig.add_scatter(
            name="Installed in total",
            x=[str(y) for y in inst.index],
            y=inst.to_numpy(),
            mode="lines+markers",
            line={"color": "#333", "dash": "dot"},
            hovertemplate="Installed in %{x}: %{y:,.0f} accelerators<extra></extra>",
        )
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title="Year capacity comes online", type="category")
    fig.update_yaxes(title="Accelerators")
    return _relaxation_subtitle(_base_layout(fig, FIGURE_TITLES["buildout"]), results)


def fig_cost_components(results: dict[str, Any]) -> go.Figure | None:
    """Horizontal bars of the discounted cost components (largest on top)."""
    comps = d.cost_components(results)
    if not comps:
        return None
    items = sorted(comps.items(), key=lambda kv: kv[1])
    fig = go.Figure(
        go.Bar(
            x=[v for _, v in items],
            y=[d.cost_label(k) for k, _ in items],
            orientation="h",
            marker_color=[COST_COLOURS.get(k, "#7f7f7f") for k, _ in items],
            text=[fmt.usd(v) for _, v in items],
            textposition="auto",
            customdata=[fmt.exact(v) for _, v in items],
            hovertemplate="%{y}: $ %{customdata}<extra></extra>",
        )
    )
    fig.update_xaxes(title="USD, present value", tickprefix="$ ")
    fig.update_yaxes(automargin=True)
    return _base_layout(fig, FIGURE_TITLES["cost_components"], height=340)


def fig_cost_by_year(results: dict[str, Any]) -> go.Figure | None:
    """Stacked bars of discounted cost components per year; markers for undiscounted totals."""
    cby = d.table(results, "costs_by_year")
    if not d.has_columns(cby, "year"):
        return None
    cby = _year_ints(cby)
    comp_cols = [
        c
        for c in cby.columns
        if c.endswith("_usd") and c not in ("total_usd", "total_undiscounted_usd")
    ]
    if not comp_cols:
        return None
    cby = _num(cby, *comp_cols).sort_values("year")
    xs = [str(y) for y in cby["year"]]
    fig = go.Figure()
    for c in comp_cols:
        key = c.removesuffix("_usd")
        vals = cby[c].to_numpy()
        if not any(vals):
            continue
        fig.add_bar(
            name=d.cost_label(key),
            x=xs,
            y=vals,
            marker_color=COST_COLOURS.get(key),
            customdata=[fmt.exact(v) for v in vals],
            hovertemplate=f"{d.cost_label(key)}, %{{x}}: $ %{{customdata}}<extra></extra>",
        )
    if "total_undiscounted_usd" in cby.columns:
        und = pd.to_numeric(cby["total_undiscounted_usd"], errors="coerce")
        fig.add_scatter(
            name="Total, not discounted",
            x=xs,
            y=und,
            mode="markers",
            marker={"symbol": "line-ew-open", "size": 28, "color": "#333", "line": {"width": 2}},
            customdata=[fmt.exact(v) for v in und],
            hovertemplate="Total %{x}, not discounted: $ %{customdata}<extra></extra>",
        )
    fig.update_layout(barmode="relative")
    fig.update_xaxes(title="Year", type="category")
    fig.update_yaxes(title="USD", tickprefix="$ ")
    return _base_layout(fig, FIGURE_TITLES["cost_by_year"])


def fig_site_load(results: dict[str, Any]) -> go.Figure | None:
    """Per site: IT power used (solid) and installed IT capacity (dashed) over 24 UTC hours."""
    sl = d.table(results, "site_load")
    if not d.has_columns(sl, "year", "hour_utc", "site", "it_power_mw"):
        return None
    cols = ["hour_utc", "it_power_mw"] + (["it_capacity_mw"] if "it_capacity_mw" in sl else [])
    sl = _year_ints(_num(sl, *cols)).sort_values(["year", "site", "hour_utc"])
    sl["site"] = sl["site"].astype(str)
    # sites with no capacity and no load in any year are candidates the plan did not use
    active = sl[cols[1:]].max(axis=1) > 0
    used = set(sl.loc[active, "site"])
    sl = sl[sl["site"].isin(used)] if used else sl
    site_names = d.names(results, "sites")
    sites = sorted(sl["site"].unique())
    colours = _colour_map(sites)
    ys = sorted(sl["year"].unique())
    fig = go.Figure()
    trace_years: list[int] = []
    for y in ys:
        for s in sites:
            sub = sl[(sl["year"] == y) & (sl["site"].astype(str) == s)]
            if sub.empty:
                continue
            name = _short(d.label(site_names, s), 30)
            fig.add_scatter(
                name=f"{name}: used",
                legendgroup=s,
                x=sub["hour_utc"],
                y=sub["it_power_mw"],
                mode="lines",
                line={"color": colours[s], "width": 2.5},
                hovertemplate=f"{name}, {y}, %{{x}}:00 UTC<br>IT power used: %{{y:,.2f}} MW"
                "<extra></extra>",
            )
            trace_years.append(int(y))
            if "it_capacity_mw" in sub:
                fig.add_scatter(
                    name=f"{name}: installed",
                    legendgroup=s,
                    x=sub["hour_utc"],
                    y=sub["it_capacity_mw"],
                    mode="lines",
                    line={"color": colours[s], "width": 1.5, "dash": "dash"},
                    hovertemplate=f"{name}, {y}, %{{x}}:00 UTC<br>IT capacity installed: "
                    "%{y:,.2f} MW<extra></extra>",
                )
                trace_years.append(int(y))
    _year_selector(fig, trace_years, [int(y) for y in ys])
    fig.update_xaxes(title="Hour of day (UTC)", dtick=3, range=[-0.5, 23.5])
    fig.update_yaxes(title="IT power (MW)", rangemode="tozero")
    return _base_layout(fig, FIGURE_TITLES["site_load"], height=460)


def fig_utilisation(results: dict[str, Any]) -> go.Figure | None:
    """Heatmap site x hour of IT power used / installed IT capacity (%), one per year."""
    sl = d.table(results, "site_load")
    if not d.has_columns(sl, "year", "hour_utc", "site", "it_power_mw", "it_capacity_mw"):
        return None
    sl = _year_ints(_num(sl, "hour_utc", "it_power_mw", "it_capacity_mw"))
    cap = sl["it_capacity_mw"].where(sl["it_capacity_mw"] > 0)
    sl["util"] = (100 * sl["it_power_mw"] / cap).round(1)
    site_names = d.names(results, "sites")
    ys = sorted(sl["year"].unique())
    fig = go.Figure()
    for y in ys:
        piv = sl[sl["year"] == y].pivot_table(
            index="site", columns="hour_utc", values="util", aggfunc="mean"
        )
        piv = piv.reindex(columns=sorted(piv.columns))
        fig.add_heatmap(
            z=piv.to_numpy(),
            x=[int(h) for h in piv.columns],
            y=[_short(d.label(site_names, s), 30) for s in piv.index],
            zmin=0,
            zmax=100,
            colorscale="YlOrRd",
            colorbar={"title": {"text": "%"}},
            name=str(y),
            hovertemplate=f"%{{y}}, {y}, %{{x}}:00 UTC<br>utilisation %{{z:.1f}} %<extra></extra>",
        )
    _year_selector(fig, [int(y) for y in ys], [int(y) for y in ys])
    n_sites = sl["site"].nunique()
    fig.update_xaxes(title="Hour of day (UTC)", dtick=3)
    fig.update_yaxes(automargin=True)
    return _base_layout(fig, FIGURE_TITLES["utilisation"], height=max(260, 140 + 40 * n_sites))


def fig_demand(results: dict[str, Any]) -> go.Figure | None:
    """Stacked areas of requests/s by service over 24 UTC hours (all regions), one per year.

    Reads ``demand_by_service``; an older file's hourly ``demand`` (per region) is summed over
    regions instead, which gives the same curves.
    """
    cols = ("year", "hour_utc", "service", "requests_per_s")
    dem = d.table(results, "demand_by_service")
    if not d.has_columns(dem, *cols):
        dem = d.table(results, "demand")
    if not d.has_columns(dem, *cols):
        return None
    dem = _year_ints(_num(dem, "hour_utc", "requests_per_s"))
    dem["service"] = dem["service"].astype(str)
    agg = dem.groupby(["year", "service", "hour_utc"], as_index=False)["requests_per_s"].sum()
    services = sorted(agg["service"].unique())
    colours = _colour_map(services, SERVICE_PALETTE)
    ys = sorted(agg["year"].unique())
    fig = go.Figure()
    trace_years: list[int] = []
    for y in ys:
        for s in services:
            sub = agg[(agg["year"] == y) & (agg["service"] == s)].sort_values("hour_utc")
            if sub.empty:
                continue
            fig.add_scatter(
                name=s,
                legendgroup=s,
                x=sub["hour_utc"],
                y=sub["requests_per_s"],
                mode="lines",
                stackgroup=f"y{y}",
                line={"color": colours[s], "width": 1},
                hovertemplate=f"{s}, {y}, %{{x}}:00 UTC: %{{y:,.1f}} requests/s<extra></extra>",
            )
            trace_years.append(int(y))
    _year_selector(fig, trace_years, [int(y) for y in ys])
    fig.update_xaxes(title="Hour of day (UTC)", dtick=3, range=[0, 23])
    fig.update_yaxes(title="Requests per second")
    return _base_layout(fig, FIGURE_TITLES["demand"])


SERVED_COLUMNS = ["year", "service", "demanded", "served", "unserved"]


def served_table(results: dict[str, Any]) -> pd.DataFrame:
    """Requests per year by year and service: demanded, served, unserved.

    From ``served_by_service``, whose yearly totals the planner weighs by the hours each
    representative block stands for; the report never adds up hourly rows itself. Where
    ``served_requests`` is missing it is demanded minus unserved. Empty when the run found no
    plan or the table is absent (an older file).
    """
    cols = SERVED_COLUMNS
    if str(results.get("status")) in ("infeasible", "error"):
        return pd.DataFrame(columns=cols)
    sbs = d.table(results, "served_by_service")
    if not d.has_columns(sbs, "year", "service", "demanded_requests"):
        return pd.DataFrame(columns=cols)
    have = [c for c in ("demanded_requests", "served_requests", "unserved_requests") if c in sbs]
    sbs = _year_ints(_num(sbs, *have))
    sbs["service"] = sbs["service"].astype(str)
    g = sbs.groupby(["year", "service"])[have].sum()
    demanded = g["demanded_requests"]
    if "served_requests" in g and "unserved_requests" in g:
        served, unserved = g["served_requests"], g["unserved_requests"]
    elif "served_requests" in g:
        served = g["served_requests"]
        unserved = (demanded - served).clip(lower=0.0)
    else:
        unserved = g["unserved_requests"] if "unserved_requests" in g else 0.0 * demanded
        served = (demanded - unserved).clip(lower=0.0)
    out = pd.DataFrame({"demanded": demanded, "served": served, "unserved": unserved})
    out = out.reset_index()
    return out[cols].sort_values(["year", "service"]).reset_index(drop=True)


def fig_served(results: dict[str, Any]) -> go.Figure | None:
    """Served and unserved requests per year by service (and year).

    One year: a bar per service, served (green) with unserved (red) on top. Several years: for
    each year a group of bars, one per service in its colour, with unserved in red on top.
    Traces carry ``meta`` ``"served"`` or ``"unserved"``.
    """
    tab = served_table(results)
    if tab.empty:
        return None
    tab = tab.assign(
        share=[
            fmt.percent(s / t) if t else fmt.MISSING
            for s, t in zip(tab["served"], tab["demanded"], strict=True)
        ]
    )
    fig = go.Figure()

    def custom(sub: pd.DataFrame, col: str) -> list[tuple]:
        return list(
            zip(
                [fmt.exact(round(v)) for v in sub[col]],
                sub["share"],
                sub["year"],
                sub["service"],
                strict=True,
            )
        )

    def hover(what: str) -> str:
        return (
            f"%{{customdata[3]}}, %{{customdata[2]}}: {what} %{{customdata[0]}} requests in "
            "the year<br>share served: %{customdata[1]}<extra></extra>"
        )

    years = sorted(tab["year"].unique())
    if len(years) == 1:
        for col, name, colour in (
            ("served", "Served", SERVED_COLOUR),
            ("unserved", "Not served", UNSERVED_COLOUR),
        ):
            fig.add_bar(
                name=name,
                x=tab["service"].tolist(),
                y=tab[col],
                marker_color=colour,
                meta=col,
                customdata=custom(tab, col),
                hovertemplate=hover(name.lower()),
            )
        fig.update_layout(barmode="stack")
        title = f"{FIGURE_TITLES['served']} ({int(years[0])})"
    else:
        services = sorted(tab["service"].unique())
        colours = _colour_map(services, SERVICE_PALETTE)
        any_unserved = bool((tab["unserved"] > 0).any())
        for i, svc in enumerate(services):
            sub = tab[tab["service"] == svc].sort_values("year")
            xs = [str(y) for y in sub["year"]]
            fig.add_bar(
                name=svc,
                x=xs,
                y=sub["served"],
                offsetgroup=svc,
                legendgroup=svc,
                marker_color=colours[svc],
                meta="served",
                customdata=custom(sub, "served"),
                hovertemplate=hover("served"),
            )
            fig.add_bar(
                name="Not served",
                x=xs,
                y=sub["unserved"],
                base=sub["served"].to_numpy(),
                offsetgroup=svc,
                marker_color=UNSERVED_COLOUR,
                legendgroup="unserved",
                showlegend=any_unserved and i == 0,
                meta="unserved",
                customdata=custom(sub, "unserved"),
                hovertemplate=hover("not served"),
            )
        fig.update_layout(barmode="group", bargap=0.25, bargroupgap=0.06)
        fig.update_xaxes(type="category", title="Year")
        title = f"{FIGURE_TITLES['served']} and year (red: not served)"
    fig.update_yaxes(title="Requests per year")
    return _base_layout(fig, title)


def _map_range(
    lons: list[float], lats: list[float], aspect: float = 2.2
) -> tuple[list[float], list[float]]:
    """Longitude and latitude ranges around the points: padded, at least 40 x 20 degrees, and
    widened to about ``aspect`` degrees of longitude per degree of latitude to fill the width."""
    lo_min, lo_max = min(lons), max(lons)
    la_min, la_max = min(lats), max(lats)
    pad_lo = max(6.0, 0.1 * (lo_max - lo_min))
    pad_la = max(5.0, 0.1 * (la_max - la_min))
    lo_span = max(40.0, lo_max - lo_min + 2 * pad_lo)
    la_span = max(20.0, la_max - la_min + 2 * pad_la)
    lo_span = max(lo_span, aspect * la_span)
    la_span = max(la_span, lo_span / aspect)
    lo_mid, la_mid = (lo_min + lo_max) / 2, (la_min + la_max) / 2
    lo_span, la_span = min(lo_span, 360.0), min(la_span, 180.0)
    lo_mid = min(max(lo_mid, -180 + lo_span / 2), 180 - lo_span / 2)
    la_mid = min(max(la_mid, -90 + la_span / 2), 90 - la_span / 2)
    return (
        [lo_mid - lo_span / 2, lo_mid + lo_span / 2],
        [la_mid - la_span / 2, la_mid + la_span / 2],
    )


def geo_midpoint(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    """Midpoint (lon, lat) of the great circle from ``a`` to ``b`` (plotly draws geo lines as
    great circles, so a hover marker must sit there rather than at the mean of the degrees)."""
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    bx = math.cos(lat2) * math.cos(lon2 - lon1)
    by = math.cos(lat2) * math.sin(lon2 - lon1)
    lat = math.atan2(math.sin(lat1) + math.sin(lat2), math.hypot(math.cos(lat1) + bx, by))
    lon = lon1 + math.atan2(by, math.cos(lat1) + bx)
    return (math.degrees(lon) + 540) % 360 - 180, math.degrees(lat)


def _located(df: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``df`` with numeric ``lat``/``lon``."""
    if not d.has_columns(df, "id", "lat", "lon"):
        return pd.DataFrame(columns=["id", "lat", "lon"])
    out = df.copy()
    out["lat"] = pd.to_numeric(out["lat"], errors="coerce")
    out["lon"] = pd.to_numeric(out["lon"], errors="coerce")
    out["id"] = out["id"].astype(str)
    return out.dropna(subset=["lat", "lon"])


FLOW_COLUMNS = ["region", "site", "requests_per_s", "peak_requests_per_s"]


def flows_last_year(results: dict[str, Any]) -> pd.DataFrame:
    """Requests/s each region sends to each site in the last year: mean and busiest hour.

    From ``flows`` (``mean_requests_per_s``, ``peak_requests_per_s``). An older file's hourly
    ``dispatch`` gives the mean over its rows' hours instead (no peak). ``attrs["year"]`` is the
    year shown.
    """
    cols = FLOW_COLUMNS
    flows = d.table(results, "flows")
    if d.has_columns(flows, "year", "region", "site", "mean_requests_per_s"):
        peak = ["peak_requests_per_s"] if "peak_requests_per_s" in flows else []
        df = _year_ints(_num(flows, "mean_requests_per_s", *peak))
        if df.empty:
            return pd.DataFrame(columns=cols)
        last = df["year"].max()
        sub = df[df["year"] == last]
        keys = [sub["region"].astype(str), sub["site"].astype(str)]
        out = sub.groupby(keys)[["mean_requests_per_s", *peak]].sum().reset_index()
        out = out.rename(columns={"mean_requests_per_s": "requests_per_s"})
        if not peak:
            out["peak_requests_per_s"] = float("nan")
    else:
        dis = d.table(results, "dispatch")
        if not d.has_columns(dis, "year", "hour_utc", "region", "site", "requests_per_s"):
            return pd.DataFrame(columns=cols)
        dis = _year_ints(_num(dis, "requests_per_s"))
        if dis.empty:
            return pd.DataFrame(columns=cols)
        last = dis["year"].max()
        sub = dis[dis["year"] == last]
        n_hours = max(1, pd.to_numeric(sub["hour_utc"], errors="coerce").nunique())
        keys = [sub["region"].astype(str), sub["site"].astype(str)]
        out = (sub.groupby(keys)["requests_per_s"].sum() / n_hours).reset_index()
        out["peak_requests_per_s"] = float("nan")
    out = out[out["requests_per_s"] > 0][cols].reset_index(drop=True)
    out.attrs["year"] = int(last)
    return out


def _world_geo(fig: go.Figure, lon_range: Any, lat_range: Any) -> None:
    """The offline world base map (scope world, 110 m, embedded by the report) over a range."""
    fig.update_geos(
        scope="world",
        resolution=110,
        projection_type="natural earth",
        lonaxis_range=lon_range,
        lataxis_range=lat_range,
        showland=True,
        landcolor="#f2efe9",
        showocean=True,
        oceancolor="#e6f0f7",
        showcountries=True,
        countrycolor="#b9b4aa",
        showcoastlines=True,
        coastlinecolor="#8a8a8a",
        showlakes=False,
        showframe=False,
    )


def fig_map(results: dict[str, Any]) -> go.Figure | None:
    """Scattergeo map: sites by country, regions by population, lines for region->site flows.

    Uses the ``world`` scope at 110 m resolution, whose base map the HTML report embeds (see
    :mod:`infraplan.report.html`), so nothing is fetched when it is drawn.
    """
    sites = _located(d.table(results, "sites"))
    regions = _located(d.table(results, "regions"))
    if sites.empty and regions.empty:
        return None
    ys = d.years(results)
    last = ys[-1] if ys else None
    fig = go.Figure()

    # flows first so that markers sit on top of the lines
    flows = flows_last_year(results)
    pos: dict[tuple[str, str], tuple[float, float]] = {}
    for kind, located in (("site", sites), ("region", regions)):
        for r in located.itertuples():
            # ids are str and lon/lat numeric (see _located); lon/lat go into the figure as read
            pos[(kind, str(r.id))] = cast("tuple[float, float]", (r.lon, r.lat))
    site_names = d.names(results, "sites")
    region_names = d.names(results, "regions")
    if not flows.empty:
        fmax = float(flows["requests_per_s"].max())
        first = True
        mid_lon, mid_lat, mid_text = [], [], []
        for f in flows.itertuples():
            a = pos.get(("region", str(f.region)))  # region and site are str (flows_last_year)
            b = pos.get(("site", str(f.site)))
            if a is None or b is None:
                continue
            rps = cast(float, f.requests_per_s)  # numeric (flows_last_year)
            width = 1.0 + 9.0 * math.sqrt(rps / fmax) if fmax > 0 else 1.0
            peak = d.number(f.peak_requests_per_s)
            peak_txt = (
                f", {fmt.exact(round(peak, 1))} at the busiest hour" if peak is not None else ""
            )
            text = (
                f"{d.label(region_names, f.region)} → {d.label(site_names, f.site)}: "
                f"{fmt.exact(round(rps, 1))} requests/s on average{peak_txt} "
                f"({flows.attrs.get('year', '')})"
            )
            fig.add_scattergeo(
                lon=[a[0], b[0]],
                lat=[a[1], b[1]],
                mode="lines",
                line={"width": width, "color": FLOW_COLOUR},
                name="Served from (width = requests/s)",
                legendgroup="flows",
                showlegend=first,
                hoverinfo="skip",
            )
            first = False
            mlon, mlat = geo_midpoint(a, b)
            mid_lon.append(mlon)
            mid_lat.append(mlat)
            mid_text.append(text)
        if mid_lon:
            fig.add_scattergeo(
                lon=mid_lon,
                lat=mid_lat,
                mode="markers",
                marker={"size": 7, "color": FLOW_COLOUR},
                name="flow",
                legendgroup="flows",
                showlegend=False,
                hovertext=mid_text,
                hovertemplate="%{hovertext}<extra></extra>",
            )

    if not regions.empty:
        # The column is expected: without it to_numeric(None) gives a scalar and, as before, the
        # map fails here (build_figures_with_notes puts a note in its place).
        population = cast("pd.Series", regions.get("population"))
        pop = pd.to_numeric(population, errors="coerce").fillna(0.0)
        pmax = float(pop.max()) if len(pop) else 0.0
        sizes = [10 + 30 * math.sqrt(p / pmax) if pmax > 0 else 14 for p in pop]
        texts = [
            f"<b>{d.label(region_names, r)}</b> (region, {c})<br>population {fmt.human(p)}"
            for r, c, p in zip(
                regions["id"], regions.get("country", [""] * len(regions)), pop, strict=True
            )
        ]
        fig.add_scattergeo(
            lon=regions["lon"],
            lat=regions["lat"],
            mode="markers",
            marker={
                "size": sizes,
                "color": REGION_COLOUR,
                "line": {"width": 1, "color": "rgb(70, 90, 120)"},
            },
            name="Regions (size = population)",
            hovertext=texts,
            hovertemplate="%{hovertext}<extra></extra>",
        )

    lons = list(sites["lon"]) + list(regions["lon"])
    lats = list(sites["lat"]) + list(regions["lat"])
    lon_range, lat_range = _map_range(lons, lats)

    if not sites.empty:
        acc = _site_accelerators(results, last)
        amax = max(acc.values()) if acc else 0.0
        labelled = _labelled_sites(sites, acc, 0.06 * (lon_range[1] - lon_range[0]))
        countries = (
            sites["country"].astype(str) if "country" in sites else pd.Series(["?"] * len(sites))
        )
        colours = _colour_map(sorted(countries.unique()))
        for country in sorted(countries.unique()):
            sub = sites[countries.to_numpy() == country]
            sizes, texts = [], []
            for r in sub.to_dict("records"):
                n = acc.get(r["id"], 0.0)
                sizes.append(10 + 30 * math.sqrt(n / amax) if amax > 0 else 12)
                texts.append(_site_hover(r, n, last, site_names))
            fig.add_scattergeo(
                lon=sub["lon"],
                lat=sub["lat"],
                mode="markers+text",
                text=[_short(d.label(site_names, s)) if s in labelled else "" for s in sub["id"]],
                textposition="top center",
                textfont={"size": 11, "color": "#222"},
                marker={
                    "size": sizes,
                    "color": colours[country],
                    "symbol": "square",
                    "line": {"width": 1, "color": "white"},
                    "opacity": 0.8,
                },
                name=f"Sites in {country} (size = accelerators)",
                hovertext=texts,
                hovertemplate="%{hovertext}<extra></extra>",
            )

    _world_geo(fig, lon_range, lat_range)
    title = FIGURE_TITLES["map"] + (f" ({flows.attrs['year']})" if "year" in flows.attrs else "")
    fig = _base_layout(fig, title, height=600)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return _relaxation_subtitle(fig, results)


def _labelled_sites(sites: pd.DataFrame, acc: dict[str, float], min_deg: float) -> set[str]:
    """Sites that get a text label: biggest first, skipping any within ``min_deg`` degrees of
    one already labelled (the others are named on hover), so labels do not overlap."""
    order = sorted(sites.itertuples(), key=lambda r: -acc.get(str(r.id), 0.0))
    placed: list[tuple[float, float]] = []
    out: set[str] = set()
    for r in order:
        lon, lat = cast("tuple[float, float]", (r.lon, r.lat))  # numeric (see _located)
        if all(math.hypot(lon - lo, lat - la) >= min_deg for lo, la in placed):
            placed.append((lon, lat))
            out.add(str(r.id))
    return out


def _short(text: str, n: int = 24) -> str:
    """``text`` cut to ``n`` characters with an ellipsis (map labels)."""
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def _site_accelerators(results: dict[str, Any], year: int | None) -> dict[str, float]:
    """Accelerators installed per site in ``year`` (from ``installed``, else summed ``build``)."""
    inst = d.table(results, "installed")
    if d.has_columns(inst, "site", "year", "accelerators"):
        inst = _year_ints(_num(inst, "accelerators"))
        yr = year if year is not None and (inst["year"] == year).any() else inst["year"].max()
        sub = inst[inst["year"] == yr]
        return {str(k): float(v) for k, v in sub.groupby("site")["accelerators"].sum().items()}
    build = d.table(results, "build")
    if d.has_columns(build, "site", "year", "accelerators"):
        build = _year_ints(_num(build, "accelerators"))
        if year is not None:
            build = build[build["year"] <= year]
        return {str(k): float(v) for k, v in build.groupby("site")["accelerators"].sum().items()}
    return {}


def _site_hover(row: dict[str, Any], n_acc: float, year: int | None, names: dict[str, str]) -> str:
    """Hover text of a site marker."""
    lines = [f"<b>{d.label(names, row['id'])}</b> (site, {row.get('country', '?')})"]
    lines.append(f"accelerators installed{f' in {year}' if year else ''}: {fmt.exact(n_acc)}")
    for key, lab, f in (
        ("power_cap_mw", "grid power available", fmt.power_mw),
        ("pue", "PUE", fmt.exact),
        ("power_price_usd_mwh", "power price, USD/MWh", fmt.exact),
        ("carbon_g_kwh", "grid carbon, gCO₂/kWh", fmt.exact),
    ):
        v = d.number(row.get(key))
        if v is not None:
            lines.append(f"{lab}: {f(v)}")
    return "<br>".join(lines)


def fig_data_map(results: dict[str, Any]) -> go.Figure | None:
    """Map overlay for the Governance section: for each service, dotted lines from its regions
    to every site its data may be served from (after residency rules, the packs' included, and
    the latency budget); click a service in the legend to show it alone."""
    gov = results.get("governance") or {}
    zones = d.table(results, "zones")
    if not gov.get("packs") or zones.empty or "allowed_sites" not in zones:
        return None
    sites = _located(d.table(results, "sites"))
    regions = _located(d.table(results, "regions"))
    pos: dict[tuple[str, str], tuple[float, float]] = {}
    for kind, located in (("site", sites), ("region", regions)):
        for r in located.itertuples():
            pos[(kind, str(r.id))] = (float(cast(float, r.lon)), float(cast(float, r.lat)))
    services = sorted({s for v in zones["services"].astype(str) for s in v.split(";")})
    colours = _colour_map(services)
    fig = go.Figure()
    for svc in services:
        lon: list[float | None] = []
        lat: list[float | None] = []
        for z in zones.itertuples():
            if svc not in str(z.services).split(";"):
                continue
            for rid in str(z.regions).split(";"):
                for sid in str(z.allowed_sites).split(";"):
                    a, b = pos.get(("region", rid)), pos.get(("site", sid))
                    if a is None or b is None:
                        continue
                    lon += [a[0], b[0], None]
                    lat += [a[1], b[1], None]
        if lon:
            fig.add_scattergeo(lon=lon, lat=lat, mode="lines", name=svc,
                               line={"width": 1.5, "color": colours[svc], "dash": "dot"},
                               hoverinfo="skip")
    fig.add_scattergeo(lon=sites["lon"], lat=sites["lat"], mode="markers+text",
                       text=list(sites["id"]), textposition="top center",
                       marker={"size": 10, "symbol": "square", "color": "#555"}, name="sites",
                       hovertemplate="%{text}<extra></extra>")
    fig.add_scattergeo(lon=regions["lon"], lat=regions["lat"], mode="markers",
                       text=list(regions["id"]), marker={"size": 12, "color": REGION_COLOUR},
                       name="regions", hovertemplate="%{text}<extra></extra>")
    lon_range, lat_range = _map_range(list(sites["lon"]) + list(regions["lon"]),
                                      list(sites["lat"]) + list(regions["lat"]))
    _world_geo(fig, lon_range, lat_range)
    fig = _base_layout(fig, FIGURE_TITLES["data_map"], height=520)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return fig


BUILDERS: dict[str, Callable[[dict[str, Any]], go.Figure | None]] = {
    "map": fig_map,
    "buildout": fig_buildout,
    "cost_components": fig_cost_components,
    "cost_by_year": fig_cost_by_year,
    "site_load": fig_site_load,
    "utilisation": fig_utilisation,
    "demand": fig_demand,
    "served": fig_served,
    "data_map": fig_data_map,
}


def build_figures_with_notes(
    results: dict[str, Any],
) -> tuple[dict[str, go.Figure], dict[str, str]]:
    """All figures the results allow, plus a note per figure that failed to build."""
    figures: dict[str, go.Figure] = {}
    notes: dict[str, str] = {}
    for name, builder in BUILDERS.items():
        try:
            fig = builder(results)
        except Exception as exc:  # a malformed file must not stop the whole report
            log.warning("report: chart %r could not be drawn: %s", name, exc)
            notes[name] = f"This chart could not be drawn from the results ({exc})."
            continue
        if fig is not None:
            figures[name] = fig
    return figures, notes


def build_figures(results: dict[str, Any]) -> dict[str, go.Figure]:
    """Plotly figures of a plan, keyed by name (``map``, ``buildout``, ``cost_components``,
    ``cost_by_year``, ``site_load``, ``utilisation``, ``demand``, ``served``; ``data_map``
    with rule packs).

    Figures whose data are missing from ``results`` are left out.
    """
    return build_figures_with_notes(results)[0]
