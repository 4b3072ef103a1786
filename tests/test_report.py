"""Tests of the HTML report (infraplan.report) on a hand-made results.json."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import pytest
from plotly.offline import get_plotlyjs

from infraplan import fmt
from infraplan.report import SECTIONS, build_figures, render_html, write_report
from infraplan.report.figures import BUILDERS, _map_range, build_figures_with_notes
from infraplan.report.html import (
    TOPOJSON_NAME,
    hour_ranges,
    linkify,
    status_sentence,
    topojson_text,
    unserved_summary,
    used_pairs,
)

FIXTURE = Path(__file__).parent / "fixtures" / "results_small.json"
ASSET = Path(__file__).parents[1] / "infraplan" / "report" / "assets" / "world_110m.json"


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    """The hand-made results.json."""
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def page(results: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> str:
    """The fixture's report, written to disk and read back."""
    path = write_report(results, tmp_path_factory.mktemp("report") / "sub" / "report.html")
    assert path.exists()
    return path.read_text(encoding="utf-8")


def own_part(page: str) -> str:
    """The page without the embedded plotly.js bundle (whose source names its CDN)."""
    bundle = get_plotlyjs()
    assert page.count(bundle) == 1, "plotly.js must be embedded exactly once"
    return page.replace(bundle, "")


# ------------------------------------------------------------------------------ fixture sanity

NEW_TABLES = (
    "demand_by_service",
    "served_by_service",
    "served_by_region",
    "unserved_hours",
    "flows",
    "serving_summary",
)
"""The small pre-aggregated tables of the results.json contract (the hourly ones are Parquet)."""


def test_fixture_follows_contract(results: dict[str, Any]) -> None:
    """The fixture is internally consistent the way docs/results.md promises."""
    costs = results["costs_usd"]
    objective = results["objective_usd"]
    assert abs(sum(costs.values()) - objective) / objective < 1e-6
    m = results["metrics"]
    penalties = costs.get("unserved_penalty", 0) + costs.get("training_shortfall", 0)
    assert m["total_cost_usd"] + penalties == pytest.approx(objective)
    assert m["serving_cost_usd"] + m["training_cost_usd"] == pytest.approx(m["total_cost_usd"])
    assert "cost_per_citizen_year_usd" not in m
    assert results["solve"]["integer_servers"] is True
    assert {r["id"] for r in results["regions"]} == {"uae", "saudi", "france"}
    assert len(results["sites"]) == 3
    assert {r["accelerator"] for r in results["capacity"]} == {"h100-sxm", "mi300x"}
    assert len(results["services"]) == 2
    assert results["scenario"]["years"] == [2027, 2030]
    # the hourly tables are files beside results.json now; site_load stays
    assert not {"demand", "dispatch", "serving", "unserved"} & set(results)
    assert results["site_load"]
    for key in NEW_TABLES:
        assert results[key], key
    assert {r["hour_utc"] for r in results["demand_by_service"]} == set(range(24))
    assert results["explanations"]
    # served + unserved = demanded, by service and by region; regions add up to services
    by_service: dict[tuple, list[int]] = {}
    for r in results["served_by_region"]:
        assert r["served_requests"] + r["unserved_requests"] == r["demanded_requests"]
        assert r["served_share"] == pytest.approx(r["served_requests"] / r["demanded_requests"])
        acc = by_service.setdefault((r["year"], r["service"]), [0, 0, 0])
        acc[0] += r["demanded_requests"]
        acc[1] += r["served_requests"]
        acc[2] += r["unserved_requests"]
    for r in results["served_by_service"]:
        assert r["served_requests"] + r["unserved_requests"] == r["demanded_requests"]
        assert by_service[(r["year"], r["service"])] == [
            r["demanded_requests"],
            r["served_requests"],
            r["unserved_requests"],
        ]
    served = sum(r["served_requests"] for r in results["served_by_service"])
    demanded = sum(r["demanded_requests"] for r in results["served_by_service"])
    assert served / demanded == pytest.approx(m["served_fraction"], abs=1e-5)
    # every unserved_hours row is an unserved (region, service, year) of served_by_region
    lost = {
        (r["region"], r["service"], r["year"]): r["unserved_requests"]
        for r in results["served_by_region"]
        if r["unserved_requests"]
    }
    assert {
        (r["region"], r["service"], r["year"]): r["unserved_requests"]
        for r in results["unserved_hours"]
    } == lost
    for r in results["flows"]:
        assert 0 < r["mean_requests_per_s"] <= r["peak_requests_per_s"]


# ------------------------------------------------------------------------------ the full page


