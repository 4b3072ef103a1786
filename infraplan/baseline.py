"""The naive baseline: each country builds for its own peak, alone.

The plan a spreadsheet would produce, priced with the optimiser's own cost formulas so that the
two can be compared like with like (see docs/explain.md):

- Each country serves only its own regions' demand, at one site: its cheapest in-country
  candidate site, or, when it has none, the candidate site nearest to its people
  (population-weighted round-trip time). No sharing across time zones or borders.
- One accelerator per country: the (site, accelerator) pair with the lowest cost per token
  demanded, counting tokens it cannot serve at the value of lost service (so an accelerator
  that cannot run one of the country's models, or a site whose latency or residency excludes a
  region, is charged for what it leaves unserved).
- Servers: the peak over the hours (representative blocks, as the optimiser sees them) of the
  country's total load in servers, year by year; capacity never shrinks; servers retire after
  their life and are replaced. Capacity arrives no earlier than the site's lead time allows,
  never beyond the site's grid power and never beyond the chip quotas (supply and import caps,
  used up country by country); demand above that is unserved.
- Training campaigns: each runs on dedicated new servers at its cheapest allowed (site,
  accelerator), spread evenly over its window, or is left unfinished (priced as in the model)
  when that is cheaper or impossible.
- Costs: the model's formulas: capital annuities over the years in service within the horizon,
  facility MW for the nameplate IT power, energy from idle + load-proportional power x PUE x
  price, O&M shares, carbon price, renewable certificates for a renewable-share commitment, the
  unserved penalty and the training shortfall, all discounted to the base year.

The baseline is a feasible point of the optimisation model whenever ``feasible`` is true (its
budget and carbon checks pass; it does not adapt to those), so the optimised objective can never
exceed its ``total_usd`` (up to the MIP gap).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from infraplan.finance import alive_matrix, annuity_factor, discount_factors

SECONDS_PER_HOUR = 3600.0
HOURS_PER_YEAR = 8760.0
PENALTIES = ("unserved_penalty", "training_shortfall")


def _builds(
    target: np.ndarray,
    alive: np.ndarray,
    quota: list[tuple[float, np.ndarray, bool]] | None = None,
    integer: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """New units per year so that units in service reach ``target`` (with retirement), within
    chip quotas ``(units per server, amount left by year, cumulative)``; returns (builds by
    vintage, units in service by year)."""
    ny = len(target)
    b = np.zeros(ny)
    used = [0.0] * len(quota or [])
    for y in range(ny):
        in_service = float(b @ alive[:, y])
        want = max(0.0, float(target[y]) - in_service)
        for i, (per, left, cumulative) in enumerate(quota or []):
            room = (left[-1] if cumulative else left[y]) - (used[i] if cumulative else 0.0)
            want = min(want, max(room, 0.0) / per)
        if integer:
            want = math.floor(want + 1e-9)
        b[y] = want
        for i, (per, _left, _cum) in enumerate(quota or []):
            used[i] += want * per
    return b, b @ alive


def _quota(pr: Pricing, caps: list[dict], site: str, accelerator: str) -> list[tuple]:
    """Chip caps that count (site, accelerator): (units per server, amount left, cumulative)."""
    acc = pr.inp.accelerators
    out = []
    for c in caps:
        if c["accelerators"] and accelerator not in c["accelerators"]:
            continue
        if c["country"] and pr.inp.sites.loc[site, "country"] != c["country"]:
            continue
        per = float(acc.loc[accelerator, "accels_per_server"])
        if c["unit"] == "tpp":
            per *= float(acc.loc[accelerator, "tpp"])
        out.append((per, c["left"], c["period"] == "cumulative"))
    return out


def _consume(pr: Pricing, caps: list[dict], site: str, accelerator: str, b: np.ndarray) -> None:
    """Take servers built ``b`` (by vintage) out of the chip quotas that count them."""
    for c in caps:
        q = _quota(pr, [c], site, accelerator)
        if not q:
            continue
        per = q[0][0]
        if c["period"] == "cumulative":
            c["left"] = c["left"] - float((b * per).sum())
        else:
            c["left"] = c["left"] - b * per


class Pricing:
    """The optimiser's cost coefficients for one ``PlanInputs`` (undiscounted unless said)."""

    def __init__(self, inp: Any) -> None:
        scn = inp.scenario
        econ = scn.economics
        self.inp = inp
        self.years = list(inp.years)
        self.ny = len(self.years)
        rate = scn.horizon.discount_rate
        base = scn.horizon.base_year or scn.horizon.start_year
        self.df = discount_factors(self.years, base, rate)
        self.alive_srv = alive_matrix(self.years, self.years, econ.server_lifetime_years)
        self.alive_fac = alive_matrix(self.years, self.years, econ.facility_lifetime_years)
        self.crf_srv = annuity_factor(rate, econ.server_lifetime_years)
        self.crf_fac = annuity_factor(rate, econ.facility_lifetime_years)
        self.net = 1.0 / (1.0 - econ.network_capex_fraction)
        self.econ = econ
        self.integer = bool(scn.solver.integer_servers)
        self.weight = inp.hour_weight.astype(float)  # hours per year per block
        self.block_hours = inp.blocks["hours"].to_numpy(dtype=float)
        self.decision = scn.horizon.decision_year or (scn.horizon.start_year - 1)
        acc = inp.accelerators
        self.peak_mw = (acc["peak_power_w_per_server"] / 1e6).astype(float)
        cap = inp.capacity
        self.idle_mw = cap.groupby("accelerator")["idle_power_w_per_server"].max() / 1e6
        self.wcap = cap.drop_duplicates(["workload", "accelerator"]).set_index(
            ["workload", "accelerator"]
        )
        self.site_accels = {
            s.id: list(s.accelerators or acc.index) for s in scn.sites
        }  # accelerators allowed at each site
        tok = inp.workloads["input_tokens"] + inp.workloads["output_tokens"]
        self.load_tokens = inp.loads["workload"].map(tok).to_numpy(dtype=float)
        self.penalty_per_rps_block = (
            self.load_tokens[:, None]
            * econ.unserved_usd_per_mtok
            / 1e6
            * SECONDS_PER_HOUR
            * self.weight[None, :]
        )  # (load, block) USD per year of 1 request/s unserved

    # ---------------------------------------------------------------------------------------
    def server_cost_pv(self, accelerator: str, builds: np.ndarray) -> tuple[float, float]:
        """(IT capex, IT O&M) in PV USD of servers built by vintage."""
        price = self.inp.server_price_usd.loc[accelerator, self.years].to_numpy(float) * self.net
        life_pv = self.alive_srv @ self.df  # sum over years in service of discount factors
        capex = float((builds * price * self.crf_srv * life_pv).sum())
        om = float((builds * price * self.econ.it_om_fraction * life_pv).sum())
        return capex, om

    def facility_cost_pv(self, site: str, builds_mw: np.ndarray) -> tuple[float, float]:
        """(facility capex, facility O&M) in PV USD of facility MW built by vintage."""
        per_mw = float(self.inp.sites.loc[site, "capex_usd_per_mw"])
        life_pv = self.alive_fac @ self.df
        capex = float((builds_mw * per_mw * self.crf_fac * life_pv).sum())
        om = float((builds_mw * per_mw * self.econ.facility_om_fraction * life_pv).sum())
        return capex, om

    def opening_cost_pv(self, site: str, vintage: int) -> float:
        """PV USD of opening ``site`` in year index ``vintage`` (0 when it has no cost)."""
        cost = float(self.inp.sites.loc[site, "opening_cost_usd"])
        if cost <= 0:
            return 0.0
        return float(cost * self.crf_fac * (self.alive_fac[vintage] @ self.df))

    def energy_price(self, site: str) -> np.ndarray:
        """(block,) USD per MWh of facility energy at ``site``."""
        i = self.inp.sites.index.get_loc(site)
        return float(self.inp.sites.loc[site, "power_price_usd_mwh"]) * self.inp.price_mult[i]

    def first_year(self, site: str, accelerator: str) -> int:
        """First year capacity of ``accelerator`` can be online at ``site``."""
        lead = float(self.inp.sites.loc[site, "lead_time_months"])
        ship = int(self.inp.accelerators.loc[accelerator, "first_year"])
        return max(int(self.decision + math.ceil(lead / 12.0)), ship)


