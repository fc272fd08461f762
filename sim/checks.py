"""The checks before a run: the request itself, the op kinds each target supports, the engines.

`sim.simulate` refuses a run that cannot work before building anything: no streams, clashing
stream names, a bad seed, too many op executions (`MAX_OP_INSTANCES`), targets the device lacks,
and every op kind a target cannot run (listed all at once, as one UnsupportedOpError). After
planning, every engine a cost names must be one the device declares.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from sim.device import Cost, Device
from sim.registry import PluginError, call_plugin, origin_of
from sim.stream import Stream
from workloads import Op, SpecError, UnsupportedOpError

MAX_OP_INSTANCES = 100_000
"""Most op executions (ops x frames, over all streams) one simulation may hold: each is a small
callback-driven state machine and a report row, measured at about 15 us (30 us when each was a
SimPy process) and 0.5 kB, so a run stays under about 2 s and 60 MB (ResNet-50 for 570 frames;
the driving study's 2 s of three streams is 20,000). A request beyond it (`--frames
1000000000`) is refused before anything is built; throughput and latency percentiles settle
within a few hundred frames."""


def check_request(streams: Sequence[Stream], seed: object) -> None:
    """Raise SpecError for a run that is malformed before any device is asked: no streams,
    stream names that clash, a seed outside [0, 2**64), or more than `MAX_OP_INSTANCES` op
    executions."""
    if not streams:
        raise SpecError("nothing to simulate: give at least one network or stream")
    names = [s.name for s in streams]
    if len(set(names)) != len(names):
        raise SpecError(f"stream names must be unique (got {names}); set Stream(name=...)")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**64:
        raise SpecError(f"seed must be an integer in [0, 2**64) (got {seed!r})")
    n_instances = sum(len(s.network.ops) * s.n_frames for s in streams)
    if n_instances > MAX_OP_INSTANCES:
        raise SpecError(
            f"{n_instances:,} op executions (ops x frames) exceed MAX_OP_INSTANCES = "
            f"{MAX_OP_INSTANCES:,}; simulate fewer frames (throughput settles within a few)"
        )


def check_supported(streams: Sequence[Stream], device: Device) -> None:
    """Raise one UnsupportedOpError listing every op the device cannot run, before any run."""
    problems = []
    for stream in streams:
        default = stream.target or device.targets[0]
        for target in {default, *stream.placement.values()}:
            if target not in device.targets:
                raise SpecError(
                    f"stream {stream.name!r}: device {device.name!r} has no target {target!r}; "
                    f"choose one of {list(device.targets)}"
                )
        missing: dict[tuple[str, str], list[str]] = {}
        supported = {t: _supported_kinds(device, t) for t in device.targets}
        for op in stream.network.ops:
            target = stream.placement.get(op.name, default)
            for member in op.members or (op,):  # a fused op needs every member's kind
                if member.kind not in supported[target]:
                    missing.setdefault((member.kind.value, target), []).append(op.name)
        for (kind, target), names in sorted(missing.items()):
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            problems.append(f"{kind} on {target!r} (stream {stream.name!r}: {shown})")
    if problems:
        raise UnsupportedOpError(
            f"device {device.name!r} cannot run: " + "; ".join(problems)
            + ". Pick another device or target, or transform the network (e.g. unfuse)."
        )


def _supported_kinds(device: Device, target: str) -> frozenset:
    kinds = call_plugin(
        device.supported_kinds,
        lambda: f"device {device.name!r} ({origin_of(device)}) supported_kinds({target!r})", target)
    if not isinstance(kinds, (frozenset, set)):
        raise PluginError(f"device {device.name!r} ({origin_of(device)}) supported_kinds({target!r}) "
                          f"returned {type(kinds).__name__}, not a frozenset of OpKind")
    return kinds


def check_engines(costs: Iterable[tuple[Op, Cost]], device: Device) -> None:
    """Raise SpecError for the first phase of `costs` on an engine `device` does not declare."""
    names = {e.name for e in device.engines}
    for op, cost in costs:
        for phase in cost.phases:
            if phase.engine not in names:
                raise SpecError(
                    f"device {device.name!r} priced op {op.name!r} on engine "
                    f"{phase.engine!r}, which it does not declare ({sorted(names)})"
                )
