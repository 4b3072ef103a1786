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
]
"""Service fields that decide per-server capacity and where a load may go."""


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
            for a in accelerators:
                c = perf.server_capacity(
                    str(s["model"]),
                    a,
                    isl=int(s["input_tokens"]),
                    osl=int(s["output_tokens"]),
                    ttft_ms=server_ttft,
                    tpot_ms=float(s["tpot_ms"]),
                    precision=prec,
                    efficiency=efficiency,
                )
                rows.append(
                    {
                        "workload": wid,
                        "model": s["model"],
                        "accelerator": a,
                        "feasible": bool(c.feasible and c.requests_per_s > 0),
                        "reason": c.reason,
                        "requests_per_s_per_server": c.requests_per_s,
                        "output_tokens_per_s_per_server": c.output_tokens_per_s,
                        "power_w_per_server": c.power_w,
                        "idle_power_w_per_server": c.idle_power_w,
                        "joules_per_output_token": c.joules_per_output_token,
                        "servers_per_instance": int(getattr(c, "servers_per_instance", 1)),
                        "server_ttft_ms": c.ttft_ms,
                        "server_tpot_ms": c.tpot_ms,
                        "config": c.config,
                    }
                )
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


LLM = LLMWorkload()
