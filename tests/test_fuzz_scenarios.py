"""Fuzzing the bundled examples (issue 10): random mutations of types, ranges, infinities, ids,
keys and nesting. Every mutant is either refused with a message that names a field, or it
validates and then gets through the model's inputs (whatever validates must run). A sample is
also run end to end through the console script: documented exit code, no traceback, strict
JSON out. The long variant is marked slow (CI runs it)."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infraplan.errors import InfraplanError
from infraplan.mutate import mutate, tree_paths
from infraplan.pipeline import run as run_pipeline
from infraplan.scenario import parse_scenario

ROOT = Path(__file__).resolve().parents[1]
EXE = shutil.which("infraplan") or str(Path(sys.executable).with_name("infraplan"))
EXAMPLES = {
    p.name: yaml.safe_load(p.read_text(encoding="utf-8"))
    for p in sorted((ROOT / "examples").glob("*.yaml"))
}
EXIT_CODES = {0, 1, 2}

WEIRD: list[Any] = [
    float("inf"), float("-inf"), float("nan"), -1, 0, 1e308, -1e-9, 10**30, 2.5, True, None,
    "", "x;y", "[/]", "=1+1", "a" * 400, [], {}, [[]], {"a": {"b": {"c": 1}}}, "2030",
    {2020: 1.0}, {2031: 5.0, 2027: 1.0}, [1, 2, 3], "h100-sxm", "ARE", "URY", "XXX",
]  # fmt: skip


@st.composite
def mutants(draw: st.DrawFn) -> dict[str, Any]:
    tree = copy.deepcopy(EXAMPLES[draw(st.sampled_from(sorted(EXAMPLES)))])
    for _ in range(draw(st.integers(1, 3))):
        paths = tree_paths(tree)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["replace", "replace", "replace", "delete", "unknown_key",
                                   "duplicate", "nest"]))  # fmt: skip
        try:
            mutate(tree, path, op, copy.deepcopy(draw(st.sampled_from(WEIRD))))
        except (KeyError, IndexError, TypeError):
            continue
    return tree


FIELD = re.compile(r"^\s*- \S+", re.M)


def _check(tree: dict[str, Any]) -> str:
    """'refused' or 'valid'; fails the test on anything else."""
    try:
        scn = parse_scenario(tree)
    except InfraplanError as exc:
        text = str(exc)
        assert text.strip(), "an empty message"
        assert FIELD.search(text) or ":" in text, text  # names a field or the file
        return "refused"
    # whatever validates must get through the model's inputs
    run_pipeline(scn, steps=("inputs",))
    return "valid"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutants())
def test_mutated_examples_are_refused_with_a_field_or_get_through_inputs(
    tree: dict[str, Any],
) -> None:
    _check(tree)


@pytest.mark.slow
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutants())
def test_mutated_examples_long(tree: dict[str, Any]) -> None:
    _check(tree)


def _strict(text: str) -> Any:
    def refuse(token: str) -> None:
        raise AssertionError(f"non-finite {token} in results.json")

    return json.loads(text, parse_constant=refuse)


def _end_to_end(tree: dict[str, Any], tmp: Path) -> None:
    tree = copy.deepcopy(tree)
    if isinstance(tree, dict):
        tree["solver"] = {"integer_servers": False, "hour_blocks": 4, "time_limit_s": 60}
    scn = tmp / "mutant.yaml"
    scn.write_text(yaml.safe_dump(tree, sort_keys=False, allow_unicode=True), encoding="utf-8")
    out = tmp / "out"
    for args in (("validate", str(scn)), ("run", str(scn), "--out", str(out), "-q")):
        done = subprocess.run(
            [EXE, *args], capture_output=True, text=True, timeout=300, check=False, cwd=tmp
        )
        text = done.stdout + done.stderr
        assert "Traceback" not in text, text
        assert done.returncode in EXIT_CODES, (done.returncode, text)
        if done.returncode == 1:
            assert "error" in done.stderr
            return
    _strict((out / "results.json").read_text(encoding="utf-8"))
    done = subprocess.run(
        [EXE, "explain", str(out)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0
    assert "Traceback" not in done.stdout + done.stderr


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(tree=mutants())
def test_mutants_through_the_console_script(tree: dict[str, Any], tmp_path: Path) -> None:
    _end_to_end(tree, tmp_path)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(tree=mutants())
def test_mutants_through_the_console_script_long(tree: dict[str, Any], tmp_path: Path) -> None:
    _end_to_end(tree, tmp_path)
