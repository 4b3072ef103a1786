"""`infraplan run`, `infraplan validate`: plan a scenario, check a scenario file."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.panel import Panel
from rich.table import Table

from infraplan.cli import app, check_interrupted, console, err_console
from infraplan.fmt import human, plain, usd
from infraplan.scenario import load_scenario


@app.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
) -> None:
    """Check a scenario file and report every problem at once (exit 1 if any); print the
    warnings on input that is legal but probably wrong (exit 0)."""
    from infraplan.pipeline import run as run_pipeline

    scn = load_scenario(file)
    # The model's inputs too: whatever validates must get through them when run.
    inputs = run_pipeline(scn, steps=("inputs",), source=str(file)).inputs
    accels = scn.accelerators or ["every catalog accelerator available in time"]
    console.print(
        f"[green]OK[/] {plain(file)}: {len(scn.regions)} regions, {len(scn.services)} services, "
        f"{len(scn.sites)} candidate sites, accelerators: {plain(', '.join(accels))}; "
        f"horizon {scn.horizon.start_year}-{scn.horizon.end_year}.",
        highlight=False,
    )
    print_warnings(inputs.warnings if inputs is not None else [])
    console.print(f"Next: [bold]infraplan run {plain(file)} --out out/{plain(file.stem)}[/]")


def print_warnings(warnings: list[str]) -> None:
    """Warnings on legal but suspicious input, one bullet each (to standard error)."""
    if not warnings:
        return
    noun = "warning" if len(warnings) == 1 else "warnings"
    err_console.print(f"[yellow]{len(warnings)} {noun}[/] (the scenario is valid; check these):")
    for w in warnings:
        err_console.print(f"  - {plain(w)}", highlight=False, soft_wrap=True)


@app.command("run")
def run(
    file: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output folder (default out/<scenario>).")
    ] = None,
    report: Annotated[bool, typer.Option(help="Write the HTML report.")] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the summary.")] = False,
) -> None:
    """Plan a scenario: solve the build-out and write results.json, tables and report.html."""
    from infraplan.pipeline import run as run_pipeline
    from infraplan.store import write_results
    from infraplan.store.folder import RunFolder

    scn = load_scenario(file)
    out_dir = out if out is not None else Path("out") / file.stem
    with RunFolder(out_dir) as folder, console.status("planning...", spinner="dots") as status:

        def step(text: str) -> None:
            status.update(f"{text}...")
            if not quiet:
                console.log(text)

        done = run_pipeline(scn, source=str(file), on_step=step)
        results = done.results
        assert results is not None
        if done.inputs is not None and done.inputs.warnings and not quiet:
            print_warnings(done.inputs.warnings)
        status.update("writing results...")
        t0 = time.perf_counter()
        staged = write_results(results, folder.staging, done.solution)
        doc = results.to_dict()
        if report:
            status.update("writing the HTML report...")
            from infraplan.report import write_report

            staged["report.html"] = write_report(doc, folder.staging / "report.html")
        check_interrupted()  # a Ctrl-C a library swallowed must not commit the run
        folder.commit()
        paths = {name: folder.path(name) for name in staged}
        write_s = time.perf_counter() - t0
    print_summary(doc)
    console.print(
        f"\nWrote {len(paths)} files to [bold]{plain(out_dir)}[/]: results.json, "
        + (
            f"[bold]{plain(paths['report.html'])}[/] (open it in a browser), "
            if "report.html" in paths
            else ""
        )
        + f"CSV and Parquet tables ({write_s:.1f} s)."
    )
    console.print(
        "Next: change an assumption in the scenario file and run again, or "
        f"[bold]infraplan explain {plain(out_dir)}[/] to see what limits the plan."
    )
    if not results.has_plan:  # no plan at all
        raise typer.Exit(2)


def _share(x: float) -> str:
    """A small share as text: '< 0.01 %' rather than a misleading '0.00 %'."""
    return "< 0.01 %" if 0 < x < 1e-4 else f"{100 * x:.2f} %"


def plan_kind(solve: dict[str, Any]) -> str:
    """'whole servers, within 0.25 % of the best plan (proven)' or the relaxation's label."""
    if solve.get("integer_servers") is False:
        return "continuous relaxation: fractional servers, not a plan you can buy as is"
    gap = solve.get("mip_gap")
    if gap is None:
        return "whole servers"
    return f"whole servers, within {100 * gap:.2f} % of the best possible plan (proven)"


