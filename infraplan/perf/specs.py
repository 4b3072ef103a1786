"""Model and accelerator specifications as the performance model needs them.

Everything here is derived from the catalog tables (``catalog.models()``,
``catalog.accelerators()``)
by architecture arithmetic only; nothing is fitted. Results are cached per id.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any, TypedDict

import pandas as pd

from infraplan import catalog
from infraplan.errors import InfraplanError, UnknownIdError

GIB = 2**30



class Precision(TypedDict):
    """Bytes per weight / KV element / embedding element, the catalog peak column, the class."""

    w: float
    kv: float
    lm: float
    peak: str
    cls: str


#: precisions understood by the model: bytes per weight, bytes per KV element, bytes of the
#: (unquantised) embedding / LM head, and which dense peak of the accelerator the GEMMs run at.
PRECISIONS: dict[str, Precision] = {
    "bf16": {"w": 2.0, "kv": 2.0, "lm": 2.0, "peak": "bf16_tflops", "cls": "16"},
    "fp16": {"w": 2.0, "kv": 2.0, "lm": 2.0, "peak": "bf16_tflops", "cls": "16"},
    "fp8": {"w": 1.0, "kv": 1.0, "lm": 2.0, "peak": "fp8_tflops", "cls": "8"},
    "int8": {"w": 1.0, "kv": 1.0, "lm": 2.0, "peak": "int8_tops", "cls": "8"},
    # NVFP4/MXFP4: 4-bit values plus one 8-bit scale per 16 (32) elements -> 0.5625 B/weight
    "fp4": {"w": 0.5625, "kv": 1.0, "lm": 2.0, "peak": "fp4_tflops", "cls": "4"},
    # weight-only quantisation: low-bit weights, 16-bit activations, KV cache and GEMMs
    "w8a16": {"w": 1.0, "kv": 2.0, "lm": 2.0, "peak": "bf16_tflops", "cls": "16"},
    "w4a16": {"w": 0.5625, "kv": 2.0, "lm": 2.0, "peak": "bf16_tflops", "cls": "16"},
}
PRECISION_ALIASES = {"fp16": "fp16", "float16": "fp16", "half": "fp16", "bfloat16": "bf16",
                     "nvfp4": "fp4", "mxfp4": "fp4", "w8a8": "int8", "int4": "w4a16",
                     "awq": "w4a16", "gptq": "w4a16", "fp8-wo": "w8a16", "int8-wo": "w8a16"}
#: what a precision becomes on hardware without its tensor-core format (weight-only kernels)
WEIGHT_ONLY = {"fp8": "w8a16", "int8": "w8a16", "fp4": "w4a16"}


def resolve_precision(accel: AccelSpec, precision: str) -> str:
    """The precision as the accelerator runs it: a format without tensor-core support becomes
    weight-only (FP8 weights on an A100 run as W8A16, MXFP4 on an H100 as W4A16)."""
    if accel.supports(precision):
        return precision
    fallback = WEIGHT_ONLY.get(precision)
    if fallback and accel.supports(fallback):
        return fallback
    raise InfraplanError(
        f"precision: {accel.id} cannot run {precision} (supported: {', '.join(accel.peaks)})"
    )


def normalise_precision(value: str | None) -> str | None:
    """Lower-case a precision name and map aliases; ``None``/blank stays ``None``."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in ("", "nan", "none", "auto"):
        return None
    text = PRECISION_ALIASES.get(text, text)
    if text not in PRECISIONS:
        raise InfraplanError(
            f"precision: unknown precision {value!r}. Allowed: {', '.join(PRECISIONS)} (or blank "
            "to choose automatically)."
        )
    return text


