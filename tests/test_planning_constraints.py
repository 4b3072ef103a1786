"""Planning constraints of the national/continental model (issue 4), each with a hand-worked case.

Every scenario is small (1-3 regions, 1-3 sites, 1-2 accelerators, 1-4 years) and uses the
``fixed_perf`` stand-in for the performance model, so that every figure can be worked out by hand:

- demand: 1e6 people x 8.64 requests/day, flat profile -> 1e6 x 8.64 / 86,400 = 100 requests/s;
- H100 server: 10 requests/s, 10 kW busy, 2 kW idle, nameplate 8 x 700 + 4,600 = 10.2 kW,
  price 288,142 USD (catalog, price year 2024) / (1 - 0.19 network share) = 355,730.86 USD;
- H200 server: 15 requests/s, same power; price 312,667 USD (price year 2025);
- unserved: 700 tokens/request x 20 USD per million tokens x 3,600 x 8,760 s
  = 441,504 USD per (request/s over a year).

Every solved scenario is also checked against the model's invariants (``check_invariants``):
cost parts sum to the objective; dispatch + unserved = demand per (year, hour, region, service);
servers busy + training <= installed per (year, hour, site, accelerator); no dispatch beyond the
network budget or against a residency rule; installed nameplate x PUE within the power cap; chip
caps, capex budgets, training windows and one-site campaigns respected.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import BASE

from infraplan import catalog, perf
from infraplan.finance import annuity_factor, discount_factors
from infraplan.model.inputs import build_inputs
from infraplan.network import rtt_matrix
from infraplan.pipeline import plan
from infraplan.scenario import Scenario, parse_scenario

pytestmark = pytest.mark.usefixtures("fixed_perf")

RATE = 0.07
NET = 1 - 0.19  # cluster network share of capex (economics default)
CRF5 = annuity_factor(RATE, 5)
CRF2 = annuity_factor(RATE, 2)
CRF20 = annuity_factor(RATE, 20)
H100 = catalog.row("accelerators", "h100-sxm")
H200 = catalog.row("accelerators", "h200-sxm")
P_H100 = float(H100["server_price_usd"]) / NET  # 355,730.86 USD with the cluster network
P_H200 = float(H200["server_price_usd"]) / NET
NAMEPLATE_MW = (8 * float(H100["tdp_w"]) + float(H100["server_overhead_w"])) / 1e6  # 0.0102
FAC_USD_PER_MW = 10_000_000.0  # base scenario facility capex
# unserved penalty per request/s held for a whole year (700 tokens, 20 USD/Mtok)
PENALTY_PER_RPS_YEAR = 700 * 20 / 1e6 * 3600 * 8760  # 441,504 USD
# facility energy per request/s served all year on H100 at full load:
# (idle 2 kW per 0.1 server + (10 - 2) kW / 10 req/s) x PUE 1.25 x 8,760 h = 10.95 MWh
MWH_PER_RPS_YEAR = (0.1 * 2.0 + 0.8) * 1.25 * 8760 / 1000


def df(year: int, base: int = 2027) -> float:
    return float(discount_factors([year], base, RATE)[0])


# ---------------------------------------------------------------------------------------------
# helpers: solve and check the invariants
# ---------------------------------------------------------------------------------------------


def solve(data: dict[str, Any]) -> Any:
    """Plan a scenario mapping, assert it is optimal and keeps every invariant."""
    scn = parse_scenario(copy.deepcopy(data))
    res = plan(scn)
    assert res.status == "optimal", res.termination
    check_invariants(res, scn)
    return res


def mip(data: dict[str, Any]) -> dict[str, Any]:
    """Binary decisions present: ask HiGHS for a proven optimum, not the default 1 % gap."""
    data.setdefault("solver", {})["mip_gap"] = 1e-9
    return data


def power_cap(scn: Scenario, site_id: str, year: int) -> float:
    s = next(s for s in scn.sites if s.id == site_id)
    if s.power_mw is None:
        steps = catalog.parse_year_steps(str(catalog.sites().loc[site_id, "power_mw"]))
    elif isinstance(s.power_mw, dict):
        steps = {int(k): float(v) for k, v in sorted(s.power_mw.items())}
    else:
        return float(s.power_mw)
    return catalog.step_value(steps, year)


def year_value(value: float | dict[int, float] | None, year: int, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, dict):
        return catalog.step_value(
            {int(k): float(v) for k, v in sorted(value.items())}, year, default
        )
    return float(value)


def block_demand(res: Any, n_blocks: int) -> pd.Series:
    """Demand per (year, block start hour, region, service): each block carries its busiest hour."""
    d = res.demand.copy()
    size = 24 // n_blocks
    d["hour_utc"] = d["hour_utc"] // size * size
    return d.groupby(["year", "hour_utc", "region", "service"])["requests_per_s"].max()


def check_invariants(res: Any, scn: Scenario) -> None:
    keys = ["year", "hour_utc", "region", "service"]
    # 1. cost parts sum to the objective, by component and by year
    assert sum(res.costs_usd.values()) == pytest.approx(res.objective_usd, rel=1e-6, abs=1e-3)
    cby = res.costs_by_year
    assert cby["total_usd"].sum() == pytest.approx(res.objective_usd, rel=1e-6, abs=1e-3)
    for k, v in res.costs_usd.items():
        assert v >= -1e-6 * max(1.0, abs(res.objective_usd)), k

    # 2. dispatch + unserved = demand (interactive: per hour; batch: per day)
    size = 24 // scn.solver.hour_blocks
    dem = block_demand(res, scn.solver.hour_blocks)
    tol = 1e-6 * max(1.0, float(dem.max()))
    assert (res.dispatch["requests_per_s"] >= -tol).all()
    assert (res.unserved["requests_per_s"] >= -tol).all()
    served = res.dispatch.groupby(keys)["requests_per_s"].sum().reindex(dem.index, fill_value=0)
    uns = res.unserved.groupby(keys)["requests_per_s"].sum().reindex(dem.index, fill_value=0)
    kind = res.services.set_index("id")["kind"]
    is_batch = dem.index.get_level_values("service").map(kind).to_numpy() == "batch"
    total = served + uns
    if scn.solver.hour_blocks == 24:
        np.testing.assert_allclose(total[~is_batch], dem[~is_batch], rtol=1e-6, atol=tol)
    else:
        # a block carries the busiest hour of each zone (merged loads): per load at most its own
        # busiest hour; summed over a zone's loads, exactly the zone's busiest hour
        assert (total[~is_batch] <= dem[~is_batch] * (1 + 1e-6) + tol).all()
        loads = build_inputs(scn).loads.set_index(["region", "service"])["zone"]
        hourly = res.demand.copy()
        hourly["zone"] = loads.reindex(
            pd.MultiIndex.from_frame(hourly[["region", "service"]])
        ).to_numpy()
        hourly = hourly[hourly["service"].map(kind) != "batch"].dropna(subset=["zone"])
        hourly["block"] = hourly["hour_utc"] // size * size
        z_hour = hourly.groupby(["zone", "year", "block", "hour_utc"])["requests_per_s"].sum()
        z_peak = z_hour.groupby(["zone", "year", "block"]).max()
        t = total.reset_index(name="v")
        t["zone"] = loads.reindex(pd.MultiIndex.from_frame(t[["region", "service"]])).to_numpy()
        t = t[t["service"].map(kind) != "batch"].dropna(subset=["zone"])
        z_tot = t.groupby(["zone", "year", "hour_utc"])["v"].sum()
        z_tot.index = z_tot.index.set_names(["zone", "year", "block"])
        np.testing.assert_allclose(z_tot.sort_index(), z_peak.sort_index(), rtol=1e-6, atol=tol)
    if is_batch.any() and scn.solver.hour_blocks == 24:
        day = ["year", "region", "service"]
        np.testing.assert_allclose(
            (total[is_batch] * size).groupby(day).sum(),
            (dem[is_batch] * size).groupby(day).sum(),
            rtol=1e-6,
            atol=tol * 24,
        )

    # 3. servers busy (inference) + training servers <= installed, per (year, hour, site, acc)
    inst = res.installed.set_index(["year", "site", "accelerator"])["servers"]
    busy = res.serving.groupby(["year", "hour_utc", "site", "accelerator"])["servers_busy"].sum()
    train = pd.Series(dtype=float)
    if "training" in res.tables and len(res.training):
        train = res.training.groupby(["year", "site", "accelerator"])["servers"].sum()
    hours = sorted(set(res.site_load["hour_utc"]))
    idx = set(busy.index) | {(y, h, k, a) for (y, k, a) in train.index for h in hours}
    for y, h, k, a in idx:
        need = busy.get((y, h, k, a), 0.0) + train.get((y, k, a), 0.0)
        assert need <= inst.get((y, k, a), 0.0) * (1 + 1e-6) + 1e-6, (y, h, k, a)

    # 4. latency: every dispatched flow within the service's network budget (RTT recomputed)
    regions = res.regions.set_index("id")
    sites = res.sites.set_index("id")
    rtt = pd.DataFrame(
        rtt_matrix(regions["lat"], regions["lon"], sites["lat"], sites["lon"]),
        index=regions.index,
        columns=sites.index,
    )
    svc = res.services.set_index("id")
    disp = res.dispatch
    if len(disp):
        d_rtt = rtt.to_numpy()[
            regions.index.get_indexer(disp["region"]), sites.index.get_indexer(disp["site"])
        ]
        budget = disp["service"].map(svc["network_budget_ms"]).to_numpy()
        assert (d_rtt <= budget + 1e-9).all(), "dispatch beyond the network budget"

    # 5. residency: an independent reading of the scenario's rules
    flows = disp[["region", "service", "site"]].drop_duplicates()
    for _, f in flows.iterrows():
        dclass = svc.loc[f["service"], "data_class"]
        home = regions.loc[f["region"], "country"]
        host = sites.loc[f["site"], "country"]
        for rule in scn.residency:
            classes = [rule.data_class] if isinstance(rule.data_class, str) else rule.data_class
            if dclass not in classes or (
                rule.regions is not None and f["region"] not in rule.regions
            ):
                continue
            countries = [home if c == "home" else c for c in rule.allowed_countries or []]
            ok = host in countries or f["site"] in (rule.allowed_sites or [])
            assert ok, f"{f['service']} of {f['region']} served at {f['site']} against {rule}"

    # 6. installed nameplate x PUE within the grid power of that year
    it_cap = res.installed.groupby(["site", "year"])["it_capacity_mw"].sum()
    for (k, y), mw in it_cap.items():
        cap = power_cap(scn, k, int(y))
        assert mw * float(sites.loc[k, "pue"]) <= cap * (1 + 1e-6) + 1e-9, (k, y)

    # 7. chip caps (accelerators or TPP; annual or cumulative)
    build = res.build.copy()
    build["country"] = build["site"].map(sites["country"])
    tpp = catalog.accelerators()["tpp"]
    build["tpp"] = build["accelerators"] * build["accelerator"].map(tpp)
    for cap in scn.chip_caps:
        sel = build
        if cap.accelerators:
            sel = sel[sel["accelerator"].isin(cap.accelerators)]
        if cap.country:
            sel = sel[sel["country"] == cap.country]
        col = "tpp" if cap.unit == "tpp" else "accelerators"
        by_year = sel.groupby("year")[col].sum()
        if cap.period == "cumulative":  # delivered so far within the allowance of each year
            so_far = by_year.reindex(scn.horizon.years, fill_value=0.0).cumsum()
            for y, v in so_far.items():
                assert v <= year_value(cap.amount, int(y), 0.0) * (1 + 1e-6) + 1e-6, (cap, y)
        else:
            for y, v in by_year.items():
                assert v <= year_value(cap.amount, int(y), 0.0) * (1 + 1e-6) + 1e-6, (cap, y)

    # 8. capex budget: servers + facility (MW added, at its capex) + site openings, undiscounted
    if scn.economics.capex_budget_usd is not None:
        spend = res.build.groupby("year")["capex_usd"].sum()
        nameplate = it_cap.unstack("year").reindex(columns=scn.horizon.years, fill_value=0.0)
        added = nameplate.T.cummax().diff().fillna(nameplate.T.cummax()).T  # facility MW built
        fac = (added.mul(sites["capex_usd_per_mw"], axis=0)).sum(axis=0)
        opening = {s.id: s.opening_cost_usd or 0.0 for s in scn.sites}
        first_used = nameplate.gt(1e-9).idxmax(axis=1)[nameplate.gt(1e-9).any(axis=1)]
        for y in scn.horizon.years:
            total = spend.get(y, 0.0) + fac.get(y, 0.0)
            total += sum(opening[k] for k, fy in first_used.items() if fy == y)
            limit = year_value(scn.economics.capex_budget_usd, y, math.inf)
            assert total <= limit * (1 + 1e-6) + 1e-3, (y, total, limit)

    # 9. training: within its window, at one site when asked, complete or priced as shortfall
    if scn.training:
        camp = res.campaigns.set_index("id")
        tr = res.training
        for c in scn.training:
            rows = tr[tr["campaign"] == c.id]
            start = c.start_year or scn.horizon.start_year
            assert rows["year"].between(start, c.deadline_year).all(), c.id
            if c.one_site:
                assert rows["site"].nunique() <= 1, c.id
            done = rows["share_of_campaign"].sum()
            assert done <= 1 + 1e-6
            assert done + camp.loc[c.id, "shortfall_share"] == pytest.approx(1.0, abs=1e-6)


# ---------------------------------------------------------------------------------------------
# scenario pieces
# ---------------------------------------------------------------------------------------------


def site(sid: str, **kw: Any) -> dict[str, Any]:
    """A custom site near Abu Dhabi with the base scenario's figures (overridable)."""
    return {**copy.deepcopy(BASE["sites"][0]), "id": sid, **kw}


