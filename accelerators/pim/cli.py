"""`edgesim pim map`: how a network's layers sit on a PIM chip's crossbars, and whether they fit.

Registered through the entry-point group `edgesim.commands` (`register`). `--device` takes a
pim device name or a pim device file, `--set KEY=VALUE` overrides its fields (e.g.
`--set n_crossbars=4096`). Prints one row per
conv/linear layer (GEMM shape, crossbars, ADC conversions per inference) and the chip's
utilisation; a network that does not fit raises DoesNotFitError (printed by the CLI, exit 2).
"""

from __future__ import annotations

import argparse

from accelerators.pim.device import PimDevice
from sim.cli import add_device_args, device_from_args, load_network, parse_model_args, transform
from workloads import SpecError


def _cmd_map(args: argparse.Namespace, registry) -> int:
    device = device_from_args(registry, args)
    if not isinstance(device, PimDevice):
        raise SpecError(f"device {device.name!r} is not a PIM crossbar device; pick a pim-* "
                        "device or a pim device file")
    network = transform(load_network(registry, args.model, parse_model_args(args.arg)), args)
    plan = device.plan(network)
    print(f"{network.name} on {device.name}: {plan.n_crossbars} of {plan.capacity} crossbars "
          f"({100 * plan.utilization_ratio:.1f} %)")
    print(f"{'layer':<28}{'groups':>7}{'M':>8}{'K':>7}{'N':>6}{'crossbars':>11}{'conversions':>14}")
    for layer in plan.layers:
        g = layer.gemm
        print(f"{layer.name[:27]:<28}{g.groups:>7}{g.m:>8}{g.k:>7}{g.n:>6}{layer.n_crossbars:>11}"
              f"{layer.conversions:>14,}")
    return 0


def register(subparsers) -> None:
    """Add `edgesim pim map MODEL [--device NAME|FILE] [--set KEY=VALUE ...]` to the CLI."""
    pim = subparsers.add_parser("pim", help="PIM crossbar accelerator tools")
    sub = pim.add_subparsers(dest="pim_command", required=True)
    p = sub.add_parser("map", help="map a network's layers onto a PIM chip's crossbars")
    p.add_argument("model", help="model name or trace file")
    p.add_argument("--arg", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--prune", action="append", metavar="SCHEME:RATIO")
    p.add_argument("--quant", metavar="SPEC", help="e.g. w8a8")
    p.add_argument("--fuse", action="store_true")
    add_device_args(p, required=False)
    p.set_defaults(handler=_cmd_map, device="pim-isaac")  # --device defaults to the ISAAC chip