def _country_plan(
    pr: Pricing,
    loads_idx: np.ndarray,
    site: str,
    accelerator: str,
    power_left_mw: np.ndarray,
    caps: list[dict] | None = None,
) -> dict[str, Any]:
    """Serve loads ``loads_idx`` at (site, accelerator) for one country; costs in PV USD."""
    inp = pr.inp
    loads = inp.loads
    ny = pr.ny
    dem = inp.load_demand[loads_idx]  # (l, year, block) requests/s
    allowed = np.array(
        [site in str(loads.loc[i, "allowed_sites"]).split(";") for i in loads_idx], dtype=bool
    )
    rps = np.zeros(len(loads_idx))
    dyn = np.zeros(len(loads_idx))  # MW per request/s
    for j, i in enumerate(loads_idx):
        key = (loads.loc[i, "workload"], accelerator)
        if not allowed[j] or key not in pr.wcap.index:
            continue
        row = pr.wcap.loc[key]
        if not bool(row["feasible"]) or float(row["requests_per_s_per_server"]) <= 0:
            continue
        rps[j] = float(row["requests_per_s_per_server"])
        dyn[j] = max(float(row["power_w_per_server"]) - float(row["idle_power_w_per_server"]), 0)
        dyn[j] = dyn[j] / rps[j] / 1e6
    ok = rps > 0
    inv = np.where(ok, 1.0 / np.where(ok, rps, 1.0), 0.0)
    need = (dem * inv[:, None, None]).sum(axis=0)  # (year, block) servers
    peak = need.max(axis=1) if need.size else np.zeros(ny)  # (year,)
    target = np.maximum.accumulate(peak)  # capacity never shrinks
    first = pr.first_year(site, accelerator)
    years = np.asarray(pr.years)
    target = np.where(years >= first, target, 0.0)
    pue = float(inp.sites.loc[site, "pue"])
    peak_mw = float(pr.peak_mw[accelerator])
    # servers stay once installed: they must fit the grid power left in every later year
    room = np.minimum.accumulate(np.maximum(power_left_mw, 0.0)[::-1])[::-1]
    max_servers = room / pue / peak_mw
    if pr.integer:
        target = np.ceil(target - 1e-9)
        max_servers = np.floor(max_servers + 1e-9)
    quota = _quota(pr, caps or [], site, accelerator)
    builds, alive = _builds(np.minimum(target, max_servers), pr.alive_srv, quota, pr.integer)

    # dispatch: serve what the installed servers can, proportionally in each block
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(need > 0, np.minimum(1.0, alive[:, None] / need), 1.0)
    served = dem * ok[:, None, None] * frac[None, :, :]
    unserved = dem - served
    tokens = pr.load_tokens[loads_idx]
    penalty = (unserved * pr.penalty_per_rps_block[loads_idx][:, None, :]).sum(axis=(0, 2))

    idle_mw = float(pr.idle_mw.get(accelerator, 0.0))
    it_mw = idle_mw * alive[:, None] + (served * dyn[:, None, None]).sum(axis=0)  # (year, block)
    fac_mwh = it_mw * pue * pr.weight[None, :]
    energy_usd = (fac_mwh * pr.energy_price(site)[None, :]).sum(axis=1)
    nameplate = alive * peak_mw
    fac_target = np.maximum.accumulate(nameplate)
    fac_builds, fac_alive = _builds(fac_target, pr.alive_fac)
    it_capex, it_om = pr.server_cost_pv(accelerator, builds)
    fac_capex, fac_om = pr.facility_cost_pv(site, fac_builds)
    served_req = (served * pr.weight[None, None, :]).sum(axis=(0, 2)) * SECONDS_PER_HOUR
    served_tok = (
        (served * pr.weight[None, None, :]).sum(axis=2) * tokens[:, None] * SECONDS_PER_HOUR
    ).sum(axis=0)
    demand_req = (dem * pr.weight[None, None, :]).sum(axis=(0, 2)) * SECONDS_PER_HOUR
    demand_tok = (
        (dem * pr.weight[None, None, :]).sum(axis=2) * tokens[:, None] * SECONDS_PER_HOUR
    ).sum(axis=0)
    return {
        "site": site,
        "accelerator": accelerator,
        "peak_servers": peak,
        "servers": alive,
        "builds": builds,
        "facility_builds_mw": fac_builds,
        "facility_mw": fac_alive,
        "it_mw": it_mw,
        "energy_mwh": fac_mwh.sum(axis=1),
        "costs": {
            "it_capex": it_capex,
            "facility_capex": fac_capex,
            "energy": float((energy_usd * pr.df).sum()),
            "om": it_om + fac_om,
            "unserved_penalty": float((penalty * pr.df).sum()),
        },
        "served_requests": served_req,
        "demand_requests": demand_req,
        "served_tokens": served_tok,
        "demand_tokens": demand_tok,
        "first_year": first,
    }


