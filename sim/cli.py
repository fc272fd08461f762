"""The `edgesim` command line: list, run, trace export/show, and plug-in commands.

Every user error is an `EdgesimError`: printed on one line to stderr, exit status 2, and no
file written. A traceback is a bug.

Commands that belong to a device family (e.g. `edgesim mcu plan`) register through the
entry-point group `edgesim.commands`: each entry point is a function `register(subparsers)` that
adds its sub-parser and sets `handler=function(args, registry) -> exit status` on it. So `sim`
never imports a concrete device.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from sim.engine import Stream, simulate
from sim.export import summary_text, write_report
from sim.registry import Registry
from sim.spec import DeviceSpec, dump_yaml, json_schema, parse_assignment
from workloads import EdgesimError, Network, QuantScheme, SpecError, SparsityScheme
from workloads.compression import parse_enum

TRACE_SUFFIXES = (".json", ".yaml", ".yml")


def parse_prune(text: str) -> dict:
    """'block:0.75' or 'block:0.75:8x4' -> keyword arguments of Network.pruned."""
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise SpecError(f"--prune {text!r}: expected SCHEME:RATIO, e.g. block:0.75 or channel:0.5")
    scheme = parse_enum(SparsityScheme, parts[0], "--prune scheme")
    ratio = _number(parts[1], "--prune ratio")
    kwargs = {"scheme": scheme, "ratio": ratio}
    if len(parts) == 3:
        m = re.fullmatch(r"(\d+)x(\d+)", parts[2])
        if scheme is not SparsityScheme.BLOCK or not m:
            raise SpecError(f"--prune {text!r}: a third field is a block shape ROWSxCOLS for 'block'")
        kwargs["block_shape"] = (int(m[1]), int(m[2]))
    return kwargs


def parse_quant(text: str) -> dict:
    """Quantization spec -> keyword arguments of Network.quantized.

    fp32 | fp16 | wXaY (fixed point) | pot:wXaY (power of two) | mixed:wXaY:R (a fraction R of
    rows in power of two) | mp:wXaY:H:R (a fraction R of rows at H bits).
    """
    if text in ("fp32", "fp16"):
        return {"scheme": QuantScheme.FLOAT32 if text == "fp32" else QuantScheme.FLOAT16}
    parts = text.split(":")
    head, bits = (parts[0], parts[1]) if len(parts) > 1 else ("fixed", parts[0])
    m = re.fullmatch(r"w(\d+)a(\d+)", bits)
    schemes = {"fixed": (QuantScheme.FIXED, 2), "pot": (QuantScheme.POWER_OF_TWO, 2),
               "mixed": (QuantScheme.MIXED, 3), "mp": (QuantScheme.MULTI_PRECISION, 4)}
    if not m or head not in schemes or len(parts) != max(1, schemes[head][1] - (head == "fixed")):
        raise SpecError(
            f"--quant {text!r}: expected fp32, fp16, w8a8, pot:w4a8, mixed:w4a8:0.5 or mp:w4a8:8:0.25"
        )
    kwargs = {"scheme": schemes[head][0], "weight_bits": int(m[1]), "activation_bits": int(m[2])}
    if head == "mixed":
        kwargs["pot_ratio"] = _number(parts[2], "--quant mixed ratio")
    elif head == "mp":
        kwargs["high_bits"] = int(_number(parts[2], "--quant mp high bits"))
        kwargs["high_ratio"] = _number(parts[3], "--quant mp ratio")
    return kwargs


def _number(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise SpecError(f"{what} must be a number (got {text!r})") from None


def parse_model_args(pairs: Sequence[str]) -> dict:
    """['width=0.5', 'resolution=160', 'name=x'] -> {'width': 0.5, 'resolution': 160, 'name': 'x'}."""
    kwargs = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SpecError(f"--arg {pair!r}: expected KEY=VALUE, e.g. --arg resolution=160")
        for convert in (int, float):
            try:
                kwargs[key] = convert(value)
                break
            except ValueError:
                continue
        else:
            kwargs[key] = value
    return kwargs


def load_network(registry: Registry, what: str, model_args: dict) -> Network:
    """A model name from the registry, or a trace (.json/.yaml) or ONNX (.onnx) file."""
    path = Path(what)
    if path.suffix.lower() in TRACE_SUFFIXES + (".onnx",):
        if model_args:
            raise SpecError("--arg applies to zoo models, not to trace or ONNX files")
        if path.suffix.lower() == ".onnx":
            from workloads.onnx_import import load_onnx

            return load_onnx(path)
        from workloads.trace import load

        return load(path)
    if path.exists() or "/" in what:
        raise SpecError(
            f"{what!r} is neither a model name nor a trace file; traces end in "
            f"{', '.join(TRACE_SUFFIXES + ('.onnx',))}"
        )
    return registry.workload(what, **model_args)


def transform(network: Network, args: argparse.Namespace) -> Network:
    """Apply --prune, --quant and --fuse, in that order."""
    for spec in args.prune or ():
        network = network.pruned(**parse_prune(spec))
    if args.quant:
        network = network.quantized(**parse_quant(args.quant))
    if args.fuse:
        network = network.fused()
    return network


def _cmd_list(args, registry: Registry) -> int:
    sections = ["workloads", "devices"] if args.what == "all" else [args.what]
    for section in sections:
        print("models:" if section == "workloads" else "devices:")
        rows = registry.describe(section)
        width = max((len(n) for n, _ in rows), default=0)
        for name, text in rows:
            print(f"  {name:<{width}}  {text}")
    return 0


def add_device_args(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    """`--device NAME|FILE.yaml` and repeatable `--set KEY=VALUE`, for any command taking a device."""
    p.add_argument("--device", required=required, metavar="NAME|FILE",
                   help="device name (see `edgesim list`) or a YAML device file")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                   help="override a device field, dotted keys, e.g. --set dram_bytes_per_s=30e9 "
                        "(repeat; `edgesim device show NAME` lists the fields)")


def device_from_args(registry: Registry, args: argparse.Namespace):
    """The device `--device` and `--set` name."""
    overrides = dict(parse_assignment(text) for text in getattr(args, "overrides", ()))
    return registry.resolve_device(args.device, overrides)


def _cmd_device(args, registry: Registry) -> int:
    import json

    if args.action == "schema":
        if not args.what:
            names = sorted(registry.families)
            raise SpecError(f"device schema needs a FAMILY, one of: {', '.join(names)}")
        print(json.dumps(json_schema(registry.family(args.what)), indent=2))
        return 0
    if not args.what:
        raise SpecError("device show needs a device NAME or FILE (see `edgesim list devices`)")
    args.device = args.what
    spec = getattr(device_from_args(registry, args), "spec", None)
    if not isinstance(spec, DeviceSpec):
        raise SpecError(f"device {args.what!r} has no declarative spec to show")
    sys.stdout.write(dump_yaml(spec))
    return 0


def _cmd_run(args, registry: Registry) -> int:
    device = device_from_args(registry, args)
    network = transform(load_network(registry, args.model, parse_model_args(args.arg)), args)
    if args.fps is not None and not args.fps > 0:
        raise SpecError(f"--fps must be > 0 (got {args.fps})")
    if args.frames < 1:
        raise SpecError(f"--frames must be >= 1 (got {args.frames})")
    if args.frames > 1 and args.fps is None:
        raise SpecError("--frames > 1 needs --fps (the release rate)")
    stream = Stream(
        network=network,
        target=args.target or "",
        period_s=1.0 / args.fps if args.fps else 0.0,
        n_frames=args.frames,
        deadline_s=args.deadline_ms * 1e-3 if args.deadline_ms else float("inf"),
    )
    report = simulate(stream, device, seed=args.seed)
    print(f"{'network':<18}{network.name}  ({len(network)} ops)")
    print(summary_text(report))
    if args.out:
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", network.name.split("/")[0])
        for path in write_report(report, args.out, stem=stem):
            print(f"wrote {path}")
    return 0


def _cmd_trace(args, registry: Registry) -> int:
    from workloads.trace import save

    network = transform(load_network(registry, args.model, parse_model_args(args.arg)), args)
    if args.action == "export":
        if not args.output:
            raise SpecError("trace export needs -o FILE (.json or .yaml)")
        save(network, args.output)
        print(f"wrote {args.output} ({len(network)} ops)")
        return 0
    s = network.summary()
    print(f"{network.name}: {s.n_ops} ops, {s.macs / 1e9:.4g} GMACs "
          f"({s.effective_macs / 1e9:.4g} effective), {s.params / 1e6:.4g} M params, "
          f"weights {s.weight_bytes / 1024:.1f} kB, activation peak {s.activation_peak_bytes / 1024:.1f} kB")
    print(f"{'op':<40}{'kind':<15}{'output':<22}{'MACs':>14}  compression")
    for op in network.ops:
        print(f"{op.name[:39]:<40}{op.kind.value:<15}{str(op.output_shape):<22}"
              f"{op.effective_macs:>14,}  {op.compression.label()}")
    return 0


def _cmd_compare(args, registry: Registry) -> int:
    import shlex

    from sim import compare

    rows = compare.compare(registry, args.model, args.setting,
                           [compare.DeviceChoice.parse(d) for d in args.device], seed=args.seed)
    for r in rows:
        where = f"{r['device']}:{r['target']}"
        result = r["error"] or (f"{r['latency_ms']:>10.3f} ms {r['energy_per_inference_mj']:>10.3f} mJ "
                                f"{r['inferences_per_j']:>9.1f} /J")
        print(f"{r['model']:<14}{r['setting']:<24}{where:<26}{result}")
    if args.out:
        parts = ["edgesim compare"]
        parts += [f"--model {shlex.quote(m)}" for m in args.model]
        parts += [f"--setting {shlex.quote(s)}" for s in args.setting]
        parts += [f"--device {shlex.quote(d)}" for d in args.device]
        parts.append(f"--out {shlex.quote(args.out)}")
        for path in compare.write(rows, Path(args.out), " ".join(parts)):
            print(f"wrote {path}")
    return 0


def _add_transform_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model name (see `edgesim list`) or trace file (.json/.yaml/.onnx)")
    p.add_argument("--arg", action="append", default=[], metavar="KEY=VALUE",
                   help="model builder argument, e.g. --arg width=0.5 --arg resolution=160")
    p.add_argument("--prune", action="append", metavar="SCHEME:RATIO",
                   help="unstructured|pattern|block|channel:RATIO, e.g. block:0.75")
    p.add_argument("--quant", metavar="SPEC",
                   help="fp32, fp16, w8a8, pot:w4a8, mixed:w4a8:0.5, mp:w4a8:8:0.25")
    p.add_argument("--fuse", action="store_true", help="fuse ops with the elementwise ops after them")


COMMAND_GROUP = "edgesim.commands"


def build_parser(extra_commands: Sequence = ()) -> argparse.ArgumentParser:
    """The parser; `extra_commands` are `register(subparsers)` functions of plug-in commands."""
    parser = argparse.ArgumentParser(
        prog="edgesim",
        description="Latency and energy of compressed neural networks on edge hardware.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="list installed models and devices")
    p.add_argument("what", nargs="?", default="all", choices=["all", "workloads", "devices"])
    p = sub.add_parser("run", help="simulate a model on a device and print a summary")
    _add_transform_args(p)
    add_device_args(p)
    p.add_argument("--target", help="unit of the device (default: its first)")
    p.add_argument("--fps", type=float, help="run as a periodic stream at this rate")
    p.add_argument("--frames", type=int, default=1, help="frames to run (with --fps)")
    p.add_argument("--deadline-ms", type=float, help="per-frame deadline, ms")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", help="directory for report.csv, report.json and a Perfetto trace")
    p = sub.add_parser("trace", help="export a model as a trace file, or show one")
    p.add_argument("action", choices=["export", "show"])
    _add_transform_args(p)
    p.add_argument("-o", "--output", help="trace file to write (.json or .yaml)")
    p = sub.add_parser("compare", help="run models x compression settings x devices, one table")
    p.add_argument("--model", action="append", required=True, help="model name (repeat)")
    p.add_argument("--setting", action="append", required=True,
                   help="'+'-joined transforms, e.g. fp32, w8a8, block:0.75+w8a8+fuse (repeat)")
    p.add_argument("--device", action="append", required=True,
                   help="NAME, FILE.yaml, NAME:TARGET or FILE.yaml:TARGET (repeat)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="directory for compare.csv, README.md, compare.png")
    p = sub.add_parser("device", help="show a device's resolved spec as YAML, or a family's schema")
    p.add_argument("action", choices=["show", "schema"])
    p.add_argument("what", nargs="?", metavar="NAME|FILE|FAMILY",
                   help="show: a device name or file; schema: a family name")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                   help="override a field before showing it (repeat)")
    p = sub.add_parser("sweep", help="design-space sweep: models x settings x devices and parameters")
    p.set_defaults(handler=_cmd_sweep)
    p.add_argument("spec", help="sweep spec (YAML; see examples/sweeps/)")
    p.add_argument("--out", help="folder for sweep.sqlite (resumable), results.csv, pareto.csv, plots")
    p.add_argument("--workers", type=int, help="local worker processes (default: all cores)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on an existing Dask cluster")
    p.add_argument("--dask-local", type=int, metavar="N", help="start a local Dask cluster of N workers")
    p.add_argument("--pareto", help="2 or 3 metrics to minimise, e.g. latency_s,energy_j,area_mm2")
    p.add_argument("--yes", action="store_true", help="run sweeps of more than a million points")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    for register in extra_commands:
        register(sub)
    return parser


def _cmd_sweep(args, registry: Registry) -> int:
    from sim.sweep import command

    return command(args, registry)


BUILTIN_COMMANDS = ("list", "run", "trace", "compare", "device", "sweep")


def plugin_commands(argv: Sequence[str] | None = None) -> list:
    """The `register` functions of the installed `edgesim.commands` entry points.

    Only the one `argv` calls is imported (its module may pull in PyRTL or scipy.spatial,
    which a phone run should not pay for), none for a built-in command, and all of them when
    `argv` names no command (`edgesim --help`, a typo), so the help and the error list every
    command. An entry point's name is its command's name.
    """
    from importlib import metadata

    eps = sorted(metadata.entry_points(group=COMMAND_GROUP), key=lambda e: e.name)
    command = next((a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-")), None)
    if command in BUILTIN_COMMANDS:
        return []
    called = [ep for ep in eps if ep.name == command]
    return [ep.load() for ep in (called or eps)]


def main(
    argv: Sequence[str] | None = None,
    registry: Registry | None = None,
    commands: Sequence | None = None,
) -> int:
    """Run the CLI; `registry` and `commands` default to the installed entry points."""
    args = build_parser(plugin_commands(argv) if commands is None else commands).parse_args(argv)
    registry = registry or Registry.from_entry_points()
    builtin = {"list": _cmd_list, "run": _cmd_run, "trace": _cmd_trace, "compare": _cmd_compare,
               "device": _cmd_device}
    handler = builtin.get(args.command) or args.handler
    try:
        return handler(args, registry)
    except EdgesimError as err:
        # A spec file's problems are reported all at once, one complete error line each.
        for line in str(err).splitlines() or [""]:
            print(f"edgesim: error: {line}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
