"""Explanations: hand-worked causes of unserved demand, shadow prices in meaningful units with
the range over which they hold, the dual sign convention, and the `infraplan explain` command."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import linopy
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from infraplan import catalog, perf
from infraplan.analysis.explain import COLUMNS, explain
from infraplan.cli import _register, app
from infraplan.finance import annuity_factor
from infraplan.model.solution import Solution
from infraplan.model.solve.highs import Outcome, extract
from infraplan.pipeline import Run, run
from infraplan.scenario import parse_scenario
from infraplan.store import write_results
from infraplan.units import OBJ_SCALE
from infraplan.words import money, num, spans_text

pytestmark = pytest.mark.usefixtures("fixed_perf")
_register()


def pipeline(data: dict[str, Any]) -> Run:
    """Every pipeline step on a scenario mapping, solved to optimality."""
    out = run(parse_scenario(copy.deepcopy(data)))
    assert out.solution is not None
    assert out.solution.status == "optimal"
    assert out.results is not None
    return out


def explain_run(r: Run, sol: Solution | None = None) -> pd.DataFrame:
    """``explain`` on a run's inputs, coefficients and tables (and its solution, or ``sol``)."""
    assert r.inputs is not None
    assert r.coef is not None
    assert r.results is not None
    solution = sol if sol is not None else r.solution
    assert solution is not None
    ex = explain(r.inputs, r.coef, solution, r.results.tables)
    assert list(ex.columns[: len(COLUMNS)]) == COLUMNS
    return ex


@pytest.fixture(scope="module")
def capped() -> Run:
    """The base scenario with grid power for ~4 of the 10 servers needed, solved once."""
    from conftest import BASE, fixed_capacity

    data = copy.deepcopy(BASE)
    data["sites"][0]["power_mw"] = 0.05
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(perf, "server_capacity", fixed_capacity)
        return pipeline(data)


def explained(data: dict[str, Any]) -> pd.DataFrame:
    r = pipeline(data)
    ex = explain_run(r)
    # the pipeline's own explanation step gives the same rows
    assert r.results is not None
    pd.testing.assert_frame_equal(ex, r.results.tables["explanations"])
    return ex


def one(ex: pd.DataFrame, kind: str) -> pd.Series:
    rows = ex[ex["kind"] == kind]
    assert len(rows) >= 1, ex
    return rows.iloc[0]


def binding(ex: pd.DataFrame, constraint: str) -> pd.Series:
    rows = ex[(ex["kind"] == "binding") & (ex["constraint"] == constraint)]
    assert len(rows) == 1, ex
    return rows.iloc[0]


def server_year_net_value(pue: float = 1.25) -> tuple[float, float]:
    """(net saving of one more fully used H100 server for one year with demand unserved,
    its peak MW) for the base scenario with fixed capacities (10 req/s, 10 kW busy)."""
    h100 = catalog.row("accelerators", "h100-sxm")
    peak_mw = (8 * float(h100["tdp_w"]) + float(h100["server_overhead_w"])) / 1e6
    price = float(h100["server_price_usd"]) / (1 - 0.19)
    value = 10 * 700 * 3600 * 8760 * 20 / 1e6  # requests/s x tokens x s/yr x USD/token
    cost = (
        price * (annuity_factor(0.07, 5) + 0.03)
        + peak_mw * 10e6 * (annuity_factor(0.07, 20) + 0.02)
        + 0.010 * pue * 8760 * 80
    )
    return value - cost, peak_mw


SERVERS_NEEDED = 10  # 1e6 users x 8.64 requests/day = 100 requests/s, 10 per server


# ------------------------------------------------------------------------------ conventions


