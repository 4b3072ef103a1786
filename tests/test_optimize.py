"""Planner: hand-worked known answers and invariants of the optimal plan."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infraplan import catalog
from infraplan.finance import annuity_factor
from infraplan.model.costs import COMPONENTS
from infraplan.pipeline import plan
from infraplan.scenario import parse_scenario

pytestmark = pytest.mark.usefixtures("fixed_perf")


def run(data: dict[str, Any]) -> Any:
    res = plan(parse_scenario(copy.deepcopy(data)))
    assert res.status == "optimal"
    return res


def test_known_answer_one_region_one_site(base_scenario: dict[str, Any]) -> None:
    """1e6 users x 8.64 requests/day, flat -> 100 requests/s; 10 requests/s per server."""
    res = run(base_scenario)
    h100 = catalog.row("accelerators", "h100-sxm")
    servers = 100.0 / 10.0
    assert res.installed["servers"].sum() == pytest.approx(servers, rel=1e-6)
    assert res.installed["accelerators"].sum() == pytest.approx(servers * 8, rel=1e-6)

    price = float(h100["server_price_usd"]) / (1 - 0.19)  # cluster network share 19 %
    nameplate_mw = servers * (8 * float(h100["tdp_w"]) + float(h100["server_overhead_w"])) / 1e6
    it_capex = servers * price * annuity_factor(0.07, 5)
    facility_capex = nameplate_mw * 10e6 * annuity_factor(0.07, 20)
    om = servers * price * 0.03 + nameplate_mw * 10e6 * 0.02
    # IT power: idle 2 kW x 10 servers + 100 req/s x (10 - 2) kW / 10 req/s = 100 kW
    it_mw = (servers * 2_000 + 100 * (10_000 - 2_000) / 10) / 1e6
    energy = it_mw * 1.25 * 8760 * 80
    expected = {
        "it_capex": it_capex,
        "facility_capex": facility_capex,
        "energy": energy,
        "om": om,
        "unserved_penalty": 0.0,
    }
    for k, v in expected.items():
        assert res.costs_usd[k] == pytest.approx(v, rel=1e-6, abs=1e-3), k
    assert res.objective_usd == pytest.approx(sum(expected.values()), rel=1e-6)
    assert res.metrics["peak_it_power_mw"] == pytest.approx(it_mw, rel=1e-6)
    assert res.metrics["energy_mwh"] == pytest.approx(it_mw * 1.25 * 8760, rel=1e-6)
    assert res.metrics["emissions_tco2"] == pytest.approx(it_mw * 1.25 * 8760 * 0.4, rel=1e-6)
    tokens_per_year = 100 * 3600 * 8760 * 700
    assert res.metrics["cost_per_million_tokens_usd"] == pytest.approx(
        sum(expected.values()) / (tokens_per_year / 1e6), rel=1e-6
    )
    assert res.metrics["cost_per_resident_served_year_usd"] == pytest.approx(
        sum(expected.values()) / 1e6, rel=1e-6
    )
    assert res.metrics["cost_per_active_user_year_usd"] == pytest.approx(
        sum(expected.values()) / 1e6, rel=1e-6
    )
    assert res.metrics["training_cost_usd"] == 0.0


def test_integer_servers_round_up(base_scenario: dict[str, Any]) -> None:
    base_scenario["services"][0]["requests_per_user_per_day"] = 8.64 * 1.05  # 105 req/s
    base_scenario["solver"] = {"integer_servers": True}
    res = run(base_scenario)
    assert res.installed["servers"].sum() == pytest.approx(11.0, abs=1e-6)


def test_cost_parts_sum_to_objective(base_scenario: dict[str, Any]) -> None:
    base_scenario["regions"].append(
        {"id": "r2", "country": "FRA", "population": 2_000_000, "internet_share": 0.9}
    )
    base_scenario["services"][0]["network_budget_ms"] = 150
    base_scenario["services"][0]["profile"] = "office"
    res = run(base_scenario)
    assert sum(res.costs_usd.values()) == pytest.approx(res.objective_usd, rel=1e-6)
    assert set(res.costs_usd) == {k for k, c in COMPONENTS.items()} - {
        "carbon", "renewables", "training_shortfall", "compliance"}
    cby = res.costs_by_year
    assert cby["total_usd"].sum() == pytest.approx(res.objective_usd, rel=1e-6)


def test_dispatch_within_demand_and_capacity(base_scenario: dict[str, Any]) -> None:
    base_scenario["regions"].append(
        {"id": "r2", "country": "FRA", "population": 3_000_000, "internet_share": 0.9}
    )
    base_scenario["sites"][0]["power_mw"] = 0.2  # too small: some demand goes unserved
    base_scenario["services"][0]["network_budget_ms"] = 150
    res = run(base_scenario)
    demand = res.demand.set_index(["year", "hour_utc", "region", "service"])["requests_per_s"]
    served = res.dispatch.groupby(["year", "hour_utc", "region", "service"])["requests_per_s"].sum()
    unserved = res.unserved.set_index(["year", "hour_utc", "region", "service"])["requests_per_s"]
    total = served.reindex(demand.index, fill_value=0) + unserved.reindex(
        demand.index, fill_value=0
    )
    np.testing.assert_allclose(total.to_numpy(), demand.to_numpy(), rtol=1e-6, atol=1e-6)
    assert (served.reindex(demand.index, fill_value=0) <= demand * (1 + 1e-9) + 1e-9).all()
    assert len(res.unserved) > 0
    busy = res.serving.groupby(["year", "hour_utc", "site", "accelerator"])["servers_busy"].sum()
    inst = res.installed.set_index(["site", "accelerator", "year"])["servers"]
    for (year, _hour, site, acc), b in busy.items():
        assert b <= inst[(site, acc, year)] * (1 + 1e-6) + 1e-6
    # site power: nameplate x PUE within the grid cap
    it_cap = res.installed.groupby(["site", "year"])["it_capacity_mw"].sum()
    assert (it_cap * 1.25 <= 0.2 * (1 + 1e-6)).all()


def test_latency_budget_blocks_far_sites(base_scenario: dict[str, Any]) -> None:
    """A region 5,000 km away (RTT ~ 77 ms) cannot use a site beyond a 50 ms network budget."""
    base_scenario["regions"][0].update({"lat": 48.86, "lon": 2.35, "country": "FRA"})
    base_scenario["services"][0]["network_budget_ms"] = 50
    res = plan(parse_scenario(base_scenario))
    assert res.metrics["served_fraction"] == pytest.approx(0.0, abs=1e-9)
    assert len(res.dispatch) == 0


def test_lead_time_delays_capacity(base_scenario: dict[str, Any]) -> None:
    base_scenario["horizon"].update({"end_year": 2028, "decision_year": 2026})
    base_scenario["sites"][0]["lead_time_months"] = 18  # online in 2028
    res = run(base_scenario)
    assert res.installed["year"].min() == 2028
    un_years = set(res.unserved["year"])
    assert un_years == {2027}


def _objective(data: dict[str, Any]) -> float:
    return run(data).objective_usd


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    base=st.floats(min_value=1.0, max_value=20.0),
    extra=st.floats(min_value=0.0, max_value=10.0),
    profile=st.sampled_from(["flat", "office", "evening"]),
)
def test_more_demand_never_costs_less(
    base_scenario: dict[str, Any], base: float, extra: float, profile: str
) -> None:
    base_scenario = copy.deepcopy(base_scenario)  # the fixture is shared across examples
    base_scenario["services"][0]["profile"] = profile
    base_scenario["sites"][0]["power_mw"] = 1.0  # binding for large demand -> unserved
    lo = copy.deepcopy(base_scenario)
    lo["services"][0]["requests_per_user_per_day"] = base
    hi = copy.deepcopy(base_scenario)
    hi["services"][0]["requests_per_user_per_day"] = base + extra
    assert _objective(hi) >= _objective(lo) * (1 - 1e-7)


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ttft=st.floats(min_value=300.0, max_value=3000.0), cut=st.floats(min_value=0.0, max_value=0.8)
)
def test_tighter_latency_never_costs_less(
    base_scenario: dict[str, Any], ttft: float, cut: float
) -> None:
    base_scenario = copy.deepcopy(base_scenario)  # the fixture is shared across examples
    base_scenario["regions"].append(
        {"id": "r2", "country": "FRA", "population": 500_000, "internet_share": 1.0}
    )
    loose = copy.deepcopy(base_scenario)
    loose["services"][0].update({"ttft_ms": ttft, "network_budget_ms": None})
    tight = copy.deepcopy(base_scenario)
    tight["services"][0].update({"ttft_ms": ttft * (1 - cut), "network_budget_ms": None})
    assert _objective(tight) >= _objective(loose) * (1 - 1e-7)
