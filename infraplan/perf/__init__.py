"""Inference performance model: roofline physics + calibrated efficiency factors.

Public, stable interface (the planner calls ``server_capacity``; CLI and benchmarks ``predict``)::

    from infraplan.perf import server_capacity, predict, ServerCapacity, PerfResult

See docs/perf.md for the equations, the calibration procedure and the measured accuracy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from infraplan.errors import InfraplanError
from infraplan.perf import autoconfig, bands, engines
from infraplan.perf.efficiency import Efficiency, packaged
from infraplan.perf.specs import accel_spec, model_spec

__all__ = ["Efficiency", "PerfResult", "ServerCapacity", "clear_cache", "predict",
           "server_capacity"]


@dataclass(frozen=True)
class ServerCapacity:
    """Capacity of one catalog server (``accels_per_server`` accelerators) under an SLO."""

    model: str
    accelerator: str
    feasible: bool
    reason: str
    requests_per_s: float
    output_tokens_per_s: float
    ttft_ms: float
    tpot_ms: float
    power_w: float
    idle_power_w: float
    joules_per_output_token: float
    config: str
    #: servers one model instance spans (1, or 2 with a pipeline split across them); buy
    #: servers in multiples of it. Per-server figures above are already divided by it.
    servers_per_instance: int = 1
    #: the engine as resolved (``vllm 0.6.0 (2024-09-05)``) and its maturity factor
    engine: str = ""
    engine_factor: float = 1.0
    #: measured / predicted throughput of out-of-sample rows of this kind (``bands``)
    band_p10: float = 1.0
    band_p90: float = 1.0
    band_source: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (JSON-ready)."""
        return asdict(self)


@dataclass(frozen=True)
class PerfResult:
    """Prediction for one model x accelerator group x configuration x workload x mode."""

    model: str
    accelerator: str
    mode: str
    n_accel: int
    tp: int
    pp: int
    ep: int
    replicas: int
    precision: str
    isl: float
    osl: float
    output_tokens_per_s: float
    requests_per_s: float
    ttft_ms: float
    tpot_ms: float
    batch: float
    memory_weights_gb: float
    memory_kv_cache_gb: float
    memory_kv_capacity_gb: float
    memory_activations_gb: float
    watts_per_accelerator: float
    total_power_w: float
    idle_power_w: float
    joules_per_output_token: float
    wh_per_request: float
    bound: str
    feasible: bool
    reason: str
    engine: str
    #: measured / predicted throughput of out-of-sample rows of this mode, engine family and
    #: hardware family at the 10th and 90th percentiles (``infraplan.perf.bands``)
    band_p10: float = 1.0
    band_p90: float = 1.0

    @property
    def memory(self) -> dict[str, float]:
        """Memory per accelerator in GB: weights, KV cache in use, activations."""
        return {"weights_gb": self.memory_weights_gb, "kv_cache_gb": self.memory_kv_cache_gb,
                "activations_gb": self.memory_activations_gb}

    def to_dict(self) -> dict[str, Any]:
        """The fields plus ``memory`` as a plain dict (JSON-ready)."""
        out = asdict(self)
        out["memory"] = self.memory
        return out


def predict(model: str, accelerator: str, *, n_accel: int | None = None, tp: int | None = None,
            pp: int | None = None, precision: str | None = None, isl: float | None = None,
            osl: float = 256, mode: str | None = None, concurrency: float | None = None,
            ttft_ms: float | None = None, tpot_ms: float | None = None, qps: float | None = None,
            n_requests: float | None = None, beams: int = 1, engine: str | None = None,
            efficiency: Efficiency | None = None) -> PerfResult:
    """Predict throughput, latency, memory and energy of one configuration.

    Blank ``tp``/``pp``/``precision`` are chosen (best throughput); ``n_accel`` defaults to one
    server; ``mode`` defaults from the given arguments (concurrency -> ``concurrency``, latency
    limits -> ``server``, otherwise ``offline``). ``efficiency`` is the factor table (default:
    the packaged fit). Unknown ids and impossible requests raise ``InfraplanError``; a
    configuration that does not fit or cannot meet the SLO returns ``feasible=False`` with a
    reason.
    """
    rec = {"model": model, "accelerator": accelerator, "n_accel": n_accel, "tp": tp, "pp": pp,
           "precision": precision, "isl": isl, "osl": osl, "mode": mode,
           "concurrency": concurrency, "ttft_ms": ttft_ms, "tpot_ms": tpot_ms, "qps": qps,
           "n_requests": n_requests, "beams": beams, "engine": engine}
    out = autoconfig.evaluate([rec], efficiency, check_engines=True)[0]
    if out.get("error"):
        raise InfraplanError(out["error"])
    if "output_tokens_per_s" not in out:
        raise InfraplanError(out.get("reason") or "no configuration to evaluate")
    fields = PerfResult.__dataclass_fields__
    return PerfResult(**{k: out[k] for k in fields})


