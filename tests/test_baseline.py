"""Naive baseline: hand-worked costs, same answer as the optimiser when there is nothing to
optimise, never cheaper than the optimised plan when it is feasible."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from infraplan import catalog
from infraplan.analysis.baseline import naive_baseline
from infraplan.analysis.metrics import saving_metrics
from infraplan.finance import annuity_factor
from infraplan.generate import generate
from infraplan.model import build_inputs
from infraplan.pipeline import plan
from infraplan.scenario import parse_scenario


def run(data: dict[str, Any]) -> Any:
    res = plan(parse_scenario(copy.deepcopy(data)))
    assert res.status == "optimal"
    return res


def assert_not_cheaper(res: Any) -> None:
    """Optimised objective <= baseline total (both with penalties), up to the MIP gap."""
    b = res.baseline
    assert b["feasible"], b["violations"]
    gap = res.solve.get("mip_gap") or 0.0
    assert res.objective_usd <= b["total_usd"] * (1 + gap + 1e-7) + 1e-3
    assert res.metrics["saving_vs_baseline_usd"] == pytest.approx(
        b["total_usd"] - res.objective_usd, rel=1e-9, abs=1e-6
    )


@pytest.mark.usefixtures("fixed_perf")
def test_hand_worked_one_country_one_site(base_scenario: dict[str, Any]) -> None:
    """100 requests/s flat, 10 requests/s per server: 10 servers, and the optimiser agrees."""
    b = naive_baseline(build_inputs(parse_scenario(copy.deepcopy(base_scenario))))
    h100 = catalog.row("accelerators", "h100-sxm")
    servers = 10.0
    price = float(h100["server_price_usd"]) / (1 - 0.19)
    nameplate_mw = servers * (8 * float(h100["tdp_w"]) + float(h100["server_overhead_w"])) / 1e6
    it_mw = (servers * 2_000 + 100 * (10_000 - 2_000) / 10) / 1e6
    expected = {
        "it_capex": servers * price * annuity_factor(0.07, 5),
        "facility_capex": nameplate_mw * 10e6 * annuity_factor(0.07, 20),
        "energy": it_mw * 1.25 * 8760 * 80,
        "om": servers * price * 0.03 + nameplate_mw * 10e6 * 0.02,
        "unserved_penalty": 0.0,
    }
    assert set(b["costs_usd"]) == set(expected)
    for k, v in expected.items():
        assert b["costs_usd"][k] == pytest.approx(v, rel=1e-9, abs=1e-6), k
    assert b["total_usd"] == pytest.approx(sum(expected.values()), rel=1e-9)
    row = b["countries"][0]
    assert (row["country"], row["site"], row["accelerator"]) == ("ARE", "s1", "h100-sxm")
    assert row["peak_servers"][2027] == pytest.approx(servers)
    assert b["metrics"]["accelerators_installed_max"] == pytest.approx(80.0)
    assert b["metrics"]["served_fraction"] == pytest.approx(1.0)
    res = run(base_scenario)
    for k, v in res.costs_usd.items():
        assert b["costs_usd"][k] == pytest.approx(v, rel=1e-6, abs=1e-3), k
    assert res.metrics["saving_vs_baseline_usd"] == pytest.approx(0.0, abs=1e-3)
    assert res.metrics["saving_vs_baseline_pct"] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.usefixtures("fixed_perf")
@pytest.mark.parametrize("blocks", [24, 6, 4])
@pytest.mark.parametrize("variant", ["growth", "lead-time-retirement", "power-cap", "whole"])
def test_same_problem_same_cost(base_scenario: dict[str, Any], variant: str, blocks: int) -> None:
    """One country, one site, one accelerator: the naive plan is the optimal plan, also with
    demand growth, price decline, lead time (unserved first year), server retirement, a power
    cap that leaves demand unserved and whole servers, at 24, 6 and 4 hour blocks (regression:
    the baseline priced energy and lost service at block peaks, the objective at block means:
    a 0.8 % / 1.6 % saving at 6 / 4 blocks, 19.6 % / 34.7 % with a power cap)."""
    d = base_scenario
    d["solver"]["hour_blocks"] = blocks
    if variant == "power-cap":
        d["sites"][0]["power_mw"] = 0.12
    if variant == "whole":
        d["solver"]["integer_servers"] = True
        d["services"][0]["requests_per_user_per_day"] = 8.64 * 1.05
    d["horizon"]["end_year"] = 2031
    d["services"][0]["adoption"] = {2027: 0.3, 2031: 1.0}
    d["services"][0]["profile"] = "office"
    if variant == "lead-time-retirement":
        d["horizon"]["decision_year"] = 2026
        d["sites"][0]["lead_time_months"] = 18
        d["economics"] |= {"server_lifetime_years": 3, "accelerator_price_decline_per_year": 0.1}
    res = run(d)
    b = res.baseline
    if variant == "whole":  # the naive plan rounds each year up; the optimum may not
        assert_not_cheaper(res)
        assert res.metrics["saving_vs_baseline_pct"] < 1.0
        return
    assert b["total_usd"] == pytest.approx(res.objective_usd, rel=1e-7)
    assert res.metrics["saving_vs_baseline_pct"] == pytest.approx(0.0, abs=1e-5)
    if variant == "power-cap":
        assert b["costs_usd"]["unserved_penalty"] > 0
    for k, v in res.costs_usd.items():
        assert b["costs_usd"][k] == pytest.approx(v, rel=1e-6, abs=1e-3), k
    if variant == "lead-time-retirement":
        assert b["costs_usd"]["unserved_penalty"] > 0
        assert b["countries"][0]["first_year"] == 2028


@pytest.mark.usefixtures("fixed_perf")
def test_borders_and_time_zones_are_not_shared(base_scenario: dict[str, Any]) -> None:
    """Two countries a few time zones apart with evening peaks: the baseline builds for each
    peak at home; the optimiser shares capacity and costs less. A country without a site uses
    the nearest one."""
    d = base_scenario
    d["services"][0]["profile"] = "evening"
    d["services"][0]["network_budget_ms"] = 150
    d["regions"].append(
        {
            "id": "r2",
            "country": "IND",
            "population": 1_000_000,
            "internet_share": 1.0,
            "lat": 19.07,
            "lon": 72.88,
        }
    )
    d["regions"].append(
        {"id": "r3", "country": "QAT", "population": 500_000, "internet_share": 1.0}
    )
    d["sites"].append(
        {
            "id": "s2",
            "country": "IND",
            "lat": 19.1,
            "lon": 72.9,
            "power_mw": 100,
            "pue": 1.4,
            "capex_usd_per_mw": 8_000_000,
            "power_price_usd_mwh": 90,
            "carbon_g_kwh": 700,
            "lead_time_months": 12,
        }
    )
    res = run(d)
    b = res.baseline
    rows = {r["country"]: r for r in b["countries"]}
    assert rows["ARE"]["site"] == "s1"
    assert rows["IND"]["site"] == "s2"
    assert rows["QAT"]["site"] == "s1"
    assert "nearest" in rows["QAT"]["site_choice"]
    assert_not_cheaper(res)
    assert res.metrics["saving_vs_baseline_pct"] > 1.0
    assert res.metrics["saving_vs_baseline_excl_penalties_usd"] > 0


@pytest.mark.usefixtures("fixed_perf")
def test_chip_quota_respected(base_scenario: dict[str, Any]) -> None:
    """An import licence for 5 of the 10 servers: the country buys within it (the rest is
    unserved), which is also the optimal plan."""
    base_scenario["chip_caps"] = [{"name": "licence", "country": "ARE", "amount": 40.0}]
    res = run(base_scenario)
    b = res.baseline
    assert b["feasible"], b["violations"]
    assert b["metrics"]["accelerators_installed_max"] == pytest.approx(40.0)
    assert b["total_usd"] == pytest.approx(res.objective_usd, rel=1e-7)


@pytest.mark.usefixtures("fixed_perf")
def test_budget_breach_marks_the_baseline_infeasible(base_scenario: dict[str, Any]) -> None:
    """The baseline does not adapt to a capital budget; a breach is reported, not hidden."""
    base_scenario["economics"] |= {"capex_budget_usd": 1_000_000.0}
    b = run(base_scenario).baseline
    assert not b["feasible"]
    assert any("capex budget" in v for v in b["violations"])


def test_saving_metrics_without_baseline() -> None:
    assert saving_metrics(1.0, 1.0, {}) == {}
    m = saving_metrics(80.0, 40.0, {"total_usd": 100.0, "total_excl_penalties_usd": 50.0})
    assert m["saving_vs_baseline_usd"] == pytest.approx(20.0)
    assert m["saving_vs_baseline_pct"] == pytest.approx(20.0)
    assert m["saving_vs_baseline_excl_penalties_pct"] == pytest.approx(20.0)


@pytest.fixture(scope="module")
def national() -> Any:
    """The national generated scenario (residency, chip caps, lead times, training), solved."""
    return plan(parse_scenario(generate(20, 15, 5, 4, 4, seed=0)))


@pytest.mark.slow
def test_national_baseline_costs_more(national: Any) -> None:
    res = national
    assert res.status == "optimal"
    assert_not_cheaper(res)
    b = res.baseline
    assert b["costs_usd"].keys() == res.costs_usd.keys()
    assert sum(b["costs_usd"].values()) == pytest.approx(b["total_usd"], rel=1e-12)
    # each country alone, one accelerator, in-country or the nearest site
    assert len({r["country"] for r in b["countries"]}) == len(b["countries"])
    assert b["metrics"]["served_fraction"] <= res.metrics["served_fraction"] + 1e-9
    assert res.metrics["saving_vs_baseline_excl_penalties_usd"] > 0
    data = json.loads(json.dumps(res.to_dict(), default=str))
    assert data["baseline"]["total_usd"] == pytest.approx(b["total_usd"])
    assert "saving_vs_baseline_pct" in data["metrics"]


@pytest.mark.slow
def test_national_explanations(national: Any) -> None:
    """Germany's health and public-safety data may only go to Frankfurt, which cannot have
    capacity before 2028: the explanation says so."""
    ex = national.tables["explanations"]
    deu = ex[(ex["kind"] == "unserved") & (ex["region"] == "deu")]
    assert len(deu) >= 1
    text = " ".join(deu["text"])
    assert "frankfurt" in text
    assert "2028" in text
    assert "lead time" in text
    assert set(deu["year"]) == {2027}
    assert (ex["kind"] == "binding").any()
    assert ex.loc[ex["kind"] == "unserved", "impact_usd"].sum() == pytest.approx(
        national.costs_usd["unserved_penalty"], rel=1e-6
    )


def test_small_generated_baseline_costs_more() -> None:
    """Another area and seed (the invariant held on 10 generated scenarios when written)."""
    res = plan(parse_scenario(generate(6, 5, 3, 4, 3, seed=1, area="asia")))
    assert res.status == "optimal"
    assert_not_cheaper(res)


@pytest.mark.slow
def test_report_baseline_and_explanations(national: Any) -> None:
    """The report compares the plan with the baseline and leads its explanations with the
    largest distinct causes."""
    from infraplan.report import render_html

    data = json.loads(json.dumps(national.to_dict(), default=str))
    page = render_html(data)
    i = page.index('<section id="baseline">')
    part = page[i : page.index("</section>", i)]
    assert "Planned together, the plan saves" in part
    assert "Naive baseline" in part
    assert "Germany" in part
    assert "nearest" in part
    j = page.index('<section id="explanations">')
    part = page[j : page.index("</section>", j)]
    assert "In short" in part
    # the binding rows state their marginal rates in words ("USD/MW" -> "USD per MW")
    ex = national.explanations
    binding = ex[(ex["kind"] == "binding") & ex["shadow_price"].notna()]
    assert len(binding) > 0
    assert "USD per " in part
    # no baseline (an older results.json): the section says so
    data.pop("baseline")
    assert "carry no naive baseline" in render_html(data)
