"""Hostile and careless input against the real ``infraplan`` command, in fresh processes.

Every case runs the installed console script through ``subprocess`` (never in-process), as a
user or a script would, and checks what the README promises: a documented exit code (0 plan
found or done, 1 bad input with a message, 2 no plan), never a traceback, strict JSON (no NaN or
Infinity) wherever results.json is written, output folders replaced whole, user text printed as
text. Seven categories:

1. mutated scenarios, validate: the bundled examples with 1-3 random mutations each (a weird
   value, a deleted key, an unknown key, a duplicated list element, a nested value), as in
   tests/test_fuzz_scenarios.py;
2. the same, run + explain on the first mutants that validated (fast solver settings);
3. YAML and file attacks (duplicate keys, deep nesting, alias bombs, devices, FIFOs, encodings,
   tags, huge files, odd paths);
4. impossible and degenerate scenarios (edits of examples/gulf-partnership.yaml);
5. output folders, concurrent runs and signals;
6. the other commands (generate, explain, catalog, perf) with bad arguments and bad files;
7. user text (markup, ANSI escapes, HTML, spreadsheet formulas, long and RTL text) reaching the
   terminal, report.html and the CSV tables.

Seeded (``random.Random(2026)``): the same cases every time. Prints a markdown table of
``| category | tried | clean | failed |`` and every failure with its command and the first lines
of output; exit status 0 when nothing failed, 1 otherwise.

    python benchmarks/hostile_inputs.py                 # all of it (20-40 minutes on 2 cores)
    python benchmarks/hostile_inputs.py --quick         # about a tenth of each category
    python benchmarks/hostile_inputs.py --jobs 4 --only 3,5 --keep /tmp/hostile-failures
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import csv
import io
import json
import math
import os
import random
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from infraplan.mutate import mutate, tree_paths

ROOT = Path(__file__).resolve().parents[1]
EXE = shutil.which("infraplan") or str(Path(sys.executable).with_name("infraplan"))
EXAMPLES: dict[str, Any] = {
    p.name: yaml.safe_load(p.read_text(encoding="utf-8"))
    for p in sorted((ROOT / "examples").glob("*.yaml"))
}
GULF_FILE = ROOT / "examples" / "gulf-partnership.yaml"
GULF: dict[str, Any] = EXAMPLES["gulf-partnership.yaml"]
FAST: dict[str, Any] = {"integer_servers": False, "hour_blocks": 4, "time_limit_s": 60}
SEED = 2026

CATEGORIES = {
    1: "mutated scenarios, validate",
    2: "the same, run + explain on 60 that validated",
    3: "YAML and file attacks",
    4: "impossible and degenerate scenarios",
    5: "output folder, concurrency, signals",
    6: "other commands with bad arguments",
    7: "user text reaching report, terminal, CSV",
}
N_MUTANTS = 451
N_RUN_MUTANTS = 60

VALIDATE_S = 120
RUN_S = 300
SHORT_S = 120
ATTACK_S = 60

# The same weird values as tests/test_fuzz_scenarios.py.
WEIRD: list[Any] = [
    float("inf"), float("-inf"), float("nan"), -1, 0, 1e308, -1e-9, 10**30, 2.5, True, None,
    "", "x;y", "[/]", "=1+1", "a" * 400, [], {}, [[]], {"a": {"b": {"c": 1}}}, "2030",
    {2020: 1.0}, {2031: 5.0, 2027: 1.0}, [1, 2, 3], "h100-sxm", "ARE", "URY", "XXX",
]  # fmt: skip
OPS = ["replace", "replace", "replace", "delete", "unknown_key", "duplicate", "nest"]

MINIMAL = """\
name: One country, one service
horizon: {start_year: 2027, end_year: 2030}
regions:
  - {id: uae, country: ARE}
services:
  - id: assistant
    sector: public-administration
    model: llama3.3-70b
    requests_per_user_per_day: 2
    input_tokens: 1500
    output_tokens: 400
    ttft_ms: 2000
    tpot_ms: 50
    adoption: {2027: 0.1, 2030: 0.5}
sites:
  - {id: abu-dhabi}
"""


# --------------------------------------------------------------------------------------------
# running commands and recording what went wrong


@dataclass
class Done:
    """One finished (or timed-out) command."""

    args: list[str]
    rc: int | None
    """Exit status; None when the command ran past its timeout and was killed."""
    out: str
    err: str
    seconds: float
    timeout: float

    @property
    def text(self) -> str:
        return self.out + self.err

    @property
    def cmd(self) -> str:
        return shlex.join(["infraplan", *self.args])


@dataclass
class Problem:
    what: str
    cmd: str
    output: str


@dataclass
class Result:
    category: int
    label: str
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: Any = None
    folder: Path | None = None


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for key in ("FORCE_COLOR", "PY_COLORS", "CLICOLOR_FORCE"):
        env.pop(key, None)
    env["COLUMNS"] = "100"
    return env


ENV = _env()


def _decode(raw: bytes | str | None) -> str:
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw
    return raw.decode("utf-8", errors="replace")


def _printable(text: str) -> str:
    """Text safe for a markdown report: control characters (ESC included) shown escaped."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def _head(text: str, lines: int = 8, width: int = 200) -> str:
    rows = [_printable(r)[:width] for r in text.strip().splitlines()[:lines]]
    return "\n".join(rows)


def strict_json(text: str) -> Any:
    """json.loads that refuses NaN, Infinity and -Infinity."""

    def refuse(token: str) -> None:
        raise ValueError(f"non-finite number {token}")

    return json.loads(text, parse_constant=refuse)


