"""``infraplan catalog TABLE``: show a built-in catalog table as a rich table or as JSON."""

from __future__ import annotations

import json
import math
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from infraplan import catalog
from infraplan.cli import app, console
from infraplan.fmt import plain

# Columns shown by default (all columns with --all-columns or --json); the id column comes first.
DEFAULT_COLUMNS: dict[str, list[str]] = {
    "accelerators": [
        "vendor",
        "family",
        "form_factor",
        "bf16_tflops",
        "fp8_tflops",
        "fp4_tflops",
        "hbm_gb",
        "hbm_tbps",
        "scaleup_gbps",
        "scaleup_domain",
        "tdp_w",
        "accels_per_server",
        "server_price_usd",
        "tpp",
        "first_year",
    ],
    "models": [
        "family",
        "n_layers",
        "hidden_size",
        "n_heads",
        "n_kv_heads",
        "attention",
        "n_experts",
        "n_experts_active",
        "params_total_b",
        "params_active_b",
        "context_length",
        "languages",
    ],
    "countries": [
        "country",
        "population_m",
        "internet_users_pct",
        "elec_price_usd_kwh",
        "carbon_g_kwh",
        "utc_offset",
    ],
    "sites": [
        "country",
        "lat",
        "lon",
        "power_price_usd_mwh",
        "carbon_g_kwh",
        "climate",
        "pue",
        "capex_usd_per_mw",
        "power_mw",
        "lead_time_months",
    ],
}


# Short header labels for the default view (the unit from the schema is added below the label).
LABELS: dict[str, str] = {
    "form_factor": "form",
    "bf16_tflops": "BF16",
    "fp8_tflops": "FP8",
    "fp4_tflops": "FP4",
    "hbm_gb": "memory",
    "hbm_tbps": "mem BW",
    "scaleup_gbps": "scale-up",
    "scaleup_domain": "domain",
    "tdp_w": "TDP",
    "accels_per_server": "per server",
    "server_price_usd": "server price",
    "tpp": "TPP",
    "first_year": "year",
    "n_layers": "layers",
    "hidden_size": "hidden",
    "n_heads": "heads",
    "n_kv_heads": "KV heads",
    "attention": "attn",
    "n_experts": "experts",
    "n_experts_active": "active",
    "params_total_b": "params",
    "params_active_b": "active params",
    "context_length": "context",
    "population_m": "population",
    "internet_users_pct": "internet",
    "elec_price_usd_kwh": "power price",
    "carbon_g_kwh": "carbon",
    "utc_offset": "UTC",
    "power_price_usd_mwh": "power price",
    "pue": "PUE",
    "capex_usd_per_mw": "capex",
    "power_mw": "grid power",
    "lead_time_months": "lead time",
}
UNITS: dict[str, str] = {"1e9": "billion", "1e6 people": "million", "accelerators": "accels"}


def _format(value: object) -> str:
    """A cell as text: blanks for missing values, thousands separators for large numbers."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.6g}"
    if isinstance(value, int) and abs(value) >= 10000 and not 1900 <= value <= 2100:
        return f"{value:,}"
    return str(value)


def _unit(sch: pd.DataFrame, column: str) -> str:
    """The schema's unit of ``column`` ("" if none); the schema is read as strings."""
    return str(sch.loc[column, "unit"]) if column in sch.index else ""


def _header(table: str, column: str, short: bool) -> str:
    sch = catalog.schema(table)
    unit = _unit(sch, column)
    label = LABELS.get(column, column) if short else column
    return f"{label}\n[dim]{UNITS.get(unit, unit)}[/]" if unit else label


def _records(data: pd.DataFrame) -> list[dict[str, object]]:
    """All columns of the table as JSON-ready records (missing values become null)."""
    return json.loads(data.reset_index().to_json(orient="records", force_ascii=False))


@app.command("catalog")
def catalog_command(
    table: Annotated[
        str, typer.Argument(help="Table to show: accelerators, models, countries or sites.")
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the rows as a JSON list with all columns.")
    ] = False,
    all_columns: Annotated[
        bool, typer.Option("--all-columns", help="Show every column, sources included.")
    ] = False,
) -> None:
    """Show a built-in catalog table (units in the headers, * marks an estimated value)."""
    data = catalog.table(table)  # raises UnknownIdError (exit 1) for an unknown table name
    if as_json:
        typer.echo(json.dumps(_records(data), indent=2, ensure_ascii=False))
        return
    estimates = data["estimate"].fillna("") if "estimate" in data else pd.Series("", data.index)
    if all_columns:
        _print_records(table, data, estimates)
    else:
        _print_table(table, data, estimates)


def _estimated(estimates: pd.Series, row_id: str) -> set[str]:
    return {e.strip() for e in str(estimates[row_id]).split(";") if e.strip()}


def _print_table(table: str, data: pd.DataFrame, estimates: pd.Series) -> None:
    """One line per row with the default column subset."""
    columns = DEFAULT_COLUMNS[table]
    out = Table(
        title=f"infraplan catalog: {table} ({len(data)} rows)",
        caption="* = estimate; --all-columns shows every field with its source",
    )
    out.add_column(catalog.TABLES[table], style="bold", no_wrap=True)
    for column in columns:
        numeric = pd.api.types.is_numeric_dtype(data[column])
        out.add_column(
            _header(table, column, short=True),
            justify="right" if numeric else "left",
            overflow="fold",
        )
    for row_id, row in data.iterrows():
        estimated = _estimated(estimates, str(row_id))  # ids are strings
        cells = [plain(row_id)]
        for column in columns:
            text = plain(_format(row[column]))
            cells.append(f"{text}*" if text and column in estimated else text)
        out.add_row(*cells)
    # Piped output (no terminal) would otherwise be squeezed into 80 columns.
    (console if console.is_terminal else Console(width=200)).print(out)


def _print_records(table: str, data: pd.DataFrame, estimates: pd.Series) -> None:
    """Every field of every row, one small field/value/unit table per row."""
    sch = catalog.schema(table)
    for row_id, row in data.iterrows():
        estimated = _estimated(estimates, str(row_id))  # ids are strings
        out = Table(title=f"{table}: {plain(row_id)}", title_justify="left", show_header=False)
        out.add_column("field", style="bold", no_wrap=True)
        out.add_column("value", overflow="fold")
        out.add_column("unit", style="dim", no_wrap=True)
        for column in data.columns:
            text = plain(_format(row[column]))
            unit = plain(_unit(sch, str(column)))
            out.add_row(
                column, f"{text} (estimate)" if text and column in estimated else text, unit
            )
        console.print(out)