def print_summary(res: dict[str, Any]) -> None:
    """Rich terminal summary of a results.json mapping."""
    scn = res["scenario"]
    status = res["status"]
    solve = res.get("solve", {})
    colour = {"optimal": "green", "feasible": "yellow", "time_limit": "yellow"}.get(status, "red")
    post = solve.get("analysis_s")
    console.print(
        Panel.fit(
            f"[bold]{plain(scn['name'])}[/]  {scn['years'][0]}-{scn['years'][-1]}\n"
            f"status: [{colour}]{plain(status)}[/], {plain(plan_kind(solve))}\n"
            f"{plain(solve.get('method', ''))}; {human(solve.get('n_variables', 0))} variables, "
            f"{human(solve.get('n_constraints', 0))} constraints; inputs "
            f"{solve.get('inputs_s', 0):.1f} s, built in {solve.get('build_s', 0):.1f} s, "
            f"solved in {solve.get('solve_s', 0):.1f} s"
            + (f", analysed in {post:.1f} s" if post is not None else ""),
            title="infraplan",
        )
    )
    if not res.get("metrics"):
        console.print(f"[red]No plan: the solver reported {plain(res.get('termination'))}.[/]")
        return
    m = res["metrics"]
    t = Table(title="Key figures", show_header=True, header_style="bold")
    t.add_column("figure")
    t.add_column("value", justify="right")
    t.add_row("Total cost of the plan (present value)", usd(m["total_cost_usd"]))
    if m.get("training_cost_usd"):
        t.add_row("  of which serving the services", usd(m["serving_cost_usd"]))
        t.add_row("  of which training campaigns", usd(m["training_cost_usd"]))
    for key, label in (
        ("cost_per_million_tokens_usd", "Cost per million tokens (serving only)"),
        ("cost_per_million_output_tokens_usd", "Cost per million output tokens (serving only)"),
    ):
        if m.get(key) is not None:
            t.add_row(label, f"$ {m[key]:.3f}")
    for key, label in (
        ("cost_per_active_user_year_usd",
         "Cost per active user and year (per service used; serving only)"),
        ("cost_per_resident_served_year_usd",
         "Cost per resident of the regions served, per year (serving only)"),
    ):
        if m.get(key) is not None:
            t.add_row(label, usd(m[key]))
    served = m["served_fraction"]
    t.add_row(
        "Share of demand served",
        "> 99.99 %" if 0.9999 < served < 1 else f"{100 * served:.2f} %",
    )
    t.add_row("Peak IT power", f"{m['peak_it_power_mw']:,.1f} MW")
    t.add_row("Energy over the horizon", f"{m['energy_mwh'] / 1000:,.1f} GWh")
    t.add_row("Emissions over the horizon", f"{m['emissions_tco2']:,.0f} tCO2")
    whole = solve.get("integer_servers") is not False
    t.add_row(
        "Accelerators installed (peak year)" + ("" if whole else " [relaxation: fractional]"),
        f"{m['accelerators_installed_max']:,.0f}",
    )
    console.print(t)

    costs = Table(title="Cost breakdown (present value)", header_style="bold")
    costs.add_column("component")
    costs.add_column("USD", justify="right")
    costs.add_column("share", justify="right")
    total = res["objective_usd"] or 1.0
    from infraplan.model.costs import COMPONENTS

    for k, v in res["costs_usd"].items():
        label = COMPONENTS[k].label if k in COMPONENTS else k.replace("_", " ")
        costs.add_row(plain(label), usd(v), f"{100 * v / total:.1f} %")
    costs.add_row("[bold]Total cost of the plan[/]", f"[bold]{usd(m['total_cost_usd'])}[/]", "")
    costs.add_row(
        "Objective (cost + value of lost service and unfinished training)",
        usd(res["objective_usd"]),
        "",
    )
    console.print(costs)

    inst = res.get("installed", [])
    if inst:
        per_year: dict[int, float] = {}
        for r in inst:
            per_year[r["year"]] = per_year.get(r["year"], 0.0) + r["accelerators"]
        last = max(per_year, key=lambda y: (per_year[y], y))
        bt = Table(
            title=f"Installed in {last} (the year with most accelerators)", header_style="bold"
        )
        for c in ("site", "accelerator", "accelerators", "IT MW"):
            bt.add_column(c, justify="right" if c in ("accelerators", "IT MW") else "left")
        rows = sorted((r for r in inst if r["year"] == last), key=lambda r: -r["accelerators"])
        for r in rows[:15]:
            bt.add_row(
                plain(r["site"]),
                plain(r["accelerator"]),
                f"{r['accelerators']:,.0f}" if whole else f"{r['accelerators']:,.1f}",
                f"{r['it_capacity_mw']:,.1f}",
            )
        console.print(bt)
    if m["served_fraction"] < 1 - 1e-9:
        console.print(
            f"[yellow]Some demand is not served ({_share(1 - m['served_fraction'])} of "
            "requests). See the explanations in the report or run `infraplan explain`.[/]"
        )
    for e in res.get("explanations", [])[:5]:
        console.print(f"  - {plain(e['text'])}", highlight=False)
    if m.get("saving_vs_baseline_usd") is not None:
        console.print(
            f"Saving against the naive baseline (each country alone at its own peak): "
            f"{usd(m['saving_vs_baseline_usd'])} ({m['saving_vs_baseline_pct']:.1f} %) "
            "with lost service valued"
            + (
                f"; {usd(m['saving_vs_baseline_excl_penalties_usd'])} "
                f"({m['saving_vs_baseline_excl_penalties_pct']:.1f} %) on the cost of serving."
                if m.get("saving_vs_baseline_excl_penalties_usd") is not None
                else "."
            )
            + (
                ""
                if (res.get("baseline") or {}).get("feasible", True)
                else " (The baseline breaks the scenario's budget or carbon limits: not like for "
                "like.)"
            ),
            highlight=False,
        )
    from infraplan.report.html import band_text

    band_line = band_text(res)
    if band_line:
        console.print(plain(band_line), highlight=False)
    gov_line = governance_text(res)
    if gov_line:
        console.print(plain(gov_line), highlight=False)


