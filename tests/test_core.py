"""The core (issue 9): regression tests for the defects it names and the shape it promises.

- key order of ``{year: value}`` inputs never changes the plan (defect 1);
- whole servers by default, the relaxation labelled wherever it is shown (defect 3);
- an explanation's stated saving is what re-solving with the named change saves (defect 4);
- serving and training costs split one total (defect 5);
- continuous servers with one-site training go through without a crash (defect 7);
- the assumptions table lists every default the plan used (defect 8);
- a stored run is analysed again to the same results; two plans run at once in threads;
- ``group_sum`` equals linopy's own groupby; the package has no import cycles.
"""

from __future__ import annotations

import ast
import copy
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import linopy
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

import infraplan.model.solve as solve_pkg
from infraplan.generate import generate
from infraplan.model.linexpr import group_sum
from infraplan.pipeline import plan, reanalyse, run
from infraplan.scenario import parse_scenario, parse_stored_scenario
from infraplan.store import load_results, load_solution, write_results

ROOT = Path(__file__).resolve().parents[1]
GULF = ROOT / "examples" / "gulf-partnership.yaml"


def _plan(data: dict[str, Any]) -> Any:
    res = plan(parse_scenario(copy.deepcopy(data)))
    assert res.status == "optimal", res.termination
    return res


# --- defect 1: year mappings mean the same whatever their key order -----------------------


def _capped(order: list[int]) -> dict[str, Any]:
    data = generate(4, 4, 3, 3, 3, seed=2, chip_caps=False, training=False)
    data["solver"] = {"integer_servers": False}
    data["chip_caps"] = [
        {
            "name": "supply",
            "unit": "accelerators",
            "period": "annual",
            "amount": {y: CAP_SCHEDULE[y] for y in order},
        }
    ]
    return data


CAP_SCHEDULE = {2027: 8.0, 2028: 30.0, 2029: 60.0}
"""Accelerators a year; the plan without caps buys about 15, 53 and 53."""


def test_chip_cap_key_order_gives_the_same_plan() -> None:
    """``{2029: 60, 2027: 8, 2028: 30}`` and ``{2027: 8, 2028: 30, 2029: 60}`` are one schedule."""
    a = _plan(_capped([2027, 2028, 2029]))
    b = _plan(_capped([2029, 2027, 2028]))
    free = copy.deepcopy(_capped([2027, 2028, 2029]))
    free.pop("chip_caps")
    assert _plan(free).objective_usd < a.objective_usd * (1 - 1e-4)  # the cap binds
    assert a.objective_usd == pytest.approx(b.objective_usd, rel=1e-9)
    pd.testing.assert_frame_equal(
        a.installed.reset_index(drop=True), b.installed.reset_index(drop=True)
    )


# --- defect 3: whole servers by default; the relaxation is labelled -----------------------


@pytest.fixture(scope="module")
def gulf() -> Any:
    import yaml

    data = yaml.safe_load(GULF.read_text())
    return data


@pytest.mark.slow
def test_gulf_example_buys_whole_servers_with_a_proven_gap(gulf: dict[str, Any]) -> None:
    scn = parse_scenario(copy.deepcopy(gulf))
    assert scn.solver.integer_servers  # the default
    res = plan(scn)
    assert res.status == "optimal"
    servers = res.installed["servers"].to_numpy(float)
    np.testing.assert_allclose(servers, np.rint(servers), atol=1e-6)
    assert res.solve["integer_servers"] is True
    gap = res.solve["mip_gap"]
    assert 0 <= gap <= scn.solver.mip_gap + 1e-9
    # the relaxation's bound is below the plan by at most the stated gap
    assert res.solve["bound_usd"] <= res.objective_usd * (1 + 1e-9)
    assert (res.objective_usd - res.solve["bound_usd"]) / res.objective_usd == pytest.approx(
        gap, abs=1e-6
    )


@pytest.mark.usefixtures("fixed_perf")
def test_relaxation_is_labelled_in_terminal_and_report(
    base_scenario: dict[str, Any], tmp_path: Path
) -> None:
    from infraplan import fmt
    from infraplan.cli import _register, app
    from infraplan.report import render_html

    _register()
    scn_file = tmp_path / "s.yaml"
    import yaml

    scn_file.write_text(yaml.safe_dump(base_scenario))
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["run", str(scn_file), "--out", str(out)])
    assert res.exit_code == 0, res.output
    words = " ".join(res.output.split())
    assert "continuous relaxation" in words
    doc = load_results(out)
    assert doc["solve"]["integer_servers"] is False
    page = render_html(doc)
    assert fmt.RELAXATION_LABEL in page
    # the same scenario with whole servers: no relaxation label, a proven gap instead
    base_scenario["solver"] = {"integer_servers": True}
    scn_file.write_text(yaml.safe_dump(base_scenario))
    res = CliRunner().invoke(app, ["run", str(scn_file), "--out", str(out)])
    assert res.exit_code == 0, res.output
    words = " ".join(res.output.split())
    assert "continuous relaxation" not in words
    assert "whole servers" in words
    assert fmt.RELAXATION_LABEL not in render_html(load_results(out))


