"""Calibration: fit the efficiency factors on published measurements.

Procedure (documented in docs/perf.md, run by ``infraplan perf calibrate``):

1. Read measurements in the calibration-CSV columns (``model, accelerator, n_accel, tp, pp,
   precision, isl, osl, mode, concurrency, ttft_p99_ms, tpot_p99_ms, output_tokens_per_s`` plus
   optional ``source_set, system, benchmark, engine, qps, n_requests, beams``).
2. Infer the engine of each row (``infer_engine``): TensorRT-LLM perf-overview v0.17 tables are the
   reference engine ``trtllm``; the v0.14 Triton online-serving table is ``triton-trtllm``; MLPerf
   rows are ``mlperf-v4.0`` / ``mlperf-v4.1`` (the round's maturity). Rows of the ``qps`` mode get
   the offered rate from the packaged copy of the v0.14 table when the CSV has no ``qps`` column.
3. Choose each row's unspecified configuration (tensor/pipeline split) with the current factors,
   then fit by non-linear least squares on r = log(predicted/measured), robustified per row
   (soft-L1: r'^2 = 2 f^2 (sqrt(1 + r^2/f^2) - 1), f = ``LOSS_SCALE`` = 0.4, so rows off by more
   than ~40 % count linearly, not quadratically), the parameters: compute efficiency per hardware
   family x precision class, bandwidth efficiency per family, one maturity factor per engine
   (reference ``trtllm`` fixed at 1), and six global scalars (step overhead, all-reduce latency,
   link efficiency, MoE grouped-GEMM efficiency, roofline-knee sharpness, power-derate exponent).
   Family parameters get a Gaussian prior around global means (sd ``PRIOR_SD`` = 0.5 in log
   space), engine factors around 1 (same sd), global scalars around documented priors;
   efficiencies are bounded by 1 so predictions stay under the roofline. The split is then
   re-chosen with the fitted factors and the fit repeated once.
4. Write the factors with the number of rows behind each and the provenance.
"""

from __future__ import annotations

import math
import re
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from infraplan.errors import InfraplanError
from infraplan.perf import autoconfig
from infraplan.perf import engines as engines_mod
from infraplan.perf import model as phys
from infraplan.perf.efficiency import (
    COLUMNS,
    DEFAULTS,
    REFERENCE_ENGINE,
    Efficiency,
    default_path,
)
from infraplan.perf.specs import PRECISIONS, accel_spec

DEFAULT_DATA = Path("/work/shared/data/perf/calibration.csv")
PACKAGED_SETS = ("engine_measurements.csv", "mlperf_v5.0.csv")
"""Measurements gathered for the fit that ship with the package (``infraplan/perf/data``):
open-engine comparisons (vLLM, SGLang, TensorRT-LLM in the same posts) and MLPerf v5.0."""
REQUIRED = ["model", "accelerator", "osl", "output_tokens_per_s"]
PRIOR_SD = 0.5
GROWTH_PRIOR_SD = 0.5  # engine maturity growth per year, around 0 (log factor per year)
GROWTH_BOUND = 1.5
OPEN_FAMILIES = ("vllm", "sglang")
FP4_SHARES_FP8 = {"4": "8"}
MODE_ROWS = 100.0
MAX_NFEV = 600  # function evaluations per pass of the least-squares fit
PRIOR_ROWS = 1.0
LOSS_SCALE = 0.40


def _packaged(name: str) -> Path:
    return Path(str(resources.files("infraplan.perf") / "data" / name))


def infer_engine(source_set: str, system: str = "") -> str:
    """Engine label of a measurement from its provenance columns."""
    src = str(source_set).lower()
    s = f"{src} {system}".lower()
    if src.startswith("mlperf"):
        return src.split()[0]
    for name in ("vllm", "sglang"):
        if name in s:
            return name
    if "online serving" in s or "triton" in s:
        return "triton-trtllm"
    m = re.search(r"\bv(\d+\.\d+(?:\.\d+)?)", src)
    if "tensorrt-llm" in src and m:
        version = m[1] if m[1].count(".") == 2 else m[1] + ".0"
        return f"trtllm-{version}"
    return REFERENCE_ENGINE


def _text_col(df: pd.DataFrame, col: str) -> list[str]:
    """Column ``col`` as stripped strings (blank where missing)."""
    if col not in df.columns:
        return [""] * len(df)
    return [("" if (isinstance(v, float) and math.isnan(v)) else str(v).strip())
            for v in df[col]]


