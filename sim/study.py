"""What every study's command line does the same way once its arguments are parsed: it writes its
output folder whole or not at all, and a user error is one line and exit status 2, as `edgesim`
itself reports it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from workloads import EdgesimError
from workloads.atomic import staged_directory

T = TypeVar("T")


def write_study(out: str | Path, run: Callable[[Path], T],
                report: Callable[[T], Iterable[str]] | None = None) -> int:
    """A study's exit status: `run(folder)` writes into a staging folder that lands as `out`,
    then the lines of `report(result)` are printed (by default 'wrote OUT') and 0 returned.

    An EdgesimError from `run` (a bad setting, an output folder that cannot be made) is printed
    as `edgesim: error: ...` on stderr, `out` is left as it was, and the status is 2.
    """
    try:
        with staged_directory(out) as folder:
            result = run(folder)
    except EdgesimError as err:
        print(f"edgesim: error: {err}", file=sys.stderr)
        return 2
    for line in report(result) if report is not None else (f"wrote {out}",):
        print(line)
    return 0