RIYADH = {"country": "SAU", "lat": 24.71, "lon": 46.68}  # ~780 km from Abu Dhabi: RTT ~14 ms
OSLO = {"country": "NOR", "lat": 59.91, "lon": 10.75}  # ~4,900 km: RTT ~76 ms
PARIS = {"country": "FRA", "lat": 48.86, "lon": 2.35}


@pytest.fixture
def capacities(fixed_perf: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, tuple]:
    """Override the fixed capacity of accelerators: ``table[acc] = (req/s, busy W, idle W)``."""
    table: dict[str, tuple[float, float, float]] = {}
    base = perf.server_capacity  # already the fixed stand-in

    def cap(model: str, accelerator: str, **kw: Any) -> Any:
        c = base(model, accelerator, **kw)
        if accelerator in table:
            rps, busy, idle = table[accelerator]
            rps *= min(1.0, kw["ttft_ms"] / 1000.0)
            c = dataclasses.replace(c, requests_per_s=rps, power_w=busy, idle_power_w=idle)
        return c

    monkeypatch.setattr(perf, "server_capacity", cap)
    return table


def servers(res: Any, table: str = "installed", **where: Any) -> pd.Series:
    """Servers by year in ``res.<table>`` filtered by column values."""
    df_ = res.tables[table]
    for k, v in where.items():
        df_ = df_[df_[k] == v]
    return df_.groupby("year")["servers"].sum()


