"""Governance rule packs: pack data, dates, each rule kind on hand-worked cases, the pipeline."""

from __future__ import annotations

import copy
import datetime as dt
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from infraplan.cli import _register, app
from infraplan.demand import demand_table
from infraplan.errors import InfraplanError
from infraplan.pipeline import SOLVE_ONLY, run
from infraplan.policy import compile_policy, registry
from infraplan.policy.vocab import SECTOR_DEFAULT, USE_CASES
from infraplan.scenario import load_scenario, parse_scenario

_register()
ROOT = Path(__file__).resolve().parents[1]
POLICY_MD = Path("/work/shared/reference/policy.md")


def scenario(base: dict[str, Any], **changes: Any) -> Any:
    data = copy.deepcopy(base)
    data.update(changes)
    return parse_scenario(data)


def eu(base: dict[str, Any], use_case: str, sector: str = "education", **svc: Any) -> Any:
    data = copy.deepcopy(base)
    data["regions"][0].update(country="DEU", lat=52.5, lon=13.4)
    data["sites"][0].update(country="DEU", lat=50.1, lon=8.7)
    data["services"][0].update(sector=sector, use_case=use_case, **svc)
    data["policy_packs"] = ["eu-ai-act"]
    return parse_scenario(data)


# --- pack data -------------------------------------------------------------------------------


def test_every_shipped_pack_validates_and_every_rule_has_a_source():
    names = registry.pack_names()
    assert {"eu-ai-act", "gdpr-transfers", "uae-data", "ksa-pdpl", "in-dpdp",
            "us-export-controls", "de-enefg", "eu-eed-reporting", "frameworks"} <= set(names)
    ids: list[str] = []
    for name in names:
        pack = registry.load_pack(name)
        assert pack.pack == name
        for rule in pack.rules:
            assert rule.source.strip(), rule.id
            assert rule.article.strip(), rule.id
            assert rule.confidence in ("A", "B", "C")
            ids.append(rule.id)
            if rule.effect.kind == "obligation" and (rule.effect.one_off_usd
                                                     or rule.effect.annual_usd):
                assert rule.effect.cost_source, f"{rule.id}: a priced obligation cites its cost"
    assert len(ids) == len(set(ids)), "rule ids are unique across packs"


@pytest.mark.skipif(not POLICY_MD.exists(), reason="shared policy research not present")
def test_rule_ids_come_from_the_policy_research():
    text = POLICY_MD.read_text()
    for name in registry.pack_names():
        for rule in registry.load_pack(name).rules:
            # derived ids (SUS-DE-ENEFG-PUE, EC-US-2023-D5) extend a researched one
            parts = rule.id.split("-")
            assert any("-".join(parts[:k]) in text for k in range(len(parts), 1, -1)), rule.id


def test_every_group_and_country_a_selector_names_is_known():
    from infraplan import catalog

    groups = set(registry.groups())
    for name in registry.pack_names():
        for rule in registry.load_pack(name).rules:
            sel = rule.applies_to
            named = [*(sel.regions or []), *(sel.sites or [])]
            if rule.effect.kind == "residency":
                named += [a for a in rule.effect.allowed if a != "home"]
            for n in named:
                assert n in groups or catalog.iso_country_name(n), (rule.id, n)


def test_use_case_vocabulary_covers_the_required_uses():
    required = {"chat-assistant", "document-drafting", "tutoring", "exam-scoring",
                "admission-decision", "proctoring", "emotion-recognition", "emergency-triage",
                "clinical-decision-support", "benefits-eligibility", "credit-scoring",
                "crime-risk-profiling", "remote-biometric-identification",
                "incident-summarisation", "translation", "code-assistant", "research-assistant",
                "video-generation", "election-content"}
    assert required <= set(USE_CASES)
    assert set(SECTOR_DEFAULT.values()) <= set(USE_CASES)


# --- references and dates --------------------------------------------------------------------