@dataclass(frozen=True)
class ModelSpec:
    """Architecture numbers of one model, in the units the physics uses."""

    id: str
    n_layers: int
    hidden: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    ffn: int
    vocab: int
    n_experts: int
    k_active: int
    n_shared: int
    expert_ffn: int
    n_dense_layers: int
    attention: str
    params_total: float  # parameters
    params_active: float
    embed_params: float  # one vocab x hidden matrix (input embedding; LM head is another)
    routed_params: float  # all routed-expert parameters (0 for dense models)
    kv_elems_per_layer: float  # K+V (or MLA latent) elements per token per layer
    kv_shards_with_tp: bool  # KV cache partitioned over the TP ranks (heads, or MLA sequences)
    n_global_layers: int  # layers that attend to the full context
    n_window_layers: int  # layers with a sliding window
    window: int
    attn_flops_decode: float  # FLOPs per (query token x context token) per layer
    attn_flops_prefill: float
    context_length: int

    @property
    def is_moe(self) -> bool:
        """Whether the model has routed experts."""
        return self.n_experts > 0

    @property
    def linear_active(self) -> float:
        """Parameters multiplied per token outside embedding and LM head."""
        return max(self.params_active - 2 * self.embed_params, 0.5 * self.params_active)

    @property
    def dense_linear(self) -> float:
        """Non-routed linear parameters (attention projections, dense FFNs, shared experts)."""
        return max(self.params_total - self.routed_params - 2 * self.embed_params, 0.0)

    @property
    def routed_active(self) -> float:
        """Routed-expert parameters used by one token."""
        if not self.is_moe:
            return 0.0
        return self.routed_params * self.k_active / self.n_experts

    def weight_bytes(self, precision: str) -> float:
        """Bytes of all weights at ``precision`` (embedding and LM head kept at 16 bit)."""
        p = PRECISIONS[precision]
        body = self.params_total - 2 * self.embed_params
        return body * float(p["w"]) + 2 * self.embed_params * float(p["lm"])

    def kv_bytes_per_token(self, precision: str, context: float | None = None) -> float:
        """KV-cache bytes of one token position over all layers (whole model, no sharding).

        With ``context`` given, returns the average bytes per token of a sequence of that length
        (sliding-window layers keep at most ``window`` positions).
        """
        per_layer = self.kv_elems_per_layer * float(PRECISIONS[precision]["kv"])
        if context is None or self.n_window_layers == 0:
            return per_layer * (self.n_global_layers + self.n_window_layers)
        kept = min(context, self.window) / max(context, 1.0)
        return per_layer * (self.n_global_layers + self.n_window_layers * kept)


@dataclass(frozen=True)
class AccelSpec:
    """Accelerator numbers used by the performance model."""

    id: str
    family: str
    form_factor: str
    peaks: dict  # precision -> FLOP/s (dense), missing = unsupported
    mem_bytes: float
    bw: float  # bytes/s
    link_bw: float  # bytes/s per direction (scale-up)
    domain: int
    tdp_w: float
    accels_per_server: int
    server_overhead_w: float
    power_ratio: float = 1.0  # board power per peak FLOP relative to the family's SXM/OAM parts

    def supports(self, precision: str) -> bool:
        """Whether the accelerator has a dense peak (tensor-core format) for ``precision``."""
        return precision in self.peaks

    def peak(self, precision: str) -> float:
        """Dense peak FLOP/s at ``precision`` (``KeyError`` if unsupported)."""
        return self.peaks[precision]


def _num(row: pd.Series | dict[str, Any], field: str, default: float = 0.0) -> float:
    """A numeric catalog cell; blank, NaN or non-numeric -> ``default``."""
    value = row.get(field)
    if value is None:
        return default
    try:
        out = float(value)
    except (TypeError, ValueError):
        return default
    return default if math.isnan(out) else out


def _row(table: pd.DataFrame, key: str) -> pd.Series:
    """Row ``key`` of a catalog table (ids are unique: the catalog loader checks)."""
    row = table.loc[key]
    if not isinstance(row, pd.Series):
        raise InfraplanError(f"catalog: id {key!r} is not unique")
    return row


