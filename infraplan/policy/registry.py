"""The shipped rule packs and country groups: loading, references, dates and membership.

A scenario names a pack as ``name`` (the facts as of the pack's version date), or pins an
"as of" date with ``name@2025-03`` (end of that month) or ``name@2025-03-15``: the rules known
then, with the dates in force then (an amendment adopted later is not applied, a rule repealed
later still stands).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from functools import cache, lru_cache
from pathlib import Path

from pydantic import ValidationError

from infraplan.errors import InfraplanError, did_you_mean
from infraplan.policy.schema import Group, Groups, Pack, Rule

PACK_DIR = Path(__file__).with_name("packs")
GROUPS_FILE = Path(__file__).with_name("groups.yaml")
_REF = re.compile(r"^(?P<name>[a-z][a-z0-9-]*)(@(?P<date>\d{4}-\d{2}(-\d{2})?))?$")


def pack_names() -> list[str]:
    """Names of the shipped packs."""
    return sorted(p.stem for p in PACK_DIR.glob("*.yaml"))


def _read_yaml(path: Path) -> object:
    from infraplan.scenario import _load_yaml  # the scenario loader: safe, no duplicate keys

    return _load_yaml(path.read_text(encoding="utf-8"))


@cache
def load_pack(name: str) -> Pack:
    """The shipped pack ``name`` (validated)."""
    path = PACK_DIR / f"{name}.yaml"
    if not path.exists():
        raise InfraplanError(
            f"unknown policy pack {name!r}.{_suggest(name)} Shipped packs: "
            f"{', '.join(pack_names())} (infraplan policy list)"
        )
    try:
        pack = Pack.model_validate(_read_yaml(path))
    except ValidationError as exc:  # a packaging defect, caught by the tests
        raise InfraplanError(f"policy pack {path.name} is invalid: {exc}") from exc
    if pack.pack != name:
        raise InfraplanError(f"policy pack {path.name} calls itself {pack.pack!r}")
    return pack


@lru_cache(maxsize=1)
def groups() -> dict[str, Group]:
    """Country groups by name."""
    return Groups.model_validate(_read_yaml(GROUPS_FILE)).groups


def parse_ref(ref: str) -> tuple[str, dt.date | None]:
    """``name`` or ``name@YYYY-MM[-DD]`` -> (name, as-of date or None). Raises ValueError with
    what is allowed."""
    m = _REF.match(ref)
    if not m:
        raise ValueError(f"policy pack {ref!r}: write a pack name, optionally with @YYYY-MM or "
                         "@YYYY-MM-DD (an as-of date), e.g. us-export-controls@2025-03")
    name, when = m.group("name"), m.group("date")
    if name not in pack_names():
        raise ValueError(f"unknown policy pack {name!r}.{_suggest(name)} "
                         f"Shipped packs: {', '.join(pack_names())}")
    if when is None:
        return name, None
    try:
        parts = [int(x) for x in when.split("-")]
        if len(parts) == 2:
            parts.append(calendar.monthrange(parts[0], parts[1])[1])
        return name, dt.date(*parts)
    except ValueError as exc:
        raise ValueError(f"policy pack {ref!r}: {when!r} is not a date ({exc})") from None


def _suggest(name: str) -> str:
    """' Did you mean ...?' by prefix (gdpr -> gdpr-transfers) or by spelling."""
    starts = [n for n in pack_names() if n.startswith(name) or name.startswith(n)]
    return f" Did you mean {starts[0]!r}?" if starts else did_you_mean(name, pack_names())


def members(name: str, as_of: dt.date) -> frozenset[str] | None:
    """Countries of group ``name`` as of a date (None when ``name`` is no group)."""
    g = groups().get(name)
    if g is None:
        return None
    out = set()
    for iso, span in g.members.items():
        span = span or {}
        if span.get("from") and span["from"] > as_of:
            continue
        if span.get("until") and span["until"] < as_of:
            continue
        out.add(iso)
    return frozenset(out)


def matches(country: str, names: list[str], as_of: dt.date) -> bool:
    """True when ``country`` is one of ``names`` (countries or groups) as of the date."""
    for n in names:
        if n == country:
            return True
        g = groups().get(n)
        if g is None:
            continue
        if g.complement_of is not None:
            if not any(matches(country, [o], as_of) for o in g.complement_of):
                return True
        elif country in (members(n, as_of) or frozenset()):
            return True
    return False


def expand(names: list[str], as_of: dt.date, universe: list[str]) -> list[str]:
    """Countries named by ``names`` among ``universe`` (complement groups need one)."""
    return sorted(c for c in set(universe) if matches(c, names, as_of))


def rule_dates(rule: Rule, as_of: dt.date) -> tuple[dt.date, dt.date | None] | None:
    """(effective_from, effective_until) as known on ``as_of``; None when the rule is not law
    then (adopted later, or repealed by then)."""
    if rule.adopted is not None and rule.adopted > as_of:
        return None
    if rule.repealed is not None and rule.repealed <= as_of:
        return None
    start, until = rule.effective_from, rule.effective_until
    for a in sorted(rule.amended, key=lambda a: a.adopted):
        if a.adopted <= as_of:
            start = a.effective_from or start
            until = a.effective_until or until
    return start, until


def year_span(dates: tuple[dt.date, dt.date | None], years: list[int]) -> list[int]:
    """Plan years a rule applies to: from the year it takes effect to the year it ends."""
    start, until = dates
    return [y for y in years if start.year <= y and (until is None or y <= until.year)]
