"""``infraplan perf``: predict LLM serving throughput, latency and energy; batch; calibrate.

    infraplan perf --model llama3.1-70b --accelerator h100-sxm --count 8 [--tp 8]
                   [--precision fp8] --isl 1024 --osl 256
                   (--offline | --concurrency 64 | --ttft-ms 2000 --tpot-ms 200) [--json]
    infraplan perf --batch rows.csv [--out predictions.csv]
    (both take [--efficiency table.csv]: another efficiency table than the packaged fit)
    infraplan perf calibrate [--data calibration.csv] [--out efficiency.csv]
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from infraplan.cli import app, console
from infraplan.errors import InfraplanError
from infraplan.fmt import plain

if TYPE_CHECKING:
    from infraplan.perf import PerfResult
    from infraplan.perf.efficiency import Efficiency

perf_app = typer.Typer(
    help="Predict LLM serving throughput, latency, memory and energy (see docs/perf.md).",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(perf_app, name="perf")


@perf_app.callback(invoke_without_command=True)
def perf_command(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option("--model", help="Model id (infraplan catalog "
                                              "models).")] = None,
    accelerator: Annotated[str | None, typer.Option("--accelerator", help="Accelerator id "
                                                    "(infraplan catalog accelerators).")] = None,
    count: Annotated[int | None, typer.Option("--count", help="Accelerators in the group "
                                              "(default: one server).")] = None,
    tp: Annotated[int | None, typer.Option("--tp", help="Tensor-parallel degree (default: "
                                           "best).")] = None,
    pp: Annotated[int | None, typer.Option("--pp", help="Pipeline-parallel degree (default: "
                                           "best).")] = None,
    precision: Annotated[str | None, typer.Option("--precision", help="bf16, fp16, fp8, int8, "
                                                  "fp4, w8a16 or w4a16 (default: fp8 where "
                                                  "supported; formats the hardware lacks run "
                                                  "weight-only).")] = None,
    isl: Annotated[float | None, typer.Option("--isl", help="Input tokens per request.")] = None,
    osl: Annotated[float | None, typer.Option("--osl", help="Output tokens per request.")] = None,
    offline: Annotated[bool, typer.Option("--offline", help="Maximum throughput, all requests "
                                          "queued.")] = False,
    concurrency: Annotated[int | None, typer.Option("--concurrency", help="Requests in "
                                                    "flight.")] = None,
    ttft_ms: Annotated[float | None, typer.Option("--ttft-ms", help="p99 time-to-first-token "
                                                  "limit (Poisson arrivals).")] = None,
    tpot_ms: Annotated[float | None, typer.Option("--tpot-ms", help="p99 time-per-output-token "
                                                  "limit (Poisson arrivals).")] = None,
    engine: Annotated[str | None, typer.Option("--engine", help="Serving engine: trtllm, vllm, "
                                               "sglang or generic, optionally with a release "
                                               "(vllm-0.6.0) or a date (vllm@2024-09-05); "
                                               "default: TensorRT-LLM 0.17.0, the reference.")
                      ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    batch: Annotated[Path | None, typer.Option("--batch", help="CSV of rows to predict (see "
                                               "docs/perf.md).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Where --batch writes its "
                                             "predictions (default: print).")] = None,
    efficiency: Annotated[Path | None, typer.Option("--efficiency", help="Efficiency table CSV "
                                                    "to predict with, e.g. one written by "
                                                    "`perf calibrate --out` (default: the "
                                                    "packaged fit).")] = None,
) -> None:
    """Predict one configuration, or every row of a CSV with --batch."""
    if ctx.invoked_subcommand:
        return
    for flag, value in (("--isl", isl), ("--osl", osl), ("--ttft-ms", ttft_ms),
                        ("--tpot-ms", tpot_ms)):
        if value is not None and not math.isfinite(value):
            raise InfraplanError(f"{flag}: {value} is not a finite number; give a positive "
                                 "number, e.g. 1024")
    eff = _load_efficiency(efficiency)
    if batch is not None:
        _batch(batch, out, eff)
        return
    if model is None and accelerator is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    if not model or not accelerator:
        raise InfraplanError("--model and --accelerator are both required (or use --batch)")
    if osl is None:
        raise InfraplanError("--osl: output tokens per request are required")
    chosen = [name for name, on in (("--offline", offline), ("--concurrency", concurrency),
                                    ("--ttft-ms/--tpot-ms", ttft_ms or tpot_ms)) if on]
    if len(chosen) > 1:
        raise InfraplanError(f"choose one mode: {' or '.join(chosen)} were all given")
    mode = "offline"
    if concurrency:
        mode = "concurrency"
    elif ttft_ms or tpot_ms:
        if not (ttft_ms and tpot_ms):
            raise InfraplanError("--ttft-ms and --tpot-ms go together (p99 limits of the "
                                 "latency-bounded mode)")
        mode = "server"
    from infraplan.perf import predict

    result = predict(model, accelerator, n_accel=count, tp=tp, pp=pp, precision=precision,
                     isl=isl, osl=osl, mode=mode, concurrency=concurrency, ttft_ms=ttft_ms,
                     tpot_ms=tpot_ms, engine=engine, efficiency=eff)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    _print(result)


def _load_efficiency(path: Path | None) -> Efficiency | None:
    """The table at ``path`` (``None``: the packaged fit, chosen by the callee)."""
    if path is None:
        return None
    from infraplan.perf.efficiency import load

    return load(path)


def _print(r: PerfResult) -> None:
    title = (f"{r.model} on {r.n_accel} x {r.accelerator}, {r.precision} tp{r.tp} pp{r.pp} "
             f"({r.replicas} replica{'s' if r.replicas != 1 else ''}), {r.mode}, "
             f"isl {r.isl:.0f} / osl {r.osl:.0f}")
    out = Table(title=plain(title), show_header=False, title_justify="left")
    out.add_column("quantity", style="bold")
    out.add_column("value", justify="right")
    out.add_column("unit", style="dim")
    if not r.feasible:
        out.add_row("feasible", "no", "")
        out.add_row("reason", plain(r.reason), "")
    else:
        rows = [
            ("output throughput", f"{r.output_tokens_per_s:,.0f}", "tokens/s (whole group)"),
            ("P10-P90 band", f"{r.output_tokens_per_s * r.band_p10:,.0f}-"
             f"{r.output_tokens_per_s * r.band_p90:,.0f}",
             "tokens/s (measured/predicted of out-of-sample rows of this kind)"),
            ("engine", plain(r.engine), ""),
            ("requests", f"{r.requests_per_s:,.2f}", "requests/s"),
            ("TTFT", f"{r.ttft_ms:,.0f}", "ms" + (" (p99)" if r.mode == "server" else "")),
            ("TPOT", f"{r.tpot_ms:,.1f}", "ms" + (" (p99)" if r.mode == "server" else "")),
            ("batch", f"{r.batch:,.0f}", "sequences per replica"),
            ("weights", f"{r.memory_weights_gb:,.1f}", "GB per accelerator"),
            ("KV cache", f"{r.memory_kv_cache_gb:,.1f}", "GB per accelerator in use"),
            ("activations", f"{r.memory_activations_gb:,.1f}", "GB per accelerator"),
            ("power", f"{r.watts_per_accelerator:,.0f}", "W per accelerator"),
            ("energy", f"{r.joules_per_output_token:,.3f}", "J per output token (before PUE)"),
            ("energy", f"{r.wh_per_request:,.4f}", "Wh per request"),
            ("bound", plain(r.bound), ""),
        ]
        for row in rows:
            out.add_row(*row)
    (console if console.is_terminal else Console(width=200)).print(out)


def _batch(path: Path, out: Path | None, eff: Efficiency | None) -> None:
    from infraplan.perf import batch as batch_mod

    start = time.perf_counter()
    result = batch_mod.run(path, out, efficiency=eff)
    took = time.perf_counter() - start
    if out is None:
        typer.echo(result.to_csv(index=False, float_format="%.6g"), nl=False)
        return
    console.print(
        f"{plain(batch_mod.summary(result))}; wrote {plain(out)} in {took:.1f} s", highlight=False
    )


@perf_app.command("calibrate")
def calibrate_command(
    data: Annotated[Path | None, typer.Option("--data", help="Measurements CSV (default: the "
                                              "shared calibration set plus the packaged "
                                              "engine and MLPerf v5.0 sets).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Where to write the fitted table "
                                             "(default: the packaged efficiency.csv).")] = None,
) -> None:
    """Refit the efficiency factors on published (or your own) measurements."""
    from infraplan.perf import calibration

    start = time.perf_counter()
    # the new table, as fitted (this process's packaged() keeps the table it read first)
    table = calibration.calibrate(data, out).to_table()
    target = out or "the packaged infraplan/perf/data/efficiency.csv"
    console.print(f"fitted {len(table)} factors in {time.perf_counter() - start:.0f} s; wrote "
                  f"{plain(target)}", highlight=False)
    show = Table(show_header=True)
    for col in ("parameter", "family", "engine", "precision", "value", "n_rows"):
        show.add_column(col)
    for row in table.itertuples(index=False):
        show.add_row(str(row.parameter), str(row.family), str(row.engine), str(row.precision),
                     f"{row.value:.4g}", str(row.n_rows))
    (console if console.is_terminal else Console(width=200)).print(show)