def test_linopy_dual_sign_convention() -> None:
    """linopy/HiGHS: dual = d objective / d rhs; a binding <= cap of a minimisation is negative,
    a >= requirement positive; a variable held at an upper bound of 0 that would lower the
    cost has a negative reduced cost. The solve stage reads all three into the plain
    ``Solution`` (scaled from the model's million USD to USD), with the ranges over which the
    duals hold, and the explanation rules rely on them."""
    m = linopy.Model()
    x = m.add_variables(lower=0, name="x")
    y = m.add_variables(lower=0, upper=0, name="y")
    z = m.add_variables(lower=0, upper=5, name="z")
    m.add_constraints(x >= 2, name="need")
    m.add_constraints(z <= 3, name="cap")
    m.add_objective(1.0 * x - 5.0 * y - 2.0 * z)
    m.solve(solver_name="highs", io_api="direct", output_flag=False)
    assert float(m.constraints["need"].dual) == pytest.approx(1.0)
    assert float(m.constraints["cap"].dual) == pytest.approx(-2.0)

    built = SimpleNamespace(model=m, costs={})
    sol = extract(
        built,  # type: ignore[arg-type]
        Outcome("optimal", "optimal", 0.0, "dual simplex (HiGHS)"),
        integer=False,
        duals_from="lp",
    )
    assert sol.duals_from == "lp"
    assert sol.objective_usd == pytest.approx((2.0 - 6.0) * OBJ_SCALE)
    assert float(sol.duals["need"]) == pytest.approx(1.0 * OBJ_SCALE)
    assert float(sol.duals["cap"]) == pytest.approx(-2.0 * OBJ_SCALE)
    assert float(sol.reduced_costs["y"]) == pytest.approx(-5.0 * OBJ_SCALE)
    assert float(sol.reduced_costs["x"]) == pytest.approx(0.0)
    # the cap's dual holds while z can follow it, up to z's own bound of 5
    assert float(sol.ranging["cap"]["up"]) == pytest.approx(5.0)
    # the requirement's dual holds however far it rises, and down to x's lower bound of 0
    assert np.isinf(sol.ranging["need"]["up"])
    assert float(sol.ranging["need"]["down"]) == pytest.approx(0.0)


def test_local_time_spans() -> None:
    assert spans_text({14, 15, 16, 17}, 4) == "18:00-22:00 UTC+4"
    assert spans_text(set(range(24)), 3) == "all day"
    assert spans_text({22, 23, 0, 1}, 0) == "22:00-02:00 UTC"
    assert spans_text({3, 4, 10}, 5.5) == "08:30-10:30, 15:30-16:30 UTC+5:30"
    assert spans_text({20, 21}, -5) == "15:00-17:00 UTC-5"


# ------------------------------------------------------------------------------ unserved causes


def test_latency_budget_named(base_scenario: dict[str, Any]) -> None:
    """The only site is ~5,000 km away (RTT ~77 ms) but the budget is 50 ms."""
    base_scenario["regions"][0].update({"lat": 48.86, "lon": 2.35, "country": "FRA"})
    base_scenario["services"][0]["network_budget_ms"] = 50
    row = one(explained(base_scenario), "unserved")
    assert row["constraint"] == "latency"
    assert "50 ms" in row["text"]
    assert "s1" in row["text"]
    assert "unserved all day in 2027" in row["text"]


def test_residency_names_the_data_class_and_rule(base_scenario: dict[str, Any]) -> None:
    """A French region next to the only (Emirati) site; health data must stay in France."""
    base_scenario["regions"][0]["country"] = "FRA"
    base_scenario["services"][0]["data_class"] = "health"
    base_scenario["residency"] = [
        {"data_class": "health", "allowed_countries": ["home"], "source": "test health law"}
    ]
    row = one(explained(base_scenario), "unserved")
    assert row["constraint"] == "residency"
    assert "health data" in row["text"]
    assert "test health law" in row["text"]
    assert "FRA" in row["text"]


def test_no_accelerator_fits(base_scenario: dict[str, Any], monkeypatch) -> None:
    def no_fit(model: str, accelerator: str, **kw: Any) -> Any:
        return perf.ServerCapacity(
            model=model,
            accelerator=accelerator,
            feasible=False,
            reason="weights do not fit in memory",
            requests_per_s=0.0,
            output_tokens_per_s=0.0,
            ttft_ms=0.0,
            tpot_ms=0.0,
            power_w=0.0,
            idle_power_w=0.0,
            joules_per_output_token=0.0,
            config="",
        )

    monkeypatch.setattr(perf, "server_capacity", no_fit)
    row = one(explained(base_scenario), "unserved")
    assert row["constraint"] == "accelerator-fit"
    assert "llama3.1-8b" in row["text"]
    assert "do not fit" in row["text"]