def dispatched(res: Any, **where: Any) -> float:
    d = res.dispatch
    for k, v in where.items():
        d = d[d[k] == v]
    return float(d["requests_per_s"].sum())


# ---------------------------------------------------------------------------------------------
# 1. lead time
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("lead_months", "online"), [(12, 2027), (13, 2028), (25, 2029)])
def test_lead_time_capacity_arrives_after_ceil_months(
    base_scenario: dict[str, Any], lead_months: int, online: int
) -> None:
    """Decision 2026 + ceil(months / 12): 12 -> 2027, 13 -> 2028, 25 -> 2029. Every earlier year
    of the 2027-2029 horizon is wholly unserved: 100 req/s in each hour, penalty
    441,504 USD x 100 x discount factor of each such year."""
    base_scenario["horizon"].update({"end_year": 2029, "decision_year": 2026})
    base_scenario["sites"][0]["lead_time_months"] = lead_months
    assert online == 2026 + math.ceil(lead_months / 12)
    res = solve(base_scenario)
    build = res.build.groupby("year")["servers"].sum()
    assert list(build.index) == [online]
    assert build[online] == pytest.approx(10.0, rel=1e-6)
    un = res.unserved.groupby("year")["requests_per_s"]
    for y in range(2027, 2030):
        if y < online:
            assert un.get_group(y).tolist() == pytest.approx([100.0] * 24, rel=1e-6)
        else:
            assert y not in un.groups
    penalty = sum(PENALTY_PER_RPS_YEAR * 100 * df(y) for y in range(2027, online))
    assert res.costs_usd["unserved_penalty"] == pytest.approx(penalty, rel=1e-6, abs=1e-3)


# ---------------------------------------------------------------------------------------------
# 2. site power growing by year
# ---------------------------------------------------------------------------------------------


def test_site_power_by_year_limits_servers(base_scenario: dict[str, Any]) -> None:
    """Servers <= (power_mw / PUE) / 10.2 kW: 2027 0.05 MW -> 3.92157 servers (39.2157 req/s,
    60.7843 unserved); 2028 0.10 MW -> 7.84314 servers (21.5686 unserved); 2029 1 MW -> 78 > 10,
    all served with 10 servers."""
    base_scenario["horizon"]["end_year"] = 2029
    base_scenario["sites"][0]["power_mw"] = {2027: 0.05, 2028: 0.10, 2029: 1.0}
    res = solve(base_scenario)
    inst = servers(res)
    for y, mw in [(2027, 0.05), (2028, 0.10)]:
        n = mw / 1.25 / NAMEPLATE_MW
        assert inst[y] == pytest.approx(n, rel=1e-6)
        un = res.unserved[res.unserved["year"] == y]["requests_per_s"]
        assert un.tolist() == pytest.approx([100.0 - 10.0 * n] * 24, rel=1e-6)
    assert inst[2029] == pytest.approx(10.0, rel=1e-6)
    assert 2029 not in set(res.unserved["year"])


# ---------------------------------------------------------------------------------------------
# 3. accelerator availability year and price decline
# ---------------------------------------------------------------------------------------------


def test_accelerator_available_from_its_first_year(
    base_scenario: dict[str, Any], capacities: dict[str, tuple]
) -> None:
    """B200 ships in 2025 (catalog first_year). Here it serves 40 req/s per server (far cheaper
    per request than the H100's 10), demand grows 50 -> 75 -> 100 req/s over 2024-2026:
    2024 only H100 can be built: 5 servers; 2025 and 2026 each add 25 req/s on B200:
    25 / 40 = 0.625 server; the H100 bought in 2024 stay (capital sunk, 5-year life)."""
    assert int(catalog.row("accelerators", "b200")["first_year"]) == 2025
    capacities["b200"] = (40.0, 10_000.0, 2_000.0)
    base_scenario["horizon"].update({"start_year": 2024, "end_year": 2026, "decision_year": 2023})
    base_scenario["accelerators"] = ["h100-sxm", "b200"]
    base_scenario["services"][0]["adoption"] = {2024: 0.5, 2026: 1.0}
    res = solve(base_scenario)
    build = res.build.set_index(["accelerator", "year"])["servers"]
    assert set(build.index) == {("h100-sxm", 2024), ("b200", 2025), ("b200", 2026)}
    assert build[("h100-sxm", 2024)] == pytest.approx(5.0, rel=1e-6)
    assert build[("b200", 2025)] == pytest.approx(0.625, rel=1e-6)
    assert build[("b200", 2026)] == pytest.approx(0.625, rel=1e-6)
    assert len(res.unserved) == 0


def test_accelerator_price_declines_per_year(base_scenario: dict[str, Any]) -> None:
    """H100 price year 2024, decline 10 %/yr: a 2027 server costs 288,142 x 0.9^3 = 210,055.5
    USD; / 0.81 with the network = 259,327.8 USD; it_capex = 10 x that x CRF(7 %, 5 y)."""
    base_scenario["economics"] |= {"accelerator_price_decline_per_year": 0.1}
    res = solve(base_scenario)
    assert int(H100["year"]) == 2024
    price = P_H100 * 0.9**3
    assert res.build["capex_usd"].sum() == pytest.approx(10 * price, rel=1e-6)
    assert res.costs_usd["it_capex"] == pytest.approx(10 * price * CRF5, rel=1e-6)


