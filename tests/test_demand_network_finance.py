"""Demand shaping, time zones, latency and finance helpers: hand-worked values."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from infraplan.demand import adoption_by_year, demand_table, profile_weights, to_utc
from infraplan.finance import alive_matrix, annuity_factor, discount_factors, irr, npv
from infraplan.network import great_circle_km, rtt_ms
from infraplan.scenario import parse_scenario
from infraplan.workloads import LLM


def test_flat_demand_known_answer(base_scenario: dict[str, Any]) -> None:
    scn = parse_scenario(base_scenario)
    d = demand_table(scn)
    assert len(d) == 24
    np.testing.assert_allclose(d["requests_per_s"], 100.0)
    # the table is workload-neutral; the LLM workload adds its tokens per second
    work = LLM.demand_work(d, LLM.service_rows(scn))
    np.testing.assert_allclose(work["output_tokens_per_s"], 100.0 * 200)


def test_utc_shift_moves_peak() -> None:
    local = np.zeros(24)
    local[20] = 1.0  # 20:00 local
    utc = to_utc(local, 4.0)  # UTC+4 -> 16:00 UTC
    assert int(np.argmax(utc)) == 16
    half = to_utc(local, 5.5)  # 20:00 at UTC+5.5 = 14:30 UTC, split between 14 and 15
    assert half[14] == pytest.approx(0.5)
    assert half[15] == pytest.approx(0.5)


@given(offset=st.floats(min_value=-12, max_value=14), which=st.sampled_from(["office", "evening"]))
def test_utc_shift_keeps_daily_total(offset: float, which: str) -> None:
    w = profile_weights(which)
    assert to_utc(w, offset).sum() == pytest.approx(1.0)


def test_adoption_interpolates(base_scenario: dict[str, Any]) -> None:
    base_scenario["services"][0]["adoption"] = {2027: 0.1, 2029: 0.5}
    svc = parse_scenario(base_scenario).services[0]
    np.testing.assert_allclose(
        adoption_by_year(svc, [2026, 2027, 2028, 2029, 2030]), [0.1, 0.1, 0.3, 0.5, 0.5]
    )


def test_regions_default_to_country_figures(base_scenario: dict[str, Any]) -> None:
    base_scenario["regions"] = [{"id": "fr", "country": "FRA", "population_share": 0.5}]
    d = demand_table(parse_scenario(base_scenario))
    users = 66.44e6 * 0.5 * 0.868
    assert d["users"].iloc[0] == pytest.approx(users)
    assert d["requests_per_s"].sum() * 3600 == pytest.approx(users * 8.64)


def test_great_circle_and_rtt() -> None:
    # Abu Dhabi -> Paris is about 5,250 km
    d = float(great_circle_km(24.45, 54.38, 48.86, 2.35))
    assert 5150 < d < 5350
    assert float(rtt_ms(1000.0)) == pytest.approx(2 * 1000 * 1.5 / 200 + 2)
    assert float(great_circle_km(10, 20, 10, 20)) == pytest.approx(0.0)


def test_finance_known_answers() -> None:
    assert annuity_factor(0.0, 5) == pytest.approx(0.2)
    assert annuity_factor(0.1, 1) == pytest.approx(1.1)
    # the annuity repays the principal: PV of payments = 1
    crf = annuity_factor(0.07, 5)
    assert sum(crf / 1.07**t for t in range(1, 6)) == pytest.approx(1.0)
    np.testing.assert_allclose(discount_factors([2027, 2028], 2027, 0.1), [1.0, 1 / 1.1])
    alive = alive_matrix([2027, 2028], [2027, 2028, 2029], 2)
    np.testing.assert_array_equal(alive, [[1, 1, 0], [0, 1, 1]])
    assert npv(np.array([-100.0, 110.0]), 0.1) == pytest.approx(0.0)
    assert irr(np.array([-100.0, 110.0])) == pytest.approx(0.1, abs=1e-6)
    assert irr(np.array([1.0, 2.0])) is None