def test_pack_references_and_as_of_dates():
    assert registry.parse_ref("eu-ai-act") == ("eu-ai-act", None)
    assert registry.parse_ref("us-export-controls@2025-02") == (
        "us-export-controls", dt.date(2025, 2, 28))
    assert registry.parse_ref("de-enefg@2026-07-15")[1] == dt.date(2026, 7, 15)
    with pytest.raises(ValueError, match="gdpr-transfers"):
        registry.parse_ref("gdpr")
    with pytest.raises(ValueError, match="not a date"):
        registry.parse_ref("eu-ai-act@2025-13")
    with pytest.raises(ValueError, match="@YYYY-MM"):
        registry.parse_ref("EU AI Act")


def test_scenario_refuses_unknown_and_repeated_packs(base_scenario):
    with pytest.raises(InfraplanError, match=r"policy_packs\[0\].*Did you mean 'eu-ai-act'"):
        scenario(base_scenario, policy_packs=["eu-ai-akt"])
    with pytest.raises(InfraplanError, match="more than once"):
        scenario(base_scenario, policy_packs=["eu-ai-act", "eu-ai-act@2025-06"])


def test_omnibus_moves_annex_iii_dates_from_its_adoption_on():
    rule = next(r for r in registry.load_pack("eu-ai-act").rules if r.id == "EU-AIA-A3-3")
    assert registry.rule_dates(rule, dt.date(2026, 5, 31))[0] == dt.date(2026, 8, 2)
    assert registry.rule_dates(rule, dt.date(2026, 6, 29))[0] == dt.date(2027, 12, 2)
    assert registry.rule_dates(rule, dt.date(2024, 1, 1)) is None  # not yet law


def test_pack_dates_switch_obligations_on_at_the_right_year(base_scenario, fixed_perf):
    data = copy.deepcopy(base_scenario)
    data["horizon"] = {"start_year": 2026, "end_year": 2028, "decision_year": 2024}
    before = eu(data, "exam-scoring")
    for as_of, first in (("2026-05", 2026), ("2026-11", 2027)):
        scn = before.model_copy(update={"policy_packs": [f"eu-ai-act@{as_of}"]})
        gov = compile_policy(scn)
        row = next(r for r in gov.compliance_rows if r["rule"] == "EU-AIA-A3-3")
        assert row["first_year"] == first
        years = scn.horizon.years
        paid = [y for y, c in zip(years, row["cost_by_year_usd"], strict=True) if c > 0]
        assert paid[0] == first
        assert row["cost_by_year_usd"][years.index(first)] == pytest.approx(52800 + 20350)


# --- each rule kind on a hand-worked case ----------------------------------------------------


def test_emotion_recognition_in_education_is_refused_in_the_eu(base_scenario, fixed_perf):
    scn = eu(base_scenario, "emotion-recognition")
    gov = compile_policy(scn)
    (row,) = gov.classifications
    assert row["class"] == "prohibited"
    assert "EU-AIA-5f" in row["rules"]
    assert row["start_date"] is None
    (msg,) = gov.messages
    assert msg.startswith("EU-AIA-5f: emotion recognition in education institutions")
    assert "prohibited in the EU from 2 Feb 2025" in msg
    assert "Regulation (EU) 2024/1689, Art. 5(1)(f)" in msg
    # the same service outside the EU is not refused
    data = copy.deepcopy(base_scenario)
    data["services"][0].update(sector="education", use_case="emotion-recognition")
    data["policy_packs"] = ["eu-ai-act"]
    out = compile_policy(parse_scenario(data))
    assert out.classifications[0]["class"] == "minimal"
    assert not out.messages


def test_exam_scoring_and_emergency_triage_are_high_risk_with_a_cost(base_scenario):
    for use_case, sector, rule, point in (
        ("exam-scoring", "education", "EU-AIA-A3-3", "Annex III point 3"),
        ("emergency-triage", "health", "EU-AIA-A3-5", "Annex III point 5"),
    ):
        gov = compile_policy(eu(base_scenario, use_case, sector))
        (row,) = gov.classifications
        assert row["class"] == "high-risk"
        assert rule in row["rules"]
        assert row["obligations"]
        assert row["cost_usd"] > 0
        assert point in row["source"]
        assert any("5(d)" in (r.notes or "") for r in registry.load_pack("eu-ai-act").rules
                   if r.id == rule) or use_case != "emergency-triage"