# ---------------------------------------------------------------------------------------------
# 4. end-of-life retirement and replacement
# ---------------------------------------------------------------------------------------------


def test_servers_retire_after_lifetime_and_are_rebuilt(base_scenario: dict[str, Any]) -> None:
    """Lifetime 2 years, 2027-2030, flat 100 req/s: 10 servers built in 2027 serve 2027-2028,
    10 more built in 2029 (year 3) serve 2029-2030. it_capex = 10 x 355,730.86 x CRF(7 %, 2)
    x (df 2027 + df 2028 + df 2029 + df 2030) = 10 x 355,730.86 x 0.553092 x 3.624316."""
    base_scenario["horizon"]["end_year"] = 2030
    base_scenario["economics"] |= {"server_lifetime_years": 2}
    res = solve(base_scenario)
    build = servers(res, "build")
    assert list(build.index) == [2027, 2029]
    assert build.tolist() == pytest.approx([10.0, 10.0], rel=1e-6)
    assert servers(res).tolist() == pytest.approx([10.0] * 4, rel=1e-6)
    pv = sum(df(y) for y in range(2027, 2031))
    assert res.costs_usd["it_capex"] == pytest.approx(10 * P_H100 * CRF2 * pv, rel=1e-6)


def test_retirement_with_growing_demand(base_scenario: dict[str, Any]) -> None:
    """Demand 50, 66.67, 83.33, 100 req/s (adoption 0.5 -> 1 over 2027-2030), lifetime 2:
    builds 5, 1.6667, 5 + 1.6667 (replacing 2027's), 1.6667 + 1.6667 (replacing 2028's);
    installed = builds of this and last year = demand / 10, never shrinking."""
    base_scenario["horizon"]["end_year"] = 2030
    base_scenario["economics"] |= {"server_lifetime_years": 2}
    base_scenario["services"][0]["adoption"] = {2027: 0.5, 2030: 1.0}
    res = solve(base_scenario)
    need = [5.0, 5.0 + 5 / 3, 5.0 + 10 / 3, 10.0]
    assert servers(res).tolist() == pytest.approx(need, rel=1e-6)
    assert servers(res, "build").tolist() == pytest.approx(
        [5.0, 5 / 3, 5 + 5 / 3, 10 / 3], rel=1e-6
    )
    b = servers(res, "build").reindex(range(2027, 2031), fill_value=0.0)
    inst = servers(res)
    for y in range(2027, 2031):  # installed = vintages still alive (this year and last)
        assert inst[y] == pytest.approx(b[y] + b.get(y - 1, 0.0), rel=1e-6)
    assert (np.diff(inst.to_numpy()) >= -1e-9).all()


# ---------------------------------------------------------------------------------------------
# 5. chip caps
# ---------------------------------------------------------------------------------------------


def _two_year_growth(data: dict[str, Any]) -> dict[str, Any]:
    """2027-2028, demand 100 then 200 req/s."""
    data["horizon"]["end_year"] = 2028
    data["services"][0]["requests_per_user_per_day"] = 17.28
    data["services"][0]["adoption"] = {2027: 0.5, 2028: 1.0}
    return data


@pytest.mark.parametrize("period", ["annual", "cumulative"])
def test_global_supply_cap_forces_second_accelerator(
    base_scenario: dict[str, Any], period: str
) -> None:
    """H200 (15 req/s at 312,667 USD) is cheaper per request than H100 (10 req/s at 288,142).
    Supply cap: 40 H200 accelerators = 5 servers = 75 req/s.
    annual: 5 H200 servers each year; H100 takes the rest: 2.5 servers each year.
    cumulative: 5 H200 servers in 2027 (two years of use beat one), none in 2028;
    H100 2.5 in 2027 and 200 - 75 - 25 = 100 req/s -> 10 more in 2028."""
    _two_year_growth(base_scenario)
    base_scenario["accelerators"] = ["h100-sxm", "h200-sxm"]
    base_scenario["chip_caps"] = [
        {"name": "H200 supply", "accelerators": ["h200-sxm"], "amount": 40, "period": period}
    ]
    res = solve(base_scenario)
    b = res.build.set_index(["accelerator", "year"])
    h200 = b.loc["h200-sxm"]["accelerators"]
    h100 = b.loc["h100-sxm"]["servers"]
    if period == "annual":
        assert h200.tolist() == pytest.approx([40.0, 40.0], rel=1e-6)
        assert h100.tolist() == pytest.approx([2.5, 2.5], rel=1e-6)
    else:
        assert list(h200.index) == [2027]
        assert h200.sum() == pytest.approx(40.0, rel=1e-6)
        assert h100.tolist() == pytest.approx([2.5, 10.0], rel=1e-6)
    assert len(res.unserved) == 0


@pytest.mark.parametrize("period", ["annual", "cumulative"])
def test_import_cap_in_tpp_forces_second_site(base_scenario: dict[str, Any], period: str) -> None:
    """Import cap into ARE of 500,000 TPP; an H200 server is 8 x 15,831 = 126,648 TPP, so ARE may
    receive 3.947950 servers (59.2193 req/s) per year (annual) or in total (cumulative). The rest
    goes to a dearer Saudi site (120 vs 80 USD/MWh) within the latency budget.
    annual: ARE 3.94795 servers each year; SAU 40.7807 / 15 = 2.71871 in each year too.
    cumulative: ARE 3.94795 in 2027 only; SAU 2.71871 then 100 / 15 = 6.66667 more."""
    _two_year_growth(base_scenario)
    base_scenario["accelerators"] = ["h200-sxm"]
    base_scenario["sites"].append(site("s2", **RIYADH, power_price_usd_mwh=120))
    base_scenario["chip_caps"] = [
        {
            "name": "ARE licence",
            "country": "ARE",
            "unit": "tpp",
            "amount": 500_000,
            "period": period,
        }
    ]
    res = solve(base_scenario)
    tpp_server = 8 * float(H200["tpp"])
    assert tpp_server == pytest.approx(126_648.0)
    n_are = 500_000 / tpp_server
    are = servers(res, "build", site="s1")
    sau = servers(res, "build", site="s2")
    sau_2027 = (100 - 15 * n_are) / 15
    if period == "annual":
        assert are.tolist() == pytest.approx([n_are, n_are], rel=1e-6)
        assert sau.tolist() == pytest.approx([sau_2027, sau_2027], rel=1e-6)
    else:
        assert are.tolist() == pytest.approx([n_are], rel=1e-6)
        assert sau.tolist() == pytest.approx([sau_2027, 100 / 15], rel=1e-6)
    delivered = res.build[res.build["site"] == "s1"]["accelerators"].sum() * float(H200["tpp"])
    assert delivered == pytest.approx(500_000 * (2 if period == "annual" else 1), rel=1e-6)
    assert len(res.unserved) == 0


