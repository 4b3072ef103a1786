"""Physics of LLM serving, vectorised over cases (numpy arrays, one element per case).

One *case* is a model x accelerator x parallelism (tp, pp) x precision x workload (isl, osl)
with the efficiency factors already looked up. ``Cases`` holds them as arrays so that the
calibration, the batch CLI and the auto-configuration evaluate hundreds of cases in one call.

The model (equations in docs/perf.md):

- memory per GPU = weights/(tp*pp) + activation workspace + runtime reserve; what is left
  (times ``KV_FRACTION``) holds the KV cache; a sequence reserves isl+osl positions
  (sliding-window layers at most ``window``), so memory caps the batch;
- one engine iteration of a replica processes ``n_dec`` decode tokens and ``n_pre`` prefill
  tokens (continuous batching with chunked prefill: on average osl iterations admit one
  request's isl prompt tokens per sequence, so n_pre = B*isl/osl); with pipeline parallelism the
  batch is split in ``pp`` micro-batches and every stage re-reads its weights per micro-batch;
- each operator class (dense linear, routed experts, LM head, decode attention, prefill
  attention) takes max(FLOPs/(peak*eta_c), bytes/(bandwidth*eta_m)) (a per-operator roofline);
  MoE weights read = routed weights x expected fraction of experts touched
  1-(1-k/E)^tokens; TP adds 2 all-reduces per layer over the scale-up link; a fixed step overhead
  is added per iteration;
- throughput = replicas x B / T_iter; power = idle + (TDP-idle) x activity plus host overhead.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from infraplan.perf import engines
from infraplan.perf.efficiency import Efficiency
from infraplan.perf.specs import GIB, PRECISIONS, accel_spec, model_spec

#: engine constants (TensorRT-LLM defaults, see docs/perf.md); not fitted
MAX_TOKENS_PER_ITER = 8192.0  # max_num_tokens: decode + prefill-chunk tokens per iteration
MAX_BATCH = 2048.0  # max sequences in flight per replica (TensorRT-LLM max_batch_size)
#: sequences in flight per engine instance by engine (documented defaults, not fitted):
#: TensorRT-LLM ``max_batch_size`` 2048 (trtllm-serve / trtllm-bench default); vLLM
#: ``max_num_seqs`` 1024 on GPUs with >= 70 GiB (H100-class and larger), 256 below
#: (vllm/engine/arg_utils.py defaults since v0.10). Engines not listed use MAX_BATCH.
ENGINE_MAX_BATCH = {"vllm": (1024.0, 256.0)}
KV_FRACTION = 0.92  # fraction of free memory given to the KV cache
#: engines that allocate KV blocks as sequences grow and preempt when full (vLLM, SGLang and an
#: unnamed open engine); TensorRT-LLM's default scheduler (GUARANTEED_NO_EVICT) and the MLPerf
#: harnesses reserve each sequence's longest output up front
PAGED_FAMILIES = ("vllm", "sglang", "generic")
KV_BLOCK = 16.0  # tokens per KV block (vLLM default): half a block is wasted per sequence
RUNTIME_RESERVE = 2.0 * GIB  # CUDA context, communication buffers, runtime
INTERNODE_BW = 50e9  # bytes/s per GPU between servers (400 Gb/s NIC per GPU)
PCIE_BW = 32e9  # bytes/s per GPU between cards of one server outside their NVLink domain
PP_EFFICIENCY = 0.9  # pipeline stage imbalance / bubble
IDLE_FRACTION = 0.12  # accelerator idle power / TDP
MEM_ACTIVITY = 0.5  # dynamic power of a fully bandwidth-bound kernel relative to compute-bound
HOST_IDLE_FRACTION = 0.5  # host power at idle relative to its full-load overhead


@dataclass
class Cases:
    """Struct of arrays; every field has one element per case."""

    # model
    n_layers: np.ndarray
    hidden: np.ndarray
    n_kv_heads: np.ndarray
    n_experts: np.ndarray
    k_active: np.ndarray
    dense_linear: np.ndarray
    routed: np.ndarray
    routed_active: np.ndarray
    embed: np.ndarray
    kv_elems: np.ndarray  # per layer per token
    kv_shards: np.ndarray  # 1 if KV heads split over TP
    mla: np.ndarray  # 1 for multi-head latent attention
    head_dim: np.ndarray
    n_global: np.ndarray
    n_window: np.ndarray
    window: np.ndarray
    attn_dec: np.ndarray
    attn_pre: np.ndarray
    ffn_local: np.ndarray
    expert_width: np.ndarray  # routed-expert FFN columns per tensor rank (0: dense model)
    # accelerator
    peak: np.ndarray  # FLOP/s of the GEMM precision (FP4: see ``peak_fp8`` and ``fp4_gain``)
    peak_fp8: np.ndarray  # FLOP/s at FP8 where the GEMMs run at FP4 (else = peak)
    peak_attn: np.ndarray
    peak_lm: np.ndarray
    bw: np.ndarray
    link: np.ndarray
    mem: np.ndarray
    tdp: np.ndarray
    accels_per_server: np.ndarray
    server_overhead: np.ndarray
    # configuration
    tp: np.ndarray
    pp: np.ndarray
    replicas: np.ndarray
    n_accel: np.ndarray
    b_w: np.ndarray
    b_kv: np.ndarray
    b_lm: np.ndarray
    # workload
    isl: np.ndarray
    osl: np.ndarray
    max_osl: np.ndarray  # output positions reserved per sequence (>= osl)
    beams: np.ndarray
    # efficiency (engine factor folded in, clipped to <= 1)
    eta_c: np.ndarray
    eta_m: np.ndarray
    step_overhead: np.ndarray  # s
    ar_latency: np.ndarray  # s
    link_eff: np.ndarray
    moe_eff: np.ndarray
    sharp: np.ndarray
    expert_n0: np.ndarray  # GEMM width at which expert GEMMs reach half their efficiency
    seq_overhead: np.ndarray  # s per sequence in flight per iteration (scheduler, sampling)
    batch_cap: np.ndarray  # engine limit on sequences in flight per replica
    fp4_gain: np.ndarray  # share of the FP4-over-FP8 peak ratio that serving realises
    paged: np.ndarray  # 1: KV blocks allocated as sequences grow (vLLM, SGLang); 0: reserved
    short_share: np.ndarray  # output of the short requests that set p99 TPOT, share of osl

    def __len__(self) -> int:
        return len(self.tp)

    def take(self, idx: np.ndarray | list[int]) -> Cases:
        """The cases at positions ``idx``."""
        return Cases(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    @staticmethod
    def concat(parts: list[Cases]) -> Cases:
        """All cases of ``parts``, in order."""
        return Cases(**{f.name: np.concatenate([getattr(p, f.name) for p in parts])
                        for f in fields(Cases)})


def build_cases(records: list[dict[str, Any]], eff: Efficiency) -> Cases:
    """Turn records (model, accelerator, precision, tp, pp, n_accel, isl, osl[, beams, engine])
    into arrays. Ids must exist and the precision must be supported (checked by the caller)."""
    cols: dict[str, list[float]] = {f.name: [] for f in fields(Cases)}
    so = eff.scalar("step_overhead_ms") * 1e-3
    arl = eff.scalar("allreduce_latency_us") * 1e-6
    leff = eff.scalar("link_efficiency")
    moe = eff.scalar("moe_efficiency")
    sharp = eff.scalar("roofline_sharpness")
    seq_ov = eff.scalar("seq_overhead_us") * 1e-6
    n0 = eff.scalar("expert_gemm_n0")
    gamma = eff.scalar("power_derate_exponent")
    fp4_gain = eff.scalar("fp4_gain")
    short_share = eff.scalar("tpot_short_share")
    for rec in records:
        m = model_spec(rec["model"])
        a = accel_spec(rec["accelerator"])
        prec = rec["precision"]
        pinfo = PRECISIONS[prec]
        tp, pp = int(rec["tp"]), int(rec["pp"])
        n_accel = int(rec.get("n_accel") or tp * pp)
        eng = eff.engine(rec.get("engine"))
        cls = str(pinfo["cls"])
        if tp <= a.domain:
            link = a.link_bw
        elif tp <= a.accels_per_server:
            link = min(a.link_bw, PCIE_BW)  # beyond the NVLink/bridge domain: PCIe via host
        else:
            link = min(a.link_bw, INTERNODE_BW)
        derate = min(a.power_ratio, 1.0) ** gamma
        ffn_local = max(m.ffn, m.expert_ffn * max(m.k_active, 1) + m.expert_ffn * m.n_shared) / tp
        values = {
            "n_layers": m.n_layers, "hidden": m.hidden, "n_kv_heads": m.n_kv_heads,
            "n_experts": m.n_experts, "k_active": m.k_active, "dense_linear": m.dense_linear,
            "routed": m.routed_params, "routed_active": m.routed_active, "embed": m.embed_params,
            "kv_elems": m.kv_elems_per_layer, "kv_shards": 1.0 if m.kv_shards_with_tp else 0.0,
            "mla": 1.0 if m.attention == "mla" else 0.0,
            "head_dim": m.head_dim, "n_global": m.n_global_layers, "n_window": m.n_window_layers,
            "window": m.window, "attn_dec": m.attn_flops_decode, "attn_pre": m.attn_flops_prefill,
            "ffn_local": ffn_local,
            "expert_width": (m.expert_ffn / tp) if m.is_moe else 0.0,
            "peak": a.peak(prec),
            "peak_fp8": a.peaks.get("fp8", a.peak(prec)) if cls == "4" else a.peak(prec),
            "peak_attn": a.peaks.get("bf16", a.peak(prec)),
            "peak_lm": a.peaks.get("bf16", a.peak(prec)),
            "bw": a.bw, "link": link, "mem": a.mem_bytes, "tdp": a.tdp_w,
            "accels_per_server": a.accels_per_server, "server_overhead": a.server_overhead_w,
            "tp": tp, "pp": pp, "replicas": max(n_accel // (tp * pp), 1), "n_accel": n_accel,
            "b_w": float(pinfo["w"]), "b_kv": float(pinfo["kv"]), "b_lm": float(pinfo["lm"]),
            "isl": float(rec["isl"]), "osl": max(float(rec["osl"]), 1.0),
            "beams": float(rec.get("beams") or 1),
            "max_osl": max(float(rec.get("max_osl") or 0), float(rec["osl"]), 1.0),
            "eta_c": min(eff.eta_compute(a.family, cls) * eng * derate, 1.0),
            "eta_m": min(eff.eta_memory(a.family) * eng, 1.0),
            "step_overhead": so, "ar_latency": arl, "link_eff": leff, "moe_eff": moe,
            "sharp": sharp, "seq_overhead": seq_ov, "expert_n0": n0,
            "batch_cap": engine_batch_cap(rec.get("engine"), a.mem_bytes),
            "fp4_gain": fp4_gain,
            "short_share": short_share,
            "paged": 1.0 if engines.resolve(rec.get("engine"), strict=False).family
            in PAGED_FAMILIES else 0.0,
        }
        for key, val in values.items():
            cols[key].append(val)
    return Cases(**{k: np.asarray(v, dtype=float) for k, v in cols.items()})


def effective_peak(c: Cases) -> np.ndarray:
    """GEMM peak FLOP/s as serving realises it: at FP4, the FP8 peak plus the share
    ``fp4_gain`` of the extra FP4 peak (measured FP4 serving gains far less than the datasheet
    ratio: scales, dequantisation and the parts that stay at FP8/BF16); else the peak."""
    extra = np.maximum(c.peak - c.peak_fp8, 0.0)
    return c.peak_fp8 + c.fp4_gain * extra


def engine_batch_cap(engine: str | None, mem_bytes: float) -> float:
    """Default limit on sequences in flight per instance of ``engine`` (ENGINE_MAX_BATCH)."""
    name = str(engine or "").strip().lower()
    for key, (big, small) in ENGINE_MAX_BATCH.items():
        if name.startswith(key):
            return big if mem_bytes >= 70 * GIB else small
    return MAX_BATCH


# --------------------------------------------------------------------------------------------
# memory


def weight_bytes(c: Cases) -> np.ndarray:
    """Bytes of all weights of one replica (embedding and LM head at 16 bit)."""
    body = c.dense_linear + c.routed
    return body * c.b_w + 2 * c.embed * c.b_lm


def kv_bytes_per_position(c: Cases) -> np.ndarray:
    """KV bytes per GPU for one token position in all layers of one pipeline stage."""
    per_layer = c.kv_elems * c.b_kv
    heads = np.where(c.mla > 0, c.tp, np.maximum(c.n_kv_heads, 1))
    split = np.where(c.kv_shards > 0, np.minimum(c.tp, heads), 1.0)
    return per_layer * c.n_layers / split / c.pp


def _windowed(c: Cases, ctx: np.ndarray) -> np.ndarray:
    """Effective positions per layer, averaged over layers, for a context of ``ctx`` tokens."""
    total = np.maximum(c.n_global + c.n_window, 1.0)
    win = np.where(c.window > 0, np.minimum(ctx, c.window), ctx)
    return (c.n_global * ctx + c.n_window * win) / total


def memory_per_gpu(c: Cases) -> dict[str, np.ndarray]:
    """Weights, activation workspace and KV capacity per GPU (bytes) and the max batch."""
    w = weight_bytes(c) / (c.tp * c.pp)
    act = MAX_TOKENS_PER_ITER * (4 * c.hidden + 2 * c.ffn_local) * 2.0 / c.pp + 0.5 * GIB
    free = c.mem - w - act - RUNTIME_RESERVE
    kv_cap = np.maximum(free, 0.0) * KV_FRACTION
    # reserved KV: a sequence holds its prompt and the longest output it may produce
    # (variable-length workloads: the maximum, not the mean); paged engines hold what the
    # sequences in flight have written so far, on average half their output (sequences are
    # spread evenly over their progress), plus half a block; beams share the prompt's blocks
    out_pos = np.where(c.paged > 0, 0.5 * c.osl + 0.5 * KV_BLOCK, c.max_osl)
    reserve = c.isl + out_pos
    share = (c.isl + c.beams * out_pos) / reserve
    per_seq = kv_bytes_per_position(c) * _windowed(c, reserve) * share
    b_mem = kv_cap / np.maximum(per_seq, 1.0)  # steady-state average: fractional is fine
    return {"weights": w, "activations": act, "kv_capacity": kv_cap, "kv_per_seq": per_seq,
            "max_batch": b_mem, "fits": (free > 0) & (b_mem >= 1)}


def max_batch(c: Cases) -> np.ndarray:
    """Sequences in flight per replica: memory, engine cap and tokens-per-iteration cap."""
    mem = memory_per_gpu(c)["max_batch"]
    tok_cap = MAX_TOKENS_PER_ITER / (c.beams + c.isl / c.osl)
    cap = np.minimum(c.batch_cap, MAX_BATCH)
    return np.maximum(np.minimum(np.minimum(mem, cap), np.maximum(tok_cap, 1.0)), 0.0)


# --------------------------------------------------------------------------------------------
# one iteration


def iteration(c: Cases, n_dec: np.ndarray, n_pre: np.ndarray, ctx_dec: np.ndarray,
              ctx_pre: np.ndarray, ideal: bool = False,
              kv_share: np.ndarray | float = 1.0) -> dict[str, np.ndarray]:
    """Time of one engine iteration of a replica and its breakdown.

    ``n_dec`` decode tokens attending to ``ctx_dec`` positions each and ``n_pre`` prefill tokens
    attending to ``ctx_pre`` positions on average. ``ideal=True`` gives the roofline lower bound
    (efficiency 1, no communication, no overhead, one max over the whole iteration).
    ``kv_share`` (<= 1) is the fraction of decode KV reads left when beams share the prompt's KV.
    """
    p, t = c.pp, c.tp
    ec = 1.0 if ideal else c.eta_c
    em = 1.0 if ideal else c.eta_m
    bw, peak = c.bw * em, effective_peak(c) * ec
    peak_attn, peak_lm = c.peak_attn * ec, c.peak_lm * ec
    gpus = t * p
    mb_dec, mb_pre = n_dec / p, n_pre / p  # tokens per micro-batch
    mb_tok = mb_dec + mb_pre
    # dense linear layers (attention projections, dense FFN, shared experts)
    f_dense = 2 * c.dense_linear * mb_tok / gpus
    b_dense = c.dense_linear * c.b_w / gpus
    # routed experts: expected fraction of experts touched by mb_tok tokens (per-token top-k)
    k_over_e = np.where(c.n_experts > 0, c.k_active / np.maximum(c.n_experts, 1), 0.0)
    touched = 1.0 - np.power(1.0 - k_over_e, mb_tok)
    f_routed = 2 * c.routed_active * mb_tok / gpus
    b_routed = c.routed * touched * c.b_w / gpus
    # LM head over decode tokens (and the last prompt token of each finished prefill)
    f_lm = 2 * c.embed * mb_dec / gpus
    b_lm = c.embed * c.b_lm / gpus
    # attention: FLOPs per (query token, context token, layer); KV bytes per position
    heads_split = t
    pos_dec = _windowed(c, ctx_dec)
    pos_pre = _windowed(c, ctx_pre)
    f_att_dec = c.attn_dec * mb_dec * pos_dec * c.n_layers / heads_split / p
    b_att_dec = kv_bytes_per_position(c) * pos_dec * mb_dec * kv_share
    f_att_pre = c.attn_pre * mb_pre * pos_pre * c.n_layers / heads_split / p
    b_att_pre = kv_bytes_per_position(c) * mb_pre * 2.0  # write K/V of new tokens, read chunk
    # grouped expert GEMMs: a fitted efficiency relative to dense GEMMs, times a width term
    # w / (w + n0) for the expert's FFN columns per rank (narrow slices of fine-grained experts
    # split over the tensor group fill the tensor-core tiles poorly)
    width = np.maximum(c.expert_width, 1.0)
    moe_eff = c.moe_eff * width / (width + c.expert_n0)
    comp = {
        "dense": f_dense / peak, "routed": f_routed / (peak * (1.0 if ideal else moe_eff)),
        "lm": f_lm / peak_lm,
        "attn_dec": f_att_dec / peak_attn, "attn_pre": f_att_pre / peak_attn,
    }
    mem = {
        "dense": b_dense / bw, "routed": b_routed / bw, "lm": b_lm / bw,
        "attn_dec": b_att_dec / bw, "attn_pre": b_att_pre / bw,
    }
    if ideal:
        tc = sum(comp.values())
        tm = sum(mem.values())
        stage = np.maximum(tc, tm)
        return {"time": p * stage, "compute": p * tc, "memory": p * tm,
                "comm": np.zeros_like(stage)}
    stage = sum(soft_max(comp[k], mem[k], c.sharp) for k in comp)
    tc = sum(np.where(comp[k] >= mem[k], comp[k], 0.0) for k in comp)
    tm = sum(np.where(comp[k] < mem[k], mem[k], 0.0) for k in comp)
    # tensor-parallel all-reduce: 2 per layer, ring over the scale-up link
    msg = mb_tok * c.hidden * 2.0
    n_ar = 2.0 * c.n_layers / p
    ar = n_ar * (c.ar_latency + 2.0 * (t - 1) / t * msg / (c.link * c.link_eff))
    comm = np.where(t > 1, ar, 0.0)
    # pipeline: send activations to the next stage
    comm = comm + np.where(p > 1, c.ar_latency + msg / (INTERNODE_BW * c.link_eff), 0.0)
    stage = stage + comm
    pp_eff = np.where(p > 1, PP_EFFICIENCY, 1.0)
    # host-side work per iteration: a fixed part and a part per sequence in flight
    # (scheduling, sampling, detokenisation), which grows with the batch
    seqs = n_dec / np.maximum(c.beams, 1.0)
    time = p * stage / pp_eff + c.step_overhead + c.seq_overhead * seqs
    return {"time": time, "compute": p * tc, "memory": p * tm, "comm": p * comm}


def soft_max(a: np.ndarray, b: np.ndarray, k: np.ndarray) -> np.ndarray:
    """(a^k + b^k)^(1/k): >= max(a, b), equal to it for k -> inf (smooth roofline knee)."""
    hi = np.maximum(np.maximum(a, b), 1e-30)
    return hi * np.power(np.power(a / hi, k) + np.power(b / hi, k), 1.0 / k)


def decode_mix(c: Cases,
               batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Steady-state token mix of an iteration with ``batch`` sequences in flight."""
    n_dec = batch * c.beams
    n_pre = batch * c.isl / c.osl
    ctx_dec = c.isl + (c.osl + 1) / 2
    ctx_pre = c.isl / 2
    return n_dec, n_pre, ctx_dec, ctx_pre


