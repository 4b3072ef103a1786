"""Performance model: hand-worked cases, memory and feasibility, monotonicity, roofline bound."""

from __future__ import annotations

import ast
import graphlib
import math
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infraplan import catalog, perf
from infraplan.errors import InfraplanError, UnknownIdError
from infraplan.perf import PerfResult, ServerCapacity, autoconfig, predict, server_capacity, serving
from infraplan.perf import efficiency as eff_mod
from infraplan.perf import model as phys
from infraplan.perf.specs import GIB, accel_spec, model_spec


def cases(**rec):
    base = {"model": "llama3.1-8b", "accelerator": "h100-sxm", "precision": "bf16", "tp": 1,
            "pp": 1, "n_accel": 1, "isl": 1024, "osl": 256}
    base.update(rec)
    return phys.build_cases([base], eff_mod.packaged())


def scaled_compute(factor: float) -> eff_mod.Efficiency:
    """A new table: the packaged fit with every ``eta_compute`` multiplied by ``factor``."""
    table = eff_mod.packaged().to_table().copy()
    rows = table["parameter"] == "eta_compute"
    table.loc[rows, "value"] = table.loc[rows, "value"] * factor
    return eff_mod.Efficiency.from_table(table)


# ------------------------------------------------------------------ hand-worked known answers


def test_formats_without_tensor_cores_run_weight_only():
    # MXFP4 weights on an H100 (no FP4 tensor cores): 4-bit weights, BF16 GEMMs and KV cache
    r = predict("gpt-oss-120b", "h100-sxm", n_accel=1, precision="mxfp4", isl=1024, osl=256)
    assert r.precision == "w4a16"
    assert r.feasible
    a100 = predict("llama3.1-70b", "a100-sxm-80g", n_accel=2, tp=2, precision="fp8",
                   isl=1024, osl=256)
    assert a100.precision == "w8a16"
    assert a100.memory_weights_gb == pytest.approx(
        model_spec("llama3.1-70b").weight_bytes("w8a16") / 2 / 1e9)


def test_llama31_8b_bf16_weights_are_16_06_gb():
    # 8.03e9 parameters x 2 bytes
    r = predict("llama3.1-8b", "h100-sxm", n_accel=1, tp=1, precision="bf16", isl=128, osl=128)
    assert r.memory_weights_gb == pytest.approx(16.06, abs=0.005)
    assert model_spec("llama3.1-8b").weight_bytes("bf16") == pytest.approx(16.06e9, rel=1e-9)


def test_fp8_weights_keep_embedding_and_head_at_16_bit():
    m = model_spec("llama3.1-8b")
    embed = 128256 * 4096
    expected = (8.03e9 - 2 * embed) * 1 + 2 * embed * 2
    assert m.weight_bytes("fp8") == pytest.approx(expected)


def test_kv_bytes_per_token_gqa():
    # 2 (K,V) x 32 layers x 8 KV heads x 128 head_dim x 2 bytes
    assert model_spec("llama3.1-8b").kv_bytes_per_token("bf16") == 2 * 32 * 8 * 128 * 2
    assert model_spec("llama3.1-70b").kv_bytes_per_token("fp8") == 2 * 80 * 8 * 128 * 1


def test_kv_bytes_per_token_mla_latent():
    # DeepSeek MLA caches the compressed latent (512) + rotary key (64) per layer, not K and V
    m = model_spec("deepseek-r1")
    assert m.kv_bytes_per_token("fp8") == 61 * (512 + 64)
    # attention data-parallel: each of 8 ranks holds 1/8 of the latents
    c = cases(model="deepseek-r1", accelerator="h200-sxm", precision="fp8", tp=8, n_accel=8)
    assert phys.kv_bytes_per_position(c)[0] == pytest.approx(61 * 576 / 8)


def test_kv_sliding_window_caps_long_contexts():
    m = model_spec("gpt-oss-120b")  # 18 of 36 layers slide over 128 tokens
    full = m.kv_bytes_per_token("bf16")
    at_32k = m.kv_bytes_per_token("bf16", context=32768)
    assert at_32k == pytest.approx(full * (18 + 18 * 128 / 32768) / 36)
    assert m.kv_bytes_per_token("bf16", context=100) == pytest.approx(full)