def _score(plan: dict[str, Any], pr: Pricing) -> float:
    """Cost per token demanded (PV), unserved tokens at the value of lost service."""
    tok = float((plan["demand_tokens"] * pr.df).sum())
    return sum(plan["costs"].values()) / max(tok, 1.0)


def _home_sites(pr: Pricing, country: str, region_ids: list[str]) -> tuple[list[str], str]:
    """In-country candidate sites, or the nearest one (population-weighted RTT)."""
    sites = pr.inp.sites
    own = [k for k in sites.index if sites.loc[k, "country"] == country]
    if own:
        return own, "in-country"
    pop = pr.inp.regions.loc[region_ids, "population"].to_numpy(dtype=float)
    rtt = pr.inp.rtt_ms.loc[region_ids].to_numpy(dtype=float)
    mean = (pop[:, None] * rtt).sum(axis=0) / max(pop.sum(), 1.0)
    return [str(sites.index[int(np.argmin(mean))])], "nearest (no candidate site in the country)"


def _training(
    pr: Pricing, power_left: dict[str, np.ndarray], caps: list[dict]
) -> tuple[list[dict], dict]:
    """Dedicated servers for each campaign, or its shortfall when cheaper or impossible."""
    inp = pr.inp
    camp, tr = inp.campaigns, inp.trainings
    rows: list[dict] = []
    costs = {"it_capex": 0.0, "facility_capex": 0.0, "energy": 0.0, "om": 0.0}
    shortfall = 0.0
    years = np.asarray(pr.years)
    extra: dict[str, Any] = {"builds": [], "by_site": {}, "facility": {}, "accelerators": 0.0}
    extra["facility_builds"] = []
    for ci, c in camp.reset_index(drop=True).iterrows():
        dl = int(np.clip(c["end_year"], years[0], years[-1]))
        short_pv = float(c["shortfall_usd"]) * float(pr.df[list(years).index(dl)])
        best: dict[str, Any] | None = None
        for _, t in tr[tr["campaign_idx"] == ci].iterrows():
            k, a = str(t["site"]), str(t["accelerator"])
            window = (
                (years >= int(c["start_year"]))
                & (years <= int(c["end_year"]))
                & (years >= pr.first_year(k, a))
            )
            if not window.any():
                continue
            busy = np.where(window, float(t["server_years"]) / window.sum(), 0.0)
            target = busy.copy()
            if pr.integer:
                target = np.ceil(target - 1e-9)
            builds, alive = _builds(target, pr.alive_srv)
            quota = _quota(pr, caps, k, a)
            capped, _ = _builds(target, pr.alive_srv, quota, pr.integer)
            if (capped < builds - 1e-9).any():  # the chip quota left cannot supply it
                continue
            pue = float(inp.sites.loc[k, "pue"])
            peak_mw = float(pr.peak_mw[a])
            idle_mw = float(pr.idle_mw.get(a, 0.0))
            nameplate = alive * peak_mw
            if (np.maximum.accumulate(nameplate) * pue > power_left[k] + 1e-9).any():
                continue
            it_mw = idle_mw * alive + (peak_mw - idle_mw) * busy
            mwh = it_mw * pue * pr.weight.sum()
            energy = float(
                ((it_mw * pue)[:, None] * pr.weight[None, :] * pr.energy_price(k)[None, :]).sum(
                    axis=1
                )
                @ pr.df
            )
            fac_builds, _ = _builds(np.maximum.accumulate(nameplate), pr.alive_fac)
            it_capex, it_om = pr.server_cost_pv(a, builds)
            fac_capex, fac_om = pr.facility_cost_pv(k, fac_builds)
            total = it_capex + it_om + fac_capex + fac_om + energy
            if best is None or total < best["total"]:
                best = {
                    "campaign": c["id"],
                    "site": k,
                    "accelerator": a,
                    "servers": alive,
                    "builds": builds,
                    "mwh": mwh,
                    "facility_mw": np.maximum.accumulate(nameplate) * pue,
                    "facility_builds": fac_builds,
                    "total": total,
                    "costs": {
                        "it_capex": it_capex,
                        "facility_capex": fac_capex,
                        "energy": energy,
                        "om": it_om + fac_om,
                    },
                }
        if best is None or best["total"] >= short_pv:
            shortfall += short_pv
            rows.append({"campaign": c["id"], "trained": False, "shortfall_usd": short_pv})
            continue
        for key, v in best["costs"].items():
            costs[key] += v
        power_left[best["site"]] = power_left[best["site"]] - best["facility_mw"]
        _consume(pr, caps, best["site"], best["accelerator"], best["builds"])
        k = best["site"]
        extra["builds"].append((k, best["accelerator"], best["builds"]))
        extra["facility_builds"].append((k, best["facility_builds"]))
        extra["by_site"][k] = extra["by_site"].get(k, np.zeros(pr.ny)) + best["mwh"]
        extra["facility"][k] = extra["facility"].get(k, np.zeros(pr.ny)) + best["facility_mw"]
        extra["accelerators"] = (
            best["servers"] * float(inp.accelerators.loc[best["accelerator"], "accels_per_server"])
            + extra["accelerators"]
        )
        rows.append(
            {
                "campaign": c["id"],
                "trained": True,
                "site": best["site"],
                "accelerator": best["accelerator"],
                "servers_max": float(best["servers"].max()),
                "cost_usd": best["total"],
            }
        )
    if len(camp):
        costs["training_shortfall"] = shortfall
    return rows, {"costs": costs, **extra}