def test_page_is_offline(page: str) -> None:
    """Nothing is fetched: no script/link/img/iframe sources, no URL outside text links."""
    own = own_part(page)
    assert not re.search(r"<script[^>]*\bsrc\s*=", own, re.I)
    assert not re.search(r"<(link|img|iframe|source|embed|object)\b", own, re.I)
    assert "@import" not in own
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", own)
    without_links = re.sub(r"<a\b[^>]*>.*?</a>", "", own, flags=re.S | re.I)
    assert not re.search(r"https?://", without_links)
    assert "fetch(" not in own
    # the one external link (an assumption's source) is still shown as a text link
    assert '<a href="https://www.thenationalnews.com/"' in own


def test_page_has_every_section(page: str) -> None:
    """Each section has its anchor and an entry in the table of contents."""
    for sid in SECTIONS:
        assert f'<section id="{sid}">' in page
        assert f'href="#{sid}"' in page


def test_page_embeds_topojson(page: str) -> None:
    """The base map sits where plotly.js looks before fetching, before any figure script."""
    marker = f'window.PlotlyGeoAssets.topojson["{TOPOJSON_NAME}"] = '
    assert TOPOJSON_NAME == "world_110m"
    start = page.index(marker) + len(marker)
    end = page.index(";\n</script>", start)
    embedded = json.loads(page[start:end].replace("<\\/", "</"))
    assert embedded == json.loads(ASSET.read_text(encoding="utf-8"))
    assert {"coastlines", "land", "countries", "ocean"} <= set(embedded["objects"])
    assert page.index(marker) < page.index("Plotly.newPlot")
    assert page.index(get_plotlyjs()) < page.index(marker)


# the fixture names no rule packs: the Governance section's map is not drawn
PLAN_FIGURES = [n for n in BUILDERS if n != "data_map"]


def test_page_has_each_figure(page: str) -> None:
    """One plotly figure (div and JSON) per chart, plotly.js once; no governance map without
    rule packs."""
    for name in PLAN_FIGURES:
        assert f'id="fig-{name}"' in page
    assert 'id="fig-data_map"' not in page
    assert page.count("Plotly.newPlot(") == len(PLAN_FIGURES)
    assert '"type":"scattergeo"' in page.replace(" ", "")


def test_page_content(page: str, results: dict[str, Any]) -> None:
    """Key figures, status, warning, capacity figures, explanations in order."""
    assert "<h1>gulf-europe-small</h1>" in page
    assert (
        "Optimal plan found in 3.2 s (41,230 variables, 38,114 constraints) — whole servers, "
        "within 0.4 % of the best possible plan (proven); no plan can have an objective below "
        "$ 3.02 B." in page
    )
    assert "84.2 MW" in page
    assert "2.36 TWh" in page
    assert "99.1 %" in page
    assert "62.1 k" in page
    assert 'class="callout warn"' in page
    assert "Saudi Arabia" in page
    assert '<a href="#explanations">' in page
    # the per-server capacity the plan used, with its configuration and J/token
    assert "fp8 tp2 pp1 x4 per server, batch 64" in page
    assert ">1.7<" in page  # 10,200 W / 6,000 tokens/s
    # explanations sorted by impact, largest first
    texts = sorted(results["explanations"], key=lambda r: -(r["impact_usd"] or 0))
    positions = [page.index(linkify(r["text"])) for r in texts]
    assert positions == sorted(positions)
    assert "Natural Earth" in page
    assert fmt.RELAXATION_LABEL not in page  # whole servers


def cards(page: str) -> dict[str, tuple[str, str]]:
    """Key-figure cards of a page: label -> (value, sub-line), as shown (HTML-escaped)."""
    found = re.findall(
        r'<div class="card[^"]*"[^>]*><div class="label">(.*?)</div>'
        r'<div class="value">(.*?)</div>(?:<div class="sub">(.*?)</div>)?',
        page,
    )
    return {label: (value, sub) for label, value, sub in found}


def test_key_figures(page: str) -> None:
    """One total cost everywhere, the objective apart, serving-only unit costs, the split."""
    c = cards(page)
    label = fmt.metric_label
    assert c[label("total_cost_usd")][0] == "$ 2.87 B"
    assert "serving $ 2.87 B + training $ 0" in c[label("total_cost_usd")][1]
    assert c[label("objective_usd")][0] == "$ 3.03 B"
    assert "value of lost service" in c[label("objective_usd")][1]
    assert c[label("serving_cost_usd")] == ("$ 2.87 B", "training $ 0 (0.0 % of the total)")
    assert c[label("cost_per_million_tokens_usd")] == (
        "$ 0.997",
        "$ 4.29 per million output tokens (serving only)",
    )
    assert c[label("cost_per_active_user_year_usd")] == (
        "$ 41.37",
        "a person using two services counts twice",
    )
    assert c[label("cost_per_resident_served_year_usd")][0] == "$ 27.09"
    assert label("cost_per_million_tokens_usd") == "Cost per million tokens (serving only)"
    assert label("total_cost_usd") == "Total cost of the plan (present value)"
    assert label("objective_usd") == (
        "Objective (cost + value of lost service and unfinished training)"
    )
    # the objective is never called the total cost, and the old per-citizen figure is gone
    assert "Total discounted cost" not in page
    assert "citizen-year" not in page.lower()
    i = page.index('<section id="costs">')
    part = page[i : page.index("</section>", i)]
    assert "Objective (cost + value of lost service and unfinished training)</td>" in part
    assert "Total cost of the plan (present value)</td>" in part
    assert "The components add up to the objective." in part


