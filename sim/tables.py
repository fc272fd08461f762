"""Study outputs: an output folder, CSV / JSON / Markdown tables of dict rows, optional pyplot.

Every study in results/ writes through these, so each file, PNGs included, is written
atomically (`workloads.atomic`: a failed write leaves nothing half-written) and a missing
matplotlib skips plots the same way everywhere. A study's `main` runs inside
`workloads.atomic.staged_directory`, so its whole output folder lands at once or not at all. Column names carry their units; rows are mappings.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from workloads.atomic import OutputError, write_atomic


def output_dir(path: str | os.PathLike) -> Path:
    """`path` as a directory, created if needed; OutputError if it is a file or cannot be made."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise OutputError(f"output path {str(out)!r} is a file; give a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(
            f"cannot create output directory {str(out)!r}: {err.strerror}; choose a writable one"
        ) from None
    return out


def cell(value, float_format: str = ""):
    """A table cell: finite floats through `float_format` (e.g. '.6g') when one is given."""
    if float_format and isinstance(value, float) and math.isfinite(value):
        return format(value, float_format)
    return value


def columns_of(rows: Sequence[Mapping]) -> list[str]:
    """Every key of `rows`, in first-seen order."""
    return list(dict.fromkeys(k for row in rows for k in row))


def csv_text(rows: Sequence[Mapping], columns: Sequence[str] | None = None, *,
             float_format: str = "") -> str:
    """CSV of `rows` (missing cells empty); columns default to `columns_of(rows)`."""
    columns = columns_of(rows) if columns is None else list(columns)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(c, ""), float_format) for c in columns])
    return buf.getvalue()


def write_csv(path: str | os.PathLike, rows: Sequence[Mapping],
              columns: Sequence[str] | None = None, *, float_format: str = "") -> Path:
    """Write `csv_text(rows, ...)` to `path` atomically."""
    return write_atomic(path, csv_text(rows, columns, float_format=float_format))


def write_json(path: str | os.PathLike, data) -> Path:
    """Write `data` as indented JSON (NaN allowed, as measured tables may hold it) atomically."""
    return write_atomic(path, json.dumps(data, indent=2, allow_nan=True) + "\n")


def markdown_table(rows: Sequence[Mapping], columns: Sequence[str], *,
                   float_format: str = "") -> str:
    """A Markdown table of `rows` restricted to `columns`."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(str(cell(row.get(c, ""), float_format)) for c in columns) + " |")
    return "\n".join(lines)


def save_figure(fig, path: str | os.PathLike, **savefig_kwargs) -> Path:
    """Render a matplotlib figure (format from the suffix) in memory and write it atomically,
    so a PNG is never half-written. Keyword arguments go to `fig.savefig` (dpi, bbox_inches)."""
    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format=path.suffix.lstrip(".") or "png", **savefig_kwargs)
    return write_atomic(path, buf.getvalue())


def pyplot():
    """`matplotlib.pyplot` on the file-only Agg backend, or None when matplotlib is not installed
    (it is the optional `plot` extra; callers skip their plots and say so)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


NO_PLOTS = "matplotlib is not installed: skipping plots (pip install 'edgesim[plot]')"
"""What a study prints when `pyplot()` is None."""