def _engine_label(engine: str, version: str, released: str) -> str:
    """``vllm`` + ``0.6.0`` -> ``vllm-0.6.0``; with a date only: ``vllm@2024-09-05``; a label
    that already carries a version or date is kept."""
    engine = str(engine).strip()
    if not engine or not (version or released):
        return engine
    ref = engines_mod.resolve(engine, strict=False)
    if ref.version or ref.released is not None:
        return engine
    if version and engines_mod.resolve(f"{engine}-{version}", strict=False).released:
        return f"{engine}-{version}"
    return f"{engine}@{released[:10]}" if released else engine


def beams_for(benchmark: str) -> int:
    """MLPerf GPT-J runs beam search with 4 beams (tokens/s = samples/s x 69)."""
    return 4 if str(benchmark).lower().startswith("gptj") else 1


#: longest output the MLPerf harness allows (max_new_tokens); variable-length outputs reserve
#: KV for it. llama2-70b and mixtral-8x7b: 1,024; GPT-J: 128 (MLPerf inference reference).
MLPERF_MAX_OSL = {"llama2-70b": 1024, "mixtral-8x7b": 1024, "gptj": 128}


def max_osl_for(benchmark: str) -> float | None:
    b = str(benchmark).lower()
    for key, value in MLPERF_MAX_OSL.items():
        if b.startswith(key):
            return float(value)
    return None


# memory variants named in a submission's system name but not in its accelerator column:
# (accelerator, text in the system name, catalog id of the variant)
VARIANTS = (("gh200", "GH200-144GB", "gh200-144gb"),)


def load_measurements(path: str | Path | None = None) -> pd.DataFrame:
    """Read a calibration CSV and add the derived columns used by the fit."""
    path = Path(path) if path else DEFAULT_DATA
    if not path.exists():
        raise InfraplanError(f"calibration data {str(path)!r} does not exist")
    df = pd.read_csv(path)
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise InfraplanError(
            f"calibration data {path}: missing columns {missing}; needs at least {REQUIRED} and "
            "usually n_accel, tp, pp, precision, isl, mode, ttft_p99_ms, tpot_p99_ms"
        )
    df = df.copy()
    for col in ("source_set", "system", "benchmark", "engine", "mode", "precision"):
        if col not in df.columns:
            df[col] = ""
        df[col] = df[col].astype(object).where(df[col].notna(), "").astype(str)
    if (df["engine"] == "").any():
        inferred = [infer_engine(a, b) for a, b in zip(df["source_set"], df["system"],
                                                       strict=True)]
        df["engine"] = np.where(df["engine"] == "", inferred, df["engine"])
    df["engine"] = [_engine_label(e, v, d) for e, v, d in zip(
        df["engine"], _text_col(df, "engine_version"), _text_col(df, "engine_date"),
        strict=True)]
    if "beams" not in df.columns:
        df["beams"] = [beams_for(b) for b in df["benchmark"]]
    if "max_osl" not in df.columns:
        df["max_osl"] = [max_osl_for(b) for b in df["benchmark"]]
    if "qps" not in df.columns:
        df["qps"] = np.nan
    if "n_requests" not in df.columns:
        df["n_requests"] = np.nan
    qps_rows = df["mode"].str.lower() == "qps"
    if qps_rows.any() and df.loc[qps_rows, "qps"].isna().any():
        table = pd.read_csv(_packaged("trtllm_v0.14_online_serving.csv"))
        key = ["model", "accelerator", "isl", "osl", "output_tokens_per_s"]
        look = table.set_index(key)[["qps", "n_requests"]]
        for i in df.index[qps_rows & df["qps"].isna()]:
            k = tuple(df.loc[i, key])
            if k in look.index:
                df.loc[i, "qps"] = look.loc[k, "qps"]
                df.loc[i, "n_requests"] = look.loc[k, "n_requests"]
    for base, tag, variant in VARIANTS:
        df.loc[(df["accelerator"] == base) & df["system"].str.contains(tag, regex=False),
               "accelerator"] = variant
    if "ttft_p99_ms" in df.columns:
        df["ttft_ms"] = df["ttft_p99_ms"]
    if "tpot_p99_ms" in df.columns:
        df["tpot_ms"] = df["tpot_p99_ms"]
    df["measured"] = pd.to_numeric(df["output_tokens_per_s"], errors="coerce")
    return df.reset_index(drop=True)


