"""Built-in catalog: required ids, provenance, numeric sanity and the `infraplan catalog` CLI."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from infraplan import catalog
from infraplan.errors import UnknownIdError

REQUIRED_ACCELERATORS = [
    "a100-sxm-80g", "h100-sxm", "h100-pcie", "h100-nvl", "h200-sxm", "h200-nvl", "gh200", "b200",
    "gb200", "b300", "gb300", "rtx-pro-6000", "l40s", "l4", "mi300x", "mi325x", "mi355x", "gaudi2",
    "gaudi3", "tpu-v5e", "tpu-v5p", "tpu-v6e", "a10g", "h20",
]  # fmt: skip
REQUIRED_MODELS = [
    "llama2-70b", "llama3.1-8b", "llama3.1-70b", "llama3.3-70b", "llama3.1-405b", "mistral-7b",
    "mixtral-8x7b", "mixtral-8x22b", "deepseek-r1", "qwen3-30b-a3b", "qwen3-235b-a22b", "llama2-7b",
    "llama4-scout", "llama4-maverick", "gpt-oss-20b", "gpt-oss-120b", "gptj-6b",
]  # fmt: skip
REQUIRED_SITES = [
    "abu-dhabi", "dubai", "riyadh", "dammam", "doha", "northern-virginia", "texas", "paris",
    "frankfurt", "dublin", "lulea", "mumbai", "singapore", "nairobi", "casablanca",
]  # fmt: skip
FAMILIES = {
    "ampere", "ada", "hopper", "blackwell", "blackwell-ultra", "cdna3", "cdna4", "gaudi", "tpu",
}  # fmt: skip
FORM_FACTORS = {"sxm", "pcie", "nvl", "superchip", "oam", "tpu"}
ATTENTION = {"mha", "gqa", "mla", "swa", "hybrid"}
CLIMATES = {"hot-desert", "temperate", "nordic", "tropical"}


@pytest.fixture(scope="module")
def acc() -> pd.DataFrame:
    return catalog.accelerators()


@pytest.fixture(scope="module")
def models() -> pd.DataFrame:
    return catalog.models()


@pytest.fixture(scope="module")
def sites() -> pd.DataFrame:
    return catalog.sites()


# ---------------------------------------------------------------- presence and provenance


@pytest.mark.parametrize(
    ("table", "required"),
    [
        ("accelerators", REQUIRED_ACCELERATORS),
        ("models", REQUIRED_MODELS),
        ("sites", REQUIRED_SITES),
    ],
)
def test_required_ids_present(table: str, required: list[str]) -> None:
    missing = sorted(set(required) - set(catalog.table(table).index))
    assert not missing, f"{table}: missing ids {missing}"


def test_at_least_one_arabic_first_model(models: pd.DataFrame) -> None:
    arabic_first = [i for i, langs in models["languages"].items() if str(langs).startswith("ar")]
    assert arabic_first, "no model lists Arabic as its first language"


@pytest.mark.parametrize("table", list(catalog.TABLES))
def test_every_row_has_source_and_year(table: str) -> None:
    data = catalog.table(table)
    assert (data["source"].fillna("").str.strip() != "").all()
    assert data["year"].notna().all()
    assert data["year"].between(2015, 2030).all()


@pytest.mark.parametrize("table", list(catalog.TABLES))
def test_estimate_column_names_real_fields(table: str) -> None:
    data = catalog.table(table)
    for row_id, text in data["estimate"].fillna("").items():
        for field in filter(None, (f.strip() for f in text.split(";"))):
            assert field in data.columns or field == catalog.TABLES[table], (row_id, field)


@pytest.mark.parametrize("table", list(catalog.TABLES))
def test_ids_are_lowercase_slugs(table: str) -> None:
    if table == "countries":
        return
    for row_id in catalog.table(table).index:
        assert row_id == row_id.lower(), row_id
        assert " " not in row_id, row_id


# ---------------------------------------------------------------- accelerators


def test_accelerator_categories(acc: pd.DataFrame) -> None:
    assert set(acc["family"]) <= FAMILIES
    assert set(acc["form_factor"]) <= FORM_FACTORS
    assert acc.loc["rtx-pro-6000", "family"] == "blackwell"


def test_accelerator_positive_specs(acc: pd.DataFrame) -> None:
    for col in [
        "bf16_tflops", "hbm_gb", "hbm_tbps", "scaleup_gbps", "scaleup_domain", "tdp_w",
        "accels_per_server", "server_overhead_w", "server_price_usd", "first_year", "tpp",
    ]:  # fmt: skip
        assert acc[col].notna().all(), col
        assert (acc[col] > 0).all(), col


def test_lower_precision_is_at_least_as_fast(acc: pd.DataFrame) -> None:
    fp8 = acc["fp8_tflops"].dropna()
    assert (fp8 >= acc.loc[fp8.index, "bf16_tflops"]).all()
    fp4 = acc["fp4_tflops"].dropna()
    assert (fp4 >= acc.loc[fp4.index, "fp8_tflops"]).all()


def test_dense_figures_not_sparse(acc: pd.DataFrame) -> None:
    # H100 SXM dense BF16 is 989.4 TFLOP/s (1,979 is the 2:4-sparsity figure).
    assert acc.loc["h100-sxm", "bf16_tflops"] == pytest.approx(989.4)
    assert acc.loc["h100-sxm", "scaleup_gbps"] == 450  # 900 GB/s bidirectional


def test_tpp_matches_formats(acc: pd.DataFrame) -> None:
    for row_id, r in acc.iterrows():
        expected = max(
            catalog.tpp(r.bf16_tflops, r.fp8_tflops, r.fp4_tflops),
            0 if pd.isna(r.int8_tops) else r.int8_tops * 8,
        )
        assert r.tpp == pytest.approx(expected, rel=0.01), row_id
    assert acc.loc["h100-sxm", "tpp"] == pytest.approx(15830, rel=0.01)


def test_scaleup_domain_conventions(acc: pd.DataFrame) -> None:
    for rack in ("gb200", "gb300"):
        assert acc.loc[rack, "scaleup_domain"] == 72
        assert acc.loc[rack, "accels_per_server"] == 72
    for hgx in ("h100-sxm", "h200-sxm", "b200", "b300", "mi300x"):
        assert acc.loc[hgx, "scaleup_domain"] == 8
    assert acc.loc["l40s", "scaleup_domain"] == 1
    assert acc.loc["h100-nvl", "scaleup_domain"] == 2


def test_server_power_is_plausible(acc: pd.DataFrame) -> None:
    server_w = acc["accels_per_server"] * acc["tdp_w"] + acc["server_overhead_w"]
    assert server_w.loc["h100-sxm"] == pytest.approx(10_200)  # Epoch: 10.2 kW per HGX H100
    share = acc["server_overhead_w"] / server_w
    assert share.between(0.05, 0.7).all(), share[~share.between(0.05, 0.7)]


def test_server_price_per_accelerator_is_plausible(acc: pd.DataFrame) -> None:
    per_accel = acc["server_price_usd"] / acc["accels_per_server"]
    assert per_accel.between(2_000, 80_000).all(), per_accel[~per_accel.between(2_000, 80_000)]


# ---------------------------------------------------------------- models


def _params(r: pd.Series) -> tuple[float, float]:
    """Parameters recomputed from the architecture (billions): total, active per token.

    Attention: Q and O are hidden x heads x head_dim, K and V hidden x kv_heads x head_dim. MLA
    (DeepSeek-V3) uses low-rank Q (q_lora_rank = 3 x kv_lora_rank) and K/V (kv_lora_rank) with a
    decoupled RoPE key. FFN: gated (3 matrices) except GPT-J (2). Active parameters count the
    output embedding once (the input lookup does no multiply), as model cards do.
    """
    h, n_layers = r.hidden_size, r.n_layers
    if r.attention == "mla":
        q_lora = 3 * r.kv_lora_rank
        qk = r.head_dim + r.qk_rope_head_dim
        attn = (
            h * q_lora
            + q_lora * r.n_heads * qk
            + h * (r.kv_lora_rank + r.qk_rope_head_dim)
            + r.kv_lora_rank * r.n_heads * 2 * r.head_dim
            + r.n_heads * r.head_dim * h
        )
    else:
        attn = 2 * h * r.n_heads * r.head_dim + 2 * h * r.n_kv_heads * r.head_dim
    mats = 2 if r.family == "gptj" else 3
    emb = r.vocab_size * h
    if r.n_experts:
        n_moe = n_layers - r.n_dense_layers
        dense = r.n_dense_layers * mats * h * r.ffn_size
        expert = mats * h * r.expert_ffn_size
        total = n_layers * attn + dense + n_moe * (r.n_experts + r.n_shared_experts) * expert
        active = (
            n_layers * attn + dense + n_moe * (r.n_experts_active + r.n_shared_experts) * expert
        )
        return (total + 2 * emb) / 1e9, (active + emb) / 1e9
    total = n_layers * (attn + mats * h * r.ffn_size) + 2 * emb
    return total / 1e9, total / 1e9


def test_params_recomputed_from_architecture(models: pd.DataFrame) -> None:
    for model_id, r in models.iterrows():
        total, active = _params(r)
        assert total == pytest.approx(r.params_total_b, rel=0.10), (model_id, total)
        assert active == pytest.approx(r.params_active_b, rel=0.10), (model_id, active)


def test_moe_fields(models: pd.DataFrame) -> None:
    moe = models[models["n_experts"] > 0]
    assert len(moe) >= 8
    assert (moe["params_active_b"] < moe["params_total_b"]).all()
    assert (moe["n_experts_active"] > 0).all()
    assert (moe["n_experts_active"] <= moe["n_experts"]).all()
    assert (moe["expert_ffn_size"] > 0).all()
    assert ((moe["n_dense_layers"] > 0) == (moe["ffn_size"] > 0)).all()
    dense = models[models["n_experts"] == 0]
    assert (dense["params_active_b"] == dense["params_total_b"]).all()
    assert (dense["ffn_size"] > 0).all()


def test_attention_fields(models: pd.DataFrame) -> None:
    assert set(models["attention"]) <= ATTENTION
    assert (models["n_heads"] % models["n_kv_heads"] == 0).all()
    windowed = models[models["attention"].isin(["swa", "hybrid"])]
    assert (windowed["sliding_window"] > 0).all()
    assert (windowed["n_global_layers"] < windowed["n_layers"]).all()
    mla = models[models["attention"] == "mla"]
    assert (mla["kv_lora_rank"] > 0).all()
    assert (mla["qk_rope_head_dim"] > 0).all()
    r1 = models.loc["deepseek-r1"]
    assert (r1.n_layers, r1.n_experts, r1.n_experts_active, r1.n_dense_layers) == (61, 256, 8, 3)
    assert models.loc["gpt-oss-120b", "n_global_layers"] == 18


def test_languages_are_iso_codes(models: pd.DataFrame) -> None:
    for model_id, langs in models["languages"].items():
        codes = str(langs).split(";")
        assert all(len(c) == 2 and c.isalpha() and c.islower() for c in codes), model_id


# ---------------------------------------------------------------- sites


def test_site_ranges(sites: pd.DataFrame) -> None:
    assert sites["lat"].between(-90, 90).all()
    assert sites["lon"].between(-180, 180).all()
    assert sites["pue"].between(1.0, 2.0).all()
    assert sites["utc_offset"].between(-12, 14).all()
    assert (sites["power_price_usd_mwh"] > 0).all()
    assert (sites["carbon_g_kwh"] > 0).all()
    assert sites["capex_usd_per_mw"].between(3e6, 3e7).all()
    assert (sites["lead_time_months"] > 0).all()
    assert set(sites["climate"]) <= CLIMATES
    assert set(sites["cooling"]) <= {"air", "liquid"}


def test_site_countries_known(sites: pd.DataFrame) -> None:
    assert set(sites["country"]) <= set(catalog.countries().index)


def test_site_power_steps_parse(sites: pd.DataFrame) -> None:
    for site_id, text in sites["power_mw"].items():
        steps = catalog.parse_year_steps(text)
        assert steps, site_id
        assert all(2024 <= y <= 2040 and mw > 0 for y, mw in steps.items()), site_id
    abu = catalog.parse_year_steps(sites.loc["abu-dhabi", "power_mw"])
    assert abu[2026] == 200
    assert catalog.step_value(abu, 2031) == 5000


def test_site_near_its_country_offset(sites: pd.DataFrame) -> None:
    # A hub's longitude and its time zone agree to within a few hours (catches swapped lat/lon).
    for site_id, r in sites.iterrows():
        assert math.fabs(r.lon / 15 - r.utc_offset) < 4, site_id


# ---------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    from infraplan import cli

    cli._register()
    return CliRunner()


@pytest.mark.parametrize("table", list(catalog.TABLES))
def test_cli_prints_table(runner: CliRunner, table: str) -> None:
    from infraplan.cli import app

    result = runner.invoke(app, ["catalog", table])
    assert result.exit_code == 0, result.output
    first_id = str(catalog.table(table).index[0])
    assert first_id in result.output
    assert f"{table} ({len(catalog.table(table))} rows)" in result.output


@pytest.mark.parametrize("table", list(catalog.TABLES))
def test_cli_json_has_all_columns(runner: CliRunner, table: str) -> None:
    from infraplan.cli import app

    result = runner.invoke(app, ["catalog", table, "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    data = catalog.table(table)
    assert len(rows) == len(data)
    assert set(rows[0]) == {catalog.TABLES[table], *data.columns}


def test_cli_all_columns_shows_sources(runner: CliRunner) -> None:
    from infraplan.cli import app

    result = runner.invoke(app, ["catalog", "accelerators", "--all-columns"])
    assert result.exit_code == 0, result.output
    assert "source" in result.output
    assert "Epoch" in result.output


def test_cli_unknown_table_raises_unknown_id(runner: CliRunner) -> None:
    from infraplan.cli import app

    result = runner.invoke(app, ["catalog", "acelerators"])
    assert result.exit_code == 1
    assert isinstance(result.exception, UnknownIdError)


def test_cli_unknown_table_exits_1_without_traceback() -> None:
    exe = Path(sys.executable).with_name("infraplan")
    cmd = (
        [str(exe)]
        if exe.exists()
        else [sys.executable, "-c", "from infraplan.cli import main; main()"]
    )
    proc = subprocess.run(
        [*cmd, "catalog", "acelerators"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "accelerators" in proc.stderr  # did-you-mean hint and allowed values
