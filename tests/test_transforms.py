"""Scenario transforms: `update` by path and `restrict` to a subset of regions, sites, partners."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from infraplan.errors import InfraplanError
from infraplan.scenario import (
    Economics,
    Restricted,
    Scenario,
    load_scenario,
    parse_scenario,
    restrict,
    update,
)

ROOT = Path(__file__).resolve().parents[1]
GULF_REGIONS = ["uae", "ksa", "qatar", "france", "germany"]
GULF_SITES = [
    "abu-dhabi",
    "dubai",
    "riyadh",
    "dammam",
    "doha",
    "paris",
    "frankfurt",
    "lulea",
    "texas",
]


@cache
def gulf() -> Scenario:
    return load_scenario(ROOT / "tests" / "fixtures" / "gulf-handwritten.yaml")


def message(exc: pytest.ExceptionInfo[InfraplanError]) -> str:
    return str(exc.value)


# ---------------------------------------------------------------- update


def test_update_by_index_and_by_id() -> None:
    scn = gulf()
    new = update(
        scn,
        {
            "services[2].tpot_ms": 30,
            "services[education-tutor].ttft_ms": 1200,
            "sites[paris].power_mw": {2030: 50, 2028: 10},
            "chip_caps[GB200 allocation to the partnership].amount.2031": 7000,
            "regions[-1].name": "Deutschland",
        },
    )
    assert isinstance(new, Scenario)
    assert new.services[2].tpot_ms == 30
    assert new.services[3].id == "education-tutor"
    assert new.services[3].ttft_ms == 1200
    paris = next(s for s in new.sites if s.id == "paris")
    assert paris.power_mw == {2028: 10.0, 2030: 50.0}
    assert list(paris.power_mw) == [2028, 2030]  # type: ignore[arg-type]
    assert new.chip_caps[2].amount == {2027: 1000.0, 2029: 5000.0, 2031: 7000.0}
    assert new.regions[-1].name == "Deutschland"


def test_update_leaves_the_original_unchanged() -> None:
    scn = gulf()
    before = scn.model_dump()
    new = update(scn, {"services[0].tpot_ms": 45, "economics": {"server_lifetime_years": 4}})
    assert scn.model_dump() == before
    assert new is not scn
    assert new.services[0].tpot_ms == 45
    with pytest.raises(ValidationError):
        new.services[0].tpot_ms = 1  # type: ignore[misc]  # frozen


def test_update_does_not_alias_the_value() -> None:
    value = {2027: 10.0}
    new = update(gulf(), {"sites[paris].power_mw": value})
    value[2027] = 99.0
    assert next(s for s in new.sites if s.id == "paris").power_mw == {2027: 10.0}


def test_update_creates_optional_keys(base_scenario: dict[str, Any]) -> None:
    scn = parse_scenario(base_scenario)  # no energy, no capex budget, no network budget override
    new = update(
        scn,
        {
            "energy.carbon_price_usd_per_t": 80,
            "economics.capex_budget_usd.2027": 5e8,
            "services[chat].precision": "fp8",
            "horizon.base_year": 2026,
        },
    )
    assert new.energy.carbon_price_usd_per_t == 80
    assert new.economics.capex_budget_usd == {2027: 5e8}
    assert new.services[0].precision == "fp8"
    assert new.horizon.base_year == 2026


def test_update_replaces_a_sub_object(base_scenario: dict[str, Any]) -> None:
    scn = parse_scenario(base_scenario)
    assert scn.economics.unserved_usd_per_mtok == 20
    new = update(scn, {"economics": {"server_lifetime_years": 4}})
    assert new.economics.server_lifetime_years == 4
    assert new.economics.unserved_usd_per_mtok == Economics().unserved_usd_per_mtok  # default
    # a key set after its sub-object was replaced in the same update
    new = update(scn, {"economics": {"server_lifetime_years": 4}, "economics.it_om_fraction": 0.04})
    assert (new.economics.server_lifetime_years, new.economics.it_om_fraction) == (4, 0.04)
    # a model instance works as the value too
    new = update(scn, {"economics": Economics(facility_lifetime_years=25)})
    assert new.economics.facility_lifetime_years == 25


def test_update_quoted_id_and_id_lists(base_scenario: dict[str, Any]) -> None:
    base_scenario["services"][0]["id"] = "2027"
    base_scenario["accelerators"] = ["h100-sxm", "h200-sxm"]
    scn = parse_scenario(base_scenario)
    new = update(scn, {"services['2027'].tpot_ms": 80, "accelerators[h200-sxm]": "b200"})
    assert new.services[0].tpot_ms == 80
    assert new.accelerators == ["h100-sxm", "b200"]


@pytest.mark.parametrize(
    ("path", "expect"),
    [
        ("services[3].tpot_msec", ["unknown key 'tpot_msec'", "Did you mean 'tpot_ms'?"]),
        ("servics[0].tpot_ms", ["unknown key 'servics'", "Did you mean 'services'?"]),
        (
            "services[education-tutr].tpot_ms",
            ["no item with id", "Did you mean 'education-tutor'?"],
        ),
        ("sites[pariss].power_mw", ["no item with id 'pariss'", "Did you mean 'paris'?"]),
        ("chip_caps[UAE Blackwell license].amount", ["Did you mean 'UAE Blackwell licence'?"]),
        ("services[9].tpot_ms", ["index 9 is out of range", "0 to 5"]),
        ("residency[gdpr].source", ["have no id", "by index"]),
        ("services[0].tpot_ms.x", ["services[0].tpot_ms is a value", "not a mapping"]),
        ("services.tpot_ms", ["services is a list, not a mapping"]),
        ("services[0", ["never closed", "A path is"]),
        ("services[0]..tpot_ms", ["a key is missing", "A path is"]),
        ("services[0]tpot_ms", ["unexpected 't'", "A path is"]),
    ],
)
def test_update_bad_path_names_it(path: str, expect: list[str]) -> None:
    with pytest.raises(InfraplanError) as info:
        update(gulf(), {path: 1})
    text = message(info)
    assert text.startswith(f"update {path!r}: "), text
    assert "\n" not in text  # one paragraph
    for part in expect:
        assert part in text, text


@pytest.mark.parametrize(
    ("path", "value", "expect"),
    [
        ("services[0].tpot_ms", -5, "services[0].tpot_ms: Input should be greater than 0"),
        ("services[health-triage].tpot_ms", -5, "services[2].tpot_ms: Input should be greater"),
        ("economics", {"server_lifetim_years": 4}, "Did you mean 'server_lifetime_years'?"),
        ("sites[paris].power_mw", {}, "empty {year: value} mapping"),
        ("services[0].regions[0]", "mars", "unknown region 'mars'"),
        ("horizon.end_year", 2020, "end_year (2020) is before start_year (2027)"),
    ],
)
def test_update_invalid_value_gives_validation_message(path: str, value: Any, expect: str) -> None:
    with pytest.raises(InfraplanError) as info:
        update(gulf(), {path: value})
    assert info.value.message.startswith(f"update {path!r}: the changed scenario is not valid")
    assert any(p.startswith(f"changing {path}: ") and expect in p for p in info.value.problems), (
        info.value.problems
    )


# ---------------------------------------------------------------- restrict


def region_refs(dump: Any) -> set[str]:
    """Every region id a reference field names (``regions`` lists of strings), at any depth."""
    return _refs(dump, ("regions",))


def site_refs(dump: Any) -> set[str]:
    """Every site id a reference field names (``sites``, ``allowed_sites`` lists of strings)."""
    return _refs(dump, ("sites", "allowed_sites"))


def _refs(node: Any, keys: tuple[str, ...]) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for k, v in node.items():
            if k in keys and isinstance(v, list) and all(isinstance(i, str) for i in v):
                found |= set(v)
            found |= _refs(v, keys)
    elif isinstance(node, list):
        for v in node:
            found |= _refs(v, keys)
    return found


def check_restricted(res: Restricted, regions: set[str], sites: set[str]) -> None:
    scn = res.scenario
    dump = scn.model_dump()
    Scenario.model_validate(dump)  # validates as a whole, again
    assert {r.id for r in scn.regions} == regions
    assert {s.id for s in scn.sites} == sites
    assert region_refs(dump) <= regions
    assert site_refs(dump) <= sites
    # no reference list was emptied (an empty list would read as "all")
    assert all(s.regions is None or s.regions for s in scn.services)
    assert all(r.regions is None or r.regions for r in scn.residency)
    assert all(t.sites is None or t.sites for t in scn.training)


def test_restrict_gulf_to_two_regions() -> None:
    scn = gulf()
    before = scn.model_dump()
    res = restrict(scn, regions=["uae", "ksa"], sites=["abu-dhabi", "riyadh", "paris"])
    assert isinstance(res, Restricted)
    check_restricted(res, {"uae", "ksa"}, {"abu-dhabi", "riyadh", "paris"})
    assert scn.model_dump() == before
    assert "research-assistant" not in {s.id for s in res.scenario.services}
    assert any("'research-assistant'" in d and "all its regions" in d for d in res.dropped)
    assert any("GDPR" in d and "all its regions were removed" in d for d in res.dropped)
    assert len(res.scenario.residency) == 3
    assert res.scenario.residency[1].regions == ["ksa"]
    assert res.scenario.residency[2].regions is None  # "all" stays "all"
    assert res.scenario.services[0].regions == ["uae", "ksa"]
    assert any("'qatar'" in d and "citizen-assistant" in d for d in res.dropped)


def test_restrict_none_keeps_everything() -> None:
    res = restrict(gulf())
    assert res.scenario == gulf()
    assert res.dropped == []


def test_restrict_partners() -> None:
    res = restrict(gulf(), partners=["uae-gov", "gulf-fund"])
    assert [p.id for p in res.scenario.partners] == ["uae-gov", "gulf-fund"]
    assert any("ai-provider" in d and "eu-partners" in d for d in res.dropped)


def test_restrict_filters_residency_sites_and_training(base_scenario: dict[str, Any]) -> None:
    base_scenario["regions"].append({**base_scenario["regions"][0], "id": "r2"})
    base_scenario["sites"] += [
        {**base_scenario["sites"][0], "id": "s2"},
        {**base_scenario["sites"][0], "id": "s3"},
    ]
    base_scenario["residency"] = [
        {"data_class": "public", "regions": ["r2"], "allowed_sites": ["s2"]},
        {"data_class": "public", "allowed_sites": ["s2", "s3"]},
        {"data_class": "public", "allowed_countries": ["home"], "allowed_sites": ["s2"]},
    ]
    base_scenario["training"] = [
        {"id": "t-s2", "flops": 1e20, "deadline_year": 2027, "sites": ["s2"]},
        {"id": "t-s12", "flops": 1e20, "deadline_year": 2027, "sites": ["s1", "s2"]},
        {"id": "t-any", "flops": 1e20, "deadline_year": 2027},
    ]
    res = restrict(parse_scenario(base_scenario), regions=["r1"], sites=["s1", "s3"])
    check_restricted(res, {"r1"}, {"s1", "s3"})
    rules = res.scenario.residency
    # the r2-only rule is gone; the others keep applying, with fewer allowed hosts, never more
    assert [(r.regions, r.allowed_sites) for r in rules] == [(None, ["s3"]), (None, None)]
    assert [t.id for t in res.scenario.training] == ["t-s12", "t-any"]
    assert res.scenario.training[0].sites == ["s1"]
    assert any("'t-s2'" in d and "all its sites were removed" in d for d in res.dropped)
    # a rule left with no host at all is kept (its data may go nowhere) and said so
    res = restrict(parse_scenario(base_scenario), sites=["s1"])
    assert [r.allowed_sites for r in res.scenario.residency] == [None, None, None]
    assert sum("allows no host at all" in d for d in res.dropped) == 2


@pytest.mark.parametrize(
    ("kwargs", "expect"),
    [
        ({"regions": ["uae", "kas"]}, "Did you mean 'ksa'?"),
        ({"sites": ["abu-dabi"]}, "Did you mean 'abu-dhabi'?"),
        ({"partners": ["uae-govt"]}, "Did you mean 'uae-gov'?"),
        ({"regions": []}, "no region would remain"),
        ({"sites": []}, "no site would remain"),
        ({"regions": "uae"}, "must be a list of ids"),
    ],
)
def test_restrict_errors(kwargs: dict[str, Any], expect: str) -> None:
    with pytest.raises(InfraplanError) as info:
        restrict(gulf(), **kwargs)
    assert expect in message(info)


def test_restrict_fails_when_no_service_remains(base_scenario: dict[str, Any]) -> None:
    base_scenario["regions"].append({**base_scenario["regions"][0], "id": "r2"})
    base_scenario["services"][0]["regions"] = ["r1"]
    with pytest.raises(InfraplanError) as info:
        restrict(parse_scenario(base_scenario), regions=["r2"])
    assert "no service would remain" in message(info)
    assert "'chat'" in message(info)


@settings(max_examples=60, deadline=None)
@given(
    regions=st.sets(st.sampled_from(GULF_REGIONS), min_size=1),
    sites=st.sets(st.sampled_from(GULF_SITES), min_size=1),
)
def test_restrict_property(regions: set[str], sites: set[str]) -> None:
    try:
        res = restrict(gulf(), regions=sorted(regions), sites=sorted(sites))
    except InfraplanError:
        return
    check_restricted(res, regions, sites)
