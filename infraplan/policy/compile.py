"""Compile a scenario's rule packs into what the planning model uses, before it is built.

- prohibitions of a service remove its demand in the jurisdictions and years they apply to (a
  demand mask); prohibitions of a chip remove it from the sites they cover;
- residency rules become the scenario's residency rules (a scenario-level rule for the same
  data class and region overrides the pack's);
- caps become chip caps; site requirements exclude a site whose design PUE exceeds the limit
  and price the renewable-certificate shortfall per MWh (by year);
- obligations become a constant compliance cost by year (one-off in the first year, then
  yearly, per service and jurisdiction) and, when their lead time runs past the first decision
  year, a later start;
- guidance and information rules are listed, never enforced.

``compile_policy(scenario)`` returns a ``Governance``: the transformed scenario, the mask, the
cost terms and the tables the report and ``infraplan policy check`` show. ``disabled`` leaves
rules out, so that the cost of a rule is the plan with it minus the plan without it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from infraplan import catalog
from infraplan.policy import registry
from infraplan.policy.schema import (
    Cap,
    Guidance,
    Info,
    Obligation,
    Pack,
    Prohibit,
    Range,
    Residency,
    Rule,
    Selector,
    SiteRequirement,
)
from infraplan.policy.vocab import SECTOR_DEFAULT
from infraplan.scenario.schema import ChipCap, ResidencyRule, Scenario
from infraplan.units import as_float

CLASS_ORDER = {"minimal": 0, "limited": 1, "high-risk": 2, "prohibited": 3}


@dataclass
class Governance:
    """Compiled rule packs of one scenario."""

    scenario: Scenario
    """The scenario with pack residency rules, caps and site limits applied."""
    packs: list[dict[str, Any]] = field(default_factory=list)
    classifications: list[dict[str, Any]] = field(default_factory=list)
    constraints: list[dict[str, Any]] = field(default_factory=list)
    guidance: list[dict[str, Any]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    demand_mask: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    """(service, region) -> 1/0 per plan year, where a rule changes it."""
    compliance_usd: list[float] = field(default_factory=list)
    """Undiscounted compliance cost per plan year."""
    compliance_rows: list[dict[str, Any]] = field(default_factory=list)
    premium_usd_mwh: dict[str, list[float]] = field(default_factory=dict)
    """site -> renewable-certificate premium per facility MWh, per plan year."""
    effective: list[str] = field(default_factory=list)
    """Ids of the rules that change the plan's inputs (the ones a re-solve can cost)."""

    @property
    def active(self) -> bool:
        """True when the scenario names packs."""
        return bool(self.packs)

    def to_dict(self) -> dict[str, Any]:
        """The ``governance`` section of results.json (rule costs are added by the pipeline)."""
        return {
            "packs": self.packs,
            "classifications": self.classifications,
            "constraints": self.constraints,
            "guidance": self.guidance,
            "compliance": self.compliance_rows,
            "messages": self.messages,
        }


# ---------------------------------------------------------------------------------------------
# the component tables a selector sees


def service_rows(scn: Scenario) -> pd.DataFrame:
    """Services with the columns selectors may name (use_case defaulted from the sector)."""
    rows = [{"id": s.id, "sector": s.sector, "use_case": s.use_case or SECTOR_DEFAULT[s.sector],
             "defaulted": s.use_case is None, "data_class": s.data_class, "kind": s.kind,
             "model": s.model, "regions": s.regions} for s in scn.services]
    return pd.DataFrame(rows).set_index("id")


def _match_columns(row: dict[str, Any], want: dict[str, Any] | None) -> bool:
    for col, allowed in (want or {}).items():
        value = row.get(col)
        if isinstance(allowed, Range):
            try:
                x = float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                return False
            if x != x or not allowed.contains(x):  # NaN never matches
                return False
        elif str(value) not in allowed:
            return False
    return True


def _countries(names: list[str] | None, country: str, as_of: dt.date) -> bool:
    return names is None or registry.matches(country, names, as_of)


# ---------------------------------------------------------------------------------------------


def _fmt_date(d: dt.date) -> str:
    return f"{d.day} {d.strftime('%b %Y')}"


def _jurisdiction(pack: Pack) -> str:
    j = pack.jurisdiction
    if j in ("EU", "EEA"):
        return f"the {j}"
    name = catalog.iso_country_name(j) if len(j) == 3 and j.isupper() else None
    return name or j


