"""A solved plan as plain data: primal values, duals, reduced costs and ranges, by name.

Nothing here refers to linopy or HiGHS: a ``Solution`` is what the solve stage hands to the
analysis stage, and what a run saves (``solution.npz``) so that results, explanations and the
baseline can be computed again from the stored scenario without solving.

Units: primal values in the variable's own unit (servers, MW, requests/s, ...); duals and
reduced costs in USD (present value) per unit of the row or variable as the model writes it
(``d objective / d rhs``: a binding ``<=`` cap of a minimisation has a negative dual);
ranges in the row's own unit: ``ranging[name]["up"]`` is the right-hand side up to which the
row's dual holds (the simplex basis stays optimal), ``"down"`` the value down to which it does.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "infraplan-solution/1"


@dataclass
class Solution:
    """Outcome of a solve."""

    status: str
    """optimal, feasible (a plan, gap above target), infeasible, time_limit or error."""
    termination: str
    method: str
    integer: bool
    """True when server builds are whole numbers (the default); False for the relaxation."""
    objective_usd: float | None = None
    bound_usd: float | None = None
    """Proven lower bound on every plan (LP relaxation), for integer plans."""
    mip_gap: float | None = None
    duals_from: str = "none"
    """Where duals come from: lp, lp-fixed-integers (integer decisions held), none."""
    primal: dict[str, np.ndarray] = field(default_factory=dict)
    duals: dict[str, np.ndarray] = field(default_factory=dict)
    reduced_costs: dict[str, np.ndarray] = field(default_factory=dict)
    ranging: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    dims: dict[str, tuple[str, ...]] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    """Sizes and timings: n_variables, n_constraints, solve_s, dual_s, column generation."""

    @property
    def has_plan(self) -> bool:
        """True when primal values exist for the plan."""
        return self.objective_usd is not None and "build" in self.primal

    def save(self, path: str | Path) -> Path:
        """Write ``path`` (``.npz``) atomically."""
        path = Path(path)
        arrays: dict[str, np.ndarray] = {}
        for kind, group in (
            ("primal", self.primal),
            ("dual", self.duals),
            ("rc", self.reduced_costs),
        ):
            for name, values in group.items():
                arrays[f"{kind}/{name}"] = np.asarray(values, dtype=float)
        for name, r in self.ranging.items():
            for side, values in r.items():
                arrays[f"range-{side}/{name}"] = np.asarray(values, dtype=float)
        meta = {
            "format": FORMAT,
            "status": self.status,
            "termination": self.termination,
            "method": self.method,
            "integer": self.integer,
            "objective_usd": self.objective_usd,
            "bound_usd": self.bound_usd,
            "mip_gap": self.mip_gap,
            "duals_from": self.duals_from,
            "dims": {k: list(v) for k, v in self.dims.items()},
            "stats": self.stats,
        }
        arrays["meta"] = np.frombuffer(json.dumps(meta, default=str).encode(), dtype=np.uint8)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".solution-", suffix=".npz")
        os.close(fd)
        try:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, **arrays)  # type: ignore[arg-type]
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Solution:
        """Read a ``solution.npz`` written by ``save``."""
        with np.load(Path(path), allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode())
            if meta.get("format") != FORMAT:
                msg = f"{path}: not an infraplan solution file (format {meta.get('format')!r})"
                raise ValueError(msg)
            sol = cls(
                status=meta["status"],
                termination=meta["termination"],
                method=meta["method"],
                integer=bool(meta["integer"]),
                objective_usd=meta["objective_usd"],
                bound_usd=meta["bound_usd"],
                mip_gap=meta["mip_gap"],
                duals_from=meta["duals_from"],
                dims={k: tuple(v) for k, v in meta["dims"].items()},
                stats=meta["stats"],
            )
            for key in data.files:
                if key == "meta":
                    continue
                kind, name = key.split("/", 1)
                values = np.asarray(data[key])
                if kind == "primal":
                    sol.primal[name] = values
                elif kind == "dual":
                    sol.duals[name] = values
                elif kind == "rc":
                    sol.reduced_costs[name] = values
                elif kind.startswith("range-"):
                    sol.ranging.setdefault(name, {})[kind.removeprefix("range-")] = values
        return sol