def test_binding_cap_without_alternative_leaves_demand_unserved(
    base_scenario: dict[str, Any],
) -> None:
    """Only H200 at one site, supply cap 40 accelerators: 5 servers = 75 req/s; 25 unserved in
    every hour; unserved penalty = 25 x 441,504 = 11,037,600 USD."""
    base_scenario["accelerators"] = ["h200-sxm"]
    base_scenario["chip_caps"] = [{"accelerators": ["h200-sxm"], "amount": 40}]
    res = solve(base_scenario)
    assert res.build["accelerators"].sum() == pytest.approx(40.0, rel=1e-6)
    assert res.unserved["requests_per_s"].tolist() == pytest.approx([25.0] * 24, rel=1e-6)
    assert res.costs_usd["unserved_penalty"] == pytest.approx(25 * PENALTY_PER_RPS_YEAR, rel=1e-6)


# ---------------------------------------------------------------------------------------------
# 6. data residency
# ---------------------------------------------------------------------------------------------


def _residency_case(data: dict[str, Any]) -> dict[str, Any]:
    """Regions r1 (Abu Dhabi, 1e6 people) and r2 (Dubai, 0.5e6); services chat (public,
    100 + 50 req/s) and health (health data, 50 + 25 req/s); sites: 'home' in ARE at 200 USD/MWh,
    'foreign' in Saudi Arabia at 30 USD/MWh (cheaper, within the latency budget)."""
    data["regions"].append(
        {
            "id": "r2",
            "country": "ARE",
            "population": 500_000,
            "internet_share": 1.0,
            "lat": 25.2,
            "lon": 55.27,
        }
    )
    health = copy.deepcopy(data["services"][0])
    health.update(
        {
            "id": "health",
            "sector": "health",
            "data_class": "health",
            "requests_per_user_per_day": 4.32,
        }
    )
    data["services"].append(health)
    data["sites"] = [
        site("home", power_price_usd_mwh=200),
        site("foreign", **RIYADH, power_price_usd_mwh=30),
    ]
    return data


RESIDENCY_RULES = {
    "none": ([], {"home": 0.0, "foreign": 22.5}),
    "home-country": (
        [{"data_class": "health", "allowed_countries": ["home"]}],
        {"home": 7.5, "foreign": 15.0},
    ),
    "allowed-site": (
        [{"data_class": ["health", "sensitive"], "allowed_sites": ["home"]}],
        {"home": 7.5, "foreign": 15.0},
    ),
    "only-r1": (
        [{"data_class": "health", "regions": ["r1"], "allowed_countries": ["home"]}],
        {"home": 5.0, "foreign": 17.5},
    ),
}


@pytest.mark.parametrize("case", list(RESIDENCY_RULES))
def test_residency_keeps_health_data_at_home(base_scenario: dict[str, Any], case: str) -> None:
    """Without a rule all load goes to the cheap foreign site (22.5 servers). A health rule
    (``allowed_countries: [home]`` or ``allowed_sites: [home]``) keeps the 75 req/s of health
    data at 'home' (7.5 servers) and the 150 req/s of chat abroad (15); a rule limited to r1
    keeps only r1's 50 req/s home (5 servers; r2's health goes abroad: 17.5 there)."""
    rules, expected = RESIDENCY_RULES[case]
    _residency_case(base_scenario)
    base_scenario["residency"] = rules
    res = solve(base_scenario)
    inst = res.installed.groupby("site")["servers"].sum().reindex(["home", "foreign"]).fillna(0)
    assert inst.to_dict() == pytest.approx(expected, rel=1e-6, abs=1e-6)
    health_abroad = dispatched(res, service="health", site="foreign")
    if case in ("home-country", "allowed-site"):
        assert health_abroad == 0.0
        assert dispatched(res, service="chat", site="home") == 0.0
    if case == "only-r1":
        assert dispatched(res, service="health", region="r1", site="foreign") == 0.0
        assert dispatched(res, service="health", region="r2", site="foreign") == pytest.approx(
            25.0 * 24, rel=1e-6
        )


# ---------------------------------------------------------------------------------------------
# 7. latency; interactive vs batch
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("budget_ms", "far_used"), [(50, False), (100, True)])
def test_site_beyond_network_budget_gets_no_dispatch(
    base_scenario: dict[str, Any], budget_ms: float, far_used: bool
) -> None:
    """Oslo is ~4,900 km from Abu Dhabi: RTT = 2 x 4,900 x 1.5 / 200 + 2 ~ 75.6 ms. With a 50 ms
    budget the cheap Oslo site gets nothing (all 10 servers near); with 100 ms it takes it all."""
    base_scenario["services"][0]["network_budget_ms"] = budget_ms
    base_scenario["sites"] = [
        site("near", power_price_usd_mwh=200),
        site("far", **OSLO, power_price_usd_mwh=30),
    ]
    res = solve(base_scenario)
    r = res.regions.set_index("id").loc["r1"]
    rtt_far = float(rtt_matrix([r["lat"]], [r["lon"]], [OSLO["lat"]], [OSLO["lon"]])[0, 0])
    assert 50 < rtt_far < 100
    far = dispatched(res, site="far")
    if far_used:
        assert far == pytest.approx(100.0 * 24, rel=1e-6)
    else:
        assert far == 0.0
        assert dispatched(res, site="near") == pytest.approx(100.0 * 24, rel=1e-6)


@pytest.mark.parametrize("kind", ["interactive", "batch"])
def test_batch_load_moves_within_the_day(base_scenario: dict[str, Any], kind: str) -> None:
    """Office profile (weights sum 182, peak 16): 8.64e6 requests/day, peak hour
    8.64e6 x 16 / 182 / 3600 = 210.989 req/s -> 21.0989 servers when served in its hour;
    a batch twin spreads the day flat: 8.64e6 / 86,400 = 100 req/s -> 10 servers."""
    svc = base_scenario["services"][0]
    svc.update({"profile": "office", "kind": kind})
    res = solve(base_scenario)
    peak = 8.64e6 * 16 / 182 / 3600
    n = peak / 10 if kind == "interactive" else 10.0
    assert servers(res).sum() == pytest.approx(n, rel=1e-6)
    per_hour = res.dispatch.groupby("hour_utc")["requests_per_s"].sum()
    if kind == "batch":
        assert per_hour.tolist() == pytest.approx([100.0] * 24, rel=1e-6)
    else:
        assert per_hour.max() == pytest.approx(peak, rel=1e-6)
    assert len(res.unserved) == 0


# ---------------------------------------------------------------------------------------------
# 8. training campaigns
# ---------------------------------------------------------------------------------------------

FLOPS_70B_1T = 6 * 70e9 * 1000e9  # 4.2e23
H100_HOURS = FLOPS_70B_1T / (989.4e12 * 0.4) / 3600  # 294,793 accelerator-hours at MFU 0.4
SERVER_YEARS = H100_HOURS / (8 * 8760)  # 4.20652 H100 servers busy a whole year


