"""Batch predictions: a CSV of requests in, the same rows plus predictions out.

Input columns (``infraplan perf --batch``): ``model, accelerator, n_accel, tp, pp, precision,
isl, osl, mode, concurrency, ttft_p99_ms, tpot_p99_ms``; a blank cell means "choose it" (tp, pp,
precision, mode) or "none"; a blank ``isl`` takes the documented default (docs/perf.md).
Optional columns understood as well: ``qps``, ``n_requests``, ``beams``, ``max_osl`` (longest
output, KV reserved for it), ``engine`` and, as in
the calibration CSV, ``source_set``/``system``/``benchmark`` (engine and beams are inferred from
them, the offered rate of TensorRT-LLM v0.14 online-serving rows is looked up).

Output: the input rows plus ``predicted_output_tokens_per_s, predicted_ttft_ms,
predicted_tpot_ms, watts_per_accelerator, joules_per_output_token, error``. A row with an
unknown id, a bad value or an infeasible configuration gets its ``error`` filled and empty
predictions; the other rows are still predicted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from infraplan.errors import InfraplanError
from infraplan.perf import autoconfig, calibration
from infraplan.perf.efficiency import Efficiency

INPUT_COLUMNS = ["model", "accelerator", "n_accel", "tp", "pp", "precision", "isl", "osl",
                 "mode", "concurrency", "ttft_p99_ms", "tpot_p99_ms"]
OUTPUT_COLUMNS = ["predicted_output_tokens_per_s", "predicted_p10_output_tokens_per_s",
                  "predicted_p90_output_tokens_per_s", "predicted_ttft_ms", "predicted_tpot_ms",
                  "watts_per_accelerator", "joules_per_output_token", "error"]


def read(path: str | Path) -> pd.DataFrame:
    """Read a batch CSV as strings (blank cells stay ``""``); checks the required columns."""
    path = Path(path)
    if not path.exists():
        raise InfraplanError(f"--batch: file {str(path)!r} does not exist")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError,
            OSError) as exc:
        text = " ".join(str(exc).split())
        raise InfraplanError(f"--batch: {path} is not a readable CSV file ({text})") from None
    missing = [c for c in ("model", "accelerator", "osl") if c not in df.columns]
    if missing:
        raise InfraplanError(
            f"--batch: {path} lacks the columns {missing}; the columns are "
            f"{', '.join(INPUT_COLUMNS)} (blank cells allowed except model, accelerator, osl)"
        )
    return df


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as request dicts (strings; ``autoconfig.normalise`` validates them)."""
    work = df.copy()
    work["ttft_ms"] = work.get("ttft_p99_ms", "")
    work["tpot_ms"] = work.get("tpot_p99_ms", "")
    if "engine" not in work:
        if "source_set" in work:
            sys_col = work["system"] if "system" in work else pd.Series("", index=work.index)
            work["engine"] = [calibration.infer_engine(a, b)
                              for a, b in zip(work["source_set"], sys_col, strict=True)]
        else:
            work["engine"] = ""
    if "beams" not in work:
        bench = work["benchmark"] if "benchmark" in work else pd.Series("", index=work.index)
        work["beams"] = [calibration.beams_for(b) for b in bench]
    if "max_osl" not in work:
        bench = work["benchmark"] if "benchmark" in work else pd.Series("", index=work.index)
        work["max_osl"] = [str(calibration.max_osl_for(b) or "") for b in bench]
    if "qps" not in work:
        work["qps"] = ""
    if "n_requests" not in work:
        work["n_requests"] = ""
    mode = work["mode"].str.strip().str.lower() if "mode" in work else None
    if mode is not None and (mode == "qps").any() and (work["qps"] == "").any():
        _fill_qps(work, mode)
    cols = [c for c in calibration.FIELDS if c in work.columns]
    return [dict(zip(cols, row, strict=True)) for row in work[cols].itertuples(index=False)]


