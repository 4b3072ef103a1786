"""Build the linopy capacity-expansion and dispatch model (no solving here).

Variables (flat indices from ``PlanInputs``; ``block`` = representative hour block)
- ``build[fleet, vintage]``        servers coming online at a (site, accelerator) in a year
- ``facility[site, vintage]``      MW of datacenter IT capacity coming online in a year
- ``open[site, vintage]``          1 if the site opens that year (only sites with an opening cost)
- ``flow[arc, year, block]``       requests/s of a zone's load sent to a site
- ``serve[option, year, block]``   requests/s of a workload served at a site on an accelerator
- ``unserved[zone, year, block]``  requests/s not served (priced at the value of lost service)
- ``train[training, year]``        servers busy all year with a training campaign
- ``train_site[campaign, site]``   1 if a campaign runs at that site (one site per campaign)
- ``train_short[campaign]``        share of a campaign not finished by its deadline (priced)
- ``green[site, year]``            MWh of renewable certificates/PPAs bought
- ``cut_servers[cut_family, year]`` integer builds only: servers counted by a whole-server cut

Constraints (one named, vectorised block per concept)
- ``demand-balance``     per zone and hour: flows + unserved = demand (interactive)
- ``demand-daily``       per zone and day: flows + unserved = demand (batch: may move in the day)
- ``site-balance``       flows arriving at a (workload, site) = what its accelerators serve
- ``server-capacity``    served / capacity-per-server + training servers <= installed servers
- ``facility-capacity``  nameplate IT power of installed servers <= installed facility MW
- ``site-power-cap``     installed facility MW x PUE <= grid power available that year
- ``site-open``          no facility before the site opens; opens at most once
- ``training-complete``  accelerator-hours delivered / needed + shortfall >= 1
- ``training-one-site``  a campaign runs at one site
- ``chip-cap``           accelerators (or TPP) delivered within each supply or import cap
- ``capex-budget``       capital spent per year within the budget
- ``carbon-cap``         emissions per year within the cap
- ``renewable-share``    grid renewable share + certificates >= commitment x energy
- ``whole-server-count`` integer builds only: ``cut_servers`` <= weighted servers at the site set
- ``whole-server-cut``   integer builds only: a valid inequality (see ``whole_server_cuts``)

Objective: present value at the base year in million USD (``OBJ_SCALE``) of
- capital costs as annuities (capital recovery factor at the discount rate over the asset's
  life) paid in each horizon year the asset is in service: assets bought late are not charged
  for years after the horizon;
- energy: facility power (IT power x PUE) x hours x price; IT power = idle power of installed
  servers + load-proportional power of served requests + training servers at full power;
- O&M as a share of capex per year in service; carbon price; renewable certificates;
- unserved demand x tokens x value of lost service; unfinished training x its value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import linopy
import numpy as np
import pandas as pd
import xarray as xr

from infraplan import catalog
from infraplan.finance import alive_matrix, annuity_factor, discount_factors
from infraplan.optimize.inputs import PlanInputs

OBJ_SCALE = 1e6  # objective unit: million USD
SECONDS_PER_HOUR = 3600.0
HOURS_PER_YEAR = 8760.0


@dataclass
class BuiltModel:
    """A linopy model with the expressions used to report its results."""

    model: linopy.Model
    costs: dict[str, linopy.LinearExpression]  # component -> (year,) million USD discounted
    installed: linopy.LinearExpression  # (fleet, year) servers in service
    facility_mw: linopy.LinearExpression  # (site, year) IT MW installed
    it_power_mw: linopy.LinearExpression  # (site, year, block)
    energy_mwh: linopy.LinearExpression  # (site, year) facility energy
    emissions_t: linopy.LinearExpression  # (year,)
    capex_usd: linopy.LinearExpression | None  # (vintage,) undiscounted capital spending
    cap_rows: list[dict] = field(default_factory=list)  # chip caps built (name, constraint)
    integer_vars: list[str] = field(default_factory=list)


def _da(values: np.ndarray, dims: list[str], coords: dict[str, object]) -> xr.DataArray:
    return xr.DataArray(values, dims=dims, coords={d: coords[d] for d in dims})


def group_sum(
    var: linopy.Variable | linopy.LinearExpression,
    dim: str,
    groups: np.ndarray,
    n_groups: int,
    new_dim: str,
    new_coords: np.ndarray | None = None,
) -> linopy.LinearExpression:
    """Sum ``var`` over ``dim`` within groups (``groups[i]`` = group of element i) -> ``new_dim``.

    Vectorised: builds a padded (group, term) position table with numpy and gathers labels and
    coefficients in one indexing operation, instead of a Python loop per group.
    """
    expr = var.to_linexpr() if isinstance(var, linopy.Variable) else var
    groups = np.asarray(groups, dtype=np.int64)
    order = np.argsort(groups, kind="stable")
    counts = np.bincount(groups, minlength=n_groups)
    width = max(int(counts.max()) if counts.size else 0, 1)
    starts = np.cumsum(counts) - counts
    pos = np.full((n_groups, width), -1, dtype=np.int64)
    rank = np.arange(len(groups)) - np.repeat(starts, counts)
    pos[groups[order], rank] = order

    data = expr.data
    other = [d for d in data["vars"].dims if d not in (dim, "_term")]
    vars_ = data["vars"].transpose(dim, *other, "_term").values
    coeffs = data["coeffs"].transpose(dim, *other, "_term").values
    if vars_.shape[0] == 0:  # nothing to sum: every group gets an empty (masked) term
        vars_ = np.full((1, *vars_.shape[1:]), -1, dtype=vars_.dtype)
        coeffs = np.zeros((1, *coeffs.shape[1:]))
    valid = pos >= 0
    safe = np.where(valid, pos, 0)
    g_vars = vars_[safe]  # (group, width, *other, term)
    g_coef = coeffs[safe]
    mask = valid.reshape(valid.shape + (1,) * (g_vars.ndim - 2))
    g_vars = np.where(mask, g_vars, -1)
    g_coef = np.where(mask, g_coef, 0.0)
    # merge the (width, term) axes into one term axis
    shape = (g_vars.shape[0], *g_vars.shape[2:-1], g_vars.shape[1] * g_vars.shape[-1])
    g_vars = np.moveaxis(g_vars, 1, -2).reshape(shape)
    g_coef = np.moveaxis(g_coef, 1, -2).reshape(shape)
    coords = {new_dim: np.arange(n_groups) if new_coords is None else new_coords}
    for d in other:
        coords[d] = data.indexes[d] if d in data.indexes else data[d].values
    ds = xr.Dataset(
        {
            "vars": ((new_dim, *other, "_term"), g_vars),
            "coeffs": ((new_dim, *other, "_term"), g_coef),
            "const": ((new_dim, *other), np.zeros(shape[:-1])),
        },
        coords=coords,
    )
    return linopy.LinearExpression(ds, expr.model)


def gather(
    var: linopy.Variable | linopy.LinearExpression,
    dim: str,
    index: np.ndarray,
    new_dim: str,
    new_coords: object,
) -> linopy.LinearExpression:
    """Expression whose element i along ``new_dim`` is element ``index[i]`` of ``var``."""
    expr = var.to_linexpr() if isinstance(var, linopy.Variable) else var
    data = expr.data
    other = [d for d in data["vars"].dims if d not in (dim, "_term")]
    idx = np.asarray(index, dtype=np.int64)
    vars_ = data["vars"].transpose(dim, *other, "_term").values[idx]
    coeffs = data["coeffs"].transpose(dim, *other, "_term").values[idx]
    const = data["const"].transpose(dim, *other).values[idx]
    coords = {new_dim: new_coords}
    for d in other:
        coords[d] = data.indexes[d] if d in data.indexes else data[d].values
    ds = xr.Dataset(
        {
            "vars": ((new_dim, *other, "_term"), vars_),
            "coeffs": ((new_dim, *other, "_term"), coeffs),
            "const": ((new_dim, *other), const),
        },
        coords=coords,
    )
    return linopy.LinearExpression(ds, expr.model)


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


def _whole_server_cuts(
    m: linopy.Model,
    inp: PlanInputs,
    installed: linopy.LinearExpression,
    unserved: linopy.Variable,
    coords: dict[str, object],
) -> None:
    """Add the ``whole-server-cut`` rows (see ``whole_server_cuts``).

    The server side depends on (family, year) only: it is held in ``cut_servers`` (one
    ``whole-server-count`` row each) so that the per-block cut rows stay short.
    """
    cut = whole_server_cuts(inp)
    ff, fz = cut["family_fleet"], cut["family_zone"]
    if not len(ff) or not cut["mask"].any():
        return
    n_fam = cut["rhs"].shape[0]
    coords["cut_family"] = np.arange(n_fam)
    coords["cut_member"] = np.arange(len(ff))
    coords["cut_zone"] = np.arange(len(fz))
    weighted = gather(installed, "fleet", ff[:, 1], "cut_member", coords["cut_member"]) * _da(
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
    short = gather(unserved, "zone", fz[:, 1], "cut_zone", coords["cut_zone"]) * _da(
        cut["zone_coef"], ["cut_zone", "year", "block"], coords
    )
    short_f = group_sum(short, "cut_zone", fz[:, 0], n_fam, "cut_family")
    m.add_constraints(
        count + short_f >= _da(cut["rhs"], ["cut_family", "year", "block"], coords),
        name="whole-server-cut",
        mask=_da(cut["mask"], ["cut_family", "year", "block"], coords),
    )


def build_model(inp: PlanInputs) -> BuiltModel:
    """Create variables, constraints and objective for ``inp``."""
    scn = inp.scenario
    econ = scn.economics
    rate = scn.horizon.discount_rate
    base = scn.horizon.base_year or scn.horizon.start_year
    years = inp.years
    ny = len(years)
    m = linopy.Model(force_dim_names=True)
    sites, fleet, options, arcs = inp.sites, inp.fleet, inp.options, inp.arcs
    n_sites = len(sites)

    coords: dict[str, object] = {
        "fleet": np.arange(len(fleet)),
        "site": np.asarray(sites.index),
        "year": np.asarray(years),
        "vintage": np.asarray(years),
        "block": np.arange(len(inp.blocks)),
        "arc": np.arange(len(arcs)),
        "option": np.arange(len(options)),
        "zone": np.arange(len(inp.zones)),
        "pair": np.arange(len(inp.pairs)),
        "training": np.arange(len(inp.trainings)),
        "campaign": np.arange(len(inp.campaigns)),
    }
    integer = scn.solver.integer_servers
    integer_vars: list[str] = []

    def var(name: str, dims: list[str], **kw: object) -> linopy.Variable:
        return m.add_variables(
            coords=[coords[d] for d in dims],
            dims=dims,
            name=name,
            **kw,  # type: ignore[arg-type]
        )

    # --- capacity variables -------------------------------------------------------------------
    # Builds are not allowed before the lead time has passed or before the accelerator ships:
    # an upper bound of 0 there (HiGHS presolve removes those columns).
    build_upper = _da(np.where(inp.build_allowed > 0, np.inf, 0.0), ["fleet", "vintage"], coords)
    build = var("build", ["fleet", "vintage"], lower=0, upper=build_upper, integer=integer)
    if integer:
        integer_vars.append("build")
    facility = var("facility", ["site", "vintage"], lower=0)
    alive_srv = _da(
        alive_matrix(years, years, econ.server_lifetime_years), ["vintage", "year"], coords
    )
    alive_fac = _da(
        alive_matrix(years, years, econ.facility_lifetime_years), ["vintage", "year"], coords
    )
    installed = (build * alive_srv).sum("vintage")  # (fleet, year)
    facility_mw = (facility * alive_fac).sum("vintage")  # (site, year)

    # --- dispatch variables -------------------------------------------------------------------
    flow = var("flow", ["arc", "year", "block"], lower=0)
    serve = var("serve", ["option", "year", "block"], lower=0)
    zdem = _da(inp.zone_demand, ["zone", "year", "block"], coords)
    batch = inp.zones["workload"].map(inp.workloads["kind"]).eq("batch").to_numpy()
    unserved = var("unserved", ["zone", "year", "block"], lower=0)

    # --- demand ------------------------------------------------------------------------------
    to_zone = group_sum(flow, "arc", arcs["zone"].to_numpy(), len(inp.zones), "zone")
    interactive = _da(~batch, ["zone"], coords)
    m.add_constraints(to_zone + unserved == zdem, name="demand-balance", mask=interactive)
    if batch.any():
        w_day = _da(inp.blocks["hours"].to_numpy(dtype=float), ["block"], coords)
        mean = zdem * _da(inp.zone_ratio, ["zone", "year", "block"], coords)
        m.add_constraints(
            ((to_zone + unserved) * w_day).sum("block") == (mean * w_day).sum("block"),
            name="demand-daily",
            mask=_da(batch, ["zone"], coords),
        )

    in_pair = group_sum(flow, "arc", arcs["pair"].to_numpy(), len(inp.pairs), "pair")
    out_pair = group_sum(serve, "option", options["pair"].to_numpy(), len(inp.pairs), "pair")
    m.add_constraints(in_pair - out_pair == 0, name="site-balance")

    # --- training ----------------------------------------------------------------------------
    tr = inp.trainings
    camp = inp.campaigns
    train_busy = None
    if len(tr):
        cidx = tr["campaign_idx"].to_numpy()
        start = camp["start_year"].to_numpy()[cidx]
        end = camp["end_year"].to_numpy()[cidx]
        yrs = np.asarray(years)[None, :]
        window = (yrs >= start[:, None]) & (yrs <= end[:, None])
        upper = np.where(window, tr["server_years"].to_numpy()[:, None], 0.0)
        train = var(
            "train", ["training", "year"], lower=0, upper=_da(upper, ["training", "year"], coords)
        )
        shortfall = var("train_short", ["campaign"], lower=0, upper=1)
        progress = group_sum(
            train * _da(1.0 / tr["server_years"].to_numpy(), ["training"], coords),
            "training",
            cidx,
            len(camp),
            "campaign",
        ).sum("year")
        m.add_constraints(progress + shortfall >= 1, name="training-complete")
        one = camp["one_site"].to_numpy()
        if one.any():
            site_of_tr = sites.index.get_indexer(tr["site"])
            cs = cidx * n_sites + site_of_tr
            uniq, inv = np.unique(cs, return_inverse=True)
            coords["campaign_site"] = np.arange(len(uniq))
            tsite = var("train_site", ["campaign_site"], binary=True)
            integer_vars.append("train_site")
            mask = _da(one[cidx], ["training"], coords)
            big = _da(tr["server_years"].to_numpy(), ["training"], coords)
            # train[t, y] <= server_years x train_site[campaign, site]
            site_sel = gather(tsite, "campaign_site", inv, "training", coords["training"])
            m.add_constraints(train - site_sel * big <= 0, name="training-site-link", mask=mask)
            m.add_constraints(
                group_sum(tsite, "campaign_site", uniq // n_sites, len(camp), "campaign") <= 1,
                name="training-one-site",
                mask=_da(one, ["campaign"], coords),
            )
        train_busy = group_sum(train, "training", tr["fleet"].to_numpy(), len(fleet), "fleet")

    # --- capacity ----------------------------------------------------------------------------
    inv_cap = _da(1.0 / options["requests_per_s_per_server"].to_numpy(), ["option"], coords)
    used = group_sum(serve * inv_cap, "option", options["fleet"].to_numpy(), len(fleet), "fleet")
    lhs = used - installed if train_busy is None else used + train_busy - installed
    m.add_constraints(lhs <= 0, name="server-capacity")

    if integer:
        _whole_server_cuts(m, inp, installed, unserved, coords)

    site_of_fleet = sites.index.get_indexer(fleet["site"])
    peak_mw = _da(fleet["peak_power_w_per_server"].to_numpy() / 1e6, ["fleet"], coords)
    nameplate = group_sum(
        installed * peak_mw,
        "fleet",
        site_of_fleet,
        n_sites,
        "site",
        coords["site"],  # type: ignore[arg-type]
    )
    m.add_constraints(nameplate - facility_mw <= 0, name="facility-capacity")

    pue = _da(sites["pue"].to_numpy(), ["site"], coords)
    cap = _da(inp.power_cap_mw.loc[sites.index, years].to_numpy(), ["site", "year"], coords)
    m.add_constraints(facility_mw * pue <= cap, name="site-power-cap")

    # --- site opening (binary, only for sites with an opening cost) -----------------------------
    opening = sites["opening_cost_usd"].to_numpy()
    opened = None
    if (opening > 0).any():
        open_ = var("open", ["site", "vintage"], binary=True)
        integer_vars.append("open")
        has_cost = _da(opening > 0, ["site"], coords)
        m.add_constraints(open_.sum("vintage") <= 1, name="site-open-once", mask=has_cost)
        cum = _da(np.tril(np.ones((ny, ny))).T, ["vintage", "year"], coords)  # v <= y
        opened = (open_ * cum).sum("vintage")  # (site, year) 1 once open
        big_mw = _da(sites["power_cap_mw"].to_numpy() / sites["pue"].to_numpy(), ["site"], coords)
        # facility in service (not all ever built: a retired facility may be rebuilt)
        m.add_constraints(facility_mw - opened * big_mw <= 0, name="site-open", mask=has_cost)

    # --- IT power, energy, emissions -------------------------------------------------------------
    idle_mw = _da(fleet["idle_power_w_per_server"].to_numpy() / 1e6, ["fleet"], coords)
    dyn = (options["power_w_per_server"] - options["idle_power_w_per_server"]).clip(lower=0)
    dyn_mw_per_rps = _da(
        dyn.to_numpy() / options["requests_per_s_per_server"].to_numpy() / 1e6, ["option"], coords
    )
    site_of_option = sites.index.get_indexer(options["site"])
    site_c = coords["site"]
    idle_site = group_sum(installed * idle_mw, "fleet", site_of_fleet, n_sites, "site", site_c)  # type: ignore[arg-type]
    dyn_site = group_sum(serve * dyn_mw_per_rps, "option", site_of_option, n_sites, "site", site_c)  # type: ignore[arg-type]
    it_power = dyn_site + idle_site  # (site, year, block), at each block's busiest hour
    # energy counts load-proportional power at the block's mean load (ratio 1 with 24 hours)
    ratio = _da(inp.block_ratio, ["year", "block"], coords)
    it_energy_power = dyn_site * ratio + idle_site
    if train_busy is not None:
        train_mw = _da(
            (fleet["peak_power_w_per_server"] - fleet["idle_power_w_per_server"]).to_numpy() / 1e6,
            ["fleet"],
            coords,
        )
        train_site_mw = group_sum(
            train_busy * train_mw,
            "fleet",
            site_of_fleet,
            n_sites,
            "site",
            site_c,  # type: ignore[arg-type]
        )
        it_power = it_power + train_site_mw
        it_energy_power = it_energy_power + train_site_mw
    weight = _da(inp.hour_weight, ["block"], coords)
    energy_mwh = (it_energy_power * pue * weight).sum("block")  # (site, year)
    carbon_t = _da(sites["carbon_g_kwh"].to_numpy() / 1000.0, ["site"], coords)
    emissions = (energy_mwh * carbon_t).sum("site")  # (year,)

    # --- costs (million USD, discounted) --------------------------------------------------------
    df = _da(discount_factors(years, base, rate), ["year"], coords)
    crf_srv = annuity_factor(rate, econ.server_lifetime_years)
    crf_fac = annuity_factor(rate, econ.facility_lifetime_years)
    net = 1.0 / (1.0 - econ.network_capex_fraction)
    price = inp.server_price_usd.loc[fleet["accelerator"], years].to_numpy() * net
    price_da = _da(price / OBJ_SCALE, ["fleet", "vintage"], coords)
    fac_cost = _da(sites["capex_usd_per_mw"].to_numpy() / OBJ_SCALE, ["site"], coords)
    costs: dict[str, linopy.LinearExpression] = {}
    costs["it_capex"] = ((build * price_da * alive_srv * crf_srv).sum("vintage") * df).sum("fleet")
    costs["facility_capex"] = ((facility * fac_cost * alive_fac * crf_fac).sum("vintage") * df).sum(
        "site"
    )
    if opened is not None:
        open_cost = _da(opening / OBJ_SCALE, ["site"], coords)
        costs["facility_capex"] = costs["facility_capex"] + (
            (m.variables["open"] * open_cost * alive_fac * crf_fac).sum("vintage") * df
        ).sum("site")
    price_mwh = _da(
        sites["power_price_usd_mwh"].to_numpy()[:, None] * inp.price_mult / OBJ_SCALE,
        ["site", "block"],
        coords,
    )
    costs["energy"] = ((it_energy_power * pue * weight * price_mwh).sum("block") * df).sum("site")
    it_om = (build * price_da * alive_srv * econ.it_om_fraction).sum("vintage") * df
    fac_om = (facility * fac_cost * alive_fac * econ.facility_om_fraction).sum("vintage") * df
    costs["om"] = it_om.sum("fleet") + fac_om.sum("site")

    energy_cfg = scn.energy
    if energy_cfg.carbon_price_usd_per_t > 0:
        costs["carbon"] = emissions * (energy_cfg.carbon_price_usd_per_t / OBJ_SCALE) * df
    if energy_cfg.carbon_cap_t is not None:
        cap_t = catalog.year_values(energy_cfg.carbon_cap_t, years, np.inf)
        m.add_constraints(
            emissions <= _da(cap_t, ["year"], coords),
            name="carbon-cap",
            mask=_da(np.isfinite(cap_t), ["year"], coords),
        )
    if energy_cfg.renewable_share_min is not None:
        target = catalog.year_values(energy_cfg.renewable_share_min, years, 0.0)
        green = var("green", ["site", "year"], lower=0)
        grey_share = _da(1.0 - sites["renewable_share"].to_numpy(), ["site"], coords)
        m.add_constraints(green - energy_mwh * grey_share <= 0, name="renewable-available")
        ren = _da(sites["renewable_share"].to_numpy(), ["site"], coords)
        tgt = _da(target, ["year"], coords)
        m.add_constraints(
            (energy_mwh * ren + green).sum("site") - energy_mwh.sum("site") * tgt >= 0,
            name="renewable-share",
        )
        costs["renewables"] = (green * (energy_cfg.renewable_premium_usd_mwh / OBJ_SCALE) * df).sum(
            "site"
        )

    tokens = (
        inp.zones["workload"]
        .map(inp.workloads["input_tokens"] + inp.workloads["output_tokens"])
        .to_numpy(dtype=float)
    )
    penalty = _da(
        tokens * econ.unserved_usd_per_mtok / 1e6 * SECONDS_PER_HOUR / OBJ_SCALE, ["zone"], coords
    )
    # interactive shortfalls are sized at block peaks and counted at block means; batch
    # shortfalls are already daily quantities
    zratio = _da(
        np.where(batch[:, None, None], 1.0, inp.zone_ratio), ["zone", "year", "block"], coords
    )
    costs["unserved_penalty"] = ((unserved * penalty * weight * zratio).sum("block") * df).sum(
        "zone"
    )
    if len(camp):
        short_cost = _da(camp["shortfall_usd"].to_numpy() / OBJ_SCALE, ["campaign"], coords)
        dl = np.clip(camp["end_year"].to_numpy(), years[0], years[-1])
        dl_df = _da(discount_factors(dl, base, rate), ["campaign"], coords)
        # charged in the deadline year (a (year,) expression for reporting)
        at_deadline = _da(
            (np.asarray(years)[None, :] == dl[:, None]).astype(float), ["campaign", "year"], coords
        )
        costs["training_shortfall"] = (
            m.variables["train_short"] * short_cost * dl_df * at_deadline
        ).sum("campaign")

    # --- capital spending: chip caps and budget --------------------------------------------------
    cap_rows = []
    for cap_row in inp.chip_caps:
        sel = np.ones(len(fleet), dtype=bool)
        if cap_row["accelerators"]:
            sel &= fleet["accelerator"].isin(cap_row["accelerators"]).to_numpy()
        if cap_row["country"]:
            sel &= (fleet["country"] == cap_row["country"]).to_numpy()
        if not sel.any():
            continue
        unit = fleet["tpp_per_server"] if cap_row["unit"] == "tpp" else fleet["accels_per_server"]
        amount = np.asarray(cap_row["amount"], dtype=float)
        # rows are scaled by the cap (TPP caps are ~1e8) so that coefficients stay near 1;
        # the dual is rescaled when reported
        scale = max(float(np.max(amount)), 1.0)
        per_server = _da(np.where(sel, unit.to_numpy(), 0.0) / scale, ["fleet"], coords)
        delivered = (build * per_server).sum("fleet")  # (vintage,) in units of `scale`
        name = f"chip-cap[{cap_row['name']}]"
        if cap_row["period"] == "cumulative" and np.all(amount == amount[-1]):
            m.add_constraints(delivered.sum("vintage") <= float(amount[-1]) / scale, name=name)
        elif cap_row["period"] == "cumulative":
            # a schedule of cumulative allowances: deliveries so far within each year's amount
            running = _da(np.tril(np.ones((ny, ny))).T, ["vintage", "year"], coords)  # v <= y
            m.add_constraints(
                (delivered * running).sum("vintage") <= _da(amount / scale, ["year"], coords),
                name=name,
            )
        else:
            m.add_constraints(delivered <= _da(amount / scale, ["vintage"], coords), name=name)
        cap_rows.append({**cap_row, "constraint": name, "scale": scale})

    capex_usd = (build * price_da).sum("fleet") + (facility * fac_cost).sum("site")
    if opened is not None:
        capex_usd = capex_usd + (
            m.variables["open"] * _da(opening / OBJ_SCALE, ["site"], coords)
        ).sum("site")
    if econ.capex_budget_usd is not None:
        budget = catalog.year_values(econ.capex_budget_usd, years, np.inf)
        m.add_constraints(
            capex_usd <= _da(budget / OBJ_SCALE, ["vintage"], coords),
            name="capex-budget",
            mask=_da(np.isfinite(budget), ["vintage"], coords),
        )

    total = sum(c.sum() for c in costs.values())
    m.add_objective(total)
    return BuiltModel(
        model=m,
        costs=costs,
        installed=installed,
        facility_mw=facility_mw,
        it_power_mw=it_power,
        energy_mwh=energy_mwh,
        emissions_t=emissions,
        capex_usd=capex_usd,
        cap_rows=cap_rows,
        integer_vars=integer_vars,
    )