def test_power_cap_binding_with_hand_shadow_price(capped: Run) -> None:
    """Grid power for ~4 of the 10 servers needed: the cap binds; its shadow price is the net
    saving of the servers one more MW would power, for a year (one-year horizon: that year's
    money is present value), and it holds until all 10 servers are powered."""
    assert capped.results is not None
    res = capped.results
    ex = explain_run(capped)
    net, peak_mw = server_year_net_value()
    per_mw = net / (1.25 * peak_mw)
    room_mw = SERVERS_NEEDED * peak_mw * 1.25 - 0.05
    b = binding(ex, "site-power-cap[s1, 2027]")
    assert b["site"] == "s1"
    assert b["year"] == 2027
    assert b["unit"] == "USD/MW"
    assert b["shadow_price"] > 0
    assert b["shadow_price"] == pytest.approx(per_mw, rel=1e-6)
    # the rate holds for the MW that power the servers still missing, and no further
    assert b["valid_up_to"] == f"{num(room_mw)} MW"
    assert b["impact_basis"] == "saving over the stated range"
    assert b["impact_usd"] == pytest.approx(per_mw * room_mw, rel=1e-6)
    # the text says it per MWh of a year too
    assert f"{num(per_mw / 8760)} USD per MWh" in b["text"]
    assert money(per_mw) in b["text"]

    u = one(ex, "unserved")
    assert "power cap" in u["text"]
    assert "s1" in u["text"]
    assert u["constraint"] == b["constraint"]  # the cause is the priced row
    assert u["site"] == "s1"
    assert u["impact_basis"] == "value of lost service charged"
    assert pd.isna(u["shadow_price"])  # the rate is stated once, on the binding row
    # the unserved rows' impacts are the objective's unserved penalty
    assert ex.loc[ex["kind"] == "unserved", "impact_usd"].sum() == pytest.approx(
        res.costs_usd["unserved_penalty"], rel=1e-9
    )
    # sorted by impact, largest first
    imp = ex["impact_usd"].to_numpy()
    assert (np.diff(imp[~np.isnan(imp)]) <= 1e-6).all()


def test_power_cap_without_duals_uses_the_primal(capped: Run) -> None:
    assert capped.solution is not None
    with_duals = explain_run(capped)
    ex = explain_run(capped, dataclasses.replace(capped.solution, duals_from="none"))
    u = one(ex, "unserved")
    assert "power cap" in u["text"]
    assert u["constraint"] == "site-power-cap[s1, 2027]"
    # the cause is found from the primal alone: the same sentence as with duals
    assert u["text"] == one(with_duals, "unserved")["text"]
    assert ex["shadow_price"].isna().all()
    assert ex["unit"].isna().all()
    b = one(ex, "binding")
    assert b["constraint"] == "site-power-cap[s1, 2027]"
    assert "value was not computed" in b["text"]
    assert "no duals" in b["text"]
    assert pd.isna(b["impact_usd"])
    assert b["impact_basis"] == "none"


def test_power_cap_with_integer_servers(base_scenario: dict[str, Any]) -> None:
    """Whole servers: the grid cannot power one more server, so the cap is the cause even
    though a fraction of a server's power is left over (0.05 MW / (1.25 x 10.2 kW) = 3.9
    servers: 3 whole ones serve 30 of the 100 requests/s)."""
    base_scenario["sites"][0]["power_mw"] = 0.05
    base_scenario["solver"] = {"integer_servers": True}
    u = one(explained(base_scenario), "unserved")
    assert "power cap" in u["text"]
    assert u["constraint"] == "site-power-cap[s1, 2027]"
    assert "peak 70 requests/s" in u["text"]


@pytest.mark.parametrize("unit", ["accelerators", "tpp"])
def test_chip_cap_shadow_price_rescaled(base_scenario: dict[str, Any], unit: str) -> None:
    """A cap of 5 servers (40 accelerators) against 10 needed: the marginal accelerator saves
    1/8 of a server's net value (the model scales the row by the cap; explain rescales), up to
    the 40 more accelerators the other 5 servers hold."""
    tpp = float(catalog.row("accelerators", "h100-sxm")["tpp"])
    per = tpp if unit == "tpp" else 1.0
    amount = 40.0 * per
    base_scenario["chip_caps"] = [
        {
            "name": "licence",
            "country": "ARE",
            "unit": unit,
            "amount": amount,
            "source": "test export rule",
        }
    ]
    ex = explained(base_scenario)
    b = binding(ex, "chip-cap[licence]")
    net, _ = server_year_net_value()
    per_unit = net / 8 / per
    room = (SERVERS_NEEDED * 8 - 40.0) * per
    assert b["shadow_price"] == pytest.approx(per_unit, rel=1e-6)
    assert b["unit"] == ("USD/TPP" if unit == "tpp" else "USD/accelerator")
    assert "test export rule" in b["text"]
    assert b["valid_up_to"] == f"{num(room)} {'TPP' if unit == 'tpp' else 'accelerators'}"
    assert b["impact_basis"] == "saving over the stated range"
    assert b["impact_usd"] == pytest.approx(per_unit * room, rel=1e-6)
    u = one(ex, "unserved")
    assert u["constraint"] == "chip-cap[licence]"
    assert "licence" in u["text"]