def _campaign(**kw: Any) -> dict[str, Any]:
    c = {"id": "sovereign", "params_b": 70.0, "tokens_b": 1000.0, "deadline_year": 2027, "mfu": 0.4}
    c.update(kw)
    return c


@pytest.mark.parametrize("one_site", [True, False])
def test_training_one_site_and_competing_with_inference(
    base_scenario: dict[str, Any], one_site: bool
) -> None:
    """FLOPs = 6 x 70e9 x 1e12 = 4.2e23; H100 bf16 989.4 TFLOP/s at MFU 0.4 -> 294,793
    accelerator-hours = 4.20652 servers all year. Site 'cheap' (20 USD/MWh) has power for
    3 servers (0.03825 MW / 1.25 / 10.2 kW), 'dear' (200 USD/MWh) for plenty.
    one site: training cannot fit 'cheap' -> all 4.20652 at 'dear'; inference fills 'cheap'
    (3 servers) and puts 7 at 'dear' (11.20652 installed there).
    split allowed: training draws 10.2 kW per server vs 10 kW for busy inference, so 'cheap'
    hosts 3 training servers, 'dear' 1.20652 training + 10 inference."""
    assert int(catalog.row("accelerators", "h100-sxm")["bf16_tflops"] * 10) == 9894
    base_scenario["sites"] = [
        site("cheap", power_price_usd_mwh=20, power_mw=3 * NAMEPLATE_MW * 1.25),
        site("dear", power_price_usd_mwh=200),
    ]
    base_scenario["training"] = [_campaign(one_site=one_site)]
    if one_site:
        mip(base_scenario)
    res = solve(base_scenario)
    camp = res.campaigns.set_index("id").loc["sovereign"]
    assert camp["flops"] == pytest.approx(4.2e23, rel=1e-12)
    assert camp["shortfall_share"] == pytest.approx(0.0, abs=1e-9)
    tr = res.training.groupby("site")["servers"].sum()
    assert res.training["accelerator_hours"].sum() == pytest.approx(H100_HOURS, rel=1e-6)
    inst = res.installed.groupby("site")["servers"].sum()
    assert inst["cheap"] == pytest.approx(3.0, rel=1e-6)
    assert inst["dear"] == pytest.approx(10 + SERVER_YEARS - 3, rel=1e-6)
    if one_site:
        assert tr.to_dict() == pytest.approx({"dear": SERVER_YEARS}, rel=1e-6)
    else:
        assert tr.to_dict() == pytest.approx({"cheap": 3.0, "dear": SERVER_YEARS - 3}, rel=1e-6)


def test_training_deadline_and_power_limited_shortfall(base_scenario: dict[str, Any]) -> None:
    """2027-2029, deadline 2028, one site with power for 12 servers, inference needs 10: training
    gets 2 servers in 2027 and 2028 (4 server-years of the 4.20652 needed), none in 2029.
    Shortfall share = 1 - 4 / 4.20652 = 0.049095, priced at 6 USD per H100-hour in the deadline
    year: 0.049095 x 294,793 x 6 x df(2028) = 81,168 USD."""
    base_scenario["horizon"]["end_year"] = 2029
    base_scenario["sites"][0]["power_mw"] = 12 * NAMEPLATE_MW * 1.25
    base_scenario["training"] = [_campaign(deadline_year=2028)]
    res = solve(mip(base_scenario))
    by_year = res.training.groupby("year")["servers"].sum()
    assert by_year.to_dict() == pytest.approx({2027: 2.0, 2028: 2.0}, rel=1e-6)
    short = 1 - 4 / SERVER_YEARS
    camp = res.campaigns.set_index("id").loc["sovereign"]
    assert camp["shortfall_share"] == pytest.approx(short, rel=1e-6)
    assert res.costs_usd["training_shortfall"] == pytest.approx(
        short * H100_HOURS * 6 * df(2028), rel=1e-6
    )
    assert servers(res).tolist() == pytest.approx([12.0] * 3, rel=1e-6)
    assert len(res.unserved) == 0  # inference (worth 441,504 USD per req/s-year) comes first


def test_impossible_deadline_is_refused_at_validation(base_scenario: dict[str, Any]) -> None:
    """Deadline 2026 is before the 2027 start: the campaign could never run, so validation
    refuses it naming the field (issue 10: a window that cannot exist is an error), rather
    than planning a 100 % shortfall."""
    from infraplan.errors import InfraplanError
    from infraplan.scenario import parse_scenario

    base_scenario["training"] = [_campaign(deadline_year=2026)]
    with pytest.raises(InfraplanError) as info:
        parse_scenario(base_scenario)
    assert "training[0] ('sovereign').deadline_year: 2026 is before the horizon starts" in str(
        info.value.problems
    )


# ---------------------------------------------------------------------------------------------
# 9. energy: price profile, carbon price, carbon cap, renewable share
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "utc_offset"), [("interactive", 0.0), ("batch", 0.0), ("batch", 4.0)]
)
def test_price_profile_shifts_batch_to_cheap_hours(
    base_scenario: dict[str, Any], kind: str, utc_offset: float
) -> None:
    """Power costs 80 USD/MWh in local hours 0-11 and 100x that in 12-23 (profile in the site's
    local time: at UTC+4 the cheap UTC hours are 20-23 and 0-7).
    Shifting 10 req/s x 12 h/day to the cheap half saves 10 x 0.8 kW x 1.25 x 4,380 h x
    (8,000 - 80) = 346,896 USD/yr per extra server, which costs 355,730.86 x (CRF5 + 3 %)
    + 102,000 x (CRF20 + 2 %) + idle 2.5 kW x 8,760 h x 4,040 avg = ~197,600 USD/yr: batch load
    all moves (an LP corner): 200 req/s in the cheap hours, none in the dear ones, 20 servers.
    Energy cost: 1.25 x 365 x 80 x (12 x (40 + 160) + 12 x 40 x 100) kWh / 1000 = 1,839,600 USD.
    The interactive twin stays flat on 10 servers."""
    base_scenario["services"][0]["kind"] = kind
    base_scenario["sites"][0].update(
        {"utc_offset": utc_offset, "price_profile": [1.0] * 12 + [100.0] * 12}
    )
    res = solve(base_scenario)
    per_hour = (
        res.dispatch.groupby("hour_utc")["requests_per_s"].sum().reindex(range(24), fill_value=0)
    )
    cheap = [(h + utc_offset) % 24 < 12 for h in range(24)]
    if kind == "batch":
        assert per_hour.tolist() == pytest.approx([200.0 if c else 0.0 for c in cheap], abs=1e-6)
        assert servers(res).sum() == pytest.approx(20.0, rel=1e-6)
        assert res.costs_usd["energy"] == pytest.approx(1_839_600.0, rel=1e-6)
    else:
        assert per_hour.tolist() == pytest.approx([100.0] * 24, rel=1e-6)
        assert servers(res).sum() == pytest.approx(10.0, rel=1e-6)
        # 1.25 x 365 x 80 x 12 x 100 kW x (1 + 100) / 1000
        assert res.costs_usd["energy"] == pytest.approx(1.25 * 365 * 80 * 12 * 100 * 101 / 1000)


