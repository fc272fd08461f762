"""`edgesim rtl export`: write the Verilog of a configured GEMM tile, with its resource counts.

The analytic estimate is for a part: `--part NAME|FILE` (a part preset or part file), or the
part of an FPGA device, `--device NAME|FILE [--set KEY=VALUE ...]` (e.g. `--device fpga-zcu102
--set part=xc7z045`).

Registered through the `edgesim.commands` entry-point group (`register`). The handler raises
EdgesimError subclasses for bad input, which the CLI prints on one line with exit status 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from accelerators.fpga.parts import FpgaPartSpec, load_part
from accelerators.fpga.resources import tile_resources
from accelerators.fpga.rtl.netlist import netlist_counts, verilog_text
from accelerators.fpga.rtl.tile import TileSpec, build_tile
from sim.cli import add_device_args, device_from_args
from sim.export import write_atomic
from workloads import SpecError


def register(subparsers) -> None:
    """Add the `rtl` command (action `export`) to the edgesim sub-parsers."""
    p = subparsers.add_parser("rtl", help="FPGA GEMM tile RTL: export Verilog")
    p.add_argument("action", choices=["export"])
    p.add_argument("--rows", type=int, default=8, help="tile rows (default 8)")
    p.add_argument("--cols", type=int, default=8, help="tile columns / reduction lanes (default 8)")
    p.add_argument("--weight-bits", type=int, default=4, help="low-precision weight bits (default 4)")
    p.add_argument("--act-bits", type=int, default=8, help="activation bits (default 8)")
    p.add_argument("--pot-rows", type=int, default=0, help="rows of power-of-two PEs (default 0)")
    p.add_argument("--high-rows", type=int, default=0, help="rows at --high-bits (default 0)")
    p.add_argument("--high-bits", type=int, default=8, help="bits of the high rows (default 8)")
    p.add_argument("--acc-bits", type=int, default=0, help="accumulator bits (0: automatic)")
    p.add_argument("--out-shift", type=int, default=0, help="output right shift (default 0)")
    p.add_argument("--part", help="part preset or part file for the analytic estimate "
                                  "(default xc7z020, or the part of --device)")
    add_device_args(p, required=False)
    p.add_argument("-o", "--output", help="Verilog file to write (.v)")
    p.set_defaults(handler=_cmd_rtl)


def _cmd_rtl(args: argparse.Namespace, registry) -> int:
    if not args.output:
        raise SpecError("rtl export needs -o FILE.v")
    if Path(args.output).suffix not in (".v", ".sv"):
        raise SpecError(f"rtl export writes Verilog: -o must end in .v (got {args.output!r})")
    spec = TileSpec(rows=args.rows, cols=args.cols, weight_bits=args.weight_bits,
                    act_bits=args.act_bits, pot_rows=args.pot_rows, high_rows=args.high_rows,
                    high_bits=args.high_bits, acc_bits=args.acc_bits, out_shift=args.out_shift)
    part = _part(args, registry)
    circuit = build_tile(spec)
    text = verilog_text(circuit)
    counts = netlist_counts(circuit.block)
    estimate = tile_resources(spec, part.dsp_primitive)
    write_atomic(args.output, text)
    print(f"wrote {args.output} (tile {spec.label}, acc {spec.acc_bits} bits, "
          f"{len(text.splitlines())} lines)")
    print(f"netlist: {counts.n_multipliers} multipliers, {counts.n_register_bits} register bits, "
          f"{counts.n_adder_bits} adder bits, {counts.n_mux_bits} mux bits")
    print(f"analytic ({part.name}): {estimate.n_dsp} DSP, {estimate.n_lut} LUT, "
          f"{estimate.n_ff} FF")
    return 0


def _part(args: argparse.Namespace, registry) -> FpgaPartSpec:
    """The part `--part` names, or that of the FPGA device `--device` (with `--set`) names."""
    if args.device is None:
        if args.overrides:
            raise SpecError("rtl export: --set changes a --device; give --device too")
        return load_part(args.part or "xc7z020")
    if args.part is not None:
        raise SpecError("rtl export: give --part or --device, not both")
    device = device_from_args(registry, args)
    part = getattr(getattr(device, "spec", None), "part", None)
    if not isinstance(part, FpgaPartSpec):
        raise SpecError(f"rtl export: --device {args.device!r} is not an FPGA device "
                        "(`edgesim list devices` shows the fpga-* ones)")
    return part
