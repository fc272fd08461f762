"""The plan of a stream: each op priced on its target, hand-offs between targets, liveness.

Planning is pure and happens before the clock starts: every op of a stream's network is priced
once (`Device.cost`, memoised across frames and streams), an op that reads a tensor made on
another target is preceded by the device's `transfer` for it, and the one liveness analysis of
the network (`workloads.liveness`) says which stored tensor each op writes and which die when
it ends. The engine (`sim.engine`) plays the resulting `Plan` once per frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sim.device import (Cost, Device, Phase, executed_lifetimes, executed_weight_bytes,
                        precision_label, transfer_cost)
from sim.registry import PluginError, call_plugin, origin_of
from sim.stream import Stream
from workloads import Network, Op, SpecError


@dataclass(frozen=True, slots=True)
class PlannedOp:
    """One op of a stream as the engine runs it: its target, its cost and its dependencies."""

    op: Op
    target: str
    cost: Cost
    producers: tuple[int, ...]
    """Indices of the ops this one reads."""
    n_producers: int
    """Distinct producers (an op may read one tensor twice, e.g. x * x)."""
    output: int
    """Stored tensor (`workloads.liveness.Lifetimes` root) it writes; -1 for a view."""
    frees: tuple[int, ...]
    """Stored tensors that die when it ends (`Lifetimes.frees`)."""
    engines: str
    """Engines of its stages joined by '+' (for its records)."""
    requested_precision: str
    """`precision_label` of the op's (anchor's) compression."""
    executed_precision: str
    """The cost's executed precision, or the requested one when the device did not substitute."""


@dataclass(frozen=True, slots=True)
class Plan:
    """A stream's ops in network order, with the tensor sizes and lifetimes of one frame."""

    stream: Stream
    ops: tuple[PlannedOp, ...]
    size_bytes: tuple[int, ...]
    """Bytes of each stored tensor (`Lifetimes.size_bytes`: network inputs first)."""
    input_bytes: int
    """Bytes of the network inputs, allocated when a frame is released."""
    kept: frozenset[int]
    """Stored tensors of the network outputs, freed only when the frame ends."""
    consumers: tuple[tuple[int, ...], ...]
    """consumers[i]: indices of the ops that read op i, in op order."""
    weight_bytes: int
    """Bytes of the network's parameters as the device stores them (`executed_weight_bytes`)."""


def plan_stream(stream: Stream, device: Device, cost_cache: dict) -> Plan:
    """The plan of `stream` on `device` (the device already bound to the stream's network).

    `cost_cache` maps (device id, op id, target) to a `Cost` and is shared by the streams of
    one run, so each distinct op is priced once. Raises what the device's cost or transfer
    raises (SpecError, DoesNotFitError), PluginError when it returns something else than a
    `sim.Cost`; every message names the device, its origin and the op.
    """
    net = stream.network
    index = {op.name: i for i, op in enumerate(net.ops)}
    # One liveness analysis (workloads.liveness): reading a view keeps its source alive. Tensors
    # are sized as the device stores them (an MCU holds an fp32 network's activations as int8).
    lifetimes = executed_lifetimes(device, net)
    default = stream.target or device.targets[0]
    placement = stream.placement
    # Where each op's output lives: its target, or for a free op (a view) its input's place.
    # Network inputs have no place (the host wrote them to shared memory): reading them is free.
    located: list[str | None] = []
    planned = []
    for i, op in enumerate(net.ops):
        target = placement.get(op.name, default)
        key = (id(device), id(op), target)
        cost = cost_cache.get(key)
        if cost is None:
            cost = cost_cache[key] = _price(device, op, target)
        producers = tuple(index[s] for s in op.inputs if s in index)
        if not cost.stages:
            located.append(located[producers[0]] if producers else None)
        else:
            located.append(target)
            if placement:  # a single-target stream hands nothing over
                cost = _with_transfers(device, net, op, target, cost, producers, located)
        planned.append(
            PlannedOp(
                op=op,
                target=target,
                cost=cost,
                producers=producers,
                n_producers=len(set(producers)),
                output=lifetimes.output[i],
                frees=lifetimes.frees[i],
                engines="+".join(dict.fromkeys(ph.engine for st in cost.stages for ph in st)),
                requested_precision=(requested := precision_label(op.anchor.compression)),
                executed_precision=cost.executed_precision or requested,
            )
        )
    return Plan(
        stream=stream,
        ops=tuple(planned),
        size_bytes=lifetimes.size_bytes,
        input_bytes=sum(lifetimes.size_bytes[:lifetimes.n_inputs]),
        kept=lifetimes.kept,
        consumers=_consumers(planned),
        weight_bytes=executed_weight_bytes(device, net),
    )


