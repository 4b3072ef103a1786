"""Output folders replaced whole: a run is written into a hidden staging folder beside the
target and swapped into place at the end, so the folder always holds one complete run.

A crash, Ctrl-C, SIGTERM or SIGKILL at any point leaves either the previous run or the new one,
never a mix and never a half-written file. The target is checked before any work starts: it must
be a new path, an empty folder or an earlier infraplan run (never the current folder, a file, or
a folder of someone's own files), and its parent must be writable.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

from infraplan.errors import InfraplanError

MARKER = ".infraplan-run"
"""File written into every run folder: it marks the folder as replaceable by the next run."""

__all__ = ["MARKER", "RunFolder", "atomic_file", "is_run_folder", "safe_for_spreadsheets"]


def atomic_file(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Write ``path`` through ``write(tmp)`` on a temporary name in the same folder, flushed to
    disk and renamed into place: readers see the old file or the new one, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def is_run_folder(path: Path) -> bool:
    """True for a folder an infraplan run wrote (its marker, or an older run's results.json)."""
    if (path / MARKER).is_file():
        return True
    results = path / "results.json"
    if not results.is_file():
        return False
    try:
        with open(results, encoding="utf-8") as fh:
            head = fh.read(4096)
    except (OSError, UnicodeDecodeError):
        return False
    return '"infraplan_version"' in head or '"status"' in head


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    rc = fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM for the few system calls of a swap (main thread only)."""
    held = {signal.SIGINT, signal.SIGTERM}
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class RunFolder:
    """The output folder of one run: ``staging`` to write into, ``commit()`` to swap it in,
    ``discard()`` (or leaving the ``with`` block by an exception) to drop it."""

    def __init__(self, target: str | Path, *, option: str = "--out") -> None:
        raw = str(target)
        if raw.strip() == "":
            msg = f"{option}: an empty folder name; give a folder of its own, e.g. out/my-plan"
            raise InfraplanError(msg)
        self.target = Path(target)
        self.option = option
        resolved = self.target.resolve()
        cwd = Path.cwd().resolve()
        if resolved == cwd or resolved in cwd.parents:
            msg = (
                f"{option}: {raw!r} is the current folder (or one above it); a run replaces its "
                "output folder whole, so give a folder of its own, e.g. out/my-plan"
            )
            raise InfraplanError(msg)
        self._recover()
        if self.target.exists() or self.target.is_symlink():
            if not self.target.is_dir():
                msg = (
                    f"{option}: {raw!r} exists and is not a folder; give a folder name (a run "
                    "writes results.json, tables and report.html into it)"
                )
                raise InfraplanError(msg)
            if any(self.target.iterdir()) and not is_run_folder(self.target):
                sample = sorted(p.name for p in self.target.iterdir())[:3]
                msg = (
                    f"{option}: {raw!r} holds files that are not an infraplan run "
                    f"({', '.join(sample)}...); a run replaces its folder whole, so choose a "
                    "new folder, or empty or remove this one first"
                )
                raise InfraplanError(msg)
        parent = self.target.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self.staging = Path(
                tempfile.mkdtemp(dir=parent, prefix=f".{self.target.name}.partial-{os.getpid()}-")
            )
        except OSError as exc:
            msg = (
                f"{option}: cannot write into {str(parent)!r} ({exc.strerror or exc}); choose a "
                "folder you can write to"
            )
            raise InfraplanError(msg) from None
        (self.staging / MARKER).write_text("infraplan run folder\n", encoding="utf-8")
        self._done = False

    def _recover(self) -> None:
        """Undo what a killed run left: restore a previous run moved aside mid-swap, and remove
        staging and set-aside folders of processes that no longer exist."""
        parent = self.target.parent
        if not parent.is_dir():
            return
        name = self.target.name
        previous = sorted(parent.glob(f".{name}.previous-*"))
        if previous and not self.target.exists():
            with contextlib.suppress(OSError):
                os.rename(previous[-1], self.target)
        for kind in ("partial", "previous"):
            prefix = f".{name}.{kind}-"
            for p in parent.glob(prefix + "*"):
                pid_text = p.name[len(prefix) :].split("-", 1)[0]
                pid = int(pid_text) if pid_text.isdigit() else None
                if pid is None or not _pid_alive(pid):
                    shutil.rmtree(p, ignore_errors=True)

    def path(self, name: str) -> Path:
        """Where file ``name`` of the run ends up (after ``commit``)."""
        return self.target / name

    def commit(self) -> None:
        """Swap the staging folder in as the target (the previous run goes in one step)."""
        if self._done:
            return
        old: Path | None = None
        with _signals_held():
            for _ in range(3):
                if self.target.is_symlink():
                    self.target.unlink()
                if self.target.is_dir():
                    if _exchange(self.staging, self.target):
                        old = self.staging
                    else:
                        old = self.target.with_name(
                            f".{self.target.name}.previous-{os.getpid()}-{os.urandom(3).hex()}"
                        )
                        os.rename(self.target, old)
                        os.rename(self.staging, self.target)
                    break
                try:
                    os.rename(self.staging, self.target)
                    break
                except OSError as exc:  # another run created the target meanwhile: swap it
                    if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                        raise
            self._done = True
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def discard(self) -> None:
        """Drop the staging folder (the previous run stays as it was)."""
        if not self._done:
            shutil.rmtree(self.staging, ignore_errors=True)
            self._done = True

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, kind: object, value: object, tb: object) -> None:
        if kind is not None or not self._done:
            self.discard()


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""How a spreadsheet recognises a formula: text cells starting so are written with a ``'``."""


def _defused(value: object) -> object:
    """A text cell a spreadsheet would run as a formula, prefixed with ``'`` (OWASP CSV
    injection); numbers, including negative ones, are left alone."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    try:
        float(value)
    except ValueError:
        return "'" + value
    return value


def safe_for_spreadsheets(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text cell that could run as a spreadsheet formula defused."""
    text = [
        c
        for c in df.columns
        if not (
            pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_datetime64_any_dtype(df[c])
        )
    ]
    if not text:
        return df
    out = df.copy()
    for c in text:
        out[c] = out[c].astype(object).map(_defused)
    out.columns = [_defused(str(c)) for c in out.columns]
    return out