def beam_kv_share(c: Cases) -> np.ndarray:
    """Fraction of decode KV reads left when the beams of a request read the prompt once."""
    full = c.beams * (c.isl + (c.osl + 1) / 2)
    return (c.isl + c.beams * (c.osl + 1) / 2) / full


def steady_state(c: Cases, batch: np.ndarray, ideal: bool = False) -> dict[str, np.ndarray]:
    """Iteration time (= TPOT) and throughput of the whole group at ``batch`` per replica."""
    it = iteration(c, *decode_mix(c, batch), ideal=ideal, kv_share=beam_kv_share(c))
    tps = c.replicas * batch / it["time"]
    return {**it, "tpot": it["time"], "output_tps": tps}


def prefill_time(c: Cases, batch: np.ndarray) -> np.ndarray:
    """Time to first token of one request joining ``batch`` running sequences.

    The prompt is processed in chunks of what is left of the per-iteration token budget; each
    chunk shares an iteration with the running decode batch; then one decode step emits the
    first token.
    """
    budget = np.maximum(MAX_TOKENS_PER_ITER - batch * c.beams, 512.0)
    chunks = np.maximum(c.isl / budget, 1.0)
    per_chunk = np.minimum(c.isl, budget)
    it = iteration(c, batch * c.beams, per_chunk, c.isl + c.osl / 2, c.isl / 2,
                   kv_share=beam_kv_share(c))
    return chunks * it["time"]


