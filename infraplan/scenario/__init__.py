"""Scenario files: YAML (safe_load) validated by strict pydantic models.

``load_scenario`` reports every problem at once, each with its path in the file
(``services[2].tpot_ms``), the bad value and what is allowed, as one ``InfraplanError``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from infraplan.errors import InfraplanError, did_you_mean
from infraplan.scenario.schema import (
    Economics,
    Horizon,
    Partner,
    Region,
    Scenario,
    Service,
    Site,
    Solver,
    reference_problems,
)
from infraplan.scenario.transforms import Restricted, restrict, update

__all__ = [
    "Economics",
    "Horizon",
    "Partner",
    "Region",
    "Restricted",
    "Scenario",
    "Service",
    "Site",
    "Solver",
    "format_validation_error",
    "load_scenario",
    "parse_scenario",
    "parse_stored_scenario",
    "restrict",
    "update",
    "validation_problems",
]


class _Loader(yaml.SafeLoader):
    """Safe YAML loader that also reads 9e6 and 1_000 style numbers as numbers (YAML 1.2)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)

# a scenario file is text of a few hundred kilobytes; these bounds turn hostile files into a
# message instead of a MemoryError or RecursionError
MAX_FILE_BYTES = 20_000_000
MAX_NESTING = 40


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key: Any, first_line: int, line: int) -> None:
        super().__init__()
        self.key, self.first_line, self.line = key, first_line, line


class _TooDeep(yaml.YAMLError):
    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    """A mapping that refuses a key given twice (naming both lines)."""
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)  # type: ignore[no-untyped-call]
        try:
            first = seen.get(key)
        except TypeError:  # unhashable key: the schema reports it
            continue
        if first is not None:
            raise _DuplicateKey(key, first, key_node.start_mark.line + 1)
        seen[key] = key_node.start_mark.line + 1
    loader.flatten_mapping(node)  # type: ignore[no-untyped-call]
    return dict(loader.construct_pairs(node))  # type: ignore[no-untyped-call]


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _check_depth(node: yaml.Node) -> None:
    """Refuse nesting deeper than ``MAX_NESTING`` (iteratively: no recursion to exhaust)."""
    stack: list[tuple[yaml.Node, int]] = [(node, 0)]
    seen: set[int] = set()  # an alias repeats a node: visit it once (alias bombs stay cheap)
    while stack:
        n, depth = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if depth > MAX_NESTING:
            raise _TooDeep(n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            stack.extend((child, depth + 1) for pair in n.value for child in pair)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in n.value)


def _load_yaml(text: str) -> Any:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()  # type: ignore[no-untyped-call]
        if node is None:
            return None
        _check_depth(node)
        return loader.construct_document(node)  # type: ignore[no-untyped-call]
    finally:
        loader.dispose()  # type: ignore[no-untyped-call]


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file."""
    p = Path(path)
    if not p.exists():
        msg = (
            f"scenario file {str(p)!r} does not exist. "
            "Try one of the bundled examples in examples/."
        )
        raise InfraplanError(msg)
    try:
        if not p.is_file():
            msg = f"{str(p)!r} is not a regular file; give a scenario YAML file"
            raise InfraplanError(msg)
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            msg = (
                f"scenario file {str(p)!r} is {size:,} bytes; a scenario is at most "
                f"{MAX_FILE_BYTES:,} bytes of YAML text"
            )
            raise InfraplanError(msg)
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read scenario file {str(p)!r}: {exc}"
        raise InfraplanError(msg) from None
    return parse_scenario(text, source=str(p))


def _year_keys(o: Any) -> Any:
    """``o`` with digit-string mapping keys as integers (JSON writes ``{2027: 4}`` as
    ``{"2027": 4}``)."""
    if isinstance(o, dict):
        return {
            (int(k) if isinstance(k, str) and k.isdigit() else k): _year_keys(v)
            for k, v in o.items()
        }
    if isinstance(o, list):
        return [_year_keys(v) for v in o]
    return o


def parse_stored_scenario(doc: dict[str, Any], source: str = "results.json") -> Scenario:
    """Validate a scenario stored as JSON (``scenario_input`` of a results document): its year
    keys were written as strings and are read back as years."""
    return parse_scenario(_year_keys(doc), source)


def parse_scenario(text: str | dict[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate a scenario given as YAML text or an already parsed mapping."""
    if isinstance(text, str):
        try:
            data = _load_yaml(text)
        except _DuplicateKey as exc:
            msg = (
                f"{source}: key {exc.key!r} is given twice (line {exc.first_line} and line "
                f"{exc.line}); the second would silently replace the first. Keep one."
            )
            raise InfraplanError(msg) from None
        except _TooDeep as exc:
            msg = (
                f"{source}: the YAML is nested more than {MAX_NESTING} levels deep (at line "
                f"{exc.line}); scenarios nest about 5 levels."
            )
            raise InfraplanError(msg) from None
        except RecursionError:
            msg = (
                f"{source}: the YAML is nested too deeply to read; a scenario needs fewer than 10."
            )
            raise InfraplanError(msg) from None
        except yaml.YAMLError as exc:
            where = ""
            mark = getattr(exc, "problem_mark", None)
            if mark is not None:
                where = f" at line {mark.line + 1}, column {mark.column + 1}"
            problem = getattr(exc, "problem", None) or str(exc)
            msg = (
                f"{source}: the file is not valid YAML{where}: {problem}. Check indentation "
                "(spaces, not tabs) and that every 'key: value' pair has a space after the colon."
            )
            raise InfraplanError(msg) from None
    else:
        data = text
    if not isinstance(data, dict):
        msg = (
            f"{source}: a scenario must be a mapping with keys such as name, horizon, regions, "
            f"services and sites; got {type(data).__name__}."
        )
        raise InfraplanError(msg)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(exc, data)
        noun = "problem" if len(problems) == 1 else "problems"
        msg = (
            f"{source}: {len(problems)} {noun} found; fix them and run `infraplan validate` again:"
        )
        raise InfraplanError(msg, problems) from None


