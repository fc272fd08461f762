"""`results/scalesim_validation/`: edgesim's systolic template beside SCALE-Sim v3 itself.

    python -m accelerators.studies.scalesim_validation --out results/scalesim_validation \
        [--scalesim-python /tmp/scalesim-venv/bin/python]

SCALE-Sim (`pip install scalesim==3.0.0`, in a separate venv: its USER mode needs numpy < 2.4)
is run on every case below, from the very config and topology files `edgesim systolic` reads;
its COMPUTE_REPORT.csv and DETAILED_ACCESS_REPORT.csv rows are stored in
`scalesim_reference.csv`. Without SCALE-Sim (no `--scalesim-python` and no `scalesim` module in
this interpreter) the committed reference is kept and edgesim is re-checked against it.

Cases: 7 convolution layers (one smaller than every array, a strided one, a pointwise one, a
fully-connected one, a SCALE-Sim `DP` depthwise layer that expands into one row per channel,
and one too big for the SRAMs) and 2 GEMM-mode layers, each in the os, ws and is dataflows on
8x8, 16x16 and 8x32 arrays with 2 kB SRAMs per operand: 81 layer x dataflow x array cases
(90 SCALE-Sim rows with the depthwise expansion).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import importlib.util
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from accelerators.systolic.scalesim_files import read_config, read_topology
from sim.export import write_atomic
from sim.study import study_main
from sim.systolic import Layers, simulate
from sim.tables import markdown_table, write_csv

CONV_TOPOLOGY = """Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,
conv3x3,10,10,3,3,4,12,1,
tiny,5,5,3,3,2,3,1,
strided,15,15,3,3,8,20,2,
pointwise,8,8,1,1,32,40,1,
fc,1,1,1,1,64,10,1,
DPdepthwise,8,8,3,3,4,1,1,
big,20,20,3,3,16,32,1,
"""
"""SCALE-Sim convolution topology (its own conventions: no padding, one stride, trailing comma)."""

GEMM_TOPOLOGY = """Layer Name, M, N, K,
gemm_a, 20, 30, 40,
gemm_b, 100, 7, 50,
"""
"""SCALE-Sim GEMM (-i gemm) topology: M output rows, N output columns, K reduction depth."""

ARRAYS = ((8, 8), (16, 16), (8, 32))
"""(rows, cols) of the arrays validated; 8x32 catches any rows/cols transposition."""
DATAFLOWS = ("os", "ws", "is")
SRAM_KB = 2
"""Per-operand SRAM in the validation configs: small enough that the `big` layer overflows."""

CONFIG_TEMPLATE = """[general]
run_name = {run_name}

[architecture_presets]
ArrayHeight:    {rows}
ArrayWidth:     {cols}
IfmapSramSzkB:   {sram_kb}
FilterSramSzkB:  {sram_kb}
OfmapSramSzkB:   {sram_kb}
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 10
Dataflow : {dataflow}
MemoryBanks:   1
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""
"""SCALE-Sim v3's shipped configs/scale.cfg with the array, SRAMs and dataflow filled in."""

LAYOUT = (
    "Layer name, IFMAP Height Intraline Factor, IFMAP Width Intraline Factor, Filter Height "
    "Intraline Factor, Filter Width Intraline Factor, Channel Intraline Factor, Num Filter "
    "Intraline Factor, IFMAP Height Intraline Order, IFMAP Width Intraline Order, Channel "
    "Intraline Order, IFMAP Height Interline Order, IFMAP Width Interline Order, Channel "
    "Interline Order, Num Filter Intraline Order, Channel Intraline Order, Filter Height "
    "Intraline Order, Filter Width Intraline Order, Num Filter Interline Order, Channel "
    "Interline Order, Filter Height Interline Order, Filter Width Interline Order, \n"
    "Inc5b_3x3, 2, 2, 1, 1, 16, 4,     0, 1, 2,     4, 5, 3,     3, 2, 1, 0,     4, 5, 6, 7,\n"
)
"""SCALE-Sim 3.0.0 insists on a layout file even with custom layouts off (its layouts/conv_nets/test.csv)."""

