"""One fidelity table for the whole project: every published figure edgesim checks, beside the
figure the model computes for it.

    python -m sim.fidelity --out results/fidelity

Each family contributes its rows through the entry-point group `edgesim.fidelity`: a function
`rows(*, fast: bool = False) -> list[FidelityRow]` in the family's package (layering keeps
`sim` from importing devices or accelerators, so the table cannot be assembled here any other
way). A contributor runs its models: no row is copied from a results/ file. With `fast=True`
it returns only the rows it computes in about a second (the test suite's subset); the study
runs everything.

A row carries its band (the error range, in %, it is held to) and its role: a *calibration
point* set a constant of the model, so it matches by construction and is held tightly; a
*held-out* figure was never tuned on and is held to its stated band. A row whose gap is known
and open is flagged `open_gap` with its real error and the band it would have to meet; it is
listed, not failed, and not hidden by a wider band.

The study writes fidelity.csv and fidelity.json (one row per figure), error.png (error per case,
bands shaded; matplotlib's optional `plot` extra) and a README. A contributor that fails is
reported as one line naming it (in the README and on stderr) and the rest of the table is
written; the command then exits 1.
"""

from __future__ import annotations

import argparse
import enum
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from sim.export import write_atomic
from sim.registry import call_plugin, describe_entry_point
from sim.tables import NO_PLOTS, markdown_table, output_dir, pyplot, save_figure, write_csv, write_json
from workloads import EdgesimError, SpecError
from workloads.atomic import staged_directory

GROUP = "edgesim.fidelity"
"""The entry-point group a family registers its `rows` function under."""


class Role(enum.Enum):
    """Whether a published figure set a constant of the model or only checks it."""

    CALIBRATION = "calibration point"
    """A constant of the model (a scale, an energy per event) was solved on this figure."""
    HELD_OUT = "held out"
    """Never tuned on: the figure checks the model."""


@dataclass(frozen=True)
class FidelityRow:
    """One published figure beside the value the model computes for it.

    `published_value` and `simulated_value` share the unit named in `unit` (quantities of
    every kind meet in this table, so the unit is a column rather than a name suffix).
    Raises SpecError on a non-finite value, a zero published value, or an empty band.
    """

    family: str
    """The contributor (entry-point name), e.g. 'mobile'."""
    case: str
    """Short identifier, unique in the table, e.g. 'tsm-mbv2-jetson-nano-gpu'."""
    source: str
    """Paper (or datasheet, or peer tool) and its table/figure."""
    quantity: str
    """What is compared, with its setting: network, device, precision."""
    unit: str
    """Unit of both values: 'ms', 'FPS', 'x', 'kB', 'M MACs', 'cycles', ..."""
    published_value: float
    simulated_value: float
    band_pct: tuple[float, float]
    """(low, high) error in % the row is held to (for an open gap: the band it should meet)."""
    role: Role
    open_gap: bool = False
    """The gap is known and open: reported with its real error, not failed on."""
    note: str = ""
    """Why the band is what it is; for an open gap, what is known about its cause."""

    def __post_init__(self) -> None:
        where = f"fidelity row {self.family}/{self.case}"
        for name in ("published_value", "simulated_value"):
            if not math.isfinite(getattr(self, name)):
                raise SpecError(f"{where}: {name} must be finite (got {getattr(self, name)!r})")
        if self.published_value == 0:
            raise SpecError(f"{where}: published_value must be non-zero (the error is relative)")
        low, high = self.band_pct
        if not (math.isfinite(low) and math.isfinite(high) and low <= high):
            raise SpecError(f"{where}: band_pct must be finite (low, high) with low <= high "
                            f"(got {self.band_pct!r})")

    @property
    def error_pct(self) -> float:
        """(simulated - published) / published, in %."""
        return 100.0 * (self.simulated_value - self.published_value) / self.published_value

    @property
    def in_band(self) -> bool:
        low, high = self.band_pct
        return low <= self.error_pct <= high

    @property
    def band_text(self) -> str:
        low, high = self.band_pct
        band = "exact" if low == high == 0 else f"{low:+.3g}..{high:+.3g} %"
        return f"open gap (target {band})" if self.open_gap else band

    def record(self) -> dict[str, object]:
        """The row as a flat mapping of the table's columns."""
        return {
            "family": self.family, "case": self.case, "source": self.source,
            "quantity": self.quantity, "unit": self.unit,
            "published": self.published_value, "simulated": self.simulated_value,
            "error_pct": round(self.error_pct, 3), "band": self.band_text,
            "band_low_pct": self.band_pct[0], "band_high_pct": self.band_pct[1],
            "in_band": self.in_band, "role": self.role.value, "open_gap": self.open_gap,
            "note": self.note,
        }


Contributor = Callable[..., Sequence[FidelityRow]]


