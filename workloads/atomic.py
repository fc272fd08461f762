"""All-or-nothing file output: the one atomic writer of the project.

Every file edgesim writes (traces, reports, study tables, PNG plots, Verilog) goes through an
`OutputSet`: each file is written to a temporary beside its target (created with mode 0o666 so
the user's umask decides the permissions, as for any file the user creates), flushed to disk,
and only when the whole set is written are the temporaries renamed over their targets. If
anything fails or the run is interrupted (Ctrl-C raises KeyboardInterrupt, which passes through
here) before the renames, the temporaries are removed and no target changes. SIGINT and
SIGTERM that arrive during the renames are held until the renames are done; a rename that fails
midway puts back the files already replaced, so the set lands whole or not at all.

    with OutputSet() as out:
        out.write("run/report.csv", csv_text)
        out.write("run/plot.png", png_bytes)
    # both files are in place here, or neither changed
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path

from workloads.errors import OutputError

__all__ = ["OutputError", "OutputSet", "staged_directory", "write_atomic"]


def _reason(err: OSError) -> str:
    return err.strerror or str(err)


def _failed(message: str, reason: str) -> OutputError:
    """An OutputError whose `reason` attribute is the bare cause (e.g. 'No space left on
    device'), for callers that phrase their own message (trace files)."""
    error = OutputError(message)
    error.reason = reason
    return error


class OutputSet:
    """Files staged as temporaries and renamed into place together by `commit()`.

    Used as a context manager, it commits when the block ends normally and discards the
    temporaries when it ends with any exception (KeyboardInterrupt included). Raises
    OutputError naming the file and the reason when a file cannot be staged or placed.
    """

    def __init__(self) -> None:
        self._staged: dict[Path, Path] = {}  # target -> temporary

    def write(self, path: str | os.PathLike, data: str | bytes) -> Path:
        """Stage `data` (text is written as UTF-8 with '\\n' line ends) for `path`; returns `path`."""
        path = Path(path)
        if path.is_dir():
            raise OutputError(f"cannot write {str(path)!r}: it is a directory; give a file name")
        if not path.parent.is_dir():
            raise OutputError(f"cannot write {str(path)!r}: directory {str(path.parent)!r} does "
                              "not exist; create it or choose a writable directory")
        raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        # A leading dot keeps the temporary out of directory listings and globs.
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except OSError as err:
            raise _failed(f"cannot write {str(path)!r}: {_reason(err)}; choose a writable directory",
                          _reason(err)) from None
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(raw)
                file.flush()
                os.fsync(file.fileno())
        except OSError as err:
            tmp.unlink(missing_ok=True)
            raise _failed(f"cannot write {str(path)!r}: {_reason(err)}", _reason(err)) from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        previous = self._staged.pop(path, None)
        if previous is not None:
            previous.unlink(missing_ok=True)
        self._staged[path] = tmp
        return path

    def discard(self) -> None:
        """Remove every staged temporary; no target changes."""
        for tmp in self._staged.values():
            tmp.unlink(missing_ok=True)
        self._staged.clear()

    def commit(self) -> list[Path]:
        """Rename every temporary over its target, all or none; returns the targets."""
        placed: list[tuple[Path, Path | None]] = []  # (target, backup of what it replaced)
        with _signals_held():
            try:
                for path, tmp in self._staged.items():
                    backup = None
                    if path.exists():
                        backup = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.bak")
                        _keep_copy(path, backup)
                    try:
                        os.replace(tmp, path)
                    except BaseException:
                        if backup is not None:
                            backup.unlink(missing_ok=True)
                        raise
                    placed.append((path, backup))
            except OSError as err:
                _roll_back(placed)
                failed = next((p for p in self._staged if p not in dict(placed)), None)
                self.discard()
                raise _failed(f"cannot write {str(failed)!r}: {_reason(err)}; nothing was written",
                              _reason(err)) from None
            except BaseException:
                _roll_back(placed)
                self.discard()
                raise
            for _, backup in placed:
                if backup is not None:
                    backup.unlink(missing_ok=True)
        targets = list(self._staged)
        self._staged.clear()
        return targets

    def __enter__(self) -> OutputSet:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


def _keep_copy(path: Path, backup: Path) -> None:
    """Keep `path`'s current content at `backup` (a hard link when possible: no copy)."""
    try:
        os.link(path, backup)
    except OSError:
        shutil.copy2(path, backup)


def _roll_back(placed: list[tuple[Path, Path | None]]) -> None:
    for path, backup in reversed(placed):
        if backup is None:
            path.unlink(missing_ok=True)
        else:
            os.replace(backup, path)


@contextmanager
def _signals_held():
    """Hold SIGINT and SIGTERM until the block ends, then deliver them (main thread only:
    elsewhere Python cannot set handlers, and signals are delivered to the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[sig] = signal.signal(sig, lambda signum, frame: pending.append(signum))
        except (ValueError, OSError):  # not settable here (e.g. an embedded interpreter)
            pass
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(pending):
            signal.raise_signal(sig)


def write_atomic(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write one file all-or-nothing (an `OutputSet` of one); OutputError if it cannot."""
    with OutputSet() as out:
        out.write(path, data)
    return Path(path)


@contextmanager
def staged_directory(path: str | os.PathLike):
    """A hidden scratch directory beside `path` for code that writes many files by path (the
    studies): on a normal exit every file in it is moved into `path` (created) as one
    `OutputSet`; on any exception the scratch directory is removed and `path` is untouched.

    Yields the scratch directory's Path.
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise OutputError(f"output path {str(out)!r} is a file; give a directory")
    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        scratch = parent / f".{out.name}.{uuid.uuid4().hex[:12]}.staging"
        scratch.mkdir(mode=0o777)
    except OSError as err:
        raise OutputError(f"cannot create output directory {str(out)!r}: {_reason(err)}; "
                          "choose a writable one") from None
    try:
        yield scratch
        files = sorted(p for p in scratch.rglob("*") if p.is_file())
        try:
            for sub in sorted({f.parent.relative_to(scratch) for f in files}):
                (out / sub).mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise OutputError(f"cannot create output directory {str(out)!r}: {_reason(err)}; "
                              "choose a writable one") from None
        with OutputSet() as final:
            for f in files:
                final.write(out / f.relative_to(scratch), f.read_bytes())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
