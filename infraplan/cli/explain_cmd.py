"""`infraplan explain DIR`: what limits the plan, in plain words, largest cost impact first."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from infraplan.analysis.explain import headline_rows
from infraplan.cli import app, console
from infraplan.fmt import human, plain, usd
from infraplan.store import load_results

KIND_WORDS = {"unserved": "unserved", "binding": "binding"}


def _number(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def sorted_explanations(res: dict[str, Any]) -> list[dict[str, Any]]:
    """Explanation rows, largest impact first (rows without an impact last)."""
    rows = [r for r in res.get("explanations") or [] if isinstance(r, dict)]

    def key(r: dict[str, Any]) -> float:
        n = _number(r.get("impact_usd"))
        return -n if n is not None else math.inf

    return sorted(rows, key=key)


def shadow_text(row: dict[str, Any]) -> str:
    """``'41 USD/MWh'`` or ``''``."""
    p = _number(row.get("shadow_price"))
    if p is None:
        return ""
    unit = row.get("unit") or ""
    return f"{human(p)} {unit}".strip()


@app.command("explain")
def explain_cmd(
    folder: Annotated[Path, typer.Argument(help="Run folder written by `infraplan run --out`.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the explanations as JSON rows.")
    ] = False,
    top: Annotated[int, typer.Option("--top", "-n", min=1, help="Rows shown in the table.")] = 30,
) -> None:
    """Say what limits a plan: unserved demand and binding constraints with their shadow prices,
    in plain words, largest cost impact first."""
    res = load_results(folder)
    rows = sorted_explanations(res)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    name = (res.get("scenario") or {}).get("name") or str(folder)
    status = res.get("status")
    console.print(f"[bold]{plain(name)}[/]: plan status {plain(status)}")
    if not rows:
        if status != "optimal":
            console.print(
                f"No plan was found ({plain(res.get('termination') or status)}), so there is "
                "nothing to explain; see the run's summary for why."
            )
        else:
            console.print(
                "All demand is served and no constraint limits the plan (no shadow price is "
                "nonzero)."
            )
        return
    t = Table(
        title="What limits the plan, largest cost impact first",
        header_style="bold",
        show_lines=False,
    )
    t.add_column("#", justify="right")
    t.add_column("kind")
    t.add_column("explanation", ratio=1)
    t.add_column("impact (PV)", justify="right")
    t.add_column("shadow price", justify="right")
    for i, r in enumerate(rows[:top], start=1):
        impact = _number(r.get("impact_usd"))
        t.add_row(
            str(i),
            plain(KIND_WORDS.get(str(r.get("kind")), str(r.get("kind")))),
            plain(r.get("text") or ""),
            usd(impact) if impact is not None else "-",
            plain(shadow_text(r)) or "-",
        )
    console.print(t)
    if len(rows) > top:
        console.print(f"({len(rows) - top} more rows: --top {len(rows)} or --json shows all)")
    console.print("\n[bold]In short[/]")
    for r in headline_rows(rows, 3):
        console.print(f"  - {plain(r.get('text'))}", highlight=False)
    m = res.get("metrics") or {}
    saving = _number(m.get("saving_vs_baseline_usd"))
    if saving is not None:
        console.print(
            f"  - Against the naive baseline (each country alone, its own peak), the plan saves "
            f"{usd(saving)} ({m.get('saving_vs_baseline_pct', 0):.1f} %), lost service "
            "valued on both sides.",
            highlight=False,
        )
    console.print(
        "\nImpacts are present values (USD at the base year). Shadow prices say how much the "
        "total cost would fall per unit of relaxation (per MWh, accelerator, server, ...)."
    )
