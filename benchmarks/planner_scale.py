"""Planner scale benchmark: build and solve times, memory, model size, approximations.

Prints, for synthetic scenarios from ``infraplan.generate`` (real EMEA countries and hubs):
1. small (5 regions, 5 sites, 3 years), national (20, 15, 5) and continental (60 regions,
   40 sites, 7 years, 8 services, 8 accelerators, 24 hours) LPs: median of several runs of
   input, build and solve time, peak memory, variables and constraints;
2. how time grows with regions x sites x hours;
3. on the national instance, the objective difference of every approximation against the
   exact model;
4. the optimised plan's saving against the naive baseline;
5. the continental instance with integer server builds: time and MIP gap.

Each run is a fresh process, so peak memory is that run's own. Run:
    python benchmarks/planner_scale.py            (about 15 minutes on 2 cores)
    python benchmarks/planner_scale.py --quick    (one run each, no growth series, no MIP)
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import time
from typing import Any

SIZES = {
    "small": {"regions": 5, "sites": 5, "years": 3, "services": 4, "accelerators": 4},
    "national": {"regions": 20, "sites": 15, "years": 5, "services": 4, "accelerators": 4},
    "continental": {"regions": 60, "sites": 40, "years": 7, "services": 8, "accelerators": 8},
}


def scenario(size: dict[str, int], seed: int = 0, **solver: Any) -> dict[str, Any]:
    """A generated scenario; training campaigns may split across sites so that it is an LP."""
    from infraplan.generate import generate

    data = generate(**size, seed=seed)
    for t in data.get("training", []):
        t["one_site"] = False
    data["horizon"]["decision_year"] -= 1  # first-year capacity can arrive
    data["solver"] = dict(solver)
    return data


def run_once(args: tuple[dict[str, Any], bool]) -> dict[str, Any]:
    """One timed plan in this (child) process; returns figures incl. peak RSS."""
    import resource

    from infraplan.baseline import naive_baseline
    from infraplan.optimize import build_inputs, build_model, solve_model
    from infraplan.results import extract
    from infraplan.scenario import parse_scenario

    data, with_baseline = args
    scn = parse_scenario(data)
    t0 = time.perf_counter()
    inp = build_inputs(scn)
    t1 = time.perf_counter()
    built = build_model(inp)
    t2 = time.perf_counter()
    info = solve_model(built, scn.solver, inp)
    t3 = time.perf_counter()
    out: dict[str, Any] = {
        "inputs_s": t1 - t0,
        "build_s": t2 - t1,
        "solve_s": t3 - t2,
        "total_s": t3 - t0,
        "n_variables": int(built.model.nvars),
        "n_constraints": int(built.model.ncons),
        "status": info.status,
        "method": info.method,
        "mip_gap": info.mip_gap,
        "pricing": info.pricing,
        "objective_usd": float(built.model.objective.value or float("nan")) * 1e6,
    }
    if with_baseline and info.status in ("optimal", "time_limit"):
        res = extract(inp, built, info, {})
        pen = res.costs_usd.get("unserved_penalty", 0.0) + res.costs_usd.get(
            "training_shortfall", 0.0
        )
        out["cost_usd"] = res.objective_usd - pen
        out["unserved_penalty_usd"] = pen
        out["baseline"] = naive_baseline(inp)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def measure(data: dict[str, Any], runs: int, with_baseline: bool = False) -> dict[str, Any]:
    """Median figures over ``runs`` fresh processes."""
    ctx = mp.get_context("spawn")
    results = []
    for _ in range(runs):
        with ctx.Pool(1) as pool:
            results.append(pool.map(run_once, [(data, with_baseline)])[0])
    med = dict(results[-1])
    for key in ("inputs_s", "build_s", "solve_s", "total_s", "peak_rss_mb"):
        med[key] = statistics.median(r[key] for r in results)
    med["runs"] = runs
    med["total_s_all"] = [round(r["total_s"], 1) for r in results]
    return med


def line(name: str, r: dict[str, Any]) -> str:
    build_share = (r["inputs_s"] + r["build_s"]) / r["total_s"] if r["total_s"] else 0.0
    active = ""
    if r.get("pricing"):
        a = r["pricing"]["active"]
        active = (
            f" | CG {r['pricing']['rounds']} round(s), active options {a['options']}, "
            f"certified={r['pricing']['certified']}"
        )
    return (
        f"{name:<12} inputs {r['inputs_s']:6.2f} s  build {r['build_s']:5.2f} s  "
        f"solve {r['solve_s']:7.2f} s  total {r['total_s']:7.2f} s  "
        f"(building {100 * build_share:4.1f} %)  peak {r['peak_rss_mb']:7.0f} MB  "
        f"{r['n_variables']:>9,} vars {r['n_constraints']:>8,} cons  {r['status']}  "
        f"runs {r['total_s_all']}{active}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="runs per instance (median reported)")
    ap.add_argument("--quick", action="store_true", help="one run each; skip growth and MIP")
    ap.add_argument("--skip-mip", action="store_true")
    args = ap.parse_args()
    runs = 1 if args.quick else args.runs

    print("== 1. Instances (LP, 24 hours; median of", runs, "fresh-process runs) ==")
    figures = {}
    for name, size in SIZES.items():
        r = measure(scenario(size), runs, with_baseline=True)
        figures[name] = r
        print(line(name, r), flush=True)
    c, n = figures["continental"], figures["national"]
    print(
        f"targets: national <= 10 s: {n['total_s']:.1f} s; continental <= 60 s: "
        f"{c['total_s']:.1f} s, <= 4 GB: {c['peak_rss_mb'] / 1024:.2f} GB, building <= 25 %: "
        f"{100 * (c['inputs_s'] + c['build_s']) / c['total_s']:.1f} %"
    )

    if not args.quick:
        print(
            "\n== 2. Growth with regions x sites x hours (5 years, 4 services, 4 accelerators) =="
        )
        pts = []
        for regions, sites, hours in [
            (10, 8, 24),
            (20, 15, 24),
            (40, 25, 24),
            (60, 40, 24),
            (20, 15, 6),
            (20, 15, 12),
        ]:
            size = {
                "regions": regions,
                "sites": sites,
                "years": 5,
                "services": 4,
                "accelerators": 4,
            }
            r = measure(scenario(size, hour_blocks=hours), 1)
            rsh = regions * sites * hours
            pts.append((rsh, r["total_s"]))
            print(
                f"R x S x H = {regions:>3} x {sites:>3} x {hours:>2} = {rsh:>7,}: "
                f"{r['total_s']:6.2f} s, {r['n_variables']:>8,} vars",
                flush=True,
            )
        import numpy as np

        x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
        slope = float(np.polyfit(x, y, 1)[0])
        print(f"log-log slope of time against R x S x H: {slope:.2f} (1.0 = linear)")

    print("\n== 3. Approximations on the national instance (objective vs exact 24-hour LP) ==")
    size = SIZES["national"]
    ref = measure(scenario(size, column_generation="off"), runs)
    print(
        f"{'exact (24 h, merges, no CG)':<40} objective {ref['objective_usd'] / 1e6:12.4f} M USD"
        f"  time {ref['total_s']:6.2f} s",
        flush=True,
    )
    variants = [
        ("column generation (exact, certified)", {"column_generation": "on"}),
        ("no region merging (exact check)", {"column_generation": "off", "merge_regions": False}),
        ("no service merging (exact check)", {"column_generation": "off", "merge_services": "off"}),
        (
            "services merged by model + SLO",
            {"column_generation": "off", "merge_services": "model-slo"},
        ),
        ("12 hour blocks", {"hour_blocks": 12}),
        ("8 hour blocks", {"hour_blocks": 8}),
        ("6 hour blocks", {"hour_blocks": 6}),
        ("4 hour blocks", {"hour_blocks": 4}),
    ]
    for label, solver in variants:
        r = measure(scenario(size, **solver), runs)
        if label.startswith("services merged"):
            label += " (no shared model here)"
        diff = 100 * (r["objective_usd"] / ref["objective_usd"] - 1)
        print(
            f"{label:<40} objective {r['objective_usd'] / 1e6:12.4f} M USD  "
            f"diff {diff:+7.3f} %  time {r['total_s']:6.2f} s",
            flush=True,
        )

    # services that share model and SLO but not token lengths, to measure that merge
    twins = scenario(size, column_generation="off")
    extra = []
    for svc in twins["services"]:
        twin = dict(svc)
        twin.update(
            id=svc["id"] + "-long",
            input_tokens=3 * svc["input_tokens"],
            output_tokens=svc["output_tokens"] // 2,
            profile="office",
        )
        extra.append(twin)
    twins["services"] += extra
    ref2 = measure(twins, runs)
    twins["solver"] = {"column_generation": "off", "merge_services": "model-slo"}
    r2 = measure(twins, runs)
    print(
        f"{'services merged by model + SLO (twins)':<40} objective "
        f"{r2['objective_usd'] / 1e6:12.4f} M USD  diff "
        f"{100 * (r2['objective_usd'] / ref2['objective_usd'] - 1):+7.3f} %  time "
        f"{r2['total_s']:6.2f} s (exact {ref2['total_s']:.2f} s; every service gets a twin with "
        "3x the input and half the output tokens)"
    )

    print(
        "\n== 4. Optimised plan vs naive baseline (each country alone, its cheapest accelerator) =="
    )
    for name in ("national", "continental"):
        r = figures[name]
        b = r.get("baseline") or {}
        if not b.get("total_usd"):
            print(f"{name:<12} baseline not available")
            continue
        opt_all = r["cost_usd"] + r["unserved_penalty_usd"]
        base_all, base_cost = b["total_usd"], b["total_excl_penalties_usd"]
        served = b.get("metrics", {}).get("served_fraction", float("nan"))
        print(
            f"{name:<12} lost service valued: optimised {opt_all / 1e6:9.2f} M USD, baseline "
            f"{base_all / 1e6:9.2f} M USD, saving {100 * (1 - opt_all / base_all):5.1f} %; "
            f"serving costs only: {r['cost_usd'] / 1e6:9.2f} vs {base_cost / 1e6:9.2f} M USD, "
            f"saving {100 * (1 - r['cost_usd'] / base_cost):5.1f} % (baseline serves "
            f"{100 * served:.1f} % of demand)"
        )

    if not (args.quick or args.skip_mip):
        print("\n== 5. Continental with integer server builds (MIP) ==")
        for seed in (0, 1):  # two instances: the method's margin differs between them
            size = SIZES["continental"]
            data = scenario(size, seed=seed, integer_servers=True, mip_gap=0.01, time_limit_s=300)
            r = measure(data, 1)
            gap = r["mip_gap"]
            p = r.get("pricing") or {}
            met = gap is not None and gap <= 0.01 and r["total_s"] <= 300
            shown = "n/a" if gap is None else f"{100 * gap:.2f} %"
            print(
                f"seed {seed}: status {r['status']}, time {r['total_s']:.1f} s, peak "
                f"{r['peak_rss_mb']:.0f} MB, proven gap {shown} "
                f"(integer plan {p.get('upper_bound_musd', float('nan')):.2f} M USD against the LP "
                f"bound {p.get('lower_bound_musd', float('nan')):.2f} M USD; target 1 % in 300 s "
                f"{'met' if met else 'NOT met'}); restricted integer subproblem after the dive: "
                f"{p.get('integer_subproblem')}, solver gap "
                f"{100 * (p.get('integer_subproblem_gap') or 0):.2f} %"
            )
        print(f"method: {r['method']}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
