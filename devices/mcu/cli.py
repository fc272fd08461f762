"""`edgesim mcu plan MODEL --device NAME|FILE [--set KEY=VALUE]`: does a model fit an MCU, and how.

`--device` is an mcu device name or an mcu device file; `--set` overrides its fields (e.g.
`--set sram_bytes=524288`). Prints the per-layer SRAM (live activations, scratch, total) and
flash of the deployed graph, the peaks, whether it fits, and the best patch-based schedule.
Exit status 0 when the model fits (layer by layer or with the patch schedule), 1 when it does
not, 2 on bad input.
Registered through the ``edgesim.commands`` entry point `devices.mcu.cli:register`.
"""

from __future__ import annotations

import argparse

from devices.mcu.memory import plan
from devices.mcu.patch import DEFAULT_MAX_LATENCY_OVERHEAD, patch_plan
from devices.mcu.device import FAMILY, McuDevice
from devices.mcu.spec import KB
from sim.cli import add_device_args, device_from_args, load_network, parse_model_args
from workloads import SpecError


def register(subparsers) -> None:
    """Add the `mcu` command (action `plan`) to the edgesim CLI."""
    p = subparsers.add_parser("mcu", help="microcontroller memory planning (SRAM, flash, patches)")
    p.add_argument("action", choices=["plan"], help="plan: per-layer SRAM/flash, fit, patches")
    p.add_argument("model", help="model name (see `edgesim list`) or trace file (.json/.yaml/.onnx)")
    p.add_argument("--arg", action="append", default=[], metavar="KEY=VALUE",
                   help="model builder argument, e.g. --arg width=0.35 --arg resolution=144")
    add_device_args(p)
    p.add_argument("--max-latency-overhead", type=float, default=DEFAULT_MAX_LATENCY_OVERHEAD,
                   metavar="RATIO",
                   help="latency budget of the patch planner, e.g. 0.3 for +30%% (default 0.3)")
    p.add_argument("--layers", action="store_true", help="print every layer (default: top 12)")
    p.set_defaults(handler=_cmd_plan)


def _kb(n_bytes: float) -> str:
    return f"{n_bytes / KB:9.1f}"


def _cmd_plan(args: argparse.Namespace, registry) -> int:
    device = device_from_args(registry, args)
    if not isinstance(device, McuDevice):
        raise SpecError(f"device {device.name!r} is not a microcontroller; `mcu plan` takes an "
                        f"mcu device ({', '.join(FAMILY.preset_names())}) or an mcu device file")
    spec = device.spec
    if args.max_latency_overhead is None or not args.max_latency_overhead >= 0:
        raise SpecError(f"--max-latency-overhead must be >= 0 (got {args.max_latency_overhead})")
    network = load_network(registry, args.model, parse_model_args(args.arg))
    mem = plan(network, spec)
    patches = patch_plan(network, spec, max_latency_overhead=args.max_latency_overhead)
    print(f"{network.name} on {spec.name}: {spec.freq_hz / 1e6:g} MHz, SRAM {spec.sram_bytes / KB:.0f} kB, "
          f"flash {spec.flash_bytes / KB:.0f} kB (int8 deployment, kB = 1024 B)")
    rows = list(mem.rows)
    shown = rows if args.layers else sorted(rows, key=lambda r: -r.total_bytes)[:12]
    order = {r.name: i for i, r in enumerate(rows)}
    shown = sorted(shown, key=lambda r: order[r.name])
    title = "layers" if args.layers else "the 12 layers with the most SRAM"
    print(f"{title} (kB):")
    print(f"  {'op':<44}{'kernel':<16}{'activ.':>9}{'scratch':>9}{'total':>9}{'flash':>9}")
    for r in shown:
        print(f"  {r.name[:43]:<44}{r.kernel:<16}{_kb(r.activation_bytes)}{_kb(r.scratch_bytes)}"
              f"{_kb(r.total_bytes)}{_kb(r.flash_bytes)}")
    print(f"peak SRAM      {mem.peak_bytes / KB:.1f} kB at {mem.peak_op!r} "
          f"(activations {mem.peak_activation_bytes / KB:.1f} kB, reserve "
          f"{spec.runtime_reserve_bytes / KB:.1f} kB) of {spec.sram_bytes / KB:.1f} kB")
    saved_bytes = mem.network_peak_activation_bytes - mem.peak_activation_bytes
    print(f"in place       saves {saved_bytes / KB:.1f} kB of the network's "
          f"{mem.network_peak_activation_bytes / KB:.1f} kB activation peak (`edgesim run` at int8)")
    print(f"flash          {mem.flash_bytes / KB:.1f} kB (parameters {mem.weight_flash_bytes / KB:.1f} kB "
          f"+ code {mem.code_flash_bytes / KB:.1f} kB) of {spec.flash_bytes / KB:.1f} kB")
    if mem.fits:
        print("fits           yes, layer by layer")
    else:
        print(f"fits           NO, layer by layer: {mem.overflow_message()}")
    print(f"patch plan     {patches.describe()}")
    if not mem.fits_sram:
        if patches.best is not None and patches.fits_sram:
            print(f"               SRAM fits with patch-based inference "
                  f"({patches.peak_bytes / KB:.1f} kB <= {spec.sram_bytes / KB:.1f} kB)")
        else:
            print(f"               patching needs {patches.peak_bytes / KB:.1f} kB, still "
                  f"{(patches.peak_bytes - spec.sram_bytes) / KB:.1f} kB over; shrink the model "
                  "or its resolution, or raise --max-latency-overhead")
    fits = mem.fits or (mem.fits_flash and patches.fits_sram)
    return 0 if fits else 1