@dataclass(frozen=True)
class Collection:
    """Every row the contributors returned, and one line for each contributor that failed."""

    rows: tuple[FidelityRow, ...]
    failures: tuple[str, ...]

    @property
    def open_gaps(self) -> tuple[FidelityRow, ...]:
        return tuple(r for r in self.rows if r.open_gap)

    @property
    def out_of_band(self) -> tuple[FidelityRow, ...]:
        """Rows outside their band that are not flagged as open gaps (regressions)."""
        return tuple(r for r in self.rows if not r.open_gap and not r.in_band)


def contributors() -> dict[str, Contributor]:
    """The registered contributors by entry-point name, loaded lazily (a broken one fails when
    called, as one line naming it)."""
    eps = sorted(metadata.entry_points(group=GROUP), key=lambda ep: ep.name)

    def loader(ep: metadata.EntryPoint) -> Contributor:
        def contribute(**kwargs):
            return ep.load()(**kwargs)
        contribute.entry_point = ep
        return contribute

    return {ep.name: loader(ep) for ep in eps}


def collect(sources: Mapping[str, Contributor] | None = None, *, fast: bool = False) -> Collection:
    """Call every contributor (`sources`, or the registered ones) and gather their rows.

    A contributor that raises, or returns something other than FidelityRows, or repeats a case,
    is recorded as one failure line naming it; the others still count.
    """
    sources = contributors() if sources is None else sources
    rows: list[FidelityRow] = []
    failures: list[str] = []
    seen: set[tuple[str, str]] = set()
    for name, fn in sources.items():
        what = f"fidelity contributor {describe_entry_point(fn, name)}"
        try:
            got = list(call_plugin(lambda: fn(fast=fast), what))
        except EdgesimError as err:
            failures.append(f"{what}: {err}" if not str(err).startswith(what) else str(err))
            continue
        bad = [r for r in got if not isinstance(r, FidelityRow)]
        if bad:
            failures.append(f"{what} returned {type(bad[0]).__name__}, not FidelityRow")
            continue
        keys = [(r.family, r.case) for r in got]
        dupes = sorted({case for key in keys if key in seen or keys.count(key) > 1
                        for case in key[1:]})
        if dupes:
            failures.append(f"{what} repeats case(s) {', '.join(dupes)}")
            continue
        seen.update((r.family, r.case) for r in got)
        rows.extend(got)
    return Collection(rows=tuple(rows), failures=tuple(failures))


# --- the study ------------------------------------------------------------------------------

COLUMNS = ["family", "case", "source", "quantity", "unit", "published", "simulated",
           "error_pct", "band", "band_low_pct", "band_high_pct", "in_band", "role", "open_gap",
           "note"]
README_COLUMNS = ["family", "case", "source", "quantity", "unit", "published", "simulated",
                  "error_pct", "band", "role"]


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def write_study(collection: Collection, out: Path, *, plots: bool = True, fast: bool = False) -> list[Path]:
    """Write the table, its plot and README into `out`; returns the paths written."""
    out = output_dir(out)
    records = [r.record() for r in collection.rows]
    paths = [write_csv(out / "fidelity.csv", records, COLUMNS, float_format=".6g"),
             write_json(out / "fidelity.json", {"fast": fast, "rows": records,
                                                "failures": list(collection.failures)})]
    if plots:
        png = _plot(collection.rows, out / "error.png")
        if png is not None:
            paths.append(png)
    paths.append(write_atomic(out / "README.md", _readme(collection, fast)))
    return paths


