"""Study: the cycle-accurate GEMM tiles: verification, resources (analytic vs Yosys), sim speed.

For each configured tile: (1) a seeded random run on PyRTL's simulator checked bit for bit
against the numpy reference, and its cycle count against `timing.tile_cycles`; (2) resources
from the PyRTL netlist, from the analytic model (`resources.tile_resources`, 7-series, as the
RTL is written: LUT adder trees, no DSP packing) and, when Yosys is installed, from
`synth_xilinx -family xc7`; (3) simulated cycles per second.

    python -m accelerators.studies.fpga_rtl --out results/fpga_rtl
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from accelerators.fpga.parts import DspPrimitive
from accelerators.fpga.resources import tile_resources
from accelerators.fpga.rtl.netlist import netlist_counts, synthesize, verilog_text, yosys_available
from accelerators.fpga.rtl.reference import random_case, reference_tile
from accelerators.fpga.rtl.simulate import make_simulator
from accelerators.fpga.rtl.tile import TileSpec, build_tile
from accelerators.fpga.timing import tile_cycles
from accelerators.studies.fpga_common import FLOAT_FORMAT, plot
from sim.export import write_atomic
from sim.study import study_main
from sim.tables import markdown_table, output_dir, write_csv

TILES = (
    TileSpec(rows=4, cols=4, weight_bits=8, act_bits=8, out_shift=6),
    TileSpec(rows=4, cols=4, weight_bits=4, act_bits=8, pot_rows=4, out_shift=4),
    TileSpec(rows=8, cols=8, weight_bits=4, act_bits=8, out_shift=5),
    TileSpec(rows=8, cols=8, weight_bits=4, act_bits=8, pot_rows=8, out_shift=5),
    TileSpec(rows=8, cols=8, weight_bits=4, act_bits=8, pot_rows=4, out_shift=5),
    TileSpec(rows=8, cols=8, weight_bits=4, act_bits=4, pot_rows=3, high_rows=1, high_bits=8,
             out_shift=5),
)
SMALL_TILES = TILES[:2]
SEED = 2024


@dataclasses.dataclass(frozen=True, kw_only=True)
class VerifyRow:
    """One tile's seeded run on PyRTL's simulator (a row of verification.csv): whether its
    outputs match the numpy reference bit for bit, its cycles against `tile_cycles`, and the
    simulator's speed on a longer run."""

    tile: str
    simulator: str
    k: int
    n_tiles: int
    bit_exact: bool
    saturated_outputs: int
    rtl_cycles: int
    analytic_cycles: int
    cycles_match: bool
    sim_cycles_per_s: float


@dataclasses.dataclass(frozen=True, kw_only=True)
class YosysCounts:
    """Yosys `synth_xilinx -family xc7` resources of one tile, and the analytic model over them."""

    yosys_dsp: int
    yosys_lut: int
    yosys_ff: int
    yosys_carry4: int
    lut_analytic_over_yosys: float
    ff_analytic_over_yosys: float


@dataclasses.dataclass(frozen=True, kw_only=True)
class ResourceRow:
    """One tile's resources (a row of resources.csv): PyRTL netlist counts, the analytic model's
    DSP/LUT/FF, and Yosys's counts when it ran (`yosys` is None when synthesis was skipped)."""

    tile: str
    acc_bits: int
    netlist_multipliers: int
    netlist_register_bits: int
    analytic_dsp: int
    analytic_lut: int
    analytic_ff: int
    yosys: YosysCounts | None = None

    def table_row(self) -> dict:
        """The CSV/Markdown row: the counts, then the yosys_* columns only when Yosys ran."""
        row = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "yosys"}
        if self.yosys is not None:
            row.update(dataclasses.asdict(self.yosys))
        return row


@dataclasses.dataclass(frozen=True)
class RtlResult:
    """What the study found: one verification and one resource row per tile, and the messages
    (synthesis skipped, plots written) the command prints."""

    verify: tuple[VerifyRow, ...]
    resources: tuple[ResourceRow, ...]
    messages: tuple[str, ...]