def _fill_qps(work: pd.DataFrame, mode: pd.Series) -> None:
    """Offered rate of TensorRT-LLM v0.14 online-serving rows (matched on the measured value)."""
    if "output_tokens_per_s" not in work:
        return
    table = pd.read_csv(calibration._packaged("trtllm_v0.14_online_serving.csv"))
    num = table[["isl", "osl", "output_tokens_per_s"]].to_numpy(dtype=float)
    look = {
        (model, accel, float(isl), float(osl), float(tps)): (rate, n_req)
        for model, accel, (isl, osl, tps), rate, n_req in zip(
            table["model"], table["accelerator"], num, table["qps"], table["n_requests"],
            strict=True)
    }
    for i in work.index[(mode == "qps") & (work["qps"] == "")]:
        try:
            key = (work.at[i, "model"], work.at[i, "accelerator"], _cell(work.at[i, "isl"]),
                   _cell(work.at[i, "osl"]), _cell(work.at[i, "output_tokens_per_s"]))
        except ValueError:
            continue
        if key in look:
            work.at[i, "qps"] = str(look[key][0])
            work.at[i, "n_requests"] = str(look[key][1])


def _cell(value: object) -> float:
    """``float`` of a cell (a string or a number); anything else raises ``ValueError``."""
    if isinstance(value, str | int | float | np.number):
        return float(value)
    raise ValueError(f"not a number: {value!r}")


def predict_frame(df: pd.DataFrame, eff: Efficiency | None = None) -> pd.DataFrame:
    """Predict every row of ``df`` (strings as read by ``read``) with the factor table ``eff``
    (default: the packaged fit); never raises for a bad row."""
    results = autoconfig.evaluate(_records(df), eff, errors="return", check_engines=True)
    out = df.copy()
    cols: dict[str, list[Any]] = {c: [] for c in OUTPUT_COLUMNS}
    for res in results:
        ok = bool(res.get("feasible")) and not res.get("error")
        err = res.get("error") or ("" if ok else res.get("reason") or "no configuration")
        tps = res["output_tokens_per_s"] if ok else np.nan
        cols["predicted_output_tokens_per_s"].append(tps)
        cols["predicted_p10_output_tokens_per_s"].append(tps * res.get("band_p10", 1.0))
        cols["predicted_p90_output_tokens_per_s"].append(tps * res.get("band_p90", 1.0))
        cols["predicted_ttft_ms"].append(res["ttft_ms"] if ok else np.nan)
        cols["predicted_tpot_ms"].append(res["tpot_ms"] if ok else np.nan)
        cols["watts_per_accelerator"].append(res["watts_per_accelerator"] if ok else np.nan)
        cols["joules_per_output_token"].append(res["joules_per_output_token"] if ok else np.nan)
        cols["error"].append(_one_line(err))
    for c in OUTPUT_COLUMNS:
        out[c] = cols[c]
    return out


def _one_line(text: str) -> str:
    """``text`` with runs of whitespace (newlines too) as single spaces (one CSV line)."""
    return " ".join(str(text).split())


def run(path: str | Path, out: str | Path | None = None, *,
        efficiency: Efficiency | None = None) -> pd.DataFrame:
    """Read ``path``, predict with ``efficiency`` (default: the packaged fit), write ``out``
    (if given) and return the frame."""
    result = predict_frame(read(path), efficiency)
    if out:
        from infraplan.store.folder import atomic_file, safe_for_spreadsheets

        safe = safe_for_spreadsheets(result)
        try:
            atomic_file(out, lambda p: safe.to_csv(p, index=False, float_format="%.6g"))
        except OSError as exc:
            msg = f"--out: cannot write {str(out)!r} ({exc.strerror or exc}); choose another path"
            raise InfraplanError(msg) from None
    return result


def summary(result: pd.DataFrame) -> str:
    """One line: rows predicted, rows with an error, MdAPE against a measured column if any."""
    n = len(result)
    bad = int((result["error"] != "").sum())
    text = f"{n} rows, {n - bad} predicted, {bad} with an error"
    if "output_tokens_per_s" in result:
        meas = pd.to_numeric(result["output_tokens_per_s"], errors="coerce")
        pred = result["predicted_output_tokens_per_s"]
        ok = meas.notna() & pred.notna() & (meas > 0)
        if ok.any():
            ape = (pred[ok] / meas[ok] - 1).abs()
            text += (f"; against the measured output_tokens_per_s: MdAPE "
                     f"{100 * float(ape.median()):.1f} %")
    return text


