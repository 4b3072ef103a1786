"""Planner scale benchmark: the user's own commands, end to end, timed and measured.

For each size, ``infraplan generate`` writes the scenario (real EMEA countries and hubs,
jittered; nothing edited) and ``infraplan run FILE --out DIR`` plans it in a fresh process, as
a user would. Printed per run: wall time of the command, peak memory (RSS of the child),
status, gap, objective, the step timings from results.json (inputs, build, solve, analysis)
and the post-solve share (everything after the solve: analysis, explanations, baseline,
report and files) of the wall time. Medians over ``--repeat`` runs per seed.

Sizes: ``national`` (20 regions, 15 sites, 5 years, 4 services, 4 accelerators) and
``continental`` (60 regions, 40 sites, 7 years, 8 services, 8 accelerators), each as written
(whole servers, the default) and with the LP relaxation (``--lp`` adds ``solver:
{integer_servers: false}``, the one edit, which is what a user asking for the relaxation
writes).

    python benchmarks/planner_scale.py                     # national + continental, seeds 0 1
    python benchmarks/planner_scale.py --sizes national --repeat 3
    python benchmarks/planner_scale.py --sizes continental --lp
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

SIZES = {
    "national": [
        "--regions",
        "20",
        "--sites",
        "15",
        "--years",
        "5",
        "--services",
        "4",
        "--accelerators",
        "4",
    ],
    "continental": [
        "--regions",
        "60",
        "--sites",
        "40",
        "--years",
        "7",
        "--services",
        "8",
        "--accelerators",
        "8",
    ],
}


def infraplan() -> str:
    """The console script installed beside this Python."""
    exe = Path(sys.executable).with_name("infraplan")
    return str(exe) if exe.exists() else "infraplan"


def generate(size: str, seed: int, folder: Path, lp: bool) -> Path:
    path = folder / f"{size}-{seed}{'-lp' if lp else ''}.yaml"
    subprocess.run(
        [infraplan(), "generate", *SIZES[size], "--seed", str(seed), "-o", str(path)],
        check=True,
        capture_output=True,
    )
    if lp:
        data = yaml.safe_load(path.read_text())
        data["solver"] = {"integer_servers": False}
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


WRAPPER = (
    "import resource, subprocess, sys\n"
    "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(r.returncode)\n"
)


def run_once(path: Path, out: Path) -> dict[str, Any]:
    """``infraplan run path --out out`` in a child process: wall time, peak RSS, figures."""
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    # a fresh wrapper per run, so that its children's peak RSS is this run's alone
    proc = subprocess.run(
        [sys.executable, "-c", WRAPPER, infraplan(), "run", str(path), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    peak_kb = int(proc.stderr.strip().splitlines()[-1])
    doc = json.loads((out / "results.json").read_text()) if (out / "results.json").exists() else {}
    solve = doc.get("solve", {})
    solved_at = solve.get("inputs_s", 0.0) + solve.get("build_s", 0.0) + solve.get("solve_s", 0.0)
    return {
        "exit": proc.returncode,
        "wall_s": wall,
        "peak_gb": peak_kb / 1e6,
        "status": doc.get("status"),
        "gap": solve.get("mip_gap"),
        "objective_musd": (doc.get("objective_usd") or float("nan")) / 1e6,
        "inputs_s": solve.get("inputs_s"),
        "build_s": solve.get("build_s"),
        "solve_s": solve.get("solve_s"),
        "post_solve_share": (wall - solved_at) / wall if wall > 0 else None,
        "vars": solve.get("n_variables"),
    }


def fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["national", "continental"], choices=SIZES)
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    ap.add_argument("--repeat", type=int, default=1, help="runs per seed (median quoted)")
    ap.add_argument("--lp", action="store_true", help="also run the LP relaxation")
    args = ap.parse_args()
    cols = [
        "exit",
        "wall_s",
        "peak_gb",
        "status",
        "gap",
        "objective_musd",
        "inputs_s",
        "build_s",
        "solve_s",
        "post_solve_share",
        "vars",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("case | " + " | ".join(cols))
        for size in args.sizes:
            for lp in [False, True] if args.lp else [False]:
                for seed in args.seeds:
                    path = generate(size, seed, folder, lp)
                    runs = [run_once(path, folder / "out") for _ in range(args.repeat)]
                    walls = [r["wall_s"] for r in runs]
                    r = dict(runs[walls.index(statistics.median_low(walls))])
                    name = f"{size} seed {seed}{' LP' if lp else ''} (median of {len(runs)})"
                    print(name + " | " + " | ".join(fmt(r[c]) for c in cols), flush=True)


if __name__ == "__main__":
    main()
