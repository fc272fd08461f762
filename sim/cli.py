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
import math
import os
import re
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from sim.device import planned_for
from sim.engine import Stream, simulate
from sim.export import binary_size, summary_text, write_report
from sim.registry import PluginError, Registry, call_plugin, describe_entry_point
from sim.spec import DeviceSpec, dump_yaml, json_schema, parse_assignment
from workloads import EdgesimError, Network, SpecError
from sim.networks import TRACE_SUFFIXES, load_network, parse_model_args
from workloads.settings import parse_prune, parse_quant

def transform(network: Network, args: argparse.Namespace) -> Network:
    """Apply --prune, --quant and --fuse, in that order."""
    for spec in args.prune or ():
        network = network.pruned(**parse_prune(spec))
    if args.quant is not None:  # '' is an error, not "no quantization"
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
    # Flags first: they are cheap to check and a bad one should not wait for a model build.
    if args.fps is not None and not (math.isfinite(args.fps) and args.fps > 0):
        raise SpecError(f"--fps must be > 0 and finite (got {args.fps})")
    if args.frames < 1:
        raise SpecError(f"--frames must be >= 1 (got {args.frames})")
    if args.frames > 1 and args.fps is None:
        raise SpecError("--frames > 1 needs --fps (the release rate)")
    if args.deadline_ms is not None and not (math.isfinite(args.deadline_ms) and args.deadline_ms > 0):
        raise SpecError(f"--deadline-ms must be > 0 and finite (got {args.deadline_ms})")
    device = device_from_args(registry, args)
    model_args = parse_model_args(args.arg)
    network = transform(load_network(registry, args.model, model_args, name=args.name,
                                     batch=args.batch), args)
    stream = Stream(
        network=network,
        target=args.target or "",
        period_s=1.0 / args.fps if args.fps is not None else 0.0,
        n_frames=args.frames,
        deadline_s=args.deadline_ms * 1e-3 if args.deadline_ms is not None else float("inf"),
        model_args=model_args,
    )
    device = call_plugin(planned_for, lambda: f"device {device.name!r} for_network()", device,
                         network, stream.target or device.targets[0])
    report = simulate(stream, device, seed=args.seed)
    print(summary_text(report))
    if args.out:
        stem = output_stem(network.name)
        _refuse_other_report(Path(args.out) / f"{stem}.json", report)
        for path in write_report(report, args.out, stem=stem):
            print(f"wrote {path}")
    return 0


def _refuse_other_report(path: Path, report) -> None:
    """SpecError when `path` holds the report of another network or device (names collide)."""
    import json

    if not path.exists():
        return
    try:
        old = json.loads(path.read_text())["metadata"]
        same = (old["device_hash"] == report.metadata.device_hash
                and [list(s) for s in old["streams"]] == [list(s) for s in report.metadata.streams])
    except (OSError, ValueError, KeyError, TypeError):
        same = False
    if not same:
        raise SpecError(
            f"{path} holds the report of another run (network or device); pass --name to write "
            "this one under another name, or choose another --out"
        )


