"""A run folder: ``results.json`` (the contract, strict JSON), one CSV per small table, the
hourly tables as Parquet, and ``solution.npz`` (the plain solution, to re-analyse the run).

Every file is written to a temporary name in the folder and renamed into place, so a crash
or Ctrl-C never leaves a half-written file under the final name.
"""

from __future__ import annotations

import json
import math
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from infraplan.analysis.results import HOURLY_TABLES, SMALL_TABLES, Results
from infraplan.errors import InfraplanError
from infraplan.model.solution import Solution
from infraplan.store.folder import atomic_file, safe_for_spreadsheets


def _csv(df: pd.DataFrame, path: Path) -> None:
    safe_for_spreadsheets(df).to_csv(path, index=False)


def _parquet(df: pd.DataFrame, path: Path) -> None:
    df.to_parquet(path, index=False)


def strict(o: Any) -> Any:
    """``o`` with NaN and infinities as None and numpy scalars as Python ones (strict JSON)."""
    if isinstance(o, dict):
        return {str(k): strict(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [strict(v) for v in o]
    if isinstance(o, np.ndarray):
        return strict(o.tolist())
    if isinstance(o, np.generic):
        o = o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, str | int | float | bool) or o is None:
        return o
    return str(o)


def write_results(
    res: Results, out_dir: str | Path, solution: Solution | None = None
) -> dict[str, Path]:
    """Write the run folder; returns the paths by file name."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    doc = strict(res.to_dict())
    text = json.dumps(doc, indent=1, allow_nan=False)
    paths["results.json"] = atomic_file(out / "results.json", lambda p: p.write_text(text))
    for name in SMALL_TABLES:
        df = res.tables.get(name)
        if df is not None:
            paths[f"{name}.csv"] = atomic_file(out / f"{name}.csv", partial(_csv, df))
    for name in HOURLY_TABLES:
        df = res.tables.get(name)
        if df is not None:
            paths[f"{name}.parquet"] = atomic_file(out / f"{name}.parquet", partial(_parquet, df))
    if solution is not None and solution.has_plan:
        paths["solution.npz"] = solution.save(out / "solution.npz")
    return paths


def load_results(path: str | Path) -> dict[str, Any]:
    """Parsed results.json of a run folder (or of the file itself); InfraplanError otherwise."""
    path = Path(path)
    file = path / "results.json" if path.is_dir() else path
    if not path.exists():
        msg = (
            f"no run folder {str(path)!r}: give the folder that `infraplan run FILE --out DIR` "
            "wrote (it holds results.json), e.g. infraplan explain out/gulf-partnership"
        )
        raise InfraplanError(msg)
    if not file.is_file():
        msg = (
            f"{str(path)!r} holds no results.json: run `infraplan run FILE --out {path}` first, "
            "or give the folder of a finished run"
        )
        raise InfraplanError(msg)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"{str(file)!r} is not a readable results.json ({exc}); run the scenario again"
        raise InfraplanError(msg) from None
    if not isinstance(data, dict) or "status" not in data:
        msg = f"{str(file)!r} is not an infraplan results.json (no 'status' key)"
        raise InfraplanError(msg)
    return data


def load_solution(folder: str | Path) -> Solution:
    """The solution stored in a run folder."""
    path = Path(folder) / "solution.npz"
    if not path.is_file():
        msg = f"{str(folder)!r} holds no solution.npz (a run without a plan, or an older run)"
        raise InfraplanError(msg)
    try:
        return Solution.load(path)
    except (OSError, ValueError, KeyError) as exc:
        msg = f"{str(path)!r} is not a readable infraplan solution ({exc})"
        raise InfraplanError(msg) from None


def hourly_table(folder: str | Path, name: str) -> pd.DataFrame:
    """One of the hourly tables of a run folder."""
    if name not in HOURLY_TABLES:
        msg = f"unknown hourly table {name!r}; allowed: {', '.join(HOURLY_TABLES)}"
        raise InfraplanError(msg)
    return pd.read_parquet(Path(folder) / f"{name}.parquet")
