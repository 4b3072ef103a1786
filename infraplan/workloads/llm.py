"""The LLM workload: requests that read ``input_tokens`` and write ``output_tokens``.

Capacity comes from ``infraplan.perf.server_capacity`` under each service's p99 TTFT (less its
network budget) and TPOT limits; a request's work is its tokens; a request left unserved is
valued at ``economics.unserved_usd_per_mtok`` per million tokens (what buying them from a
commercial API would cost).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from infraplan import perf
from infraplan.perf.efficiency import Efficiency
from infraplan.scenario import Economics, Scenario
from infraplan.units import TOKENS_PER_MTOK

SERVING_KEYS = [
    "model",
    "ttft_ms",
    "tpot_ms",
    "network_budget_ms",
    "data_class",
    "kind",
    "precision",
    "engine",
    "capacity_margin",
    "capacity_band",
    "request_mix",
]
"""Service fields that decide per-server capacity and where a load may go."""


def _mix(value: object, isl: int, osl: int) -> list[tuple[int, int, float]]:
    """Request shapes ``(input, output, share)`` of a workload: its mix, else its mean shape."""
    if isinstance(value, tuple) and value:
        return [(int(i), int(o), float(w)) for i, o, w in value]
    return [(isl, osl, 1.0)]


@dataclass(frozen=True)
class LLMWorkload:
    """Token-stream services served by LLM inference engines."""

    kind: str = "llm"
    work_unit: str = "tokens"

    def service_rows(self, scn: Scenario) -> pd.DataFrame:
        """Services as a table (one row per service id)."""
        rows = [
            {
                "id": s.id,
                "workload_type": self.kind,
                "sector": s.sector,
                "model": s.model,
                "requests_per_user_per_day": s.requests_per_user_per_day,
                "input_tokens": s.input_tokens,
                "output_tokens": s.output_tokens,
                "ttft_ms": s.ttft_ms,
                "tpot_ms": s.tpot_ms,
                "network_budget_ms": s.network_ms,
                "data_class": s.data_class,
                "kind": s.kind,
                "precision": s.precision,
                "engine": s.engine or scn.serving.engine,
                "capacity_margin": (s.capacity_margin if s.capacity_margin is not None
                                    else scn.serving.capacity_margin),
                "capacity_band": scn.serving.capacity_band,
                "request_mix": (tuple((b.input_tokens, b.output_tokens, b.share)
                                      for b in s.request_mix) if s.request_mix else None),
            }
            for s in scn.services
        ]
        return pd.DataFrame(rows).set_index("id")

    def merge_keys(self, mode: str) -> list[str]:
        """``exact``: identical serving figures and token lengths; ``model-slo``: the same
        model and latency class (token lengths are then averaged: an approximation)."""
        keys = list(SERVING_KEYS)
        if mode == "exact":
            keys += ["input_tokens", "output_tokens"]
        return keys

    def workload_table(self, services: pd.DataFrame, demand: pd.DataFrame) -> pd.DataFrame:
        """Workloads with the demand-weighted mean token lengths of their services (exact when
        the services are identical)."""
        out = services.drop_duplicates("workload").set_index("workload")[list(SERVING_KEYS)]
        req = demand.groupby("service")["requests_per_s"].sum()
        w = req.reindex(services.index).fillna(0) + 1e-12
        for col in ("input_tokens", "output_tokens"):
            num = (services[col] * w).groupby(services["workload"]).sum()
            out[col] = (num / w.groupby(services["workload"]).sum()).round().astype(int)
        out["work_per_request"] = (out["input_tokens"] + out["output_tokens"]).astype(float)
        out["output_per_request"] = out["output_tokens"].astype(float)
        out.index.name = "workload"
        return out

    def capacity(
        self, workloads: pd.DataFrame, accelerators: Sequence[str], efficiency: Efficiency
    ) -> pd.DataFrame:
        """Per-server figures of every workload x accelerator from the performance model."""
        rows = []
        for wid, s in workloads.iterrows():
            server_ttft = float(s["ttft_ms"] - s["network_budget_ms"])
            prec = s["precision"] if isinstance(s["precision"], str) else None
            mix = _mix(s.get("request_mix"), int(s["input_tokens"]), int(s["output_tokens"]))
            keep = 1.0 - float(s.get("capacity_margin") or 0.0)
            point = str(s.get("capacity_band") or "p50")
            for a in accelerators:
                caps = [
                    perf.server_capacity(
                        str(s["model"]), a, isl=i, osl=o, ttft_ms=server_ttft,
                        tpot_ms=float(s["tpot_ms"]), precision=prec,
                        engine=str(s.get("engine") or "") or None, efficiency=efficiency,
                    )
                    for i, o, _ in mix
                ]
                rows.append(_combine(wid, s, a, mix, caps, keep, point))
        return pd.DataFrame(rows)

    def lost_value_usd_per_request(self, workloads: pd.DataFrame, econ: Economics) -> pd.Series:
        """Tokens of a request x the value of lost service per token."""
        return workloads["work_per_request"] * econ.unserved_usd_per_mtok / TOKENS_PER_MTOK

    def lost_value_text(self, econ: Economics) -> str:
        """``'5 USD per million tokens'``."""
        return f"{econ.unserved_usd_per_mtok:g} USD per million tokens"

    def demand_work(self, demand: pd.DataFrame, services: pd.DataFrame) -> pd.DataFrame:
        """Input and output tokens per second of each demand row."""
        out = demand.copy()
        out["input_tokens_per_s"] = out["requests_per_s"] * out["service"].map(
            services["input_tokens"]
        )
        out["output_tokens_per_s"] = out["requests_per_s"] * out["service"].map(
            services["output_tokens"]
        )
        return out


def _combine(wid: object, s: pd.Series, accelerator: str, mix: list[tuple[int, int, float]],
             caps: list[perf.ServerCapacity], keep: float, point: str) -> dict[str, object]:
    """One capacity row for a request mix: a server spends ``share / rate`` seconds per request
    of each shape, so requests/s = 1 / sum(share_i / rate_i); power is time-weighted; latency is
    the worst shape's. Then the band point and the margin scale the rate."""
    first = caps[0]
    feasible = all(c.feasible and c.requests_per_s > 0 for c in caps)
    if feasible:
        secs = [w / c.requests_per_s for (_, _, w), c in zip(mix, caps, strict=True)]
        rps_model = 1.0 / sum(secs)
        frac = [t * rps_model for t in secs]
        power = sum(f * c.power_w for f, c in zip(frac, caps, strict=True))
        tps_model = rps_model * sum(w * o for _, o, w in mix)
        main = caps[int(max(range(len(caps)), key=lambda k: frac[k]))]
    else:
        bad = next(c for c in caps if not (c.feasible and c.requests_per_s > 0))
        rps_model = tps_model = power = 0.0
        main = bad
    band = {"p10": first.band_p10, "p50": 1.0, "p90": first.band_p90}[point]
    factor = band * keep
    config = main.config + (f" (mix of {len(mix)} request shapes)" if len(mix) > 1 else "")
    return {
        "workload": wid,
        "model": s["model"],
        "accelerator": accelerator,
        "feasible": feasible,
        "reason": "" if feasible else main.reason,
        "requests_per_s_per_server": rps_model * factor,
        "output_tokens_per_s_per_server": tps_model * factor,
        "model_requests_per_s_per_server": rps_model,
        "capacity_factor": factor,
        "power_w_per_server": power,
        "idle_power_w_per_server": first.idle_power_w,
        "joules_per_output_token": power / tps_model if tps_model > 0 else 0.0,
        "servers_per_instance": int(max(c.servers_per_instance for c in caps)),
        "server_ttft_ms": max(c.ttft_ms for c in caps),
        "server_tpot_ms": max(c.tpot_ms for c in caps),
        "config": config if feasible else "",
        "engine": first.engine,
        "engine_factor": first.engine_factor,
        "band_p10": first.band_p10,
        "band_p90": first.band_p90,
        "band_source": first.band_source,
    }


LLM = LLMWorkload()