def test_serving_training_split(results: dict[str, Any]) -> None:
    """A plan with training shows the split on the cards and in the cost table."""
    res = copy.deepcopy(results)
    m = res["metrics"]
    m["training_cost_usd"] = 400e6
    m["serving_cost_usd"] = m["total_cost_usd"] - 400e6
    page = render_html(res)
    c = cards(page)
    assert c[fmt.metric_label("serving_cost_usd")] == (
        "$ 2.47 B",
        "training $ 400 M (13.9 % of the total)",
    )
    assert "serving $ 2.47 B + training $ 400 M" in c[fmt.metric_label("total_cost_usd")][1]
    assert "metrics.training_cost_usd" in page


def section_of(page: str, sid: str) -> str:
    """The HTML of one section."""
    i = page.index(f'<section id="{sid}">')
    return page[i : page.index("</section>", i)]


def test_demand_by_service_is_drawn(results: dict[str, Any]) -> None:
    """The demand chart is demand_by_service as it stands (no summing over hours)."""
    fig = build_figures(results)["demand"]
    last = [t for t in fig.data if t.visible]
    rows = [r for r in results["demand_by_service"] if r["year"] == 2030]
    assert {t.name for t in last} == {r["service"] for r in rows}
    for t in last:
        want = sorted((r["hour_utc"], r["requests_per_s"]) for r in rows if r["service"] == t.name)
        assert list(t.x) == [h for h, _ in want]
        assert list(t.y) == pytest.approx([v for _, v in want])


def test_served_by_service_is_shown(page: str, results: dict[str, Any]) -> None:
    """Yearly totals straight from served_by_service, in the chart and the table."""
    part = section_of(page, "served")
    assert "Requested per year" in part
    row = next(
        r
        for r in results["served_by_service"]
        if (r["year"], r["service"]) == (2030, "health-triage")
    )
    for key in ("demanded_requests", "served_requests", "unserved_requests"):
        assert f">{fmt.exact(row[key])}<" in part
    assert ">97.7 %<" in part
    fig = build_figures(results)["served"]
    served = sum(sum(t.y) for t in fig.data if t.meta == "served")
    assert served == sum(r["served_requests"] for r in results["served_by_service"])
    assert fig.layout.yaxis.title.text == "Requests per year"


def test_served_by_region_is_shown(page: str) -> None:
    """The by-region table: Saudi health triage in 2030 is 94.2 % served."""
    part = section_of(page, "served")
    assert "<summary>By region</summary>" in part
    assert ">600,994,337,220<" in part
    assert ">94.2 %<" in part


def test_unserved_hours_are_shown(page: str, results: dict[str, Any]) -> None:
    """unserved_hours gives the hours, the peak and the yearly loss; served_by_region the
    demand it belongs to."""
    assert len(unserved_summary(results)) == 1
    part = section_of(page, "unserved")
    assert "10:00–13:00 UTC" in part
    assert ">12,022.77<" in part
    assert ">36,785,154,060<" in part
    assert ">637,779,491,280<" in part  # requested, from served_by_region
    assert ">5.8 %<" in part
    assert "unserved.parquet" in part
    warning = section_of(page, "summary")
    assert "(up to 12,023 requests/s, 10:00–13:00 UTC)" in warning


def test_flows_are_shown(page: str, results: dict[str, Any]) -> None:
    """Map lines and the flows table: last year, mean and busiest hour from flows."""
    part = section_of(page, "map")
    assert "Where each region is served from (2030)" in part
    assert ">32,894.78<" in part
    assert ">61,923.32<" in part
    fig = build_figures(results)["map"]
    hovers = [h for t in fig.data if t.name == "flow" for h in t.hovertext]
    assert (
        "Saudi Arabia → Abu Dhabi: 32,894.8 requests/s on average, 61,923.3 at the busiest "
        "hour (2030)" in hovers
    )
    assert len(hovers) == sum(1 for r in results["flows"] if r["year"] == 2030)


