"""Command-line interface (typer + rich). One module per command group registers itself here.

User errors (``InfraplanError``) are printed as one paragraph and exit with status 1; they never
show a traceback.
"""

from __future__ import annotations

import contextlib
import os
import signal
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


def _version(value: bool) -> None:
    if value:
        from infraplan import __version__

        console.print(f"infraplan {__version__}", highlight=False)
        raise typer.Exit(0)


@app.callback()
def _options(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", callback=_version, is_eager=True
    ),
) -> None:
    """Plan affordable, large-scale, ethical AI infrastructure for countries and partners."""


def _register() -> None:
    """Import command modules so that they attach their commands to ``app``."""
    from infraplan.cli import catalog_cmd, explain_cmd, perf_cmd, plan_cmd, policy_cmd  # noqa: F401


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


def _click_kind(exc: BaseException) -> str | None:
    """'help' when no arguments were given, 'usage' for click's usage and parameter errors,
    'abort' for its Abort, else None.

    Typer may bundle its own copy of click (``typer._click``), whose classes are not
    ``click.ClickException``: match by class name along the MRO so that any copy is caught."""
    names = {c.__name__ for c in type(exc).__mro__}
    if "NoArgsIsHelpError" in names:
        return "help"
    if "ClickException" in names:
        return "usage"
    if "Abort" in names:
        return "abort"
    return None


_TERMINATED: list[bool] = []
"""Set by the SIGTERM handler (of the console entry point only) to report exit 143."""
_INTERRUPTED: list[bool] = []
"""Set by the SIGINT handler (console entry point only): a Ctrl-C that a library swallowed
(pyarrow-backed pandas operations turn it into a cancelled compute that pandas retries) still
stops the run before its results are committed."""


def _on_sigint(signum: int, frame: object) -> None:
    """Ctrl-C: remember it, then unwind as Python's default handler does."""
    _INTERRUPTED.append(True)
    raise KeyboardInterrupt


def check_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` if a Ctrl-C (or SIGTERM) arrived and was swallowed; called
    before anything is committed."""
    if _INTERRUPTED:
        raise KeyboardInterrupt


def _on_sigterm(signum: int, frame: object) -> None:
    """Treat SIGTERM as Ctrl-C, so that a terminated run unwinds the same way (the solver
    stops cleanly, the staging folder is removed, the previous results are kept)."""
    _TERMINATED.append(True)
    os.kill(os.getpid(), signal.SIGINT)


INTERNAL_ERROR = 70
"""Exit code of an unexpected failure (a defect in infraplan, never a user error)."""


def _internal_error(exc: BaseException) -> None:
    """Say in one paragraph that infraplan failed, save the traceback to a file, exit 70."""
    import tempfile
    import traceback

    text = "".join(traceback.format_exception(exc))
    where = ""
    try:
        fd, path = tempfile.mkstemp(prefix="infraplan-crash-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        where = f" The details are saved in {path}; please attach that file to a bug report."
    except OSError:
        pass
    from rich.markup import escape

    err_console.print(
        f"[bold red]internal error:[/] infraplan failed unexpectedly "
        f"({escape(type(exc).__name__)}: {escape(' '.join(str(exc).split())[:300])}). This is a "
        f"defect in infraplan, not in your input.{escape(where)}",
        highlight=False,
        soft_wrap=True,
    )
    sys.exit(INTERNAL_ERROR)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point. Exit codes: 0 plan found (or command done), 1 bad input,
    2 no plan, 70 internal error, 130 interrupted, 143 terminated (the README's exit-code
    table); a usage error is bad input."""
    with contextlib.suppress(ValueError):  # not the main thread: keep the default
        signal.signal(signal.SIGTERM, _on_sigterm)
        signal.signal(signal.SIGINT, _on_sigint)
    try:
        code = _dispatch(argv)
    except KeyboardInterrupt:
        code = _interrupted()
    sys.exit(code)


def _interrupted() -> int:
    """Exit code (and one line) for Ctrl-C or SIGTERM; later signals are ignored meanwhile."""
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if _TERMINATED:
        err_console.print("terminated (exit 143)", highlight=False)
        return 143
    err_console.print("interrupted (exit 130)", highlight=False)
    return 130


def _dispatch(argv: list[str] | None) -> int:
    """Run the command; every outcome becomes an exit code (KeyboardInterrupt propagates)."""
    _register()
    _quiet_highs_banner()
    try:
        returned = app(args=argv, standalone_mode=False)
    except InfraplanError as exc:
        from rich.markup import escape

        err_console.print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        return 1
    except (typer.Exit, SystemExit) as exc:
        code = getattr(exc, "exit_code", getattr(exc, "code", 0))
        return code if isinstance(code, int) else (0 if code is None else 1)
    except Exception as exc:
        kind = _click_kind(exc)
        if kind in ("usage", "help"):
            exc.show()  # type: ignore[attr-defined]
            return 0 if kind == "help" else 1
        if kind == "abort":
            err_console.print("aborted")
            return 130
        if isinstance(exc, BrokenPipeError):  # output piped into a reader that stopped
            return 0
        _internal_error(exc)
    return returned if isinstance(returned, int) else 0
