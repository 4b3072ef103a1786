"""Built-in catalog: accelerators, models, countries and candidate sites, each row with its source.

The tables are CSV files in ``catalog/data``; their columns (type, unit, description) are declared
as data in ``catalog/data/schema/<table>.csv`` after PyPSA's component-attribute tables. Loaders
return pandas DataFrames indexed by the table's id, cached, and copies so callers may mutate them.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any, cast

import numpy as np
import pandas as pd

from infraplan.errors import InfraplanError, UnknownIdError

TABLES: dict[str, str] = {
    "accelerators": "id",
    "models": "id",
    "countries": "iso3",
    "sites": "id",
}

_DTYPES: dict[str, Any] = {"str": "string", "int": "Int64", "float": "float64"}


def _data_path(name: str) -> str:
    return str(resources.files("infraplan.catalog") / "data" / name)


@cache
def schema(table: str) -> pd.DataFrame:
    """Attribute table of a catalog table: type, unit, default and description per column."""
    if table not in TABLES:
        raise UnknownIdError("catalog table", table, TABLES)
    return pd.read_csv(
        _data_path(f"schema/{table}.csv"), dtype=str, keep_default_na=False
    ).set_index("attribute")


@cache
def _load(table: str) -> pd.DataFrame:
    sch = schema(table)
    raw = pd.read_csv(_data_path(f"{table}.csv"), dtype=str, keep_default_na=False)
    missing = [c for c in sch.index if c not in raw.columns]
    extra = [c for c in raw.columns if c not in sch.index]
    if missing or extra:
        msg = f"catalog table {table}: columns missing {missing}, undeclared {extra}"
        raise InfraplanError(msg)
    out = pd.DataFrame(index=raw.index)
    for col, row in sch.iterrows():
        kind = row["type"]
        values = raw[col].str.strip()
        if kind == "str":
            out[col] = values.astype("string")
            continue
        filled = values.where(values != "", row["default"] or "")
        num = pd.to_numeric(filled.replace("", None), errors="coerce")
        if (filled != "").any() and num[filled != ""].isna().any():
            bad = raw.loc[num.isna() & (filled != ""), str(col)].tolist()
            msg = f"catalog table {table}: column {col} has non-numeric values {bad}"
            raise InfraplanError(msg)
        out[col] = num.astype(_DTYPES[kind])
    key = TABLES[table]
    if out[key].duplicated().any():
        msg = f"catalog table {table}: duplicate ids {out[key][out[key].duplicated()].tolist()}"
        raise InfraplanError(msg)
    if "source" in out and (out["source"].fillna("") == "").any():
        bad = out[key][out["source"].fillna("") == ""].tolist()
        msg = f"catalog table {table}: rows without a source: {bad}"
        raise InfraplanError(msg)
    return out.set_index(key)


def table(name: str) -> pd.DataFrame:
    """Return a copy of catalog table ``name`` (accelerators, models, countries, sites)."""
    if name not in TABLES:
        raise UnknownIdError("catalog table", name, TABLES)
    return _load(name).copy()


def accelerators() -> pd.DataFrame:
    """Accelerator specifications, indexed by id (see schema('accelerators') for units)."""
    return table("accelerators")


def models() -> pd.DataFrame:
    """Model architectures, indexed by id."""
    return table("models")


def countries() -> pd.DataFrame:
    """Countries (population, internet share, power price, carbon), indexed by ISO3."""
    return table("countries")


def sites() -> pd.DataFrame:
    """Candidate datacenter sites, indexed by id."""
    return table("sites")


@cache
def iso_country_name(iso3: str) -> str | None:
    """The ISO 3166-1 name of an alpha-3 code (catalog or not), or None for an unknown code."""
    if iso3 in _load("countries").index:
        return str(_load("countries").loc[iso3, "country"])
    import pycountry

    found = pycountry.countries.get(alpha_3=iso3) if len(iso3) == 3 and iso3.isupper() else None
    return str(found.name) if found is not None else None


def country_row(iso3: str) -> pd.Series:
    """The catalog row of a country, or for any other ISO 3166-1 country a row with its name and
    no figures (NaN), which the scenario must then state (validation requires them)."""
    data = _load("countries")
    if iso3 in data.index:
        return cast(pd.Series, data.loc[iso3])
    values: dict[str, object] = dict.fromkeys(data.columns, np.nan)
    values["country"] = iso_country_name(iso3) or iso3
    return pd.Series(values, dtype=object)


def row(name: str, key: str, field: str | None = None) -> pd.Series:
    """One row of a catalog table; unknown ids raise UnknownIdError with a did-you-mean hint."""
    data = _load(name)
    if key not in data.index:
        raise UnknownIdError(name.rstrip("s"), key, data.index, field=field)
    return cast(pd.Series, data.loc[key]).copy()  # ids are unique: one row


def parse_year_steps(text: str) -> dict[int, float]:
    """Parse ``"2026:200;2028:1000"`` into ``{2026: 200.0, 2028: 1000.0}`` (a step function)."""
    steps: dict[int, float] = {}
    for part in filter(None, (p.strip() for p in str(text).split(";"))):
        year, _, value = part.partition(":")
        steps[int(year)] = float(value)
    return dict(sorted(steps.items()))


def step_value(steps: Mapping[int, float], year: int, before: float = 0.0) -> float:
    """Value of a year step function at ``year`` (``before`` ahead of the first step).

    The value of the latest step at or before ``year``; the mapping's key order does not matter.
    """
    start = max((y for y in steps if y <= year), default=None)
    return before if start is None else steps[start]


def year_values(value: object, years: list[int], default: float = 0.0) -> np.ndarray:
    """A constant, or a ``{year: value}`` step function, as an array over ``years``
    (``default`` before the first step); the mapping's key order does not matter."""
    if isinstance(value, Mapping):
        steps = dict(sorted((int(k), float(v)) for k, v in value.items()))
        return np.asarray([step_value(steps, y, before=default) for y in years], dtype=float)
    return np.full(len(years), float(value))  # type: ignore[arg-type]


def tpp(bf16_tflops: float, fp8_tflops: float | None, fp4_tflops: float | None) -> float:
    """Export-control TPP = 2 x MacTOPS x bit length = dense TFLOP/s x bits, max over formats."""
    candidates = [bf16_tflops * 16]
    if fp8_tflops and fp8_tflops == fp8_tflops:
        candidates.append(fp8_tflops * 8)
    if fp4_tflops and fp4_tflops == fp4_tflops:
        candidates.append(fp4_tflops * 4)
    return max(candidates)
