"""Chip supply and import caps (export controls, vendor allocations).

Constraints ``chip-cap[<name>]``: accelerators (or export-control TPP) delivered within each
cap: per year (annual), over the horizon (cumulative), or under a schedule of cumulative
allowances. Rows are written divided by the cap's largest amount (TPP caps are ~1e8) so that
coefficients stay near 1; duals and ranges are rescaled when read.

Explanation rule: caps that bind, with the value of one more accelerator (or TPP) as a rate and
the amount over which that rate holds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from infraplan.model.families.base import (
    DUAL_EPS,
    TIGHT_REL,
    BuildContext,
    ExplainContext,
    relax_saving,
    row,
)
from infraplan.model.inputs import PlanInputs
from infraplan.words import money, num

NAME = "chips"


def cap_selection(fleet: pd.DataFrame, cap_row: dict[str, Any]) -> np.ndarray:
    """Fleet rows counted by a chip cap."""
    sel = np.ones(len(fleet), dtype=bool)
    if cap_row.get("accelerators"):
        sel &= fleet["accelerator"].isin(cap_row["accelerators"]).to_numpy()
    if cap_row.get("country"):
        sel &= (fleet["country"] == cap_row["country"]).to_numpy()
    return sel


def cap_specs(inp: PlanInputs) -> list[dict[str, Any]]:
    """Each cap with the fleet it counts, units per server, row scale and constraint name."""
    fleet = inp.fleet
    out = []
    for cap_row in inp.chip_caps:
        sel = cap_selection(fleet, cap_row)
        if not sel.any():
            continue
        unit = fleet["tpp_per_server"] if cap_row["unit"] == "tpp" else fleet["accels_per_server"]
        amount = np.asarray(cap_row["amount"], dtype=float)
        scale = max(float(np.max(amount)), 1.0)
        period = cap_row["period"]
        if period == "cumulative" and not np.all(amount == amount[-1]):
            period = "schedule"
        out.append(
            {
                **cap_row,
                "sel": sel,
                "per_server": np.where(sel, unit.to_numpy(dtype=float), 0.0),
                "scale": scale,
                "form": period,
                "constraint": f"chip-cap[{cap_row['name']}]",
            }
        )
    return out


def build(ctx: BuildContext) -> None:
    """One row (or one per year) per cap."""
    build_v = ctx.m.variables["build"]
    ny = len(ctx.inp.years)
    for spec in cap_specs(ctx.inp):
        amount, scale = np.asarray(spec["amount"], dtype=float), spec["scale"]
        delivered = (build_v * ctx.da(spec["per_server"] / scale, ["fleet"])).sum("fleet")
        name = spec["constraint"]
        if spec["form"] == "cumulative":
            ctx.m.add_constraints(delivered.sum("vintage") <= float(amount[-1]) / scale, name=name)
        elif spec["form"] == "schedule":
            running = ctx.da(np.tril(np.ones((ny, ny))).T, ["vintage", "year"])  # v <= y
            ctx.m.add_constraints(
                (delivered * running).sum("vintage") <= ctx.da(amount / scale, ["year"]),
                name=name,
            )
        else:
            ctx.m.add_constraints(delivered <= ctx.da(amount / scale, ["vintage"]), name=name)


def cap_status(ctx: ExplainContext) -> list[dict[str, Any]]:
    """Each cap with what the plan delivered and the years in which it binds."""

    def make() -> list[dict[str, Any]]:
        build_v = ctx.values("build")
        out = []
        for spec in cap_specs(ctx.inp):
            delivered = (
                (build_v * spec["per_server"][:, None]).sum(axis=0)
                if build_v is not None
                else np.zeros(len(ctx.years))
            )
            amount = np.asarray(spec["amount"], dtype=float)
            dual = ctx.dual(spec["constraint"])
            rng = ctx.range_of(spec["constraint"])
            form = spec["form"]
            cumulative = form != "annual"
            if form == "cumulative":
                used = np.full(len(ctx.years), delivered.sum())
                limit = np.full(len(ctx.years), amount[-1])
            elif form == "schedule":
                used, limit = np.cumsum(delivered), amount
            else:
                used, limit = delivered, amount
            tight = used >= limit * (1 - TIGHT_REL) - 1e-9
            if dual is not None:
                dv = np.atleast_1d(dual) / spec["scale"]  # USD per accelerator (or TPP)
                binding = np.broadcast_to(dv < -DUAL_EPS / spec["scale"], used.shape).copy()
            else:
                dv, binding = None, tight
            up = None if rng is None else np.atleast_1d(rng[0]) * spec["scale"]
            out.append(
                {
                    **spec,
                    "cumulative": cumulative,
                    "dual": dv,
                    "up": up,
                    "binding": binding,
                    "used": used,
                    "limit": limit,
                }
            )
        return out

    return ctx.memo("chip_caps", make)  # type: ignore[no-any-return]


def explain(ctx: ExplainContext) -> list[dict[str, Any]]:
    """Binding supply and import caps."""
    rows = []
    for cs in cap_status(ctx):
        what = "import cap" if cs.get("country") else "supply cap"
        src = f" ({cs['source']})" if cs.get("source") else ""
        word = "TPP" if cs["unit"] == "tpp" else "accelerators"
        one = "TPP" if cs["unit"] == "tpp" else "accelerator"
        years = [0] if cs["form"] == "cumulative" else range(len(ctx.years))
        for yi in years:
            if not cs["binding"][yi]:
                continue
            limit = float(cs["limit"][yi])
            period = (
                "over the horizon"
                if cs["form"] == "cumulative"
                else (f"by {ctx.years[yi]}" if cs["form"] == "schedule" else f"in {ctx.years[yi]}")
            )
            year = None if cs["form"] == "cumulative" else ctx.years[yi]
            head = f"Chip {what} '{cs['name']}'{src} is used up: {num(limit)} {word} {period}"
            if cs["dual"] is None:
                rows.append(
                    row(
                        "binding",
                        head + "; its value was not computed (no duals)",
                        float("nan"),
                        "none",
                        cs["constraint"],
                        year=year,
                    )
                )
                continue
            d = float(cs["dual"][0 if cs["form"] == "cumulative" else yi])
            money_of = 1.0 if cs["form"] != "annual" else float(ctx.dfac[yi])
            rate = -d / money_of
            note = "present value" if cs["form"] != "annual" else f"{ctx.years[yi]} money"
            up = (
                None
                if cs["up"] is None
                else float(cs["up"][0 if cs["form"] == "cumulative" else yi])
            )
            saving, room = relax_saving(d, limit, up, +1)
            rate_txt = (
                f"each more {one} would lower the cost by "
                f"{money(rate) if rate >= 1 else f'{rate:.3g} USD'} ({note})"
            )
            if room is None:
                rows.append(
                    row(
                        "binding",
                        f"{head}; at the margin {rate_txt}; how far this "
                        "rate holds was not computed",
                        saving,
                        "rate per unit",
                        cs["constraint"],
                        rate,
                        f"USD/{one}",
                        year=year,
                    )
                )
            elif room > 1e-9:
                rows.append(
                    row(
                        "binding",
                        f"{head}; {rate_txt}, for up to {num(room)} {word} "
                        f"more: {money(saving)} in all",
                        saving,
                        "saving over the stated range",
                        cs["constraint"],
                        rate,
                        f"USD/{one}",
                        f"{num(room)} {word}",
                        year=year,
                    )
                )
    return rows
