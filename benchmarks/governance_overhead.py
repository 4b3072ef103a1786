"""Time of the governance layer: `infraplan run` of an example with its rule packs against the
same plan with the packs' rules written by hand (no packs, so no classification and no rule
re-solves), end to end as a user runs it. Prints medians of several runs and the rule costs.

    .venv/bin/python benchmarks/governance_overhead.py [--runs 3] [--example examples/X.yaml]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
INFRAPLAN = [sys.executable, "-m", "infraplan"]


def by_hand(example: Path, folder: Path) -> Path:
    """The example with its packs' residency rules and caps written out and no packs."""
    from infraplan.policy import compile_policy
    from infraplan.scenario import load_scenario

    gov = compile_policy(load_scenario(example))
    data = yaml.safe_load(example.read_text())
    data["policy_packs"] = []
    dump = gov.scenario.model_dump(exclude_none=True)
    data["residency"] = dump["residency"]
    data["chip_caps"] = dump["chip_caps"]
    data["sites"] = dump["sites"]
    for s in data["services"]:
        s.pop("use_case", None)
    out = folder / f"{example.stem}-by-hand.yaml"
    out.write_text(yaml.safe_dump(data, sort_keys=False))
    return out


def timed_run(path: Path, out: Path) -> float:
    t = time.perf_counter()
    done = subprocess.run([*INFRAPLAN, "run", str(path), "--out", str(out), "-q"],
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"infraplan run {path} failed:\n{done.stderr}")
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--example", action="append", default=None)
    args = ap.parse_args()
    examples = [Path(e) for e in (args.example or ["examples/gulf-partnership.yaml",
                                                    "examples/eu-member-state.yaml"])]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for ex in examples:
            plain = by_hand(ex, folder)
            t_packs = [timed_run(ex, folder / "packs") for _ in range(args.runs)]
            t_plain = [timed_run(plain, folder / "plain") for _ in range(args.runs)]
            doc = json.loads((folder / "packs" / "results.json").read_text())
            ref = json.loads((folder / "plain" / "results.json").read_text())
            gov = doc["governance"]
            mp, mh = statistics.median(t_packs), statistics.median(t_plain)
            print(f"\n{ex}: {len(gov['classifications'])} service x region classes, "
                  f"{len(gov.get('rule_costs', []))} rules re-solved in "
                  f"{doc['solve'].get('rules_s', 0):.1f} s")
            print(f"  infraplan run with packs: median {mp:.1f} s of {args.runs} "
                  f"({', '.join(f'{t:.1f}' for t in t_packs)})")
            print(f"  same rules by hand, no packs: median {mh:.1f} s "
                  f"({', '.join(f'{t:.1f}' for t in t_plain)}); ratio {mp / mh:.2f}")
            print(f"  objective with packs {doc['objective_usd']:.6f}, by hand "
                  f"{ref['objective_usd']:.6f} (the packed plan adds its compliance cost "
                  f"{doc['costs_usd'].get('compliance', 0.0):.2f})")
            for r in gov.get("rule_costs", []):
                print(f"  rule {r['rule']:<18} {r['kind']:<11} cost {r['cost_usd']:>14,.0f} USD"
                      f"  binding {r['binding']}")


if __name__ == "__main__":
    main()