def test_decode_step_at_batch_1_is_weights_over_bandwidth():
    c = cases()
    it = phys.iteration(c, np.array([1.0]), np.array([0.0]), np.array([1.0]), np.array([0.0]))
    m = model_spec("llama3.1-8b")
    read = (m.params_total - m.embed_params) * 2  # all weights but the input embedding
    expected = read / (accel_spec("h100-sxm").bw * c.eta_m[0])
    # host overheads (fixed per iteration and per sequence in flight) are not GPU time
    step = it["time"][0] - c.step_overhead[0] - c.seq_overhead[0] * 1.0
    assert step == pytest.approx(expected, rel=0.03)
    assert it["memory"][0] > 10 * it["compute"][0]  # memory-bound


def test_decode_turns_compute_bound_at_large_batch():
    c = cases(precision="fp8")
    small = phys.iteration(c, np.array([1.0]), np.array([0.0]), np.array([1024.0]),
                           np.array([0.0]))
    large = phys.iteration(c, np.array([4096.0]), np.array([0.0]), np.array([64.0]),
                           np.array([0.0]))
    assert small["memory"][0] > small["compute"][0]
    assert large["compute"][0] > large["memory"][0]


def test_host_overhead_grows_with_sequences_in_flight():
    # per-sequence scheduler/sampling time: iteration time at batch B minus the same GPU work
    # without the per-sequence term is seq_overhead x B (beams of one request count once)
    c = cases(precision="fp8")
    args = (np.array([512.0]), np.array([0.0]), np.array([1024.0]), np.array([0.0]))
    with_ov = phys.iteration(c, *args)["time"][0]
    c.seq_overhead = np.zeros(1)
    without = phys.iteration(c, *args)["time"][0]
    per_seq = eff_mod.packaged().scalar("seq_overhead_us") * 1e-6
    assert per_seq > 0
    assert with_ov - without == pytest.approx(512 * per_seq, rel=1e-9)


def test_engine_batch_cap_binds_for_a_small_moe_model():
    # qwen3-30b-a3b (3.3B active) has memory for thousands of sequences on a B200; vLLM's
    # documented default max_num_seqs (1024 on >= 70 GiB GPUs) caps the batch of an instance,
    # TensorRT-LLM's max_batch_size (2048) caps the reference engine
    kw = {"n_accel": 1, "tp": 1, "precision": "fp8", "isl": 800, "osl": 500,
          "mode": "offline"}
    vllm = predict("qwen3-30b-a3b", "b200", engine="vllm", **kw)
    ref = predict("qwen3-30b-a3b", "b200", **kw)
    assert vllm.batch == pytest.approx(1024.0)
    assert 1024.0 < ref.batch <= phys.MAX_BATCH
    assert vllm.output_tokens_per_s < ref.output_tokens_per_s
    # below 70 GiB vLLM defaults to 256 sequences
    small = predict("qwen3-30b-a3b", "l40s", engine="vllm", n_accel=1, tp=1, precision="fp8",
                    isl=200, osl=200, mode="offline")
    assert small.batch <= 256.0 + 1e-9
    assert phys.engine_batch_cap("vllm", 48 * GIB) == 256.0
    assert phys.engine_batch_cap("sglang", 180 * GIB) == phys.MAX_BATCH


def test_narrow_expert_slices_lower_the_expert_gemm_efficiency():
    # the same routed FLOPs take longer when each rank holds narrow slices of fine-grained
    # experts (qwen3-235b: 1536 FFN columns per expert, 192 per rank at tp8)
    wide = cases(model="qwen3-235b-a22b", accelerator="h200-sxm", precision="fp8", tp=8,
                 n_accel=8)
    n0 = wide.expert_n0[0]
    assert wide.expert_width[0] == pytest.approx(1536 / 8)
    narrow_eff = wide.moe_eff[0] * 192 / (192 + n0)
    args = (np.array([4096.0]), np.array([4096.0]), np.array([1024.0]), np.array([512.0]))
    it = phys.iteration(wide, *args)
    wide.expert_width = np.array([1536.0 * 8])
    it_wide = phys.iteration(wide, *args)
    assert it["time"][0] > it_wide["time"][0]
    assert narrow_eff < wide.moe_eff[0]
    assert cases().expert_width[0] == 0.0  # dense model


