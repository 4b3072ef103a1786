"""`infraplan run`, `infraplan validate`: plan a scenario, check a scenario file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.panel import Panel
from rich.table import Table

from infraplan.cli import app, console
from infraplan.fmt import human, usd
from infraplan.scenario import load_scenario


@app.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
) -> None:
    """Check a scenario file and report every problem at once (exit 1 if any)."""
    scn = load_scenario(file)
    accels = scn.accelerators or ["every catalog accelerator available in time"]
    console.print(
        f"[green]OK[/] {file}: {len(scn.regions)} regions, {len(scn.services)} services, "
        f"{len(scn.sites)} candidate sites, accelerators: {', '.join(accels)}; "
        f"horizon {scn.horizon.start_year}-{scn.horizon.end_year}."
    )
    console.print(f"Next: [bold]infraplan run {file} --out out/{file.stem}[/]")


@app.command("run")
def run(
    file: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output folder (default out/<scenario>).")
    ] = None,
    report: Annotated[bool, typer.Option(help="Write the HTML report.")] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the summary.")] = False,
) -> None:
    """Plan a scenario: solve the build-out and write results.json, CSV tables and report.html."""
    from infraplan.optimize import plan

    scn = load_scenario(file)
    out_dir = out or Path("out") / file.stem
    with console.status("planning...", spinner="dots") as status:

        def step(text: str) -> None:
            status.update(f"{text}...")
            if not quiet:
                console.log(text)

        results: Any = plan(scn, source=str(file), on_step=step)
        status.update("writing results...")
        paths = results.write(out_dir)
        if report:
            status.update("writing the HTML report...")
            from infraplan.report import write_report

            paths["report.html"] = write_report(results.to_dict(), out_dir / "report.html")
    print_summary(results.to_dict())
    console.print(
        f"\nWrote {len(paths)} files to [bold]{out_dir}[/]: results.json, "
        + (
            f"[bold]{paths['report.html']}[/] (open it in a browser), "
            if "report.html" in paths
            else ""
        )
        + "and one CSV per table."
    )
    console.print(
        "Next: change an assumption in the scenario file and run again, or "
        f"[bold]infraplan explain {out_dir}[/] to see what limits the plan."
    )
    if not results.metrics:  # no plan at all
        raise typer.Exit(2)


def _share(x: float) -> str:
    """A small share as text: '< 0.01 %' rather than a misleading '0.00 %'."""
    return "< 0.01 %" if 0 < x < 1e-4 else f"{100 * x:.2f} %"


def print_summary(res: dict[str, Any]) -> None:
    """Rich terminal summary of a results.json mapping."""
    scn = res["scenario"]
    status = res["status"]
    solve = res.get("solve", {})
    colour = {"optimal": "green", "feasible": "yellow", "time_limit": "yellow"}.get(status, "red")
    console.print(
        Panel.fit(
            f"[bold]{scn['name']}[/]  {scn['years'][0]}-{scn['years'][-1]}\n"
            f"status: [{colour}]{status}[/]"
            + (f", gap {100 * solve['mip_gap']:.2f} %" if solve.get("mip_gap") is not None else "")
            + f"  ({solve.get('method', '')}, "
            f"{human(solve.get('n_variables', 0))} variables, "
            f"{human(solve.get('n_constraints', 0))} constraints, "
            f"built in {solve.get('build_s', 0):.1f} s, solved in {solve.get('solve_s', 0):.1f} s)",
            title="infraplan",
        )
    )
    if not res.get("metrics"):
        console.print(f"[red]No plan: the solver reported {res.get('termination')}.[/]")
        return
    m = res["metrics"]
    t = Table(title="Key figures", show_header=True, header_style="bold")
    t.add_column("figure")
    t.add_column("value", justify="right")
    t.add_row("total discounted cost (excl. unserved penalty)", usd(m["total_cost_usd"]))
    if m.get("cost_per_million_tokens_usd") is not None:
        t.add_row(
            "cost per million tokens (input+output)", f"$ {m['cost_per_million_tokens_usd']:.3f}"
        )
    if m.get("cost_per_million_output_tokens_usd") is not None:
        t.add_row(
            "cost per million output tokens", f"$ {m['cost_per_million_output_tokens_usd']:.3f}"
        )
    if m.get("cost_per_citizen_year_usd") is not None:
        t.add_row("cost per citizen per year", usd(m["cost_per_citizen_year_usd"]))
    served = m["served_fraction"]
    t.add_row(
        "served fraction of demand",
        "> 99.99 %" if 0.9999 < served < 1 else f"{100 * served:.2f} %",
    )
    t.add_row("peak IT power", f"{m['peak_it_power_mw']:,.1f} MW")
    t.add_row("energy over the horizon", f"{m['energy_mwh'] / 1000:,.1f} GWh")
    t.add_row("emissions over the horizon", f"{m['emissions_tco2']:,.0f} tCO2")
    t.add_row("accelerators installed (peak year)", f"{m['accelerators_installed_max']:,.0f}")
    console.print(t)

    costs = Table(title="Cost breakdown (present value)", header_style="bold")
    costs.add_column("component")
    costs.add_column("USD", justify="right")
    costs.add_column("share", justify="right")
    total = res["objective_usd"] or 1.0
    for k, v in res["costs_usd"].items():
        costs.add_row(k.replace("_", " "), usd(v), f"{100 * v / total:.1f} %")
    costs.add_row("[bold]total (objective)[/]", f"[bold]{usd(res['objective_usd'])}[/]", "")
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
                r["site"],
                r["accelerator"],
                f"{r['accelerators']:,.1f}",
                f"{r['it_capacity_mw']:,.1f}",
            )
        console.print(bt)
    unserved = res.get("unserved", [])
    if unserved:
        console.print(
            f"[yellow]Some demand is not served ({_share(1 - m['served_fraction'])} of "
            "requests). See the explanations in the report or run `infraplan explain`.[/]"
        )
    for e in res.get("explanations", [])[:5]:
        console.print(f"  - {e['text']}")
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
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(yaml.safe_dump(data, sort_keys=False, width=100))
    console.print(
        f"Wrote {output}: {regions} regions, {sites} sites, {years} years, {services} services, "
        f"{accelerators} accelerators (seed {seed}). Next: [bold]infraplan run {output}[/]"
    )