def naive_baseline(inp: Any) -> dict[str, Any]:
    """Each country builds for its own peak with its single cheapest-per-token accelerator.

    Returns costs by component (PV USD, the same keys as the optimised plan's ``costs_usd``),
    ``total_usd`` (penalties included, comparable with ``objective_usd``),
    ``total_excl_penalties_usd``, per-country rows, training rows, metrics, and whether the
    baseline respects the scenario's chip, budget and carbon limits (``feasible``,
    ``violations``).
    """
    pr = Pricing(inp)
    scn = inp.scenario
    years = pr.years
    loads, regions, sites = inp.loads, inp.regions, inp.sites
    if not len(loads):
        return {}
    power_left = {
        k: inp.power_cap_mw.loc[k, years].to_numpy(dtype=float) for k in sites.index
    }  # grid MW still free per site and year
    from infraplan import catalog

    # chip quotas left (each country buys within them, in turn)
    caps = [{**c, "left": np.asarray(c["amount"], dtype=float).copy()} for c in inp.chip_caps]
    country_names = catalog.countries()["country"]
    load_country = loads["region"].map(regions["country"]).to_numpy()
    countries = list(dict.fromkeys(regions.loc[loads["region"], "country"]))
    plans: list[dict[str, Any]] = []
    for country in countries:
        idx = np.flatnonzero(load_country == country)
        reg_ids = sorted(set(loads.loc[idx, "region"]))
        cands, how = _home_sites(pr, country, reg_ids)
        best = None
        for k in cands:
            for a in pr.site_accels.get(k, []):
                if a not in inp.accelerators.index:
                    continue
                p = _country_plan(pr, idx, k, a, power_left[k], caps)
                if best is None or _score(p, pr) < _score(best, pr) - 1e-12:
                    best = p
        if best is None:
            continue
        k = best["site"]
        power_left[k] = power_left[k] - best["facility_mw"] * float(sites.loc[k, "pue"])
        _consume(pr, caps, k, best["accelerator"], best["builds"])
        best.update(
            {
                "country": country,
                "country_name": str(country_names.get(country, country)),
                "site_choice": how,
                "regions": reg_ids,
            }
        )
        plans.append(best)

    train_rows, train = _training(pr, power_left, caps)

    costs = dict.fromkeys(("it_capex", "facility_capex", "energy", "om", "unserved_penalty"), 0.0)
    for p in plans:
        for c, v in p["costs"].items():
            costs[c] += v
    for c, v in train["costs"].items():
        costs[c] = costs.get(c, 0.0) + v
    # site opening costs, once per site, in the first year it has a facility
    fac_by_site: dict[str, np.ndarray] = {}
    for p in plans:
        fac_by_site.setdefault(p["site"], np.zeros(pr.ny))
        fac_by_site[p["site"]] = fac_by_site[p["site"]] + p["facility_mw"]
    for k, fac in train["facility"].items():
        fac_by_site[k] = fac_by_site.get(k, np.zeros(pr.ny)) + fac
    for k, fac in fac_by_site.items():
        if (fac > 0).any():
            costs["facility_capex"] += pr.opening_cost_pv(k, int(np.argmax(fac > 0)))

    # energy by site and year (for carbon, renewables), emissions
    energy_site: dict[str, np.ndarray] = {}
    for p in plans:
        energy_site.setdefault(p["site"], np.zeros(pr.ny))
        energy_site[p["site"]] = energy_site[p["site"]] + p["energy_mwh"]
    for k, mwh in train["by_site"].items():
        energy_site.setdefault(k, np.zeros(pr.ny))
        energy_site[k] = energy_site[k] + mwh
    energy_y = sum(energy_site.values(), np.zeros(pr.ny))
    emissions_y = sum(
        (mwh * float(sites.loc[k, "carbon_g_kwh"]) / 1000.0 for k, mwh in energy_site.items()),
        np.zeros(pr.ny),
    )
    violations: list[str] = []
    energy_cfg = scn.energy
    if energy_cfg.carbon_price_usd_per_t > 0:
        costs["carbon"] = float((emissions_y * energy_cfg.carbon_price_usd_per_t * pr.df).sum())
    if energy_cfg.carbon_cap_t is not None:
        cap_t = catalog.year_values(energy_cfg.carbon_cap_t, years, np.inf)
        for y, e, c in zip(years, emissions_y, cap_t, strict=True):
            if e > c * (1 + 1e-9):
                violations.append(f"carbon cap {y}: {e:,.0f} t > {c:,.0f} t")
    if energy_cfg.renewable_share_min is not None:
        target = catalog.year_values(energy_cfg.renewable_share_min, years, 0.0)
        ren = sum(
            (mwh * float(sites.loc[k, "renewable_share"]) for k, mwh in energy_site.items()),
            np.zeros(pr.ny),
        )
        green = np.maximum(0.0, target * energy_y - ren)
        costs["renewables"] = float((green * energy_cfg.renewable_premium_usd_mwh * pr.df).sum())

    # chip caps and capital budget (checks: the baseline does not adapt to them)
    builds = [(p["site"], p["accelerator"], p["builds"]) for p in plans] + train["builds"]
    acc = inp.accelerators
    for cap in inp.chip_caps:
        delivered = np.zeros(pr.ny)
        for k, a, b in builds:
            if cap["accelerators"] and a not in cap["accelerators"]:
                continue
            if cap["country"] and sites.loc[k, "country"] != cap["country"]:
                continue
            per = float(acc.loc[a, "accels_per_server"])
            if cap["unit"] == "tpp":
                per *= float(acc.loc[a, "tpp"])
            delivered += b * per
        amount = np.asarray(cap["amount"], dtype=float)
        if cap["period"] == "cumulative":
            if delivered.sum() > amount[-1] * (1 + 1e-9) + 1e-6:
                violations.append(
                    f"chip cap '{cap['name']}': {delivered.sum():,.0f} > {amount[-1]:,.0f}"
                )
        else:
            for y, dlv, amt in zip(years, delivered, amount, strict=True):
                if dlv > amt * (1 + 1e-9) + 1e-6:
                    violations.append(f"chip cap '{cap['name']}' {y}: {dlv:,.0f} > {amt:,.0f}")
    capex_y = np.zeros(pr.ny)
    for _k, a, b in builds:
        capex_y += b * inp.server_price_usd.loc[a, years].to_numpy(float) * pr.net
    fac_builds = [(p["site"], p["facility_builds_mw"]) for p in plans] + train["facility_builds"]
    for k, fb in fac_builds:
        capex_y += fb * float(sites.loc[k, "capex_usd_per_mw"])
    for k, fac in fac_by_site.items():
        if (fac > 0).any():
            capex_y[int(np.argmax(fac > 0))] += float(sites.loc[k, "opening_cost_usd"])
    if scn.economics.capex_budget_usd is not None:
        budget = catalog.year_values(scn.economics.capex_budget_usd, years, np.inf)
        for y, c, bud in zip(years, capex_y, budget, strict=True):
            if c > bud * (1 + 1e-9) + 1.0:
                violations.append(f"capex budget {y}: {c:,.0f} USD > {bud:,.0f} USD")
    for k, left in power_left.items():
        if (left < -1e-6).any():
            violations.append(f"grid power at {k} exceeded")

    total = float(sum(costs.values()))
    penalties = sum(costs.get(c, 0.0) for c in PENALTIES)
    served_tok = sum(p["served_tokens"] for p in plans)
    demand_req = sum(float(p["demand_requests"].sum()) for p in plans)
    served_req = sum(float(p["served_requests"].sum()) for p in plans)
    pv_tok = float((served_tok * pr.df).sum()) if len(plans) else 0.0
    acc_y = np.zeros(pr.ny) + train["accelerators"]
    for p in plans:
        acc_y += p["servers"] * float(acc.loc[p["accelerator"], "accels_per_server"])
    it_mw = {}
    for p in plans:
        it_mw.setdefault(p["site"], np.zeros_like(p["it_mw"]))
        it_mw[p["site"]] = it_mw[p["site"]] + p["it_mw"]
    peak_it = float(sum(it_mw.values()).max()) if it_mw else 0.0
    metrics = {
        "total_cost_usd": total - penalties,
        "cost_per_million_tokens_usd": (total - penalties) / (pv_tok / 1e6) if pv_tok else None,
        "served_fraction": served_req / demand_req if demand_req else 1.0,
        "served_tokens": float(np.sum(served_tok)),
        "accelerators_installed_max": float(acc_y.max()) if acc_y.size else 0.0,
        "peak_it_power_mw": peak_it,
        "energy_mwh": float(energy_y.sum()),
        "emissions_tco2": float(emissions_y.sum()),
    }
    rows = []
    for p in plans:
        aps = float(acc.loc[p["accelerator"], "accels_per_server"])
        tok = float((p["demand_tokens"] * pr.df).sum())
        served = float(p["served_requests"].sum()) / max(float(p["demand_requests"].sum()), 1e-12)
        rows.append(
            {
                "country": p["country"],
                "country_name": p["country_name"],
                "regions": ";".join(p["regions"]),
                "site": p["site"],
                "site_country": str(sites.loc[p["site"], "country"]),
                "site_choice": p["site_choice"],
                "accelerator": p["accelerator"],
                "first_year": max(int(p["first_year"]), int(years[0])),
                "peak_servers": {
                    int(y): float(v) for y, v in zip(years, p["peak_servers"], strict=True)
                },
                "servers": {int(y): float(v) for y, v in zip(years, p["servers"], strict=True)},
                "accelerators_max": float(p["servers"].max() * aps),
                "served_fraction": served,
                "cost_usd": float(sum(p["costs"].values())),
                "unserved_penalty_usd": float(p["costs"]["unserved_penalty"]),
                "cost_per_million_tokens_demanded_usd": float(sum(p["costs"].values()))
                / max(tok / 1e6, 1e-12),
            }
        )
    return {
        "description": (
            "Each country builds for its own peak at one site (its cheapest in-country candidate "
            "site, or the nearest one) with its single cheapest-per-token accelerator; no "
            "sharing across time zones or borders. Priced with the optimiser's formulas; "
            "unserved demand and unfinished training are charged as in the objective."
        ),
        "feasible": not violations,
        "violations": violations,
        "costs_usd": costs,
        "total_usd": total,
        "total_excl_penalties_usd": total - penalties,
        "countries": rows,
        "training": train_rows,
        "metrics": metrics,
    }