def test_a_prohibition_removes_exactly_its_flows(base_scenario):
    data = copy.deepcopy(base_scenario)
    data["regions"].append({"id": "r2", "country": "FRA", "population": 500_000,
                            "internet_share": 1.0, "lat": 48.9, "lon": 2.35})
    data["services"].append({**data["services"][0], "id": "tutor"})
    data["services"][0].update(sector="education", use_case="emotion-recognition")
    data["services"][1].update(sector="education", use_case="tutoring")
    data["policy_packs"] = ["eu-ai-act"]
    scn = parse_scenario(data)
    gov = compile_policy(scn)
    plain = demand_table(scn).set_index(["year", "hour_utc", "region", "service"])
    masked = demand_table(scn, gov.demand_mask).set_index(["year", "hour_utc", "region",
                                                           "service"])
    gone = plain["requests_per_s"] - masked["requests_per_s"]
    removed = gone[gone > 0].index.get_level_values
    assert set(zip(removed("region"), removed("service"), strict=True)) == {("r2", "chat")}
    assert masked.xs(("r2", "chat"), level=("region", "service"))["requests_per_s"].eq(0).all()


def test_a_pack_residency_rule_equals_the_same_rule_by_hand(base_scenario, fixed_perf):
    data = copy.deepcopy(base_scenario)
    data["services"][0]["data_class"] = "health"
    data["services"][0]["use_case"] = "clinical-decision-support"
    data["sites"].append({**data["sites"][0], "id": "s2", "country": "SAU", "lat": 24.7,
                          "lon": 46.7, "power_price_usd_mwh": 20})
    data["accelerators"] = ["h100-sxm", "h200-sxm"]
    packed = scenario(data, policy_packs=["uae-data"])
    by_hand = scenario(data, residency=[{"data_class": "health", "regions": ["r1"],
                                         "allowed_countries": ["ARE"]}])
    free = scenario(data)
    a = run(packed, steps=SOLVE_ONLY)
    b = run(by_hand, steps=SOLVE_ONLY)
    c = run(free, steps=SOLVE_ONLY)
    assert a.objective_usd == pytest.approx(b.objective_usd, rel=1e-9)
    assert a.inputs.loads["allowed_sites"].tolist() == ["s1"]
    assert a.inputs.loads["allowed_sites"].tolist() == b.inputs.loads["allowed_sites"].tolist()
    # the rule binds: cheaper Saudi power is out of reach
    assert c.objective_usd < a.objective_usd


def test_a_scenario_residency_rule_overrides_the_pack_for_its_regions(base_scenario):
    data = copy.deepcopy(base_scenario)
    data["services"][0].update(data_class="health", use_case="clinical-decision-support")
    gov = compile_policy(scenario(data, policy_packs=["uae-data"], residency=[
        {"data_class": "health", "allowed_countries": ["ARE", "SAU"]}]))
    assert len(gov.scenario.residency) == 1  # the pack's rule was dropped for r1
    assert "overridden" in gov.constraints[0]["what"]


