"""Whole-server cuts: valid inequalities that tighten the LP bound of whole-server plans.

Constraints ``whole-server-count[cut_family, year]`` and ``whole-server-cut[cut_family, year,
block]`` with the helper variable ``cut_servers`` (see ``whole_server_cuts`` for the
derivation). They remove no integer plan, so they have no explanation rule.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from infraplan.model.families.base import BuildContext, ExplainContext
from infraplan.model.inputs import PlanInputs
from infraplan.model.linexpr import da, gather, group_sum

NAME = "cuts"

MAX_CUT_SITES = 6  # zones allowed at most this many sites get whole-server cuts
MIN_CUT_FRACTION = 0.01  # skip cuts whose right-hand side is within this of an integer


def whole_server_cuts(inp: PlanInputs) -> dict[str, np.ndarray]:
    """Data of the whole-server cuts: valid inequalities that tighten the LP bound of integer plans.

    Zones that may only be served at a few sites (data residency, latency) share a site set S.
    Measure each zone z's load in servers of a reference size K_z (requests/s of z's workload
    on one reference server at S). A server of fleet f at S then does the work of at most
    a_f = max_z C_zf / K_z reference servers, where C_zf is its requests/s for zone z, so with n_f
    servers installed (integers) and u_z the unserved load:
        sum_f a_f n_f + sum_z u_z / K_z >= b = sum_z d_z / K_z.
    Rounding a_f up keeps it valid; its mixed-integer rounding (MIR) cut, with f = b - floor(b),
        sum_f ceil(a_f) n_f + sum_z u_z / (K_z f) >= ceil(b)
    says e.g. that a country's health data, however small, needs one whole server in the country
    unless it is left unserved, and, with a small reference server, that a load of 2.3 small
    servers needs three of them or one large one. Without the cuts the relaxation builds 0.05 of
    a server or 2.3 servers, which makes the LP bound weak for integer plans with lumpy servers.
    One family of cuts per site set and reference: each accelerator at S, and each zone's best
    server (where every a_f <= 1). Interactive zones only (batch load moves within the day); one
    row per family, year and block.

    Returns the (family, fleet) pairs with their coefficients ceil(a_f), the (family, zone) pairs
    with the coefficient on unserved load per (year, block), the right-hand side per
    (family, year, block) and a row mask.
    """
    zones, options = inp.zones, inp.options
    batch = zones["workload"].map(inp.workloads["kind"]).eq("batch").to_numpy()
    n_sites = zones["allowed_sites"].str.count(";").to_numpy() + 1
    eligible = ~batch & (zones["allowed_sites"].str.len().to_numpy() > 0)
    eligible &= n_sites <= MAX_CUT_SITES
    codes, _ = pd.factorize(pd.Series(zones["allowed_sites"].to_numpy()[eligible]))
    # requests/s per server of each eligible zone on each fleet at its sites
    zf = (
        pd.DataFrame(
            {
                "zone": np.flatnonzero(eligible),
                "group": codes,
                "site": zones["allowed_sites"].to_numpy()[eligible],
            }
        )
        .assign(site=lambda t: t["site"].str.split(";"))
        .explode("site")
        .assign(workload=lambda t: zones["workload"].to_numpy()[t["zone"].to_numpy()])
        .merge(options[["workload", "site", "accelerator", "fleet", "requests_per_s_per_server"]])
        .rename(columns={"requests_per_s_per_server": "cap"})
    )
    zf = zf[zf["cap"] > 0]
    best = zf.groupby("zone")["cap"].max().rename("best")
    per_acc = zf.groupby(["zone", "accelerator"])["cap"].max().rename("k").reset_index()
    zg = zf[["zone", "group"]].drop_duplicates().merge(best, left_on="zone", right_index=True)
    # families: (group, reference accelerator); "" = each zone's best server
    fam = pd.concat(
        [zf[["group", "accelerator"]].drop_duplicates(), zg[["group"]].drop_duplicates()]
    ).fillna({"accelerator": ""})
    fam = fam.sort_values(["group", "accelerator"]).reset_index(drop=True)
    fam["family"] = np.arange(len(fam))
    fz = fam.merge(zg, on="group").merge(per_acc, on=["zone", "accelerator"], how="left")
    fz["k"] = fz["k"].fillna(fz["best"])  # zones that cannot use the reference: their best
    ff = (
        fz[["family", "zone", "k"]]
        .merge(zf[["zone", "fleet", "cap"]], on="zone")
        .assign(a=lambda t: t["cap"] / t["k"])
        .groupby(["family", "fleet"], as_index=False)["a"]
        .max()
    )
    ff["a"] = np.ceil(ff["a"] - 1e-9)
    n_fam = len(fam)
    d = inp.zone_demand
    zone_idx = fz["zone"].to_numpy(dtype=np.int64)
    fam_idx = fz["family"].to_numpy(dtype=np.int64)
    inv_k = 1.0 / fz["k"].to_numpy()
    b = np.zeros((n_fam, *d.shape[1:]))
    np.add.at(b, fam_idx, d[zone_idx] * inv_k[:, None, None])
    frac = b - np.floor(b)
    mask = (b > 1e-9) & (frac >= MIN_CUT_FRACTION)
    coef = inv_k[:, None, None] / np.maximum(frac[fam_idx], MIN_CUT_FRACTION)
    return {
        "family_fleet": ff[["family", "fleet"]].to_numpy(dtype=np.int64).reshape(-1, 2),
        "fleet_coef": ff["a"].to_numpy(dtype=float),
        "family_zone": np.stack([fam_idx, zone_idx], axis=1),
        "zone_coef": coef,
        "rhs": np.ceil(b),
        "mask": mask,
    }


def build(ctx: BuildContext) -> None:
    """Add the ``whole-server-cut`` rows (see ``whole_server_cuts``); whole-server plans only.

    The server side depends on (family, year) only: it is held in ``cut_servers`` (one
    ``whole-server-count`` row each) so that the per-block cut rows stay short.
    """
    if not ctx.integer:
        return
    m, inp, coords = ctx.m, ctx.inp, ctx.coords
    installed = ctx.exprs["installed"]
    unserved = m.variables["unserved"]
    cut = whole_server_cuts(inp)
    ff, fz = cut["family_fleet"], cut["family_zone"]
    if not len(ff) or not cut["mask"].any():
        return
    n_fam = cut["rhs"].shape[0]
    coords["cut_family"] = np.arange(n_fam)
    coords["cut_member"] = np.arange(len(ff))
    coords["cut_zone"] = np.arange(len(fz))
    weighted = gather(installed, "fleet", ff[:, 1], "cut_member", coords["cut_member"]) * da(
        cut["fleet_coef"], ["cut_member"], coords
    )
    servers = group_sum(weighted, "cut_member", ff[:, 0], n_fam, "cut_family")
    count = m.add_variables(
        lower=0,
        coords=[coords["cut_family"], coords["year"]],
        dims=["cut_family", "year"],
        name="cut_servers",
    )
    m.add_constraints(count - servers <= 0, name="whole-server-count")
    short = gather(unserved, "zone", fz[:, 1], "cut_zone", coords["cut_zone"]) * da(
        cut["zone_coef"], ["cut_zone", "year", "block"], coords
    )
    short_f = group_sum(short, "cut_zone", fz[:, 0], n_fam, "cut_family")
    m.add_constraints(
        count + short_f >= da(cut["rhs"], ["cut_family", "year", "block"], coords),
        name="whole-server-cut",
        mask=da(cut["mask"], ["cut_family", "year", "block"], coords),
    )


def explain(ctx: ExplainContext) -> list[dict[str, Any]]:
    """Cuts never bind an integer plan: nothing to say."""
    return []
