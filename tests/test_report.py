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


def test_fixture_follows_contract(results: dict[str, Any]) -> None:
    """The fixture is internally consistent the way docs/results.md promises."""
    costs = results["costs_usd"]
    assert abs(sum(costs.values()) - results["objective_usd"]) / results["objective_usd"] < 1e-6
    assert {r["id"] for r in results["regions"]} == {"uae", "saudi", "france"}
    assert len(results["sites"]) == 3
    assert {r["accelerator"] for r in results["capacity"]} == {"h100-sxm", "mi300x"}
    assert len(results["services"]) == 2
    assert results["scenario"]["years"] == [2027, 2030]
    assert {r["hour_utc"] for r in results["demand"]} == set(range(24))
    assert results["unserved"]
    assert results["explanations"]
    # demand = dispatch + unserved for every (year, hour, region, service)
    key = ("year", "hour_utc", "region", "service")
    got: dict[tuple, float] = {}
    for row in results["dispatch"] + results["unserved"]:
        k = tuple(row[c] for c in key)
        got[k] = got.get(k, 0.0) + row["requests_per_s"]
    for row in results["demand"]:
        assert got.get(tuple(row[c] for c in key), 0.0) == pytest.approx(
            row["requests_per_s"], abs=0.05
        )


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


def test_page_has_each_figure(page: str) -> None:
    """One plotly figure (div and JSON) per chart, plotly.js once."""
    for name in BUILDERS:
        assert f'id="fig-{name}"' in page
    assert page.count("Plotly.newPlot(") == len(BUILDERS)
    assert '"type":"scattergeo"' in page.replace(" ", "")


def test_page_content(page: str, results: dict[str, Any]) -> None:
    """Key figures, status, warning, capacity figures, explanations in order."""
    assert "<h1>gulf-europe-small</h1>" in page
    assert "Optimal plan found in 3.2 s (41,230 variables, 38,114 constraints)." in page
    assert "$ 3.03 B" in page
    assert "84.2 MW" in page
    assert "2.36 TWh" in page
    assert "99.1 %" in page
    assert "62.1 k" in page
    assert "$ 5.46" in page
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


def test_build_figures(results: dict[str, Any]) -> None:
    """All charts build from the fixture; the map uses the embedded world 110 m base map."""
    figs, notes = build_figures_with_notes(results)
    assert notes == {}
    assert set(figs) == set(BUILDERS)
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
        "demand": results["demand"],  # input tables are still written
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
    """Empty dispatch, nothing built: served 0 %, the unserved table lists every demand row."""
    res = copy.deepcopy(results)
    res["dispatch"] = []
    res["serving"] = []
    res["build"] = []
    res["installed"] = []
    res["site_load"] = []
    res["unserved"] = [
        {k: r[k] for k in ("year", "hour_utc", "region", "service", "requests_per_s")}
        for r in res["demand"]
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
    assert len(unserved_summary(res)) == 12


def test_one_year_one_site(results: dict[str, Any]) -> None:
    """A single year and a single site: no year buttons, plain service axis, map still fits."""
    res = copy.deepcopy(results)
    res["scenario"]["years"] = [2030]
    res["sites"] = [s for s in res["sites"] if s["id"] == "abu-dhabi"]
    for key in ("demand", "dispatch", "serving", "unserved", "site_load", "installed", "build"):
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
        ("costs_by_year", "capacity", "assumptions", "solve", "serving"),
        ("metrics", "objective_usd", "costs_usd", "explanations", "installed"),
        ("regions", "demand", "site_load", "termination", "infraplan_version"),
        ("sites", "build", "unserved", "scenario"),
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
    figs, notes = build_figures_with_notes(res)
    assert notes == {}
    assert "utilisation" not in figs
    assert "site_load" in figs
    assert "map" in figs


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
    assert set(build_figures(results)) == set(BUILDERS)
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
    res["solve"]["method"] = "dual simplex (HiGHS)"
    res["solve"]["inputs_s"] = 0.1
    page = render_html(res)
    assert "<code>cost_per_million_output_tokens_usd</code>" in page
    assert "$ 2.50 per million output tokens" in page
    assert "dual simplex (HiGHS)" in page
    assert "<th>Inputs s</th><td>0.1 s</td>" in page
