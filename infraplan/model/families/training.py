"""Training campaigns: accelerator-hours a campaign needs before its deadline.

Variables ``train[training, year]`` (servers busy all year with a campaign at a (site,
accelerator)), ``train_short[campaign]`` (share left unfinished, priced at the campaign's
value) and, for campaigns that must run at one site, ``train_site[campaign_site]`` (binary).
Expression ``train_busy[fleet, year]``: servers each fleet gives to training.

Constraints:
- ``training-complete[campaign]``: share delivered + share unfinished >= 1;
- ``training-site-link``, ``training-one-site``: a one-site campaign uses one site only.

Explanation rule: what finishing each campaign by its deadline costs at the margin, per
percent of the campaign, with the share of the campaign over which that rate holds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from infraplan.model.families.base import DUAL_EPS, BuildContext, ExplainContext, row
from infraplan.model.linexpr import gather, group_sum
from infraplan.words import money, num, words_list

NAME = "training"


def build(ctx: BuildContext) -> None:
    """Training variables and rows (nothing without campaigns)."""
    inp = ctx.inp
    tr, camp = inp.trainings, inp.campaigns
    if not len(tr):
        if len(camp):  # campaigns that can run nowhere are simply unfinished
            ctx.var("train_short", ["campaign"], lower=1, upper=1)
        return
    sites = inp.sites
    n_sites = len(sites)
    cidx = tr["campaign_idx"].to_numpy()
    start = camp["start_year"].to_numpy()[cidx]
    end = camp["end_year"].to_numpy()[cidx]
    yrs = np.asarray(inp.years)[None, :]
    window = (yrs >= start[:, None]) & (yrs <= end[:, None])
    upper = np.where(window, tr["server_years"].to_numpy()[:, None], 0.0)
    train = ctx.var(
        "train", ["training", "year"], lower=0, upper=ctx.da(upper, ["training", "year"])
    )
    short = ctx.var("train_short", ["campaign"], lower=0, upper=1)
    progress = group_sum(
        train * ctx.da(1.0 / tr["server_years"].to_numpy(), ["training"]),
        "training",
        cidx,
        len(camp),
        "campaign",
    ).sum("year")
    ctx.m.add_constraints(progress + short >= 1, name="training-complete")
    one = camp["one_site"].to_numpy().astype(bool)
    if one.any():
        site_of_tr = sites.index.get_indexer(pd.Index(tr["site"]))
        cs = cidx * n_sites + site_of_tr
        uniq, inv = np.unique(cs, return_inverse=True)
        ctx.coords["campaign_site"] = np.arange(len(uniq))
        tsite = ctx.var("train_site", ["campaign_site"], binary=True)
        ctx.integer_vars.append("train_site")
        big = ctx.da(tr["server_years"].to_numpy(), ["training"])
        site_sel = gather(tsite, "campaign_site", inv, "training", ctx.coords["training"])
        ctx.m.add_constraints(
            train - site_sel * big <= 0,
            name="training-site-link",
            mask=ctx.da(one[cidx], ["training"]),
        )
        ctx.m.add_constraints(
            group_sum(tsite, "campaign_site", uniq // n_sites, len(camp), "campaign") <= 1,
            name="training-one-site",
            mask=ctx.da(one, ["campaign"]),
        )
        ctx.data["campaign_site"] = uniq
    ctx.exprs["train_busy"] = group_sum(
        train, "training", tr["fleet"].to_numpy(), len(inp.fleet), "fleet"
    )


def explain(ctx: ExplainContext) -> list[dict[str, Any]]:
    """Campaigns: unfinished ones with their value, and the marginal cost of finishing."""
    camp = ctx.inp.campaigns
    if not len(camp):
        return []
    short = ctx.values("train_short")
    dual = ctx.dual("training-complete")
    rng = ctx.range_of("training-complete")
    tr = ctx.tables.get("training")
    rows = []
    for ci, (_, c) in enumerate(camp.reset_index(drop=True).iterrows()):
        sh = float(short[ci]) if short is not None else 0.0
        year = int(c["deadline_year"])
        if sh > 1e-6:
            value = float(ctx.coef.shortfall[ci].sum())
            text = (
                f"Training campaign '{c['id']}' is {100 * sh:.3g} % unfinished by its deadline "
                f"{year}: finishing it would cost more than its stated value "
                f"({money(float(c['shortfall_usd']))} for the whole campaign)"
            )
            rows.append(
                row(
                    "binding",
                    text,
                    sh * value,
                    "value of unfinished training charged",
                    "training-complete",
                    None,
                    None,
                    year=year,
                )
            )
            continue
        if dual is None or dual[ci] <= DUAL_EPS:
            continue
        per_pct = float(dual[ci]) / 100.0
        where = ""
        if tr is not None and not tr.empty:
            t = tr[tr["campaign"] == c["id"]]
            pairs = sorted(
                {f"{a} at {k}" for k, a in zip(t["site"], t["accelerator"], strict=True)}
            )
            where = f" on {words_list(pairs)}" if pairs else ""
        head = f"Training campaign '{c['id']}' must finish by {year}{where}"
        if rng is None:
            text = (
                f"{head}: at the margin its last percent costs {money(per_pct)} (present value); "
                "how far this rate holds was not computed"
            )
            rows.append(
                row(
                    "binding",
                    text,
                    per_pct,
                    "rate per unit",
                    "training-complete",
                    per_pct,
                    "USD per % of the campaign",
                    None,
                    year=year,
                )
            )
            continue
        down = float(np.clip(rng[1][ci], 0.0, 1.0))
        pct = 100.0 * (1.0 - down)
        if pct <= 1e-6:
            continue
        text = (
            f"{head}: its last {num(pct)} % cost {money(per_pct)} per percent at the margin "
            f"(present value), {money(per_pct * pct)} in all; dropping that part would save "
            "as much"
        )
        rows.append(
            row(
                "binding",
                text,
                per_pct * pct,
                "saving over the stated range",
                "training-complete",
                per_pct,
                "USD per % of the campaign",
                f"{num(pct)} % of the campaign",
                year=year,
            )
        )
    return rows