def test_carbon_cap_is_the_cause_with_its_carbon_price(base_scenario: dict[str, Any]) -> None:
    """A cap of 200 t against ~440 t for full service: the implicit carbon price is the net
    value of a server-year over the tonnes it emits (10 kW x PUE x 8,760 h x 0.4 t/MWh), up to
    the tonnes of full service."""
    base_scenario["energy"] = {"carbon_cap_t": 200.0}
    ex = explained(base_scenario)
    net, _ = server_year_net_value()
    t_per_server = 0.010 * 1.25 * 8760 * 0.4
    per_t = net / t_per_server
    room_t = SERVERS_NEEDED * t_per_server - 200.0
    b = binding(ex, "carbon-cap")
    assert b["shadow_price"] == pytest.approx(per_t, rel=1e-6)
    assert b["unit"] == "USD/tCO2"
    assert b["valid_up_to"] == f"{num(room_t)} tCO2"
    assert b["impact_usd"] == pytest.approx(per_t * room_t, rel=1e-6)
    u = one(ex, "unserved")
    assert u["constraint"] == "carbon-cap"
    assert "carbon cap" in u["text"]


def test_capex_budget_is_the_cause(base_scenario: dict[str, Any]) -> None:
    """A 2 M USD budget buys ~4 of the 10 servers (with their facility): each budget dollar is
    worth the net value of the servers it buys, up to the budget that buys all 10."""
    base_scenario["economics"] |= {"capex_budget_usd": 2_000_000.0}
    ex = explained(base_scenario)
    h100 = catalog.row("accelerators", "h100-sxm")
    net, peak_mw = server_year_net_value()
    capex_per_server = float(h100["server_price_usd"]) / (1 - 0.19) + peak_mw * 10e6
    per_usd = net / capex_per_server
    room_usd = SERVERS_NEEDED * capex_per_server - 2_000_000.0
    b = binding(ex, "capex-budget")
    assert b["shadow_price"] == pytest.approx(per_usd, rel=1e-6)
    assert b["unit"] == "USD/USD"
    assert b["valid_up_to"] == money(room_usd)
    assert b["impact_usd"] == pytest.approx(per_usd * room_usd, rel=1e-6)
    u = one(ex, "unserved")
    assert u["constraint"] == "capex-budget"
    assert "capital budget" in u["text"]