def test_serving_summary_is_shown(page: str, results: dict[str, Any]) -> None:
    """Where each workload is served, and which capacity rows count as used."""
    part = section_of(page, "capacity")
    assert "Where each workload is served" in part
    assert ">167,836,694,400<" in part
    assert ">1,379.6<" in part
    assert used_pairs(results) == {
        ("gov-assistant", "h100-sxm"),
        ("gov-assistant", "mi300x"),
        ("health-triage", "h100-sxm"),
        ("health-triage", "mi300x"),
    }
    # a workload serving two services (";"-joined), and one that serves nothing
    res = copy.deepcopy(results)
    res["serving_summary"] = [
        {
            "year": 2030,
            "site": "abu-dhabi",
            "accelerator": "h100-sxm",
            "workload": "llama3.1-70b/shared",
            "services": "gov-assistant;health-triage",
            "requests_per_year": 5.0,
            "peak_servers_busy": 1.0,
        },
        {
            "year": 2030,
            "site": "lulea",
            "accelerator": "mi300x",
            "workload": "gov-assistant",
            "services": "gov-assistant",
            "requests_per_year": 0.0,
            "peak_servers_busy": 0.0,
        },
    ]
    assert used_pairs(res) == {("gov-assistant", "h100-sxm"), ("health-triage", "h100-sxm")}
    assert "gov-assistant, health-triage" in render_html(res)


RELAXED_PARTS = ("summary", "buildout", "plan", "capacity")
"""Sections that show server or accelerator counts of the fixture."""


def test_relaxation_label(results: dict[str, Any]) -> None:
    """Fractional servers: the label is on the status line, the cards, the charts and every
    table of counts; whole servers: nowhere."""
    res = copy.deepcopy(results)
    res["solve"]["integer_servers"] = False
    res["solve"].pop("bound_usd")
    page = render_html(res)
    cls, sentence = status_sentence(res)
    assert cls == "ok"  # optimal for what it is; the label says what it is
    assert sentence.endswith(f"— {fmt.RELAXATION_LABEL}.")
    assert "within 0.4 %" not in sentence
    for sid in RELAXED_PARTS:
        assert fmt.RELAXATION_LABEL in section_of(page, sid), sid
    assert fmt.RELAXATION_LABEL in section_of(page, "map")  # sites table
    assert 'Servers <span class="badge warn">fractional</span>' in page
    figs = build_figures(res)
    for name in ("buildout", "map"):
        assert figs[name].layout.title.subtitle.text == fmt.RELAXATION_LABEL
    # whole servers: no label anywhere, no subtitle
    res["solve"]["integer_servers"] = True
    page = render_html(res)
    assert fmt.RELAXATION_LABEL not in page
    assert build_figures(res)["buildout"].layout.title.subtitle.text is None
    # a file from before integer_servers: fractional counts say it
    res["solve"].pop("integer_servers")
    res["build"][0]["servers"] = 899.5
    assert fmt.RELAXATION_LABEL in render_html(res)
    res["build"][0]["servers"] = 900
    assert fmt.RELAXATION_LABEL not in render_html(res)


def old_style(results: dict[str, Any]) -> dict[str, Any]:
    """The fixture as an older planner wrote it: hourly tables inside, no aggregated tables,
    ``cost_per_citizen_year_usd``, no ``integer_servers``."""
    res = copy.deepcopy(results)
    for key in NEW_TABLES:
        res.pop(key)
    for key in ("serving_cost_usd", "training_cost_usd", "cost_per_active_user_year_usd"):
        res["metrics"].pop(key)
    res["metrics"].pop("cost_per_resident_served_year_usd")
    res["metrics"]["cost_per_citizen_year_usd"] = 5.4623
    res["solve"].pop("integer_servers")
    res["solve"].pop("bound_usd")
    res["demand"] = [
        {**r, "region": "uae"} for r in results["demand_by_service"]
    ]  # all demand in one region, for simplicity
    res["dispatch"] = [
        {
            "year": r["year"],
            "hour_utc": h,
            "region": r["region"],
            "service": "gov-assistant",
            "site": r["site"],
            "requests_per_s": r["mean_requests_per_s"],
        }
        for r in results["flows"]
        for h in range(24)
    ]
    res["unserved"] = [
        {
            "year": r["year"],
            "hour_utc": h,
            "region": r["region"],
            "service": r["service"],
            "requests_per_s": r["peak_unserved_requests_per_s"],
        }
        for r in results["unserved_hours"]
        for h in r["hours_utc"]
    ]
    res["serving"] = [
        {
            "year": r["year"],
            "hour_utc": 0,
            "workload": r["workload"],
            "site": r["site"],
            "accelerator": r["accelerator"],
            "requests_per_s": 1.0,
            "servers_busy": r["peak_servers_busy"],
        }
        for r in results["serving_summary"]
    ]
    return res