def test_prefill_attention_grows_with_context():
    c = cases()
    t = [phys.iteration(c, np.array([0.0]), np.array([4096.0]), np.array([0.0]),
                        np.array([ctx]))["time"][0] for ctx in (512.0, 8192.0, 65536.0)]
    assert t[0] < t[1] < t[2]


def test_moe_expected_experts_touched():
    # per-token top-2 of 8: batch 1 reads 2/8 of the routed weights, a large batch all of them
    c = cases(model="mixtral-8x7b", precision="fp8")
    m = model_spec("mixtral-8x7b")

    def routed_bytes(tokens):
        frac = 1 - (1 - 2 / 8) ** tokens
        return m.routed_params * frac

    assert routed_bytes(1) == pytest.approx(m.routed_params * 2 / 8)
    assert routed_bytes(64) == pytest.approx(m.routed_params, rel=1e-6)
    t1 = phys.iteration(c, np.array([1.0]), np.array([0.0]), np.array([1.0]), np.array([0.0]))
    t64 = phys.iteration(c, np.array([64.0]), np.array([0.0]), np.array([1.0]), np.array([0.0]))
    # weights dominate both steps: 64 tokens read ~ (non-routed + all experts)/(non-routed + 1/4)
    ratio = t64["memory"][0] / t1["memory"][0]
    dense = m.params_total - m.routed_params
    assert ratio == pytest.approx((dense + m.routed_params) / (dense + m.routed_params / 4),
                                  rel=0.1)


def test_tensor_parallel_over_pcie_is_slower_than_nvlink_for_the_same_work():
    nv = cases(model="llama3.1-70b", accelerator="h100-sxm", precision="fp8", tp=4, n_accel=4)
    pc = cases(model="llama3.1-70b", accelerator="h100-sxm", precision="fp8", tp=4, n_accel=4)
    pc.link = pc.link * 32 / 450  # same GPU behind a PCIe-class link
    b = np.array([256.0])
    assert phys.steady_state(pc, b)["comm"][0] > 5 * phys.steady_state(nv, b)["comm"][0]


def test_pipeline_parallel_rereads_stage_weights_per_micro_batch():
    tp2 = cases(model="llama3.1-70b", precision="fp8", tp=2, pp=1, n_accel=2)
    pp2 = cases(model="llama3.1-70b", precision="fp8", tp=1, pp=2, n_accel=2)
    b = np.array([8.0])
    # same total weight traffic per token step, plus the bubble: PP never beats TP at batch 8
    assert phys.steady_state(pp2, b)["tpot"][0] > 0.95 * phys.steady_state(tp2, b)["tpot"][0]


# ------------------------------------------------------------------ memory and feasibility


def test_405b_does_not_fit_one_h100():
    r = predict("llama3.1-405b", "h100-sxm", n_accel=1, tp=1, precision="fp8", isl=1024,
                osl=256)
    assert not r.feasible
    assert "GB" in r.reason
    assert r.output_tokens_per_s == 0


def test_70b_fp8_fits_one_h100_with_a_small_batch():
    r = predict("llama3.1-70b", "h100-sxm", n_accel=1, tp=1, precision="fp8", isl=128,
                osl=2048)
    assert r.feasible
    # about 8 GB of KV room for 348 MB sequences
    assert 10 < r.batch < 40


def test_memory_accounting_adds_up():
    c = cases(model="llama3.1-70b", precision="fp8", tp=2, n_accel=2)
    mem = phys.memory_per_gpu(c)
    total = mem["weights"][0] + mem["activations"][0] + phys.RUNTIME_RESERVE
    assert total + mem["kv_capacity"][0] / phys.KV_FRACTION == pytest.approx(80 * GIB)