REFERENCE_COLUMNS = (
    "run", "mode", "dataflow", "rows", "cols", "layer_id",
    "Total Cycles", "Stall Cycles", "Overall Util %", "Mapping Efficiency %", "Compute Util %",
    "SRAM IFMAP Reads", "SRAM Filter Reads", "SRAM OFMAP Writes",
    "DRAM IFMAP Reads", "DRAM Filter Reads", "DRAM OFMAP Writes",
)


@dataclass(frozen=True)
class Run:
    """One SCALE-Sim invocation: a topology on one array in one dataflow."""

    mode: str
    """'conv' or 'gemm' (SCALE-Sim's -i flag)."""
    dataflow: str
    rows: int
    cols: int

    @property
    def name(self) -> str:
        return f"{self.mode}_{self.dataflow}_{self.rows}x{self.cols}"

    @property
    def topology(self) -> str:
        return CONV_TOPOLOGY if self.mode == "conv" else GEMM_TOPOLOGY

    def config(self) -> str:
        return CONFIG_TEMPLATE.format(run_name=self.name, rows=self.rows, cols=self.cols,
                                      sram_kb=SRAM_KB, dataflow=self.dataflow)


RUNS = tuple(Run(mode, df, r, c) for mode in ("conv", "gemm") for df in DATAFLOWS
             for r, c in ARRAYS)


def write_inputs(run: Run, directory: Path) -> tuple[Path, Path]:
    """Write `run`'s config and topology into `directory`; returns their paths."""
    cfg, topo = directory / f"{run.name}.cfg", directory / f"{run.name}.csv"
    cfg.write_text(run.config(), encoding="utf-8")
    topo.write_text(run.topology, encoding="utf-8")
    return cfg, topo


@dataclass(frozen=True, kw_only=True)
class LayerCounts:
    """One layer's figures as SCALE-Sim reports them (COMPUTE_REPORT.csv and
    DETAILED_ACCESS_REPORT.csv), counted by one tool: stall-free compute cycles, utilizations in
    percent, and SRAM and DRAM accesses in words."""

    total_cycles: int
    overall_util_pct: float
    mapping_efficiency_pct: float
    compute_util_pct: float
    sram_ifmap_reads: int
    sram_filter_reads: int
    sram_ofmap_writes: int
    dram_ifmap_reads: int
    dram_filter_reads: int
    dram_ofmap_writes: int


COLUMN_OF = {
    "total_cycles": "Total Cycles", "overall_util_pct": "Overall Util %",
    "mapping_efficiency_pct": "Mapping Efficiency %", "compute_util_pct": "Compute Util %",
    "sram_ifmap_reads": "SRAM IFMAP Reads", "sram_filter_reads": "SRAM Filter Reads",
    "sram_ofmap_writes": "SRAM OFMAP Writes", "dram_ifmap_reads": "DRAM IFMAP Reads",
    "dram_filter_reads": "DRAM Filter Reads", "dram_ofmap_writes": "DRAM OFMAP Writes",
}
"""LayerCounts field -> SCALE-Sim's report column, in the order the comparison table lists them."""
FIELD_OF = {column: field for field, column in COLUMN_OF.items()}


def _counts(values: dict[str, str]) -> LayerCounts:
    """LayerCounts from report cells by SCALE-Sim column (percentages float, counts int)."""
    return LayerCounts(**{field: float(values[column]) if "%" in column else int(float(values[column]))
                          for field, column in COLUMN_OF.items()})


