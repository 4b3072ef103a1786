"""Explanations: hand-worked causes of unserved demand, shadow prices in meaningful units, the
dual sign convention, and the `infraplan explain` command."""

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
from infraplan.cli import _register, app
from infraplan.explain import COLUMNS, explain, reduced_costs, spans_text
from infraplan.finance import annuity_factor
from infraplan.optimize import build_inputs, build_model, solve_model
from infraplan.results import extract
from infraplan.scenario import parse_scenario

pytestmark = pytest.mark.usefixtures("fixed_perf")
_register()


def pipeline(data: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(inputs, built model, results) of a scenario mapping, solved."""
    scn = parse_scenario(copy.deepcopy(data))
    inp = build_inputs(scn)
    built = build_model(inp)
    info = solve_model(built, scn.solver)
    assert info.status == "optimal"
    res = extract(inp, built, info, {"duals": info.duals}, None)
    return inp, built, res


@pytest.fixture(scope="module")
def capped() -> tuple[Any, Any, Any]:
    """The base scenario with grid power for ~5 of the 10 servers needed, solved once."""
    from conftest import BASE, fixed_capacity

    data = copy.deepcopy(BASE)
    data["sites"][0]["power_mw"] = 0.05
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(perf, "server_capacity", fixed_capacity)
        return pipeline(data)


def explained(data: dict[str, Any]) -> pd.DataFrame:
    inp, built, res = pipeline(data)
    ex = explain(inp, built, res)
    assert list(ex.columns[: len(COLUMNS)]) == COLUMNS
    return ex


def one(ex: pd.DataFrame, kind: str) -> pd.Series:
    rows = ex[ex["kind"] == kind]
    assert len(rows) >= 1, ex
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


# ------------------------------------------------------------------------------ conventions


def test_linopy_dual_sign_convention() -> None:
    """linopy/HiGHS: dual = d objective / d rhs; a binding <= cap of a minimisation is negative,
    a >= requirement positive; a variable held at an upper bound of 0 that would lower the
    cost has a negative reduced cost. explain.py relies on all three."""
    m = linopy.Model()
    x = m.add_variables(lower=0, name="x")
    y = m.add_variables(lower=0, upper=0, name="y")
    z = m.add_variables(lower=0, name="z")
    m.add_constraints(x >= 2, name="need")
    m.add_constraints(z <= 3, name="cap")
    m.add_objective(1.0 * x - 5.0 * y - 2.0 * z)
    m.solve(solver_name="highs", io_api="direct", output_flag=False)
    assert float(m.constraints["need"].dual) == pytest.approx(1.0)
    assert float(m.constraints["cap"].dual) == pytest.approx(-2.0)
    rc = reduced_costs(SimpleNamespace(model=m), "y", ())
    assert rc is not None
    assert float(rc) == pytest.approx(-5.0)


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
        return SimpleNamespace(
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


def test_power_cap_binding_with_hand_shadow_price(capped: tuple[Any, Any, Any]) -> None:
    """Grid power for ~5 of the 10 servers needed: the cap binds; its shadow price is the net
    saving of the servers one more MW would power, per MWh of a year."""
    inp, built, res = capped
    ex = explain(inp, built, res)
    net, peak_mw = server_year_net_value()
    per_mw = net / (1.25 * peak_mw)
    b = ex[(ex["constraint"] == "site-power-cap[s1, 2027]") & (ex["kind"] == "binding")]
    assert len(b) == 1
    b = b.iloc[0]
    assert b["kind"] == "binding"
    assert b["site"] == "s1"
    assert b["year"] == 2027
    assert b["unit"] == "USD/MWh"
    assert b["shadow_price"] > 0
    assert b["shadow_price"] == pytest.approx(per_mw / 8760, rel=1e-6)
    assert b["impact_usd"] == pytest.approx(per_mw * 0.05, rel=1e-6)
    u = one(ex, "unserved")
    assert "power cap" in u["text"]
    assert "s1" in u["text"]
    assert "shadow price" in u["text"]
    assert u["shadow_price"] == pytest.approx(b["shadow_price"], rel=1e-6)
    # the unserved rows' impacts are the objective's unserved penalty
    assert ex.loc[ex["kind"] == "unserved", "impact_usd"].sum() == pytest.approx(
        res.costs_usd["unserved_penalty"], rel=1e-9
    )
    # sorted by impact, largest first
    imp = ex["impact_usd"].to_numpy()
    assert (np.diff(imp[~np.isnan(imp)]) <= 1e-6).all()


def test_power_cap_without_duals_uses_the_primal(capped: tuple[Any, Any, Any]) -> None:
    inp, built, res = capped
    res = dataclasses.replace(res, solve={"duals": "none"})
    ex = explain(inp, built, res)
    u = one(ex, "unserved")
    assert "power cap" in u["text"]
    assert "shadow price" not in u["text"]
    assert ex["shadow_price"].isna().all()
    b = one(ex, "binding")
    assert "no shadow price" in b["text"]


def test_power_cap_with_integer_servers(base_scenario: dict[str, Any]) -> None:
    """Whole servers: the grid cannot power one more server, so the cap is the cause even
    though a fraction of a server's power is left over."""
    base_scenario["sites"][0]["power_mw"] = 0.05
    base_scenario["solver"] = {"integer_servers": True}
    u = one(explained(base_scenario), "unserved")
    assert "power cap" in u["text"]


@pytest.mark.parametrize("unit", ["accelerators", "tpp"])
def test_chip_cap_shadow_price_rescaled(base_scenario: dict[str, Any], unit: str) -> None:
    """A cap of 5 servers (40 accelerators) against 10 needed: the marginal accelerator saves
    1/8 of a server's net value (the model scales the row by the cap; explain rescales)."""
    tpp = float(catalog.row("accelerators", "h100-sxm")["tpp"])
    amount = 40.0 * (tpp if unit == "tpp" else 1.0)
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
    b = ex[(ex["constraint"] == "chip-cap[licence]") & (ex["kind"] == "binding")]
    assert len(b) == 1
    b = b.iloc[0]
    net, _ = server_year_net_value()
    per_unit = net / 8 / (tpp if unit == "tpp" else 1.0)
    assert b["shadow_price"] == pytest.approx(per_unit, rel=1e-6)
    assert b["unit"] == ("USD/TPP" if unit == "tpp" else "USD/accelerator")
    assert "test export rule" in b["text"]
    assert b["impact_usd"] == pytest.approx(per_unit * amount, rel=1e-6)
    u = one(ex, "unserved")
    assert "licence" in u["text"]


def test_carbon_cap_is_the_cause_with_its_carbon_price(base_scenario: dict[str, Any]) -> None:
    """A cap of 200 t against ~440 t for full service: the implicit carbon price is the net
    value of a server-year over the tonnes it emits (10 kW x PUE x 8,760 h x 0.4 t/MWh)."""
    base_scenario["energy"] = {"carbon_cap_t": 200.0}
    ex = explained(base_scenario)
    net, _ = server_year_net_value()
    per_t = net / (0.010 * 1.25 * 8760 * 0.4)
    b = ex[(ex["kind"] == "binding") & (ex["constraint"] == "carbon-cap")].iloc[0]
    assert b["shadow_price"] == pytest.approx(per_t, rel=1e-6)
    assert b["unit"] == "USD/tCO2"
    u = one(ex, "unserved")
    assert u["constraint"] == "carbon-cap"
    assert "carbon cap" in u["text"]


def test_capex_budget_is_the_cause(base_scenario: dict[str, Any]) -> None:
    """A 2 M USD budget buys ~4 of the 10 servers (with their facility): each budget dollar is
    worth the net value of the servers it buys."""
    base_scenario["economics"] |= {"capex_budget_usd": 2_000_000.0}
    ex = explained(base_scenario)
    h100 = catalog.row("accelerators", "h100-sxm")
    net, peak_mw = server_year_net_value()
    capex_per_server = float(h100["server_price_usd"]) / (1 - 0.19) + peak_mw * 10e6
    b = ex[(ex["kind"] == "binding") & (ex["constraint"] == "capex-budget")].iloc[0]
    assert b["shadow_price"] == pytest.approx(net / capex_per_server, rel=1e-6)
    assert b["unit"] == "USD/USD"
    u = one(ex, "unserved")
    assert u["constraint"] == "capex-budget"
    assert "capital budget" in u["text"]


def test_lead_time_names_the_arrival_year(base_scenario: dict[str, Any]) -> None:
    base_scenario["horizon"].update({"end_year": 2028, "decision_year": 2026})
    base_scenario["sites"][0]["lead_time_months"] = 18  # online in 2028
    ex = explained(base_scenario)
    u = one(ex, "unserved")
    assert u["year"] == 2027
    assert u["constraint"] == "lead-time"
    assert "2028" in u["text"]
    assert "lead time" in u["text"]
    assert "2026" in u["text"]  # decision year
    b = ex[(ex["kind"] == "binding") & (ex["constraint"] == "lead-time")]
    assert len(b) == 1
    assert b.iloc[0]["site"] == "s1"
    assert b.iloc[0]["year"] == 2027
    assert b.iloc[0]["shadow_price"] > 0
    assert b.iloc[0]["unit"] == "USD/server"


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
def run_dir(capped: tuple[Any, Any, Any], tmp_path: Path) -> Path:
    """A run folder as `infraplan run` writes it (explanations, baseline, saving metrics)."""
    from infraplan.baseline import naive_baseline, saving_metrics

    inp, built, res = capped
    res = dataclasses.replace(res, tables=dict(res.tables), metrics=dict(res.metrics))
    res.tables["explanations"] = explain(inp, built, res)
    res.baseline = naive_baseline(inp)
    res.metrics.update(saving_metrics(res.objective_usd, res.baseline))
    res.write(tmp_path / "run")
    return tmp_path / "run"


def test_cli_explain_table_and_sentences(run_dir: Path) -> None:
    out = CliRunner().invoke(app, ["explain", str(run_dir)], terminal_width=200)
    assert out.exit_code == 0, out.output
    assert "largest cost impact first" in out.output
    assert "power cap" in out.output
    assert "USD/MWh" in out.output
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


def test_cli_explain_missing_folder_is_a_user_error(tmp_path: Path) -> None:
    from infraplan.cli import main

    for target in (tmp_path / "nope", tmp_path):
        with pytest.raises(SystemExit) as exc:
            main(["explain", str(target)])
        assert exc.value.code == 1