def run(out: str | Path, *, small: bool = False, synth: bool = True, plots: bool = True) -> RtlResult:
    """Run the study into `out`; `small` checks two 4x4 tiles without synthesis."""
    out = output_dir(out)
    rng = np.random.default_rng(SEED)
    tiles = SMALL_TILES if small else TILES
    do_synth = synth and not small and yosys_available()
    verify, resources = [], []
    for spec in tiles:
        circuit = build_tile(spec)
        sim = make_simulator(circuit)
        k, n_tiles = 3 * spec.cols + 1, 6
        case = random_case(spec, k=k, n_tiles=n_tiles, rng=rng)
        result = sim.run(case)
        expected = reference_tile(spec, case.acts, case.codes)
        analytic_cycles = tile_cycles(spec.rows, spec.cols, k, n_tiles)
        # Speed: a long run (its inputs built before the clock starts).
        long_case = random_case(spec, k=spec.cols * 16, n_tiles=64, rng=rng)
        start = time.perf_counter()
        long_run = sim.run(long_case)
        elapsed = time.perf_counter() - start
        verify.append(VerifyRow(
            tile=spec.label, simulator=result.simulator, k=k, n_tiles=n_tiles,
            bit_exact=bool(np.array_equal(result.outputs, expected)),
            saturated_outputs=int(np.sum(np.abs(expected) == (1 << (spec.act_bits - 1)))),
            rtl_cycles=result.cycles, analytic_cycles=analytic_cycles,
            cycles_match=result.cycles == analytic_cycles,
            sim_cycles_per_s=long_run.cycles / elapsed,
        ))
        counts = netlist_counts(circuit.block)
        estimate = tile_resources(spec, DspPrimitive.DSP48E1)
        yosys = None
        if do_synth:
            report = synthesize(verilog_text(circuit), family="xc7")
            yosys = YosysCounts(
                yosys_dsp=report.n_dsp, yosys_lut=report.n_lut, yosys_ff=report.n_ff,
                yosys_carry4=report.n_carry,
                lut_analytic_over_yosys=round(estimate.n_lut / max(1, report.n_lut), 3),
                ff_analytic_over_yosys=round(estimate.n_ff / max(1, report.n_ff), 3))
        resources.append(ResourceRow(
            tile=spec.label, acc_bits=spec.acc_bits,
            netlist_multipliers=counts.n_multipliers,
            netlist_register_bits=counts.n_register_bits,
            analytic_dsp=estimate.n_dsp, analytic_lut=estimate.n_lut,
            analytic_ff=estimate.n_ff, yosys=yosys))
    verify_table = [dataclasses.asdict(r) for r in verify]
    resource_table = [r.table_row() for r in resources]
    write_csv(out / "verification.csv", verify_table, float_format=FLOAT_FORMAT)
    write_csv(out / "resources.csv", resource_table, float_format=FLOAT_FORMAT)
    messages = []
    if not do_synth:
        messages.append("synthesis skipped: " + ("small run" if small else
                                                  "yosys is not installed (apt-get install yosys)"))
    if plots and do_synth:
        messages.append(plot(out / "resources.png", lambda plt: _bars(plt, resources)))
    write_atomic(out / "README.md", _readme(verify_table, resource_table, do_synth, small,
                                            resources))
    return RtlResult(tuple(verify), tuple(resources), tuple(messages))


def _bars(plt, rows: list[ResourceRow]):
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    names = [r.tile for r in rows]
    x = np.arange(len(rows))
    for ax, what in zip(axes, ("lut", "ff")):
        ax.bar(x - 0.2, [getattr(r, f"analytic_{what}") for r in rows], 0.4, label="analytic model")
        ax.bar(x + 0.2, [getattr(r.yosys, f"yosys_{what}") for r in rows], 0.4,
               label="Yosys synth_xilinx xc7")
        ax.set_xticks(x)
        ax.set_xticklabels(names, rotation=30, ha="right", fontsize=7)
        ax.set_ylabel(f"{what.upper()}s per tile")
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("GEMM tiles: analytic resource model vs Yosys synthesis (7-series)", fontsize=9)
    return fig


