"""Every number in a scenario is finite: infinity or NaN at any numeric field of the bundled
examples is refused at validation, with the field named (regression: 19 fields accepted
infinity, then crashed or silently dropped a service)."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from infraplan.errors import InfraplanError
from infraplan.scenario import parse_scenario

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def _numeric_paths(o: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(o, dict):
        return [p for k, v in o.items() for p in _numeric_paths(v, (*path, k))]
    if isinstance(o, list):
        return [p for i, v in enumerate(o) for p in _numeric_paths(v, (*path, i))]
    if isinstance(o, int | float) and not isinstance(o, bool):
        return [path]
    return []


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
@pytest.mark.parametrize("bad", [float("inf"), float("-inf"), float("nan")], ids=str)
def test_non_finite_numbers_are_refused_everywhere(example: Path, bad: float) -> None:
    base = yaml.safe_load(example.read_text(encoding="utf-8"))
    paths = _numeric_paths(base)
    assert len(paths) > 20
    for path in paths:
        doc = copy.deepcopy(base)
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = bad
        with pytest.raises(InfraplanError) as err:
            parse_scenario(doc)
        assert str(path[0]) in str(err.value), (path, str(err.value))


def test_validate_names_the_infinite_field(tmp_path: Path) -> None:
    text = (ROOT / "examples" / "gulf-partnership.yaml").read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    doc["services"][0]["ttft_ms"] = float("inf")
    scn = tmp_path / "inf.yaml"
    scn.write_text(yaml.safe_dump(doc), encoding="utf-8")
    exe = Path(sys.executable).with_name("infraplan")
    done = subprocess.run(
        [str(exe), "validate", str(scn)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert "services[0].ttft_ms" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
