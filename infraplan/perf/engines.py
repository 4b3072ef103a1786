"""Serving engines: labels, families and release dates.

An engine label names a family and, optionally, a version or a date:

- ``vllm``, ``sglang``, ``trtllm``, ``generic``: the family as of the newest calibrated date;
- ``vllm-0.6.0`` (or ``vllm==0.6.0``, ``vllm 0.6.0``): a released version, dated by
  ``data/engines.csv`` (first upload to PyPI);
- ``vllm@2024-09-05``: the family as of a date;
- ``mlperf-v4.1``: the software of an MLPerf Inference round (the round's publication date);
- aliases: ``tensorrt-llm``/``trt-llm`` = ``trtllm``, ``triton-trtllm`` = TensorRT-LLM 0.14.0
  behind Triton (the table of the v0.14 online-serving page).

The efficiency table holds one maturity factor per family at the reference date (TensorRT-LLM
0.17.0, the perf-overview table the physics is fitted against, is 1) and one growth rate per year
shared by all families; a version's factor is ``base[family] * exp(growth * (year - ref))`` with
the year held inside the dates the calibration data cover (``efficiency.ENGINE_DATE_RANGE``), so
a newer release than the data counts as the newest calibrated one until a recalibration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path

import pandas as pd

from infraplan.errors import InfraplanError, did_you_mean

FAMILIES = ("trtllm", "vllm", "sglang", "mlperf", "generic")
"""Engine families with a maturity factor; ``generic`` is an unnamed open engine (the geometric
mean of the fitted open families)."""
USER_FAMILIES = ("trtllm", "vllm", "sglang", "generic")
"""Families a scenario service may name (``mlperf`` labels measurement rounds)."""
REFERENCE_FAMILY = "trtllm"
REFERENCE_VERSION = "0.17.0"
ALIASES = {"tensorrt-llm": "trtllm", "trt-llm": "trtllm", "tensorrt_llm": "trtllm",
           "tensorrt": "trtllm", "trt": "trtllm", "triton-trtllm": "trtllm-0.14.0"}
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@dataclass(frozen=True)
class EngineRef:
    """A resolved engine label: family, version (blank: the family's newest) and date."""

    label: str
    family: str
    version: str
    released: date | None  # None: as of the newest calibrated date

    @property
    def text(self) -> str:
        """``vllm 0.6.0 (2024-09-05)`` / ``vllm (newest calibrated)`` for reports."""
        if self.version:
            when = f" ({self.released.isoformat()})" if self.released else ""
            return f"{self.family} {self.version}{when}"
        if self.released is not None:
            return f"{self.family} as of {self.released.isoformat()}"
        return f"{self.family} (newest calibrated)"


def decimal_year(d: date) -> float:
    """2024-07-02 -> 2024.5."""
    start = date(d.year, 1, 1)
    return d.year + (d - start).days / 365.25


def table_path() -> Path:
    """The packaged release-date table."""
    return Path(str(resources.files("infraplan.perf") / "data" / "engines.csv"))


@lru_cache(maxsize=1)
def releases() -> pd.DataFrame:
    """``family, version, release_date, source`` of every catalogued release (read once)."""
    t = pd.read_csv(table_path(), dtype=str, keep_default_na=False)
    t["release_date"] = pd.to_datetime(t["release_date"]).dt.date
    return t


def _release_date(family: str, version: str) -> date | None:
    t = releases()
    hit = t[(t["family"] == family) & (t["version"].str.lower() == version.lower())]
    return None if hit.empty else hit["release_date"].iloc[0]


def reference_date() -> date:
    """Release date of the reference engine (TensorRT-LLM 0.17.0)."""
    d = _release_date(REFERENCE_FAMILY, REFERENCE_VERSION)
    if d is None:  # the packaged table always has it
        raise InfraplanError("engines.csv: the reference engine's release date is missing")
    return d


def _unknown(label: str) -> InfraplanError:
    head = label.split("-")[0].split("@")[0]
    return InfraplanError(
        f"engine: unknown engine {label!r}.{did_you_mean(head, list(USER_FAMILIES))} Give a "
        f"family ({', '.join(USER_FAMILIES)}), optionally with a released version or a date, "
        "e.g. vllm-0.6.0 or vllm@2024-09-05; MLPerf rounds as mlperf-v4.0 ... mlperf-v5.1"
    )


def _split(label: str) -> tuple[str, str]:
    """``vllm-0.6.0`` -> (``vllm``, ``0.6.0``); ``vllm`` -> (``vllm``, ``""``)."""
    for fam in sorted(FAMILIES, key=len, reverse=True):
        if label == fam:
            return fam, ""
        for sep in ("==", "-", " ", "_", "@"):
            if label.startswith(fam + sep):
                rest = label[len(fam) + len(sep):].strip()
                return fam, ("@" + rest if sep == "@" else rest)
    return "", label


@lru_cache(maxsize=4096)
def resolve(label: str | None, strict: bool = True) -> EngineRef:
    """Resolve an engine label (blank: the reference TensorRT-LLM 0.17.0).

    ``strict=False`` maps a label nothing knows to ``generic`` (measurement rows of other
    engines); user input resolves strictly and an unknown label raises ``InfraplanError``.
    """
    raw = str(label or "").strip()
    if not raw:
        return EngineRef("", REFERENCE_FAMILY, REFERENCE_VERSION, reference_date())
    low = ALIASES.get(raw.lower(), raw.lower())
    if not low.startswith(tuple(FAMILIES)):  # tensorrt-llm-0.14.0 -> trtllm-0.14.0
        for alias in sorted(ALIASES, key=len, reverse=True):
            if alias != "triton-trtllm" and low.startswith(alias + "-"):
                low = "trtllm" + low[len(alias):]
                break
    fam, rest = _split(low)
    if not fam:
        if strict:
            raise _unknown(raw)
        return EngineRef(raw, "generic", "", None)
    if not rest:
        return EngineRef(raw, fam, "", None)
    if rest.startswith("@"):
        m = _DATE.match(rest[1:])
        if not m:
            if not strict:
                return EngineRef(raw, fam, "", None)
            raise InfraplanError(f"engine: {raw!r}: the date after '@' must be YYYY-MM-DD")
        try:
            when = date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            if not strict:
                return EngineRef(raw, fam, "", None)
            raise InfraplanError(f"engine: {raw!r}: {rest[1:]} is not a calendar date") from None
        return EngineRef(raw, fam, "", when)
    version = rest.lstrip("v") if fam != "mlperf" else "v" + rest.lstrip("v")
    released = _release_date(fam, version)
    if released is None:
        if not strict:
            return EngineRef(raw, fam, "", None)
        t = releases()
        vers = t.loc[t["family"] == fam, "version"].tolist()
        span = f"{vers[0]} ... {vers[-1]}" if vers else "none"
        raise InfraplanError(
            f"engine: {raw!r}: no release {version!r} of {fam} in the engine table (known: "
            f"{span}).{did_you_mean(version, vers)} Give a known version, or the family as of a "
            f"date ({fam}@YYYY-MM-DD)"
        )
    return EngineRef(raw, fam, version, released)
