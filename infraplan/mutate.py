"""Structural mutations of a parsed scenario tree, shared by the fuzz tests and the
hostile-input benchmark (``benchmarks/hostile_inputs.py``): every path to a value, and one edit
(replace, delete, unknown key, duplicate list item, deep nesting) at a path."""

from __future__ import annotations

import copy
from typing import Any

OPS = ("replace", "delete", "unknown_key", "duplicate", "nest")


def tree_paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a parsed YAML tree."""
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += tree_paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += tree_paths(v, (*prefix, i))
    return out


def mutate(tree: Any, path: tuple[Any, ...], op: str, value: Any) -> None:
    """Apply ``op`` (one of ``OPS``) in place at ``path``; inapplicable edits do nothing."""
    parent = tree
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if op == "replace":
        parent[last] = value
    elif op == "delete":
        del parent[last]
    elif op == "unknown_key" and isinstance(parent[last], dict):
        parent[last]["colour_of_the_sky"] = value
    elif op == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))
    elif op == "nest":
        parent[last] = [[[[[parent[last]]]]]]