def _readme(verify: list[dict], resources: list[dict], synthesized: bool, small: bool,
            rows: list[ResourceRow]) -> str:
    """The study's README.md: the two tables as written to CSV, and sentences drawn from `rows`."""
    note = "\n**Small test run (no synthesis); not the study's figures.**\n" if small else ""
    synth_note = ("Yosys 0.23 `synth_xilinx -family xc7` counts are in the yosys_* columns."
                  if synthesized else "Yosys was not run, so there are no synthesis columns.")
    return f"""# FPGA RTL study: cycle-accurate GEMM tiles
{note}
Generated by `python -m accelerators.studies.fpga_rtl --out results/fpga_rtl` (do not edit).

Tiles are PyRTL netlists (accelerators/fpga/rtl/tile.py) simulated with PyRTL's
CompiledSimulation (FastSimulation as fallback). Labels: rows x cols, wXaY bit-widths,
potN = N power-of-two rows, w8xN = N rows at 8 bits.

## Verification (verification.csv): bit-exact vs numpy, cycles vs `tile_cycles`

{markdown_table(verify, list(verify[0]), float_format=FLOAT_FORMAT)}

## Resources (resources.csv)

{synth_note} The analytic model is the one the accelerator's allocator uses, applied to the
tile as written (LUT adder trees for every row, one DSP per fixed-point product, no packing).

{markdown_table(resources, list(resources[0]), float_format=FLOAT_FORMAT)}

## Reading the numbers

{_observations(rows) if synthesized else "No synthesis: nothing to compare."}
"""


def _observations(rows: list[ResourceRow]) -> str:
    """Sentences computed from the resource table (so they stay true when it changes)."""
    pot_only = [r for r in rows if "pot" in r.tile and r.analytic_dsp == 0]
    with_dsp = [r for r in rows if r.analytic_dsp > 0]
    lines = []
    if pot_only:
        lut = [r.yosys.lut_analytic_over_yosys for r in pot_only]
        ff = [r.yosys.ff_analytic_over_yosys for r in pot_only]
        lines.append(
            f"- Power-of-two-only tiles: analytic/Yosys LUTs {min(lut):.2f}-{max(lut):.2f}, "
            f"flip-flops {min(ff):.2f}-{max(ff):.2f}. The shift-mux and adder-tree rules hold.")
    if with_dsp:
        ff = [r.yosys.ff_analytic_over_yosys for r in with_dsp]
        lut = [r.yosys.lut_analytic_over_yosys for r in with_dsp]
        lines.append(
            f"- Tiles with fixed-point rows: analytic/Yosys flip-flops {min(ff):.2f}-{max(ff):.2f}"
            f" and LUTs {min(lut):.2f}-{max(lut):.2f}. Yosys absorbs the product registers into "
            "the DSP48E1 M registers and merges the first adds into the DSP post-adders, which "
            "the accelerator model assumes (DSP rows cost no fabric adder tree) but this "
            "as-written estimate does not.")
    low = [r for r in rows if r.yosys.yosys_dsp < r.analytic_dsp]
    for r in low:
        lines.append(
            f"- {r.tile}: Yosys used {r.yosys.yosys_dsp} DSPs for {r.analytic_dsp} products; "
            "it maps small (4-bit) multipliers to LUTs, so LUTs exceed the estimate there.")
    return "\n".join(lines)


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-synth", action="store_true", help="skip Yosys")


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m accelerators.studies.fpga_rtl --out DIR [--small] [--no-synth] [--no-plots]`:
    exit status."""
    return study_main(
        argv, lambda out, args: run(out, small=args.small, synth=not args.no_synth,
                                    plots=not args.no_plots),
        prog="python -m accelerators.studies.fpga_rtl", description=__doc__.splitlines()[0],
        out_example="results/fpga_rtl", seed=False, plots=True,
        small_help="two 4x4 tiles, no synthesis", add_options=_options,
        report=lambda result, args: _summary_lines(result))


def _summary_lines(result: RtlResult) -> list[str]:
    return [*result.messages,
            *(f"{row.tile}: bit_exact={row.bit_exact} cycles {row.rtl_cycles} "
              f"(analytic {row.analytic_cycles}), {row.sim_cycles_per_s:.3g} cycles/s"
              for row in result.verify)]


if __name__ == "__main__":
    sys.exit(main())
