"""Build the linopy capacity-expansion and dispatch model (no solving here).

Variables (flat indices from ``PlanInputs``)
- ``build[fleet, year]``      servers coming online at a (site, accelerator) in a year
- ``facility[site, year]``    MW of datacenter IT capacity coming online in a year
- ``flow[arc, year, hour]``   requests/s of a region's service sent to a site
- ``serve[option, year, hour]`` requests/s of a service served at a site on an accelerator
- ``unserved[load, year, hour]`` requests/s of demand not served (priced at the value of lost
  service)

Constraints (one named, vectorised block per concept)
- ``demand-balance``   sum of flows of a load + unserved = demand
- ``site-balance``     flows arriving at a (service, site) = what its accelerators serve
- ``server-capacity``  sum over services of served / capacity-per-server <= installed servers
- ``facility-capacity`` nameplate IT power of installed servers <= installed facility MW
- ``site-power-cap``   installed facility MW x PUE <= grid power available that year

Objective (present value at the base year, in million USD, ``OBJ_SCALE``)
- capital costs as annuities (capital recovery factor at the discount rate over the asset's
  life) paid in each horizon year the asset is in service, so that assets bought late are not
  charged for years after the horizon;
- energy: facility power (IT power x PUE) x hours x price, IT power = idle power of installed
  servers + load-proportional power of served requests;
- O&M: a share of capex per year in service;
- unserved demand x tokens per request x value of lost service.
"""

from __future__ import annotations

from dataclasses import dataclass

import linopy
import numpy as np
import xarray as xr

from infraplan.finance import alive_matrix, annuity_factor, discount_factors
from infraplan.optimize.inputs import PlanInputs

OBJ_SCALE = 1e6  # objective unit: million USD
SECONDS_PER_HOUR = 3600.0


@dataclass
class CostTerms:
    """Linear expressions (million USD, discounted) of each cost component, by year."""

    it_capex: linopy.LinearExpression
    facility_capex: linopy.LinearExpression
    energy: linopy.LinearExpression
    om: linopy.LinearExpression
    unserved_penalty: linopy.LinearExpression


@dataclass
class BuiltModel:
    """A linopy model together with the expressions used to report its results."""

    model: linopy.Model
    costs: CostTerms
    installed: linopy.LinearExpression  # (fleet, year) servers in service
    facility_mw: linopy.LinearExpression  # (site, year) IT MW installed
    it_power_mw: linopy.LinearExpression  # (site, year, hour)
    coefficients: dict[str, xr.DataArray]


def _da(values: np.ndarray, dims: list[str], coords: dict[str, object]) -> xr.DataArray:
    return xr.DataArray(values, dims=dims, coords={d: coords[d] for d in dims})