def test_carbon_price_is_a_cost_component(base_scenario: dict[str, Any]) -> None:
    """100 req/s: 1,095 MWh facility energy x 0.4 t/MWh = 438 t x 100 USD/t = 43,800 USD."""
    base_scenario["energy"] = {"carbon_price_usd_per_t": 100}
    res = solve(base_scenario)
    assert res.metrics["energy_mwh"] == pytest.approx(100 * MWH_PER_RPS_YEAR, rel=1e-6)
    assert res.costs_usd["carbon"] == pytest.approx(43_800.0, rel=1e-6)


def test_carbon_cap_forces_the_low_carbon_site(base_scenario: dict[str, Any]) -> None:
    """'dirty' (40 USD/MWh, 700 g/kWh) vs 'clean' (120 USD/MWh, 20 g/kWh); every req/s served
    uses 10.95 MWh/yr. Cap 200 t: x req/s at 'dirty' with 10.95 x (0.7 x + 0.02 (100 - x)) = 200
    -> x = (200 - 21.9) / (10.95 x 0.68) = 23.9189; the remaining 76.0811 at 'clean'."""
    base_scenario["sites"] = [
        site("dirty", power_price_usd_mwh=40, carbon_g_kwh=700),
        site("clean", power_price_usd_mwh=120, carbon_g_kwh=20),
    ]
    base_scenario["energy"] = {"carbon_cap_t": 200}
    res = solve(base_scenario)
    x = (200 - MWH_PER_RPS_YEAR * 100 * 0.02) / (MWH_PER_RPS_YEAR * 0.68)
    assert x == pytest.approx(23.9189, rel=1e-5)
    assert dispatched(res, site="dirty") == pytest.approx(24 * x, rel=1e-6)
    assert dispatched(res, site="clean") == pytest.approx(24 * (100 - x), rel=1e-6)
    assert res.metrics["emissions_tco2"] == pytest.approx(200.0, rel=1e-6)


def test_renewable_share_buys_certificates_at_the_premium(base_scenario: dict[str, Any]) -> None:
    """Grid 20 % renewable, commitment 50 %: buy (0.5 - 0.2) x 1,095 MWh = 328.5 MWh of
    certificates at 10 USD/MWh = 3,285 USD."""
    base_scenario["sites"][0]["renewable_share"] = 0.2
    base_scenario["energy"] = {"renewable_share_min": 0.5, "renewable_premium_usd_mwh": 10}
    res = solve(base_scenario)
    assert res.costs_usd["renewables"] == pytest.approx(3_285.0, rel=1e-6)


# ---------------------------------------------------------------------------------------------
# 10. capex budget
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("later", [False, True])
def test_capex_budget_per_year(base_scenario: dict[str, Any], later: bool) -> None:
    """A server costs 355,730.86 (with network) + 10.2 kW x 10,000 USD/kW facility = 457,730.86
    USD. Budget 2 M USD/yr: 4.36938 servers a year -> 2027 unserved 56.3062 req/s, 2028 (8.73876
    servers) 12.6124. With a large 2028 budget the rest (5.63062 servers) is built in 2028."""
    base_scenario["horizon"]["end_year"] = 2028
    budget = {2027: 2e6, 2028: 1e9} if later else 2e6
    base_scenario["economics"] |= {"capex_budget_usd": budget}
    res = solve(base_scenario)
    per_server = P_H100 + NAMEPLATE_MW * FAC_USD_PER_MW
    n = 2e6 / per_server
    assert n == pytest.approx(4.36938, rel=1e-5)
    build = servers(res, "build")
    un = res.unserved.groupby("year")["requests_per_s"].mean()
    assert build[2027] == pytest.approx(n, rel=1e-6)
    assert un[2027] == pytest.approx(100 - 10 * n, rel=1e-6)
    if later:
        assert build[2028] == pytest.approx(10 - n, rel=1e-6)
        assert 2028 not in un.index
    else:
        assert build[2028] == pytest.approx(n, rel=1e-6)
        assert un[2028] == pytest.approx(100 - 20 * n, rel=1e-6)


# ---------------------------------------------------------------------------------------------
# 11. site opening cost
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("opening", [1_000_000.0, 2_000_000.0])
def test_site_opening_cost_only_when_worth_it(
    base_scenario: dict[str, Any], opening: float
) -> None:
    """'old' site at 150 USD/MWh (no opening cost), 'new' at 30 USD/MWh with an opening cost.
    Serving 100 req/s uses 1,095 MWh/yr: moving it saves 120 x 1,095 = 131,400 USD/yr against an
    annuity of opening x CRF(7 %, 20 y) = opening x 0.0943929: worth it below 1,392,054 USD.
    Over 2027-2028 (df 1 + 1/1.07 = 1.934579), opened once in 2027:
    1 M: opens; facility_capex = (0.102 MW x 10 M + 1 M) x CRF20 x 1.934579 = 368,871 USD.
    2 M: stays shut; facility_capex = 0.102 MW x 10 M x CRF20 x 1.934579 = 186,263 USD."""
    base_scenario["horizon"]["end_year"] = 2028
    base_scenario["sites"] = [
        site("old", power_price_usd_mwh=150),
        site("new", power_price_usd_mwh=30, opening_cost_usd=opening),
    ]
    res = solve(mip(base_scenario))
    breakeven = 120 * 100 * MWH_PER_RPS_YEAR / CRF20
    assert breakeven == pytest.approx(1_392_054, rel=1e-5)
    inst = res.installed.groupby("site")["servers"].sum() / 2  # per year
    pv = df(2027) + df(2028)
    fac = 10 * NAMEPLATE_MW * FAC_USD_PER_MW * CRF20 * pv
    if opening < breakeven:
        assert inst.to_dict() == pytest.approx({"new": 10.0}, rel=1e-6)
        expected = fac + opening * CRF20 * pv
        assert expected == pytest.approx(368_871, rel=1e-5)
    else:
        assert inst.to_dict() == pytest.approx({"old": 10.0}, rel=1e-6)
        expected = fac
    assert res.costs_usd["facility_capex"] == pytest.approx(expected, rel=1e-6)


