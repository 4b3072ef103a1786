"""Exit codes and messages through the real console entry point (a subprocess running the
installed ``infraplan`` script), so that a typer or click upgrade cannot bring tracebacks back."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXE = shutil.which("infraplan") or str(Path(sys.executable).with_name("infraplan"))


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("runn",), 1, "No such command 'runn'"),
        (("run",), 1, "Missing argument"),
        (("validate",), 1, "Missing argument"),
        (("generate",), 1, "--output"),
        (("run", "examples/gulf-partnership.yaml", "--bogus"), 1, "No such option"),
        (("explain", "--top", "0", "out"), 1, "--top"),
        (("run", "examples/no-such-file.yaml"), 1, "does not exist"),
        (("--version",), 0, "infraplan "),
        ((), 0, "Usage"),
    ],
)
def test_usage_errors_exit_with_the_documented_code(
    args: tuple[str, ...], code: int, says: str
) -> None:
    done = _run(*args)
    text = done.stdout + done.stderr
    assert done.returncode == code, text
    assert says in text
    assert "Traceback" not in text


def test_run_without_a_plan_exits_2(tmp_path: Path) -> None:
    """A scenario that cannot be planned (the time limit passes before any plan): exit 2."""
    src = (ROOT / "examples" / "gulf-partnership.yaml").read_text(encoding="utf-8")
    assert "\nsolver:" not in src
    scn = tmp_path / "tight.yaml"
    scn.write_text(src + "\nsolver:\n  time_limit_s: 0.001\n", encoding="utf-8")
    done = _run("run", str(scn), "--out", str(tmp_path / "out"), "--no-report")
    text = done.stdout + done.stderr
    assert "Traceback" not in text
    assert done.returncode == 2, text


def test_ctrl_c_during_a_solve_exits_130(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [EXE, "run", "examples/gulf-partnership.yaml", "--out", str(tmp_path / "out")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3.0)  # start-up and into the solve
    os.kill(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in out + err
