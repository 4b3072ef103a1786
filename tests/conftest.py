"""Shared fixtures: tiny scenarios and a fixed performance model for hand-worked cases."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from infraplan import perf

# requests/s per server by accelerator, busy and idle server power (W)
FIXED = {"h100-sxm": (10.0, 10_000.0, 2_000.0), "h200-sxm": (15.0, 10_000.0, 2_000.0)}


def fixed_capacity(
    model: str,
    accelerator: str,
    *,
    isl: int,
    osl: int,
    ttft_ms: float,
    tpot_ms: float,
    precision: str | None = None,
    engine: str | None = None,
    efficiency: object = None,
) -> perf.ServerCapacity:
    rps, busy, idle = FIXED.get(accelerator, (5.0, 10_000.0, 2_000.0))
    # a tighter server TTFT budget lowers capacity (monotone, like the real model)
    rps = rps * min(1.0, ttft_ms / 1000.0)
    return perf.ServerCapacity(
        model,
        accelerator,
        True,
        "",
        rps,
        rps * osl,
        ttft_ms,
        tpot_ms,
        busy,
        idle,
        busy / (rps * osl),
        "fixed test capacity",
    )


@pytest.fixture
def fixed_perf(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replace the performance model by fixed per-server capacities (isolates the optimiser)."""
    monkeypatch.setattr(perf, "server_capacity", fixed_capacity)


BASE: dict[str, Any] = {
    "name": "one region, one site",
    "horizon": {"start_year": 2027, "end_year": 2027, "decision_year": 2025, "discount_rate": 0.07},
    "regions": [
        {
            "id": "r1",
            "country": "ARE",
            "population": 1_000_000,
            "internet_share": 1.0,
            "lat": 24.45,
            "lon": 54.38,
        }
    ],
    "services": [
        {
            "id": "chat",
            "sector": "public-administration",
            "model": "llama3.1-8b",
            "requests_per_user_per_day": 8.64,
            "input_tokens": 500,
            "output_tokens": 200,
            "ttft_ms": 2000,
            "tpot_ms": 100,
            "network_budget_ms": 100,
            "profile": "flat",
        }
    ],
    "sites": [
        {
            "id": "s1",
            "country": "ARE",
            "lat": 24.5,
            "lon": 54.4,
            "power_mw": 100,
            "pue": 1.25,
            "capex_usd_per_mw": 10_000_000,
            "power_price_usd_mwh": 80,
            "carbon_g_kwh": 400,
            "lead_time_months": 12,
        }
    ],
    "accelerators": ["h100-sxm"],
    # hand-worked tests price lost service at 20 USD per million tokens
    "economics": {"unserved_usd_per_mtok": 20.0},
    # hand-worked LP cases: the continuous relaxation (whole-server plans have their own tests)
    "solver": {"integer_servers": False},
}


@pytest.fixture
def base_scenario() -> dict[str, Any]:
    """A fresh copy of the one-region, one-site, one-accelerator scenario mapping."""
    return copy.deepcopy(BASE)