def validation_problems(exc: ValidationError, data: dict[str, Any]) -> list[str]:
    """Every problem of a scenario mapping that failed validation, one line each: the schema's
    (``format_validation_error``) and the cross-references, which pydantic checks only once
    everything else is valid."""
    problems = format_validation_error(exc, data)
    try:
        extra = reference_problems(data)
    except Exception:  # the raw mapping may be too broken to cross-check
        extra = []
    return problems + [p for p in extra if not any(p in q for q in problems)]


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model class that holds the field at ``loc`` (for did-you-mean on keys)."""
    model: Any = Scenario
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        is_model = isinstance(model, type) and issubclass(model, BaseModel)
        field = model.model_fields.get(part) if is_model else None
        if field is None:
            return None
        ann = field.annotation
        candidates = [ann, *getattr(ann, "__args__", ())]
        nxt = None
        for c in candidates:
            for inner in (c, *getattr(c, "__args__", ())):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    nxt = inner
        if nxt is None:
            return None
        model = nxt
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _value_at(data: Any, loc: tuple[Any, ...]) -> Any:
    cur = data
    for part in loc:
        try:
            cur = cur[part]
        except (KeyError, IndexError, TypeError):
            return None
    return cur


def format_validation_error(exc: ValidationError, data: dict[str, Any]) -> list[str]:
    """One line per problem: path, bad value, what is allowed (with a did-you-mean for keys)."""
    seen: set[str] = set()
    lines: list[str] = []
    errors = []
    for err in exc.errors(include_url=False):
        # pydantic adds union-member and function names to the path; drop them for the user.
        loc = tuple(
            p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p in _UNION_TAGS))
        )
        errors.append((loc, err))
    # In a union (e.g. a number or a mapping by year), keep the member error that matches the
    # input's shape: drop type mismatches when a more specific error exists for the same place.
    specific = {loc for loc, err in errors if err["type"] not in _TYPE_MISMATCH}
    errors = [
        (loc, err)
        for loc, err in errors
        if err["type"] not in _TYPE_MISMATCH
        or not any((s[: len(loc)] == loc and s != loc) or s == loc for s in specific)
    ]
    # Several members of a union all mismatched: say it once, listing what each member accepts.
    merged: dict[tuple[Any, ...], list[str]] = {}
    for loc, err in errors:
        if err["type"] in _TYPE_MISMATCH:
            merged.setdefault(loc, []).append(str(err["msg"]).removeprefix("Input should be "))
    for loc, msgs in merged.items():
        if len(msgs) > 1:
            first = next(e for lc, e in errors if lc == loc)
            errors = [(lc, e) for lc, e in errors if lc != loc]
            errors.append((loc, {**first, "msg": "Input should be " + ", or ".join(msgs)}))
    for loc, err in errors:
        path = _path(loc)
        kind = err["type"]
        value = err.get("input")
        if kind == "extra_forbidden":
            model = _model_at(loc)
            allowed = sorted(model.model_fields) if model else []
            hint = did_you_mean(str(loc[-1]), allowed)
            line = (
                f"{path}: unknown key {loc[-1]!r}.{hint} Allowed keys here: {', '.join(allowed)}."
            )
        elif kind == "missing":
            line = f"{path}: required key is missing."
        elif kind in ("value_error", "assertion_error"):
            text = str(err["msg"]).removeprefix("Value error, ")
            line = f"{path}: {text}" if loc else text
        else:
            shown = _value_at(data, loc) if value is None else value
            shown = "a " + type(shown).__name__ if isinstance(shown, dict | list) else repr(shown)
            line = f"{path}: {err['msg'].rstrip('.')} (got {shown})."
            if isinstance(value, str) and kind in ("float_type", "int_type"):
                line += " Write numbers without quotes."
            if isinstance(value, str) and kind == "literal_error":
                expected = str((err.get("ctx") or {}).get("expected", ""))
                line += did_you_mean(value, re.findall(r"'([^']+)'", expected))
        if line not in seen:
            seen.add(line)
            lines.append(line)
    return lines


_TYPE_MISMATCH = {
    "literal_error",
    "float_type",
    "int_type",
    "string_type",
    "dict_type",
    "list_type",
    "bool_type",
    "model_type",
}
_UNION_TAGS = {"int", "float", "str", "bool", "list", "dict", "constrained-float", "literal"}