@dataclass(frozen=True, kw_only=True)
class ReferenceRow:
    """One row of SCALE-Sim's own reports for a validation run (scalesim_reference.csv)."""

    run: str
    mode: str
    dataflow: str
    rows: int
    cols: int
    layer_id: int
    stall_cycles: int
    counts: LayerCounts

    def table_row(self) -> dict[str, object]:
        """The row under REFERENCE_COLUMNS (SCALE-Sim's column names)."""
        row: dict[str, object] = {"run": self.run, "mode": self.mode, "dataflow": self.dataflow,
                                  "rows": self.rows, "cols": self.cols, "layer_id": self.layer_id,
                                  "Stall Cycles": self.stall_cycles}
        row.update({COLUMN_OF[f]: v for f, v in dataclasses.asdict(self.counts).items()})
        return row


def _report_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header = [h.strip() for h in rows[0]]
    return [{h: v.strip() for h, v in zip(header, row) if h} for row in rows[1:] if row]


def run_scalesim(run: Run, python: str, work: Path) -> list[ReferenceRow]:
    """Run SCALE-Sim on `run` with the interpreter `python`; its per-layer report rows."""
    work.mkdir(parents=True, exist_ok=True)
    cfg, topo = write_inputs(run, work)
    layout = work / "layout.csv"
    layout.write_text(LAYOUT, encoding="utf-8")
    cmd = [python, "-m", "scalesim.scale", "-c", str(cfg), "-t", str(topo), "-l", str(layout),
           "-p", str(work / "out"), "-i", run.mode, "-s", "N"]
    subprocess.run(cmd, cwd=work, check=True, stdout=subprocess.DEVNULL)
    out = work / "out" / run.name
    compute = _report_rows(out / "COMPUTE_REPORT.csv")
    detail = _report_rows(out / "DETAILED_ACCESS_REPORT.csv")
    return [ReferenceRow(run=run.name, mode=run.mode, dataflow=run.dataflow, rows=run.rows,
                         cols=run.cols, layer_id=int(c["LayerID"]),
                         stall_cycles=int(float(c.get("Stall Cycles", d.get("Stall Cycles")))),
                         counts=_counts({**d, **c}))
            for c, d in zip(compute, detail)]


EXACT_COLUMNS = ("Total Cycles", "SRAM IFMAP Reads", "SRAM Filter Reads", "SRAM OFMAP Writes")
"""Compared exactly (SCALE-Sim's stall-free compute cycles and SRAM counts)."""
RATIO_COLUMNS = ("Overall Util %", "Mapping Efficiency %", "Compute Util %")
"""Compared to 1e-9 relative (floating-point percentages)."""
DRAM_COLUMNS = ("DRAM IFMAP Reads", "DRAM Filter Reads", "DRAM OFMAP Writes")
DRAM_BAND = {"DRAM IFMAP Reads": (0.45, 1.6), "DRAM Filter Reads": (0.7, 1.25),
             "DRAM OFMAP Writes": (0.98, 1.01)}
"""edgesim / SCALE-Sim ratio each DRAM count must stay within (edgesim's capacity model
against SCALE-Sim's address-level buffers; measured 0.46-1.55, 0.72-1.21, 0.988-1.000)."""


@dataclass(frozen=True, kw_only=True)
class ComparisonRow:
    """One SCALE-Sim report row beside edgesim's figures for the same layer (comparison.csv):
    the layer's GEMM view (m x k @ k x n), both tools' counts, and edgesim / SCALE-Sim for each
    DRAM count, rounded to 4 digits."""

    run: str
    layer: str
    m: int
    k: int
    n: int
    scalesim: LayerCounts
    edgesim: LayerCounts
    ratio_dram_ifmap_reads: float
    ratio_dram_filter_reads: float
    ratio_dram_ofmap_writes: float

    def value(self, tool: str, column: str):
        """`tool`'s ('scalesim' or 'edgesim') figure under SCALE-Sim's `column` name."""
        return getattr(getattr(self, tool), FIELD_OF[column])

    def ratio(self, column: str) -> float:
        """edgesim / SCALE-Sim for the DRAM count `column` (one of DRAM_COLUMNS)."""
        return getattr(self, "ratio_" + FIELD_OF[column])

    def table_row(self) -> dict[str, object]:
        """The row of comparison.csv: each count as 'scalesim X', 'edgesim X', then 'ratio X'."""
        row: dict[str, object] = {"run": self.run, "layer": self.layer, "m": self.m,
                                  "k": self.k, "n": self.n}
        for column in COLUMN_OF.values():
            row[f"scalesim {column}"] = self.value("scalesim", column)
            row[f"edgesim {column}"] = self.value("edgesim", column)
        for column in DRAM_COLUMNS:
            row[f"ratio {column}"] = self.ratio(column)
        return row