def test_old_style_file_renders(results: dict[str, Any]) -> None:
    """An older results.json still gives a page: rates from its hourly tables, notes where
    yearly volumes would need the planner's weights."""
    res = old_style(results)
    figs, notes = build_figures_with_notes(res)
    assert notes == {}
    assert "served" not in figs  # volumes per year are not in an older file
    assert {"demand", "map", "buildout", "site_load"} <= set(figs)
    demand = [t for t in figs["demand"].data if t.visible]
    new = [t for t in build_figures(results)["demand"].data if t.visible]
    assert [list(t.y) for t in demand] == [list(t.y) for t in new]
    assert [t for t in figs["map"].data if t.name == "flow"]  # lines from the hourly dispatch
    page = render_html(res)
    for sid in SECTIONS:
        assert f'<section id="{sid}">' in page
    assert "older format" in section_of(page, "served")
    unserved = section_of(page, "unserved")
    assert "10:00–13:00 UTC" in unserved
    assert "Every unserved hour" in unserved
    assert "Cost per citizen-year (older results)" in page  # in "All metrics, exact"
    # its costs per token included training: the words say so, not "serving only"
    assert "Cost per million tokens (training included)" in page
    assert "serving only" not in page
    assert fmt.RELAXATION_LABEL not in page  # whole server counts
    assert used_pairs(res) == used_pairs(results)  # workloads matched through the services


@pytest.mark.parametrize("key", NEW_TABLES)
def test_file_without_a_table_renders(key: str, results: dict[str, Any]) -> None:
    """Each new table missing on its own: the page renders and says what is missing."""
    res = {k: v for k, v in results.items() if k != key}
    figs, notes = build_figures_with_notes(res)
    assert notes == {}
    page = render_html(res)
    for sid in SECTIONS:
        assert f'<section id="{sid}">' in page
    note = f"These results have no {key} table"
    if key == "served_by_region":  # its only use is the by-region table and the demand column
        assert "<summary>By region</summary>" not in page
        assert "10:00–13:00 UTC" in section_of(page, "unserved")
    else:
        assert note in page
    if key == "served_by_service":
        assert "served" not in figs
    if key == "demand_by_service":
        assert "demand" not in figs


def test_user_strings_stay_escaped(results: dict[str, Any]) -> None:
    """Names, ids, sources and texts from the scenario never become markup."""
    evil = '<script>alert("x")</script>'
    res = copy.deepcopy(results)
    res["scenario"]["name"] = evil
    res["scenario"]["description"] = evil
    res["sites"][0]["name"] = evil
    res["regions"][1]["name"] = evil
    res["assumptions"][0]["source"] = f"{evil} https://example.org/a?b=<c>"
    res["explanations"][0]["text"] = evil
    for key in ("serving_summary", "unserved_hours", "served_by_region", "served_by_service"):
        for r in res[key]:
            if key == "serving_summary":
                r["workload"] = evil
                r["services"] = f"{evil};gov-assistant"
            else:
                r["service"] = evil if r["service"] == "health-triage" else r["service"]
    page = own_part(render_html(res))
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "<c>" not in page  # the link stops before the markup, which stays text


def test_build_figures(results: dict[str, Any]) -> None:
    """All charts build from the fixture; the map uses the embedded world 110 m base map."""
    figs, notes = build_figures_with_notes(results)
    assert notes == {}
    assert set(figs) == set(PLAN_FIGURES)
    assert all(isinstance(f, go.Figure) for f in figs.values())
    geo = figs["map"].layout.geo
    assert (geo.scope, geo.resolution) == ("world", 110)  # -> "world_110m" in plotly.js
    kinds = {t.type for t in figs["map"].data}
    assert kinds == {"scattergeo"}
    # build-out: stacked bars per accelerator; totals match the build table
    bars = [t for t in figs["buildout"].data if t.type == "bar"]
    assert {t.name for t in bars} == {"h100-sxm", "mi300x"}
    assert sum(sum(t.y) for t in bars) == sum(r["accelerators"] for r in results["build"])
    # year selector: last year visible first
    load = figs["site_load"]
    assert load.layout.updatemenus
    assert len(load.layout.updatemenus[0].buttons) == 2
    assert all(t.visible == ("2030" in t.hovertemplate) for t in load.data)


# ------------------------------------------------------------------------------ edge cases


def test_empty_and_garbage_results_render() -> None:
    """No keys at all, or wrong types, still give a page with every section."""
    for res in (
        {},
        {"status": None, "scenario": None, "metrics": "x", "build": "x", "sites": [1, 2]},
        {"sites": [{"id": "a", "lat": "n/a", "lon": None}], "demand": [{"year": "x"}]},
    ):
        page = render_html(res)
        for sid in SECTIONS:
            assert f'id="{sid}"' in page
    with pytest.raises(TypeError):
        render_html([])  # type: ignore[arg-type]