def test_unknown_ids_and_bad_precision_raise_user_errors():
    with pytest.raises(UnknownIdError, match=r"[Dd]id you mean"):
        predict("llama3.1-70bb", "h100-sxm", osl=100)
    assert predict("llama3.1-8b", "tpu-v6e", precision="fp8", osl=100, isl=100).precision == (
        "w8a16")
    with pytest.raises(InfraplanError, match="precision"):
        predict("llama3.1-8b", "h100-sxm", precision="fp7", osl=100)


def test_every_catalog_pair_gives_a_number_or_says_it_does_not_fit():
    accels = catalog.accelerators()
    for model in catalog.models().index:
        m = model_spec(model)
        for acc in accels.index:
            a = accel_spec(acc)
            cap = server_capacity(model, acc, isl=512, osl=128, ttft_ms=60_000, tpot_ms=5_000)
            prec = autoconfig.default_precision(acc)
            weights = m.weight_bytes(prec)
            if cap.feasible:
                assert cap.output_tokens_per_s > 0, (model, acc)
                assert cap.power_w > 0
                assert cap.joules_per_output_token > 0
            else:
                assert "needs" in cap.reason, (model, acc, cap.reason)
                assert cap.output_tokens_per_s == 0
                assert cap.requests_per_s == 0
            if weights < 0.75 * a.mem_bytes * a.accels_per_server:
                assert cap.feasible, (model, acc, cap.reason)
            if weights > 2 * a.mem_bytes * a.accels_per_server:
                assert not cap.feasible, (model, acc)


# ------------------------------------------------------------------ server capacity contract


def test_server_capacity_contract():
    cap = server_capacity("llama3.1-70b", "h100-sxm", isl=1024, osl=256, ttft_ms=2000,
                          tpot_ms=200)
    assert isinstance(cap, ServerCapacity)
    assert cap.feasible
    assert cap.output_tokens_per_s == pytest.approx(cap.requests_per_s * 256, rel=1e-9)
    assert cap.ttft_ms <= 2000 + 1e-6
    assert cap.tpot_ms <= 200 + 1e-6
    assert cap.idle_power_w < cap.power_w
    # power of one 8-GPU server: at most 8 x TDP + host overhead
    a = accel_spec("h100-sxm")
    assert cap.power_w <= 8 * a.tdp_w + a.server_overhead_w
    assert cap.joules_per_output_token == pytest.approx(cap.power_w / cap.output_tokens_per_s)
    assert cap.config.startswith("fp8 tp")
    # cached: the same object comes back
    again = server_capacity("llama3.1-70b", "h100-sxm", isl=1024, osl=256, ttft_ms=2000,
                            tpot_ms=200)
    assert again == cap


def test_unreachable_slo_says_so():
    cap = server_capacity("llama3.1-70b", "l40s", isl=1024, osl=256, ttft_ms=10, tpot_ms=1)
    assert not cap.feasible
    assert "latency" in cap.reason
    assert cap.output_tokens_per_s == 0


def test_a_model_needing_two_servers_is_split_over_them():
    cap = server_capacity("llama3.1-405b", "h100-sxm", isl=1024, osl=256, ttft_ms=5000,
                          tpot_ms=300, precision="bf16")
    assert cap.feasible
    assert "per 2 servers" in cap.config