def server_capacity(model: str, accelerator: str, *, isl: int, osl: int, ttft_ms: float,
                    tpot_ms: float, precision: str | None = None, engine: str | None = None,
                    efficiency: Efficiency | None = None) -> ServerCapacity:
    """Per-server capacity of ``model`` on ``accelerator`` at p99 TTFT/TPOT limits (Poisson).

    Chooses precision (default FP8 where supported, else BF16), tensor/pipeline split and batch.
    A model instance lives inside one server or, if it does not fit, across two servers with a
    pipeline split (then ``servers_per_instance`` is 2 and each server gets half the group's
    throughput). Infeasible pairs return ``feasible=False``, zeros and a reason.
    ``engine`` is a serving-engine label (``infraplan.perf.engines``; blank: the reference
    TensorRT-LLM 0.17.0). The result carries the engine's factor and the out-of-sample error
    band of server-mode predictions of its kind (``infraplan.perf.bands``).
    ``efficiency`` is the factor table (default: the packaged fit). Results are cached per
    arguments and table (the planner asks for every workload x accelerator, often repeatedly);
    the cache holds no "current table", so threads with different tables never mix answers.
    """
    model_spec(model)
    accel_spec(accelerator)
    prec = autoconfig.precision_ok(accelerator, precision)
    if isl is None or osl is None or float(osl) <= 0 or float(isl) < 0:
        raise InfraplanError("isl/osl: input and output tokens must be given (osl > 0)")
    eff = efficiency if efficiency is not None else packaged()
    label = str(engine or "").strip() or None
    eff.check_engine(label)
    return _server_capacity(model, accelerator, int(isl), int(osl), float(ttft_ms),
                            float(tpot_ms), prec, eff, label)


@lru_cache(maxsize=65536)
def _server_capacity(model: str, accelerator: str, isl: int, osl: int, ttft_ms: float,
                     tpot_ms: float, precision: str | None, eff: Efficiency,
                     engine: str | None = None) -> ServerCapacity:
    """``server_capacity`` on validated arguments; memoised (``Efficiency`` hashes by identity,
    and the cache keeps the tables it has seen alive, so an id is never reused while cached)."""
    best, servers = autoconfig.search_server(model, accelerator, isl, osl, ttft_ms, tpot_ms,
                                             precision, eff, engine)
    a = accel_spec(accelerator)
    ref = engines.resolve(engine, strict=False)
    band = bands.lookup("server", ref.family, a.family)
    extra: dict[str, Any] = {"engine": ref.text, "engine_factor": eff.engine_at(ref),
                             "band_p10": band.p10, "band_p90": band.p90,
                             "band_source": band.text}
    idle = a.tdp_w * 0.12 * a.accels_per_server + a.server_overhead_w * 0.5
    if not best or not best.get("feasible"):
        reason = (best or {}).get("reason") or (best or {}).get("error") or "no configuration"
        return ServerCapacity(model, accelerator, False, reason, 0.0, 0.0, 0.0, 0.0, 0.0,
                              idle, 0.0, "", **extra)
    per = 1.0 / servers
    tps = best["output_tokens_per_s"] * per
    rps = best["requests_per_s"] * per
    power = best["total_power_w"] * per
    inst = best["replicas"] / servers
    span = f"1 instance per {servers} servers" if servers > 1 else (
        f"{inst:g} instance{'s' if inst != 1 else ''} per server")
    config = (f"{best['precision']} tp{best['tp']} pp{best['pp']}, {span}, "
              f"batch {best['batch']:.0f}")
    return ServerCapacity(
        model=model, accelerator=accelerator, feasible=True, reason="", requests_per_s=rps,
        output_tokens_per_s=tps, ttft_ms=best["ttft_ms"], tpot_ms=best["tpot_ms"],
        power_w=power, idle_power_w=best["idle_power_w"] * per,
        joules_per_output_token=power / tps if tps > 0 else 0.0, config=config,
        servers_per_instance=servers, **extra,
    )


def clear_cache() -> None:
    """Forget memoised server capacities (and release the efficiency tables they hold)."""
    _server_capacity.cache_clear()