def test_caps_and_chip_prohibitions_follow_the_export_regime_of_the_date(base_scenario):
    data = copy.deepcopy(base_scenario)
    data["accelerators"] = ["h100-sxm", "h200-sxm", "b200"]
    data["sites"].append({**data["sites"][0], "id": "cn", "country": "CHN", "lat": 31.2,
                          "lon": 121.5, "utc_offset": 8})
    caps = {}
    for as_of in ("2025-03", "2025-06", "2026-11"):
        gov = compile_policy(scenario(data, policy_packs=[f"us-export-controls@{as_of}"]))
        caps[as_of] = {c.name: c for c in gov.scenario.chip_caps}
        cn = next(s for s in gov.scenario.sites if s.id == "cn")
        allowed = set(cn.accelerators or [])
        assert "b200" not in allowed  # TPP >= 21,000: denied throughout
        # Hopper (TPP 15,831) to China: denied until 14 Jan 2026, case-by-case after
        assert ("h200-sxm" in allowed) == (as_of == "2026-11")
    diffusion = caps["2025-03"]["EC-US-DIFFUSION ARE"]
    assert diffusion.unit == "tpp"
    assert diffusion.amount == 790_000_000
    assert "EC-US-DIFFUSION ARE" not in caps["2025-06"]  # rescinded on 13 May 2025
    assert "EC-US-UAE-2025 ARE" in caps["2026-11"]
    assert "EC-US-UAE-2025 ARE" not in caps["2025-06"]
    assert caps["2026-11"]["EC-US-UAE-2025 ARE"].accelerators == ["b200"]


def test_site_rules_exclude_a_site_above_the_pue_limit_and_price_renewables(base_scenario):
    data = copy.deepcopy(base_scenario)
    data["horizon"] = {"start_year": 2026, "end_year": 2027, "decision_year": 2024}
    data["sites"][0].update(country="DEU", lat=50.1, lon=8.7, pue=1.1, renewable_share=0.3)
    data["sites"].append({**data["sites"][0], "id": "hot", "pue": 1.35})
    gov = compile_policy(scenario(data, policy_packs=["de-enefg"]))
    hot = next(s for s in gov.scenario.sites if s.id == "hot")
    assert hot.power_mw == 0.0
    premium = 10.0  # energy.renewable_premium_usd_mwh default
    assert gov.premium_usd_mwh["s1"] == pytest.approx([0.2 * premium, 0.7 * premium])
    assert any(c["what"].startswith("hot: site excluded: design PUE 1.35 above 1.2")
               for c in gov.constraints)


def test_site_rule_premium_raises_the_energy_cost_by_the_certificates(base_scenario, fixed_perf):
    data = copy.deepcopy(base_scenario)
    data["sites"][0].update(country="DEU", lat=50.1, lon=8.7, pue=1.1)
    data["regions"][0].update(country="DEU", lat=52.5, lon=13.4)
    data["services"][0]["use_case"] = "chat-assistant"
    without = run(scenario(data), steps=("inputs", "build", "solve", "analyse"))
    with_ = run(scenario(data, policy_packs=["de-enefg"]),
                steps=("inputs", "build", "solve", "analyse"))
    mwh = float(without.results.metrics["energy_mwh"])
    assert with_.inputs.premium_usd_mwh is not None
    df = without.coef.df[0]
    added = with_.results.costs_usd["energy"] - without.results.costs_usd["energy"]
    assert added == pytest.approx(mwh * 10.0 * df, rel=1e-6)


def test_obligation_costs_are_a_cost_component_in_the_optimum(base_scenario, fixed_perf):
    plain = run(eu(base_scenario, "tutoring"), steps=("inputs", "build", "solve", "analyse"))
    risky = run(eu(base_scenario, "exam-scoring"), steps=("inputs", "build", "solve", "analyse"))
    comp = risky.results.costs_usd["compliance"]
    assert comp == pytest.approx((52800 + 20350) * risky.coef.df[0])
    assert risky.objective_usd == pytest.approx(plain.objective_usd + comp, rel=1e-9)
    assert risky.results.objective_usd == pytest.approx(risky.objective_usd, rel=1e-9)


