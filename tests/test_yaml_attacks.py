"""Hostile YAML through the real ``infraplan validate``: duplicate keys, deep nesting, a device
file, alias bombs. Each gives one message and exit 1, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).with_name("infraplan"))
BOMB = "\n".join(
    f"{k}: &{k} [" + ",".join([f"*{p}"] * 9) + "]"
    for p, k in zip("abcdefg", "bcdefgh", strict=True)
)


def _validate(path: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, "validate", str(path)], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("name: x\nname: y\n", "key 'name' is given twice (line 1 and line 2)"),
        ("services:\n  - id: a\n    id: b\n", "key 'id' is given twice (line 2 and line 3)"),
        ("a:\n" + "- " * 500 + "1\n", "nested"),
        ("a:" + " [" * 60 + "1" + "]" * 60 + "\n", "nested more than 40 levels"),
        ('a: &a ["x","x","x","x","x","x","x","x","x"]\n' + BOMB + "\n", "unknown key"),
    ],
    ids=["duplicate-top", "duplicate-nested", "deep-block", "deep-flow", "alias-bomb"],
)
def test_hostile_yaml_gives_a_message(tmp_path: Path, text: str, says: str) -> None:
    f = tmp_path / "s.yaml"
    f.write_text(text, encoding="utf-8")
    done = _validate(f)
    assert done.returncode == 1, done.stdout + done.stderr
    assert says in done.stderr
    assert "Traceback" not in done.stderr


def test_a_device_file_is_refused() -> None:
    done = _validate("/dev/zero")
    assert done.returncode == 1
    assert "not a regular file" in done.stderr