def saving_metrics(
    objective_usd: float, baseline: dict[str, Any], cost_excl_penalties_usd: float | None = None
) -> dict[str, float]:
    """Savings of the optimised plan against the baseline (USD, and percent of the baseline).

    ``saving_vs_baseline_usd``/``_pct`` count unserved demand and unfinished training on both
    sides at the model's values (like with like: a plan that serves less is not cheaper for
    it). With ``cost_excl_penalties_usd`` (the optimised plan's cost without penalties), also
    ``saving_vs_baseline_excl_penalties_usd``/``_pct``: the saving on the cost of serving alone.
    Empty without a baseline.
    """
    total = baseline.get("total_usd") if baseline else None
    if total is None or objective_usd is None or not np.isfinite(objective_usd):
        return {}
    saving = float(total) - float(objective_usd)
    out = {
        "saving_vs_baseline_usd": saving,
        "saving_vs_baseline_pct": 100.0 * saving / float(total) if total else 0.0,
    }
    base_cost = baseline.get("total_excl_penalties_usd")
    if cost_excl_penalties_usd is not None and base_cost:
        s2 = float(base_cost) - float(cost_excl_penalties_usd)
        out["saving_vs_baseline_excl_penalties_usd"] = s2
        out["saving_vs_baseline_excl_penalties_pct"] = 100.0 * s2 / float(base_cost)
    return out


def baseline_frame(baseline: dict[str, Any]) -> pd.DataFrame:
    """The baseline's per-country rows as a table."""
    return pd.DataFrame(baseline.get("countries", []))
