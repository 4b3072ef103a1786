"""Derive scenarios from a scenario: change fields by path, or keep a subset of its ids.

Studies and coalition games build many variants of one scenario. ``update`` and ``restrict``
work on a plain copy of the scenario (``model_dump``) and validate the result again as a whole,
so a derived scenario obeys every rule a scenario file does and the input is never touched.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from infraplan.errors import InfraplanError, did_you_mean
from infraplan.scenario.schema import Scenario

__all__ = ["Restricted", "restrict", "update"]

_PATH_HELP = (
    "A path is dot-separated keys with [index] or [id] for a list item, e.g. "
    "services[0].tpot_ms, sites[paris].power_mw or services['2027'].adoption "
    "(quote an id that looks like a number)."
)


# ---------------------------------------------------------------- update


@dataclass(frozen=True)
class _Key:
    name: str


@dataclass(frozen=True)
class _Index:
    index: int


@dataclass(frozen=True)
class _ItemId:
    text: str


_Part = _Key | _Index | _ItemId


def _path_error(path: str, problem: str, *, syntax: bool = False) -> InfraplanError:
    """One paragraph: the path, what is wrong with it, and (for a malformed path) the syntax."""
    return InfraplanError(f"update {path!r}: {problem}.{' ' + _PATH_HELP if syntax else ''}")


def _parse_path(path: object) -> list[_Part]:
    """Split ``services[assistant].tpot_ms`` into keys, list indexes and item ids."""
    if not isinstance(path, str) or not path.strip():
        msg = f"update: a path must be a non-empty string, got {path!r}. {_PATH_HELP}"
        raise InfraplanError(msg)
    parts: list[_Part] = []
    i, n = 0, len(path)
    while i < n:
        if path[i] == "[":
            if not parts:
                raise _path_error(path, "a path starts with a key, not '['", syntax=True)
            if i + 1 < n and path[i + 1] in "'\"":
                quote = path[i + 1]
                end = path.find(quote, i + 2)
                if end < 0 or end + 1 >= n or path[end + 1] != "]":
                    raise _path_error(path, f"unclosed quoted id at position {i}", syntax=True)
                parts.append(_ItemId(path[i + 2 : end]))
                i = end + 2
            else:
                end = path.find("]", i)
                if end < 0:
                    raise _path_error(path, f"'[' at position {i} is never closed", syntax=True)
                text = path[i + 1 : end].strip()
                if not text:
                    raise _path_error(path, f"empty [] at position {i}", syntax=True)
                is_index = re.fullmatch(r"-?\d+", text) is not None
                parts.append(_Index(int(text)) if is_index else _ItemId(text))
                i = end + 1
        else:
            match = re.match(r"[^.\[\]]+", path[i:])
            if match is None:
                raise _path_error(path, f"unexpected {path[i]!r} at position {i}", syntax=True)
            parts.append(_Key(match.group()))
            i += len(match.group())
        if i < n and path[i] == ".":
            i += 1
            if i == n or path[i] in ".[]":
                problem = f"a key is missing after the '.' at position {i - 1}"
                raise _path_error(path, problem, syntax=True)
        elif i < n and path[i] != "[":
            raise _path_error(path, f"unexpected {path[i]!r} at position {i}", syntax=True)
    return parts


def _kind(value: Any) -> str:
    if value is None:
        return "not set (None)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a value ({value!r})"


def _is_year_key(cur: dict[Any, Any], name: str) -> bool:
    """A digit key addresses a ``{year: value}`` mapping (int keys), not a model's fields."""
    return name.isdigit() and all(isinstance(k, int) for k in cur)


def _find_item(items: list[Any], text: str, where: str, path: str) -> int:
    """Index of the list item whose ``id`` (``name`` for chip caps; the text for id lists)
    equals ``text``."""
    n = len(items)
    if not n:
        raise _path_error(path, f"{where} is an empty list, so it has no item {text!r}")
    if all(isinstance(i, str) for i in items):
        ids: list[str] = items
        matches = [j for j, i in enumerate(items) if i == text]
        field = "value"
    else:
        dicts = [i for i in items if isinstance(i, dict)]
        field = next((f for f in ("id", "name") if any(f in d for d in dicts)), "")
        if not field:
            raise _path_error(
                path,
                f"the items of {where} have no id; address them by index, 0 to {n - 1}",
            )
        ids = [str(d[field]) for d in dicts if d.get(field) is not None]
        matches = [j for j, i in enumerate(items) if isinstance(i, dict) and i.get(field) == text]
    if not matches:
        shown = ", ".join(repr(i) for i in ids) or "none"
        raise _path_error(
            path,
            f"{where} has no item with {field} {text!r}.{did_you_mean(text, ids)} "
            f"Items ({field}): {shown}; or use an index, 0 to {n - 1}",
        )
    if len(matches) > 1:
        raise _path_error(
            path, f"{where} has {len(matches)} items with {field} {text!r}; use an index instead"
        )
    return matches[0]