@cache
def model_spec(model_id: str, field: str | None = "model") -> ModelSpec:
    """Architecture of a catalog model; unknown ids raise ``UnknownIdError``."""
    table = catalog.models()
    if model_id not in table.index:
        raise UnknownIdError("model", model_id, table.index, field=field)
    r = _row(table, model_id)
    n_layers = int(_num(r, "n_layers"))
    hidden = int(_num(r, "hidden_size"))
    n_heads = int(_num(r, "n_heads"))
    n_kv = int(_num(r, "n_kv_heads", n_heads)) or n_heads
    head_dim = int(_num(r, "head_dim")) or (hidden // max(n_heads, 1))
    vocab = int(_num(r, "vocab_size"))
    n_experts = int(_num(r, "n_experts"))
    k_active = int(_num(r, "n_experts_active"))
    n_shared = int(_num(r, "n_shared_experts"))
    expert_ffn = int(_num(r, "expert_ffn_size"))
    n_dense = int(_num(r, "n_dense_layers"))
    attention = str(r.get("attention") or "gqa").strip().lower() or "gqa"
    total = _num(r, "params_total_b") * 1e9
    active = _num(r, "params_active_b") * 1e9 or total
    embed = float(vocab) * hidden
    routed = 0.0
    if n_experts > 0 and expert_ffn > 0:
        routed = (n_layers - n_dense) * n_experts * 3.0 * hidden * expert_ffn
        routed = min(routed, 0.97 * total)
    kv_lora = int(_num(r, "kv_lora_rank"))
    rope = int(_num(r, "qk_rope_head_dim"))
    if attention == "mla" and kv_lora > 0:
        kv_elems = float(kv_lora + rope)
        # the latent has no heads to split; engines serving MLA models at scale run attention
        # data-parallel inside the tensor group, so each rank holds the latents of its own
        # sequences: the cache is partitioned over the group like GQA heads (docs/perf.md)
        shards = True
        # absorbed MLA decode: scores over the latent (+rope) and values from the latent
        attn_dec = 2.0 * n_heads * (kv_lora + rope) + 2.0 * n_heads * kv_lora
        attn_pre = 2.0 * n_heads * (head_dim + rope) + 2.0 * n_heads * head_dim
    else:
        kv_elems = 2.0 * n_kv * head_dim
        shards = True
        attn_dec = attn_pre = 4.0 * n_heads * head_dim
    window = int(_num(r, "sliding_window"))
    n_global_cfg = int(_num(r, "n_global_layers"))
    if attention in ("swa", "hybrid") and window > 0:
        n_global = min(n_global_cfg, n_layers)
        n_window = n_layers - n_global
    else:
        n_global, n_window, window = n_layers, 0, 0
    return ModelSpec(
        id=model_id, n_layers=n_layers, hidden=hidden, n_heads=n_heads, n_kv_heads=n_kv,
        head_dim=head_dim, ffn=int(_num(r, "ffn_size")), vocab=vocab, n_experts=n_experts,
        k_active=k_active, n_shared=n_shared, expert_ffn=expert_ffn, n_dense_layers=n_dense,
        attention=attention, params_total=total, params_active=active, embed_params=embed,
        routed_params=routed, kv_elems_per_layer=kv_elems, kv_shards_with_tp=shards,
        n_global_layers=n_global, n_window_layers=n_window, window=window,
        attn_flops_decode=attn_dec, attn_flops_prefill=attn_pre,
        context_length=int(_num(r, "context_length", 131072)),
    )


@cache
def accel_spec(accel_id: str, field: str | None = "accelerator") -> AccelSpec:
    """Specification of a catalog accelerator; unknown ids raise ``UnknownIdError``."""
    table = catalog.accelerators()
    if accel_id not in table.index:
        raise UnknownIdError("accelerator", accel_id, table.index, field=field)
    r = _row(table, accel_id)
    peaks = {}
    for prec, info in PRECISIONS.items():
        val = _num(r, str(info["peak"]))
        if val > 0:
            peaks[prec] = val * 1e12
    return AccelSpec(
        power_ratio=_power_ratio(table, accel_id),
        id=accel_id,
        family=str(r.get("family") or "unknown").strip().lower(),
        form_factor=str(r.get("form_factor") or "").strip().lower(),
        peaks=peaks,
        mem_bytes=_num(r, "hbm_gb") * GIB,
        bw=_num(r, "hbm_tbps") * 1e12,
        link_bw=max(_num(r, "scaleup_gbps", 32.0), 1.0) * 1e9,
        domain=max(int(_num(r, "scaleup_domain", 8)), 1),
        tdp_w=_num(r, "tdp_w", 700.0),
        accels_per_server=max(int(_num(r, "accels_per_server", 8)), 1),
        server_overhead_w=_num(r, "server_overhead_w", 0.0),
    )


def _peak8(r: pd.Series) -> float:
    """Dense 8-bit peak in TFLOP/s (FP8, else INT8, else twice BF16)."""
    return _num(r, "fp8_tflops") or _num(r, "int8_tops") or 2 * _num(r, "bf16_tflops")


def _watts_per_flop(r: pd.Series) -> float:
    """Board power per dense 8-bit peak FLOP/s (0 without a peak)."""
    peak8 = _peak8(r)
    return _num(r, "tdp_w") / peak8 if peak8 > 0 else 0.0


def _power_ratio(table: pd.DataFrame, accel_id: str) -> float:
    """Board power per peak FLOP of a PCIe/NVL card relative to the full-power (SXM/OAM) parts
    of its family; 1 for full-power parts and for families without one. Below 1 the card cannot
    sustain its boost clock under dense load (see docs/perf.md, power derate)."""
    r = _row(table, accel_id)
    if str(r.get("form_factor") or "").lower() not in ("pcie", "nvl"):
        return 1.0
    fam = table[(table["family"] == r["family"])
                & table["form_factor"].str.lower().isin(["sxm", "oam"])]
    # the reference is the family's flagship die (largest 8-bit peak) at full power: a part cut
    # down by design (H20: compute fused off, so many watts per FLOP) is no power reference
    ref = [(_peak8(x), _watts_per_flop(x)) for _, x in fam.iterrows()]
    ref = [(p, w) for p, w in ref if p > 0 and w > 0]
    own = _watts_per_flop(r)
    if not ref or own <= 0:
        return 1.0
    top = max(p for p, _ in ref)
    return min(own / max(w for p, w in ref if p == top), 1.0)


def clear_caches() -> None:
    """Forget cached specs (after the catalog tables changed)."""
    model_spec.cache_clear()
    accel_spec.cache_clear()