def group_sum(
    var: linopy.Variable | linopy.LinearExpression,
    dim: str,
    groups: np.ndarray,
    n_groups: int,
    new_dim: str,
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
    coords = {new_dim: np.arange(n_groups)}
    for d in other:
        coords[d] = data.indexes[d] if d in data.indexes else data[d].values
    ds = xr.Dataset(
        {
            "vars": ((new_dim, *other, "_term"), g_vars),
            "coeffs": ((new_dim, *other, "_term"), g_coef),
        },
        coords=coords,
    )
    ds["const"] = ((new_dim, *other), np.zeros(shape[:-1]))
    return linopy.LinearExpression(ds, expr.model)


def build_model(inp: PlanInputs) -> BuiltModel:
    """Create variables, constraints and objective for ``inp``."""
    scn = inp.scenario
    econ = scn.economics
    rate = scn.horizon.discount_rate
    base = scn.horizon.base_year or scn.horizon.start_year
    years = inp.years
    m = linopy.Model(force_dim_names=True)

    coords = {
        "fleet": np.arange(len(inp.fleet)),
        "site": np.asarray(inp.sites.index),
        "year": np.asarray(years),
        "vintage": np.asarray(years),
        "hour": np.asarray(inp.hours),
        "arc": np.arange(len(inp.arcs)),
        "option": np.arange(len(inp.options)),
        "load": np.arange(len(inp.loads)),
        "pair": np.arange(len(inp.pairs)),
    }
    integer = scn.solver.integer_servers

    # --- variables -------------------------------------------------------------------------
    # Builds are not allowed before the lead time has passed or before the accelerator ships:
    # an upper bound of 0 there (HiGHS presolve removes those columns).
    build_upper = _da(np.where(inp.build_allowed > 0, np.inf, 0.0), ["fleet", "vintage"], coords)
    build = m.add_variables(
        lower=0,
        upper=build_upper,
        coords=[coords["fleet"], coords["vintage"]],
        dims=["fleet", "vintage"],
        name="build",
        integer=integer,
    )
    facility = m.add_variables(
        lower=0,
        coords=[coords["site"], coords["vintage"]],
        dims=["site", "vintage"],
        name="facility",
    )
    flow = m.add_variables(
        lower=0,
        coords=[coords["arc"], coords["year"], coords["hour"]],
        dims=["arc", "year", "hour"],
        name="flow",
    )
    serve = m.add_variables(
        lower=0,
        coords=[coords["option"], coords["year"], coords["hour"]],
        dims=["option", "year", "hour"],
        name="serve",
    )
    demand = _da(inp.demand_rps, ["load", "year", "hour"], coords)
    unserved = m.add_variables(
        lower=0,
        upper=demand,
        coords=[coords["load"], coords["year"], coords["hour"]],
        dims=["load", "year", "hour"],
        name="unserved",
    )

    # --- installed capacity (expressions over vintages) ---------------------------------------
    alive_srv = _da(
        alive_matrix(years, years, econ.server_lifetime_years), ["vintage", "year"], coords
    )
    alive_fac = _da(
        alive_matrix(years, years, econ.facility_lifetime_years), ["vintage", "year"], coords
    )
    installed = (build * alive_srv).sum("vintage")  # (fleet, year)
    facility_mw = (facility * alive_fac).sum("vintage")  # (site, year)

    # --- constraints ---------------------------------------------------------------------------
    arcs, options, fleet = inp.arcs, inp.options, inp.fleet
    flows_by_load = group_sum(flow, "arc", arcs["load"].to_numpy(), len(inp.loads), "load")
    m.add_constraints(flows_by_load + unserved == demand, name="demand-balance")

    n_pairs = len(inp.pairs)
    in_pair = group_sum(flow, "arc", arcs["pair"].to_numpy(), n_pairs, "pair")
    out_pair = group_sum(serve, "option", options["pair"].to_numpy(), n_pairs, "pair")
    m.add_constraints(in_pair - out_pair == 0, name="site-balance")

    inv_cap = _da(1.0 / options["requests_per_s_per_server"].to_numpy(), ["option"], coords)
    used = group_sum(serve * inv_cap, "option", options["fleet"].to_numpy(), len(fleet), "fleet")
    m.add_constraints(used - installed <= 0, name="server-capacity")

    site_of_fleet = inp.sites.index.get_indexer(fleet["site"])
    peak_mw = _da(fleet["peak_power_w_per_server"].to_numpy() / 1e6, ["fleet"], coords)
    nameplate = group_sum(installed * peak_mw, "fleet", site_of_fleet, len(inp.sites), "site")
    nameplate = nameplate.assign_coords(site=coords["site"])
    m.add_constraints(nameplate - facility_mw <= 0, name="facility-capacity")

    pue = _da(inp.sites["pue"].to_numpy(), ["site"], coords)
    cap = xr.DataArray(
        inp.power_cap_mw.loc[inp.sites.index, years].to_numpy(),
        dims=["site", "year"],
        coords={"site": coords["site"], "year": coords["year"]},
    )
    m.add_constraints(facility_mw * pue <= cap, name="site-power-cap")

    # --- IT power per site and hour ------------------------------------------------------------
    idle_mw = _da(fleet["idle_power_w_per_server"].to_numpy() / 1e6, ["fleet"], coords)
    dyn_mw_per_rps = _da(
        (options["power_w_per_server"] - options["idle_power_w_per_server"])
        .clip(lower=0)
        .to_numpy()
        / options["requests_per_s_per_server"].to_numpy()
        / 1e6,
        ["option"],
        coords,
    )
    site_of_option = inp.sites.index.get_indexer(options["site"])
    idle_site = group_sum(installed * idle_mw, "fleet", site_of_fleet, len(inp.sites), "site")
    dyn_site = group_sum(serve * dyn_mw_per_rps, "option", site_of_option, len(inp.sites), "site")
    it_power = (dyn_site + idle_site).assign_coords(site=coords["site"])  # (site, year, hour)

    # --- costs (million USD, discounted) -------------------------------------------------------
    df = _da(discount_factors(years, base, rate), ["year"], coords)
    crf_srv = annuity_factor(rate, econ.server_lifetime_years)
    crf_fac = annuity_factor(rate, econ.facility_lifetime_years)
    net = 1.0 / (1.0 - econ.network_capex_fraction)
    price = (
        inp.server_price_usd.loc[fleet["accelerator"], years].to_numpy() * net
    )  # (fleet, vintage)
    price_da = _da(price / OBJ_SCALE, ["fleet", "vintage"], coords)
    # cost in year y of vintage v = price_v x crf, while alive
    it_capex = (build * price_da * alive_srv * crf_srv).sum("vintage") * df  # (fleet, year)
    it_om = (build * price_da * alive_srv * econ.it_om_fraction).sum("vintage") * df
    fac_cost = _da(inp.sites["capex_usd_per_mw"].to_numpy() / OBJ_SCALE, ["site"], coords)
    facility_capex = (facility * fac_cost * alive_fac * crf_fac).sum("vintage") * df
    fac_om = (facility * fac_cost * alive_fac * econ.facility_om_fraction).sum("vintage") * df

    weight = _da(inp.hour_weight, ["hour"], coords)
    power_price = _da(inp.sites["power_price_usd_mwh"].to_numpy() / OBJ_SCALE, ["site"], coords)
    energy = it_power * pue * weight * power_price * df  # (site, year, hour)

    tokens = (
        inp.loads["service"].map(inp.services["input_tokens"] + inp.services["output_tokens"])
    ).to_numpy()
    penalty = _da(
        tokens * econ.unserved_usd_per_mtok / 1e6 * SECONDS_PER_HOUR / OBJ_SCALE, ["load"], coords
    )
    unserved_cost = unserved * penalty * weight * df

    costs = CostTerms(
        it_capex=it_capex.sum("fleet"),
        facility_capex=facility_capex.sum("site"),
        energy=energy.sum(["site", "hour"]),
        om=it_om.sum("fleet") + fac_om.sum("site"),
        unserved_penalty=unserved_cost.sum(["load", "hour"]),
    )
    total = (
        costs.it_capex.sum()
        + costs.facility_capex.sum()
        + costs.energy.sum()
        + costs.om.sum()
        + costs.unserved_penalty.sum()
    )
    m.add_objective(total)
    return BuiltModel(
        model=m,
        costs=costs,
        installed=installed,
        facility_mw=facility_mw,
        it_power_mw=it_power,
        coefficients={"pue": pue, "discount": df},
    )
