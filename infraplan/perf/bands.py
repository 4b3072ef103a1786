"""Error bands: how far measured throughput falls from the model's prediction out of sample.

``data/bands.csv`` holds, per serving mode x engine family x hardware family, the 10th, 50th and
90th percentiles of measured / predicted output throughput on rows the model was not fitted to
(leave-one-source-out refits of the calibration set, plus the external hold-out set), with the
number of rows behind each. It is written by ``benchmarks/perf_accuracy.py --write-bands``.

A prediction's band is read at the most specific level with at least ``MIN_ROWS`` rows:
(mode, engine, family) -> (mode, engine, *) -> (mode, *, family) -> (mode, *, *) -> (*, *, *).
A capacity at ``p10`` is the prediction times the P10 ratio: 90 % of the measured systems of
that kind reached at least that much.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ["mode", "engine", "hw_family", "n_rows", "p10", "p50", "p90", "provenance"]
MIN_ROWS = 10
LEVELS = ("p10", "p50", "p90")


@dataclass(frozen=True)
class Band:
    """Measured / predicted ratios at P10, P50 and P90 and where they come from."""

    p10: float
    p50: float
    p90: float
    n_rows: int
    level: str  # e.g. "server / mlperf / hopper" or "* / * / *"

    def factor(self, point: str) -> float:
        """Ratio at ``point`` (p10, p50 or p90); ``p50`` is the prediction itself (1)."""
        if point == "p50":
            return 1.0
        return float(getattr(self, point))

    @property
    def text(self) -> str:
        """``P10-P90 0.78-1.12 x prediction (n=90, server / * / *)``."""
        return (f"P10-P90 {self.p10:.2f}-{self.p90:.2f} x prediction "
                f"(n={self.n_rows}, {self.level})")


NO_BAND = Band(1.0, 1.0, 1.0, 0, "no out-of-sample rows")


def path() -> Path:
    """The packaged band table."""
    return Path(str(resources.files("infraplan.perf") / "data" / "bands.csv"))


@lru_cache(maxsize=1)
def table() -> pd.DataFrame:
    """The packaged band table (empty when absent)."""
    p = path()
    if not p.exists():
        return pd.DataFrame(columns=COLUMNS)
    return pd.read_csv(p, dtype={"mode": str, "engine": str, "hw_family": str},
                       keep_default_na=False)


@lru_cache(maxsize=1024)
def lookup(mode: str, engine: str, hw_family: str) -> Band:
    """Band of a prediction of ``mode`` on ``engine`` (family) and ``hw_family``."""
    t = table()
    if t.empty:
        return NO_BAND
    for key in ((mode, engine, hw_family), (mode, engine, "*"), (mode, "*", hw_family),
                (mode, "*", "*"), ("*", "*", "*")):
        hit = t[(t["mode"] == key[0]) & (t["engine"] == key[1]) & (t["hw_family"] == key[2])]
        if not hit.empty and int(hit["n_rows"].iloc[0]) >= MIN_ROWS:
            r = hit.iloc[0]
            return Band(float(r["p10"]), float(r["p50"]), float(r["p90"]), int(r["n_rows"]),
                        " / ".join(key))
    return NO_BAND


def build(df: pd.DataFrame, provenance: str) -> pd.DataFrame:
    """Band table from out-of-sample rows (columns ``mode, engine, hw_family, ratio`` with
    ratio = measured / predicted) at every level of the lookup."""
    df = df[np.isfinite(df["ratio"]) & (df["ratio"] > 0)]
    rows = []
    keys: tuple[list[str], ...] = (["mode", "engine", "hw_family"], ["mode", "engine"],
                                   ["mode", "hw_family"], ["mode"], [])
    for by in keys:
        groups = list(df.groupby(by)) if by else [((), df)]
        for name, g in groups:
            names = name if isinstance(name, tuple) else (name,)
            key = dict(zip(by, names, strict=True))
            q = np.quantile(g["ratio"].to_numpy(float), [0.1, 0.5, 0.9])
            rows.append({"mode": key.get("mode", "*"), "engine": key.get("engine", "*"),
                         "hw_family": key.get("hw_family", "*"), "n_rows": len(g),
                         "p10": round(float(q[0]), 4), "p50": round(float(q[1]), 4),
                         "p90": round(float(q[2]), 4), "provenance": provenance})
    return pd.DataFrame(rows, columns=COLUMNS)
