"""Regression tests for issue 10 (bad input, faults, output folders), through the installed
``infraplan`` console script: whatever validates must run, user text is printed as text,
warnings are shown, output folders are replaced whole and checked before the solve."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
EXE = shutil.which("infraplan") or str(Path(sys.executable).with_name("infraplan"))
GULF = yaml.safe_load((ROOT / "examples" / "gulf-partnership.yaml").read_text(encoding="utf-8"))
FAST = {"integer_servers": False, "hour_blocks": 4}


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def _scenario(tmp_path: Path, change: Any = None, name: str = "scn.yaml") -> Path:
    data = copy.deepcopy(GULF)
    data["solver"] = dict(FAST)
    if change is not None:
        change(data)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _strict_json(path: Path) -> dict[str, Any]:
    def refuse(token: str) -> None:
        raise AssertionError(f"non-finite number {token} in {path}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def _add_training(**extra: Any) -> Any:
    def change(d: dict[str, Any]) -> None:
        d["training"] = [{"id": "t", "flops": 1e24, "deadline_year": 2029, **extra}]

    return change


def _dup_training(d: dict[str, Any]) -> None:
    d["training"] = [
        {"id": "t", "flops": 1e24, "deadline_year": 2029},
        {"id": "t", "flops": 1e23, "deadline_year": 2030},
    ]


def _region_twice(d: dict[str, Any]) -> None:
    r = d["services"][0].get("regions") or [d["regions"][0]["id"]]
    d["services"][0]["regions"] = [r[0], r[0]]


def _semicolon_id(d: dict[str, Any]) -> None:
    d["services"][0]["id"] = "a;b"


def _custom_site_without_power(d: dict[str, Any]) -> None:
    d["sites"].append({"id": "new-site", "country": "ARE", "lat": 24.0, "lon": 54.0})


def _empty_accelerators(d: dict[str, Any]) -> None:
    d["sites"][0]["accelerators"] = []


def _empty_adoption(d: dict[str, Any]) -> None:
    d["services"][0]["adoption"] = {}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (_add_training(accelerators=["train_short"]), "train_short"),
        (_add_training(countries=["XXX"]), "XXX"),
        (_add_training(countries=["JPN"]), "training[0]"),
        (_add_training(deadline_year=2020), "deadline_year"),
        (_dup_training, "training: duplicate ids"),
        (_region_twice, "services[0].regions"),
        (_semicolon_id, "services[0].id"),
        (_custom_site_without_power, "power_mw"),
        (_empty_accelerators, "accelerators"),
        (_empty_adoption, "adoption"),
    ],
)
def test_what_run_cannot_plan_is_refused_by_validate(
    tmp_path: Path, change: Any, field: str
) -> None:
    """These once validated and then crashed `run`; now validate names the field, exit 1."""
    scn = _scenario(tmp_path, change)
    done = _run("validate", str(scn))
    text = done.stdout + done.stderr
    assert done.returncode == 1, text
    assert field in text
    assert "Traceback" not in text


def test_custom_site_in_a_country_outside_the_catalog(tmp_path: Path) -> None:
    """Any ISO 3166 country: accepted with the figures the catalog would give, else named."""
    site = {"id": "montevideo", "country": "URY", "lat": -34.9, "lon": -56.2, "power_mw": 50}
    bare = _scenario(tmp_path, lambda d: d["sites"].append(dict(site)), "bare.yaml")
    done = _run("validate", str(bare))
    assert done.returncode == 1
    for f in ("power_price_usd_mwh", "carbon_g_kwh", "utc_offset"):
        assert f in done.stderr
    full = {**site, "power_price_usd_mwh": 95.0, "carbon_g_kwh": 120.0, "utc_offset": -3}
    full_path = _scenario(tmp_path, lambda d: d["sites"].append(dict(full)), "full.yaml")
    out = tmp_path / "out"
    done = _run("run", str(full_path), "--out", str(out), "--no-report", "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    sites = _strict_json(out / "results.json")["assumptions"]
    assert not any("montevideo" in str(r["name"]) and "price" in str(r["name"]) for r in sites)


def test_markup_in_names_and_paths_is_printed_as_text(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        d["name"] = "x [/] y [bold]z"

    folder = tmp_path / "a [/] b"
    folder.mkdir(parents=True)  # a folder "a [" holding "] b": the path reads "a [/] b"
    scn = _scenario(folder, change)
    done = _run("validate", str(scn))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[/]" in done.stdout
    done = _run("run", str(scn), "--out", str(tmp_path / "o [/]"), "--no-report", "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "x [/] y [bold]z" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_control_characters_in_names_are_refused(tmp_path: Path) -> None:
    scn = _scenario(tmp_path, lambda d: d.update(name="evil \x1b[2J name"))
    done = _run("validate", str(scn))
    assert done.returncode == 1
    assert "name" in done.stderr
    assert "\x1b" not in done.stdout + done.stderr


def _suspicious(d: dict[str, Any]) -> None:
    d["services"][0]["ttft_ms"] = 1.5
    d["services"][1]["adoption"] = {2020: 0.1, 2045: 0.9}
    d["sites"][0]["power_mw"] = 200_000
    d["regions"].append({**d["regions"][0], "id": "twin", "population_share": 1.0})
    d["regions"][0]["population_share"] = 1.0
    d["regions"][0].pop("population", None)
    d["regions"][-1].pop("population", None)


def test_legal_but_suspicious_input_warns_in_validate_run_and_report(tmp_path: Path) -> None:
    scn = _scenario(tmp_path, _suspicious)
    done = _run("validate", str(scn))
    assert done.returncode == 0, done.stdout + done.stderr
    for says in ("ttft_ms", "adoption", "power_mw", "population_share"):
        assert says in done.stderr, done.stderr
    out = tmp_path / "out"
    done = _run("run", str(scn), "--out", str(out))
    assert done.returncode in (0, 2), done.stdout + done.stderr
    warnings = _strict_json(out / "results.json")["warnings"]
    assert len(warnings) >= 4
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.index('id="warnings"') < html.index('id="summary"')


def test_decision_year_that_leaves_the_first_year_empty_warns(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        d["horizon"]["decision_year"] = d["horizon"]["start_year"]

    done = _run("validate", str(_scenario(tmp_path, change)))
    assert done.returncode == 0
    assert "decision_year" in done.stderr
    assert "goes unserved" in done.stderr


def test_output_folder_is_checked_before_the_solve(tmp_path: Path) -> None:
    scn = _scenario(tmp_path)
    user = tmp_path / "mine"
    user.mkdir()
    (user / "build.csv").write_text("my own numbers\n", encoding="utf-8")
    a_file = tmp_path / "a-file"
    a_file.write_text("keep\n", encoding="utf-8")
    for target in ("", ".", str(user), str(a_file)):
        done = _run("run", str(scn), "--out", target, cwd=tmp_path)
        text = done.stdout + done.stderr
        assert done.returncode == 1, (target, text)
        assert "--out" in text
        assert "Traceback" not in text
        assert "planning" not in done.stdout  # refused before any work
    assert (user / "build.csv").read_text(encoding="utf-8") == "my own numbers\n"
    assert a_file.read_text(encoding="utf-8") == "keep\n"


def test_a_new_run_replaces_the_folder_whole(tmp_path: Path) -> None:
    """No file of an earlier run survives beside the new one; no staging folder is left."""
    out = tmp_path / "out"
    scn = _scenario(tmp_path)
    assert _run("run", str(scn), "--out", str(out), "-q").returncode == 0
    (out / "stale_table.csv").write_text("from an earlier version\n", encoding="utf-8")
    assert _run("run", str(scn), "--out", str(out), "--no-report", "-q").returncode == 0
    names = {p.name for p in out.iterdir()}
    assert "stale_table.csv" not in names
    assert "report.html" not in names  # the old report went with the old run
    assert "results.json" in names
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")] == []


def test_formulas_in_user_text_are_defused_in_csv(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        old = d["regions"][0]["id"]
        d["regions"][0]["id"] = "=HYPERLINK(1)"
        for s in d["services"]:
            if s.get("regions"):
                s["regions"] = ["=HYPERLINK(1)" if r == old else r for r in s["regions"]]
        for rule in d.get("residency") or []:
            if rule.get("regions"):
                rule["regions"] = ["=HYPERLINK(1)" if r == old else r for r in rule["regions"]]

    out = tmp_path / "out"
    done = _run("run", str(_scenario(tmp_path, change)), "--out", str(out), "--no-report", "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    found = 0
    for csv in out.glob("*.csv"):
        text = csv.read_text(encoding="utf-8")
        assert ",=HYPERLINK" not in text
        assert not text.startswith("=")
        found += text.count("'=HYPERLINK(1)")
    assert found > 0


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--engine", "foo"), "unknown engine 'foo'"),
        (("--isl", "nan"), "--isl"),
    ],
)
def test_perf_refuses_what_it_would_silently_ignore(args: tuple[str, ...], says: str) -> None:
    base = ("perf", "--model", "llama3.1-8b", "--accelerator", "h100-sxm", "--osl", "100")
    done = _run(*base, *args)
    assert done.returncode == 1, done.stdout + done.stderr
    assert says in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_perf_absurd_concurrency_is_infeasible() -> None:
    done = _run(
        "perf", "--model", "llama3.1-8b", "--accelerator", "h100-sxm", "--osl", "100",
        "--concurrency", "100000000", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    res = json.loads(done.stdout)
    assert res["feasible"] is False
    assert "queue" in res["reason"]


@pytest.mark.parametrize(
    "args",
    [
        ("perf", "--batch", "/dev/null"),
        ("perf", "--batch", "README.md"),
        ("perf", "--efficiency", "README.md", "--model", "llama3.1-8b", "--accelerator",
         "h100-sxm", "--osl", "10"),
        ("generate", "-o", "examples"),
        ("explain", "examples"),
        ("explain", "README.md"),
        ("validate", "README.md"),
    ],
)  # fmt: skip
def test_other_commands_on_bad_files_give_a_message(args: tuple[str, ...]) -> None:
    done = _run(*args)
    text = done.stdout + done.stderr
    assert done.returncode == 1, text
    assert "Traceback" not in text
    assert "error" in text


def test_an_unexpected_failure_is_an_internal_error_exit_70(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The last-resort handler: one paragraph, the traceback saved to a file, exit 70."""
    import tempfile

    import infraplan.cli as cli

    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("simulated defect")

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr("infraplan.cli.plan_cmd.load_scenario", broken)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["validate", "examples/gulf-partnership.yaml"])
    assert exit_info.value.code == 70
    err = capsys.readouterr().err
    assert "internal error" in err
    assert "simulated defect" in err
    assert "Traceback" not in err
    saved = list(tmp_path.glob("infraplan-crash-*.txt"))
    assert saved
    assert "RuntimeError" in saved[0].read_text(encoding="utf-8")


def test_a_run_without_a_plan_writes_null_not_nan(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        d["solver"] = {"time_limit_s": 0.001}

    out = tmp_path / "out"
    done = _run("run", str(_scenario(tmp_path, change)), "--out", str(out), "--no-report")
    assert done.returncode == 2, done.stdout + done.stderr
    doc = _strict_json(out / "results.json")
    assert doc["objective_usd"] is None
