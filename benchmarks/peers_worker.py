"""Run the PyPI peers (llm-analysis, genz-llm) on rows described in JSON; print JSON results.

Runs inside the separate bench venv (``.venv-bench``), never imports infraplan: the caller
(``perf_accuracy.py``) passes every number (model architecture and accelerator specs from the
infraplan catalog, the configuration and batch) so that all tools see the same inputs.

stdin: a JSON list of rows; stdout: a JSON list of {"llm_analysis": tok/s | null,
"genz": tok/s | null, "llm_analysis_error": str, "genz_error": str}.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import sys
import warnings

warnings.filterwarnings("ignore")
logging.disable(logging.CRITICAL)


def run_llm_analysis(r: dict) -> float:
    from llm_analysis.analysis import LLMAnalysis
    from llm_analysis.config import DtypeConfig, GPUConfig, ModelConfig, ParallelismConfig

    # llm-analysis models a 2-matrix MLP; a gated (SwiGLU) MLP of width f has the parameters
    # and FLOPs of a 2-matrix MLP of width 1.5 f
    width = 1.5 * (r["expert_ffn"] if r["n_experts"] > 0 else r["ffn"])
    moe = {"ffn_embed_dim": int(width), "expansion_ratio": width / r["hidden"]}
    if r["n_experts"] > 0:
        moe.update(moe_num_experts=r["n_experts"], moe_top_k=r["k_active"])
    model = ModelConfig(
        name=r["model"],
        num_layers=r["n_layers"],
        n_head=r["n_heads"],
        hidden_dim=r["hidden"],
        vocab_size=r["vocab"],
        max_seq_len=r["context_length"],
        num_key_value_heads=r["n_kv_heads"],
        model_type="llama",
        **moe,
    )
    gpu = GPUConfig(
        name=r["accelerator"],
        mem_per_GPU_in_GB=r["hbm_gb"],
        hbm_bandwidth_in_GB_per_sec=r["hbm_tbps"] * 1000,
        intra_node_bandwidth_in_GB_per_sec=r["scaleup_gbps"],
        intra_node_min_message_latency=8e-6,
        peak_fp16_TFLOPS=r["bf16_tflops"],
        peak_i8_TFLOPS=r["fp8_tflops"] or 2 * r["bf16_tflops"],
    )
    bits = 8 if r["precision"] in ("fp8", "int8", "fp4") else 16
    dtype = DtypeConfig(
        name=f"w{bits}a{bits}e16", weight_bits=bits, activation_bits=bits, embedding_bits=16
    )
    par = ParallelismConfig(tp_size=r["tp"], pp_size=r["pp"], sp_size=r["tp"], dp_size=1)
    # llm-analysis README: "flops efficiency up to 0.7 for inference", HBM 0.9
    ana = LLMAnalysis(model, gpu, dtype, par, flops_efficiency=0.7, hbm_memory_efficiency=0.9)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        out = ana.inference(
            batch_size_per_gpu=max(int(r["batch"]), 1),
            seq_len=int(r["isl"]),
            num_tokens_to_generate=max(int(r["osl"]), 1),
            kv_cache_dtype_bytes=1 if bits == 8 else 2,
        )
    total = out["total_latency"]
    return r["replicas"] * max(int(r["batch"]), 1) * r["osl"] / total


def run_genz(r: dict) -> float:
    from GenZ.LLM_inference import decode_moddeling, prefill_moddeling
    from GenZ.Models.default_models import ModelConfig

    kw = {}
    if r["n_experts"] > 0:
        kw = {
            "num_experts": r["n_experts"],
            "expert_top_k": r["k_active"],
            "moe_intermediate_size": r["expert_ffn"],
            "intermediate_size": r["expert_ffn"],
        }
    else:
        kw = {"intermediate_size": r["ffn"]}
    model = ModelConfig(
        model=r["model"],
        vocab_size=r["vocab"],
        hidden_size=r["hidden"],
        num_decoder_layers=r["n_layers"],
        num_attention_heads=r["n_heads"],
        head_dim=r["head_dim"],
        num_key_value_heads=r["n_kv_heads"],
        max_model_len=r["context_length"],
        num_ffi=2,
        **kw,
    )
    system = {
        "Flops": r["bf16_tflops"],
        "Memory_size": r["hbm_gb"],
        "Memory_BW": r["hbm_tbps"] * 1000,
        "ICN": r["scaleup_gbps"],
        "real_values": True,
    }
    bits = "fp8" if r["precision"] in ("fp8", "int8", "fp4") else "bf16"
    batch = max(int(r["batch"]), 1)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        pre = prefill_moddeling(
            model=model,
            batch_size=batch,
            input_tokens=int(r["isl"]),
            system_name=dict(system),
            bits=bits,
            tensor_parallel=r["tp"],
            pipeline_parallel=r["pp"],
        )
        dec = decode_moddeling(
            model=model,
            batch_size=batch,
            input_tokens=int(r["isl"]),
            output_tokens=max(int(r["osl"] // 2), 1),
            Bb=int(r["beams"]),
            system_name=dict(system),
            bits=bits,
            tensor_parallel=r["tp"],
            pipeline_parallel=r["pp"],
        )
    total_ms = pre["Latency"] + r["osl"] * dec["Latency"]
    return r["replicas"] * batch * r["osl"] / (total_ms / 1000.0)


def main() -> None:
    rows = json.load(sys.stdin)
    out = []
    for r in rows:
        res = {}
        for name, fn in (("llm_analysis", run_llm_analysis), ("genz", run_genz)):
            try:
                value = fn(r)
                ok = value is not None and math.isfinite(value) and value > 0
                res[name] = value if ok else None
                res[name + "_error"] = "" if ok else "no finite result"
            except Exception as exc:  # a peer that cannot model the row
                res[name] = None
                res[name + "_error"] = f"{type(exc).__name__}: {str(exc)[:120]}"
        out.append(res)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