def edgesim_rows(reference: list[ReferenceRow]) -> list[ComparisonRow]:
    """edgesim's numbers for every reference row, from the same files SCALE-Sim read."""
    out: list[ComparisonRow] = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in RUNS:
            cfg, topo = write_inputs(run, Path(tmp))
            config = read_config(cfg)
            layers = read_topology(topo, gemm=run.mode == "gemm")
            s = simulate(config.array, Layers.of(layer.gemm for layer in layers))
            refs = [r for r in reference if r.run == run.name]
            if len(refs) != len(layers):
                raise ValueError(f"{run.name}: {len(refs)} reference rows, {len(layers)} layers")
            for i, (ref, layer) in enumerate(zip(refs, layers)):
                ours = LayerCounts(
                    total_cycles=int(s.compute_cycles[i]),
                    overall_util_pct=100 * float(s.utilization_ratio[i]),
                    mapping_efficiency_pct=100 * float(s.mapping_efficiency_ratio[i]),
                    compute_util_pct=100 * float(s.compute_utilization_ratio[i]),
                    sram_ifmap_reads=int(s.sram_ifmap_reads[i]),
                    sram_filter_reads=int(s.sram_filter_reads[i]),
                    sram_ofmap_writes=int(s.sram_ofmap_writes[i]),
                    dram_ifmap_reads=int(s.dram_ifmap_reads[i]),
                    dram_filter_reads=int(s.dram_filter_reads[i]),
                    dram_ofmap_writes=int(s.dram_ofmap_writes[i]),
                )
                theirs = ref.counts
                out.append(ComparisonRow(
                    run=run.name, layer=layer.name, m=layer.gemm.m, k=layer.gemm.k,
                    n=layer.gemm.n, scalesim=theirs, edgesim=ours,
                    **{"ratio_" + FIELD_OF[c]: round(getattr(ours, FIELD_OF[c])
                                                     / float(getattr(theirs, FIELD_OF[c])), 4)
                       for c in DRAM_COLUMNS}))
    return out


def mismatches(rows: list[ComparisonRow]) -> list[str]:
    """Every disagreement beyond the stated tolerances, one line each (empty: all agree)."""
    problems = []
    for row in rows:
        where = f"{row.run} {row.layer}"
        for key in EXACT_COLUMNS:
            ours, ref = row.value("edgesim", key), row.value("scalesim", key)
            if int(ours) != int(ref):
                problems.append(f"{where}: {key} {ours} != {ref}")
        for key in RATIO_COLUMNS:
            ours, ref = float(row.value("edgesim", key)), float(row.value("scalesim", key))
            if abs(ours - ref) > 1e-9 * max(1.0, abs(ref)):
                problems.append(f"{where}: {key} {ours} != {ref}")
        for key in DRAM_COLUMNS:
            lo, hi = DRAM_BAND[key]
            if not lo <= float(row.ratio(key)) <= hi:
                problems.append(f"{where}: {key} ratio {row.ratio(key)} outside {lo}-{hi}")
    return problems


def read_reference(path: Path) -> list[ReferenceRow]:
    """The rows of a scalesim_reference.csv (as `run_scalesim` returns them)."""
    with path.open(newline="", encoding="utf-8") as f:
        return [ReferenceRow(run=r["run"], mode=r["mode"], dataflow=r["dataflow"],
                             rows=int(r["rows"]), cols=int(r["cols"]),
                             layer_id=int(r["layer_id"]), stall_cycles=int(r["Stall Cycles"]),
                             counts=_counts(r))
                for r in csv.DictReader(f)]