def test_rule_costs_equal_the_re_solve_difference_and_caps_cost_at_least_zero(
        base_scenario, fixed_perf):
    data = copy.deepcopy(base_scenario)
    data["accelerators"] = ["h100-sxm", "h200-sxm", "b200"]
    data["services"][0]["use_case"] = "chat-assistant"
    scn = scenario(data, policy_packs=["us-export-controls@2025-03"])
    main = run(scn, steps=(*SOLVE_ONLY, "analyse", "rules"), workers=1)
    rc = {r["rule"]: r for r in main.results.governance["rule_costs"]}
    assert set(rc) == {"EC-US-DIFFUSION"}
    without = run(scn, steps=SOLVE_ONLY,
                  governance=compile_policy(scn, disabled=["EC-US-DIFFUSION"]))
    cost = rc["EC-US-DIFFUSION"]["cost_usd"]
    assert cost == pytest.approx(main.objective_usd - without.objective_usd, abs=1e-3)
    assert cost >= -1e-6


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(use_case=st.sampled_from(sorted(USE_CASES)),
       sector=st.sampled_from(sorted(SECTOR_DEFAULT)),
       data_class=st.sampled_from(["public", "personal", "health", "sensitive"]),
       country=st.sampled_from(["DEU", "FRA", "ARE", "SAU", "IND", "USA"]))
def test_classification_is_total_and_eu_law_stays_in_the_eu(base_scenario, use_case, sector,
                                                            data_class, country):
    data = copy.deepcopy(base_scenario)
    data["regions"][0]["country"] = country
    data["services"][0].update(use_case=use_case, sector=sector, data_class=data_class)
    data["policy_packs"] = registry.pack_names()
    gov = compile_policy(parse_scenario(data))
    (row,) = gov.classifications
    assert row["class"] in ("prohibited", "high-risk", "limited", "minimal")
    if country not in ("DEU", "FRA"):
        assert not any(r.startswith("EU-AIA") for r in row["rules"])
    if row["class"] == "prohibited":
        assert gov.demand_mask[("chat", "r1")] == [0.0]
    if row["class"] == "high-risk":
        assert row["obligations"]


# --- the examples and the CLI ----------------------------------------------------------------


@pytest.mark.parametrize("example", ["gulf-partnership.yaml", "eu-member-state.yaml"])
def test_policy_check_classifies_every_service_and_region_quickly(example):
    path = ROOT / "examples" / example
    t0 = time.perf_counter()
    res = CliRunner().invoke(app, ["policy", "check", str(path)])
    took = time.perf_counter() - t0
    assert res.exit_code == 0, res.output
    scn = load_scenario(path)
    gov = compile_policy(scn)
    pairs = {(s.id, r) for s in scn.services for r in (s.regions or [x.id for x in scn.regions])}
    assert {(c["service"], c["region"]) for c in gov.classifications} == pairs
    assert took < 5.0
    assert "Sources" in res.output
    if example == "eu-member-state.yaml":
        assert "EU-AIA-5f: Regulation (EU) 2024/1689, Art. 5(1)(f)" in " ".join(res.output.split())