def _cite(pack: Pack, rule: Rule) -> str:
    return f"{pack.law}, {rule.article}"


def _year_value(schedule: dict[dt.date, float], year: int) -> float:
    """The value in force at the end of ``year`` of a {date: value} schedule (0 before)."""
    out = 0.0
    for d, v in sorted(schedule.items()):
        if d.year <= year:
            out = v
    return out


def compile_policy(scn: Scenario, disabled: Iterable[str] = ()) -> Governance:
    """Compile ``scn.policy_packs`` (rules in ``disabled`` left out)."""
    gov = Governance(scenario=scn)
    if not scn.policy_packs:
        return gov
    off = set(disabled)
    years = scn.horizon.years
    ny = len(years)
    services = service_rows(scn)
    regions = {r.id: r.country for r in scn.regions}
    from infraplan.model.inputs import accelerator_table, site_table

    sites, power = site_table(scn)
    accels = accelerator_table(scn)
    site_accels = {s.id: list(s.accelerators or accels.index) for s in scn.sites}
    site_power = {s.id: as_float(power.loc[s.id].max()) for s in scn.sites}
    all_countries = sorted(set(catalog.table("countries").index) | set(sites["country"])
                           | set(regions.values()))

    mask: dict[tuple[str, str], list[float]] = {}
    fired: dict[tuple[str, str], list[tuple[Pack, Rule, list[int]]]] = {}
    residency: list[ResidencyRule] = []
    caps: list[ChipCap] = []
    banned: dict[str, set[str]] = {}
    excluded: dict[str, str] = {}
    premium: dict[str, list[float]] = {}
    compliance = [0.0] * ny
    effective: set[str] = set()

    for sid, srow in services[services["defaulted"]].iterrows():
        gov.warnings.append(
            f"services[{sid}]: no use_case; the packs classify it as "
            f"{srow['use_case']!r} (the {srow['sector']} default). "
            "State use_case (docs/policy.md lists the vocabulary)."
        )

    for ref in scn.policy_packs:
        name, pinned = registry.parse_ref(ref)
        pack = registry.load_pack(name)
        as_of = pinned or pack.version
        known = 0
        for rule in pack.rules:
            dates = registry.rule_dates(rule, as_of)
            if dates is None or rule.id in off:
                continue
            known += 1
            span = registry.year_span(dates, years)
            if not span:
                continue
            sel, eff = rule.applies_to, rule.effect
            row = {"rule": rule.id, "pack": name, "kind": eff.kind,
                   "source": f"{_cite(pack, rule)}; {rule.source}",
                   "from": dates[0].isoformat(),
                   "until": dates[1].isoformat() if dates[1] else None}
            if sel.sites is not None or sel.accelerators is not None:
                _site_rule(gov, pack, rule, row, span, as_of, sites, site_power, site_accels,
                           accels, caps, banned, excluded, premium, scn, years, effective)
                continue
            everywhere = sel.services is None and sel.regions is None
            matched = [] if everywhere else _service_matches(sel, services, regions, as_of)
            if not matched and not everywhere:
                continue
            if isinstance(eff, Guidance | Info) and everywhere:
                gov.guidance.append({"rule": rule.id, "pack": name, "title": rule.title,
                                     "kind": eff.kind, "principles": getattr(eff, "principles",
                                                                             []),
                                     "source": row["source"]})
                continue
            for key in matched:
                fired.setdefault(key, []).append((pack, rule, span))
            if isinstance(eff, Guidance):
                gov.guidance.append({"rule": rule.id, "pack": name, "title": rule.title,
                                     "kind": "guidance", "principles": eff.principles,
                                     "source": row["source"],
                                     "regions": sorted({r for _, r in matched})})
            elif isinstance(eff, Prohibit):
                _prohibit(gov, pack, rule, dates, row, matched, span, years, mask, effective)
            elif isinstance(eff, Residency):
                rr = _residency(pack, rule, eff, row, matched, services, regions, as_of,
                                all_countries, scn, gov)
                if rr:
                    residency.extend(rr)
                    effective.add(rule.id)
            elif isinstance(eff, Obligation):
                _obligation(gov, pack, rule, eff, row, dates, matched, span, years, scn, mask,
                            compliance, effective)
        gov.packs.append({"pack": name, "title": pack.title, "version": pack.version.isoformat(),
                          "as_of": as_of.isoformat(), "rules_known": known,
                          "rules": len(pack.rules), "jurisdiction": pack.jurisdiction})

    gov.classifications = _classify(services, regions, fired, mask, years, gov)
    gov.demand_mask = mask
    gov.compliance_usd = compliance
    gov.premium_usd_mwh = premium
    gov.effective = sorted(effective)
    gov.scenario = _apply(scn, residency, caps, banned, excluded, site_accels)
    return gov