# --- defect 4: an explanation's saving is what the named change saves ---------------------


@pytest.mark.usefixtures("fixed_perf")
def test_power_cap_saving_is_true_for_the_stated_change(base_scenario: dict[str, Any]) -> None:
    """Grid power for about half the servers needed: the explanation states a rate and a range;
    raising the cap by half (and all) of that range saves half (and all) of the stated amount."""
    base_scenario["sites"][0]["power_mw"] = 0.05
    res = _plan(base_scenario)
    ex = res.explanations
    rows = ex[(ex["kind"] == "binding") & ex["constraint"].astype(str).str.startswith("site-power")]
    assert len(rows) == 1
    r = rows.iloc[0]
    assert r["impact_basis"] == "saving over the stated range"
    assert r["unit"] == "USD/MW"
    impact = float(r["impact_usd"])
    room_mw = impact / float(r["shadow_price"])  # one-year horizon: year money = present value
    assert str(r["valid_up_to"]).endswith("MW")
    assert float(str(r["valid_up_to"]).split()[0]) == pytest.approx(room_mw, rel=5e-3)
    for share in (0.5, 1.0):
        data = copy.deepcopy(base_scenario)
        data["sites"][0]["power_mw"] = 0.05 + share * room_mw
        again = _plan(data)
        assert res.objective_usd - again.objective_usd == pytest.approx(share * impact, rel=1e-5)


@pytest.mark.usefixtures("fixed_perf")
def test_unserved_rows_add_up_to_the_penalty(base_scenario: dict[str, Any]) -> None:
    base_scenario["sites"][0]["power_mw"] = 0.05
    res = _plan(base_scenario)
    ex = res.explanations
    un = ex[ex["kind"] == "unserved"]
    assert len(un) > 0
    assert (un["impact_basis"] == "value of lost service charged").all()
    assert un["impact_usd"].sum() == pytest.approx(res.costs_usd["unserved_penalty"], rel=1e-9)


# --- defect 5: serving and training split one total ---------------------------------------


def test_serving_and_training_costs_split_the_total() -> None:
    data = generate(4, 4, 2, 3, 3, seed=3, training=True)
    data["solver"] = {"integer_servers": False}
    for t in data.get("training", []):
        t["one_site"] = False
    res = _plan(data)
    m = res.metrics
    assert m["training_cost_usd"] > 0
    assert m["serving_cost_usd"] + m["training_cost_usd"] == pytest.approx(
        m["total_cost_usd"], rel=1e-9
    )
    # cost per token is of serving alone
    assert m["cost_per_million_tokens_usd"] * m["served_tokens"] / 1e6 < m["total_cost_usd"]


# --- defect 7: continuous servers with one-site training through the large-model path ------