class Probe:
    """One case: its own folder, the commands it ran and the problems found."""

    def __init__(self, result: Result, folder: Path) -> None:
        self.result = result
        self.dir = folder
        self.dir.mkdir(parents=True)
        self.last: Done | None = None

    def run(self, *args: str, timeout: float = SHORT_S, cwd: Path | None = None) -> Done:
        t0 = time.perf_counter()
        try:
            done = subprocess.run(
                [EXE, *args],
                cwd=cwd or self.dir,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                check=False,
                env=ENV,
            )
            rc: int | None = done.returncode
            out, err = _decode(done.stdout), _decode(done.stderr)
        except subprocess.TimeoutExpired as exc:
            rc, out, err = None, _decode(exc.stdout), _decode(exc.stderr)
        self.last = Done(list(args), rc, out, err, time.perf_counter() - t0, timeout)
        return self.last

    def fail(self, what: str, done: Done | None = None) -> None:
        done = done or self.last
        cmd = done.cmd if done else "(no command)"
        output = _head(done.text) if done else ""
        self.result.problems.append(Problem(what, cmd, output))

    def note(self, text: str) -> None:
        self.result.notes.append(text)

    def check(self, done: Done, codes: Iterable[int], *, names: bool = False) -> bool:
        """The README's promises for any command: an answer in time, no traceback, an exit
        code from ``codes``, and a message on standard error with exit 1 (``names``: the
        message names something, i.e. holds a ':')."""
        before = len(self.result.problems)
        codes = set(codes)
        if done.rc is None:
            self.fail(f"no answer within {done.timeout:.0f} s (killed)", done)
            return False
        if "Traceback" in done.text:
            self.fail("a traceback", done)
        if done.rc not in codes:
            self.fail(f"exit {done.rc}, expected {sorted(codes)}", done)
        if done.rc == 1:
            if not done.err.strip():
                self.fail("exit 1 without a message on standard error", done)
            elif names and ":" not in done.err:
                self.fail("exit 1 with a message that names nothing (no ':')", done)
        return len(self.result.problems) == before

    def results(self, done: Done, out: Path) -> dict[str, Any] | None:
        """After ``infraplan run``: results.json exists when the run ended 0 or 2, is strict
        JSON, and says a plan exactly when the exit code is 0."""
        if done.rc not in (0, 2):
            return None
        path = out / "results.json"
        if not path.is_file():
            self.fail(f"exit {done.rc} but no {path.name} in the output folder", done)
            return None
        try:
            doc = strict_json(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            self.fail(f"results.json is not strict JSON: {exc}", done)
            return None
        if not isinstance(doc, dict):
            self.fail("results.json is not a JSON object", done)
            return None
        has_plan = doc.get("objective_usd") is not None and bool(doc.get("metrics"))
        if done.rc == 0 and not has_plan:
            self.fail(f"exit 0 but results.json has no plan (status {doc.get('status')})", done)
        if done.rc == 2 and has_plan:
            self.fail(f"exit 2 but results.json has a plan (status {doc.get('status')})", done)
        return doc


def write_yaml(path: Path, tree: Any) -> Path:
    path.write_text(yaml.safe_dump(tree, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def fast(tree: dict[str, Any]) -> dict[str, Any]:
    tree = copy.deepcopy(tree)
    tree["solver"] = dict(FAST)
    return tree


def snapshot(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def leftovers(folder: Path) -> list[str]:
    """Staging or set-aside folders a run left beside ``folder``."""
    prefix = f".{folder.name}."
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(prefix))


# --------------------------------------------------------------------------------------------
# 1 and 2: mutated examples


def _where(path: tuple[Any, ...]) -> str:
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass
class Mutant:
    index: int
    example: str
    tree: dict[str, Any]
    steps: list[str]

    @property
    def label(self) -> str:
        return f"mutant {self.index} of {self.example}: " + "; ".join(self.steps)


def mutants(rng: random.Random, n: int) -> list[Mutant]:
    out = []
    for index in range(n):
        example = rng.choice(sorted(EXAMPLES))
        tree = copy.deepcopy(EXAMPLES[example])
        steps: list[str] = []
        for _ in range(rng.randint(1, 3)):
            paths = tree_paths(tree)
            if not paths:
                break
            path = rng.choice(paths)
            op = rng.choice(OPS)
            value = copy.deepcopy(rng.choice(WEIRD))
            try:
                mutate(tree, path, op, value)
            except (KeyError, IndexError, TypeError):
                continue
            with_value = op in ("replace", "unknown_key")
            steps.append(f"{op} {_where(path)}" + (f" = {_short(value)}" if with_value else ""))
        out.append(Mutant(index, example, tree, steps or ["(no mutation applied)"]))
    return out


def case_validate_mutant(probe: Probe, mutant: Mutant) -> None:
    path = write_yaml(probe.dir / "mutant.yaml", mutant.tree)
    done = probe.run("validate", str(path), timeout=VALIDATE_S)
    if probe.check(done, {0, 1}, names=True) and done.rc == 0:
        probe.result.data = mutant


def case_run_mutant(probe: Probe, mutant: Mutant) -> None:
    path = write_yaml(probe.dir / "mutant.yaml", fast(mutant.tree))
    out = probe.dir / "out"
    done = probe.run("run", str(path), "--out", str(out), "-q", "--no-report", timeout=RUN_S)
    probe.check(done, {0, 1, 2})
    if done.rc == 1:
        probe.note(f"{mutant.label}: validates, but run exits 1: {_head(done.err, 2)}")
    probe.results(done, out)
    if done.rc == 0:
        probe.check(probe.run("explain", str(out), timeout=SHORT_S), {0})


# --------------------------------------------------------------------------------------------
# 3: YAML and file attacks

BOMB = "\n".join(
    f"{k}: &{k} [" + ",".join([f"*{p}"] * 9) + "]"
    for p, k in zip("abcdefg", "bcdefgh", strict=True)
)


def _gulf_text() -> str:
    return GULF_FILE.read_text(encoding="utf-8")


def attack_text(text: str | bytes, expect: set[int] | None = None) -> Callable[[Probe], None]:
    """A case writing ``text`` to a file and validating it."""

    def case(probe: Probe) -> None:
        path = probe.dir / "scn.yaml"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        probe.check(probe.run("validate", str(path), timeout=ATTACK_S), expect or {0, 1})

    return case


def attack_path(
    make: Callable[[Path], Path], expect: set[int] | None = None
) -> Callable[[Probe], None]:
    """A case validating the path ``make(case folder)`` returns."""

    def case(probe: Probe) -> None:
        path = make(probe.dir)
        done = probe.run("validate", str(path), timeout=ATTACK_S)
        flat = "".join(done.out.split())
        if (
            probe.check(done, expect or {0, 1})
            and done.rc == 0
            and "".join(path.name.split()) not in flat
        ):
            probe.fail("validate printed OK without naming the file", done)

    return case


def _duplicate_keys(probe: Probe) -> None:
    texts = {
        "top": "name: x\nname: y\n",
        "services[0]": "services:\n  - id: a\n    id: b\n",
        "services[0].adoption": _gulf_text().replace(
            "adoption: {2027: 0.10, 2029: 0.35", "adoption: {2027: 0.10, 2027: 0.35"
        ),
        "flow in a list": "sites:\n  - {id: a, id: b}\n",
    }
    for number, (where, text) in enumerate(texts.items()):
        path = probe.dir / f"dup-{number}.yaml"
        path.write_text(text, encoding="utf-8")
        done = probe.run("validate", str(path), timeout=ATTACK_S)
        if probe.check(done, {1}) and "twice" not in done.err:
            probe.fail(f"a duplicate key ({where}) not reported as given twice", done)


def _python_tag(probe: Probe) -> None:
    marker = probe.dir / "pwned"
    text = (
        f"name: !!python/object/apply:os.system [\"touch '{marker}'\"]\n"
        + MINIMAL.split("\n", 1)[1]
    )
    path = probe.dir / "scn.yaml"
    path.write_text(text, encoding="utf-8")
    probe.check(probe.run("validate", str(path), timeout=ATTACK_S), {1})
    if marker.exists():
        probe.fail("!!python/object/apply ran a shell command")


def _fifo(folder: Path) -> Path:
    path = folder / "pipe.yaml"
    os.mkfifo(path)
    return path


def _symlink_loop(folder: Path) -> Path:
    a, b = folder / "a.yaml", folder / "b.yaml"
    a.symlink_to(b)
    b.symlink_to(a)
    return a


def _missing(folder: Path) -> Path:
    return folder / "no-such-file.yaml"


def _a_folder(folder: Path) -> Path:
    (folder / "scenario.yaml").mkdir()
    return folder / "scenario.yaml"


def _example_in(parts: tuple[str, ...]) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        where = folder.joinpath(*parts)
        where.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(GULF_FILE, where)
        return where

    return make


def _json_example() -> str:
    return json.dumps(GULF, indent=1)


def _json_nan() -> str:
    text = json.dumps(GULF, indent=1)
    return text.replace('"ttft_ms": 2000', '"ttft_ms": NaN', 1)


def _twenty_mb() -> str:
    """A valid example padded with comments to 20,000,000 bytes, the largest allowed size."""
    base = _gulf_text()
    line = "# " + "x" * 97 + "\n"
    text = base + line * ((20_000_000 - len(base.encode())) // len(line))
    return text + "#" * (20_000_000 - len(text.encode()) - 1) + "\n"


def _one_line() -> str:
    doc = yaml.safe_load(MINIMAL)
    doc["description"] = "a" * 1_000_000
    return json.dumps(doc)


MERGE = """\
name: merge keys
horizon: {start_year: 2027, end_year: 2030}
regions:
  - &uae {id: uae, country: ARE}
  - {<<: *uae, id: ksa, country: SAU}
services:
  - &svc
    id: assistant
    sector: public-administration
    model: llama3.3-70b
    requests_per_user_per_day: 2
    input_tokens: 1500
    output_tokens: 400
    ttft_ms: 2000
    tpot_ms: 50
  - <<: *svc
    id: assistant-2
sites:
  - {id: abu-dhabi}
"""


def yaml_attacks(rng: random.Random) -> list[tuple[str, Callable[[Probe], None]]]:
    gulf = _gulf_text()
    garbage = bytes(rng.randrange(256) for _ in range(4096))
    tabs = "\n".join(
        "\t" + line[2:] if line.startswith("  ") else line for line in gulf.splitlines()
    )
    return [
        ("duplicate keys at four depths", _duplicate_keys),
        ("500-deep block nesting", attack_text("a:\n" + "- " * 500 + "1\n", expect={1})),
        ("60-deep flow nesting", attack_text("a:" + " [" * 60 + "1" + "]" * 60 + "\n", {1})),
        (
            "alias bomb (a billion laughs)",
            attack_text('a: &a ["x","x","x","x","x","x","x","x","x"]\n' + BOMB + "\n", {1}),
        ),
        ("/dev/zero", attack_path(lambda _: Path("/dev/zero"), {1})),
        ("a directory", attack_path(_a_folder, {1})),
        ("a missing file", attack_path(_missing, {1})),
        ("an empty file", attack_text("", expect={1})),
        ("only a comment", attack_text("# nothing here\n", expect={1})),
        ("a top-level list", attack_text("- name: x\n- name: y\n", expect={1})),
        ("a top-level scalar", attack_text("just some words\n", expect={1})),
        ("a null document", attack_text("~\n", expect={1})),
        ("two YAML documents", attack_text(MINIMAL + "---\n" + MINIMAL, expect={1})),
        ("binary garbage", attack_text(garbage, expect={1})),
        ("a NUL byte", attack_text(gulf.replace("Gulf AI", "Gulf\x00AI", 1), expect={1})),
        ("UTF-16 with BOM", attack_text(gulf.encode("utf-16"))),
        ("latin-1 bytes", attack_text(gulf.replace("Gulf AI", "Café Sociét").encode("latin-1"))),
        ("tabs for indentation", attack_text(tabs, expect={1})),
        ("!!python/object/apply:os.system", _python_tag),
        ("!!binary", attack_text(MINIMAL.replace("name: One", "name: !!binary aGVsbG8=\n#"))),
        ("custom tag !foo", attack_text(MINIMAL.replace("{id: uae", "!foo {id: uae"))),
        ("a 20 MB file (the size limit)", attack_text(_twenty_mb())),
        ("a 1 MB single line", attack_text(_one_line(), expect={1})),
        ("merge keys <<", attack_text(MERGE)),
        ("integer keys", attack_text(MINIMAL + "1: one\n2027: {x: 1}\n", expect={1})),
        ("complex keys ? [a, b]", attack_text(MINIMAL + "? [a, b]\n: 1\n", expect={1})),
        (
            ".inf / .nan values",
            attack_text(
                MINIMAL.replace("ttft_ms: 2000", "ttft_ms: .nan")
                .replace("tpot_ms: 50", "tpot_ms: .inf")
                .replace("requests_per_user_per_day: 2", "requests_per_user_per_day: -.inf"),
                expect={1},
            ),
        ),
        (
            "timestamps where strings are expected",
            attack_text(
                MINIMAL.replace("name: One country, one service", "name: 2027-01-01")
                .replace("model: llama3.3-70b", "model: 2027-01-01T10:00:00Z")
                .replace("{id: uae, country: ARE}", "{id: 2027-05-01, country: ARE}")
            ),
        ),
        ("a JSON scenario (the gulf example as JSON)", attack_text(_json_example(), {0})),
        ("JSON with NaN", attack_text(_json_nan(), expect={1})),
        ("a symlink loop", attack_path(_symlink_loop, {1})),
        ("a FIFO", attack_path(_fifo, {1})),
        (
            "a path with [/] in a folder name",
            attack_path(_example_in(("a [", "] b", "s.yaml")), {0}),
        ),
        (
            "a path with spaces and unicode",
            attack_path(_example_in(("my scénarios ✓ שלום", "gulf plan ü.yaml")), {0}),
        ),
    ]


# --------------------------------------------------------------------------------------------
# 4: impossible and degenerate scenarios


def _each(items: str, **values: Any) -> Callable[[dict[str, Any]], None]:
    def change(d: dict[str, Any]) -> None:
        for item in d[items]:
            item.update(copy.deepcopy(values))

    return change


def _set_keys(**values: Any) -> Callable[[dict[str, Any]], None]:
    """Set ``section__key`` (nested one level) or ``key`` on the scenario."""

    def change(d: dict[str, Any]) -> None:
        for name, value in values.items():
            if "__" in name:
                section, key = name.split("__")
                d.setdefault(section, {})[key] = copy.deepcopy(value)
            else:
                d[name] = copy.deepcopy(value)

    return change


def _both(*changes: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def change(d: dict[str, Any]) -> None:
        for c in changes:
            c(d)

    return change


def _one_year(d: dict[str, Any]) -> None:
    d["horizon"].update(start_year=2027, end_year=2027)


def _last_year_only(d: dict[str, Any]) -> None:
    d["horizon"].update(start_year=2032, end_year=2032, decision_year=2031)
    d["training"] = []


def _no_sites(d: dict[str, Any]) -> None:
    d["sites"] = []


def _residency_nowhere(d: dict[str, Any]) -> None:
    d["residency"] = [
        {"data_class": ["public", "personal", "health", "sensitive"], "allowed_countries": ["JPN"]}
    ]
    d["training"] = []


def _residency_unknown_site(d: dict[str, Any]) -> None:
    d["residency"] = [
        {"data_class": "personal", "allowed_countries": ["JPN"], "allowed_sites": ["atlantis"]}
    ]


def _zero_caps(period: str) -> Callable[[dict[str, Any]], None]:
    def change(d: dict[str, Any]) -> None:
        years = range(d["horizon"]["start_year"] - 1, d["horizon"]["end_year"] + 1)
        d["chip_caps"] = [{"name": "nothing", "amount": dict.fromkeys(years, 0), "period": period}]

    return change


def _zero_power_by_year(d: dict[str, Any]) -> None:
    for site in d["sites"]:
        site["power_mw"] = {2026: 0, 2027: 0, 2032: 0}


def _huge_training(d: dict[str, Any]) -> None:
    d["training"] = [{"id": "too-big", "flops": 1e32, "deadline_year": 2027}]


def _training_nowhere(d: dict[str, Any]) -> None:
    d["training"] = [
        {"id": "lost", "flops": 1e25, "deadline_year": 2027, "countries": ["JPN"], "mfu": 1e-6}
    ]


def _tiny_everything(d: dict[str, Any]) -> None:
    for region in d["regions"]:
        region["population"] = 1
    for service in d["services"]:
        service.update(input_tokens=2_000_000, output_tokens=200_000)


def _no_renewables(d: dict[str, Any]) -> None:
    d["energy"] = {"renewable_share_min": 1.0, "renewable_premium_usd_mwh": 1e9}
    for site in d["sites"]:
        site["renewable_share"] = 0


def _only_elsewhere(d: dict[str, Any]) -> None:
    d["accelerators"] = ["h100-sxm"]
    for site in d["sites"]:
        site["accelerators"] = ["b200"]
    d["training"] = []


def _decision_at_end(d: dict[str, Any]) -> None:
    d["horizon"]["decision_year"] = d["horizon"]["end_year"]


DEGENERATE: list[tuple[str, Callable[[dict[str, Any]], None], dict[str, Any] | None]] = [
    ("all demand zero", _each("services", requests_per_user_per_day=0), None),
    ("adoption zero", _each("services", adoption=0), None),
    ("adoption zero by year", _each("services", adoption={2027: 0, 2032: 0}), None),
    ("one-year horizon", _one_year, None),
    ("one year, the last, decided the year before", _last_year_only, None),
    ("no sites at all", _no_sites, None),
    ("no site allows an accelerator the plan may buy", _only_elsewhere, None),
    ("global chip cap zero every year (annual)", _zero_caps("annual"), None),
    ("global chip cap zero (cumulative)", _zero_caps("cumulative"), None),
    ("site power 0 everywhere", _each("sites", power_mw=0), None),
    ("site power tiny (0.001 MW) everywhere", _each("sites", power_mw=0.001), None),
    ("site power 0 by year", _zero_power_by_year, None),
    ("ttft_ms 1 for every service", _each("services", ttft_ms=1), None),
    ("tpot_ms 0.001 for every service", _each("services", tpot_ms=0.001), None),
    ("residency only in a country with no site", _residency_nowhere, None),
    ("residency to an unknown site", _residency_unknown_site, None),
    ("value of lost service 0", _set_keys(economics__unserved_usd_per_mtok=0), None),
    ("huge demand (1e6 requests per user per day)",
     _each("services", requests_per_user_per_day=1e6), None),
    ("time_limit_s 0.001 (whole servers)", lambda d: None, {"time_limit_s": 0.001}),
    ("time_limit_s 0.001 (relaxation)", lambda d: None,
     {"integer_servers": False, "time_limit_s": 0.001}),
    ("training campaign far bigger than any capacity", _huge_training, None),
    ("training only where no site is, at mfu 1e-6", _training_nowhere, None),
    ("capex budget 0", _set_keys(economics__capex_budget_usd=0), None),
    ("carbon cap 0", _set_keys(energy__carbon_cap_t=0), None),
    ("100 % renewables, none available", _no_renewables, None),
    ("lead time 120 months everywhere", _each("sites", lead_time_months=120), None),
    ("decision year = end year", _decision_at_end, None),
    ("one person per region, the longest requests",
     _both(_tiny_everything, _each("sites", opening_cost_usd=1e15)), None),
]  # fmt: skip


def case_degenerate(
    probe: Probe, change: Callable[[dict[str, Any]], None], solver: dict[str, Any] | None
) -> None:
    tree = copy.deepcopy(GULF)
    change(tree)
    tree["solver"] = dict(solver) if solver is not None else dict(FAST)
    path = write_yaml(probe.dir / "scn.yaml", tree)
    checked = probe.run("validate", str(path), timeout=VALIDATE_S)
    probe.check(checked, {0, 1}, names=True)
    out = probe.dir / "out"
    done = probe.run("run", str(path), "--out", str(out), "-q", "--no-report", timeout=RUN_S)
    probe.check(done, {0, 1, 2})
    probe.results(done, out)
    if checked.rc == 0 and done.rc == 1:
        probe.note(f"{probe.result.label}: validates, but run exits 1: {_head(done.err, 2)}")
    if checked.rc == 1 and done.rc in (0, 2):
        probe.note(f"{probe.result.label}: validate refuses it, but run exits {done.rc}")
    if done.rc == 2 and not done.text.strip():
        probe.fail("exit 2 without saying why", done)


# --------------------------------------------------------------------------------------------
# 5: output folders, concurrency, signals


def _fast_file(probe: Probe) -> Path:
    return write_yaml(probe.dir / "scn.yaml", fast(GULF))


def _slow_file(probe: Probe) -> Path:
    """The gulf example as written (whole servers, every hour: about 15 s)."""
    return write_yaml(probe.dir / "slow.yaml", GULF)


def _refused(probe: Probe, done: Done, what: str) -> None:
    if probe.check(done, {1}) and "--out" not in done.err:
        probe.fail(f"{what}: refused without naming --out", done)


def out_empty_name(probe: Probe) -> None:
    _refused(probe, probe.run("run", str(_fast_file(probe)), "--out", "", "-q"), "--out ''")


def out_regular_file(probe: Probe) -> None:
    target = probe.dir / "a-file"
    target.write_text("keep me\n", encoding="utf-8")
    _refused(probe, probe.run("run", str(_fast_file(probe)), "--out", str(target)), "a file")
    if target.read_text(encoding="utf-8") != "keep me\n":
        probe.fail("the existing file was changed")


def out_read_only(probe: Probe) -> None:
    parent = probe.dir / "read-only"
    parent.mkdir()
    target = parent / "out"
    parent.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        done = probe.run("run", str(_fast_file(probe)), "--out", str(target), "-q", timeout=RUN_S)
    finally:
        parent.chmod(stat.S_IRWXU)
    if probe.check(done, {0, 1}) and done.rc == 0:  # as root, chmod does not stop writes
        probe.results(done, target)


def out_user_folder(probe: Probe) -> None:
    mine = probe.dir / "mine"
    mine.mkdir()
    (mine / "budget.csv").write_text("my own numbers\n", encoding="utf-8")
    before = snapshot(mine)
    done = probe.run("run", str(_fast_file(probe)), "--out", str(mine), "-q")
    _refused(probe, done, "a folder of the user's files")
    if snapshot(mine) != before:
        probe.fail("the user's folder was changed", done)
    if leftovers(mine):
        probe.fail(f"left {leftovers(mine)} beside the refused folder", done)


def out_nested_parents(probe: Probe) -> None:
    target = probe.dir / "a" / "b" / "c" / "out"
    done = probe.run("run", str(_fast_file(probe)), "--out", str(target), "-q", timeout=RUN_S)
    if probe.check(done, {0}):
        probe.results(done, target)


def out_current_folder(probe: Probe) -> None:
    scn = _fast_file(probe)
    for target in (".", ".."):
        _refused(probe, probe.run("run", str(scn), "--out", target, "-q"), f"--out {target}")


def out_parent_is_a_file(probe: Probe) -> None:
    (probe.dir / "afile").write_text("x\n", encoding="utf-8")
    done = probe.run("run", str(_fast_file(probe)), "--out", str(probe.dir / "afile" / "out"))
    _refused(probe, done, "a parent that is a file")


def out_symlink(probe: Probe) -> None:
    scn = _fast_file(probe)
    real = probe.dir / "real"
    probe.check(probe.run("run", str(scn), "--out", str(real), "-q", timeout=RUN_S), {0})
    link = probe.dir / "link"
    link.symlink_to(real, target_is_directory=True)
    done = probe.run("run", str(scn), "--out", str(link), "-q", timeout=RUN_S)
    if probe.check(done, {0, 1}) and done.rc == 0:
        probe.results(done, link)
    try:
        strict_json((real / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        probe.fail(f"the folder the link pointed to lost its results: {exc}", done)


def out_stale_files(probe: Probe) -> None:
    scn = _fast_file(probe)
    out = probe.dir / "out"
    probe.check(probe.run("run", str(scn), "--out", str(out), "-q", timeout=RUN_S), {0})
    (out / "stale_table.csv").write_text("an earlier version\n", encoding="utf-8")
    done = probe.run("run", str(scn), "--out", str(out), "-q", "--no-report", timeout=RUN_S)
    if probe.check(done, {0}):
        probe.results(done, out)
        names = {p.name for p in out.iterdir()}
        for stale in ("stale_table.csv", "report.html"):
            if stale in names:
                probe.fail(f"{stale} of the earlier run survived beside the new one", done)


def out_concurrent(probe: Probe) -> None:
    scn = _fast_file(probe)
    ref, out = probe.dir / "ref", probe.dir / "out"
    probe.check(probe.run("run", str(scn), "--out", str(ref), "-q", timeout=RUN_S), {0})
    complete = set(snapshot(ref))
    with ThreadPoolExecutor(max_workers=2) as pool:
        both = list(
            pool.map(
                lambda _: probe.run("run", str(scn), "--out", str(out), "-q", timeout=RUN_S),
                range(2),
            )
        )
    for done in both:
        probe.check(done, {0, 1})
    codes = sorted(d.rc for d in both if d.rc is not None)
    if codes not in ([0, 0], [0, 1]):
        probe.fail(f"two runs into one folder ended {codes}", both[-1])
        return
    if set(snapshot(out)) != complete:
        probe.fail(f"the folder is not one complete run: {sorted(set(snapshot(out)) ^ complete)}")
    probe.results(next(d for d in both if d.rc == 0), out)
    if leftovers(out):
        probe.fail(f"left {leftovers(out)} beside the folder")


def _signalled(probe: Probe, sig: signal.Signals, after_s: float = 3.0) -> tuple[Done, Path]:
    """A complete run into out/, then a slow run into the same folder, sent ``sig`` after
    ``after_s``; fails the case when the previous results did not survive."""
    out = probe.dir / "out"
    probe.check(probe.run("run", str(_fast_file(probe)), "--out", str(out), "-q"), {0})
    before = snapshot(out)
    args = ["run", str(_slow_file(probe)), "--out", str(out), "-q"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [EXE, *args], cwd=probe.dir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=ENV,
    )  # fmt: skip
    time.sleep(after_s)
    proc.send_signal(sig)
    rc: int | None
    try:
        raw_out, raw_err = proc.communicate(timeout=SHORT_S)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        raw_out, raw_err = proc.communicate()
        rc = None
    done = Done(args, rc, _decode(raw_out), _decode(raw_err), time.perf_counter() - t0, SHORT_S)
    probe.last = done
    if rc is None:
        probe.fail(f"still running {SHORT_S} s after {sig.name}", done)
    if "Traceback" in done.text:
        probe.fail(f"a traceback after {sig.name}", done)
    after = snapshot(out)
    if after != before:
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        probe.fail(f"the previous results changed after {sig.name}: {changed[:6]}", done)
    try:
        strict_json(after.get("results.json", b"").decode("utf-8"))
    except ValueError as exc:
        probe.fail(f"results.json after {sig.name} is not strict JSON: {exc}", done)
    return done, out


def sig_int(probe: Probe) -> None:
    done, out = _signalled(probe, signal.SIGINT)
    if done.rc is not None and done.rc != 130:
        probe.fail(f"SIGINT: exit {done.rc}, expected 130", done)
    if leftovers(out):
        probe.fail(f"SIGINT left {leftovers(out)} beside the folder", done)


def sig_term(probe: Probe) -> None:
    done, out = _signalled(probe, signal.SIGTERM)
    if done.rc is not None and done.rc not in (143, 130):
        probe.fail(f"SIGTERM: exit {done.rc}, expected 143 (or 130)", done)
    if leftovers(out):
        probe.fail(f"SIGTERM left {leftovers(out)} beside the folder", done)


def sig_kill(probe: Probe) -> None:
    done, _ = _signalled(probe, signal.SIGKILL)
    if done.rc is not None and done.rc != -signal.SIGKILL:
        probe.fail(f"SIGKILL: exit {done.rc}", done)


def rerun_after_kill(probe: Probe) -> None:
    _, out = _signalled(probe, signal.SIGKILL)
    complete = set(snapshot(out))
    stale = leftovers(out)
    done = probe.run("run", str(_fast_file(probe)), "--out", str(out), "-q", timeout=RUN_S)
    if probe.check(done, {0}):
        probe.results(done, out)
        if set(snapshot(out)) != complete:
            probe.fail(f"not one complete run: {sorted(set(snapshot(out)) ^ complete)}", done)
        if leftovers(out):
            probe.fail(f"the rerun left {leftovers(out)} (before it: {stale})", done)
    if not stale:
        probe.note("rerun after kill: the killed run had left no staging folder to clean")


OUTPUT_CASES: list[tuple[str, Callable[[Probe], None]]] = [
    ("--out ''", out_empty_name),
    ("--out an existing regular file", out_regular_file),
    ("--out inside a read-only folder", out_read_only),
    ("--out a folder of the user's own files", out_user_folder),
    ("--out with missing parents", out_nested_parents),
    ("--out . and --out ..", out_current_folder),
    ("--out under a regular file", out_parent_is_a_file),
    ("--out a symlink to an earlier run", out_symlink),
    ("--out an earlier run with a stale file", out_stale_files),
    ("two runs into one folder at once", out_concurrent),
    ("SIGINT after 3 s", sig_int),
    ("SIGTERM after 3 s", sig_term),
    ("SIGKILL after 3 s", sig_kill),
    ("rerun after SIGKILL cleans up", rerun_after_kill),
]


# --------------------------------------------------------------------------------------------
# 6: the other commands


@dataclass
class Fixtures:
    run: Path
    """A complete run folder of the gulf example (fast settings), read-only for the cases."""


VALID_BATCH = "model,accelerator,osl\nllama3.1-8b,h100-sxm,100\n"


Setup = Callable[[Path, Fixtures], None]


def _file(name: str, content: str | bytes) -> Setup:
    def setup(folder: Path, fx: Fixtures) -> None:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")

    return setup


def _run_copy(edit: Callable[[str], str | bytes] | None = None) -> Setup:
    """Copy the fixture run to ./run, optionally rewriting its results.json."""

    def setup(folder: Path, fx: Fixtures) -> None:
        shutil.copytree(fx.run, folder / "run")
        if edit is not None:
            path = folder / "run" / "results.json"
            new = edit(path.read_text(encoding="utf-8"))
            if isinstance(new, bytes):
                path.write_bytes(new)
            else:
                path.write_text(new, encoding="utf-8")

    return setup


def _json_edit(change: Callable[[dict[str, Any]], None]) -> Callable[[str], str]:
    def edit(text: str) -> str:
        doc = json.loads(text)
        change(doc)
        return json.dumps(doc)

    return edit


def _nan_objective(text: str) -> str:
    doc = json.loads(text)
    doc["objective_usd"] = float("nan")
    for row in doc.get("explanations") or []:
        if isinstance(row, dict):
            for key, value in row.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    row[key] = float("inf")
    return json.dumps(doc)


def _no_plan_run(folder: Path, fx: Fixtures) -> None:
    tree = copy.deepcopy(GULF)
    tree["solver"] = {"time_limit_s": 0.001}
    path = write_yaml(folder / "tight.yaml", tree)
    subprocess.run(
        [EXE, "run", str(path), "--out", str(folder / "run"), "-q", "--no-report"],
        cwd=folder, capture_output=True, timeout=RUN_S, check=False, env=ENV,
    )  # fmt: skip


def _results_dir(folder: Path, fx: Fixtures) -> None:
    (folder / "run" / "results.json").mkdir(parents=True)


@dataclass
class Command:
    label: str
    args: list[str]
    codes: set[int]
    setup: Setup | None = None
    json_out: bool = False
    """rc 0 must print strict JSON."""
    then: list[str] | None = None
    """A second command (e.g. validate what generate wrote), which must exit 0."""
    csv_defused: str | None = None
    """A file written by the command in which no cell may start with a formula."""


PERF = ["perf", "--model", "llama3.1-8b", "--accelerator", "h100-sxm", "--osl", "100"]
BIG = str(10**30)
GARBAGE = bytes(random.Random(SEED + 6).randrange(256) for _ in range(2048))


def commands() -> list[Command]:
    c = Command
    g = ["generate", "-o", "g.yaml"]
    cal = ["perf", "calibrate", "--out", "fit.csv", "--data"]  # never the packaged table
    # fmt: off
    return [
        c("unknown command", ["runn"], {1}),
        c("no arguments", [], {0}),
        c("--version", ["--version"], {0}),
        c("--help", ["--help"], {0}),
        c("unknown top-level option", ["--bogus"], {1}),
        c("run without a file", ["run"], {1}),
        c("validate without a file", ["validate"], {1}),
        c("run with an unknown option", ["run", str(GULF_FILE), "--bogus"], {1}),
        c("run --out without a value", ["run", str(GULF_FILE), "--out"], {1}),
        c("validate two files", ["validate", str(GULF_FILE), str(GULF_FILE)], {1}),
        c("run a missing file", ["run", "no-such.yaml"], {1}),
        # generate
        c("generate without -o", ["generate"], {1}),
        c("generate --regions 0", [*g, "--regions", "0"], {1}),
        c("generate --regions x", [*g, "--regions", "x"], {1}),
        c("generate --regions 1e30", [*g, "--regions", BIG], {1}),
        c("generate --years 31", [*g, "--years", "31"], {1}),
        c("generate --services 9", [*g, "--services", "9"], {1}),
        c("generate --seed x", [*g, "--seed", "x"], {1}),
        c("generate --seed -1", [*g, "--seed", "-1"], {0, 1}),
        c("generate --seed 1e30", [*g, "--seed", BIG], {0, 1}),
        c("generate --area mars", [*g, "--area", "mars"], {1}),
        c("generate -o ''", ["generate", "-o", ""], {1}),
        c("generate -o a folder", ["generate", "-o", "."], {1}),
        c("generate -o under a file", ["generate", "-o", "f.txt/g.yaml"], {1},
          _file("f.txt", "x\n")),
        c("generate, then validate it", [*g, "--seed", "7"], {0}, then=["validate", "g.yaml"]),
        c("generate the smallest, then validate it",
          [*g, "--regions", "1", "--sites", "1", "--years", "1", "--services", "1",
           "--accelerators", "1"], {0}, then=["validate", "g.yaml"]),
        # explain
        c("explain a missing folder", ["explain", "no-such-run"], {1}),
        c("explain a file", ["explain", "f.txt"], {1}, _file("f.txt", "hello\n")),
        c("explain an empty folder", ["explain", "empty"], {1}, _file("empty/.keep", "")),
        c("explain a truncated results.json", ["explain", "run"], {1},
          _run_copy(lambda t: t[: len(t) // 2])),
        c("explain results.json = {}", ["explain", "run"], {0, 1}, _run_copy(lambda t: "{}")),
        c("explain binary results.json", ["explain", "run"], {1}, _run_copy(lambda t: GARBAGE)),
        c("explain results.json with NaN and Infinity", ["explain", "run"], {0, 1},
          _run_copy(_nan_objective)),
        c("explain results.json that is a folder", ["explain", "run"], {1}, _results_dir),
        c("explain without explanations", ["explain", "run"], {0, 1},
          _run_copy(_json_edit(lambda d: d.pop("explanations", None)))),
        c("explain with explanations = 'x'", ["explain", "run"], {0, 1},
          _run_copy(_json_edit(lambda d: d.update(explanations="x")))),
        c("explain --json with explanations = [1, null]", ["explain", "run", "--json"], {0, 1},
          _run_copy(_json_edit(lambda d: d.update(explanations=[1, None]))), json_out=True),
        c("explain a run without a plan", ["explain", "run"], {0, 1}, _no_plan_run),
        c("explain --top 0", ["explain", "run", "--top", "0"], {1}, _run_copy()),
        c("explain --top x", ["explain", "run", "--top", "x"], {1}, _run_copy()),
        c("explain --top 1", ["explain", "run", "--top", "1"], {0}, _run_copy()),
        c("explain --top 1e30", ["explain", "run", "--top", BIG], {0, 1}, _run_copy()),
        c("explain --json", ["explain", "run", "--json"], {0}, _run_copy(), json_out=True),
        # catalog
        c("catalog an unknown table", ["catalog", "chips"], {1}),
        c("catalog without a table", ["catalog"], {1}),
        c("catalog with an extra argument", ["catalog", "sites", "more"], {1}),
        c("catalog accelerators", ["catalog", "accelerators"], {0}),
        c("catalog sites", ["catalog", "sites"], {0}),
        *[c(f"catalog {t} --json", ["catalog", t, "--json"], {0}, json_out=True)
          for t in ("accelerators", "models", "countries", "sites")],
        c("catalog sites --all-columns", ["catalog", "sites", "--all-columns"], {0}),
        c("catalog models --all-columns --json", ["catalog", "models", "--all-columns",
                                                  "--json"], {0}, json_out=True),
        # perf
        c("perf --help", ["perf", "--help"], {0}),
        c("perf an unknown model", [*PERF[:2], "gpt-17", *PERF[3:]], {1}),
        c("perf an unknown accelerator", [*PERF[:4], "h900", *PERF[5:]], {1}),
        c("perf an unknown engine", [*PERF, "--engine", "warp-drive"], {1}),
        c("perf --count 0", [*PERF, "--count", "0"], {1}),
        c("perf --count 1e9", [*PERF, "--count", str(10**9)], {0, 1}),
        c("perf --tp 0", [*PERF, "--tp", "0"], {1}),
        c("perf --tp 3", [*PERF, "--tp", "3"], {0, 1}),
        c("perf --pp -1", [*PERF, "--pp", "-1"], {1}),
        c("perf --isl -5", [*PERF, "--isl", "-5"], {1}),
        c("perf --isl nan", [*PERF, "--isl", "nan"], {1}),
        c("perf --isl inf", [*PERF, "--isl", "inf"], {1}),
        c("perf --osl 0", [*PERF[:-2], "--osl", "0"], {1}),
        c("perf --osl 1e12 --json", [*PERF[:-2], "--osl", "1e12", "--json"], {0, 1},
          json_out=True),
        c("perf --concurrency 0", [*PERF, "--concurrency", "0"], {1}),
        c("perf --ttft-ms 0", [*PERF, "--ttft-ms", "0"], {1}),
        c("perf --tpot-ms 1e-9 --json", [*PERF, "--tpot-ms", "1e-9", "--json"], {0, 1},
          json_out=True),
        c("perf --precision fp3", [*PERF, "--precision", "fp3"], {1}),
        c("perf --offline --concurrency 4", [*PERF, "--offline", "--concurrency", "4"], {0, 1}),
        c("perf --json", [*PERF, "--json"], {0}, json_out=True),
        c("perf --batch a missing file", ["perf", "--batch", "no-such.csv"], {1}),
        c("perf --batch an empty file", ["perf", "--batch", "e.csv"], {1}, _file("e.csv", "")),
        c("perf --batch a CSV with only a header", ["perf", "--batch", "h.csv"], {0, 1},
          _file("h.csv", "model,accelerator,osl\n")),
        c("perf --batch a CSV with wrong columns", ["perf", "--batch", "w.csv"], {1},
          _file("w.csv", "name,chip,tokens\nx,y,1\n")),
        c("perf --batch a CSV with NaN", ["perf", "--batch", "n.csv", "--out", "p.csv"], {0, 1},
          _file("n.csv", "model,accelerator,osl,isl,concurrency\n"
                "llama3.1-8b,h100-sxm,nan,nan,nan\nllama3.1-8b,h100-sxm,inf,-inf,1e400\n")),
        c("perf --batch a binary file", ["perf", "--batch", "b.csv"], {1}, _file("b.csv", GARBAGE)),
        c("perf --batch --out a folder", ["perf", "--batch", "v.csv", "--out", "."], {1},
          _file("v.csv", VALID_BATCH)),
        c("perf --batch with formula cells", ["perf", "--batch", "f.csv", "--out", "p.csv"],
          {0, 1}, _file("f.csv", "model,accelerator,osl\n=1+1,@SUM(A1),+cmd\n"),
          csv_defused="p.csv"),
        c("perf --efficiency a missing file", [*PERF, "--efficiency", "no-such.csv"], {1}),
        c("perf --efficiency a binary file", [*PERF, "--efficiency", "b.csv"], {1},
          _file("b.csv", GARBAGE)),
        c("perf calibrate --data a missing file", [*cal, "no-such.csv"], {1}),
        c("perf calibrate --data wrong columns", [*cal, "w.csv"], {1},
          _file("w.csv", "a,b\n1,2\n")),
        c("perf calibrate --data a binary file", [*cal, "b.csv"], {1}, _file("b.csv", GARBAGE)),
    ]
    # fmt: on


def _formula_cells(path: Path, starts: Iterable[str]) -> list[str]:
    """Cells of a CSV file that start with one of ``starts`` (a spreadsheet would run them)."""
    starts = tuple(starts)
    found = []
    with contextlib.suppress(OSError, UnicodeDecodeError, csv.Error):
        text = path.read_text(encoding="utf-8")
        for row in csv.reader(io.StringIO(text)):
            found += [cell for cell in row if cell.startswith(starts)]
    return found


def case_command(probe: Probe, cmd: Command, fx: Fixtures) -> None:
    if cmd.setup is not None:
        cmd.setup(probe.dir, fx)
    done = probe.run(*cmd.args)
    if not probe.check(done, cmd.codes, names=True) or done.rc != 0:
        return
    if cmd.json_out:
        try:
            strict_json(done.out)
        except ValueError as exc:
            probe.fail(f"--json printed no strict JSON: {exc}", done)
    if cmd.then is not None:
        probe.check(probe.run(*cmd.then, timeout=VALIDATE_S), {0})
    if cmd.csv_defused is not None:
        cells = _formula_cells(probe.dir / cmd.csv_defused, ("=1+1", "@SUM", "+cmd"))
        if cells:
            probe.fail(f"formula cells written as is to {cmd.csv_defused}: {cells[:4]}", done)


# --------------------------------------------------------------------------------------------
# 7: user text


def _rename_region(d: dict[str, Any], old: str, new: str) -> None:
    for region in d["regions"]:
        if region["id"] == old:
            region["id"] = new
    for item in [*d["services"], *(d.get("residency") or [])]:
        if item.get("regions"):
            item["regions"] = [new if r == old else r for r in item["regions"]]


TextEdit = Callable[[dict[str, Any], str], None]


def _name(d: dict[str, Any], text: str) -> None:
    d["name"] = text


def _description(d: dict[str, Any], text: str) -> None:
    d["description"] = text


def _region_id(d: dict[str, Any], text: str) -> None:
    _rename_region(d, d["regions"][0]["id"], text)


def _region_name(d: dict[str, Any], text: str) -> None:
    d["regions"][0]["name"] = text


def _service_id(d: dict[str, Any], text: str) -> None:
    d["services"][0]["id"] = text


def _site_name(d: dict[str, Any], text: str) -> None:
    d["sites"][0]["name"] = text


def _cap_name(d: dict[str, Any], text: str) -> None:
    d["chip_caps"][2]["name"] = text  # the GB200 allocation binds: named in explanations


def _residency_source(d: dict[str, Any], text: str) -> None:
    d["residency"][0]["source"] = text


def _partner_name(d: dict[str, Any], text: str) -> None:
    d["partners"][0]["name"] = text


SCRIPT = "<script>alert(1)</script>"
LONG = "A" * 10_000
RTL = "الخليج 🚀 שלום \u202ereversed\u202c 👩🏽‍💻 ﷺ"

USER_TEXT: list[tuple[str, TextEdit, str]] = [
    ("name: [bold] markup", _name, "[bold]loud[/bold] and [red]red"),
    ("name: a lone [/]", _name, "[/]"),
    ("name: x [/] y", _name, "x [/] y"),
    ("name: ANSI escape", _name, "\x1b[31mred\x1b[0m \x1b[2J"),
    ("name: <script>", _name, SCRIPT),
    ("description: </script> break-out", _description, "</script><b>pwn</b>" + SCRIPT),
    ("name: =1+1", _name, "=1+1"),
    ("region id: =1+1", _region_id, "=1+1"),
    ("service id: +cmd", _service_id, "+cmd"),
    ("service id: -2+3", _service_id, "-2+3"),
    ("region name: @SUM(A1)", _region_name, "@SUM(A1)"),
    ("site name: =HYPERLINK", _site_name, '=HYPERLINK("http://evil","x")'),
    ("chip cap name: <script>", _cap_name, SCRIPT),
    ("residency source: markup and <script>", _residency_source, "[bold red]law[/] " + SCRIPT),
    ("name: 10,000 characters", _name, LONG),
    ("description: 10,000 characters", _description, LONG),
    ("region id: 10,000 characters", _region_id, LONG),
    ("name: RTL and emoji", _name, RTL),
    ("region id and name: RTL and emoji", _region_id, "🇦🇪-الإمارات"),
    ("partner name: OSC 8 hyperlink escape", _partner_name, "\x1b]8;;http://evil\x07x\x1b]8;;\x07"),
]
FORMULA_START = ("=", "+", "-", "@")


def case_user_text(probe: Probe, edit: TextEdit, text: str) -> None:
    tree = fast(GULF)
    edit(tree, text)
    path = write_yaml(probe.dir / "scn.yaml", tree)
    out = probe.dir / "out"
    checked = probe.run("validate", str(path), timeout=VALIDATE_S)
    done = probe.run("run", str(path), "--out", str(out), "-q", timeout=RUN_S)
    for d in (checked, done):
        probe.check(d, {0, 1}, names=True)
        if "\x1b" in d.text:
            probe.fail("a raw ESC byte in the output", d)
        if d.seconds > 60:
            probe.fail(f"took {d.seconds:.0f} s (more than 60 s)", d)
    doc = probe.results(done, out)
    if done.rc != 0:
        return
    if edit is _name and doc is not None and text not in json.dumps(doc, ensure_ascii=False):
        probe.fail("the scenario name is not in results.json as written", done)
    report = out / "report.html"
    if report.is_file():
        html = report.read_text(encoding="utf-8").lower()
        for payload in ("<script>alert(1)", "</script><b>pwn"):
            if payload in text.lower() and payload in html:
                probe.fail(f"report.html holds the unescaped {payload!r}", done)
    else:
        probe.fail("no report.html", done)
    if text.startswith(FORMULA_START):
        for table in sorted(out.glob("*.csv")):
            if cells := _formula_cells(table, (text,)):
                probe.fail(f"{table.name}: formula cell written as is: {cells[0]!r}", done)


# --------------------------------------------------------------------------------------------
# the driver


@dataclass
class Plan:
    category: int
    label: str
    run: Callable[[Probe], None]


def _sample(items: list[Any], quick: bool, rng: random.Random) -> list[Any]:
    """All items, or about a tenth of them (seeded, in their order) in quick mode."""
    if not quick:
        return items
    n = max(1, math.ceil(len(items) / 10))
    keep = sorted(rng.sample(range(len(items)), n))
    return [items[i] for i in keep]


class Runner:
    def __init__(self, root: Path, jobs: int, keep: Path | None) -> None:
        self.root = root
        self.pool = ThreadPoolExecutor(max_workers=jobs)
        self.keep = keep
        self.lock = threading.Lock()
        self.count = 0
        self.done = 0
        self.results: list[Result] = []

    def submit(self, plan: Plan) -> Future[Result]:
        with self.lock:
            self.count += 1
            folder = self.root / f"{plan.category}-{self.count:04d}"
        return self.pool.submit(self._one, plan, folder)

    def _one(self, plan: Plan, folder: Path) -> Result:
        result = Result(plan.category, plan.label, folder=folder)
        probe = Probe(result, folder)
        t0 = time.perf_counter()
        try:
            plan.run(probe)
        except Exception as exc:
            probe.fail(f"harness error: {type(exc).__name__}: {exc}")
        if result.problems and self.keep is not None:
            self._keep(folder)
        with self.lock:
            self.done += 1
            self.results.append(result)
            word = "FAILED" if result.problems else "clean"
            print(
                f"[{self.done}/{self.count}] {plan.category} {word} "
                f"{time.perf_counter() - t0:5.1f} s  {_printable(plan.label)[:100]}",
                file=sys.stderr,
                flush=True,
            )
        return result

    def _keep(self, folder: Path) -> None:
        def odd(parent: str, names: list[str]) -> list[str]:
            skip = []
            for name in names:
                mode = os.lstat(os.path.join(parent, name)).st_mode
                if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
                    skip.append(name)
            return skip

        assert self.keep is not None
        with contextlib.suppress(OSError, shutil.Error):
            shutil.copytree(folder, self.keep / folder.name, symlinks=True, ignore=odd)


def build_fixtures(root: Path) -> Fixtures:
    folder = root / "fixtures"
    folder.mkdir()
    path = write_yaml(folder / "gulf.yaml", fast(GULF))
    run = folder / "run"
    done = subprocess.run(
        [EXE, "run", str(path), "--out", str(run), "-q"],
        cwd=folder, capture_output=True, text=True, timeout=RUN_S, check=False, env=ENV,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"the fixture run failed (exit {done.returncode}):\n{done.stderr}")
    return Fixtures(run=run)


def plans(quick: bool, only: set[int], fx: Fixtures | None) -> tuple[list[Plan], list[Mutant]]:
    """Every case of categories 1 and 3-7 (category 2 follows from category 1's answers)."""
    rng = random.Random(SEED)
    n_mutants = math.ceil(N_MUTANTS / 10) if quick else N_MUTANTS
    all_mutants = mutants(rng, n_mutants)
    pick = random.Random(SEED + 1)
    out: list[Plan] = []
    if only & {1, 2}:
        out += [Plan(1, m.label, partial(case_validate_mutant, mutant=m)) for m in all_mutants]
    if 3 in only:
        attacks = _sample(yaml_attacks(random.Random(SEED + 3)), quick, pick)
        out += [Plan(3, label, fn) for label, fn in attacks]
    if 4 in only:
        out += [
            Plan(4, label, partial(case_degenerate, change=change, solver=solver))
            for label, change, solver in _sample(DEGENERATE, quick, pick)
        ]
    if 5 in only:
        out += [Plan(5, label, fn) for label, fn in _sample(OUTPUT_CASES, quick, pick)]
    if 6 in only and fx is not None:
        out += [
            Plan(6, cmd.label, partial(case_command, cmd=cmd, fx=fx))
            for cmd in _sample(commands(), quick, pick)
        ]
    if 7 in only:
        out += [
            Plan(7, label, partial(case_user_text, edit=edit, text=text))
            for label, edit, text in _sample(USER_TEXT, quick, pick)
        ]
    return out, all_mutants


def report(results: list[Result], only: set[int], seconds: float, argv: list[str]) -> str:
    lines = [
        f"# infraplan hostile inputs ({' '.join(argv) or 'full'}; seed {SEED}; "
        f"{seconds / 60:.1f} min)",
        "",
        "| category | tried | clean | failed |",
        "|---|---:|---:|---:|",
    ]
    total = [0, 0, 0]
    for number, name in CATEGORIES.items():
        if number not in only:
            continue
        mine = [r for r in results if r.category == number]
        failed = sum(1 for r in mine if r.problems)
        row = [len(mine), len(mine) - failed, failed]
        total = [a + b for a, b in zip(total, row, strict=True)]
        lines.append(f"| {number}. {name} | {row[0]} | {row[1]} | {row[2]} |")
    lines.append(f"| **total** | {total[0]} | {total[1]} | {total[2]} |")
    failures = [r for r in results if r.problems]
    if failures:
        lines += ["", "## Failures", ""]
        for r in sorted(failures, key=lambda r: (r.category, r.label)):
            lines.append(f"### {r.category}. {CATEGORIES[r.category]}: {_printable(r.label)}")
            for p in r.problems:
                lines += [
                    "",
                    f"- {_printable(p.what)}",
                    f"  - command: `{_printable(p.cmd)}`",
                    "",
                    "```",
                    p.output or "(no output)",
                    "```",
                ]
            lines.append("")
    notes = [n for r in results for n in r.notes]
    if notes:
        lines += ["", "## Notes (not failures)", ""]
        lines += [f"- {_printable(n)[:400]}" for n in notes]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Hostile and careless input against the real infraplan command."
    )
    parser.add_argument("--quick", action="store_true", help="about a tenth of each category")
    parser.add_argument("--jobs", type=int, default=2, help="commands run at once (default 2)")
    parser.add_argument("--only", default="", help="categories to run, e.g. 3,5 (default all)")
    parser.add_argument("--keep", type=Path, help="copy the folders of failing cases here")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    only = {int(x) for x in args.only.split(",") if x.strip()} or set(CATEGORIES)
    if not only <= set(CATEGORIES):
        parser.error(f"--only: categories are {sorted(CATEGORIES)}")
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
    print(f"infraplan: {EXE}", file=sys.stderr)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="infraplan-hostile-") as tmp:
        root = Path(tmp)
        fx = build_fixtures(root) if 6 in only else None
        todo, _ = plans(args.quick, only, fx)
        runner = Runner(root, args.jobs, args.keep)
        try:
            first = [runner.submit(p) for p in todo if p.category == 1]
            rest = [runner.submit(p) for p in todo if p.category != 1]
            wait(first)
            if 2 in only:
                valid = sorted(
                    (f.result().data for f in first if f.result().data is not None),
                    key=lambda m: m.index,
                )
                n_run = math.ceil(N_RUN_MUTANTS / 10) if args.quick else N_RUN_MUTANTS
                if len(valid) < n_run:
                    print(f"only {len(valid)} mutants validated", file=sys.stderr)
                rest += [
                    runner.submit(Plan(2, m.label, partial(case_run_mutant, mutant=m)))
                    for m in valid[:n_run]
                ]
            wait(rest)
        finally:
            runner.pool.shutdown(wait=True, cancel_futures=True)
        results = [r for r in runner.results if r.category in only]
    text = report(results, only, time.perf_counter() - t0, sys.argv[1:] if argv is None else argv)
    print(text)
    return 1 if any(r.problems for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