def test_policy_cli_list_show_and_errors():
    runner = CliRunner()
    out = runner.invoke(app, ["policy", "list"])
    assert out.exit_code == 0
    assert "eu-ai-act" in out.output
    out = runner.invoke(app, ["policy", "show", "us-export-controls@2025-03", "--json"])
    assert out.exit_code == 0
    assert re.search(r'"id": "EC-US-DIFFUSION"', out.output)
    bad = subprocess.run([sys.executable, "-m", "infraplan", "policy", "show", "gdrp-transfers"],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 1
    assert "Did you mean 'gdpr-transfers'" in bad.stderr
    assert "Traceback" not in bad.stderr + bad.stdout


@pytest.mark.slow
def test_gulf_example_with_packs_plans_as_the_hand_written_rules():
    src = (ROOT / "examples" / "gulf-partnership.yaml").read_text()
    packed = load_scenario(ROOT / "examples" / "gulf-partnership.yaml")
    gov = compile_policy(packed)
    by_hand = packed.model_copy(update={"policy_packs": [], "residency": gov.scenario.residency,
                                        "chip_caps": gov.scenario.chip_caps})
    a = run(packed, steps=SOLVE_ONLY)
    b = run(by_hand, steps=SOLVE_ONLY)
    assert a.objective_usd == pytest.approx(b.objective_usd, rel=1e-6)
    assert "EC-US-UAE-2025" in src
    build_a = np.asarray(a.solution.primal["build"])
    build_b = np.asarray(b.solution.primal["build"])
    assert np.allclose(build_a, build_b, rtol=1e-6, atol=1e-6)


def test_governance_reaches_results_report_and_summary(base_scenario, fixed_perf, tmp_path):
    from infraplan.cli.plan_cmd import governance_text
    from infraplan.report import write_report

    data = copy.deepcopy(base_scenario)
    data["regions"][0].update(country="DEU", lat=52.5, lon=13.4)
    data["sites"][0].update(country="DEU", lat=50.1, lon=8.7, pue=1.1)
    data["services"][0].update(sector="education", use_case="exam-scoring")
    data["services"].append({**data["services"][0], "id": "monitor",
                             "use_case": "emotion-recognition"})
    data["policy_packs"] = ["eu-ai-act", "de-enefg"]
    # workers=1: the re-solves run here, with the fixed test capacities
    res = run(parse_scenario(data), steps=("inputs", "build", "solve", "analyse", "rules"),
              workers=1)
    doc = res.results.to_dict()
    gov = doc["governance"]
    classes = {(c["service"], c["class"]) for c in gov["classifications"]}
    assert classes == {("chat", "high-risk"), ("monitor", "prohibited")}
    assert any(m.startswith("EU-AIA-5f") for m in doc["warnings"])
    costs = {r["rule"]: r for r in gov["rule_costs"]}
    assert costs["EU-AIA-A3-3"]["cost_usd"] == pytest.approx(doc["costs_usd"]["compliance"],
                                                            rel=1e-6)
    assert costs["EU-AIA-5f"]["cost_usd"] < 0  # the plan without the ban serves more
    assert costs["SUS-DE-ENEFG-RES"]["cost_usd"] > 0
    line = governance_text(doc)
    assert "1 prohibited, 1 high-risk" in line
    assert "EU-AIA-A3-3" in line
    html = write_report(doc, tmp_path / "report.html").read_text()
    section = html[html.index('<section id="governance">'):]
    section = section[:section.index("</section>")]
    for text in ("EU-AIA-5f", "high-risk", "prohibited", "What each rule costs", "data_map"):
        assert text in section
    # the stored scenario is the one written: re-planning it applies the packs again
    assert doc["scenario_input"]["policy_packs"] == ["eu-ai-act", "de-enefg"]
    assert doc["scenario_input"]["residency"] == []


@pytest.mark.slow
def test_rule_re_solves_in_parallel_processes_match_the_serial_ones(base_scenario):
    data = copy.deepcopy(base_scenario)
    data["accelerators"] = ["h100-sxm", "h200-sxm", "b200"]
    data["regions"][0].update(country="DEU", lat=52.5, lon=13.4)
    data["sites"][0].update(country="DEU", lat=50.1, lon=8.7, pue=1.1)
    data["services"][0].update(sector="education", use_case="exam-scoring")
    scn = parse_scenario({**data, "policy_packs": ["eu-ai-act", "de-enefg"]})
    steps = ("inputs", "build", "solve", "analyse", "rules")
    serial = run(scn, steps=steps, workers=1).results.governance["rule_costs"]
    parallel = run(scn, steps=steps, workers=2).results.governance["rule_costs"]
    assert [r["rule"] for r in serial] == [r["rule"] for r in parallel]
    for a, b in zip(serial, parallel, strict=True):
        assert a["cost_usd"] == pytest.approx(b["cost_usd"], rel=1e-9, abs=1e-6)


def test_guidance_is_listed_and_never_changes_the_plan(base_scenario):
    data = copy.deepcopy(base_scenario)
    data["services"][0]["use_case"] = "chat-assistant"
    scn = scenario(data, policy_packs=["frameworks"])
    gov = compile_policy(scn)
    rules = {g["rule"] for g in gov.guidance}
    assert {"FW-OECD", "FW-UNESCO", "FW-NIST-RMF", "FW-UAE-CHARTER"} <= rules  # r1 is in ARE
    assert "FW-SDAIA" not in rules
    assert gov.scenario == scn
    assert not gov.demand_mask
    assert not any(gov.compliance_usd)
    assert not gov.effective
    assert gov.classifications[0]["class"] == "minimal"


def test_a_misspelt_use_case_gets_a_did_you_mean(base_scenario):
    data = copy.deepcopy(base_scenario)
    data["services"][0]["use_case"] = "exam-scorng"
    with pytest.raises(InfraplanError) as err:
        parse_scenario(data)
    (problem,) = err.value.problems
    assert problem.startswith("services[0].use_case: Input should be 'chat-assistant'")
    assert problem.endswith("(got 'exam-scorng'). Did you mean 'exam-scoring'?")


def test_a_hand_written_pack_with_a_yearly_cap_and_a_chip_ban(base_scenario, tmp_path,
                                                             monkeypatch):
    pack = """
pack: test-pack
title: a test pack
law: Test Act
version: 2026-01-01
jurisdiction: ARE
description: caps by year and a chip ban
rules:
  - id: TEST-CAP
    title: yearly import cap
    article: Art. 1
    source: test
    confidence: A
    effective_from: 2020-01-01
    applies_to: {sites: [ARE], accelerators: {family: [hopper]}}
    effect: {kind: cap, amount: {2027: 100, 2028: 50}, period: annual}
  - id: TEST-BAN
    title: no Blackwell at the site
    article: Art. 2
    source: test
    confidence: A
    effective_from: 2020-01-01
    applies_to: {sites: [GCC], accelerators: {tpp: {min: 21000}}}
    effect: {kind: prohibit, target: accelerator}
"""
    (tmp_path / "test-pack.yaml").write_text(pack)
    monkeypatch.setattr(registry, "PACK_DIR", tmp_path)
    registry.load_pack.cache_clear()
    try:
        data = copy.deepcopy(base_scenario)
        data["horizon"] = {"start_year": 2027, "end_year": 2028, "decision_year": 2025}
        data["accelerators"] = ["h100-sxm", "b200"]
        gov = compile_policy(scenario(data, policy_packs=["test-pack"]))
        (cap,) = gov.scenario.chip_caps
        assert cap.amount == {2027: 100.0, 2028: 50.0}
        assert cap.accelerators == ["h100-sxm"]
        assert cap.country == "ARE"
        assert gov.scenario.sites[0].accelerators == ["h100-sxm"]
        assert set(gov.effective) == {"TEST-CAP", "TEST-BAN"}
    finally:
        registry.load_pack.cache_clear()


PARENT = """
import multiprocessing, os, sys, time
from concurrent.futures import ProcessPoolExecutor
from infraplan.pipeline import _quiet_worker

def task(_):
    print("noise from the worker", flush=True)
    time.sleep(60)
    return os.getpid()

if __name__ == "__main__":
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=ctx, initializer=_quiet_worker) as pool:
        fut = pool.submit(task, 0)
        time.sleep(4)
        print(",".join(str(p) for p in pool._processes), flush=True)
        fut.result()
"""


def test_a_killed_run_leaves_no_rule_re_solve_process_behind(tmp_path):
    """Regression (slow fault test, SIGKILL during the rule re-solves): the spawned workers kept
    the terminal's stderr open and ran on, so the killed run's pipe never closed."""
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    children = [int(x) for x in line.strip().split(",") if x]
    assert children
    proc.kill()
    t0 = time.perf_counter()
    out, err = proc.communicate(timeout=30)  # returns: no child holds the pipes
    assert time.perf_counter() - t0 < 10
    assert "noise from the worker" not in out + err
    time.sleep(0.5)
    for pid in children:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(
            f"/proc/{pid}/status").read_text().lower()
