"""Efficiency factors: the only fitted numbers of the performance model.

They live in ``infraplan/perf/data/efficiency.csv`` (written by ``infraplan perf calibrate``) with
columns ``parameter, family, engine, precision, value, n_rows, provenance``:

- ``eta_compute`` (family x precision class ``16``/``8``/``4``): achieved fraction of the dense
  datasheet peak in GEMMs and attention;
- ``eta_memory`` (family): achieved fraction of the HBM datasheet bandwidth;
- ``engine`` (engine family: trtllm, vllm, sglang, mlperf, generic): engine-maturity multiplier
  on both at the reference date (TensorRT-LLM 0.17.0 = 1), times
  ``exp(engine_growth_per_year * (release year - reference year))``, the year held within
  ``engine_year_min`` .. ``engine_year_max`` (the dates the calibration data cover);
- global scalars (family ``*``): ``step_overhead_ms`` (fixed time per engine iteration),
  ``seq_overhead_us`` (host time per sequence in flight per iteration: scheduling, sampling),
  ``allreduce_latency_us`` (latency of one all-reduce), ``link_efficiency`` (achieved fraction of
  the scale-up bandwidth), ``moe_efficiency`` (grouped expert GEMMs relative to dense GEMMs),
  ``roofline_sharpness`` (exponent k of the soft maximum (c^k + m^k)^(1/k) that combines the
  compute and memory time of an operator; k -> infinity is the hard roofline),
  ``power_derate_exponent`` (gamma: a PCIe/NVL card whose board power per peak FLOP is a
  fraction r < 1 of its family's SXM/OAM parts sustains r^gamma of the compute efficiency),
  ``fp4_gain`` (share of the extra FP4-over-FP8 datasheet peak that FP4 serving realises),
  ``tpot_short_share`` (output of the short requests that set the p99 time per output token
  under Poisson arrivals, as a share of the mean output; see ``serving.p99_tpot``).

Families without a fitted row fall back to a neighbour family (``FAMILY_FALLBACK``) and then to
the global row (family ``*``), which the fit writes as the row-weighted geometric mean of the
fitted families. A precision class without a fitted row falls back to the nearest class of the
same family (FP4 -> FP8 -> 16-bit) before the global value.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import pandas as pd

from infraplan.errors import InfraplanError
from infraplan.perf import engines as engine_labels

COLUMNS = ["parameter", "family", "engine", "precision", "value", "n_rows", "provenance"]

#: hardware families without calibration rows borrow from their closest measured relative
FAMILY_FALLBACK: dict[str, list[str]] = {
    "blackwell-ultra": ["blackwell", "hopper"],
    "blackwell": ["hopper"],
    "hopper": [],
    "ada": ["ampere"],
    "ampere": ["ada"],
    "cdna4": ["cdna3"],
    "cdna3": [],
    "gaudi": [],
    "tpu": [],
}
PRECISION_FALLBACK = {"4": ["8", "16"], "8": ["16"], "16": ["8"]}

#: priors used before any calibration and as the centre of the regularised fit
DEFAULTS = {
    "eta_compute": 0.55,
    "eta_memory": 0.75,
    "engine": 1.0,
    "step_overhead_ms": 2.0,
    "seq_overhead_us": 5.0,
    "allreduce_latency_us": 12.0,
    "link_efficiency": 0.7,
    "moe_efficiency": 0.85,
    "expert_gemm_n0": 128.0,
    "roofline_sharpness": 3.0,
    "power_derate_exponent": 0.4,
    "fp4_gain": 0.3,
    "tpot_short_share": 0.25,
    "engine_growth_per_year": 0.0,
    "engine_year_min": 2023.0,
    "engine_year_max": 2025.9,
}
GLOBALS = ("step_overhead_ms", "seq_overhead_us", "allreduce_latency_us", "link_efficiency",
           "moe_efficiency", "expert_gemm_n0", "roofline_sharpness", "power_derate_exponent",
           "fp4_gain", "tpot_short_share", "engine_growth_per_year", "engine_year_min",
           "engine_year_max")
REFERENCE_ENGINE = "trtllm"


@dataclass(frozen=True)
class Efficiency:
    """Lookup over an efficiency table with documented fallbacks.

    Treated as immutable: the functions of ``infraplan.perf`` take it as an argument and cache
    results per instance (identity hash), so never mutate one after use; build a new one.
    """

    compute: Mapping[tuple[str, str], float] = field(default_factory=dict)  # (family, cls)
    memory: Mapping[str, float] = field(default_factory=dict)  # family -> value
    engines: Mapping[str, float] = field(default_factory=dict)  # engine -> value
    scalars: Mapping[str, float] = field(default_factory=dict)  # name -> value
    table: pd.DataFrame | None = None  # the rows it was built from (``from_table``)

    def __hash__(self) -> int:  # identity hash so instances can key caches
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other

    def eta_compute(self, family: str, cls: str) -> float:
        """Compute efficiency of ``family`` at precision class ``cls`` (with fallbacks)."""
        for fam in [family, *FAMILY_FALLBACK.get(family, [])]:
            for c in [cls, *PRECISION_FALLBACK.get(cls, [])]:
                if (fam, c) in self.compute:
                    return self.compute[(fam, c)]
        for c in [cls, *PRECISION_FALLBACK.get(cls, [])]:
            if ("*", c) in self.compute:
                return self.compute[("*", c)]
        return DEFAULTS["eta_compute"]

    def eta_memory(self, family: str) -> float:
        """HBM bandwidth efficiency of ``family`` (with fallbacks)."""
        for fam in [family, *FAMILY_FALLBACK.get(family, []), "*"]:
            if fam in self.memory:
                return self.memory[fam]
        return DEFAULTS["eta_memory"]

    def engine(self, name: str | None) -> float:
        """Maturity multiplier of engine ``name`` (blank: the reference TensorRT-LLM 0.17.0, 1).

        ``base[family] * exp(growth * (year - reference year))``, the year of the release (or
        the newest calibrated year for a bare family name) held inside the calibrated years;
        families without a row use ``generic``, then 1 (see ``infraplan.perf.engines``).
        """
        ref = engine_labels.resolve(name, strict=False)
        return self.engine_at(ref)

    def engine_at(self, ref: engine_labels.EngineRef) -> float:
        """``engine`` for a resolved label."""
        base = self.engines.get(ref.family, self.engines.get("generic", 1.0))
        if ref.family == engine_labels.REFERENCE_FAMILY:
            base = 1.0
        lo, hi = self.scalar("engine_year_min"), self.scalar("engine_year_max")
        year = engine_labels.decimal_year(ref.released) if ref.released is not None else hi
        year = min(max(year, lo), hi)
        ref_year = engine_labels.decimal_year(engine_labels.reference_date())
        return float(base * math.exp(self.scalar("engine_growth_per_year") * (year - ref_year)))

    def check_engine(self, name: str | None) -> None:
        """Refuse an engine label nothing knows (it would silently count as another engine)."""
        engine_labels.resolve(name, strict=True)

    def scalar(self, name: str) -> float:
        """A global scalar (``GLOBALS``), its prior when the table lacks it."""
        return float(self.scalars.get(name, DEFAULTS[name]))

    def to_table(self) -> pd.DataFrame:
        """The rows this lookup was built from (``COLUMNS``), as ``from_table`` got them."""
        if self.table is None:
            raise InfraplanError("efficiency table: built without rows (use from_table)")
        return self.table

    @classmethod
    def from_table(cls, table: pd.DataFrame) -> Efficiency:
        """Build the lookup from table rows (columns ``COLUMNS``); bad rows raise."""
        missing = [c for c in COLUMNS if c not in table.columns]
        if missing:
            raise InfraplanError(f"efficiency table: missing columns {missing}; expected {COLUMNS}")
        compute: dict[tuple[str, str], float] = {}
        memory: dict[str, float] = {}
        engines: dict[str, float] = {}
        scalars: dict[str, float] = {}
        values = table["value"].to_numpy(dtype=float)
        for param, family, engine, precision, value in zip(
            table["parameter"], table["family"], table["engine"], table["precision"], values,
            strict=True,
        ):
            fam = str(family).strip() or "*"
            if param == "eta_compute":
                compute[(fam, str(precision).strip())] = float(value)
            elif param == "eta_memory":
                memory[fam] = float(value)
            elif param == "engine":
                engines[str(engine).strip() or "*"] = float(value)
            elif param in GLOBALS:
                scalars[str(param)] = float(value)
            else:
                raise InfraplanError(
                    f"efficiency table: unknown parameter {param!r}; allowed: eta_compute, "
                    f"eta_memory, engine, {', '.join(GLOBALS)}"
                )
        return cls(compute=compute, memory=memory, engines=engines, scalars=scalars, table=table)

    @classmethod
    def defaults(cls) -> Efficiency:
        """The priors (``DEFAULTS``): the table before any calibration."""
        rows: list[tuple[str, str, str, str, float, int, str]] = [
            ("eta_compute", "*", "", "16", DEFAULTS["eta_compute"], 0, "prior"),
            ("eta_compute", "*", "", "8", DEFAULTS["eta_compute"], 0, "prior"),
            ("eta_memory", "*", "", "", DEFAULTS["eta_memory"], 0, "prior"),
            ("engine", "", REFERENCE_ENGINE, "", 1.0, 0, "reference"),
        ] + [(g, "*", "", "", DEFAULTS[g], 0, "prior") for g in GLOBALS]
        return cls.from_table(pd.DataFrame(rows, columns=COLUMNS))


def default_path() -> Path:
    """Where the packaged table lives (``infraplan/perf/data/efficiency.csv``)."""
    return Path(str(resources.files("infraplan.perf") / "data" / "efficiency.csv"))


def read_table(path: str | Path) -> pd.DataFrame:
    """Read an efficiency table CSV (columns ``COLUMNS``) as strings and numbers."""
    path = Path(path)
    if not path.exists():
        raise InfraplanError(f"efficiency table {str(path)!r} does not exist")
    try:
        table = pd.read_csv(path, dtype={"family": str, "engine": str, "precision": str},
                            keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError,
            OSError) as exc:
        msg = (f"efficiency table {str(path)!r} is not a readable CSV ({_one_line(exc)}); give "
               "a table written by `infraplan perf calibrate --out`")
        raise InfraplanError(msg) from None
    return table


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line."""
    return " ".join(str(exc).split())


def load(path: str | Path) -> Efficiency:
    """An ``Efficiency`` from a table file (not cached: every call reads the file)."""
    return Efficiency.from_table(read_table(path))


@lru_cache(maxsize=1)
def _read_packaged() -> Efficiency:
    path = default_path()
    if not path.exists():
        return Efficiency.defaults()
    return load(path)


_PACKAGED_LOCK = threading.Lock()


def packaged() -> Efficiency:
    """The packaged fit (``data/efficiency.csv``; the priors if the file is absent).

    Read once per process and shared: a cached read of a package file, not a setting. The lock
    makes concurrent first calls return the same object (the object keys capacity caches).
    After ``infraplan perf calibrate`` rewrote the file, use the table ``calibrate`` returns or
    ``load(default_path())``; this keeps returning what it read first.
    """
    with _PACKAGED_LOCK:
        return _read_packaged()
