"""Scenario validation: every error path names the field, the value and what is allowed."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from infraplan.errors import InfraplanError
from infraplan.scenario import load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[1]


def problems(data: dict[str, Any] | str) -> list[str]:
    with pytest.raises(InfraplanError) as info:
        parse_scenario(data)
    return info.value.problems or [info.value.message]


def test_valid_minimal_scenario_fills_defaults(base_scenario: dict[str, Any]) -> None:
    scn = parse_scenario(base_scenario)
    assert scn.economics.server_lifetime_years == 5
    assert scn.services[0].network_ms == 100
    assert scn.horizon.years == [2027]


def test_unknown_key_gets_did_you_mean(base_scenario: dict[str, Any]) -> None:
    base_scenario["services"][0]["tpot_msec"] = 50
    (line,) = problems(base_scenario)
    assert line.startswith("services[0].tpot_msec: unknown key")
    assert "Did you mean 'tpot_ms'?" in line


def test_top_level_unknown_key(base_scenario: dict[str, Any]) -> None:
    base_scenario["sevices"] = []
    (line,) = problems(base_scenario)
    assert "Did you mean 'services'?" in line


@pytest.mark.parametrize(
    ("path", "value", "expect"),
    [
        (("services", 0, "tpot_ms"), -5, "services[0].tpot_ms: Input should be greater than 0"),
        (("services", 0, "tpot_ms"), "fast", "services[0].tpot_ms: Input should be a valid number"),
        (("services", 0, "input_tokens"), 1.5, "services[0].input_tokens"),
        (("services", 0, "sector"), "helth", "'health'"),
        (("services", 0, "model"), "llama3.1-70", "Did you mean 'llama3.1-70b'?"),
        (("services", 0, "adoption"), {2027: 1.5}, "services[0].adoption[2027]"),
        (("services", 0, "profile"), [1, 2], "services[0].profile"),
        (("regions", 0, "country"), "ARX", "regions[0].country: unknown country 'ARX'"),
        (("regions", 0, "population"), -1, "regions[0].population"),
        (("horizon", "discount_rate"), 0.9, "horizon.discount_rate"),
        (("sites", 0, "pue"), 0.8, "sites[0].pue"),
        (("accelerators", 0), "h100", "Did you mean 'h100-sxm'?"),
    ],
)
def test_bad_values_are_named(
    base_scenario: dict[str, Any], path: tuple, value: Any, expect: str
) -> None:
    target: Any = base_scenario
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value
    lines = problems(base_scenario)
    assert any(expect in line for line in lines), lines


def test_every_problem_reported_at_once(base_scenario: dict[str, Any]) -> None:
    base_scenario["services"][0]["tpot_ms"] = -1
    base_scenario["services"][0]["regions"] = ["nowhere"]
    base_scenario["regions"][0]["country"] = "XXX"
    base_scenario["sites"].append({"id": "abu-dabi"})
    base_scenario["horizon"]["end_yr"] = 2030
    lines = problems(base_scenario)
    joined = "\n".join(lines)
    for needle in ("tpot_ms", "nowhere", "XXX", "abu-dabi", "end_yr"):
        assert needle in joined
    assert len(lines) >= 5


def test_cross_references(base_scenario: dict[str, Any]) -> None:
    base_scenario["services"].append(copy.deepcopy(base_scenario["services"][0]))
    base_scenario["sites"].append({"id": "abu-dabi"})
    joined = "\n".join(problems(base_scenario))
    assert "duplicate ids ['chat']" in joined
    assert "Did you mean 'abu-dhabi'?" in joined


def test_horizon_order(base_scenario: dict[str, Any]) -> None:
    base_scenario["horizon"]["end_year"] = 2020
    assert any("before start_year" in line for line in problems(base_scenario))


def test_network_budget_must_leave_server_time(base_scenario: dict[str, Any]) -> None:
    base_scenario["services"][0]["network_budget_ms"] = 5000
    assert any("must be below ttft_ms" in line for line in problems(base_scenario))


def test_broken_yaml_names_line() -> None:
    (line,) = problems("name: x\nhorizon: {start_year: 2027\n")
    assert "not valid YAML at line" in line


def test_not_a_mapping() -> None:
    (line,) = problems("- 1\n- 2\n")
    assert "must be a mapping" in line


def test_scientific_notation_reads_as_number(base_scenario: dict[str, Any]) -> None:
    text = yaml.safe_dump(base_scenario).replace("10000000", "1e7")
    assert "1e7" in text
    assert parse_scenario(text).sites[0].capex_usd_per_mw == 1e7


def test_missing_file() -> None:
    with pytest.raises(InfraplanError, match="does not exist"):
        load_scenario("no/such/file.yaml")


@pytest.mark.parametrize(
    "text",
    [
        "name: x\nhorizon: [\n",  # broken YAML
        "name: x\nhorizon: {start_year: '2027', end_year: 2030}\n",  # wrong type, missing keys
        "name: x\nhorizon: {start_year: 2027, end_year: 2030}\nregions: [{id: a, country: ZZZ}]\n",
    ],
)
def test_cli_validate_exits_1_without_traceback(tmp_path: Path, text: str) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    proc = subprocess.run(
        [sys.executable, "-m", "infraplan", "validate", str(f)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "error" in proc.stderr


def test_cli_validate_ok(tmp_path: Path, base_scenario: dict[str, Any]) -> None:
    f = tmp_path / "ok.yaml"
    f.write_text(yaml.safe_dump(base_scenario))
    proc = subprocess.run(
        [sys.executable, "-m", "infraplan", "validate", str(f)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "OK" in proc.stdout