def test_lead_time_names_the_arrival_year(base_scenario: dict[str, Any]) -> None:
    """Decisions from 2026 and an 18-month lead time: capacity arrives in 2028, so all of
    2027's demand is unserved. Allowing the site's servers in 2027 would save one server-year's
    net value per server, for the 10 servers needed."""
    base_scenario["horizon"].update({"end_year": 2028, "decision_year": 2026})
    base_scenario["sites"][0]["lead_time_months"] = 18  # online in 2028
    r = pipeline(base_scenario)
    ex = explain_run(r)
    u = one(ex, "unserved")
    assert u["year"] == 2027
    assert u["constraint"] == "lead-time"
    assert u["site"] == "s1"
    assert "2028" in u["text"]
    assert "lead time" in u["text"]
    assert "2026" in u["text"]  # decision year
    assert "unserved all day in 2027" in u["text"]

    # hand-worked value of the lead time: with capacity allowed in 2027 the plan saves the net
    # value of 10 server-years (2027 is the base year: its money is present value)
    net, _ = server_year_net_value()
    sooner = copy.deepcopy(base_scenario)
    sooner["sites"][0]["lead_time_months"] = 12
    assert r.objective_usd is not None
    assert r.objective_usd - pipeline(sooner).objective_usd == pytest.approx(
        SERVERS_NEEDED * net, rel=1e-6
    )

    # The lead-time row is priced from the reduced cost of the forbidden 2027 build and states
    # it only over the range HiGHS ranging gives for it; a degenerate basis (no range) is not
    # stated (see infraplan/analysis/explain.py).
    sol = r.solution
    assert sol is not None
    rc = sol.reduced_costs["build"]
    assert rc[0, 0] < 0  # the bound of 0 holds back a build that would lower the cost
    lead = ex[(ex["kind"] == "binding") & (ex["constraint"] == "lead-time")]
    room = float(sol.ranging["build"]["up"][0, 0])
    if room <= 1e-9:
        assert lead.empty, lead
    else:
        assert len(lead) == 1
        assert lead.iloc[0]["shadow_price"] == pytest.approx(-rc[0, 0], rel=1e-9)
        assert lead.iloc[0]["impact_usd"] <= SERVERS_NEEDED * net * (1 + 1e-6)

    # with the range the relaxation above shows (the rate holds for all 10 servers), the rule
    # states the row: site, year, the rate as minus the reduced cost, in USD per server
    stated = copy.deepcopy(sol)
    stated.reduced_costs["build"][0, 0] = -net
    stated.ranging["build"]["up"][0, 0] = float(SERVERS_NEEDED)
    b = binding(explain_run(r, stated), "lead-time")
    assert b["site"] == "s1"
    assert b["year"] == 2027
    assert b["unit"] == "USD/server"
    assert b["shadow_price"] == pytest.approx(net, rel=1e-9)
    assert b["valid_up_to"] == f"{SERVERS_NEEDED} servers"
    assert b["impact_basis"] == "saving over the stated range"
    assert b["impact_usd"] == pytest.approx(SERVERS_NEEDED * net, rel=1e-9)
    assert "2028" in b["text"]
    assert "2026" in b["text"]
    assert "18-month lead time" in b["text"]


def test_value_of_lost_service(base_scenario: dict[str, Any]) -> None:
    """Nothing limits the plan but the price of serving: lost service is valued too low."""
    base_scenario["economics"] |= {"unserved_usd_per_mtok": 0.0001}
    u = one(explained(base_scenario), "unserved")
    assert u["constraint"] == "value-of-lost-service"
    assert "value of lost service" in u["text"]


def test_local_time_and_partial_hours(base_scenario: dict[str, Any]) -> None:
    """Office-hours demand above a small cap: only the busy hours go unserved, said in the
    region's local time (UTC+4)."""
    base_scenario["services"][0]["profile"] = "office"
    base_scenario["sites"][0]["power_mw"] = 0.05
    base_scenario["regions"][0]["utc_offset"] = 4
    u = one(explained(base_scenario), "unserved")
    assert "UTC+4" in u["text"]
    assert "all day" not in u["text"]


# ------------------------------------------------------------------------------ CLI


@pytest.fixture
def run_dir(capped: Run, tmp_path: Path) -> Path:
    """A run folder as `infraplan run` writes it (explanations, baseline, saving metrics)."""
    assert capped.results is not None
    res = capped.results
    assert not res.explanations.empty
    assert res.baseline
    assert "saving_vs_baseline_usd" in res.metrics
    write_results(res, tmp_path / "run", capped.solution)
    return tmp_path / "run"


def test_cli_explain_table_and_sentences(run_dir: Path) -> None:
    out = CliRunner().invoke(app, ["explain", str(run_dir)], terminal_width=200)
    assert out.exit_code == 0, out.output
    assert "largest cost impact first" in out.output
    assert "power cap" in out.output
    assert "USD/MW" in out.output
    assert "In short" in out.output
    assert "naive baseline" in out.output


def test_cli_explain_json(run_dir: Path) -> None:
    out = CliRunner().invoke(app, ["explain", str(run_dir), "--json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert {r["kind"] for r in rows} == {"unserved", "binding"}
    imp = [r["impact_usd"] for r in rows if r["impact_usd"] is not None]
    assert imp == sorted(imp, reverse=True)
    assert set(COLUMNS) <= set(rows[0])
    b = next(r for r in rows if r["kind"] == "binding")
    assert b["unit"] == "USD/MW"
    assert b["valid_up_to"].endswith(" MW")


def test_cli_explain_missing_folder_is_a_user_error(tmp_path: Path) -> None:
    from infraplan.cli import main

    for target in (tmp_path / "nope", tmp_path):
        with pytest.raises(SystemExit) as exc:
            main(["explain", str(target)])
        assert exc.value.code == 1
