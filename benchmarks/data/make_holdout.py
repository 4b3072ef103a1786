"""Build benchmarks/data/holdout.csv: published measurements NOT in the calibration set.

    .venv/bin/python benchmarks/data/make_holdout.py

The numbers below are transcribed from the public files named in each block (repository,
path, commit); this script only normalises them to the calibration-CSV columns:

- throughput is for the whole measured group (per-GPU figures x GPUs in the group);
- fixed-concurrency runs use mode ``concurrency``; finite runs of N requests sent at once
  (``vllm bench serve`` without a rate limit) use mode ``qps`` with ``qps = inf`` and
  ``n_requests = N``; MLPerf rows keep their scenario (offline / server / interactive);
- mean input and output lengths are used: InferenceMAX draws random lengths uniformly in
  [0.8 L, L] (``--random-range-ratio 0.8`` of its bench_serving fork,
  ``np.random.randint(int(L * 0.8), L + 1)``), so the mean is 0.9 L; vLLM bench runs report
  the total input and generated tokens, divided here by the request count.

Extra columns beyond calibration.csv (read by ``calibration.load_measurements``):
``engine`` (serving engine or MLPerf round), ``qps``, ``n_requests``.
The hold-out set is never used for fitting (``infraplan perf calibrate`` reads
calibration.csv only).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

OUT = Path(__file__).with_name("holdout.csv")
COLUMNS = ["source_set", "model", "accelerator", "n_accel", "tp", "pp", "precision", "isl",
           "osl", "mode", "concurrency", "ttft_p99_ms", "tpot_p99_ms", "output_tokens_per_s",
           "benchmark", "system", "source", "source_metric", "value_note", "engine", "qps",
           "n_requests"]

rows: list[dict] = []


def add(**kw) -> None:
    row = dict.fromkeys(COLUMNS, "")
    row.update({k: ("" if v is None else v) for k, v in kw.items()})
    rows.append(row)


# ------------------------------------------------------------------------------------------
# A. SemiAnalysis InferenceMAX, gpt-oss-120b (MXFP4), single-node sweeps Dec 2025 - Jan 2026,
#    as exported to github.com/gminneci/mantile reconcile/by_model/openai_GPT-OSS-120B/
#    inferencemax.csv @ 11a8e89640fe2f51e2e225886e7f0ef9f144cf55 (columns gpu_model,
#    framework, precision, input_seq_len, output_seq_len, tensor_parallel, expert_parallel,
#    concurrency, ..., output_throughput_per_gpu, ..., run_id = GitHub Actions run of
#    SemiAnalysisAI/InferenceMAX). One engine instance with tp GPUs per run.
SRC_A = ("github.com/gminneci/mantile/blob/11a8e89640fe2f51e2e225886e7f0ef9f144cf55/reconcile/"
         "by_model/openai_GPT-OSS-120B/inferencemax.csv")
ENGINE_A = {"vllm": "vllm", "trt": "trtllm", "atom": "atom"}
ACCEL_A = {"b200": "b200", "b200-trt": "b200", "h100": "h100-sxm", "h200": "h200-sxm",
           "mi355x": "mi355x"}
#  gpu_model, framework, ISL, OSL, tp, conc, output_throughput_per_gpu, run_id
A = [
    ("b200", "vllm", 1024, 1024, 1, 4, 1010.8763811026761, 20667906037),
    ("b200", "vllm", 1024, 1024, 1, 32, 3779.845506764804, 20667906037),
    ("b200", "vllm", 1024, 1024, 1, 128, 8672.531100037213, 20667906037),
    ("b200", "vllm", 1024, 1024, 2, 64, 4384.117213832997, 20667906037),
    ("b200", "vllm", 1024, 1024, 8, 4, 166.08133774785904, 20667906037),
    ("b200", "vllm", 1024, 8192, 1, 128, 9769.792467913985, 20667906037),
    ("b200", "vllm", 8192, 1024, 1, 16, 2186.0373936143455, 20667906037),
    ("b200", "vllm", 8192, 1024, 1, 128, 5572.285007776605, 20667906037),
    ("b200", "vllm", 8192, 1024, 4, 64, 2128.3358996759334, 20667906037),
    ("b200-trt", "trt", 1024, 1024, 1, 128, 9671.443927886781, 20764588467),
    ("b200-trt", "trt", 1024, 1024, 4, 16, 1216.6912590768866, 20764588467),
    ("b200-trt", "trt", 1024, 8192, 4, 128, 5622.603997147942, 20764588467),
    ("b200-trt", "trt", 8192, 1024, 2, 128, 4495.0098897523285, 20786863188),
    ("h100", "vllm", 1024, 1024, 2, 64, 2055.9602298565874, 20667906037),
    ("h100", "vllm", 1024, 1024, 4, 4, 232.33696988568263, 20667906037),
    ("h100", "vllm", 1024, 1024, 8, 64, 1046.9815295577785, 20667906037),
    ("h100", "vllm", 1024, 8192, 2, 64, 2125.3938268134393, 20667906037),
    ("h100", "vllm", 8192, 1024, 2, 64, 1140.034221552033, 20667906037),
    ("h100", "vllm", 8192, 1024, 8, 4, 119.74928804741259, 20667906037),
    ("h200", "vllm", 1024, 1024, 1, 4, 599.446496887325, 20667906037),
    ("h200", "vllm", 1024, 1024, 2, 64, 2126.6814140599004, 20667906037),
    ("h200", "vllm", 1024, 1024, 8, 32, 677.2937835031347, 20667906037),
    ("h200", "vllm", 1024, 8192, 4, 64, 1684.0549591029421, 20667906037),
    ("h200", "vllm", 8192, 1024, 1, 64, 1443.6269097037987, 20667906037),
    ("h200", "vllm", 8192, 1024, 4, 32, 731.1809357305837, 20667906037),
    ("mi355x", "atom", 1024, 1024, 1, 16, 2391.5153618958666, 21012127808),
    ("mi355x", "atom", 1024, 1024, 1, 128, 8778.9664575328, 21012127808),
    ("mi355x", "atom", 1024, 1024, 8, 32, 837.7472093690415, 21012127808),
    ("mi355x", "atom", 1024, 8192, 1, 128, 9319.291996339629, 21012127808),
    ("mi355x", "atom", 8192, 1024, 1, 128, 4984.369375533031, 21012127808),
    ("mi355x", "atom", 8192, 1024, 8, 16, 435.6263148680611, 21012127808),
]
for gpu, fw, isl, osl, tp, conc, per_gpu, run in A:
    add(source_set=f"InferenceMAX ({ENGINE_A[fw]})", model="gpt-oss-120b",
        accelerator=ACCEL_A[gpu], n_accel=tp, tp=tp, pp=1, precision="fp4",
        isl=round(0.9 * isl), osl=round(0.9 * osl), mode="concurrency", concurrency=conc,
        output_tokens_per_s=round(per_gpu * tp, 2), benchmark=f"random {isl}/{osl}",
        system=f"InferenceMAX {gpu} {fw} tp{tp} (run {run})", source=SRC_A,
        source_metric="output_throughput_per_gpu",
        value_note=(f"output_throughput_per_gpu {per_gpu:.4f} x tp{tp}; isl/osl = 0.9 x "
                    f"{isl}/{osl} (random-range-ratio 0.8); MXFP4 weights (runs as W4A16 "
                    "on Hopper)"),
        engine=ENGINE_A[fw])

# ------------------------------------------------------------------------------------------
# B. MLPerf Inference v5.0 closed, mlperf_log_summary.txt (mirror of
#    mlcommons/inference_results_v5.0: github.com/ntuhpc/mlperf_inference_results_v5.0 @
#    cf354115915ea369f05db424b051da8c5bf957dc). NVIDIA Blackwell LLM weights are FP4
#    (measurements/B200-SXM-180GBx8_TRT/llama3_1-405b/Server/*.json: weight_data_types fp4;
#    the v4.1 B200 rows of calibration.csv are fp4 too); AMD MI325X runs vLLM with FP8.
#    Not used: the B200 mixtral-8x7b results (128,148 / 126,845 tokens/s), whose precision
#    (FP4 or FP8) the files read here do not state.
SRC_B = ("github.com/ntuhpc/mlperf_inference_results_v5.0/blob/"
         "cf354115915ea369f05db424b051da8c5bf957dc/")
LIMITS = {"offline": (None, None), "server": (2000.0, 200.0), "interactive": (450.0, 40.0)}
OSL = {"llama2-70b": 294, "mixtral-8x7b": 145}  # dataset means (calibration README)
#  org, system, n, accelerator, model, benchmark, scenario, tokens/s, precision
B = [
    ("NVIDIA", "B200-SXM-180GBx8_TRT", 8, "b200", "llama2-70b", "llama2-70b-99.9", "Offline",
     98858.0, "fp4"),
    ("NVIDIA", "B200-SXM-180GBx8_TRT", 8, "b200", "llama2-70b", "llama2-70b-99.9", "Server",
     98443.30, "fp4"),
    ("NVIDIA", "B200-SXM-180GBx1_TRT", 1, "b200", "llama2-70b", "llama2-70b-99.9", "Offline",
     12269.3, "fp4"),
    ("AMD", "8xMI325X_2xEPYC_9575F", 8, "mi325x", "llama2-70b", "llama2-70b-99.9", "Offline",
     33928.1, "fp8"),
    ("AMD", "8xMI325X_2xEPYC_9575F", 8, "mi325x", "llama2-70b", "llama2-70b-99.9", "Server",
     30724.51, "fp8"),
]
for org, system, n, acc, model, bench, scen, tps, prec in B:
    mode = scen.lower()
    ttft, tpot = LIMITS[mode]
    note = ("NVIDIA Blackwell LLM submissions use FP4 weights" if prec == "fp4"
            else "AMD submission: vLLM, FP8")
    add(source_set="mlperf-v5.0", model=model, accelerator=acc, n_accel=n, precision=prec,
        osl=OSL[model], mode=mode, ttft_p99_ms=ttft, tpot_p99_ms=tpot,
        output_tokens_per_s=tps, benchmark=bench, system=system,
        source=(f"{SRC_B}closed/{org}/results/{system}/{bench}/{scen}/performance/run_1/"
                "mlperf_log_summary.txt"),
        source_metric=("Tokens per second" if mode == "offline"
                       else "Completed tokens per second"),
        value_note=note, engine="mlperf-v5.0")

# ------------------------------------------------------------------------------------------
# C. MLPerf Inference v5.1 closed, available category: results table as published by
#    MLCommons, copied to github.com/openshift-psap/performance-dashboard
#    mlperf-data/mlperf-5.1.csv @ 21000667a6499697fcdebf53d19bcd9d059d1260 (row = public ID,
#    "Avg. Result at System Name", Tokens/s for llama2-70b and mixtral-8x7b).
SRC_C = ("github.com/openshift-psap/performance-dashboard/blob/"
         "21000667a6499697fcdebf53d19bcd9d059d1260/mlperf-data/mlperf-5.1.csv")
#  public id, system, n, accelerator, model, benchmark, scenario, tokens/s, precision
C = [
    ("5.1-0069", "NVIDIA DGX B200 (8x B200-SXM-180GB TensorRT)", 8, "b200", "llama2-70b",
     "llama2-70b-99", "Offline", 101527.0, "fp4"),
    ("5.1-0069", "NVIDIA DGX B200 (8x B200-SXM-180GB TensorRT)", 8, "b200", "llama2-70b",
     "llama2-70b-99", "Server", 99123.04, "fp4"),
    ("5.1-0069", "NVIDIA DGX B200 (8x B200-SXM-180GB TensorRT)", 8, "b200", "llama2-70b",
     "llama2-70b-99", "Interactive", 59545.40, "fp4"),
    ("5.1-0070", "NVIDIA (4x GB200-186GB_aarch64 TensorRT)", 4, "gb200", "llama2-70b",
     "llama2-70b-99", "Offline", 51736.90, "fp4"),
    ("5.1-0070", "NVIDIA (4x GB200-186GB_aarch64 TensorRT)", 4, "gb200", "llama2-70b",
     "llama2-70b-99", "Server", 49359.61, "fp4"),
    ("5.1-0070", "NVIDIA (4x GB200-186GB_aarch64 TensorRT)", 4, "gb200", "llama2-70b",
     "llama2-70b-99", "Interactive", 29745.60, "fp4"),
    ("5.1-0002", "AMD QuantaGrid D74A-7U (8x MI325X)", 8, "mi325x", "llama2-70b",
     "llama2-70b-99", "Offline", 34520.40, "fp8"),
    ("5.1-0002", "AMD QuantaGrid D74A-7U (8x MI325X)", 8, "mi325x", "llama2-70b",
     "llama2-70b-99", "Server", 32027.57, "fp8"),
    ("5.1-0002", "AMD QuantaGrid D74A-7U (8x MI325X)", 8, "mi325x", "mixtral-8x7b",
     "mixtral-8x7b", "Offline", 68781.40, "fp8"),
    ("5.1-0002", "AMD QuantaGrid D74A-7U (8x MI325X)", 8, "mi325x", "mixtral-8x7b",
     "mixtral-8x7b", "Server", 59783.60, "fp8"),
    ("5.1-0001", "AMD Supermicro AS-8125GS-TNMR2 (8x MI300X)", 8, "mi300x", "llama2-70b",
     "llama2-70b-99", "Interactive", 8840.42, "fp8"),
    ("5.1-0001", "AMD Supermicro AS-8125GS-TNMR2 (8x MI300X)", 8, "mi300x", "mixtral-8x7b",
     "mixtral-8x7b", "Offline", 53017.30, "fp8"),
    ("5.1-0001", "AMD Supermicro AS-8125GS-TNMR2 (8x MI300X)", 8, "mi300x", "mixtral-8x7b",
     "mixtral-8x7b", "Server", 47804.30, "fp8"),
]
for pid, system, n, acc, model, bench, scen, tps, prec in C:
    mode = scen.lower()
    ttft, tpot = LIMITS[mode]
    add(source_set="mlperf-v5.1", model=model, accelerator=acc, n_accel=n, precision=prec,
        osl=OSL[model], mode=mode, ttft_p99_ms=ttft, tpot_p99_ms=tpot,
        output_tokens_per_s=tps, benchmark=bench, system=f"{pid} {system}", source=SRC_C,
        source_metric=f"{bench} {scen} Tokens/s (public ID {pid})",
        value_note=("NVIDIA Blackwell LLM submissions use FP4 weights" if prec == "fp4"
                    else "AMD submissions: vLLM, FP8"),
        engine="mlperf-v5.1")

# ------------------------------------------------------------------------------------------
# D. GPUStack performance lab (github.com/gpustack/gpustack docs/performance-lab/...):
#    ``vllm bench serve`` result blocks. ShareGPT: N prompts sent at once (no rate limit);
#    random: --random-input-len/--random-output-len, N prompts at once; "batch size 4":
#    --max-concurrency 4. isl/osl = total input / generated tokens over successful requests.
GP = "github.com/gpustack/gpustack/blob/"
SRC_D = {
    "deepseek-r1": GP + "a5c9fafc3022e81779c2c5ade32c5b703ce2248c/docs/performance-lab/"
                        "deepseek-r1/h200.md",
    "qwen3-235b-a22b": GP + "10e9444a07c73556f2ef0d10d2b2766bbf54c9c0/docs/performance-lab/"
                            "qwen3-235b-a22b/h100.md",
    "gpt-oss-20b": GP + "7b50d5067ddbdeba0739e7f72d6f40e53d3b9a04/docs/performance-lab/"
                        "gpt-oss-20b/h100.md",
}
#  model, accel, n, tp, precision, engine, engine label, case, N requests, input tok,
#  generated tok, output tok/s, concurrency (None = all at once)
D = [
    ("deepseek-r1", "h200-sxm", 8, 8, "fp8", "vllm", "vLLM v0.11.0 -tp 8", "ShareGPT", 1000,
     219171, 200752, 2621.05, None),
    ("deepseek-r1", "h200-sxm", 8, 8, "fp8", "sglang", "SGLang v0.5.3 --tp-size 8", "ShareGPT",
     1000, 219171, 200767, 3172.46, None),
    ("deepseek-r1", "h200-sxm", 8, 8, "fp8", "trtllm", "TensorRT-LLM v1.0.0 trtllm-serve tp8 ep8",
     "ShareGPT", 1000, 219171, 200813, 1618.94, None),
    ("deepseek-r1", "h200-sxm", 8, 8, "fp8", "sglang",
     "SGLang v0.5.3 --tp-size 8 --enable-dp-attention", "ShareGPT", 1000, 219171, 200752,
     3414.99, None),
    ("deepseek-r1", "h200-sxm", 8, 8, "fp8", "vllm", "vLLM v0.11.0 -tp 8", "random 32000/100",
     100, 3199900, 10000, 48.33, None),
    ("deepseek-r1", "h200-sxm", 8, 8, "fp8", "vllm", "vLLM v0.11.0 -tp 8", "random 4000/200",
     500, 1997530, 100000, 753.67, None),
    ("deepseek-r1", "h200-sxm", 8, 8, "fp8", "vllm", "vLLM v0.11.0 -tp 8", "random 2000/100",
     500, 998393, 50000, 843.71, None),
    ("deepseek-r1", "h200-sxm", 8, 8, "fp8", "vllm", "vLLM v0.11.0 -tp 8",
     "ShareGPT max-concurrency 4", 100, 22836, 21338, 196.81, 4),
    ("deepseek-r1", "h200-sxm", 8, 8, "fp8", "sglang",
     "SGLang v0.5.3 --tp 8 --enable-dp-attention", "random 32000/100", 100, 3199900, 9952,
     49.89, None),
    ("deepseek-r1", "h200-sxm", 8, 8, "fp8", "sglang",
     "SGLang v0.5.3 --tp 8 --enable-dp-attention", "random 4000/200", 500, 1997530, 100000,
     767.42, None),
    ("deepseek-r1", "h200-sxm", 8, 8, "fp8", "sglang",
     "SGLang v0.5.3 --tp 8 --enable-dp-attention", "random 2000/100", 500, 998393, 50000,
     907.31, None),
    ("qwen3-235b-a22b", "h100-sxm", 8, 8, "bf16", "vllm", "vLLM v0.11.0 -tp 8 (BF16)",
     "ShareGPT", 984, 212894, 193865, 4015.36, None),
    ("qwen3-235b-a22b", "h100-sxm", 8, 8, "bf16", "sglang", "SGLang v0.5.5.post1 --tp-size 8",
     "ShareGPT", 984, 214137, 193829, 3644.72, None),
    ("qwen3-235b-a22b", "h100-sxm", 8, 8, "fp8", "vllm",
     "vLLM v0.11.0 -tp 8 --enable-expert-parallel (FP8)", "ShareGPT", 984, 211761, 192350,
     3856.59, None),
    ("qwen3-235b-a22b", "h100-sxm", 4, 4, "fp8", "vllm", "vLLM v0.11.0 -tp 4 (FP8)", "ShareGPT",
     984, 212992, 194446, 3592.57, None),
    ("qwen3-235b-a22b", "h100-sxm", 8, 8, "bf16", "vllm", "vLLM v0.11.0 -tp 8 (BF16)",
     "random 32000/100", 100, 3200000, 8191, 57.85, None),
    ("qwen3-235b-a22b", "h100-sxm", 8, 8, "bf16", "vllm", "vLLM v0.11.0 -tp 8 (BF16)",
     "random 4000/200", 500, 1997942, 92185, 931.21, None),
    ("gpt-oss-20b", "h100-sxm", 1, 1, "fp4", "vllm", "vLLM v0.11.0", "ShareGPT", 1000, 215312,
     193979, 7817.03, None),
    ("gpt-oss-20b", "h100-sxm", 1, 1, "fp4", "sglang", "SGLang v0.5.4.post2", "ShareGPT",
     1000, 215312, 195734, 2679.49, None),
    ("gpt-oss-20b", "h100-sxm", 1, 1, "fp4", "trtllm", "TensorRT-LLM v1.2.0rc1 trtllm-serve",
     "ShareGPT", 1000, 215312, 191726, 3615.45, None),
    ("gpt-oss-20b", "h100-sxm", 1, 1, "fp4", "vllm", "vLLM v0.11.0 --async-scheduling",
     "ShareGPT", 1000, 215312, 193919, 9064.40, None),
    ("gpt-oss-20b", "h100-sxm", 1, 1, "fp4", "vllm", "vLLM v0.11.0", "random 32000/100", 100,
     3200000, 9350, 86.62, None),
    ("gpt-oss-20b", "h100-sxm", 1, 1, "fp4", "vllm", "vLLM v0.11.0", "random 4000/200", 500,
     1999249, 52309, 847.43, None),
    ("gpt-oss-20b", "h100-sxm", 1, 1, "fp4", "vllm", "vLLM v0.11.0", "random 2000/100", 500,
     999120, 47022, 1443.44, None),
]
for (model, acc, n, tp, prec, eng, label, case, nreq, tin, tout, tps, conc) in D:
    add(source_set=f"GPUStack performance lab ({eng})", model=model, accelerator=acc,
        n_accel=n, tp=tp, pp=1, precision=prec, isl=round(tin / nreq, 1),
        osl=round(tout / nreq, 1), mode="concurrency" if conc else "qps", concurrency=conc,
        output_tokens_per_s=tps, benchmark=f"vllm bench serve {case}",
        system=f"{n}x {acc} {label}", source=SRC_D[model],
        source_metric="Output token throughput (tok/s)",
        value_note=(f"{nreq} requests, {tin} input / {tout} generated tokens"
                    + ("; MXFP4 weights (W4A16 on Hopper)" if prec == "fp4" else "")),
        engine=eng, qps=None if conc else "inf", n_requests=nreq)

with OUT.open("w", newline="") as fh:
    w = csv.DictWriter(fh, fieldnames=COLUMNS)
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if (isinstance(v, float) and math.isnan(v)) else v)
                    for k, v in r.items()})
print(f"wrote {len(rows)} rows to {OUT}")