def _with_transfers(device: Device, net: Network, op: Op, target: str, cost: Cost,
                    producers: tuple[int, ...], located: list[str | None]) -> Cost:
    """`cost` preceded by the device's hand-off of every input made on another target: one
    `transfer` per source target, of the bytes of all the tensors it wrote that `op` reads
    (one synchronisation covers them), its stages first, its energy and bytes added."""
    incoming: dict[str, int] = {}
    for j in dict.fromkeys(producers):
        source = located[j]
        if source is not None and source != target:
            incoming[source] = incoming.get(source, 0) + net.ops[j].output_bytes
    if not incoming:
        return cost
    stages: list[tuple[Phase, ...]] = []
    energy = dict(cost.energy_j)
    moved = dict(cost.bytes_moved)
    for source, n_bytes in incoming.items():
        hand_off = _price_transfer(device, op, n_bytes, source, target)
        stages.extend(hand_off.stages)
        for comp, e in hand_off.energy_j.items():
            energy[comp] = energy.get(comp, 0.0) + e
        for level, b in hand_off.bytes_moved.items():
            moved[level] = moved.get(level, 0) + b
    if not stages and energy == cost.energy_j:
        return cost
    return Cost(stages=tuple(stages) + cost.stages, prefetch=cost.prefetch, energy_j=energy,
                bytes_moved=moved, bound_by=cost.bound_by,
                executed_precision=cost.executed_precision, peak_macs_per_s=cost.peak_macs_per_s)


def _consumers(planned: list[PlannedOp]) -> tuple[tuple[int, ...], ...]:
    readers: list[list[int]] = [[] for _ in planned]
    for j, p in enumerate(planned):
        for i in dict.fromkeys(p.producers):
            readers[i].append(j)
    return tuple(tuple(r) for r in readers)


def _price(device: Device, op: Op, target: str) -> Cost:
    """`device.cost(op, target)`, with every failure naming the device, its origin and the op."""
    return _priced(
        lambda: (f"device {device.name!r} ({origin_of(device)}) pricing op {op.name!r} "
                 f"on {target!r}"),
        "cost", device.cost, op, target)


def _price_transfer(device: Device, op: Op, n_bytes: int, source: str, dest: str) -> Cost:
    """`sim.device.transfer_cost`, with every failure naming the device, its origin and the op."""
    return _priced(
        lambda: (f"device {device.name!r} ({origin_of(device)}) pricing the hand-off of "
                 f"{n_bytes} bytes from {source!r} to {dest!r} for op {op.name!r}"),
        "transfer", transfer_cost, device, n_bytes, source, dest)


def _priced(what: Callable[[], str], method: str, price: Callable[..., object], *args) -> Cost:
    """`price(*args)` through `call_plugin`: a SpecError it raises (e.g. a Cost with a NaN or
    negative duration) is re-raised with `what()` in front, and a result that is not a
    `sim.Cost` is a PluginError saying which `method` returned what."""
    try:
        cost = call_plugin(price, what, *args)
    except SpecError as err:
        raise SpecError(f"{what()}: {err}") from err
    if not isinstance(cost, Cost):
        raise PluginError(f"{what()}: {method}() returned {type(cost).__name__}, not sim.Cost")
    return cost