def _plot(rows: Sequence[FidelityRow], path: Path) -> Path | None:
    plt = pyplot()
    if plt is None:
        print(NO_PLOTS, file=sys.stderr)
        return None
    n = len(rows)
    fig, ax = plt.subplots(figsize=(9, 0.19 * n + 1.6))
    y = list(range(n))[::-1]
    colours = {Role.CALIBRATION: "#0077bb", Role.HELD_OUT: "#009988"}
    for yi, r in zip(y, rows):
        low, high = r.band_pct
        ax.plot([low, high], [yi, yi], color="#cccccc", lw=5, solid_capstyle="butt", zorder=1)
        colour = "#cc3311" if r.open_gap else colours[r.role]
        marker = "x" if r.open_gap else ("s" if r.role is Role.CALIBRATION else "o")
        # Symmetric log x: counts sit at 0-1 %, open gaps at +500 %.
        ax.scatter([r.error_pct], [yi], color=colour, marker=marker, s=22, zorder=2)
    for role, colour, marker in ((Role.CALIBRATION, colours[Role.CALIBRATION], "s"),
                                 (Role.HELD_OUT, colours[Role.HELD_OUT], "o")):
        ax.scatter([], [], color=colour, marker=marker, label=role.value)
    ax.scatter([], [], color="#cc3311", marker="x", label="open gap")
    ax.plot([], [], color="#cccccc", lw=5, label="band")
    ax.set_xscale("symlog", linthresh=1.0)
    ax.axvline(0, color="black", lw=0.6)
    ax.set_yticks(y)
    ax.set_yticklabels([f"{r.family}/{r.case}" for r in rows], fontsize=6)
    ax.set_ylim(-1, n)
    ax.set_xlabel("error, simulated vs published (%; symmetric log beyond +-1 %)")
    ax.set_title("edgesim fidelity: every published figure checked")
    ax.grid(axis="x", alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    try:
        return save_figure(fig, path, dpi=110)
    finally:
        plt.close(fig)


def _readme(collection: Collection, fast: bool) -> str:
    rows = collection.rows
    records = []
    for r in rows:
        rec = r.record()
        rec.update(published=_fmt(r.published_value), simulated=_fmt(r.simulated_value),
                   error_pct=f"{r.error_pct:+.2f}")
        records.append(rec)
    families = list(dict.fromkeys(r.family for r in rows))
    counts = "\n".join(
        f"| {f} | {sum(r.family == f for r in rows)} | "
        f"{sum(r.family == f and r.role is Role.CALIBRATION for r in rows)} | "
        f"{sum(r.family == f and r.role is Role.HELD_OUT for r in rows)} | "
        f"{sum(r.family == f and r.open_gap for r in rows)} | "
        f"{sum(r.family == f and not r.open_gap and r.in_band for r in rows)} |"
        for f in families)
    held = [r for r in rows if r.role is Role.HELD_OUT and not r.open_gap]
    worst = max(held, key=lambda r: abs(r.error_pct), default=None)
    gaps = "\n".join(f"- `{r.family}/{r.case}`: {r.quantity}: published {_fmt(r.published_value)} "
                     f"{r.unit}, simulated {_fmt(r.simulated_value)} {r.unit} "
                     f"({r.error_pct:+.1f} %). {r.note}" for r in collection.open_gaps) or "- none"
    regressions = "\n".join(f"- `{r.family}/{r.case}`: {r.error_pct:+.2f} % outside {r.band_text}"
                            for r in collection.out_of_band) or "- none"
    failures = "\n".join(f"- {line}" for line in collection.failures) or "- none"
    scope = ("**Fast subset** (`--fast`: the rows each contributor computes in about a second; "
             "the test suite's run).\n\n" if fast else "")
    worst_text = (f"The largest held-out error inside its band is `{worst.family}/{worst.case}`, "
                  f"{worst.error_pct:+.1f} % (band {worst.band_text})." if worst else "")
    return f"""# Fidelity: every published figure edgesim checks

Generated by `python -m sim.fidelity --out results/fidelity`; do not edit by hand.
{scope}Each row is computed by running the model (contributors registered under the entry-point
group `edgesim.fidelity`, one per family: `sim/fidelity.py` explains the mechanism); nothing is
copied from another study's files. `fidelity.csv` / `fidelity.json` hold every column
(`band_low_pct`, `band_high_pct`, `in_band`, `open_gap`, `note`); `error.png` plots the error
of each case with its band.

- *calibration point*: a constant of the model was solved on this figure, so it matches by
  construction; held tightly (the solver's tolerance).
- *held out*: never tuned on; held to the stated band.
- *open gap*: a known miss, shown with its real error and the band it would have to meet; the
  note says what is known of its cause. Tests (tests/sim/test_fidelity.py) fail on any row
  outside its band that is not an open gap, and on any open gap not in their explicit list.

{len(rows)} rows: {sum(r.role is Role.CALIBRATION for r in rows)} calibration points,
{sum(r.role is Role.HELD_OUT for r in rows)} held out, {len(collection.open_gaps)} open gaps;
{sum(not r.open_gap and r.in_band for r in rows)} rows in band. {worst_text}

| family | rows | calibration | held out | open gaps | in band |
|---|---|---|---|---|---|
{counts}

## Open gaps

{gaps}

## Out of band (not flagged as open gaps)

{regressions}

## Contributors that failed

{failures}

## The table

{markdown_table(records, README_COLUMNS)}
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.fidelity", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output folder, e.g. results/fidelity")
    parser.add_argument("--fast", action="store_true",
                        help="only the rows each contributor computes in about a second")
    parser.add_argument("--no-plots", action="store_true", help="skip error.png")
    args = parser.parse_args(argv)
    collection = collect(fast=args.fast)
    try:
        with staged_directory(args.out) as out:  # the folder lands whole or not at all
            write_study(collection, out, plots=not args.no_plots, fast=args.fast)
    except EdgesimError as err:
        print(f"edgesim: error: {err}", file=sys.stderr)
        return 2
    for line in collection.failures:
        print(f"edgesim: {line}", file=sys.stderr)
    print(f"wrote {args.out}: {len(collection.rows)} rows, {len(collection.open_gaps)} open gaps, "
          f"{len(collection.out_of_band)} out of band, {len(collection.failures)} failed contributors")
    return 1 if collection.failures else 0


if __name__ == "__main__":
    # Run as the importable module, so contributors' FidelityRow is this module's class.
    from sim.fidelity import main as _main

    sys.exit(_main())
