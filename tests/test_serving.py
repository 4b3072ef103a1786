"""Serving inputs of a scenario: engine, capacity margin, capacity band and request mixes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from infraplan import perf
from infraplan.errors import InfraplanError
from infraplan.model import build_inputs
from infraplan.perf import bands
from infraplan.pipeline import SOLVE_ONLY, run
from infraplan.scenario import parse_scenario


def _inputs(data: dict[str, Any]) -> Any:
    return build_inputs(parse_scenario(copy.deepcopy(data)))


def _cap(data: dict[str, Any]) -> Any:
    return _inputs(data).capacity.set_index("accelerator").iloc[0]


def test_margin_scales_capacity_exactly(base_scenario: dict[str, Any]) -> None:
    plain = _cap(base_scenario)
    base_scenario["serving"] = {"capacity_margin": 0.2}
    held = _cap(base_scenario)
    assert held["requests_per_s_per_server"] == pytest.approx(
        0.8 * plain["requests_per_s_per_server"], rel=1e-12)
    assert held["model_requests_per_s_per_server"] == pytest.approx(
        plain["model_requests_per_s_per_server"], rel=1e-12)
    # a service's own margin wins over the scenario's
    base_scenario["services"][0]["capacity_margin"] = 0.5
    own = _cap(base_scenario)
    assert own["requests_per_s_per_server"] == pytest.approx(
        0.5 * plain["requests_per_s_per_server"], rel=1e-12)


def test_engine_reaches_the_performance_model(base_scenario: dict[str, Any]) -> None:
    svc = base_scenario["services"][0]
    for engine in ("trtllm", "vllm-0.5.2", "sglang@2024-07-25"):
        base_scenario["serving"] = {"engine": engine}
        row = _cap(base_scenario)
        direct = perf.server_capacity(
            svc["model"], "h100-sxm", isl=svc["input_tokens"], osl=svc["output_tokens"],
            ttft_ms=svc["ttft_ms"] - svc["network_budget_ms"], tpot_ms=svc["tpot_ms"],
            engine=engine)
        assert row["model_requests_per_s_per_server"] == pytest.approx(direct.requests_per_s)
        assert row["engine"] == direct.engine


def test_request_mix_is_the_harmonic_combination(base_scenario: dict[str, Any]) -> None:
    svc = base_scenario["services"][0]
    shapes = [(200, 100, 0.5), (800, 300, 0.5)]
    svc["request_mix"] = [{"input_tokens": i, "output_tokens": o, "share": w}
                          for i, o, w in shapes]
    svc["input_tokens"], svc["output_tokens"] = 500, 200
    row = _cap(base_scenario)
    rates = [perf.server_capacity(svc["model"], "h100-sxm", isl=i, osl=o,
                                  ttft_ms=svc["ttft_ms"] - svc["network_budget_ms"],
                                  tpot_ms=svc["tpot_ms"], engine="vllm").requests_per_s
             for i, o, _ in shapes]
    expected = 1.0 / sum(w / r for (_, _, w), r in zip(shapes, rates, strict=True))
    assert row["model_requests_per_s_per_server"] == pytest.approx(expected, rel=1e-12)
    assert min(rates) <= row["model_requests_per_s_per_server"] <= max(rates)
    # one bucket with share 1 is the mean shape itself
    svc["request_mix"] = [{"input_tokens": 500, "output_tokens": 200, "share": 1.0}]
    one = _cap(base_scenario)
    del svc["request_mix"]
    assert one["model_requests_per_s_per_server"] == pytest.approx(
        _cap(base_scenario)["model_requests_per_s_per_server"], rel=1e-12)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"serving": {"engine": "vlm"}}, "did you mean 'vllm'"),
        ({"serving": {"engine": "mlperf-v4.1"}}, "MLPerf round"),
        ({"serving": {"engine": "vllm-9.9.9"}}, "no release"),
        ({"serving": {"capacity_margin": 0.95}}, "capacity_margin"),
        ({"serving": {"capacity_band": "p95"}}, "capacity_band"),
        ({"serving": {"enigne": "vllm"}}, "engine"),
    ],
)
def test_bad_serving_inputs_are_refused(base_scenario: dict[str, Any], change: dict[str, Any],
                                        match: str) -> None:
    base_scenario.update(change)
    with pytest.raises(InfraplanError, match=f"(?i){match}"):
        parse_scenario(base_scenario)


def test_bad_request_mixes_are_refused(base_scenario: dict[str, Any]) -> None:
    svc = base_scenario["services"][0]
    svc["request_mix"] = [{"input_tokens": 500, "output_tokens": 200, "share": 0.6}]
    with pytest.raises(InfraplanError, match=r"add up to 0\.6"):
        parse_scenario(copy.deepcopy(base_scenario))
    svc["request_mix"] = [{"input_tokens": 100, "output_tokens": 200, "share": 1.0}]
    with pytest.raises(InfraplanError, match="input_tokens is 500 but the request_mix averages"):
        parse_scenario(copy.deepcopy(base_scenario))


def test_band_lookup_falls_back_to_coarser_levels() -> None:
    t = bands.table()
    if t.empty:
        pytest.skip("no packaged band table")
    b = bands.lookup("server", "no-such-engine", "no-such-family")
    assert b.n_rows >= bands.MIN_ROWS
    assert b.p10 <= b.p50 <= b.p90
    assert b.level.startswith("server") or b.level == "* / * / *"


def test_lower_capacity_never_costs_less(base_scenario: dict[str, Any]) -> None:
    """Margin and band point only shrink capacity: the optimum cannot fall."""
    costs = []
    for margin in (0.0, 0.3):
        base_scenario["serving"] = {"capacity_margin": margin, "band_costs": False}
        done = run(parse_scenario(copy.deepcopy(base_scenario)), steps=SOLVE_ONLY)
        costs.append(done.objective_usd)
    assert costs[1] >= costs[0] * (1 - 1e-7)


def test_band_costs_are_ordered_and_reported(base_scenario: dict[str, Any]) -> None:
    """Capacity at P10 <= P50 <= P90, so the optimum at P10 >= at P50 >= at P90."""
    if bands.table().empty:
        pytest.skip("no packaged band table")
    done = run(parse_scenario(copy.deepcopy(base_scenario)))
    res = done.results
    assert res is not None
    pts = res.capacity_band["points"]
    assert set(pts) == {"p10", "p50", "p90"}
    assert pts["p10"]["objective_usd"] >= pts["p50"]["objective_usd"] * (1 - 1e-7)
    assert pts["p50"]["objective_usd"] >= pts["p90"]["objective_usd"] * (1 - 1e-7)
    assert pts["p50"]["objective_usd"] == pytest.approx(res.objective_usd)
    from infraplan.report.html import band_text

    text = band_text(res.to_dict())
    assert "Serving engine: vllm" in text
    assert "at P10 capacities" in text
    # off: no extra solves, nothing reported
    base_scenario["serving"] = {"band_costs": False}
    off = run(parse_scenario(copy.deepcopy(base_scenario))).results
    assert off is not None
    assert off.capacity_band == {}