def test_servers_per_instance_counts_the_servers_one_instance_spans():
    kw = {"isl": 1000, "osl": 300, "ttft_ms": 2000, "tpot_ms": 100}
    big = server_capacity("deepseek-r1", "h100-sxm", **kw)
    assert big.feasible
    assert big.servers_per_instance == 2
    assert "1 instance per 2 servers" in big.config
    # per-server figures are half those of the two-server group
    tp, pp = (int(x) for x in re.search(r"tp(\d+) pp(\d+)", big.config).groups())
    group = predict("deepseek-r1", "h100-sxm", n_accel=16, tp=tp, pp=pp, precision="fp8",
                    mode="server", **kw)
    assert big.requests_per_s == pytest.approx(group.requests_per_s / 2, rel=1e-12)
    assert big.output_tokens_per_s == pytest.approx(group.output_tokens_per_s / 2, rel=1e-12)
    small = server_capacity("llama3.1-8b", "h100-sxm", **kw)
    assert small.feasible
    assert small.servers_per_instance == 1
    # the 12 original fields still construct it positionally (the default is 1)
    assert ServerCapacity("m", "a", True, "", 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0,
                          "c").servers_per_instance == 1


@pytest.mark.parametrize(("model", "acc"), [("llama3.1-8b", "h100-sxm"),
                                            ("mixtral-8x7b", "h200-sxm"),
                                            ("llama3.1-70b", "mi300x")])
def test_looser_slo_never_lowers_capacity(model, acc):
    last = 0.0
    for ttft, tpot in [(300, 30), (500, 50), (1000, 100), (2000, 200), (10000, 1000)]:
        cap = server_capacity(model, acc, isl=1024, osl=256, ttft_ms=ttft, tpot_ms=tpot)
        assert cap.output_tokens_per_s >= last * (1 - 1e-6)
        last = cap.output_tokens_per_s


def test_more_bandwidth_never_lowers_throughput():
    c = cases(model="llama3.1-70b", precision="fp8", tp=2, n_accel=2, isl=512, osl=512)
    base = serving.offline(c)["output_tps"][0]
    for factor in (1.1, 1.5, 2.0, 4.0):
        faster = cases(model="llama3.1-70b", precision="fp8", tp=2, n_accel=2, isl=512,
                       osl=512)
        faster.bw = faster.bw * factor
        tps = serving.offline(faster)["output_tps"][0]
        assert tps >= base * (1 - 1e-9)
        base = tps


def test_concurrency_throughput_rises_and_latency_grows_with_load():
    res = [predict("llama3.1-8b", "h100-sxm", n_accel=1, tp=1, isl=512, osl=256,
                   concurrency=n) for n in (1, 8, 64, 256)]
    tps = [r.output_tokens_per_s for r in res]
    tpot = [r.tpot_ms for r in res]
    assert tps == sorted(tps)
    assert tpot == sorted(tpot)
    assert res[0].tpot_ms < 15  # one user on an H100: weights/bandwidth ~ 5 ms plus overhead


def test_offline_is_at_least_the_slo_bounded_rate():
    off = predict("llama3.1-70b", "h200-sxm", n_accel=8, isl=1024, osl=256, mode="offline")
    srv = predict("llama3.1-70b", "h200-sxm", n_accel=8, isl=1024, osl=256, ttft_ms=2000,
                  tpot_ms=200)
    assert srv.output_tokens_per_s <= off.output_tokens_per_s * 1.001


def test_energy_is_physical():
    r = predict("llama3.1-70b", "h100-sxm", n_accel=8, tp=8, precision="fp8", isl=1024,
                osl=256, mode="offline")
    a = accel_spec("h100-sxm")
    assert 0.12 * a.tdp_w <= r.watts_per_accelerator <= a.tdp_w
    # all power of the group (accelerators + host) / output tokens
    assert r.joules_per_output_token == pytest.approx(r.total_power_w / r.output_tokens_per_s)
    assert r.total_power_w <= 8 * a.tdp_w + a.server_overhead_w
    assert r.wh_per_request == pytest.approx(r.joules_per_output_token * 256 / 3600, rel=1e-6)


def test_predict_returns_all_fields():
    r = predict("mixtral-8x7b", "h100-sxm", n_accel=8, isl=1024, osl=256)
    assert isinstance(r, PerfResult)
    d = r.to_dict()
    for key in ("output_tokens_per_s", "requests_per_s", "ttft_ms", "tpot_ms", "batch",
                "memory", "watts_per_accelerator", "joules_per_output_token", "wh_per_request",
                "tp", "pp", "ep", "precision", "bound", "feasible", "reason"):
        assert key in d
    assert set(d["memory"]) == {"weights_gb", "kv_cache_gb", "activations_gb"}


