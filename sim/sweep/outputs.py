"""The files a sweep writes to its output folder: results.csv, pareto.csv, summary.txt,
results.parquet (with pyarrow) and pareto.png, sensitivity.png (with matplotlib)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from sim.export import OutputError, write_atomic
from sim.sweep.results import SweepResult, _finite
from sim.sweep.spec import axis_names

def write_outputs(result: SweepResult, folder: Path) -> list[Path]:
    """results.csv, pareto.csv, summary.txt and (with matplotlib) pareto.png, sensitivity.png."""
    from sim.tables import NO_PLOTS, pyplot, write_csv

    written = [write_csv(folder / "results.csv", result.rows, float_format=".9g"),
               write_csv(folder / "pareto.csv", result.pareto, list(result.rows[0]),
                         float_format=".9g")]
    text = result.summary(run_counts=False)  # the file is the same however the run went
    plt = pyplot()
    if plt is None:
        text += f"\n  {NO_PLOTS}"
    else:
        written += [_plot_pareto(plt, result, folder), _plot_sensitivity(plt, result, folder)]
    parquet = _write_parquet(result.rows, folder / "results.parquet")
    if parquet is None:
        text += "\n  results.parquet skipped: pip install 'edgesim[parquet]' (pyarrow)"
    else:
        written.append(parquet)
    written.append(write_atomic(folder / "summary.txt", text + "\n"))
    return written


def _write_parquet(rows: Sequence[Mapping], path: Path) -> Path | None:
    """The table as Parquet, when pyarrow (the optional `parquet` extra) is installed."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return None
    columns = list(rows[0])
    # Parameter columns may mix types across points (e.g. an int and a float); keep each
    # column one type: numbers as float64 when mixed, anything else as text.
    data = {}
    for c in columns:
        values = [r.get(c) for r in rows]
        kinds = {type(v) for v in values}
        if kinds <= {int, float} and len(kinds) > 1:
            values = [float(v) for v in values]
        elif len(kinds) > 1:
            values = [str(v) for v in values]
        data[c] = values
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        pq.write_table(pa.table(data), tmp)
        os.replace(tmp, path)
    except OSError as err:
        raise OutputError(f"cannot write {str(path)!r}: {err}; choose a writable --out") from None
    return path


def _plot_pareto(plt, result: SweepResult, folder: Path) -> Path:
    metrics = result.spec.pareto
    ok = [r for r in result.rows if r["status"] == "ok" and all(_finite(r[m]) for m in metrics)]
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    x = [r[metrics[0]] for r in ok]
    y = [r[metrics[1]] for r in ok]
    if len(metrics) == 3:
        sc = ax.scatter(x, y, c=[r[metrics[2]] for r in ok], s=8, cmap="viridis", alpha=0.6)
        fig.colorbar(sc, ax=ax, label=metrics[2])
    else:
        ax.scatter(x, y, s=8, color="0.6", alpha=0.6, label=f"{len(ok)} feasible points")
    fx = [r[metrics[0]] for r in result.pareto]
    fy = [r[metrics[1]] for r in result.pareto]
    ax.plot(fx, fy, "o-" if len(metrics) == 2 else "o", color="tab:red", ms=4,
            label=f"Pareto front ({len(result.pareto)})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(metrics[0])
    ax.set_ylabel(metrics[1])
    ax.set_title(f"{result.spec.name}: {len(result.rows)} points")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = folder / "pareto.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _plot_sensitivity(plt, result: SweepResult, folder: Path) -> Path:
    """Median of each Pareto metric against each axis that takes several values."""
    metrics = result.spec.pareto
    ok = [r for r in result.rows if r["status"] == "ok" and all(_finite(r[m]) for m in metrics)]
    axes_ = [a for a in axis_names(result.spec) if len({r[a] for r in ok}) > 1]
    fig, grid = plt.subplots(max(1, len(axes_)), len(metrics), squeeze=False,
                             figsize=(4 * len(metrics), 2.6 * max(1, len(axes_))))
    for i, axis in enumerate(axes_):
        values = sorted({r[axis] for r in ok}, key=lambda v: (isinstance(v, str), v))
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        if numeric and len(values) > 12:  # a sampled range: bin it
            edges = np.quantile([r[axis] for r in ok], np.linspace(0, 1, 11))
            centres = (edges[1:] + edges[:-1]) / 2
            bins = np.clip(np.searchsorted(edges, [r[axis] for r in ok], side="right") - 1, 0, 9)
        for j, metric in enumerate(metrics):
            ax = grid[i][j]
            if numeric and len(values) > 12:
                med = [np.median([r[metric] for r, b in zip(ok, bins) if b == k] or [np.nan])
                       for k in range(10)]
                ax.plot(centres, med, "o-")
            elif numeric:
                ax.plot(values, [np.median([r[metric] for r in ok if r[axis] == v]) for v in values], "o-")
            else:
                med = [np.median([r[metric] for r in ok if r[axis] == v]) for v in values]
                ax.bar(range(len(values)), med)
                ax.set_xticks(range(len(values)), [str(v)[:18] for v in values], rotation=30,
                              ha="right", fontsize=7)
            ax.set_yscale("log")
            ax.set_xlabel(axis)
            ax.set_ylabel(f"median {metric}")
    fig.tight_layout()
    path = folder / "sensitivity.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
