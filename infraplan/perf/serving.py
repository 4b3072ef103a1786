"""Serving modes on top of the iteration physics, vectorised over cases.

- ``offline``: every request queued at once; the batch is as large as memory and the engine allow.
- ``concurrency``: N requests in flight (closed loop); batch = N / replicas.
- ``server``: Poisson arrivals; the largest rate whose p99 TTFT and p99 TPOT meet the limits.
  The batch slots of a replica form an M/G/c queue (c = max batch, service time = time a request
  holds its slot); p99 queueing delay from the Halfin-Whitt approximation of Erlang C; p99 TPOT
  at the batch exceeded 1% of the time (mean + 2.33 sd of a Poisson count).
- ``qps``: a fixed offered rate for a finite run of N requests: rate = min(offered, capacity);
  duration = max(N/rate + request latency, N/capacity).

Every function takes a ``Cases`` and per-case arrays, and returns a dict of arrays with at least
``output_tps`` (whole group), ``requests_per_s``, ``ttft``, ``tpot`` (seconds), ``batch`` (per
replica), ``it`` (the iteration breakdown at the operating point) and ``busy`` (fraction of time
the group computes).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from infraplan.perf.model import (
    MAX_TOKENS_PER_ITER,
    Cases,
    beam_kv_share,
    decode_mix,
    iteration,
    max_batch,
    prefill_time,
    steady_state,
)

Z99 = 2.326  # standard normal 99th percentile
PREFILL_CS2 = 1.0  # squared coefficient of variation of prompt lengths (dataset prompts ~1)


def _norm_pdf(x: np.ndarray) -> np.ndarray:
    """Standard normal density."""
    return np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)


def _norm_cdf(x: np.ndarray) -> np.ndarray:
    """Standard normal distribution function."""
    # scipy ships no type information (scipy-stubs is not a dev dependency)
    from scipy.special import ndtr  # type: ignore[import-untyped]

    return ndtr(x)


def _slot_time(c: Cases, batch: np.ndarray) -> dict[str, np.ndarray]:
    """Per-replica steady state at ``batch``: TPOT, TTFT (no queueing) and slot holding time."""
    ss = steady_state(c, batch)
    ttft = prefill_time(c, batch)
    # a request holds its slot for its prefill and osl-1 further decode steps; never less than
    # osl steady iterations (keeps every mode below the roofline bound, see model.roofline)
    hold = np.maximum(ttft, ss["tpot"]) + np.maximum(c.osl - 1, 0) * ss["tpot"]
    return {**ss, "ttft": ttft, "hold": hold}


def offline(c: Cases) -> dict[str, Any]:
    """All requests queued: the largest batch memory and the engine allow."""
    batch = np.maximum(max_batch(c), 1.0)
    st = _slot_time(c, batch)
    rps = c.replicas * batch / st["hold"]
    return {"output_tps": rps * c.osl, "requests_per_s": rps, "ttft": st["ttft"],
            "tpot": st["tpot"], "batch": batch, "it": st, "busy": np.ones_like(batch)}


def concurrency(c: Cases, n: np.ndarray) -> dict[str, Any]:
    """``n`` requests in flight (closed loop), spread over the replicas."""
    n = np.maximum(np.asarray(n, dtype=float), 1.0)
    used = np.minimum(c.replicas, n)
    cap = np.maximum(max_batch(c), 1.0)
    batch = np.minimum(n / used, cap)
    st = _slot_time(c, batch)
    rps = used * batch / st["hold"]
    waiting = np.maximum(n / used - batch, 0.0)
    queue = waiting / np.maximum(batch / st["hold"], 1e-12)
    return {"output_tps": rps * c.osl, "requests_per_s": rps, "ttft": st["ttft"] + queue,
            "tpot": st["tpot"], "batch": batch, "it": st, "busy": used / c.replicas}


def _p99_wait(slots: np.ndarray, rho: np.ndarray, hold: np.ndarray) -> np.ndarray:
    """p99 of the M/M/c waiting time (Halfin-Whitt approximation of Erlang C)."""
    beta = np.maximum((1 - rho) * np.sqrt(slots), 1e-9)
    p_wait = 1.0 / (1.0 + beta * _norm_cdf(beta) / _norm_pdf(np.minimum(beta, 30.0)))
    p_wait = np.clip(p_wait, 0.0, 1.0)
    rate = slots * (1 - rho) / np.maximum(hold, 1e-12)
    return np.where(p_wait > 0.01, np.log(np.maximum(p_wait, 1e-300) / 0.01) / rate, 0.0)


def prefill_queue_p99(c: Cases, batch: np.ndarray, hold: np.ndarray) -> np.ndarray:
    """p99 wait of a new prompt behind the prompts ahead of it in the prefill queue.

    Chunked prefill serves prompt tokens at ``budget`` tokens per iteration (what the token
    limit leaves beside the decode batch): an M/G/1 queue whose service time is a prompt's
    share of a full-chunk iteration, with arrival rate batch / hold. Pollaczek-Khinchine mean
    wait with a squared coefficient of variation ``PREFILL_CS2`` of the prompt lengths, and an
    exponential tail P(W > t) = rho exp(-t rho / Wq). Long prompts (a 9,400-token Llama 3.1 405B
    benchmark) make prefill most of the work, and this wait then bounds the load.
    """
    budget = np.maximum(MAX_TOKENS_PER_ITER - batch * c.beams, 512.0)
    chunk = iteration(c, batch * c.beams, budget, c.isl + c.osl / 2, c.isl / 2,
                      kv_share=beam_kv_share(c))["time"]
    service = c.isl / budget * chunk
    rho = np.clip(batch / np.maximum(hold, 1e-12) * service, 0.0, 0.999)
    mean_wait = rho * service * (1 + PREFILL_CS2) / (2 * (1 - rho))
    tail = mean_wait / np.maximum(rho, 1e-12)
    return np.where(rho > 0.01, tail * np.log(np.maximum(rho, 1e-12) / 0.01), 0.0)


def p99_tpot(c: Cases, batch: np.ndarray, slots: np.ndarray) -> np.ndarray:
    """p99 over requests of their mean time per output token, at ``batch`` in flight.

    Two fluctuations: the batch (a Poisson count: mean + 2.33 sd, at most the slots), and the
    prefills that land in a request's life. The latter add ``P`` (the prefill part of the
    average iteration) on average; a short request of ``tpot_short_share`` x osl tokens sees a
    Poisson number of them with mean batch x share, so its p99 adds 2.33 / sqrt(mean) x P. Short
    answers set the p99 over requests; fixed-length benchmarks have share ~1.
    """
    hi = np.minimum(batch + Z99 * np.sqrt(batch), slots)
    full = steady_state(c, hi)
    n_dec, _, ctx_dec, ctx_pre = decode_mix(c, hi)
    dec = iteration(c, n_dec, np.zeros_like(n_dec), ctx_dec, ctx_pre,
                    kv_share=beam_kv_share(c))["time"]
    pre = np.maximum(full["tpot"] - dec, 0.0)
    seen = np.maximum(hi * c.short_share, 1.0)
    return full["tpot"] + Z99 * pre / np.sqrt(seen)


def _server_eval(c: Cases, u: np.ndarray, slots: np.ndarray, ttft_lim: np.ndarray,
                 tpot_lim: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray,
                                                np.ndarray, np.ndarray]:
    """At utilisation ``u`` of the slots: meets-SLO flags, slot times, p99 TTFT/TPOT, batch."""
    batch = np.maximum(u * slots, 1e-3)
    st = _slot_time(c, batch)
    tpot99 = p99_tpot(c, batch, slots)
    wait = _p99_wait(slots, np.minimum(u, 0.999999), st["hold"])
    ttft99 = wait + prefill_queue_p99(c, batch, st["hold"]) + st["ttft"]
    ok = (ttft99 <= ttft_lim) & (tpot99 <= tpot_lim)
    return ok, st, ttft99, tpot99, batch


def server(c: Cases, ttft_lim: np.ndarray, tpot_lim: np.ndarray,
           iters: int = 20) -> dict[str, Any]:
    """Largest Poisson rate meeting p99 TTFT <= ttft_lim and p99 TPOT <= tpot_lim (seconds)."""
    ttft_lim = np.broadcast_to(np.asarray(ttft_lim, dtype=float), (len(c),))
    tpot_lim = np.broadcast_to(np.asarray(tpot_lim, dtype=float), (len(c),))
    slots = np.maximum(max_batch(c), 1.0)
    # smallest meaningful load: one request in flight on each replica
    u_min = np.minimum(1.0 / slots, 1.0)
    ok_min, _, ttft_min, tpot_min, _ = _server_eval(c, u_min, slots, ttft_lim, tpot_lim)
    lo = np.where(ok_min, u_min, 0.0)
    hi = np.ones(len(c))
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        ok = _server_eval(c, mid, slots, ttft_lim, tpot_lim)[0]
        lo = np.where(ok, mid, lo)
        hi = np.where(ok, hi, mid)
    feasible = ok_min
    u = np.where(feasible, np.maximum(lo, u_min), u_min)
    _, st, ttft99, tpot99, batch = _server_eval(c, u, slots, ttft_lim, tpot_lim)
    rps = np.where(feasible, c.replicas * batch / st["hold"], 0.0)
    return {"output_tps": rps * c.osl, "requests_per_s": rps, "ttft": ttft99, "tpot": tpot99,
            "batch": batch, "it": st, "busy": np.ones(len(c)), "feasible": feasible,
            "ttft_min": ttft_min, "tpot_min": tpot_min}


def qps(c: Cases, rate: np.ndarray, n_requests: np.ndarray,
        iters: int = 40) -> dict[str, Any]:
    """Finite run of ``n_requests`` offered at ``rate`` requests/s (inf = all at once)."""
    rate = np.asarray(rate, dtype=float)
    n_requests = np.asarray(n_requests, dtype=float)
    cap_b = np.maximum(np.minimum(max_batch(c), np.ceil(n_requests / c.replicas)), 1.0)
    st_cap = _slot_time(c, cap_b)
    cap_rps = c.replicas * cap_b / st_cap["hold"]
    target = np.minimum(rate, cap_rps) / c.replicas
    lo, hi = np.zeros(len(c)), cap_b.copy()
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        st = _slot_time(c, np.maximum(mid, 1e-6))
        got = mid / st["hold"]
        lo = np.where(got < target, mid, lo)
        hi = np.where(got < target, hi, mid)
    batch = np.maximum(0.5 * (lo + hi), 1e-6)
    st = _slot_time(c, batch)
    served = np.minimum(rate, cap_rps)
    with np.errstate(divide="ignore"):
        arrive = np.where(np.isfinite(rate), n_requests / rate, 0.0)
    # below capacity the run lasts until the last arrival plus the drain of the requests in
    # flight: a full request latency at light load, about half of it near saturation (the
    # last requests run in a shrinking, faster batch); at or above capacity the queue keeps
    # the slots full and the run takes N / capacity
    load = np.clip(rate / cap_rps, 0.0, 1.0)
    drain = (1.0 - 0.5 * load) * st["hold"]
    duration = np.where(rate < cap_rps, np.maximum(arrive + drain, n_requests / cap_rps),
                        n_requests / cap_rps)
    rps = n_requests / duration
    return {"output_tps": rps * c.osl, "requests_per_s": rps, "ttft": st["ttft"],
            "tpot": st["tpot"], "batch": batch, "it": st,
            "busy": np.clip(served / cap_rps, 0.0, 1.0)}
