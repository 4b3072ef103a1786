"""`{year: value}` inputs mean the same whatever their key order (regression for chip caps read
as 4 in 2028 from `{2028: 8, 2027: 4}`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from infraplan import catalog
from infraplan.errors import InfraplanError
from infraplan.model.inputs import chip_cap_rows
from infraplan.scenario import parse_scenario, schema

# (where the field lives in the scenario mapping, field name, the unsorted mapping, sorted dump)
SHARES = ({2028: 0.8, 2027: 0.4}, {2027: 0.4, 2028: 0.8})
AMOUNTS = ({2028: 8, 2027: 4}, {2027: 4.0, 2028: 8.0})
FIELDS: list[tuple[tuple[Any, ...], str, dict[int, Any], dict[int, float]]] = [
    (("economics",), "capex_budget_usd", *AMOUNTS),
    (("sites", 0), "power_mw", *AMOUNTS),
    (("services", 0), "adoption", *SHARES),
    (("chip_caps", 0), "amount", *AMOUNTS),
    (("energy",), "carbon_cap_t", *AMOUNTS),
    (("energy",), "renewable_share_min", *SHARES),
]


def _with(base: dict[str, Any], where: tuple[Any, ...], key: str, value: Any) -> dict[str, Any]:
    base.setdefault("chip_caps", [{"amount": 1}])
    base.setdefault("energy", {})
    target: Any = base
    for part in where:
        target = target[part]
    target[key] = value
    return base


def _dumped(dump: dict[str, Any], where: tuple[Any, ...], key: str) -> Any:
    target: Any = dump
    for part in where:
        target = target[part]
    return target[key]


@pytest.mark.parametrize(("where", "key", "given_", "expect"), FIELDS)
def test_year_mappings_are_sorted_at_validation(
    base_scenario: dict[str, Any],
    where: tuple[Any, ...],
    key: str,
    given_: dict[int, Any],
    expect: dict[int, float],
) -> None:
    scn = parse_scenario(_with(base_scenario, where, key, given_))
    got = _dumped(scn.model_dump(), where, key)
    assert got == expect
    assert list(got) == sorted(expect)
    assert all(isinstance(v, float) for v in got.values())


@pytest.mark.parametrize(("where", "key"), [(w, k) for w, k, _, _ in FIELDS])
def test_empty_year_mapping_is_refused(
    base_scenario: dict[str, Any], where: tuple[Any, ...], key: str
) -> None:
    with pytest.raises(InfraplanError) as info:
        parse_scenario(_with(base_scenario, where, key, {}))
    (line,) = info.value.problems
    assert "empty {year: value} mapping" in line
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in (*where, key))
    assert line.startswith(path.lstrip(".") + ": ")


def _models() -> list[type[BaseModel]]:
    return [
        m
        for m in vars(schema).values()
        if isinstance(m, type) and issubclass(m, schema.Strict) and m is not schema.Strict
    ]


def test_every_year_mapping_field_is_covered() -> None:
    # A new `| ByYear[...]` field must be added to FIELDS above (and so be tested).
    with_dicts = {
        name
        for model in _models()
        for name, field in model.model_fields.items()
        if "dict[" in str(field.annotation)
    }
    assert with_dicts == {key for _, key, _, _ in FIELDS}


def test_chip_cap_schedule_read_in_year_order(base_scenario: dict[str, Any]) -> None:
    base_scenario["horizon"].update(start_year=2026, end_year=2029)
    base_scenario["chip_caps"] = [{"amount": {2028: 8, 2027: 4}}]
    (row,) = chip_cap_rows(parse_scenario(base_scenario))
    assert row["amount"] == [0.0, 4.0, 8.0, 8.0]


@pytest.mark.parametrize("steps", [{2028: 8.0, 2027: 4.0}, {2027: 4.0, 2028: 8.0}])
def test_step_value_ignores_key_order(steps: dict[int, float]) -> None:
    assert catalog.step_value(steps, 2026, before=-1.0) == -1.0
    assert catalog.step_value(steps, 2027) == 4
    assert catalog.step_value(steps, 2028) == 8
    assert catalog.step_value(steps, 2029) == 8
    assert catalog.year_values(steps, [2026, 2027, 2028, 2029], np.inf).tolist() == [
        np.inf,
        4.0,
        8.0,
        8.0,
    ]


year_maps = st.dictionaries(
    st.integers(2000, 2100),
    st.floats(-1e12, 1e12, allow_nan=False),
    min_size=1,
    max_size=8,
)


@given(steps=year_maps, data=st.data(), year=st.integers(1990, 2110))
def test_step_value_and_year_values_independent_of_order(
    steps: dict[int, float], data: st.DataObject, year: int
) -> None:
    items = data.draw(st.permutations(list(steps.items())))
    shuffled = dict(items)
    assert catalog.step_value(shuffled, year, before=-7.0) == catalog.step_value(
        steps, year, before=-7.0
    )
    years = list(range(1995, 2106, 5))
    assert np.array_equal(
        catalog.year_values(shuffled, years, default=np.inf),
        catalog.year_values(steps, years, default=np.inf),
    )
    # and it is the value of the latest step at or before the year
    earlier = [y for y in steps if y <= year]
    assert catalog.step_value(shuffled, year, before=-7.0) == (
        steps[max(earlier)] if earlier else -7.0
    )