def test_open_site_rebuilds_its_retired_facility(base_scenario: dict[str, Any]) -> None:
    """Regression: a site with an opening cost, facility (and server) life 5 years, 2027-2032,
    power for exactly 10 servers. The 2027 facility retires after 2031 and must be rebuilt in
    2032 (the site stays open: no second opening). Nothing unserved; facility_capex =
    1.02 M USD x CRF(7 %, 5) x sum(df 2027..2032) + 1,000 USD opening x CRF5 x sum(df 2027..2031).
    (The site-open constraint used to bound all facility ever built, so 2032 went unserved.)"""
    base_scenario["horizon"]["end_year"] = 2032
    base_scenario["economics"] |= {"facility_lifetime_years": 5}
    base_scenario["sites"][0].update(
        {"power_mw": 10 * NAMEPLATE_MW * 1.25, "opening_cost_usd": 1000.0}
    )
    res = solve(mip(base_scenario))
    assert len(res.unserved) == 0
    assert servers(res).tolist() == pytest.approx([10.0] * 6, rel=1e-6)
    crf = annuity_factor(RATE, 5)
    fac = 10 * NAMEPLATE_MW * FAC_USD_PER_MW * crf * sum(df(y) for y in range(2027, 2033))
    fac += 1000.0 * crf * sum(df(y) for y in range(2027, 2032))
    assert res.costs_usd["facility_capex"] == pytest.approx(fac, rel=1e-6)


def test_cumulative_cap_schedule_binds_every_year(base_scenario: dict[str, Any]) -> None:
    """Cumulative H200 allowance 40 accelerators by 2027, 80 by 2028 (demand 100 then 200 req/s):
    5 H200 servers in 2027 and 5 more in 2028; H100 takes the rest (2.5 servers each year)."""
    _two_year_growth(base_scenario)
    base_scenario["accelerators"] = ["h100-sxm", "h200-sxm"]
    base_scenario["chip_caps"] = [
        {"accelerators": ["h200-sxm"], "amount": {2027: 40, 2028: 80}, "period": "cumulative"}
    ]
    res = solve(base_scenario)
    h200 = res.build[res.build["accelerator"] == "h200-sxm"].groupby("year")["accelerators"].sum()
    assert h200.cumsum().tolist() == pytest.approx([40.0, 80.0], rel=1e-6)


# ---------------------------------------------------------------------------------------------
# 12. hour blocks; 13. exact merges
# ---------------------------------------------------------------------------------------------


def _two_time_zones(data: dict[str, Any]) -> dict[str, Any]:
    """ARE (UTC+4) and FRA (UTC+1) regions with office peaks, one site reachable from both."""
    data["regions"].append(
        {"id": "fr", "country": "FRA", "population": 2_000_000, "internet_share": 0.9, **PARIS}
    )
    data["services"][0].update({"profile": "office", "network_budget_ms": 150})
    return data


def test_hour_blocks_keep_capacity_and_cost(base_scenario: dict[str, Any]) -> None:
    """6 blocks of 4 h, each sized for its busiest hour, energy and tokens counted at the block
    mean: capacity is never below the 24-hour plan (here equal, 57.758 servers: the daily peak
    hour is kept) and, with one site, the objective equals the 24-hour one (6,598,809 USD)."""
    _two_time_zones(base_scenario)
    exact = solve(base_scenario)
    base_scenario["solver"] |= {"hour_blocks": 6}
    approx = solve(base_scenario)
    assert servers(approx).sum() >= servers(exact).sum() * (1 - 1e-9)
    assert servers(exact).sum() == pytest.approx(57.758242, rel=1e-6)
    diff = approx.objective_usd / exact.objective_usd - 1
    assert -1e-9 <= diff < 0.02, diff
    assert approx.metrics["energy_mwh"] == pytest.approx(exact.metrics["energy_mwh"], rel=1e-6)
    assert approx.metrics["served_tokens"] == pytest.approx(
        exact.metrics["served_tokens"], rel=1e-6
    )


def test_merging_regions_with_hour_blocks_is_closer_to_24_hours(
    base_scenario: dict[str, Any],
) -> None:
    """With hour blocks, a merged zone carries the busiest hour of its regions' combined demand,
    separate regions each their own busiest hour (which need not coincide): merging is exact at
    24 hours and, with blocks, never further from the 24-hour answer than not merging
    (6 blocks here, one site: 6,598,809 merged, equal to 24 hours, vs 6,744,987 USD separate)."""
    _two_time_zones(base_scenario)
    exact = solve(base_scenario)
    base_scenario["solver"] |= {"hour_blocks": 6}
    merged = solve(base_scenario)
    base_scenario["solver"]["merge_regions"] = False
    split = solve(base_scenario)
    assert exact.objective_usd <= merged.objective_usd * (1 + 1e-9)
    assert merged.objective_usd <= split.objective_usd * (1 + 1e-9)


def test_merging_regions_and_services_is_exact(base_scenario: dict[str, Any]) -> None:
    """Three regions: r1 and r2 in ARE (same allowed sites), 'fr' in France; services chat and a
    twin 'assist' (same serving figures, other profile) merge into one workload; health data is
    kept at home by a residency rule; 'docs' is a batch service (merged zones split by day).
    The ARE site is power-limited, so some load is unserved. The objective must not move (1e-7)
    when merging is switched off; the model gets smaller."""
    _two_time_zones(base_scenario)
    base_scenario["regions"].append(
        {"id": "r2", "country": "ARE", "population": 500_000, "lat": 25.2, "lon": 55.27}
    )
    twin = copy.deepcopy(base_scenario["services"][0])
    twin.update({"id": "assist", "sector": "education", "profile": "evening"})
    health = copy.deepcopy(base_scenario["services"][0])
    health.update(
        {"id": "health", "sector": "health", "data_class": "health", "profile": "daytime"}
    )
    batch = copy.deepcopy(base_scenario["services"][0])
    batch.update({"id": "docs", "kind": "batch", "requests_per_user_per_day": 2.0})
    base_scenario["services"] += [twin, health, batch]
    base_scenario["sites"] = [
        site("s1", power_mw=0.1),  # 7.84 servers: not enough for ARE's health data
        site("s2", **PARIS, power_price_usd_mwh=150),
    ]
    base_scenario["residency"] = [{"data_class": "health", "allowed_countries": ["home"]}]
    merged = solve(base_scenario)
    base_scenario["solver"] |= {"merge_regions": False, "merge_services": "off"}
    split = solve(base_scenario)
    assert merged.objective_usd == pytest.approx(split.objective_usd, rel=1e-7)
    assert len(merged.unserved) > 0
    assert len(merged.zones) < len(split.zones)
    for name in ("unserved", "dispatch"):
        a = merged.tables[name]["requests_per_s"].sum()
        b = split.tables[name]["requests_per_s"].sum()
        assert a == pytest.approx(b, rel=1e-6), name


def test_inputs_prune_arcs_by_latency_and_residency(base_scenario: dict[str, Any]) -> None:
    """Input side of the residency case: health loads of ARE regions reach only 'home'."""
    _residency_case(base_scenario)
    base_scenario["residency"] = RESIDENCY_RULES["home-country"][0]
    inp = build_inputs(parse_scenario(base_scenario))
    allowed = inp.loads.set_index(["region", "service"])["allowed_sites"]
    assert allowed[("r1", "health")] == "home"
    assert set(allowed[("r1", "chat")].split(";")) == {"home", "foreign"}
