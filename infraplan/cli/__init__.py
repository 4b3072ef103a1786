"""Command-line interface (typer + rich). One module per command group registers itself here.

User errors (``InfraplanError``) are printed as one paragraph and exit with status 1; they never
show a traceback.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from infraplan.errors import InfraplanError

app = typer.Typer(
    name="infraplan",
    help="Plan affordable, large-scale, ethical AI infrastructure for countries and partners.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def _register() -> None:
    """Import command modules so that they attach their commands to ``app``."""
    from infraplan.cli import catalog_cmd, explain_cmd, perf_cmd, plan_cmd  # noqa: F401


def _quiet_highs_banner() -> None:
    """HiGHS prints its licence banner once per process, when the first solver object is
    created and before any option can be set. The console entry point creates that first
    object with standard output sent to /dev/null, once, before any command runs (no thread
    exists yet); the library itself never redirects output."""
    import os

    try:
        import highspy

        fd = sys.stdout.fileno()
    except (ImportError, AttributeError, OSError, ValueError):
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), fd)
            highspy.Highs()
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    _register()
    _quiet_highs_banner()
    try:
        app(args=argv, standalone_mode=False)
    except InfraplanError as exc:
        from rich.markup import escape

        err_console.print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        sys.exit(1)
    except (typer.Exit, SystemExit) as exc:
        code = getattr(exc, "exit_code", getattr(exc, "code", 0))
        sys.exit(code or 0)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(1)
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code if exc.exit_code else 2)
        raise