def output_stem(name: str) -> str:
    """A safe file stem for a network name: its part before '/', with characters outside
    [A-Za-z0-9_.-] replaced and leading dots dropped (no hidden files); 'report' if empty."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name.split("/")[0]).lstrip(".")
    return stem[:100] or "report"


def _cmd_trace(args, registry: Registry) -> int:
    from workloads.trace import save

    base = load_network(registry, args.model, parse_model_args(args.arg), name=args.name,
                        batch=args.batch)
    network = transform(base, args)
    if args.action == "export":
        if not args.output:
            raise SpecError("trace export needs -o FILE (.json or .yaml)")
        save(network, args.output)
        print(f"wrote {args.output} ({len(network)} ops)")
        return 0
    s = network.summary()
    if args.model.lower().endswith(".onnx"):
        _print_file_compression(args.model, base, bool(args.prune or args.quant))
    print(f"{network.name}: {s.n_ops} ops, {s.macs / 1e9:.4g} GMACs "
          f"({s.effective_macs / 1e9:.4g} effective), {s.params / 1e6:.4g} M params, "
          f"weights {binary_size(s.weight_bytes)}, activation peak {binary_size(s.activation_peak_bytes)}")
    print(f"{'op':<40}{'kind':<15}{'output':<22}{'MACs':>14}  compression")
    for op in network.ops:
        print(f"{op.name[:39]:<40}{op.kind.value:<15}{str(op.output_shape):<22}"
              f"{op.effective_macs:>14,}  {op.compression.label()}")
    return 0


def _print_file_compression(path: str, network: Network, overridden: bool) -> None:
    """The compression an ONNX file holds, as ops per label (what --prune/--quant then change)."""
    from collections import Counter

    counts = Counter(m.compression.label() for op in network.ops for m in (op.members or (op,)))
    found = ", ".join(f"{n} ops {label}" for label, n in counts.most_common())
    note = "; --prune/--quant override it below" if overridden else ""
    print(f"compression read from {path}: {found}{note}")


def _cmd_compare(args, registry: Registry) -> int:
    import shlex

    from sim import compare
    from sim.tables import pyplot

    model_args = parse_model_args(args.arg)
    models, seen = [], {}
    for what in args.model:
        network = load_network(registry, what, {} if what.lower().endswith(
            TRACE_SUFFIXES + (".onnx",)) else model_args, batch=args.batch)
        label = network.name
        if label in seen:  # two files named alike (every torch export is main_graph)
            seen[label] += 1
            label = f"{network.name}#{seen[network.name]}"
            print(f"note: {what} is also named {network.name!r}; its rows are labelled {label!r}")
        seen.setdefault(label, 1)
        models.append((label, network))
    rows = compare.compare(registry, models, args.setting,
                           [compare.DeviceChoice.parse(d) for d in args.device], seed=args.seed)
    print(f"{'model':<14}{'setting':<24}{'device:target':<26}{'latency':>13} {'energy':>13} "
          f"{'inferences':>12}  executed precision")
    for r in rows:
        where = f"{r['device']}:{r['target']}"
        result = r["error"] or (f"{r['latency_ms']:>10.3f} ms {r['energy_per_inference_mj']:>10.3f} mJ "
                                f"{r['inferences_per_j']:>9.1f} /J  {r['executed_precision']}"
                                + ("  (SUBSTITUTE, not ranked)" if r["substituted"] else ""))
        print(f"{r['model']:<14}{r['setting']:<24}{where:<26}{result}")
    if args.out:
        parts = ["edgesim compare"]
        parts += [f"--model {shlex.quote(m)}" for m in args.model]
        parts += [f"--arg {shlex.quote(a)}" for a in args.arg]
        parts += [f"--batch {args.batch}"] if args.batch is not None else []
        parts += [f"--setting {shlex.quote(s)}" for s in args.setting]
        parts += [f"--device {shlex.quote(d)}" for d in args.device]
        parts.append(f"--out {shlex.quote(args.out)}")
        paths = compare.write(rows, Path(args.out), " ".join(parts))
        for path in paths:
            print(f"wrote {path}")
        if not any(p.name == "compare.png" for p in paths):
            print(compare.PLOT_MISSING if pyplot() is None else "compare.png not written: no design point ran")
    return 0


def _cmd_check_device(args, registry: Registry) -> int:
    from sim.contract import check_device

    what = args.device
    device = registry.resolve_device(what)  # a registered name or a YAML device file
    found = check_device(device)
    for violation in found:
        print(one_line(violation))
    name = getattr(device, "name", what)
    print(f"{name}: {'breaks the contract: ' + str(len(found)) + ' violation(s)' if found else 'meets the contract'}")
    return 1 if found else 0


def _add_transform_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model name (see `edgesim list`) or trace file (.json/.yaml/.onnx)")
    p.add_argument("--arg", action="append", default=[], metavar="KEY=VALUE",
                   help="model builder argument, e.g. --arg width=0.5 --arg resolution=160")
    p.add_argument("--prune", action="append", metavar="SCHEME:RATIO",
                   help="unstructured|pattern|block|channel:RATIO, e.g. block:0.75")
    p.add_argument("--quant", metavar="SPEC",
                   help="fp32, fp16, w8a8, pot:w4a8, mixed:w4a8:0.5, mp:w4a8:8:0.25")
    p.add_argument("--fuse", action="store_true", help="fuse ops with the elementwise ops after them")
    _add_name_batch(p, name=True)


def _add_name_batch(p: argparse.ArgumentParser, *, name: bool) -> None:
    if name:
        p.add_argument("--name", help="name of the network (reports and output files take it)")
    p.add_argument("--batch", type=int,
                   help="batch size (a zoo model's, or an ONNX file's symbolic batch dim)")


COMMAND_GROUP = "edgesim.commands"


def seed_value(text: str) -> int:
    """An argparse type: a seed numpy accepts, an integer in [0, 2**64)."""
    if not re.fullmatch(r"\d{1,20}", text) or int(text) >= 2**64:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 2**64) (got {text!r})")
    return int(text)


def one_line(text: str) -> str:
    """`text` with line breaks and other control characters escaped, so that a name read from a
    file (an op called 'x\\nedgesim: error: ...') can never forge a second line of output."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: `edgesim run: error: ...; see edgesim run --help`, exit 2
    (argparse prints the whole usage block first, which buries the message)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {one_line(message)}; see `{self.prog} --help`\n")