def _service_matches(sel: Selector, services: pd.DataFrame, regions: dict[str, str],
                     as_of: dt.date) -> list[tuple[str, str]]:
    out = []
    for sid, srow in services.iterrows():
        if not _match_columns({str(k): v for k, v in srow.items()} | {"id": sid}, sel.services):
            continue
        for rid in srow["regions"] or list(regions):
            if _countries(sel.regions, regions[rid], as_of):
                out.append((str(sid), rid))
    return out


def _prohibit(gov: Governance, pack: Pack, rule: Rule, dates: tuple[dt.date, dt.date | None],
              row: dict[str, Any], matched: list[tuple[str, str]], span: list[int],
              years: list[int], mask: dict[tuple[str, str], list[float]],
              effective: set[str]) -> None:
    for key in matched:
        m = mask.setdefault(key, [1.0] * len(years))
        for i, y in enumerate(years):
            if y in span:
                m[i] = 0.0
    by_service: dict[str, list[str]] = {}
    for s, r in matched:
        by_service.setdefault(s, []).append(r)
    when = f" from {_fmt_date(dates[0])}" + (f" until {_fmt_date(dates[1])}" if dates[1] else "")
    for s, rs in by_service.items():
        yrs = f" in {span[0]}-{span[-1]}" if span != years else ""
        gov.messages.append(
            f"{rule.id}: {rule.title} is prohibited in {_jurisdiction(pack)}{when} "
            f"({_cite(pack, rule)}); service {s} is not planned for {', '.join(rs)}{yrs}."
        )
    gov.constraints.append({**row, "what": "demand removed: " + "; ".join(
        f"{s} in {', '.join(rs)}" for s, rs in by_service.items()) + f" ({span[0]}-{span[-1]})"})
    effective.add(rule.id)


def _residency(pack: Pack, rule: Rule, eff: Residency, row: dict[str, Any],
               matched: list[tuple[str, str]], services: pd.DataFrame, regions: dict[str, str],
               as_of: dt.date, universe: list[str], scn: Scenario,
               gov: Governance) -> list[ResidencyRule]:
    hosts = registry.expand([a for a in eff.allowed if a != "home"], as_of, universe)
    home = "home" in eff.allowed
    out: list[ResidencyRule] = []
    overridden: list[str] = []
    for dclass in eff.data_classes:
        regs = sorted({r for s, r in matched if services.loc[s, "data_class"] == dclass})
        keep = []
        for r in regs:
            if any((sr.regions is None or r in sr.regions)
                   and dclass in ([sr.data_class] if isinstance(sr.data_class, str)
                                  else sr.data_class)
                   for sr in scn.residency):
                overridden.append(f"{dclass} in {r}")
            else:
                keep.append(r)
        if keep:
            allowed = (["home"] if home else []) + hosts
            out.append(ResidencyRule(data_class=dclass, regions=keep, allowed_countries=allowed,
                                     source=f"{rule.id} ({_cite(pack, rule)})"))
    what = "; ".join(f"{r.data_class} data of {', '.join(r.regions or [])} served only from "
                     + ", ".join(eff.allowed) for r in out)
    if overridden:
        what += ("; " if what else "") + "overridden by the scenario's residency rules for " + \
            ", ".join(overridden)
    if what:
        gov.constraints.append({**row, "what": what})
    return out


