"""The only cost formulas: every cost coefficient of a plan, computed once from its inputs.

A plan is a set of values for the model's variables (``build``, ``facility``, ``serve``,
``unserved``, ...). Its cost is linear in them, so every cost is a coefficient array with the
variable's dimensions plus the year in which the cost falls, in present-value USD at the base
year:

- ``it_capex``: a server's price (interconnect share added) as an annuity (capital recovery
  factor at the discount rate over the server life) in each horizon year it is in service;
- ``facility_capex``: construction per MW of IT capacity, and a site's opening cost, likewise
  over the facility life;
- ``energy``: facility energy (IT power x PUE) x the site's price in each block; IT power is the
  idle power of installed servers, the load-proportional power of served requests counted at
  the block's mean load (``block_ratio``), and training servers at full power;
- ``om``: a share of IT and facility capex per year in service;
- ``carbon``: emissions x the carbon price; ``renewables``: certificates x their premium;
- ``unserved_penalty``: requests not served x the workload's value of a lost request, counted
  at the block's mean (interactive) or as daily quantities (batch);
- ``training_shortfall``: the share of a campaign unfinished x its value, in its deadline year;
- ``compliance``: the rule packs' obligations (one-off and yearly per service and jurisdiction),
  a constant: in every plan's cost and in the reported optimum, not in the LP objective.

The linear programme (``infraplan.model.build``), the naive baseline, column-generation
pricing, the explanations and the metrics all price plans with these arrays: ``evaluate`` does
it for plain values (numpy), ``expressions`` for linopy variables. Both sit here, side by side.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import linopy
import numpy as np
import pandas as pd
import xarray as xr

from infraplan.finance import alive_matrix, annuity_factor, discount_factors
from infraplan.model.inputs import PlanInputs
from infraplan.units import KG_PER_T, OBJ_SCALE, SECONDS_PER_HOUR, W_PER_MW


@dataclass(frozen=True)
class CostComponent:
    """A named part of the objective."""

    name: str
    label: str
    penalty: bool
    """True for values of what the plan fails to deliver (not money spent)."""


COMPONENTS: dict[str, CostComponent] = {
    c.name: c
    for c in (
        CostComponent("it_capex", "IT equipment (servers)", False),
        CostComponent("facility_capex", "Datacenter construction and site opening", False),
        CostComponent("energy", "Electricity", False),
        CostComponent("om", "Operation & maintenance", False),
        CostComponent("carbon", "Carbon price", False),
        CostComponent("renewables", "Renewable certificates", False),
        CostComponent("compliance", "Compliance obligations (rule packs)", False),
        CostComponent("unserved_penalty", "Value of lost service", True),
        CostComponent("training_shortfall", "Value of unfinished training", True),
    )
}
"""Every cost component, in report order."""
PENALTIES = tuple(c.name for c in COMPONENTS.values() if c.penalty)


@dataclass(frozen=True)
class CostCoefficients:
    """Present-value USD per unit of each variable, by the year the cost falls in."""

    years: np.ndarray
    df: np.ndarray  # (year,) discount factor
    alive_srv: np.ndarray  # (vintage, year) 1 while a server of that vintage is in service
    alive_fac: np.ndarray  # (vintage, year) the same for facilities
    server: np.ndarray  # (fleet, vintage, year) capital annuity per server built
    server_om: np.ndarray  # (fleet, vintage, year)
    facility: np.ndarray  # (site, vintage, year) per MW of IT capacity built
    facility_om: np.ndarray  # (site, vintage, year)
    opening: np.ndarray  # (site, vintage, year) per site opened
    mwh_idle: np.ndarray  # (fleet, block) facility MWh per installed server per year
    mwh_serve: np.ndarray  # (option, year, block) facility MWh per year per request/s served
    mwh_train: np.ndarray  # (training, block) facility MWh per training server-year
    energy_idle: np.ndarray  # (fleet, year) per installed server
    energy_serve: np.ndarray  # (option, year, block) per request/s served
    energy_train: np.ndarray  # (training, year) per training server-year
    compliance: np.ndarray  # (year,) constant compliance cost of the rule packs' obligations
    carbon_t_per_mwh: np.ndarray  # (site,)
    carbon: np.ndarray  # (year,) per tCO2 emitted
    renewables: np.ndarray  # (year,) per MWh of certificates
    unserved: np.ndarray  # (zone, year, block) per request/s unserved (block's busiest hour)
    shortfall: np.ndarray  # (campaign, year) per campaign left unfinished
    spend_server: np.ndarray  # (fleet, vintage) undiscounted USD per server bought
    spend_facility: np.ndarray  # (site,) undiscounted USD per MW built
    spend_opening: np.ndarray  # (site,) undiscounted USD per site opened
    idle_mw: np.ndarray  # (fleet,) IT MW of an installed, idle server
    dyn_mw_per_rps: np.ndarray  # (option,) IT MW per request/s served (above idle)
    train_mw: np.ndarray  # (training,) IT MW above idle of a server busy training
    peak_mw: np.ndarray  # (fleet,) nameplate IT MW of a server

    @property
    def components(self) -> list[str]:
        """Components this plan has (carbon, renewables, training only when they apply)."""
        out = ["it_capex", "facility_capex", "energy", "om"]
        if self.carbon.any():
            out.append("carbon")
        if self.renewables.any():
            out.append("renewables")
        if self.compliance.any():
            out.append("compliance")
        out.append("unserved_penalty")
        if self.shortfall.shape[0]:
            out.append("training_shortfall")
        return out


def coefficients(inp: PlanInputs) -> CostCoefficients:
    """All cost coefficients of ``inp``."""
    scn = inp.scenario
    econ = scn.economics
    rate = scn.horizon.discount_rate
    years = np.asarray(inp.years)
    df = discount_factors(years, inp.base_year, rate)
    alive_srv = alive_matrix(inp.years, inp.years, econ.server_lifetime_years)
    alive_fac = alive_matrix(inp.years, inp.years, econ.facility_lifetime_years)
    crf_srv = annuity_factor(rate, econ.server_lifetime_years)
    crf_fac = annuity_factor(rate, econ.facility_lifetime_years)
    fleet, sites, options, tr = inp.fleet, inp.sites, inp.options, inp.trainings
    net = 1.0 / (1.0 - econ.network_capex_fraction)

    spend_server = inp.server_price_usd.loc[fleet["accelerator"], inp.years].to_numpy(float) * net
    life = alive_srv[None, :, :] * df[None, None, :]  # (1, vintage, year)
    server = spend_server[:, :, None] * crf_srv * life
    server_om = spend_server[:, :, None] * econ.it_om_fraction * life
    spend_facility = sites["capex_usd_per_mw"].to_numpy(float)
    life_f = alive_fac[None, :, :] * df[None, None, :]
    facility = spend_facility[:, None, None] * crf_fac * life_f
    facility_om = spend_facility[:, None, None] * econ.facility_om_fraction * life_f
    spend_opening = sites["opening_cost_usd"].to_numpy(float)
    opening = spend_opening[:, None, None] * crf_fac * life_f

    # energy: facility MWh per unit of each variable, then the site's price per block
    pue = sites["pue"].to_numpy(float)
    w = inp.hour_weight.astype(float)  # (block,) hours a year each block stands for
    price = sites["power_price_usd_mwh"].to_numpy(float)[:, None] * inp.price_mult  # (site, b)
    site_f = sites.index.get_indexer(pd.Index(fleet["site"]))
    site_o = sites.index.get_indexer(pd.Index(options["site"]))
    site_t = sites.index.get_indexer(pd.Index(tr["site"]))
    idle_mw = fleet["idle_power_w_per_server"].to_numpy(float) / W_PER_MW
    peak_mw = fleet["peak_power_w_per_server"].to_numpy(float) / W_PER_MW
    dyn = (options["power_w_per_server"] - options["idle_power_w_per_server"]).clip(lower=0)
    dyn_mw_per_rps = dyn.to_numpy(float) / options["requests_per_s_per_server"].to_numpy(float)
    dyn_mw_per_rps = dyn_mw_per_rps / W_PER_MW
    fleet_t = tr["fleet"].to_numpy(dtype=np.int64)
    train_mw = peak_mw[fleet_t] - idle_mw[fleet_t]
    mwh_idle = idle_mw[:, None] * pue[site_f][:, None] * w[None, :]
    # load-proportional power at the block's mean load (ratio 1 with 24 hourly blocks)
    mwh_serve = (
        dyn_mw_per_rps[:, None, None]
        * inp.block_ratio[None, :, :]
        * pue[site_o][:, None, None]
        * w[None, None, :]
    )
    mwh_train = train_mw[:, None] * pue[site_t][:, None] * w[None, :]
    energy_idle = (mwh_idle * price[site_f]).sum(axis=1)[:, None] * df[None, :]
    energy_serve = mwh_serve * price[site_o][:, None, :] * df[None, :, None]
    energy_train = (mwh_train * price[site_t]).sum(axis=1)[:, None] * df[None, :]
    if inp.premium_usd_mwh is not None and inp.premium_usd_mwh.any():
        # renewable certificates a site rule requires, per facility MWh and year
        prem = inp.premium_usd_mwh * df[None, :]  # (site, year)
        energy_idle = energy_idle + mwh_idle.sum(axis=1)[:, None] * prem[site_f]
        energy_serve = energy_serve + mwh_serve * prem[site_o][:, :, None]
        energy_train = energy_train + mwh_train.sum(axis=1)[:, None] * prem[site_t]
    compliance = (
        inp.compliance_usd * df if inp.compliance_usd is not None else np.zeros(len(years))
    )

    energy = scn.energy
    carbon = np.full(len(years), energy.carbon_price_usd_per_t) * df
    renewables = (
        np.full(len(years), energy.renewable_premium_usd_mwh) * df
        if energy.renewable_share_min is not None
        else np.zeros(len(years))
    )

    # value of lost service: interactive shortfalls are sized at the block's busiest hour and
    # counted at its mean; batch shortfalls are daily quantities already
    lost = inp.zones["workload"].map(inp.workloads["lost_value_usd_per_request"]).to_numpy(float)
    uratio = np.where(inp.zone_batch[:, None, None], 1.0, inp.zone_ratio)
    unserved = (
        lost[:, None, None] * SECONDS_PER_HOUR * w[None, None, :] * uratio * df[None, :, None]
    )
    camp = inp.campaigns
    shortfall = np.zeros((len(camp), len(years)))
    if len(camp):
        dl = np.clip(camp["end_year"].to_numpy(int), years[0], years[-1])
        at = years[None, :] == dl[:, None]
        shortfall = np.where(at, camp["shortfall_usd"].to_numpy(float)[:, None] * df[None, :], 0.0)
    return CostCoefficients(
        years=years,
        df=df,
        alive_srv=alive_srv,
        alive_fac=alive_fac,
        server=server,
        server_om=server_om,
        facility=facility,
        facility_om=facility_om,
        opening=opening,
        mwh_idle=mwh_idle,
        mwh_serve=mwh_serve,
        mwh_train=mwh_train,
        energy_idle=energy_idle,
        energy_serve=energy_serve,
        energy_train=energy_train,
        compliance=compliance,
        carbon_t_per_mwh=sites["carbon_g_kwh"].to_numpy(float) / KG_PER_T,
        carbon=carbon,
        renewables=renewables,
        unserved=unserved,
        shortfall=shortfall,
        spend_server=spend_server,
        spend_facility=spend_facility,
        spend_opening=spend_opening,
        idle_mw=idle_mw,
        dyn_mw_per_rps=dyn_mw_per_rps,
        train_mw=train_mw,
        peak_mw=peak_mw,
    )


# ----------------------------------------------------------------------------------------------
# plain values (numpy): a solution, the naive baseline, a hand-made plan

Values = Mapping[str, np.ndarray]
"""Variable name -> values in the model's dimension order (see ``model.build.VARIABLE_DIMS``)."""


