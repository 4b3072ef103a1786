"""Stored runs: the results document, its tables and the solution, written atomically."""

from __future__ import annotations

from infraplan.store.files import load_results, load_solution, write_results

__all__ = ["load_results", "load_solution", "write_results"]