@pytest.mark.parametrize("status", ["infeasible", "error"])
def test_no_plan(status: str, results: dict[str, Any]) -> None:
    """Infeasible or failed runs: a plain-words message, explanations, no charts or tables."""
    res = {
        "infraplan_version": "0.1.0",
        "scenario": results["scenario"],
        "status": status,
        "termination": "infeasible" if status == "infeasible" else "solver crashed",
        "objective_usd": float("nan"),  # as the planner writes a run without a plan
        "costs_usd": {},
        "metrics": {},
        "regions": results["regions"],
        "sites": results["sites"],
        "demand_by_service": results["demand_by_service"],  # input tables are still written
        "capacity": results["capacity"],
        "explanations": [
            {
                "kind": "unserved",
                "text": "Health triage in Saudi Arabia cannot be served by any allowed site.",
                "impact_usd": None,
                "constraint": "demand[saudi,health-triage]",
                "shadow_price": None,
            }
        ],
        "assumptions": [],
        "solve": {"build_s": 0.5, "solve_s": 0.1, "n_variables": 100},
    }
    page = render_html(res)
    assert 'class="badge bad"' in page
    if status == "infeasible":
        assert "No plan can meet all the constraints" in page
        assert "cannot be served by any allowed site" in page
    else:
        assert "The run failed (solver crashed)" in page
    assert "No plan was found" in page
    assert "All demand is served" not in page  # no plan is not a plan that serves everything
    assert 'class="cards"' not in page
    assert 'id="fig-buildout"' not in page
    assert 'id="fig-served"' not in page  # demand is known, but nothing was served
    assert 'id="fig-map"' in page  # sites, regions and demand are inputs, still shown
    assert 'id="fig-demand"' in page
    assert "fp8 tp2 pp1 x4 per server, batch 64" in page


def test_everything_unserved(results: dict[str, Any]) -> None:
    """Nothing served, nothing built: served 0 %, the unserved table lists every demand."""
    res = copy.deepcopy(results)
    for key in ("build", "installed", "site_load", "flows", "serving_summary"):
        res[key] = []
    for key in ("served_by_service", "served_by_region"):
        for r in res[key]:
            r["served_requests"], r["unserved_requests"] = 0, r["demanded_requests"]
    for r in res["served_by_region"]:
        r["served_share"] = 0.0
    res["unserved_hours"] = [
        {
            "region": r["region"],
            "service": r["service"],
            "year": r["year"],
            "hours_utc": list(range(24)),
            "peak_unserved_requests_per_s": 1000.0,
            "unserved_requests": r["demanded_requests"],
            "unserved_share": 1.0,
        }
        for r in res["served_by_region"]
    ]
    res["metrics"]["served_fraction"] = 0.0
    figs, notes = build_figures_with_notes(res)
    assert notes == {}
    assert {"buildout", "site_load", "utilisation"}.isdisjoint(figs)
    served = figs["served"]
    assert sum(sum(t.y) for t in served.data if t.meta == "served") == 0
    assert sum(sum(t.y) for t in served.data if t.meta == "unserved") > 0
    page = render_html(res)
    assert "100.0 % of the requested demand is not served" in page
    assert "and 9 more" in page  # 12 (year, region, service) groups, 3 named
    assert "all day" in section_of(page, "unserved")
    assert len(unserved_summary(res)) == 12
    assert "The plan serves no requests." in section_of(page, "capacity")


def test_one_year_one_site(results: dict[str, Any]) -> None:
    """A single year and a single site: no year buttons, plain service axis, map still fits."""
    res = copy.deepcopy(results)
    res["scenario"]["years"] = [2030]
    res["sites"] = [s for s in res["sites"] if s["id"] == "abu-dhabi"]
    for key in (*NEW_TABLES, "site_load", "installed", "build"):
        res[key] = [
            r for r in res[key] if r["year"] == 2030 and r.get("site", "abu-dhabi") == "abu-dhabi"
        ]
    res["costs_by_year"] = [r for r in res["costs_by_year"] if r["year"] == 2030]
    figs, notes = build_figures_with_notes(res)
    assert notes == {}
    assert not figs["site_load"].layout.updatemenus
    assert isinstance(figs["served"].data[0].x[0], str)
    page = render_html(res)
    assert "Horizon 2030 (modelled year 2030)" in page