# --------------------------------------------------------------------------------------------
# power


def power(c: Cases, it: dict[str, np.ndarray],
          busy: np.ndarray | float = 1.0) -> dict[str, np.ndarray]:
    """Accelerator and host power while the group runs iterations ``it`` a fraction ``busy``."""
    t = np.maximum(it["time"], 1e-12)
    activity = np.clip((it["compute"] + it["comm"] * 0.3 + MEM_ACTIVITY * it["memory"]) / t,
                       0.0, 1.0) * busy
    per_accel = c.tdp * (IDLE_FRACTION + (1 - IDLE_FRACTION) * activity)
    servers = c.n_accel / c.accels_per_server  # fractional share of a server's host
    host = c.server_overhead * servers * (HOST_IDLE_FRACTION + (1 - HOST_IDLE_FRACTION) * activity)
    total = per_accel * c.n_accel + host
    return {"watts_per_accelerator": per_accel, "host_w": host, "total_w": total,
            "idle_w": c.tdp * IDLE_FRACTION * c.n_accel
            + c.server_overhead * servers * HOST_IDLE_FRACTION,
            "activity": activity}


def roofline(c: Cases) -> np.ndarray:
    """Upper bound on output tokens/s of the group: efficiency 1, no communication or overhead,
    the largest batch memory allows (B / T_ideal(B) never decreases with B)."""
    batch = np.maximum(memory_per_gpu(c)["max_batch"], 1.0)
    it = iteration(c, *decode_mix(c, batch), ideal=True, kv_share=beam_kv_share(c))
    return c.replicas * batch / it["time"]