def _submodel(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside a field's type (``list[Service]`` -> Service), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _submodel(arg)
        if found is not None:
            return found
    return None


def _set(data: dict[str, Any], path: str, value: Any) -> str:
    """Set ``value`` at ``path`` in the scenario mapping ``data``; return the path with indexes
    (``services[2].tpot_ms``) as validation errors name it."""
    parts = _parse_path(path)
    cur: Any = data
    model: type[BaseModel] | None = Scenario  # the model whose mapping ``cur`` is, if any
    concrete = ""
    for k, part in enumerate(parts):
        where = concrete or "the scenario"
        slot: str | int
        if isinstance(part, _Key):
            if not isinstance(cur, dict):
                problem = (
                    f"{where} is {_kind(cur)}, not a mapping, so it has no key {part.name!r}; "
                    "set it as a whole instead"
                )
                raise _path_error(path, problem)
            slot = part.name
            if model is not None:
                if slot not in model.model_fields:
                    allowed = sorted(model.model_fields)
                    raise _path_error(
                        path,
                        f"unknown key {slot!r} in {where}.{did_you_mean(slot, allowed)} "
                        f"Allowed keys here: {', '.join(allowed)}",
                    )
                model = _submodel(model.model_fields[slot].annotation)
            elif _is_year_key(cur, part.name):
                slot = int(part.name)
            elif slot not in cur:
                allowed = [str(c) for c in cur]
                raise _path_error(
                    path,
                    f"unknown key {slot!r} in {where}.{did_you_mean(slot, allowed)} "
                    f"Keys here: {', '.join(allowed) or 'none'}",
                )
            concrete += ("." if concrete else "") + str(slot)
        else:
            if not isinstance(cur, list):
                what = "an index" if isinstance(part, _Index) else "an id"
                problem = f"{where} is {_kind(cur)}, not a list, so it cannot take {what} in []"
                raise _path_error(path, problem)
            n = len(cur)
            if isinstance(part, _Index):
                if not -n <= part.index < n:
                    span = f"0 to {n - 1}" if n else "none, the list is empty"
                    raise _path_error(
                        path, f"index {part.index} is out of range for {where} (indexes: {span})"
                    )
                slot = part.index % n
            else:
                slot = _find_item(cur, part.text, where, path)
            concrete += f"[{slot}]"
        if k == len(parts) - 1:
            cur[slot] = value
            break
        nxt = cur.get(slot) if isinstance(cur, dict) else cur[slot]
        step = parts[k + 1]
        if nxt is None and isinstance(step, _Key) and (model is not None or step.name.isdigit()):
            # an absent sub-object or {year: value} mapping, created by the path
            nxt = cur[slot] = {}
        cur = nxt
    return concrete


def _plain(value: Any) -> Any:
    """A deep copy of ``value`` with pydantic models turned into mappings."""
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return copy.deepcopy(value)


def update(scn: Scenario, changes: Mapping[str, Any]) -> Scenario:
    """A new scenario with ``changes`` ({path: value}) applied, validated again as a whole.

    Paths: ``horizon.end_year``, ``services[2].tpot_ms``, ``services[assistant].tpot_ms``,
    ``sites[paris].power_mw``, ``chip_caps[UAE Blackwell licence].amount`` (list items by index,
    or by ``id``, ``name`` for chip caps), ``economics`` (a whole sub-object: keys left out take
    their defaults), ``energy.carbon_cap_t.2030`` (one year of a ``{year: value}`` mapping).
    Changes are applied in order, then validated together. ``scn`` is not modified.

    Raises InfraplanError naming the path for an unknown key or id, or for a value the schema
    refuses (the loader's messages, prefixed by the path changed).
    """
    data = scn.model_dump()
    done: list[tuple[str, str]] = []  # (path as given, path with indexes)
    for path, value in changes.items():
        done.append((path, _set(data, path, _plain(value))))
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        from infraplan.scenario import validation_problems  # here: that package imports us

        problems = [_attribute(line, done) for line in validation_problems(exc, data)]
    shown = ", ".join(repr(p) for p, _ in done)
    noun = "problem" if len(problems) == 1 else "problems"
    msg = f"update {shown}: the changed scenario is not valid, {len(problems)} {noun}:"
    raise InfraplanError(msg, problems)


def _attribute(line: str, done: list[tuple[str, str]]) -> str:
    """Prefix a validation message with the changed path it concerns (all of them if unclear)."""
    for given, concrete in reversed(done):
        rest = line[len(concrete) :]
        if line.startswith(concrete) and rest[:1] in (":", ".", "["):
            return f"changing {given}: {line}"
    paths = ", ".join(given for given, _ in done)
    return f"changing {paths}: {line}"


# ---------------------------------------------------------------- restrict


@dataclass(frozen=True)
class Restricted:
    """A restricted scenario and, in plain words, everything removed to keep it valid."""

    scenario: Scenario
    dropped: list[str]


def _chosen(kind: str, wanted: Iterable[str] | None, have: list[str]) -> set[str] | None:
    """The ids to keep (None: all); an id the scenario does not define is an error."""
    if wanted is None:
        return None
    if isinstance(wanted, str):
        msg = f"restrict: {kind} must be a list of ids, not the string {wanted!r}: [{wanted!r}]"
        raise InfraplanError(msg)
    keep = list(wanted)
    bad = [w for w in keep if not isinstance(w, str) or w not in have]
    if bad:
        problems = [
            f"{kind}: {b!r} is not defined in the scenario.{did_you_mean(str(b), have)} "
            f"Defined: {', '.join(have) or 'none'}."
            for b in bad
        ]
        noun = "id" if len(bad) == 1 else "ids"
        raise InfraplanError(f"restrict: unknown {kind.removesuffix('s')} {noun}:", problems)
    return set(keep)


def _names(ids: Iterable[str]) -> str:
    return ", ".join(repr(i) for i in ids)


def _rule_label(i: int, rule: dict[str, Any]) -> str:
    classes = rule["data_class"]
    classes = ", ".join(classes) if isinstance(classes, list) else classes
    source = str(rule.get("source") or "")
    source = source if len(source) <= 60 else source[:57] + "..."
    return f"residency rule residency[{i}] ({classes}{'; ' + source if source else ''})"


def restrict(
    scn: Scenario,
    *,
    regions: Iterable[str] | None = None,
    sites: Iterable[str] | None = None,
    partners: Iterable[str] | None = None,
) -> Restricted:
    """Keep only the named regions, sites and partners (None keeps all) and every reference to
    what was removed, so that the result validates.

    Services, residency rules and training campaigns lose the removed ids from their lists; one
    whose list loses every id is dropped (an empty list would read as "all"). A residency rule
    that loses its allowed sites keeps applying (it then allows fewer hosts, never more).
    ``dropped`` says what was removed. Raises InfraplanError for an unknown id, or when no
    region, service or site would remain.
    """
    data = scn.model_dump()
    keep_r = _chosen("regions", regions, [r["id"] for r in data["regions"]])
    keep_s = _chosen("sites", sites, [s["id"] for s in data["sites"]])
    keep_p = _chosen("partners", partners, [p["id"] for p in data["partners"]])
    dropped: list[str] = []

    def kept(kind: str, items: list[dict[str, Any]], keep: set[str] | None) -> list[dict[str, Any]]:
        if keep is None:
            return items
        gone = [i["id"] for i in items if i["id"] not in keep]
        if gone:
            dropped.append(f"{kind} removed: {_names(gone)}")
        return [i for i in items if i["id"] in keep]

    data["regions"] = kept("regions", data["regions"], keep_r)
    data["sites"] = kept("sites", data["sites"], keep_s)
    data["partners"] = kept("partners", data["partners"], keep_p)
    if not data["regions"]:
        raise InfraplanError("restrict: no region would remain; a scenario needs at least one.")
    if not data["sites"]:
        raise InfraplanError("restrict: no site would remain; a scenario needs at least one.")

    def split(ids: list[str] | None, keep: set[str] | None) -> tuple[list[str], list[str]]:
        """(kept, removed) ids of a reference list."""
        if ids is None or keep is None:
            return list(ids or []), []
        return [i for i in ids if i in keep], [i for i in ids if i not in keep]

    services = []
    for svc in data["services"]:
        left, gone = split(svc["regions"], keep_r)
        if gone and not left:
            dropped.append(f"service {svc['id']!r}: all its regions were removed ({_names(gone)})")
            continue
        if gone:
            svc["regions"] = left
            dropped.append(f"service {svc['id']!r}: no longer serves {_names(gone)}")
        services.append(svc)
    if not services:
        msg = (
            "restrict: no service would remain: every service serves only regions that were "
            f"removed. Keep at least one of the regions a service serves. {'; '.join(dropped)}."
        )
        raise InfraplanError(msg)
    data["services"] = services

    rules = []
    for i, rule in enumerate(data["residency"]):
        label = _rule_label(i, rule)
        left, gone = split(rule["regions"], keep_r)
        if gone and not left:
            dropped.append(f"{label}: all its regions were removed ({_names(gone)})")
            continue
        if gone:
            rule["regions"] = left
            dropped.append(f"{label}: no longer applies to {_names(gone)}")
        left, gone = split(rule["allowed_sites"], keep_s)
        if gone:
            rule["allowed_sites"] = left or None  # None: no site beyond allowed_countries
            note = "" if left or rule["allowed_countries"] else "; it now allows no host at all"
            dropped.append(f"{label}: sites {_names(gone)} no longer allowed (removed){note}")
        rules.append(rule)
    data["residency"] = rules

    campaigns = []
    for camp in data["training"]:
        left, gone = split(camp["sites"], keep_s)
        if gone and not left:
            dropped.append(
                f"training campaign {camp['id']!r}: all its sites were removed ({_names(gone)})"
            )
            continue
        if gone:
            camp["sites"] = left
            dropped.append(f"training campaign {camp['id']!r}: may no longer run at {_names(gone)}")
        campaigns.append(camp)
    data["training"] = campaigns

    try:
        return Restricted(Scenario.model_validate(data), dropped)
    except ValidationError as exc:  # a reference this function does not know about
        from infraplan.scenario import validation_problems  # here: that package imports us

        msg = "restrict: the restricted scenario is not valid:"
        raise InfraplanError(msg, validation_problems(exc, data)) from None