def test_missing_optional_keys(results: dict[str, Any]) -> None:
    """Older or partial results: drop groups of keys and columns; the page still renders."""
    groups = [
        ("costs_by_year", "capacity", "assumptions", "solve", "serving_summary"),
        ("metrics", "objective_usd", "costs_usd", "explanations", "installed", "flows"),
        ("regions", "demand_by_service", "site_load", "termination", "infraplan_version"),
        ("sites", "build", "unserved_hours", "scenario", "served_by_region"),
        NEW_TABLES,
    ]
    for group in groups:
        res = {k: v for k, v in results.items() if k not in group}
        page = render_html(res)
        for sid in SECTIONS:
            assert f'id="{sid}"' in page, (group, sid)
    # columns missing from rows
    res = copy.deepcopy(results)
    for row in res["site_load"]:
        row.pop("it_capacity_mw")
    for row in res["sites"]:
        row.pop("country")
    for row in res["build"]:
        row.pop("site")
    for row in res["flows"]:
        row.pop("peak_requests_per_s")
    for row in res["served_by_service"]:
        row.pop("served_requests")
    for row in res["unserved_hours"]:
        row.pop("unserved_share")
        row["hours_utc"] = "10;11"  # a string instead of a list
    for row in res["serving_summary"]:
        row.pop("services")
    figs, notes = build_figures_with_notes(res)
    assert notes == {}
    assert "utilisation" not in figs
    assert "site_load" in figs
    assert "map" in figs
    assert sum(sum(t.y) for t in figs["served"].data if t.meta == "served") == sum(
        r["demanded_requests"] - r["unserved_requests"] for r in results["served_by_service"]
    )
    page = render_html(res)
    assert "10:00–12:00 UTC" in page
    assert ">5.8 %<" in section_of(page, "unserved")  # share from served_by_region
    assert used_pairs(res) == used_pairs(results)  # workload ids are the service ids here


def test_broken_chart_becomes_a_note(results: dict[str, Any], monkeypatch) -> None:
    """A chart that fails to build is replaced by a note, the rest of the page is intact."""

    def boom(_: dict[str, Any]) -> None:
        raise ValueError("bad data")

    monkeypatch.setitem(BUILDERS, "demand", boom)
    page = render_html(results)
    assert "This chart could not be drawn from the results (bad data)." in page
    assert 'id="fig-map"' in page


def test_build_figures_public(results: dict[str, Any]) -> None:
    """build_figures gives the same names as the report's charts."""
    assert set(build_figures(results)) == set(PLAN_FIGURES)
    assert build_figures({}) == {}


# ------------------------------------------------------------------------------ helpers


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (1_234_567, "1.23 M"),
        (1_200_000, "1.2 M"),
        (999_950, "1 M"),
        (999_400, "999 k"),
        (12.345, "12.3"),
        (0.5, "0.5"),
        (0, "0"),
        (-1234, "-1.23 k"),
        (3.4e9, "3.4 B"),
        (None, "–"),
        (float("nan"), "–"),
        (True, "–"),
    ],
)
def test_human(x: Any, expected: str) -> None:
    assert fmt.human(x) == expected


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (1_234_567_890, "$ 1.23 B"),
        (950_000, "$ 950 k"),
        (5.4623, "$ 5.46"),
        (0.0031, "$ 0.0031"),
        (-2.5e6, "-$ 2.5 M"),
        (None, "–"),
    ],
)
def test_usd(x: Any, expected: str) -> None:
    assert fmt.usd(x) == expected


def test_units_and_percent() -> None:
    assert fmt.power_mw(3400) == "3.4 GW"
    assert fmt.power_mw(84.218) == "84.2 MW"
    assert fmt.power_mw(0.5) == "500 kW"
    assert fmt.energy_mwh(2_362_416) == "2.36 TWh"
    assert fmt.energy_mwh(1500) == "1.5 GWh"
    assert fmt.tonnes_co2(537_114.6) == "537 kt CO₂"
    assert fmt.percent(0.99075) == "99.1 %"
    assert fmt.percent(0.99996) == "> 99.9 %"  # a shortfall is never rounded away
    assert fmt.percent(0.00001) == "< 0.1 %"
    assert fmt.percent(1) == "100.0 %"
    assert fmt.seconds(3.21) == "3.2 s"
    assert fmt.seconds(0.42) == "0.42 s"
    assert fmt.seconds(125) == "2 min 5 s"
    assert fmt.exact(1_634_263_601.41) == "1,634,263,601.41"
    assert fmt.exact(41230.0) == "41,230"
    assert fmt.exact(0.0031) == "0.0031"
    assert fmt.exact(None) == "–"


def test_hour_ranges_and_linkify() -> None:
    assert hour_ranges([10, 11, 12]) == "10:00–13:00 UTC"
    assert hour_ranges([1, 2, 20, 23]) == "01:00–03:00, 20:00–21:00, 23:00–24:00 UTC"
    assert hour_ranges([]) == ""
    assert hour_ranges(range(24)) == "all day"
    assert (
        linkify("see https://a.org/x?y=1&z=2. <b>")
        == 'see <a href="https://a.org/x?y=1&amp;z=2" rel="noopener noreferrer">'
        "https://a.org/x?y=1&amp;z=2</a>. &lt;b&gt;"
    )