FIELDS = ["model", "accelerator", "n_accel", "tp", "pp", "precision", "isl", "osl", "mode",
          "concurrency", "ttft_ms", "tpot_ms", "qps", "n_requests", "beams", "max_osl", "engine",
          "benchmark"]


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of ``df`` as request dicts (``FIELDS`` present in it; NaN -> ``None``)."""
    cols = [c for c in FIELDS if c in df.columns]
    out = []
    for row in df[cols].itertuples(index=False):
        rec: dict[str, Any] = {}
        for k, v in zip(cols, row, strict=True):
            rec[k] = None if (isinstance(v, float) and math.isnan(v)) else v
        out.append(rec)
    return out


# --------------------------------------------------------------------------------------------
# the fit


class _Problem:
    """Rows with a fixed configuration each, and the map from parameters to case arrays."""

    def __init__(self, df: pd.DataFrame, eff: Efficiency) -> None:
        recs = records(df)
        chosen = autoconfig.evaluate(recs, eff, errors="return")
        keep, case_recs = [], []
        for i, (rec, res) in enumerate(zip(recs, chosen, strict=True)):
            if res.get("error") or "tp" not in res:
                continue
            req = autoconfig.normalise(rec)
            case_recs.append({**req, "precision": res["precision"], "tp": res["tp"],
                              "pp": res["pp"]})
            keep.append(i)
        if not case_recs:
            raise InfraplanError("calibration: no row could be evaluated")
        self.index = np.asarray(keep)
        self.recs = case_recs
        self.measured = df["measured"].to_numpy(float)[self.index]
        # latency-bounded modes (what the planner uses) are a minority of the rows: each mode
        # with fewer than MODE_ROWS rows is weighted up to count as MODE_ROWS rows
        modes = pd.Series([str(r.get("mode") or "") for r in case_recs])
        counts = modes.map(modes.value_counts()).to_numpy(float)
        self.weight = np.sqrt(np.maximum(MODE_ROWS / counts, 1.0))
        self.cases = phys.build_cases(case_recs, eff)
        fams = [accel_spec(r["accelerator"]).family for r in case_recs]
        # FP4 GEMMs share their family's FP8 efficiency; the FP4 peak enters through fp4_gain
        cls = [FP4_SHARES_FP8.get(str(PRECISIONS[r["precision"]]["cls"]),
                                  str(PRECISIONS[r["precision"]]["cls"])) for r in case_recs]
        refs = [engines_mod.resolve(r.get("engine"), strict=False) for r in case_recs]
        fams_e = [r.family for r in refs]
        self.families = sorted(set(fams))
        self.cpairs = sorted(set(zip(fams, cls, strict=True)))
        self.engines = sorted(set(fams_e) - {REFERENCE_ENGINE})
        self.i_c = np.array([self.cpairs.index(p) for p in zip(fams, cls, strict=True)])
        self.i_m = np.array([self.families.index(f) for f in fams])
        self.i_e = np.array([self.engines.index(e) if e in self.engines else -1
                             for e in fams_e])
        # release year of each row's engine; rows without one (a bare family name) count as
        # of the newest dated row
        years = [engines_mod.decimal_year(r.released) if r.released else math.nan
                 for r in refs]
        known = [y for y in years if not math.isnan(y)]
        self.year_min = min(known) if known else DEFAULTS["engine_year_min"]
        self.year_max = max(known) if known else DEFAULTS["engine_year_max"]
        ref_year = engines_mod.decimal_year(engines_mod.reference_date())
        self.dyear = np.array([(self.year_max if math.isnan(y) else y) - ref_year
                               for y in years])
        self.power_ratio = np.array([min(accel_spec(r["accelerator"]).power_ratio, 1.0)
                                     for r in case_recs])
        self.n_rows_c = np.bincount(self.i_c, minlength=len(self.cpairs))
        self.n_rows_m = np.bincount(self.i_m, minlength=len(self.families))
        self.n_rows_e = np.array([sum(1 for e in fams_e if e == x) for x in self.engines])
        self.classes = sorted({c for _, c in self.cpairs})
        self.nc, self.nm, self.ne = len(self.cpairs), len(self.families), len(self.engines)

    # parameter vector: [c pairs | m families | engines | mu_c per class | mu_m | globals |
    # engine growth per year]
    # globals are fitted in log space: (name, lower, upper, prior sd in log space)
    GLOBAL_FIT = (
        ("step_overhead_ms", 0.05, 20.0, 1.0),
        ("seq_overhead_us", 0.05, 200.0, 1.0),
        ("allreduce_latency_us", 1.0, 100.0, 1.0),
        ("link_efficiency", 0.1, 1.0, 0.5),
        ("moe_efficiency", 0.2, 1.0, 0.5),
        ("expert_gemm_n0", 1.0, 4096.0, 1.0),
        ("roofline_sharpness", 1.0, 12.0, 0.5),
        ("power_derate_exponent", 0.01, 3.0, 1.0),
        ("fp4_gain", 0.01, 1.0, 1.0),
        ("tpot_short_share", 0.005, 1.0, 1.0),
    )

    def split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                            float, np.ndarray]:
        """Parameter vector -> (compute, memory, engine, class means, memory mean, globals)."""
        a = 0
        c = x[a:a + self.nc]
        a += self.nc
        m = x[a:a + self.nm]
        a += self.nm
        e = x[a:a + self.ne]
        a += self.ne
        mu_c = x[a:a + len(self.classes)]
        a += len(self.classes)
        mu_m = x[a]
        g = x[a + 1:a + 1 + len(self.GLOBAL_FIT)]
        return c, m, e, mu_c, mu_m, g

    def growth(self, x: np.ndarray) -> float:
        """Engine maturity growth per year (the last parameter)."""
        return float(x[-1])

    def x0(self, eff: Efficiency) -> np.ndarray:
        """Start vector (log space) from the factors of ``eff``."""
        c = [math.log(eff.eta_compute(f, k)) for f, k in self.cpairs]
        m = [math.log(eff.eta_memory(f)) for f in self.families]
        e = [math.log(eff.engines.get(x, 1.0)) for x in self.engines]
        mu_c = [math.log(eff.eta_compute("*", k)) for k in self.classes]
        g = [math.log(eff.scalar(name)) for name, *_ in self.GLOBAL_FIT]
        return np.array([*c, *m, *e, *mu_c, math.log(eff.eta_memory("*")), *g,
                         eff.scalar("engine_growth_per_year")])

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of the parameter vector (log space)."""
        lo = ([math.log(0.05)] * (self.nc + self.nm) + [math.log(0.3)] * self.ne
              + [math.log(0.05)] * (len(self.classes) + 1)
              + [math.log(b[1]) for b in self.GLOBAL_FIT] + [-GROWTH_BOUND])
        hi = ([0.0] * (self.nc + self.nm) + [math.log(3.0)] * self.ne
              + [0.0] * (len(self.classes) + 1) + [math.log(b[2]) for b in self.GLOBAL_FIT]
              + [GROWTH_BOUND])
        return np.array(lo), np.array(hi)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted output tokens/s of every row at parameters ``x`` (NaN: infeasible)."""
        c, m, e, _, _, g = self.split(x)
        base = np.where(self.i_e >= 0, e[np.maximum(self.i_e, 0)] if self.ne else 0.0, 0.0)
        eng = np.exp(base + self.growth(x) * self.dyear)
        cases = self.cases
        n = len(cases)
        cases.eta_c = np.minimum(np.exp(c[self.i_c]) * eng, 1.0)
        cases.eta_m = np.minimum(np.exp(m[self.i_m]) * eng, 1.0)
        gv = dict(zip([b[0] for b in self.GLOBAL_FIT], np.exp(g), strict=True))
        cases.step_overhead = np.full(n, gv["step_overhead_ms"] * 1e-3)
        cases.seq_overhead = np.full(n, gv["seq_overhead_us"] * 1e-6)
        cases.ar_latency = np.full(n, gv["allreduce_latency_us"] * 1e-6)
        cases.link_eff = np.full(n, gv["link_efficiency"])
        cases.moe_eff = np.full(n, gv["moe_efficiency"])
        cases.expert_n0 = np.full(n, gv["expert_gemm_n0"])
        cases.sharp = np.full(n, gv["roofline_sharpness"])
        cases.fp4_gain = np.full(n, gv["fp4_gain"])
        cases.short_share = np.full(n, gv["tpot_short_share"])
        cases.eta_c = np.minimum(np.exp(c[self.i_c]) * eng
                                 * self.power_ratio ** gv["power_derate_exponent"], 1.0)
        res = autoconfig._run_modes(cases, self.recs)
        return np.where(res["feasible"], res["output_tps"], np.nan)

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """Robustified log errors of the rows followed by the prior terms."""
        pred = self.predict(x)
        r = np.log(np.maximum(np.nan_to_num(pred, nan=1e-3), 1e-3) / self.measured)
        # soft-L1 robust loss on the data only: r'^2 = 2 f^2 (sqrt(1 + r^2/f^2) - 1)
        f = LOSS_SCALE
        r = np.sign(r) * np.sqrt(2 * f * f * (np.sqrt(1 + (r / f) ** 2) - 1)) * self.weight
        c, m, e, mu_c, mu_m, g = self.split(x)
        w = math.sqrt(PRIOR_ROWS)
        cls_idx = np.array([self.classes.index(k) for _, k in self.cpairs])
        g_prior = np.array([(v - math.log(DEFAULTS[b[0]])) / b[3]
                            for v, b in zip(g, self.GLOBAL_FIT, strict=True)])
        prior = [w * (c - mu_c[cls_idx]) / PRIOR_SD, w * (m - mu_m) / PRIOR_SD,
                 w * e / PRIOR_SD,
                 (mu_c - math.log(DEFAULTS["eta_compute"])) / 1.0,
                 np.array([(mu_m - math.log(DEFAULTS["eta_memory"])) / 1.0]), g_prior,
                 np.array([self.growth(x) / GROWTH_PRIOR_SD])]
        return np.concatenate([r, *prior])

    def table(self, x: np.ndarray, provenance: str) -> pd.DataFrame:
        """The fitted factors at ``x`` as an efficiency table (``COLUMNS``)."""
        c, m, e, mu_c, mu_m, g = self.split(x)
        rows = []
        for (fam, k), v, n in zip(self.cpairs, c, self.n_rows_c, strict=True):
            rows.append(("eta_compute", fam, "", k, math.exp(v), int(n), provenance))
        for k, v in zip(self.classes, mu_c, strict=True):
            rows.append(("eta_compute", "*", "", k, math.exp(v), int(self.n_rows_c.sum()),
                         "global mean of the fitted families (prior for unmeasured families)"))
        for fam, v, n in zip(self.families, m, self.n_rows_m, strict=True):
            rows.append(("eta_memory", fam, "", "", math.exp(v), int(n), provenance))
        rows.append(("eta_memory", "*", "", "", math.exp(mu_m), int(self.n_rows_m.sum()),
                     "global mean of the fitted families (prior for unmeasured families)"))
        rows.append(("engine", "", REFERENCE_ENGINE, "", 1.0,
                     int((self.i_e < 0).sum()), "reference engine (fixed)"))
        for name, v, n in zip(self.engines, e, self.n_rows_e, strict=True):
            rows.append(("engine", "", name, "", math.exp(v), int(n), provenance))
        open_fams = [(v, n) for name, v, n in zip(self.engines, e, self.n_rows_e, strict=True)
                     if name in OPEN_FAMILIES]
        if open_fams and "generic" not in self.engines:
            mean = sum(v * n for v, n in open_fams) / sum(n for _, n in open_fams)
            rows.append(("engine", "", "generic", "", math.exp(mean),
                         int(sum(n for _, n in open_fams)),
                         "row-weighted geometric mean of the open engines (vllm, sglang)"))
        for (name, *_), v in zip(self.GLOBAL_FIT, g, strict=True):
            rows.append((name, "*", "", "", math.exp(v), len(self.index), provenance))
        rows.append(("engine_growth_per_year", "*", "", "", self.growth(x), len(self.index),
                     provenance))
        span = "release years of the calibration rows' engines (factors held outside)"
        rows.append(("engine_year_min", "*", "", "", round(self.year_min, 3),
                     len(self.index), span))
        rows.append(("engine_year_max", "*", "", "", round(self.year_max, 3),
                     len(self.index), span))
        return pd.DataFrame(rows, columns=COLUMNS)


def fit(df: pd.DataFrame, start: Efficiency | None = None, passes: int = 2,
        provenance: str | None = None) -> Efficiency:
    """Fit efficiency factors on measurement rows ``df`` (from ``load_measurements``)."""
    # scipy ships no type information (scipy-stubs is not a dev dependency)
    from scipy.optimize import least_squares  # type: ignore[import-untyped]

    df = df[df["measured"] > 0]
    # rows of engines without a family (lmdeploy, ...) would be fitted as "generic"
    known = [_known_engine(e) for e in df["engine"]]
    df = df[known]
    eff = start or Efficiency.defaults()
    prov = provenance or (f"fitted {date.today().isoformat()} on {len(df)} rows by "
                          "infraplan perf calibrate")
    for _ in range(passes):
        prob = _Problem(df, eff)
        lo, hi = prob.bounds()
        x0 = np.clip(prob.x0(eff), lo + 1e-9, hi - 1e-9)
        sol = least_squares(prob.residuals, x0, bounds=(lo, hi), x_scale=0.3, diff_step=1e-3,
                            max_nfev=MAX_NFEV)
        eff = Efficiency.from_table(prob.table(sol.x, prov))
    return eff


def _known_engine(label: str) -> bool:
    """Whether an engine label resolves strictly (a known family)."""
    try:
        engines_mod.resolve(label)
    except InfraplanError:
        return False
    return True


def predict_rows(df: pd.DataFrame, eff: Efficiency | None = None) -> pd.DataFrame:
    """Predictions for every row (configuration chosen where blank) with the factor table
    ``eff`` (default: the packaged fit)."""
    res = autoconfig.evaluate(records(df), eff, errors="return")
    out = df.copy()
    out["predicted"] = [r.get("output_tokens_per_s", np.nan) if r.get("feasible") else np.nan
                        for r in res]
    out["pred_tp"] = [r.get("tp") for r in res]
    out["pred_pp"] = [r.get("pp") for r in res]
    out["pred_error"] = [r.get("error") or r.get("reason") or "" for r in res]
    return out


def default_sources() -> list[Path]:
    """The shared calibration set (where present) and the packaged gathered sets."""
    paths = [DEFAULT_DATA] if DEFAULT_DATA.exists() else []
    return paths + [p for p in (_packaged(n) for n in PACKAGED_SETS) if p.exists()]


def load_default() -> pd.DataFrame:
    """Every default source (``default_sources``) in one table."""
    paths = default_sources()
    if not paths:
        raise InfraplanError(f"calibration data {str(DEFAULT_DATA)!r} does not exist; give --data")
    return pd.concat([load_measurements(p) for p in paths], ignore_index=True)


def calibrate(data: str | Path | None = None, out: str | Path | None = None) -> Efficiency:
    """Refit on ``data`` (default: ``default_sources``), write the table to ``out`` (default:
    the packaged table) and return the fitted ``Efficiency``.

    Nothing else changes: ``efficiency.packaged()`` keeps the table it read first in this
    process, so pass the returned table to whatever should use the new fit.
    """
    df = load_measurements(data) if data else load_default()
    names = Path(data).name if data else " + ".join(p.name for p in default_sources())
    prov = (f"fitted {date.today().isoformat()} on {int((df['measured'] > 0).sum())} rows of "
            f"{names} by infraplan perf calibrate")
    eff = fit(df, provenance=prov)
    path = Path(out) if out else default_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    eff.to_table().to_csv(path, index=False, float_format="%.6g")
    return eff


def cross_validate(df: pd.DataFrame, by: str, start: Efficiency | None = None,
                   processes: int = 1) -> pd.DataFrame:
    """Leave-one-group-out predictions: refit without each value of column ``by`` and predict
    the held-out rows with that fit. Returns ``df`` with a ``predicted_cv`` column."""
    df = df[df["measured"] > 0].copy()
    groups = sorted(df[by].unique())
    jobs = [(df, by, g, start) for g in groups]
    if processes > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(processes) as pool:
            parts = pool.map(_cv_one, jobs)
    else:
        parts = [_cv_one(j) for j in jobs]
    out = pd.concat(parts).sort_index()
    return out


def _cv_one(job: tuple[pd.DataFrame, str, Any, Efficiency | None]) -> pd.DataFrame:
    """One leave-one-group-out fold: fit without ``group``, predict its rows."""
    df, by, group, start = job
    train = df[df[by] != group]
    test = df[df[by] == group]
    eff = fit(train, start=start, passes=1)
    pred = predict_rows(test, eff)
    test = test.copy()
    test["predicted_cv"] = pred["predicted"].to_numpy()
    return test
