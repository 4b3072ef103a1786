"""Warnings: input that is legal but probably not what the author meant.

Validation refuses what cannot be planned; these checks flag what can be planned but usually
hides a mistake (a year outside the horizon, a latency limit in the wrong unit, shares of a
country above one, a first year no capacity can reach). ``validate`` and ``run`` print them,
``results.json`` keeps them under ``warnings`` and the report shows them first. They never change
the plan.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from infraplan.model.inputs import PlanInputs
    from infraplan.scenario.schema import Scenario

TTFT_MIN_MS = 50.0
"""Below this a time-to-first-token limit is faster than any prefill plus network round trip
(the fastest published p99 TTFT targets are 200-450 ms): likely seconds typed as milliseconds."""
TPOT_MIN_MS = 2.0
"""Below this a time-per-output-token limit (500 tokens/s per stream) is beyond served systems."""
SITE_POWER_MAX_MW = 10_000.0
"""Above this one site would exceed the largest campuses announced (about 5 GW, UAE 2025)."""

__all__ = ["SITE_POWER_MAX_MW", "TPOT_MIN_MS", "TTFT_MIN_MS", "scenario_warnings"]


def _outside(label: str, steps: object, first: int, last: int) -> list[str]:
    """A warning for the keys of a {year: value} mapping that lie outside the horizon."""
    if not isinstance(steps, dict):
        return []
    out = sorted(int(y) for y in steps if int(y) < first or int(y) > last)
    if not out:
        return []
    return [
        f"{label}: year{'s' if len(out) > 1 else ''} {', '.join(map(str, out))} "
        f"lie{'' if len(out) > 1 else 's'} outside the horizon {first}-{last}; values are read "
        "as steps (or interpolated for adoption), so they change the years inside the horizon "
        "they border. Check the years."
    ]


def scenario_warnings(scn: Scenario, inp: PlanInputs | None = None) -> list[str]:
    """Warnings for ``scn`` (one sentence each, naming the field); ``inp`` adds the checks
    that need the model's inputs (when capacity can first come online)."""
    h = scn.horizon
    first, last = h.start_year, h.end_year
    warn: list[str] = []
    for i, s in enumerate(scn.services):
        where = f"services[{i}] ({s.id!r})"
        warn += _outside(f"{where}.adoption", s.adoption, first, last)
        if s.ttft_ms < TTFT_MIN_MS:
            warn.append(
                f"{where}.ttft_ms: {s.ttft_ms:g} ms is faster than any served system (p99 "
                f"targets are 200-450 ms); limits are in milliseconds: did you mean "
                f"{s.ttft_ms * 1000:g}?"
            )
        if s.tpot_ms < TPOT_MIN_MS:
            warn.append(
                f"{where}.tpot_ms: {s.tpot_ms:g} ms per output token is over "
                f"{1000 / s.tpot_ms:,.0f} tokens/s per stream, beyond served systems; limits are "
                "in milliseconds."
            )
    for i, k in enumerate(scn.sites):
        where = f"sites[{i}] ({k.id!r})"
        warn += _outside(f"{where}.power_mw", k.power_mw, first, last)
        values = k.power_mw.values() if isinstance(k.power_mw, dict) else [k.power_mw]
        big = max((float(v) for v in values if v is not None), default=0.0)
        if big > SITE_POWER_MAX_MW:
            warn.append(
                f"{where}.power_mw: {big:,.0f} MW at one site is more than the largest campus "
                f"announced (about 5,000 MW); power is in MW: check the unit."
            )
        if scn.accelerators and k.accelerators:
            extra = [a for a in k.accelerators if a not in scn.accelerators]
            if extra:
                warn.append(
                    f"{where}.accelerators: {', '.join(extra)} not in the scenario's "
                    "accelerators list, so the site cannot get them."
                )
    shares: dict[str, float] = defaultdict(float)
    for r in scn.regions:
        if r.population is None:
            shares[r.country] += r.population_share
    for country, total in sorted(shares.items()):
        if total > 1 + 1e-9:
            warn.append(
                f"regions: the population_share of {country}'s regions adds up to {total:g} "
                f"(more than the whole country); people would be counted twice."
            )
    for i, c in enumerate(scn.chip_caps):
        where = f"chip_caps[{i}]" + (f" ({c.name!r})" if c.name else "")
        warn += _outside(f"{where}.amount", c.amount, first, last)
        if scn.accelerators and c.accelerators:
            outside = [a for a in c.accelerators if a not in scn.accelerators]
            if len(outside) == len(c.accelerators):
                warn.append(
                    f"{where}.accelerators: none of {', '.join(outside)} is in the scenario's "
                    "accelerators list; the cap limits nothing."
                )
    for i, rule in enumerate(scn.residency):
        if not rule.allowed_countries and not rule.allowed_sites:
            warn.append(
                f"residency[{i}]: allows no country and no site, so its data can be served "
                "nowhere and that demand goes unserved. Add allowed_countries (e.g. [home])."
            )
    warn += _outside("economics.capex_budget_usd", scn.economics.capex_budget_usd, first, last)
    warn += _outside("energy.carbon_cap_t", scn.energy.carbon_cap_t, first, last)
    for i, t in enumerate(scn.training):
        if t.deadline_year > last:
            warn.append(
                f"training[{i}] ({t.id!r}).deadline_year: {t.deadline_year} is after the horizon "
                f"ends ({last}); the plan must still finish it by {last}."
            )
    if inp is not None:
        warn += _first_year_warnings(inp)
    return warn


def _first_year_warnings(inp: PlanInputs) -> list[str]:
    """No capacity can come online in the first year: its demand would go unserved."""
    fleet = inp.fleet
    if len(fleet) == 0 or float(inp.load_demand[:, 0].sum()) <= 0:
        return []
    if float(inp.build_allowed[:, 0].max()) > 0:
        return []
    h = inp.scenario.horizon
    earliest = int(fleet["first_online_year"].min())
    decision = inp.decision_year
    given = "" if h.decision_year is not None else " (default: the year before the horizon)"
    return [
        f"horizon.decision_year: with decisions in {decision}{given} and the sites' lead times, "
        f"no capacity can come online before {earliest}, so all demand of {h.start_year}"
        + (f"-{earliest - 1}" if earliest - 1 > h.start_year else "")
        + " goes unserved. Set horizon.decision_year earlier, shorten lead_time_months, or "
        f"start the horizon in {earliest}."
    ]