def test_status_sentences() -> None:
    solve = {"solve_s": 125, "n_variables": 5, "mip_gap": 0.0123}
    assert status_sentence({"status": "time_limit", "solve": solve}) == (
        "warn",
        "The solver stopped at its time limit in 2 min 5 s (5 variables); the plan shown is the "
        "best one found. It is within 1.23 % of the best possible cost.",
    )
    assert status_sentence({})[0] == "warn"
    whole = {"solve_s": 125, "integer_servers": True, "mip_gap": 0.0123, "bound_usd": 2.5e9}
    assert status_sentence({"status": "time_limit", "solve": whole}) == (
        "warn",
        "The solver stopped at its time limit in 2 min 5 s; the plan shown is the best one "
        "found — whole servers, within 1.2 % of the best possible plan (proven); no plan can "
        "have an objective below $ 2.5 B.",
    )
    whole = {"integer_servers": True, "mip_gap": 0.02, "bound_usd": None}
    assert status_sentence({"status": "feasible", "solve": whole}) == (
        "warn",
        "A plan was found, with a gap above the one asked for (solver.mip_gap) — whole servers, "
        "within 2.0 % of the best possible plan (proven).",
    )
    exact = {"integer_servers": True, "mip_gap": 0.0}
    assert status_sentence({"status": "optimal", "solve": exact}) == (
        "ok",
        "Optimal plan found — whole servers, proven to be the best possible plan.",
    )
    relaxed = {"integer_servers": False, "mip_gap": 0.0}
    assert status_sentence({"status": "optimal", "solve": relaxed}) == (
        "ok",
        f"Optimal plan found — {fmt.RELAXATION_LABEL}.",
    )
    # no plan: nothing about servers
    assert (
        fmt.RELAXATION_LABEL not in status_sentence({"status": "infeasible", "solve": relaxed})[1]
    )


def test_metric_labels() -> None:
    """The one place the figures' words live, with a readable fallback for new keys."""
    assert fmt.metric_label("served_fraction") == "Demand served"
    assert "serving only" in fmt.metric_label("cost_per_million_output_tokens_usd")
    assert fmt.metric_label("water_use_m3") == "Water use m3"
    assert fmt.metric_label("new_cost_usd") == "New cost"
    assert fmt.metric_note("cost_per_active_user_year_usd") == (
        "a person using two services counts twice"
    )
    assert fmt.metric_note("no_such_key") == ""


def test_map_range() -> None:
    lon, lat = _map_range([54.4], [24.5])  # one point: a sensible window around it
    assert lon[0] < 54.4 < lon[1]
    assert lat[0] < 24.5 < lat[1]
    assert lon[1] - lon[0] == pytest.approx(2.2 * (lat[1] - lat[0]))
    lon, lat = _map_range([-170, 170], [-80, 80])
    assert lon[0] >= -180
    assert lon[1] <= 180
    assert lat[0] >= -90
    assert lat[1] <= 90


def test_topojson_asset() -> None:
    """The shipped base map has the layers plotly.js draws."""
    topo = json.loads(topojson_text())
    assert topo["type"] == "Topology"
    assert set(topo["objects"]) >= {"coastlines", "land", "ocean", "lakes", "countries"}


def test_geo_midpoint() -> None:
    """Hover markers of flows sit on the great circle plotly draws."""
    from infraplan.report.figures import geo_midpoint

    assert geo_midpoint((0, 0), (90, 0)) == pytest.approx((45, 0))
    assert geo_midpoint((0, 0), (0, 60)) == pytest.approx((0, 30))
    _, lat = geo_midpoint((2.35, 48.86), (54.4, 24.5))  # Paris -> Abu Dhabi bends north
    assert lat > (48.86 + 24.5) / 2
    lon, lat = geo_midpoint((170, 0), (-170, 0))  # across the date line
    assert abs(lon) == pytest.approx(180)
    assert lat == pytest.approx(0, abs=1e-9)


def test_extra_keys_are_shown(results: dict[str, Any]) -> None:
    """Metrics and solve keys added to the contract later still reach the page."""
    res = copy.deepcopy(results)
    res["metrics"]["cost_per_million_output_tokens_usd"] = 2.5
    res["metrics"]["water_use_m3"] = 1234.5
    res["solve"]["method"] = "dual simplex (HiGHS)"
    res["solve"]["inputs_s"] = 0.1
    page = render_html(res)
    assert "<td><code>water_use_m3</code></td><td>Water use m3</td>" in page
    assert "$ 2.50 per million output tokens (serving only)" in page
    assert "dual simplex (HiGHS)" in page
    assert "<th>Inputs s</th><td>0.1 s</td>" in page
