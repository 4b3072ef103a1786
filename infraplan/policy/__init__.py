"""Governance rule packs: the law, export rules and ethics commitments as data a plan obeys.

- ``registry``: the shipped packs (``packs/*.yaml``), country groups, "as of" dates;
- ``schema``: the pack format (one rule per entry: id, dates, source, selector, effect);
- ``compile``: a scenario's packs -> demand mask, residency rules, chip caps, site limits and
  compliance costs, applied before the model is built, with the classification tables;
- ``vocab``: the use-case vocabulary services state.

See docs/policy.md.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Governance", "compile_policy", "load_pack", "pack_names", "parse_ref"]


def __getattr__(name: str) -> Any:
    """Lazy exports: the scenario schema imports ``vocab`` from here, and ``compile`` imports
    the scenario schema."""
    if name in ("Governance", "compile_policy"):
        from infraplan.policy import compile as _compile

        return getattr(_compile, name)
    if name in ("load_pack", "pack_names", "parse_ref"):
        from infraplan.policy import registry

        return getattr(registry, name)
    raise AttributeError(name)