# ------------------------------------------------------------------ the table is an argument


def test_a_table_passed_to_one_call_changes_no_other_call():
    kw = {"n_accel": 8, "tp": 8, "precision": "fp8", "isl": 1024, "osl": 256,
          "mode": "offline"}
    before = predict("llama3.1-70b", "h100-sxm", **kw)
    slow = predict("llama3.1-70b", "h100-sxm", efficiency=scaled_compute(0.5), **kw)
    after = predict("llama3.1-70b", "h100-sxm", **kw)
    assert slow.output_tokens_per_s < before.output_tokens_per_s
    assert after == before
    assert predict("llama3.1-70b", "h100-sxm", efficiency=eff_mod.packaged(), **kw) == before
    assert eff_mod.packaged() is eff_mod.packaged()


def test_server_capacity_in_threads_with_different_tables_keeps_them_apart():
    pair = ("llama3.1-70b", "h100-sxm")
    isls = [600 + 50 * i for i in range(8)]
    kw = {"osl": 256, "ttft_ms": 2000, "tpot_ms": 200}

    def answers(eff: eff_mod.Efficiency) -> list[float]:
        return [server_capacity(*pair, isl=isl, efficiency=eff, **kw).output_tokens_per_s
                for isl in isls]

    # reference answers, serially, from equal tables of another identity: the threads below
    # then compute afresh (cache misses) on their first pass, concurrently
    expected = {"packaged": answers(eff_mod.Efficiency.from_table(eff_mod.packaged().to_table())),
                "half": answers(scaled_compute(0.5))}
    assert all(a != b for a, b in zip(expected["packaged"], expected["half"], strict=True))
    tables = {"packaged": eff_mod.packaged(), "half": scaled_compute(0.5)}
    perf.clear_cache()
    start = threading.Barrier(2, timeout=60)

    def job(name: str) -> tuple[str, list[float]]:
        start.wait()  # the two tables run at the same time
        return name, answers(tables[name])

    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(job, ["packaged", "half"] * 6))
    assert len(runs) == 12
    for name, got in runs:
        assert got == expected[name], name


def test_perf_modules_import_each_other_without_cycles():
    root = Path(perf.__file__).parent
    names = {p: "infraplan.perf" + ("" if p.stem == "__init__" else f".{p.stem}")
             for p in root.glob("*.py")}
    known = set(names.values())
    graph: dict[str, set[str]] = {}
    for path, name in names.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):  # module and function level
            if isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{path.name}: relative import"
                mod = node.module or ""
                for alias in node.names:  # ``from infraplan.perf import model`` -> the module
                    sub = f"{mod}.{alias.name}"
                    deps.add(sub if sub in known else mod)
            elif isinstance(node, ast.Import):
                deps.update(alias.name for alias in node.names)
        graph[name] = deps & known
    list(graphlib.TopologicalSorter(graph).static_order())  # raises CycleError
    # the factor table depends only on the engine-label resolver, which depends on nothing
    assert graph["infraplan.perf.efficiency"] == {"infraplan.perf.engines"}
    assert graph["infraplan.perf.engines"] == set()


# ------------------------------------------------------------------ roofline property


MODELS = sorted(catalog.models().index)
ACCELS = sorted(catalog.accelerators().index)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=st.sampled_from(MODELS), acc=st.sampled_from(ACCELS),
       n=st.sampled_from([1, 2, 4, 8]), isl=st.integers(16, 8000), osl=st.integers(1, 4000),
       mode=st.sampled_from(["offline", "concurrency", "server", "interactive"]),
       conc=st.integers(1, 2048), engine=st.sampled_from([None, "vllm", "sglang"]))