def build_parser(extra_commands: Sequence = ()) -> argparse.ArgumentParser:
    """The parser; `extra_commands` are `register(subparsers)` functions of plug-in commands."""
    parser = _Parser(
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
    p.add_argument("--seed", type=seed_value, default=0, help="random seed, 0 to 2**64-1 (default 0)")
    p.add_argument("--out", help="directory for report.csv, report.json and a Perfetto trace")
    p = sub.add_parser("trace", help="export a model as a trace file, or show one")
    p.add_argument("action", choices=["export", "show"])
    _add_transform_args(p)
    p.add_argument("-o", "--output", help="trace file to write (.json or .yaml)")
    p = sub.add_parser("compare", help="run models x compression settings x devices, one table")
    p.add_argument("--model", action="append", required=True,
                   help="model name, trace or ONNX file (repeat)")
    p.add_argument("--arg", action="append", default=[], metavar="KEY=VALUE",
                   help="zoo model builder argument, for every zoo model (repeat)")
    _add_name_batch(p, name=False)
    p.add_argument("--setting", action="append", required=True,
                   help="'+'-joined transforms, e.g. fp32, w8a8, block:0.75+w8a8+fuse (repeat)")
    p.add_argument("--device", action="append", required=True,
                   help="NAME, FILE.yaml, NAME:TARGET or FILE.yaml:TARGET (repeat)")
    p.add_argument("--seed", type=seed_value, default=0, help="random seed, 0 to 2**64-1 (default 0)")
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
    p = sub.add_parser("check-device", help="check a device against the physics contract",
                       description="Price representative ops of every kind on every target and "
                       "list each violation of sim.contract; exit 1 if there is one.")
    p.add_argument("device", help="device name (see `edgesim list`) or device file (.yaml)")
    for register in extra_commands:
        _register_guarded(sub, register)
    return parser


def _cmd_sweep(args, registry: Registry) -> int:
    from sim.sweep import command

    return command(args, registry)


BUILTIN_COMMANDS = ("list", "run", "trace", "compare", "device", "check-device", "sweep")


def _register_guarded(sub, register) -> None:
    """Run one plug-in's `register(subparsers)`; if it (or loading it) fails, add a stand-in
    command of the same name that reports the failure in one line when called, so a broken
    plug-in breaks only itself, never `--help` or the other commands."""
    failure = getattr(register, "plugin_failure", None)
    if failure is None:
        try:
            register(sub)
            return
        # Plug-in code can raise anything; it is reported typed and named, not as a traceback.
        except Exception as err:  # noqa: BLE001 - the plug-in boundary
            failure = PluginError(f"command plug-in {describe_entry_point(register)} failed "
                                  f"to register: {type(err).__name__}: {err}")
    name = getattr(register, "entry_point_name", None) or getattr(register, "__name__", "plugin")
    if name in sub.choices:
        return  # the plug-in added its command before failing; calling it reports its own error
    p = sub.add_parser(name, help=f"(broken plug-in: {one_line(failure)[:60]})", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(handler=_fail_with(failure))


def _fail_with(error: EdgesimError):
    def handler(args, registry):
        raise error

    return handler


def plugin_commands(argv: Sequence[str] | None = None) -> list:
    """The `register` functions of the installed `edgesim.commands` entry points.

    Only the one `argv` calls is imported (its module may pull in PyRTL or scipy.spatial,
    which a phone run should not pay for), none for a built-in command, and all of them when
    `argv` names no command (`edgesim --help`, a typo), so the help and the error list every
    command. An entry point's name is its command's name. An entry point that fails to import
    gives a stand-in (carrying `plugin_failure`) instead of raising, so `build_parser` can keep
    every other command working.
    """
    from importlib import metadata

    eps = sorted(metadata.entry_points(group=COMMAND_GROUP), key=lambda e: e.name)
    command = next((a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-")), None)
    if command in BUILTIN_COMMANDS:
        return []
    called = [ep for ep in eps if ep.name == command]
    registers = []
    for ep in called or eps:
        try:
            register = ep.load()
        except Exception as err:  # noqa: BLE001 - the plug-in boundary, re-raised on use
            def register(sub):  # noqa: ARG001 - stand-in, never called
                raise AssertionError("a failed plug-in is never registered")

            register.plugin_failure = PluginError(
                f"command plug-in {describe_entry_point(ep)} failed to load: "
                f"{type(err).__name__}: {err}; reinstall or uninstall it"
            )
        register.entry_point_name = ep.name
        register.entry_point = ep
        registers.append(register)
    return registers


def main(
    argv: Sequence[str] | None = None,
    registry: Registry | None = None,
    commands: Sequence | None = None,
) -> int:
    """Run the CLI; `registry` and `commands` default to the installed entry points."""
    # SIGTERM (a killed job) unwinds like Ctrl-C, so half-staged output files are removed.
    previous_term = _unwind_on_sigterm()
    try:
        args = build_parser(plugin_commands(argv) if commands is None else commands).parse_args(argv)
        registry = registry or Registry.from_entry_points()
        builtin = {"list": _cmd_list, "run": _cmd_run, "trace": _cmd_trace, "compare": _cmd_compare,
                   "device": _cmd_device, "check-device": _cmd_check_device, "sweep": _cmd_sweep}
        if args.command in builtin:
            return builtin[args.command](args, registry)
        # A plug-in command's own failure is reported as a one-line PluginError naming it.
        return call_plugin(args.handler, f"command plug-in {args.command!r}", args, registry)
    except EdgesimError as err:
        # A spec file's problems are reported all at once, one complete error line each; text
        # from files inside a line has its control characters escaped.
        for line in str(err).splitlines() or [""]:
            print(f"edgesim: error: {one_line(line)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Ctrl-C: output files are all-or-nothing (workloads.atomic), so say so in one line.
        print("edgesim: interrupted", file=sys.stderr)
        return 130  # 128 + SIGINT
    except BrokenPipeError:
        # The reader (e.g. `| head`) has gone: stop quietly, as `cat` does. Point stdout at
        # /dev/null so the interpreter's final flush does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a command killed by a broken pipe
    finally:
        if previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)


def _sigterm(signum, frame):
    raise SystemExit(128 + signum)


def _unwind_on_sigterm():
    """Make SIGTERM raise SystemExit (143) while the CLI runs; returns the previous handler,
    or None when handlers cannot be set (not the main thread)."""
    try:
        return signal.signal(signal.SIGTERM, _sigterm)
    except ValueError:
        return None


if __name__ == "__main__":
    sys.exit(main())
