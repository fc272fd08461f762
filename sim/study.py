"""What every study's command line does the same way: it parses the common arguments (--out,
--seed, --small, --no-plots where the study draws plots) beside the study's own, writes its
output folder whole or not at all, and reports a user error as one line and exit status 2, as
`edgesim` itself does. A study declares only its own options and its run function
(`study_main`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

from sim.cli import seed_value
from workloads import EdgesimError
from workloads.atomic import staged_directory

T = TypeVar("T")


def write_study(out: str | Path, run: Callable[[Path], T],
                report: Callable[[T], Iterable[str]] | None = None,
                status: Callable[[T], int] | None = None) -> int:
    """A study's exit status: `run(folder)` writes into a staging folder that lands as `out`,
    then the lines of `report(result)` are printed (by default 'wrote OUT') and `status(result)`
    returned (by default 0; a study that checks a peer tool returns 1 when they disagree).

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
    return 0 if status is None else status(result)


def add_common_arguments(parser: argparse.ArgumentParser, *, out_example: str, seed: bool = True,
                         small: bool = True, plots: bool = False,
                         small_help: str = "a quick reduced run (CI)") -> None:
    """Add the arguments every study shares to `parser` (a study's own, or an `edgesim FAMILY
    study` sub-command's): `--out` (required), and `--seed` (default 0, an integer in
    [0, 2**64)), `--small` and `--no-plots` when `seed`, `small` and `plots` say so."""
    parser.add_argument("--out", required=True, help=f"output folder, e.g. {out_example}")
    if seed:
        parser.add_argument("--seed", type=seed_value, default=0,
                            help="seed of the numpy Generator, an integer in [0, 2**64)")
    if small:
        parser.add_argument("--small", action="store_true", help=small_help)
    if plots:
        parser.add_argument("--no-plots", action="store_true", help="write tables only")


def study_parser(prog: str, description: str, *, out_example: str, seed: bool = True,
                 small: bool = True, plots: bool = False, small_help: str = "a quick reduced run (CI)",
                 add_options: Callable[[argparse.ArgumentParser], None] | None = None
                 ) -> argparse.ArgumentParser:
    """The parser of a study's command line: the common arguments (`add_common_arguments`),
    then the study's own (`add_options(parser)`)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    add_common_arguments(parser, out_example=out_example, seed=seed, small=small, plots=plots,
                         small_help=small_help)
    if add_options is not None:
        add_options(parser)
    return parser


def study_main(argv: Sequence[str] | None, run: Callable[[Path, argparse.Namespace], T], *,
               prog: str, description: str, out_example: str, seed: bool = True,
               small: bool = True, plots: bool = False, small_help: str = "a quick reduced run (CI)",
               add_options: Callable[[argparse.ArgumentParser], None] | None = None,
               report: Callable[[T, argparse.Namespace], Iterable[str]] | None = None,
               status: Callable[[T], int] | None = None) -> int:
    """A study's `main(argv)`: parse the common and the study's own arguments
    (`study_parser`), then `write_study(args.out, lambda folder: run(folder, args), ...)`,
    printing `report(result, args)` (by default 'wrote OUT') and returning `status(result)`
    (by default 0).

    Bad arguments exit with argparse's usage line and status 2; a user error from `run` is one
    line on stderr and status 2 with `--out` left as it was.
    """
    parser = study_parser(prog, description, out_example=out_example, seed=seed, small=small,
                          plots=plots, small_help=small_help, add_options=add_options)
    args = parser.parse_args(argv)
    return write_study(args.out, lambda folder: run(folder, args),
                       None if report is None else (lambda result: report(result, args)), status)
