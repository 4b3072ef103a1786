"""CLI contract of ``infraplan perf`` (single prediction, --batch, calibrate) and calibration."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from infraplan.cli import _register, app
from infraplan.perf import batch as batch_mod
from infraplan.perf import calibration
from infraplan.perf import efficiency as eff_mod

_register()
CAL = calibration.DEFAULT_DATA
needs_cal = pytest.mark.skipif(not CAL.exists(), reason="shared calibration set not present")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_single_prediction_json_has_the_contract_fields(runner):
    res = runner.invoke(app, ["perf", "--model", "llama3.1-70b", "--accelerator", "h100-sxm",
                              "--count", "8", "--tp", "8", "--precision", "fp8", "--isl", "1024",
                              "--osl", "256", "--offline", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    for key in ("output_tokens_per_s", "requests_per_s", "ttft_ms", "tpot_ms", "batch",
                "memory", "watts_per_accelerator", "joules_per_output_token", "wh_per_request",
                "tp", "pp", "ep", "precision", "bound", "feasible", "reason"):
        assert key in data
    assert data["tp"] == 8
    assert data["precision"] == "fp8"
    assert data["feasible"]
    assert data["output_tokens_per_s"] > 0


@pytest.mark.parametrize("mode_args", [["--concurrency", "64"],
                                       ["--ttft-ms", "2000", "--tpot-ms", "200"]])
def test_single_prediction_modes(runner, mode_args):
    res = runner.invoke(app, ["perf", "--model", "llama3.1-8b", "--accelerator", "h100-sxm",
                              "--count", "1", "--isl", "1024", "--osl", "256", *mode_args,
                              "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["mode"] == ("concurrency" if "--concurrency" in mode_args else "server")


def test_human_output(runner):
    res = runner.invoke(app, ["perf", "--model", "llama3.1-8b", "--accelerator", "l40s",
                              "--isl", "512", "--osl", "128", "--offline"])
    assert res.exit_code == 0, res.output
    assert "output throughput" in res.output
    assert "J per output token" in res.output


def test_two_modes_are_a_user_error():
    out = subprocess.run(
        [sys.executable, "-c", "from infraplan.cli import main; main()", "perf", "--model",
         "llama3.1-8b", "--accelerator", "h100-sxm", "--osl", "10", "--offline",
         "--concurrency", "4"], capture_output=True, text=True, check=False)
    assert out.returncode == 1
    assert "choose one mode" in out.stderr
    assert "Traceback" not in out.stderr


def test_unknown_model_exits_1_without_traceback():
    out = subprocess.run(
        [sys.executable, "-c", "from infraplan.cli import main; main()", "perf", "--model",
         "llama3.1-70bx", "--accelerator", "h100-sxm", "--osl", "10"],
        capture_output=True, text=True, check=False)
    assert out.returncode == 1
    assert "unknown model" in out.stderr
    assert "Traceback" not in out.stderr


def test_efficiency_option_predicts_with_that_table(runner, tmp_path: Path):
    table = eff_mod.packaged().to_table().copy()
    rows = table["parameter"] == "eta_compute"
    table.loc[rows, "value"] = table.loc[rows, "value"] * 0.5
    half = tmp_path / "half.csv"
    table.to_csv(half, index=False)
    args = ["perf", "--model", "llama3.1-70b", "--accelerator", "h100-sxm", "--count", "8",
            "--tp", "8", "--precision", "fp8", "--isl", "1024", "--osl", "256", "--offline",
            "--json"]
    base = runner.invoke(app, args)
    slow = runner.invoke(app, [*args, "--efficiency", str(half)])
    assert base.exit_code == 0, base.output
    assert slow.exit_code == 0, slow.output
    tps = json.loads(slow.output)["output_tokens_per_s"]
    assert tps < json.loads(base.output)["output_tokens_per_s"]
    # --batch takes it too
    src = tmp_path / "rows.csv"
    _rows().head(1).to_csv(src, index=False)
    res = runner.invoke(app, ["perf", "--batch", str(src), "--efficiency", str(half)])
    assert res.exit_code == 0, res.output
    out = pd.read_csv(io.StringIO(res.output))
    assert out.loc[0, "predicted_output_tokens_per_s"] == pytest.approx(tps, rel=1e-5)
    missing = runner.invoke(app, [*args, "--efficiency", str(tmp_path / "none.csv")])
    assert missing.exit_code != 0
    assert "does not exist" in str(missing.exception)


def _rows() -> pd.DataFrame:
    return pd.DataFrame([
        {"model": "llama3.1-70b", "accelerator": "h100-sxm", "n_accel": 8, "tp": 8, "pp": "",
         "precision": "fp8", "isl": 1024, "osl": 256, "mode": "offline", "concurrency": "",
         "ttft_p99_ms": "", "tpot_p99_ms": ""},
        {"model": "no-such-model", "accelerator": "h100-sxm", "n_accel": 8, "tp": "", "pp": "",
         "precision": "", "isl": 1024, "osl": 256, "mode": "", "concurrency": "",
         "ttft_p99_ms": "", "tpot_p99_ms": ""},
        {"model": "llama2-70b", "accelerator": "h200-sxm", "n_accel": 8, "tp": "", "pp": "",
         "precision": "", "isl": "", "osl": 294, "mode": "server", "concurrency": "",
         "ttft_p99_ms": 2000, "tpot_p99_ms": 200},
        {"model": "llama3.1-405b", "accelerator": "l4", "n_accel": 1, "tp": "", "pp": "",
         "precision": "", "isl": 1024, "osl": 256, "mode": "offline", "concurrency": "",
         "ttft_p99_ms": "", "tpot_p99_ms": ""},
        {"model": "llama3.1-8b", "accelerator": "h100-sxm", "n_accel": 1, "tp": "", "pp": "",
         "precision": "", "isl": 512, "osl": 128, "mode": "concurrency", "concurrency": 16,
         "ttft_p99_ms": "", "tpot_p99_ms": ""},
    ])


def test_batch_fills_error_for_bad_rows_and_goes_on(runner, tmp_path: Path):
    src, dst = tmp_path / "rows.csv", tmp_path / "out.csv"
    _rows().to_csv(src, index=False)
    res = runner.invoke(app, ["perf", "--batch", str(src), "--out", str(dst)])
    assert res.exit_code == 0, res.output
    out = pd.read_csv(dst, keep_default_na=False)
    assert list(out.columns) == [*_rows().columns, *batch_mod.OUTPUT_COLUMNS]
    assert len(out) == 5
    assert "unknown model" in out.loc[1, "error"]
    assert out.loc[1, "predicted_output_tokens_per_s"] == ""
    assert "needs" in out.loc[3, "error"]  # 405B does not fit one L4
    for i in (0, 2, 4):
        assert out.loc[i, "error"] == ""
        assert float(out.loc[i, "predicted_output_tokens_per_s"]) > 0
        assert float(out.loc[i, "joules_per_output_token"]) > 0
        assert float(out.loc[i, "watts_per_accelerator"]) > 0
    # latency-bounded row respects its limits
    assert float(out.loc[2, "predicted_ttft_ms"]) <= 2000 + 1e-6
    assert float(out.loc[2, "predicted_tpot_ms"]) <= 200 + 1e-6


def test_batch_without_out_prints_csv(runner, tmp_path: Path):
    src = tmp_path / "rows.csv"
    _rows().head(1).to_csv(src, index=False)
    res = runner.invoke(app, ["perf", "--batch", str(src)])
    assert res.exit_code == 0
    assert "predicted_output_tokens_per_s" in res.output.splitlines()[0]


def test_batch_missing_columns_is_a_user_error(tmp_path: Path):
    src = tmp_path / "rows.csv"
    pd.DataFrame({"model": ["llama3.1-8b"]}).to_csv(src, index=False)
    out = subprocess.run(
        [sys.executable, "-c", "from infraplan.cli import main; main()", "perf", "--batch",
         str(src)], capture_output=True, text=True, check=False)
    assert out.returncode == 1
    assert "lacks the columns" in out.stderr


def test_batch_1000_rows_is_fast(tmp_path: Path):
    rng = np.random.default_rng(0)
    models = ["llama3.1-8b", "llama3.1-70b", "mixtral-8x7b", "qwen3-30b-a3b", "gpt-oss-120b"]
    accels = ["h100-sxm", "h200-sxm", "b200", "mi300x", "l40s", "a100-sxm-80g"]
    rows = pd.DataFrame({
        "model": rng.choice(models, 1000), "accelerator": rng.choice(accels, 1000),
        "n_accel": rng.choice([1, 2, 4, 8], 1000), "tp": "", "pp": "", "precision": "",
        "isl": rng.choice([128, 1024, 4096], 1000), "osl": rng.choice([64, 256, 1024], 1000),
        "mode": rng.choice(["offline", "server", "interactive"], 1000), "concurrency": "",
        "ttft_p99_ms": "", "tpot_p99_ms": ""})
    src = tmp_path / "rows.csv"
    rows.to_csv(src, index=False)
    start = time.perf_counter()
    out = batch_mod.run(src, tmp_path / "out.csv")
    assert time.perf_counter() - start < 10
    assert len(out) == 1000


# ------------------------------------------------------------------ calibration


def test_engine_inference():
    assert calibration.infer_engine("mlperf-v4.1", "DGX-H100 (TensorRT)") == "mlperf-v4.1"
    assert calibration.infer_engine("mlperf-v4.0", "HLS-Gaudi2-PT") == "mlperf-v4.0"
    assert calibration.infer_engine(
        "TensorRT-LLM perf-overview, Online Serving Measurements (v0.14.0)",
        "TP4, Triton TensorRT-LLM backend") == "triton-trtllm"
    assert calibration.infer_engine("TensorRT-LLM perf-overview (data generated with v0.17)",
                                    "TP1") == "trtllm-0.17.0"


@needs_cal
def test_every_calibration_row_is_predicted_and_qps_rates_recovered():
    df = calibration.load_measurements()
    assert len(df) == 625
    qps = df[df["mode"] == "qps"]
    assert qps["qps"].notna().all()
    assert set(qps["qps"].unique()) == {2, 4, 8, 16, 32, np.inf}
    pred = calibration.predict_rows(df, eff_mod.packaged())
    assert pred["predicted"].notna().all()


@needs_cal
def test_packaged_factors_meet_the_in_sample_targets():
    df = calibration.load_measurements()
    pred = calibration.predict_rows(df, eff_mod.packaged())
    ape = (pred["predicted"] / pred["measured"] - 1).abs()
    offline = ape[pred["mode"] == "offline"].median()
    server = ape[pred["mode"] == "server"].median()
    assert offline <= 0.10
    assert server <= 0.20


@needs_cal
def test_calibrate_command_refits_on_user_rows(runner, tmp_path: Path):
    df = pd.read_csv(CAL)
    small = df[df["source_set"].str.contains("v0.17")].groupby("accelerator").head(6)
    src, dst = tmp_path / "mine.csv", tmp_path / "eff.csv"
    small.to_csv(src, index=False)
    res = runner.invoke(app, ["perf", "calibrate", "--data", str(src), "--out", str(dst)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(dst, keep_default_na=False)
    assert list(table.columns) == eff_mod.COLUMNS
    assert {"eta_compute", "eta_memory", "engine", "step_overhead_ms"} <= set(table.parameter)
    assert (table.loc[table.parameter.isin(["eta_compute", "eta_memory"]), "value"] <= 1).all()
    assert table["provenance"].str.contains("mine.csv").any()
    # the packaged table is untouched
    assert eff_mod.default_path().exists()