def test_predictions_never_exceed_the_roofline_bound(model, acc, n, isl, osl, mode, conc,
                                                     engine):
    if isl + osl > model_spec(model).context_length:
        return
    r = predict(model, acc, n_accel=n, isl=isl, osl=osl, mode=mode,
                concurrency=conc if mode == "concurrency" else None, engine=engine)
    if not r.feasible:
        assert r.output_tokens_per_s == 0
        return
    bound = autoconfig.roofline_bound(model, acc, n_accel=n, tp=r.tp, pp=r.pp,
                                      precision=r.precision, isl=isl, osl=osl)
    assert math.isfinite(bound)
    assert r.output_tokens_per_s <= bound * (1 + 1e-9)


# ------------------------------------------------------------------ external hold-out set


def test_holdout_set_is_external_sourced_and_predicted():
    from pathlib import Path

    import pandas as pd

    from infraplan.perf import calibration

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "holdout.csv"
    cal_cols = list(pd.read_csv(path, nrows=0).columns)
    for col in ["source_set", "model", "accelerator", "n_accel", "tp", "pp", "precision", "isl",
                "osl", "mode", "concurrency", "ttft_p99_ms", "tpot_p99_ms",
                "output_tokens_per_s", "benchmark", "system", "source", "source_metric",
                "value_note"]:
        assert col in cal_cols
    df = calibration.load_measurements(path)
    assert len(df) >= 40
    assert df["source"].str.len().min() > 20  # every row names its public source
    assert not df["source"].str.contains("shared/data/perf").any()
    # never the calibration rows: newer MLPerf rounds or other sources only
    assert not df["source_set"].isin(["mlperf-v4.0", "mlperf-v4.1"]).any()
    pred = calibration.predict_rows(df, eff_mod.packaged())
    assert pred["predicted"].notna().all(), pred.loc[pred["predicted"].isna(), "pred_error"]


def test_engines_inferred_from_provenance():
    from infraplan.perf.calibration import infer_engine

    assert infer_engine("mlperf-v5.1", "x") == "mlperf-v5.1"
    assert infer_engine("GPUStack performance lab (vllm)") == "vllm"
    assert infer_engine("bench", "SGLang v0.5 tp8") == "sglang"
    assert infer_engine("TensorRT-LLM perf-overview (data generated with v0.17)") == (
        "trtllm-0.17.0")


def test_engine_labels_resolve_to_family_and_release_date():
    from datetime import date

    from infraplan.perf import engines

    assert engines.resolve("vllm-0.6.0").released == date(2024, 9, 5)
    assert engines.resolve("vLLM==0.6.0").family == "vllm"
    assert engines.resolve("mlperf-v4.1").released == date(2024, 8, 28)
    assert engines.resolve("triton-trtllm").version == "0.14.0"
    assert engines.resolve("sglang@2024-07-25").released == date(2024, 7, 25)
    assert engines.resolve("").version == engines.REFERENCE_VERSION
    assert engines.resolve("atom", strict=False).family == "generic"
    assert engines.resolve("tensorrt-llm-0.12.0").version == "0.12.0"
    assert engines.resolve("trt").family == "trtllm"  # aliases are not applied twice
    for bad in ("vlm", "vllm-9.9.9", "vllm@2024-13-01", "vllm@soon"):
        with pytest.raises(InfraplanError, match="engine"):
            engines.resolve(bad)


def test_engine_factor_grows_with_release_date_and_is_held_outside_the_data():
    eff = eff_mod.packaged()
    g = eff.scalar("engine_growth_per_year")
    old, new = eff.engine("vllm-0.2.0"), eff.engine("vllm-0.6.0")
    assert (new > old) == (g > 0)
    # dates past the calibrated years count as the newest calibrated year
    assert eff.engine("vllm-0.34.0") == pytest.approx(eff.engine("vllm"))
    assert eff.engine("") == pytest.approx(1.0)  # the reference engine
    assert eff.engine("trtllm-0.17.0") == pytest.approx(1.0)