def _obligation(gov: Governance, pack: Pack, rule: Rule, eff: Obligation, row: dict[str, Any],
                dates: tuple[dt.date, dt.date | None], matched: list[tuple[str, str]],
                span: list[int], years: list[int], scn: Scenario,
                mask: dict[tuple[str, str], list[float]], compliance: list[float],
                effective: set[str]) -> None:
    by_service: dict[str, list[str]] = {}
    for s, r in matched:
        by_service.setdefault(s, []).append(r)
    decision = scn.horizon.decision_year or years[0] - 1
    for s, rs in by_service.items():
        served = [i for i, y in enumerate(years) if y in span
                  and any(mask.get((s, r), [1.0] * len(years))[i] > 0 for r in rs)]
        if not served:
            continue
        cost = [0.0] * len(years)
        for k, i in enumerate(served):
            cost[i] += eff.annual_usd + (eff.one_off_usd if k == 0 else 0.0)
        start = None
        if eff.lead_time_months > 0 and dates[0].year <= years[0]:
            months = decision * 12 + round(eff.lead_time_months)
            start = dt.date(months // 12, months % 12 + 1, 1)
            first = start.year if (start.month, start.day) == (1, 1) else start.year + 1
            if first > years[0]:
                for r in rs:
                    m = mask.setdefault((s, r), [1.0] * len(years))
                    for i, y in enumerate(years):
                        if y < first:
                            m[i] = 0.0
                effective.add(rule.id)
        for i, c in enumerate(cost):
            compliance[i] += c
        if sum(cost) > 0:
            effective.add(rule.id)
        gov.compliance_rows.append({
            "rule": rule.id, "pack": pack.pack, "service": s, "jurisdiction": pack.jurisdiction,
            "regions": rs, "risk_class": eff.risk_class, "duties": eff.duties,
            "one_off_usd": eff.one_off_usd, "annual_usd": eff.annual_usd,
            "cost_usd": sum(cost), "cost_by_year_usd": cost,
            "first_year": years[served[0]],
            "start_date": start.isoformat() if start else None,
            "estimate": eff.estimate, "cost_source": eff.cost_source, "source": row["source"],
        })


def _site_rule(gov: Governance, pack: Pack, rule: Rule, row: dict[str, Any], span: list[int],
               as_of: dt.date, sites: pd.DataFrame, site_power: dict[str, float],
               site_accels: dict[str, list[str]], accels: pd.DataFrame, caps: list[ChipCap],
               banned: dict[str, set[str]], excluded: dict[str, str],
               premium: dict[str, list[float]], scn: Scenario, years: list[int],
               effective: set[str]) -> None:
    sel, eff = rule.applies_to, rule.effect
    hit = [k for k in sites.index if _countries(sel.sites, str(sites.loc[k, "country"]), as_of)]
    chips = [a for a in accels.index
             if _match_columns(accels.loc[a].to_dict() | {"id": a}, sel.accelerators)]
    if not hit:
        return
    if isinstance(eff, Prohibit):
        done = []
        for k in hit:
            gone = sorted(set(chips) & set(site_accels[k]))
            if gone:
                banned.setdefault(k, set()).update(gone)
                done.append(f"{', '.join(gone)} at {k}")
        if done:
            gov.constraints.append({**row, "what": "accelerators removed: " + "; ".join(done)})
            effective.add(rule.id)
            gov.messages.append(f"{rule.id}: {rule.title} is prohibited ({_cite(pack, rule)}); "
                                + "; ".join(done) + " not planned.")
    elif isinstance(eff, Cap):
        if not chips:
            gov.constraints.append({**row, "what": "no accelerator of the plan is covered"})
            return
        for country in sorted({str(sites.loc[k, "country"]) for k in hit}):
            caps.append(ChipCap(name=f"{rule.id} {country}", accelerators=chips, country=country,
                                amount=eff.amount, unit=eff.unit, period=eff.period,
                                source=f"{rule.id} ({_cite(pack, rule)})"))
            amount = (f"{eff.amount:,.0f}" if isinstance(eff.amount, float)
                      else ", ".join(f"{v:,.0f} from {y}" for y, v in sorted(eff.amount.items())))
            gov.constraints.append({**row, "what": f"{eff.period} import cap of {amount} "
                                    f"{eff.unit} into {country} on {', '.join(chips)}"})
        effective.add(rule.id)
    elif isinstance(eff, SiteRequirement):
        for k in hit:
            if site_power[k] < eff.min_it_mw:
                continue
            notes = []
            if eff.pue_max is not None:
                pue = float(sites.loc[k, "pue"])
                if pue > eff.pue_max + 1e-12:
                    excluded[k] = f"PUE {pue:g} > {eff.pue_max:g}"
                    notes.append(f"site excluded: design PUE {pue:g} above {eff.pue_max:g} "
                                 f"(state a pue of at most {eff.pue_max:g} for {k} if its "
                                 "design meets it)")
                    effective.add(rule.id)
                else:
                    notes.append(f"design PUE {pue:g} meets {eff.pue_max:g}")
            if eff.renewable_share_min:
                own = float(sites.loc[k, "renewable_share"])
                short = [max(0.0, _year_value(eff.renewable_share_min, y) - own)
                         if y in span else 0.0 for y in years]
                add = [x * scn.energy.renewable_premium_usd_mwh for x in short]
                if any(add):
                    base = premium.setdefault(k, [0.0] * len(years))
                    premium[k] = [a + b for a, b in zip(base, add, strict=True)]
                    effective.add(rule.id)
                    notes.append(f"renewable certificates for up to {max(short):.0%} of its "
                                 f"energy at {scn.energy.renewable_premium_usd_mwh:g} USD/MWh")
                else:
                    notes.append("its own renewable share meets the requirement")
            if eff.energy_reuse_min:
                notes.append(f"energy reuse factor >= {eff.energy_reuse_min:.0%} (heat-reuse "
                             "investment not priced)")
            if eff.reporting:
                notes.append("reporting duty (not priced)")
            if notes:
                gov.constraints.append({**row, "what": f"{k}: " + "; ".join(notes)})
    elif isinstance(eff, Obligation | Info | Guidance):
        done = [f"{', '.join(sorted(set(chips) & set(site_accels[k])))} at {k}" for k in hit
                if set(chips) & set(site_accels[k])]
        if done:
            duty = "; ".join(getattr(eff, "duties", []) or [rule.title])
            gov.constraints.append({**row, "what": f"{duty}: " + "; ".join(done)})


def _classify(services: pd.DataFrame, regions: dict[str, str],
              fired: dict[tuple[str, str], list[tuple[Pack, Rule, list[int]]]],
              mask: dict[tuple[str, str], list[float]], years: list[int],
              gov: Governance) -> list[dict[str, Any]]:
    costs: dict[tuple[str, str, str], float] = {}
    for c in gov.compliance_rows:
        share = c["cost_usd"] / max(len(c["regions"]), 1)
        for r in c["regions"]:
            costs[(c["service"], r, c["rule"])] = share
    rows = []
    for sid, srow in services.iterrows():
        for rid in srow["regions"] or list(regions):
            hits = fired.get((str(sid), rid), [])
            cls, duties, rules, packs, src = "minimal", [], [], [], []
            cost = 0.0
            for pack, rule, _span in hits:
                eff = rule.effect
                this = ("prohibited" if isinstance(eff, Prohibit)
                        else eff.risk_class if isinstance(eff, Obligation) else "minimal")
                if CLASS_ORDER[this] > CLASS_ORDER[cls]:
                    cls = this
                rules.append(rule.id)
                if pack.pack not in packs:
                    packs.append(pack.pack)
                if isinstance(eff, Obligation):
                    duties += [d for d in eff.duties if d not in duties]
                cost += costs.get((str(sid), rid, rule.id), 0.0)
                src.append(f"{rule.id}: {_cite(pack, rule)}")
            m = mask.get((str(sid), rid))
            open_years = [y for i, y in enumerate(years) if m is None or m[i] > 0]
            rows.append({
                "service": str(sid), "region": rid, "country": regions[rid],
                "use_case": srow["use_case"], "use_case_defaulted": bool(srow["defaulted"]),
                "class": cls, "rules": rules, "packs": packs, "obligations": duties,
                "cost_usd": cost,
                "start_date": f"{open_years[0]}-01-01" if open_years else None,
                "source": "; ".join(src),
            })
    return rows


def _apply(scn: Scenario, residency: list[ResidencyRule], caps: list[ChipCap],
           banned: dict[str, set[str]], excluded: dict[str, str],
           site_accels: dict[str, list[str]]) -> Scenario:
    """The scenario with the compiled residency rules, caps and site limits."""
    if not (residency or caps or banned or excluded):
        return scn
    new_sites = []
    for s in scn.sites:
        upd: dict[str, Any] = {}
        if s.id in banned:
            left = [a for a in site_accels[s.id] if a not in banned[s.id]]
            if left:
                upd["accelerators"] = left
            else:
                upd["power_mw"] = 0.0
        if s.id in excluded:
            upd["power_mw"] = 0.0
        new_sites.append(s.model_copy(update=upd) if upd else s)
    return scn.model_copy(update={"residency": [*scn.residency, *residency],
                                  "chip_caps": [*scn.chip_caps, *caps], "sites": new_sites})