def _get(values: Values, name: str, shape: tuple[int, ...]) -> np.ndarray:
    v = values.get(name)
    return np.zeros(shape) if v is None else np.asarray(v, dtype=float)


def installed(coef: CostCoefficients, values: Values) -> np.ndarray:
    """(fleet, year) servers in service."""
    build = _get(values, "build", coef.server.shape[:2])
    return build @ coef.alive_srv


def facility_mw(coef: CostCoefficients, values: Values) -> np.ndarray:
    """(site, year) MW of IT capacity in service."""
    fac = _get(values, "facility", coef.facility.shape[:2])
    return fac @ coef.alive_fac


def _group(values: np.ndarray, groups: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((n, *values.shape[1:]))
    np.add.at(out, groups, values)
    return out


def energy_mwh(inp: PlanInputs, coef: CostCoefficients, values: Values) -> np.ndarray:
    """(site, year) facility energy."""
    n = len(inp.sites)
    ny = len(coef.years)
    inst = installed(coef, values)
    serve = _get(values, "serve", coef.mwh_serve.shape)
    train = _get(values, "train", (coef.mwh_train.shape[0], ny))
    site_f = inp.sites.index.get_indexer(pd.Index(inp.fleet["site"]))
    site_o = inp.sites.index.get_indexer(pd.Index(inp.options["site"]))
    site_t = inp.sites.index.get_indexer(pd.Index(inp.trainings["site"]))
    out = _group(inst * coef.mwh_idle.sum(axis=1)[:, None], site_f, n)
    out += _group((serve * coef.mwh_serve).sum(axis=2), site_o, n)
    if train.size:
        out += _group(train * coef.mwh_train.sum(axis=1)[:, None], site_t, n)
    return out


def emissions_t(inp: PlanInputs, coef: CostCoefficients, values: Values) -> np.ndarray:
    """(year,) tCO2 from facility energy at each site's grid intensity."""
    return (energy_mwh(inp, coef, values) * coef.carbon_t_per_mwh[:, None]).sum(axis=0)


def it_power_mw(inp: PlanInputs, coef: CostCoefficients, values: Values) -> np.ndarray:
    """(site, year, block) IT power at each block's busiest hour."""
    n = len(inp.sites)
    ny, nb = (
        coef.mwh_serve.shape[1:] if coef.mwh_serve.size else (len(coef.years), inp.blocks.shape[0])
    )
    inst = installed(coef, values)
    serve = _get(values, "serve", coef.mwh_serve.shape)
    train = _get(values, "train", (coef.mwh_train.shape[0], ny))
    site_f = inp.sites.index.get_indexer(pd.Index(inp.fleet["site"]))
    site_o = inp.sites.index.get_indexer(pd.Index(inp.options["site"]))
    site_t = inp.sites.index.get_indexer(pd.Index(inp.trainings["site"]))
    out = np.zeros((n, ny, nb))
    out += _group(inst * coef.idle_mw[:, None], site_f, n)[:, :, None]
    out += _group(serve * coef.dyn_mw_per_rps[:, None, None], site_o, n)
    if train.size:
        out += _group(train * coef.train_mw[:, None], site_t, n)[:, :, None]
    return out


def capex_spend_usd(coef: CostCoefficients, values: Values) -> np.ndarray:
    """(vintage,) capital spent, undiscounted USD (servers, facilities, site openings)."""
    build = _get(values, "build", coef.spend_server.shape)
    fac = _get(values, "facility", coef.facility.shape[:2])
    out = (build * coef.spend_server).sum(axis=0) + (fac * coef.spend_facility[:, None]).sum(axis=0)
    if "open" in values:
        out = out + (np.asarray(values["open"]) * coef.spend_opening[:, None]).sum(axis=0)
    return out


def evaluate(inp: PlanInputs, coef: CostCoefficients, values: Values) -> dict[str, np.ndarray]:
    """Cost components of a plan, each by year (present-value USD)."""
    ny = len(coef.years)
    build = _get(values, "build", coef.server.shape[:2])
    fac = _get(values, "facility", coef.facility.shape[:2])
    serve = _get(values, "serve", coef.energy_serve.shape)
    train = _get(values, "train", coef.energy_train.shape)
    out: dict[str, np.ndarray] = {}
    out["it_capex"] = np.einsum("fv,fvy->y", build, coef.server)
    out["facility_capex"] = np.einsum("sv,svy->y", fac, coef.facility)
    if "open" in values:
        out["facility_capex"] = out["facility_capex"] + np.einsum(
            "sv,svy->y", np.asarray(values["open"], dtype=float), coef.opening
        )
    out["energy"] = (
        np.einsum("fy,fy->y", installed(coef, values), coef.energy_idle)
        + np.einsum("oyb,oyb->y", serve, coef.energy_serve)
        + np.einsum("ty,ty->y", train, coef.energy_train)
    )
    out["om"] = np.einsum("fv,fvy->y", build, coef.server_om) + np.einsum(
        "sv,svy->y", fac, coef.facility_om
    )
    comps = coef.components
    if "carbon" in comps:
        out["carbon"] = emissions_t(inp, coef, values) * coef.carbon
    if "renewables" in comps:
        green = _get(values, "green", (len(inp.sites), ny))
        out["renewables"] = green.sum(axis=0) * coef.renewables
    if "compliance" in comps:
        out["compliance"] = coef.compliance.copy()
    out["unserved_penalty"] = np.einsum(
        "zyb,zyb->y", _get(values, "unserved", coef.unserved.shape), coef.unserved
    )
    if "training_shortfall" in comps:
        short = _get(values, "train_short", (coef.shortfall.shape[0],))
        out["training_shortfall"] = short @ coef.shortfall
    return {k: out[k] for k in comps}


def constant_usd(coef: CostCoefficients) -> float:
    """Present value of the plan's constant costs (compliance obligations): part of every
    plan's cost and of the reported optimum, left out of the LP objective (no decision moves
    it)."""
    return float(coef.compliance.sum())


# ----------------------------------------------------------------------------------------------
# linopy expressions: the same formulas on the model's variables (million USD)


def _da(values: np.ndarray, dims: list[str], coords: Mapping[str, object]) -> xr.DataArray:
    return xr.DataArray(values, dims=dims, coords={d: coords[d] for d in dims})


def expressions(
    m: linopy.Model,
    exprs: Mapping[str, linopy.LinearExpression],
    coef: CostCoefficients,
    coords: Mapping[str, object],
) -> dict[str, linopy.LinearExpression]:
    """Cost components as (year,) linopy expressions in million USD (``OBJ_SCALE``).

    ``exprs`` holds the derived quantities the model built (``installed``, ``emissions_t``).
    """
    s = 1.0 / OBJ_SCALE
    v = m.variables
    out: dict[str, linopy.LinearExpression] = {}
    out["it_capex"] = (v["build"] * _da(coef.server * s, ["fleet", "vintage", "year"], coords)).sum(
        ["fleet", "vintage"]
    )
    fac = (v["facility"] * _da(coef.facility * s, ["site", "vintage", "year"], coords)).sum(
        ["site", "vintage"]
    )
    if "open" in v:
        fac = fac + (v["open"] * _da(coef.opening * s, ["site", "vintage", "year"], coords)).sum(
            ["site", "vintage"]
        )
    out["facility_capex"] = fac
    energy = (exprs["installed"] * _da(coef.energy_idle * s, ["fleet", "year"], coords)).sum(
        "fleet"
    ) + (v["serve"] * _da(coef.energy_serve * s, ["option", "year", "block"], coords)).sum(
        ["option", "block"]
    )
    if "train" in v:
        energy = energy + (
            v["train"] * _da(coef.energy_train * s, ["training", "year"], coords)
        ).sum("training")
    out["energy"] = energy
    out["om"] = (v["build"] * _da(coef.server_om * s, ["fleet", "vintage", "year"], coords)).sum(
        ["fleet", "vintage"]
    ) + (v["facility"] * _da(coef.facility_om * s, ["site", "vintage", "year"], coords)).sum(
        ["site", "vintage"]
    )
    comps = coef.components
    if "carbon" in comps:
        out["carbon"] = exprs["emissions_t"] * _da(coef.carbon * s, ["year"], coords)
    if "renewables" in comps:
        out["renewables"] = v["green"].sum("site") * _da(coef.renewables * s, ["year"], coords)
    out["unserved_penalty"] = (
        v["unserved"] * _da(coef.unserved * s, ["zone", "year", "block"], coords)
    ).sum(["zone", "block"])
    if "training_shortfall" in comps:
        out["training_shortfall"] = (
            v["train_short"] * _da(coef.shortfall * s, ["campaign", "year"], coords)
        ).sum("campaign")
    return {k: out[k] for k in comps if k in out}
