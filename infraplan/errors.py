"""User-facing errors: one paragraph naming the field, the value and what is allowed."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class InfraplanError(Exception):
    """An error caused by the user's input; the CLI prints it without a traceback and exits 1."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or []

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        lines = [self.message, *(f"  - {p}" for p in self.problems)]
        return "\n".join(lines)


class UnknownIdError(InfraplanError):
    """An id that is not in the catalog (or the scenario)."""

    def __init__(self, kind: str, value: str, allowed: Iterable[str], field: str | None = None):
        allowed = sorted(allowed)
        hint = did_you_mean(value, allowed)
        where = f"{field}: " if field else ""
        shown = ", ".join(allowed[:40]) + (" ..." if len(allowed) > 40 else "")
        msg = f"{where}unknown {kind} {value!r}.{hint} Allowed: {shown}."
        super().__init__(msg)
        self.kind, self.value, self.allowed = kind, value, allowed


def did_you_mean(value: str, allowed: Iterable[str]) -> str:
    """Return ' Did you mean 'x'?' for the closest allowed value, or '' when none is close."""
    match = difflib.get_close_matches(str(value), list(allowed), n=1, cutoff=0.6)
    return f" Did you mean {match[0]!r}?" if match else ""