def _expanded(rows: list[ComparisonRow]) -> int:
    """Rows beyond the first of each SCALE-Sim `DP` layer's per-channel expansion."""
    return sum(1 for r in rows if "Channel_" in r.layer and not r.layer.endswith("_0"))


def write_readme(out: Path, rows: list[ComparisonRow], problems: list[str], *,
                 ran_scalesim: bool) -> None:
    """The study's README: how it was made, the bands measured, a per-case summary."""
    summary = []
    for key in DRAM_COLUMNS:
        ratios = np.array([float(r.ratio(key)) for r in rows])
        lo, hi = DRAM_BAND[key]
        summary.append({"count": key, "min ratio": f"{ratios.min():.3f}",
                        "median ratio": f"{np.median(ratios):.3f}",
                        "max ratio": f"{ratios.max():.3f}", "band held": f"{lo}-{hi}"})
    exact = sum(all(int(r.value("edgesim", k)) == int(r.value("scalesim", k))
                    for k in EXACT_COLUMNS) for r in rows)
    cases = [{"run": r.run, "layer": r.layer, "M x K x N": f"{r.m}x{r.k}x{r.n}",
              "cycles (SCALE-Sim = edgesim)": r.scalesim.total_cycles,
              "SRAM ifmap/filter/ofmap": f"{r.scalesim.sram_ifmap_reads}/"
              f"{r.scalesim.sram_filter_reads}/{r.scalesim.sram_ofmap_writes}",
              "DRAM ratios i/f/o": f"{r.ratio_dram_ifmap_reads}/{r.ratio_dram_filter_reads}/"
              f"{r.ratio_dram_ofmap_writes}"}
             for r in rows if "Channel_" not in r.layer or r.layer.endswith("_0")]
    text = f"""# edgesim's systolic template against SCALE-Sim v3

Generated by `python -m accelerators.studies.scalesim_validation --out results/scalesim_validation
--scalesim-python /tmp/scalesim-venv/bin/python` (do not edit). SCALE-Sim 3.0.0 was installed
in a separate venv (`python -m venv /tmp/scalesim-venv && /tmp/scalesim-venv/bin/pip install
scalesim==3.0.0 'numpy<2.4'`); without `--scalesim-python` (and no `scalesim` in the running
interpreter) the script keeps the committed `scalesim_reference.csv` and re-checks edgesim
against it. {"This run executed SCALE-Sim." if ran_scalesim else
"This run re-checked the committed SCALE-Sim numbers."}

Cases: {len(rows) - _expanded(rows)} layer x dataflow x array cases ({len(rows)} SCALE-Sim
report rows: the `DP` depthwise layer expands into one row per channel, as SCALE-Sim does).
7 convolution layers (a 3x3, one smaller than every array, a stride-2, a pointwise, a
fully-connected, a depthwise and one larger than the SRAMs) and 2 GEMM-mode layers, in os, ws
and is on 8x8, 16x16 and 8x32 arrays with 2 kB SRAMs per operand, CALC (stall-free) mode. Both
tools read the same `.cfg` and `.csv` files (written by the script, SCALE-Sim's own format).

## Result

- Compute cycles and ifmap/filter/ofmap SRAM counts: **{exact} of {len(rows)} rows exact**
  (SCALE-Sim's report conventions on: `sim.systolic.SCALESIM_V3`). Overall utilization,
  mapping efficiency and compute utilization agree to 1e-9.
- DRAM counts (edgesim's capacity model, not SCALE-Sim's address-level buffers), as
  edgesim / SCALE-Sim:

{markdown_table(summary, list(summary[0]))}

Where they part: an ifmap that overflows its SRAM (`big`, 20x20x16) is re-read more cleverly by
SCALE-Sim's sliding window than one pass per column fold (os, is: 0.46) and less cleverly in ws
than the edgesim bound where every im2col read misses (`strided`: 1.55 means SCALE-Sim's window
still catches a third of the reuse); SCALE-Sim's OFMAP writes add up to C - 1 padded words per
layer. {"Disagreements: " + "; ".join(problems) if problems else "No disagreement beyond the bands."}

Files: `scalesim_reference.csv` (SCALE-Sim's COMPUTE and DETAILED_ACCESS report values per
row), `comparison.csv` (both tools side by side, with the DRAM ratios).

## Cases (one row per layer; depthwise shows its first channel)

{markdown_table(cases, list(cases[0]))}
"""
    write_atomic(out / "README.md", text)