def test_one_site_training_with_continuous_servers_on_the_large_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The continental case: binaries (one-site training) but fractional servers, above the
    size where branch and bound is skipped; must give a plan with a stated gap, not a crash."""
    data = generate(6, 5, 2, 3, 3, seed=1, training=True)
    data["solver"] = {"integer_servers": False}
    assert any(t.get("one_site", True) for t in data["training"])
    monkeypatch.setattr(solve_pkg, "LARGE_MIP_VARIABLES", 0)
    res = plan(parse_scenario(copy.deepcopy(data)))
    assert res.status in ("optimal", "feasible")
    assert res.solve["mip_gap"] is not None
    assert 0 <= res.solve["mip_gap"] <= 0.01 + 1e-9
    tr = res.training
    # each one-site campaign trains at one site only
    for cid, g in tr.groupby("campaign"):
        used = g.loc[g["accelerator_hours"] > 1e-6, "site"].unique()
        assert len(used) <= 1, (cid, used)


# --- defect 8: every default the plan used is listed --------------------------------------


def test_assumptions_list_the_defaults() -> None:
    data = generate(3, 3, 2, 2, 2, seed=4, training=True)
    data["sites"].append(
        {
            "id": "custom-1",
            "name": "New park",
            "country": "DEU",
            "lat": 50.0,
            "lon": 8.0,
            "power_mw": 50.0,
        }
    )
    data["horizon"].pop("discount_rate", None)
    data["horizon"].pop("decision_year", None)
    for t in data["training"]:
        t.pop("mfu", None)
    data.setdefault("economics", {}).pop("unfinished_training_usd_per_h100_hour", None)
    run_ = run(parse_scenario(data), steps=("inputs",))
    assert run_.inputs is not None
    names = {a["name"] for a in run_.inputs.assumptions}
    for expected in (
        "site custom-1: pue",
        "site custom-1: capex_usd_per_mw",
        "site custom-1: lead_time_months",
        "site custom-1: power_price_usd_mwh",
        "horizon: discount_rate",
        "horizon: decision_year",
        "network: fixed overhead",
        "economics: unfinished_training_usd_per_h100_hour",
    ):
        assert expected in names, expected
    assert any(n.startswith("training ") and n.endswith(": mfu") for n in names)
    for a in run_.inputs.assumptions:
        assert a["source"], a["name"]


# --- stored runs, threads -----------------------------------------------------------------


def test_stored_run_is_analysed_again_to_the_same_results(tmp_path: Path) -> None:
    data = generate(3, 3, 2, 2, 2, seed=6)
    scn = parse_scenario(copy.deepcopy(data))
    r = run(scn)
    res = r.results
    assert res is not None
    assert res.status == "optimal"
    write_results(res, tmp_path, r.solution)
    doc = load_results(tmp_path)
    # the stored scenario alone rebuilds the run
    scn2 = parse_stored_scenario(doc["scenario_input"])
    again = reanalyse(scn2, load_solution(tmp_path))
    assert again.objective_usd == pytest.approx(res.objective_usd, rel=1e-9)
    for k, v in res.metrics.items():
        if isinstance(v, float):
            assert again.metrics[k] == pytest.approx(v, rel=1e-7, abs=1e-9), k
    for name in ("build", "installed", "costs_by_year", "served_by_service"):
        pd.testing.assert_frame_equal(res.tables[name], again.tables[name], rtol=1e-7)
    # results.json is strict JSON
    json.loads((tmp_path / "results.json").read_text(), parse_constant=_refuse)


def _refuse(name: str) -> None:
    raise AssertionError(f"results.json holds {name}")


def test_two_plans_at_once_in_threads() -> None:
    a = generate(3, 3, 2, 2, 2, seed=7)
    b = generate(3, 3, 2, 2, 2, seed=8)
    for d in (a, b):
        d["solver"] = {"integer_servers": False}
    alone = [plan(parse_scenario(copy.deepcopy(d))).objective_usd for d in (a, b)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        both = list(
            pool.map(lambda d: plan(parse_scenario(copy.deepcopy(d))).objective_usd, (a, b))
        )
    assert both == pytest.approx(alone, rel=1e-9)


# --- vectorised helpers, package shape ----------------------------------------------------


def test_group_sum_equals_linopy_groupby() -> None:
    m = linopy.Model()
    x = m.add_variables(
        lower=0, coords=[pd.RangeIndex(7, name="i"), pd.RangeIndex(3, name="t")], name="x"
    )
    groups = np.array([2, 0, 2, 1, 0, 2, 1])
    expr = 1.5 * x
    ours = group_sum(expr, "i", groups, 3, "g")
    theirs = expr.groupby(xr.DataArray(groups, dims="i", coords={"i": range(7)}, name="g")).sum()
    values = np.random.default_rng(0).random((7, 3))

    def value(e: linopy.LinearExpression) -> np.ndarray:
        v = e.data["vars"].values
        c = e.data["coeffs"].values
        # padding terms (var -1) carry no value, whatever their coefficient
        return np.where(v >= 0, values.ravel()[np.clip(v, 0, None)] * c, 0.0).sum(axis=-1)

    got = value(ours)
    want = value(linopy.LinearExpression(theirs.data.transpose("g", "t", "_term"), m))
    np.testing.assert_allclose(got, want)


def _module_imports() -> dict[str, set[str]]:
    """Module-level imports between infraplan modules (TYPE_CHECKING blocks excluded)."""
    pkg = ROOT / "infraplan"
    mods: dict[str, Path] = {}
    for p in pkg.rglob("*.py"):
        parts = list(p.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = p
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        tree = ast.parse(path.read_text())
        for node in tree.body:  # module level only: imports inside functions are deferred
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                base = node.module
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names
                ]
            for t in targets:
                if t in mods and t != name:
                    graph[name].add(t)
    return graph


def test_no_import_cycles() -> None:
    graph = _module_imports()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycle = [*stack[stack.index(n) :], n]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_model_layers_do_not_import_upwards() -> None:
    """model never imports analysis, report, cli or store; analysis never report or cli."""
    graph = _module_imports()
    rules = {
        "infraplan.model": (
            "infraplan.analysis",
            "infraplan.report",
            "infraplan.cli",
            "infraplan.store",
            "infraplan.pipeline",
        ),
        "infraplan.analysis": ("infraplan.report", "infraplan.cli", "infraplan.store"),
        "infraplan.perf": ("infraplan.model", "infraplan.analysis", "infraplan.report"),
    }
    for mod, deps in graph.items():
        for layer, banned in rules.items():
            if mod == layer or mod.startswith(layer + "."):
                bad = [d for d in deps if d.startswith(banned)]
                assert not bad, f"{mod} imports {bad}"
