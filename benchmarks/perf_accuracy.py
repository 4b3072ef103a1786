"""Accuracy of infraplan.perf on the published calibration measurements, and of the PyPI peers.

    .venv/bin/python benchmarks/perf_accuracy.py [--data CSV] [--holdout CSV] [--no-cv]
                                                 [--no-peers] [--no-holdout]
                                                 [--efficiency CSV]

Prints, on the calibration set (625 published measurements by default):

1. in-sample error of the packaged efficiency factors (fitted on this set): MdAPE, P90 |error|,
   median signed error, overall and per mode, accelerator and model;
2. leave-one-accelerator-out, leave-one-model-out and leave-one-source-out: for each
   accelerator (model, source set) the factors are refitted without its rows and its rows are
   predicted with that fit; per mode and engine; and the throughput kept under p99 latency
   limits as a share of offline throughput, measured beside predicted, per model;
3. the PyPI peers llm-analysis and genz-llm on the same rows, where they can model them, with
   their coverage;
4. the external hold-out set (``benchmarks/data/holdout.csv``, built by
   ``benchmarks/data/make_holdout.py``): published measurements that are not in the calibration
   set (newer accelerators, models, engines, MLPerf rounds) predicted with the packaged factors.
   It is never used for fitting. MdAPE, P90 and bias overall and per accelerator, model,
   engine and mode.

The peers run in the separate venv ``.venv-bench`` (``python3 -m venv .venv-bench
   && .venv-bench/bin/pip install llm-analysis genz-llm``) and are skipped with a message when it
   is absent.

Peer protocol: every tool gets the same inputs: architecture and accelerator specs from the
infraplan catalog, the configuration infraplan chose for the row (precision, tp, pp), the
row's isl/osl (the documented default where blank) and the batch infraplan's memory model
allows (the peers do not size batches themselves). Throughput = replicas x batch x osl /
(prefill latency + osl x decode latency). llm-analysis runs with the efficiencies its README
recommends for inference (FLOPS 0.7, HBM 0.9), genz-llm with its defaults. Peers have no
queueing model, so they cover offline rows only. This is a benchmark that prints figures, not a
test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from infraplan.perf import autoconfig, calibration, engines
from infraplan.perf import efficiency as eff_mod
from infraplan.perf.efficiency import Efficiency
from infraplan.perf.specs import accel_spec, model_spec

ROOT = Path(__file__).resolve().parents[1]
HOLDOUT = Path(__file__).with_name("data") / "holdout.csv"
BENCH_PY = ROOT / ".venv-bench" / "bin" / "python"
WORKER = Path(__file__).with_name("peers_worker.py")


def metrics(pred: pd.Series, meas: pd.Series) -> dict[str, float]:
    ok = pred.notna() & meas.notna() & (meas > 0)
    err = pred[ok] / meas[ok] - 1
    if err.empty:
        return {"n": 0, "MdAPE %": np.nan, "P90 %": np.nan, "bias %": np.nan}
    return {
        "n": int(ok.sum()),
        "MdAPE %": 100 * float(err.abs().median()),
        "P90 %": 100 * float(err.abs().quantile(0.9)),
        "bias %": 100 * float(err.median()),
    }


def table(df: pd.DataFrame, pred: str, by: str | list[str] | None) -> pd.DataFrame:
    """Error metrics of column ``pred`` overall (``by`` None) or per group of ``by``."""
    if by is None:
        return pd.DataFrame([metrics(df[pred], df["measured"])], index=["all"])
    rows = {
        (" / ".join(map(str, k)) if isinstance(k, tuple) else k): metrics(g[pred], g["measured"])
        for k, g in df.fillna({"engine": "(none)"}).groupby(by)
    }
    return pd.DataFrame(rows).T


PAIR_KEYS = ["source_set", "model", "accelerator", "n_accel", "precision", "system"]


def slo_ratio(df: pd.DataFrame, pred: str) -> pd.DataFrame:
    """Throughput under latency limits / offline throughput, measured against predicted.

    Pairs each ``server`` row with the ``offline`` row of the same submission (same source
    set, model, accelerator, count, precision and system) and reports, per model, the
    median, min and max of the measured ratio beside the predicted one. A model that keeps
    nearly all its offline throughput under p99 limits while deployed systems keep 60-85 %
    is optimistic exactly where the planner uses it."""
    ok = df["measured"] > 0
    srv = df[ok & df["mode"].isin(["server", "interactive"])]
    off = df[ok & (df["mode"] == "offline")]
    m = srv.merge(off, on=PAIR_KEYS, suffixes=("_srv", "_off"))
    if m.empty:
        return pd.DataFrame()
    m["meas_ratio"] = m["measured_srv"] / m["measured_off"]
    m["pred_ratio"] = m[f"{pred}_srv"] / m[f"{pred}_off"]
    rows = {}
    for (model, mode), g in m.groupby(["model", "mode_srv"]):
        rows[f"{model} {mode}"] = {
            "n": len(g),
            "measured %": 100 * g["meas_ratio"].median(),
            "meas min %": 100 * g["meas_ratio"].min(),
            "meas max %": 100 * g["meas_ratio"].max(),
            "predicted %": 100 * g["pred_ratio"].median(),
            "pred - meas (pp)": 100 * (g["pred_ratio"] - g["meas_ratio"]).median(),
        }
    return pd.DataFrame(rows).T


def show(title: str, frame: pd.DataFrame) -> None:
    print(f"\n{title}")
    out = frame.copy()
    for c in out.columns:
        if c == "n":
            out[c] = out[c].map(lambda v: "" if pd.isna(v) else f"{int(v)}")
            continue
        out[c] = out[c].map(
            lambda v: "" if pd.isna(v) else (f"{v:.0f}" if abs(v) >= 100 else f"{v:.1f}")
        )
    print(out.to_string())


def peer_rows(df: pd.DataFrame, eff: Efficiency) -> list[dict | None]:
    """Inputs for the peers: the configuration and batch infraplan chose for each row."""
    res = autoconfig.evaluate(calibration.records(df), eff, errors="return")
    rows: list[dict | None] = []
    for rec, r in zip(calibration.records(df), res, strict=True):
        if not r.get("feasible") or r.get("mode") != "offline":
            rows.append(None)
            continue
        m, cat = model_spec(r["model"]), accel_spec(r["accelerator"])
        rows.append(
            {
                "model": m.id,
                "accelerator": cat.id,
                "n_layers": m.n_layers,
                "hidden": m.hidden,
                "n_heads": m.n_heads,
                "n_kv_heads": m.n_kv_heads,
                "head_dim": m.head_dim,
                "ffn": m.ffn,
                "vocab": m.vocab,
                "n_experts": m.n_experts,
                "k_active": m.k_active,
                "expert_ffn": m.expert_ffn,
                "context_length": m.context_length,
                "hbm_gb": cat.mem_bytes / 2**30,
                "hbm_tbps": cat.bw / 1e12,
                "scaleup_gbps": cat.link_bw / 1e9,
                "bf16_tflops": cat.peaks["bf16"] / 1e12,
                "fp8_tflops": cat.peaks.get("fp8", 0) / 1e12,
                "precision": r["precision"],
                "tp": r["tp"],
                "pp": r["pp"],
                "batch": r["batch"],
                "isl": r["isl"],
                "osl": r["osl"],
                "beams": int(rec.get("beams") or 1),
                "replicas": r["replicas"],
            }
        )
    return rows


def run_peers(df: pd.DataFrame, eff: Efficiency) -> pd.DataFrame | None:
    if not BENCH_PY.exists():
        print(
            f"\npeers: skipped ({BENCH_PY} not found; create it with `python3 -m venv "
            ".venv-bench && .venv-bench/bin/pip install llm-analysis genz-llm`)"
        )
        return None
    rows = peer_rows(df, eff)
    todo = [r for r in rows if r is not None]
    start = time.perf_counter()
    proc = subprocess.run(
        [str(BENCH_PY), str(WORKER)],
        input=json.dumps(todo),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        print(f"\npeers: the worker failed: {proc.stderr.strip()[-400:]}")
        return None
    got = iter(json.loads(proc.stdout))
    out = pd.DataFrame(index=df.index, columns=["llm_analysis", "genz"], dtype=float)
    errors: dict[str, dict[str, int]] = {"llm_analysis": {}, "genz": {}}
    for i, r in zip(df.index, rows, strict=True):
        if r is None:
            continue
        res = next(got)
        for name in ("llm_analysis", "genz"):
            out.loc[i, name] = res[name] if res[name] is not None else np.nan
            if res[name] is None:
                key = res[name + "_error"].split(":")[0]
                errors[name][key] = errors[name].get(key, 0) + 1
    print(
        f"\npeers ran on {len(todo)} offline rows in {time.perf_counter() - start:.0f} s; "
        f"failures by kind: {errors}"
    )
    return out


def holdout(path: Path, eff: Efficiency, fitted: set[str] | None = None) -> pd.DataFrame:
    """Predict the external hold-out set with the factors ``eff`` (never fitted on it); rows of
    source sets that are in the fit (``fitted``) are left out."""
    df = calibration.load_measurements(path)
    df = df[df["measured"] > 0].copy()
    overlap = df["source_set"].isin(fitted or set())
    if overlap.any():
        print(f"\nhold-out: {int(overlap.sum())} rows of sources now in the fit left out "
              f"({', '.join(sorted(df.loc[overlap, 'source_set'].unique()))})")
        df = df[~overlap].copy()
    pred = calibration.predict_rows(df, eff)
    df["infraplan"] = pred["predicted"].to_numpy()
    df["why_not"] = pred["pred_error"].to_numpy()
    print(f"\n=== external hold-out: {len(df)} published measurements from {path} ===")
    print(
        f"predicted {int(df['infraplan'].notna().sum())}/{len(df)} rows; sources: "
        + ", ".join(f"{k} ({v})" for k, v in df["source_set"].value_counts().items())
    )
    show("hold-out: overall and by mode",
         pd.concat([table(df, "infraplan", None), table(df, "infraplan", "mode")]))
    for by in ("accelerator", "model", "engine"):
        show(f"hold-out by {by}", table(df, "infraplan", by))
    show("hold-out by mode and engine", table(df, "infraplan", ["mode", "engine"]))
    show("hold-out by source", table(df, "infraplan", "source_set"))
    ratio = slo_ratio(df, "infraplan")
    if not ratio.empty:
        show("hold-out: throughput under p99 limits / offline, per model", ratio)
    planner = df["mode"].isin(["offline", "server", "concurrency"])
    show("hold-out without finite burst runs (mode qps) and MLPerf interactive",
         table(df[planner], "infraplan", None))
    missed = df[df["infraplan"].isna()]
    for _, r in missed.iterrows():
        print(f"  not predicted: {r['model']} on {r['accelerator']}: {r['why_not']}")
    return df


JUDGE_ONLY = ("mlperf-v5.1",)
"""Hold-out sources kept for judging: never fitted, and not used for the error bands either."""


def write_bands(df: pd.DataFrame, held: pd.DataFrame | None) -> None:
    """Error bands from out-of-sample rows: leave-one-source-out predictions of the calibration
    set and the hold-out predictions (judge-only sources excluded)."""
    from infraplan.perf import bands

    parts = [pd.DataFrame({"mode": df["mode"], "engine": df["engine"], "accel": df["accelerator"],
                           "ratio": df["measured"] / df["leave-one-source-out"]})]
    if held is not None:
        keep = ~held["source_set"].isin(JUDGE_ONLY)
        h = held[keep]
        parts.append(pd.DataFrame({"mode": h["mode"], "engine": h["engine"],
                                   "accel": h["accelerator"],
                                   "ratio": h["measured"] / h["infraplan"]}))
    oos = pd.concat(parts, ignore_index=True).dropna()
    oos["engine"] = [engines.resolve(e, strict=False).family for e in oos["engine"]]
    oos["hw_family"] = [accel_spec(a).family for a in oos["accel"]]
    prov = (f"{time.strftime('%Y-%m-%d')}: measured / predicted of {len(oos)} out-of-sample rows "
            "(leave-one-source-out refits of the calibration set; hold-out set without "
            f"{', '.join(JUDGE_ONLY)}) by benchmarks/perf_accuracy.py --write-bands")
    table = bands.build(oos, prov)
    table.to_csv(bands.path(), index=False)
    print(f"\nwrote {len(table)} band rows from {len(oos)} out-of-sample rows to {bands.path()}")
    show("error bands written (measured / predicted)",
         table[table["hw_family"] == "*"].set_index(["mode", "engine"])[
             ["n_rows", "p10", "p50", "p90"]])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=None,
                    help="calibration CSV (default: the shared set and the packaged gathered "
                         "sets, as infraplan perf calibrate fits them)")
    ap.add_argument("--no-cv", action="store_true", help="skip the leave-one-out refits")
    ap.add_argument("--no-peers", action="store_true", help="skip llm-analysis and genz-llm")
    ap.add_argument("--holdout", default=str(HOLDOUT), help="external hold-out CSV")
    ap.add_argument("--no-holdout", action="store_true", help="skip the hold-out set")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--efficiency", default=None,
                    help="efficiency table CSV to evaluate (default: the packaged fit)")
    ap.add_argument("--cv", default="accelerator,model,source",
                    help="which leave-one-out refits to run (comma list of accelerator, model, "
                         "source)")
    ap.add_argument("--write-bands", action="store_true",
                    help="write infraplan/perf/data/bands.csv from the leave-one-source-out "
                         "and hold-out residuals (needs the refits: not with --no-cv)")
    args = ap.parse_args()
    folds = {x.strip() for x in args.cv.split(",") if x.strip()}
    if folds - {"accelerator", "model", "source"}:
        ap.error(f"--cv: unknown fold(s) {sorted(folds - {'accelerator', 'model', 'source'})}")
    if args.write_bands and (args.no_cv or "source" not in folds):
        ap.error("--write-bands needs the leave-one-source-out refits (--cv with source)")
    eff = eff_mod.load(args.efficiency) if args.efficiency else eff_mod.packaged()

    df = (calibration.load_measurements(args.data) if args.data
          else calibration.load_default())
    df = df[df["measured"] > 0].copy()
    data_name = args.data or " + ".join(str(p) for p in calibration.default_sources())
    df["family"] = [engines.resolve(e, strict=False).family for e in df["engine"]]
    start = time.perf_counter()
    pred = calibration.predict_rows(df, eff)
    df["infraplan"] = pred["predicted"].to_numpy()
    took = time.perf_counter() - start
    print(f"infraplan.perf on {len(df)} measurements from {data_name}")
    print(
        f"predicted {int(df['infraplan'].notna().sum())}/{len(df)} rows in {took:.2f} s "
        "(error = predicted/measured - 1; MdAPE = median |error|, P90 = 90th percentile "
        "of |error|, bias = median signed error)"
    )
    show(
        "in-sample (packaged factors, fitted on this set)" if not args.efficiency
        else f"in-sample ({args.efficiency})",
        pd.concat([table(df, "infraplan", None), table(df, "infraplan", "mode")]),
    )
    show("in-sample by accelerator", table(df, "infraplan", "accelerator"))
    show("in-sample by model", table(df, "infraplan", "model"))
    show("in-sample by engine", table(df, "infraplan", "engine"))
    show("in-sample by mode and engine", table(df, "infraplan", ["mode", "engine"]))
    show("in-sample by mode and engine family", table(df, "infraplan", ["mode", "family"]))
    show("in-sample: throughput under p99 limits / offline, per model",
         slo_ratio(df, "infraplan"))

    if not args.no_cv:
        for by, label in (
            (by, label) for by, label in (
                ("accelerator", "leave-one-accelerator-out"),
                ("model", "leave-one-model-out"),
                ("source_set", "leave-one-source-out"),
            ) if by.split("_")[0] in folds
        ):
            start = time.perf_counter()
            cv = calibration.cross_validate(df, by, processes=args.processes)
            df[label] = cv["predicted_cv"].reindex(df.index)
            print(f"\n{label}: {df[by].nunique()} refits in {time.perf_counter() - start:.0f} s")
            show(
                f"{label}: overall and by mode",
                pd.concat([table(df, label, None), table(df, label, "mode")]),
            )
            show(f"{label}: by held-out {by}", table(df, label, by))
            show(f"{label}: by mode and engine family", table(df, label, ["mode", "family"]))
            show(f"{label}: throughput under p99 limits / offline, per model",
                 slo_ratio(df, label))
        cols = {"in-sample": "infraplan", "LOAO": "leave-one-accelerator-out",
                "LOMO": "leave-one-model-out", "LOSO": "leave-one-source-out"}
        for mode in ("offline", "server", "interactive", "concurrency"):
            rows = df["mode"] == mode
            summary = {k: metrics(df.loc[rows, c], df.loc[rows, "measured"])
                       for k, c in cols.items() if c in df.columns}
            show(f"{mode} rows: in-sample vs leave-one-out", pd.DataFrame(summary).T)

    held = None
    if not args.no_holdout:
        held = holdout(Path(args.holdout), eff, set(df["source_set"]))
    if args.write_bands:
        write_bands(df, held)

    if not args.no_peers:
        peers = run_peers(df, eff)
        if peers is not None:
            df["llm-analysis"] = peers["llm_analysis"]
            df["genz-llm"] = peers["genz"]
            rows = {}
            for tool in ("infraplan", "llm-analysis", "genz-llm"):
                m = metrics(df[tool], df["measured"])
                m["coverage %"] = 100 * df[tool].notna().mean()
                rows[tool] = m
            show(
                "side by side on all rows (coverage = rows the tool predicts)", pd.DataFrame(rows).T
            )
            both = df["llm-analysis"].notna() & df["genz-llm"].notna()
            same = {
                t: metrics(df.loc[both, t], df.loc[both, "measured"])
                for t in ("infraplan", "llm-analysis", "genz-llm")
            }
            show(
                f"side by side on the {int(both.sum())} rows all three model", pd.DataFrame(same).T
            )
            for tool in ("llm-analysis", "genz-llm"):
                show(
                    f"{tool} by accelerator (rows it models)",
                    table(df[df[tool].notna()], tool, "accelerator"),
                )
    return None


if __name__ == "__main__":
    sys.exit(main())