def governance_text(res: dict[str, Any]) -> str:
    """One paragraph on the rule packs: classes, compliance cost, the rules that bind."""
    gov = res.get("governance") or {}
    if not gov.get("packs"):
        return ""
    counts: dict[str, int] = {}
    for c in gov.get("classifications", []):
        counts[c["class"]] = counts.get(c["class"], 0) + 1
    classes = ", ".join(f"{counts[k]} {k}" for k in ("prohibited", "high-risk", "limited",
                                                      "minimal") if counts.get(k))
    comp = (res.get("costs_usd") or {}).get("compliance", 0.0)
    binding = [r for r in gov.get("rule_costs", []) if r.get("binding")]
    costs = "; ".join(f"{r['rule']} {usd(r['cost_usd'])}" for r in binding)
    names = ", ".join(p["pack"] + (f" as of {p['as_of']}" if p["as_of"] != p["version"] else "")
                      for p in gov["packs"])
    return (f"Rule packs ({names}): services by region "
            f"{classes}; compliance {usd(comp)} (present value); "
            + (f"binding rules and what they cost: {costs}." if binding
               else "no rule changes the plan's cost.")
            + " infraplan policy check FILE lists the rules and their sources.")


@app.command("generate")
def generate_cmd(
    output: Annotated[Path, typer.Option("--output", "-o", help="YAML file to write.")],
    regions: Annotated[int, typer.Option(min=1, max=500, help="Regions.")] = 20,
    sites: Annotated[int, typer.Option(min=1, max=500, help="Candidate sites.")] = 15,
    years: Annotated[int, typer.Option(min=1, max=30, help="Years in the horizon.")] = 5,
    services: Annotated[int, typer.Option(min=1, max=8, help="Services (1-8).")] = 4,
    accelerators: Annotated[int, typer.Option(min=1, max=12, help="Accelerator types.")] = 4,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same file).")] = 0,
    area: Annotated[str, typer.Option(help="emea, americas, asia or world.")] = "emea",
) -> None:
    """Write a synthetic but realistic scenario (real countries and hubs, jittered)."""
    import yaml

    from infraplan.errors import InfraplanError
    from infraplan.generate import AREAS, generate

    if area not in {*AREAS, "world"}:
        msg = f"--area: unknown area {area!r}; allowed: {', '.join(sorted([*AREAS, 'world']))}."
        raise InfraplanError(msg)
    data = generate(regions, sites, years, services, accelerators, seed=seed, area=area)
    from infraplan.store.folder import atomic_file

    text = yaml.safe_dump(data, sort_keys=False, width=100)
    if output.is_dir():
        msg = f"--output: {str(output)!r} is a folder; give a file name, e.g. {output}/scn.yaml"
        raise InfraplanError(msg)
    try:
        atomic_file(output, lambda p: p.write_text(text, encoding="utf-8"))
    except OSError as exc:
        msg = f"--output: cannot write {str(output)!r} ({exc.strerror or exc}); choose another path"
        raise InfraplanError(msg) from None
    console.print(
        f"Wrote {plain(output)}: {regions} regions, {sites} sites, {years} years, "
        f"{services} services, {accelerators} accelerators (seed {seed}). "
        f"Next: [bold]infraplan run {plain(output)}[/]"
    )