def scalesim_python(explicit: str | None) -> str | None:
    """The interpreter that has SCALE-Sim: `explicit`, else this one if it can import scalesim."""
    if explicit:
        return explicit
    return sys.executable if importlib.util.find_spec("scalesim") is not None else None


COMMITTED = Path(__file__).resolve().parents[2] / "results" / "scalesim_validation"
"""The committed study folder, whose scalesim_reference.csv a run without SCALE-Sim re-checks."""


@dataclass(frozen=True)
class ValidationResult:
    """What a run found: the comparison rows, the disagreements beyond the tolerances (empty when
    all agree), and whether SCALE-Sim itself ran (else the kept reference was re-checked)."""

    rows: tuple[ComparisonRow, ...]
    problems: tuple[str, ...]
    ran_scalesim: bool


def run_study(folder: Path, *, previous: Path, python: str | None) -> ValidationResult:
    """Write the study into `folder`: SCALE-Sim's reference rows (run with `python`, or, when it
    is None, kept verbatim from `previous`/scalesim_reference.csv or else the committed one),
    the comparison table and the README."""
    reference_path = folder / "scalesim_reference.csv"
    if python is not None:
        rows = []
        with tempfile.TemporaryDirectory() as tmp:
            for run in RUNS:
                rows += run_scalesim(run, python, Path(tmp) / run.name)
        write_csv(reference_path, [r.table_row() for r in rows], REFERENCE_COLUMNS)
    else:
        kept = previous / "scalesim_reference.csv"
        source = kept if kept.exists() else COMMITTED / "scalesim_reference.csv"
        write_atomic(reference_path, source.read_bytes())  # verbatim (the committed file is CRLF)
    rows = edgesim_rows(read_reference(reference_path))
    write_csv(folder / "comparison.csv", [r.table_row() for r in rows])
    problems = mismatches(rows)
    write_readme(folder, rows, problems, ran_scalesim=python is not None)
    return ValidationResult(tuple(rows), tuple(problems), python is not None)


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scalesim-python", help="a Python interpreter with scalesim==3.0.0")


def _report(result: ValidationResult) -> list[str]:
    rows = list(result.rows)
    return [*result.problems,
            f"{len(rows)} SCALE-Sim rows ({len(rows) - _expanded(rows)} layer x dataflow x array "
            f"cases), {len(result.problems)} disagreements"]


def main(argv=None) -> int:
    """`python -m accelerators.studies.scalesim_validation --out DIR [--scalesim-python PY]`:
    0 when edgesim agrees with SCALE-Sim within the tolerances, 1 when it does not (the folder
    is written either way), 2 on a user error."""
    return study_main(
        argv, lambda folder, args: run_study(folder, previous=Path(args.out),
                                             python=scalesim_python(args.scalesim_python)),
        prog="python -m accelerators.studies.scalesim_validation",
        description=__doc__.splitlines()[0], out_example="results/scalesim_validation",
        seed=False, small=False, add_options=_options,
        report=lambda result, args: _report(result),
        status=lambda result: 1 if result.problems else 0)


if __name__ == "__main__":
    raise SystemExit(main())