def test_paged_kv_fits_more_sequences_than_a_fixed_reservation():
    """vLLM-style paged KV holds isl + osl/2 positions per sequence, TensorRT-LLM's default
    reserves isl + max_osl: on a 24 GB L4 the paged engine fits more sequences."""
    kw = {"n_accel": 1, "tp": 1, "pp": 1, "precision": "fp8", "isl": 512, "osl": 512,
          "mode": "offline"}
    paged = perf.predict("llama3.1-8b", "l4", engine="vllm", **kw)
    fixed = perf.predict("llama3.1-8b", "l4", engine="trtllm", **kw)
    per_seq_paged = paged.memory_kv_cache_gb / paged.batch
    per_seq_fixed = fixed.memory_kv_cache_gb / fixed.batch
    # 512 + 256 + 8 positions against 512 + 512
    assert per_seq_paged / per_seq_fixed == pytest.approx((512 + 256 + 8) / 1024, rel=0.02)


def test_fp4_gains_only_a_share_of_the_extra_fp4_peak():
    """B300 has 1.5x the B200's FP4 peak at the same FP8 peak; serving gains far less."""
    kw = {"n_accel": 8, "precision": "fp4", "isl": 1024, "osl": 1024, "mode": "offline"}
    b200 = perf.predict("llama3.1-70b", "b200", **kw).output_tokens_per_s
    b300 = perf.predict("llama3.1-70b", "b300", **kw).output_tokens_per_s
    assert 1.0 <= b300 / b200 < 1.3
    eff = eff_mod.packaged()
    assert 0.0 < eff.scalar("fp4_gain") < 1.0


def test_predictions_carry_their_error_band():
    r = perf.predict("llama3.1-70b", "h100-sxm", isl=1024, osl=256, ttft_ms=2000, tpot_ms=100)
    assert 0 < r.band_p10 <= r.band_p90
    cap = perf.server_capacity("llama3.1-70b", "h100-sxm", isl=1024, osl=256, ttft_ms=2000,
                               tpot_ms=100, engine="sglang")
    assert cap.band_p10 <= cap.band_p90
    assert cap.engine.startswith("sglang")


def test_batch_writes_the_band_columns(tmp_path: Path):
    from infraplan.perf import batch as batch_mod

    src = tmp_path / "rows.csv"
    src.write_text("model,accelerator,n_accel,isl,osl,mode,engine\n"
                   "llama3.1-8b,h100-sxm,1,1024,256,offline,vllm-0.6.0\n"
                   "llama3.1-8b,h100-sxm,1,1024,256,offline,vlm\n")
    out = batch_mod.run(src)
    good, bad = out.iloc[0], out.iloc[1]
    lo, mid, hi = (good[f"predicted{k}_output_tokens_per_s"] for k in ("_p10", "", "_p90"))
    assert 0 < lo <= hi
    assert lo / mid == pytest.approx(perf.predict(
        "llama3.1-8b", "h100-sxm", n_accel=1, isl=1024, osl=256, mode="offline",
        engine="vllm-0.6.0").band_p10)
    assert "did you mean 'vllm'" in bad["error"].lower()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_engine_label_resolves_or_says_why(label: str):
    from infraplan.perf import engines

    try:
        ref = engines.resolve(label)
        outcome = ref.family
    except InfraplanError as exc:
        outcome = str(exc)
    assert outcome in engines.FAMILIES or outcome.startswith("engine:")
    # measurement files never stop on a label: unknown ones count as generic
    assert engines.resolve(label, strict=False).family in engines.FAMILIES


def test_power_ratio_is_against_the_flagship_die_not_a_cut_down_part():
    """Regression: adding the H20 (compute fused off, 400 W for 296 FP8 TFLOPS) made it the
    hopper power reference and derated the H200 NVL to 0.27 of its peak-per-watt."""
    ref = 700 / 1978.9  # H100/H200 SXM, the flagship Hopper die at full power
    assert accel_spec("h200-nvl").power_ratio == pytest.approx(1.0)
    assert accel_spec("h100-pcie").power_ratio == pytest.approx((350 / 1513) / ref)
    assert accel_spec("h100-nvl").power_ratio == pytest.approx((400 / 1670.5) / ref)
    assert accel_spec("h20").power_ratio == 1.0
