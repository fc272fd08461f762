"""Shared plumbing of the FPGA studies: published-vs-simulated comparisons, optional plots and
the studies' command line. Tables go through `sim.tables` (floats as '.6g', FLOAT_FORMAT).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sim.study import study_main
from sim.tables import NO_PLOTS, pyplot, save_figure

FLOAT_FORMAT = ".6g"
"""How the FPGA studies print floats in their tables."""


@dataclass(frozen=True)
class Comparison:
    """A simulated figure next to the published one it reproduces."""

    metric: str
    published: float
    simulated: float
    source: str
    tolerance_ratio: float
    """Accepted |simulated / published - 1|."""

    @property
    def error_ratio(self) -> float:
        return self.simulated / self.published - 1.0

    @property
    def within_tolerance(self) -> bool:
        return abs(self.error_ratio) <= self.tolerance_ratio

    def row(self) -> dict:
        return {"metric": self.metric, "published": self.published,
                "simulated": round(self.simulated, 6), "error_ratio": round(self.error_ratio, 4),
                "tolerance_ratio": self.tolerance_ratio, "within_tolerance": self.within_tolerance,
                "source": self.source}


@dataclass(frozen=True)
class ComparisonStudy:
    """What an FPGA comparison study returns: its table rows (frozen dataclasses; `sweep` for a
    second table), the published figures it reproduces, and the messages its command prints."""

    rows: tuple
    comparisons: tuple[Comparison, ...]
    messages: tuple[str, ...]
    sweep: tuple = ()


def plot(path: Path, draw: Callable) -> str:
    """Call `draw(plt)` and save the figure to `path`; a message instead when matplotlib is absent."""
    plt = pyplot()
    if plt is None:
        return f"skipped {path.name}: {NO_PLOTS}"
    fig = draw(plt)
    try:
        save_figure(fig, path, dpi=120, bbox_inches="tight")
    finally:
        plt.close(fig)
    return f"wrote {path}"


def comparison_main(argv: Sequence[str] | None, *, prog: str, doc: str, run: Callable,
                    out_example: str, small_help: str) -> int:
    """The command line of a study whose `run(out, small=, plots=)` returns a
    `ComparisonStudy`: `sim.study.study_main` with --small and --no-plots, printing its messages
    and comparisons."""
    return study_main(argv, lambda out, args: run(out, small=args.small, plots=not args.no_plots),
                      prog=prog, description=doc.splitlines()[0], out_example=out_example,
                      seed=False, plots=True, small_help=small_help, report=lambda result, args: _comparison_lines(result))


def _comparison_lines(result: ComparisonStudy) -> list[str]:
    return [*result.messages,
            *(f"{c.metric}: published {c.published:g}, simulated {c.simulated:.4g} "
              f"({c.error_ratio:+.1%})" for c in result.comparisons)]
