"""The discrete-event engine: plays networks on a device with SimPy and returns a `Report`.

Time is integer picoseconds on the SimPy clock, so simultaneous events tie exactly and the run is
deterministic; reports convert to seconds. Each op of each frame is a small state machine driven
by callbacks on SimPy events: it counts its producers down, then holds the engines its `Cost`
names, stage by stage. Each engine keeps its waiting phases in a heap keyed (priority, request
time, request order): a stream's `priority` (lower first) orders contended requests, and requests
of equal priority are served first come, first served.
"""

from __future__ import annotations

import gc
import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import simpy

from sim.device import Cost, Device, Phase, bind_network, check_network, precision_label, transfer_cost
from sim.energy import EnergyComponent
from sim.registry import PluginError, call_plugin, origin_of
from sim.report import FrameRecord, OpRecord, Report, RunMetadata, StreamInfo
from workloads import Network, Op, SpecError, UnsupportedOpError

PS_PER_S = 10**12

MAX_CLOCK_PS = 2**63 - 1
"""Latest simulated time, ps (int64: about 106 days). Reports keep times in int64 arrays, so a
stream whose releases or deadline reach past it (e.g. `--fps 1e-7`) is refused up front."""

MAX_OP_INSTANCES = 100_000
"""Most op executions (ops x frames, over all streams) one simulation may hold: each is a small
callback-driven state machine and a report row, measured at about 15 us (30 us when each was a
SimPy process) and 0.5 kB, so a run stays under about 2 s and 60 MB (ResNet-50 for 570 frames;
the driving study's 2 s of three streams is 20,000). A request beyond it (`--frames
1000000000`) is refused before anything is built; throughput and latency percentiles settle
within a few hundred frames."""


def to_ps(seconds: float) -> int:
    """Seconds to integer picoseconds on the simulation clock."""
    return int(round(seconds * PS_PER_S))


@dataclass(frozen=True, kw_only=True)
class Stream:
    """A network run once, or periodically with a deadline, on one target of the device."""

    network: Network
    name: str = ""
    """Defaults to the network's name; must be unique in a run."""
    target: str = ""
    """Unit of the device to run on; '' means the device's default (first) target."""
    period_s: float = 0.0
    """Time between frame releases; 0 for a single frame."""
    n_frames: int = 1
    deadline_s: float = math.inf
    """Relative deadline of each frame (release to finish)."""
    offset_s: float = 0.0
    """Release time of the first frame."""
    jitter_s: float = 0.0
    """Each release is delayed by a uniform draw from [0, jitter_s) (seeded)."""
    priority: int = 0
    """Lower values win contended engines."""
    placement: Mapping[str, str] = field(default_factory=dict)
    """Op name -> target, overriding `target` for those ops (e.g. pin a layer to the CPU). An op
    that reads a tensor made on another target first pays the device's `transfer` for it
    (`sim.placement` chooses placements from the device's costs)."""
    model_args: Mapping[str, object] = field(default_factory=dict)
    """Arguments the network's model was built with (e.g. {'width': 0.5}), for the report."""

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.network.name)
        object.__setattr__(self, "placement", MappingProxyType(dict(self.placement)))
        object.__setattr__(self, "model_args", MappingProxyType(dict(self.model_args)))
        if self.n_frames < 1:
            raise SpecError(f"stream {self.name!r}: 'n_frames' must be >= 1 (got {self.n_frames})")
        if self.n_frames > 1 and not self.period_s > 0:
            raise SpecError(f"stream {self.name!r}: several frames need 'period_s' > 0")
        for field_name in ("period_s", "offset_s", "jitter_s"):
            value = getattr(self, field_name)
            if not math.isfinite(value) or value < 0:
                raise SpecError(f"stream {self.name!r}: {field_name!r} must be >= 0 (got {value})")
        if not self.deadline_s > 0:
            raise SpecError(f"stream {self.name!r}: 'deadline_s' must be > 0 (got {self.deadline_s})")
        horizon_s = self.offset_s + self.n_frames * self.period_s + self.jitter_s
        if horizon_s * PS_PER_S > MAX_CLOCK_PS:
            raise SpecError(
                f"stream {self.name!r}: its frames are released until {horizon_s:.4g} s, past the "
                f"clock's range (MAX_CLOCK_PS = {MAX_CLOCK_PS / PS_PER_S:.4g} s); use fewer frames "
                "or a shorter period"
            )
        unknown = set(self.placement) - {op.name for op in self.network.ops}
        if unknown:
            raise SpecError(f"stream {self.name!r}: placement names unknown ops {sorted(unknown)}")


@dataclass(frozen=True, slots=True)
class _PlannedOp:
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
class _Plan:
    stream: Stream
    ops: tuple[_PlannedOp, ...]
    size_bytes: tuple[int, ...]
    """Bytes of each stored tensor (`Lifetimes.size_bytes`: network inputs first)."""
    input_bytes: int
    """Bytes of the network inputs, allocated when a frame is released."""
    kept: frozenset[int]
    """Stored tensors of the network outputs, freed only when the frame ends."""
    consumers: tuple[tuple[int, ...], ...]
    """consumers[i]: indices of the ops that read op i, in op order."""


def _plan_stream(stream: Stream, device: Device, cost_cache: dict) -> _Plan:
    net = stream.network
    index = {op.name: i for i, op in enumerate(net.ops)}
    # One liveness analysis (workloads.liveness): reading a view keeps its source alive.
    lifetimes = net.lifetimes
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
            _PlannedOp(
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
    return _Plan(
        stream=stream,
        ops=tuple(planned),
        size_bytes=lifetimes.size_bytes,
        input_bytes=sum(lifetimes.size_bytes[:lifetimes.n_inputs]),
        kept=lifetimes.kept,
        consumers=_consumers(planned),
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


def _price_transfer(device: Device, op: Op, n_bytes: int, source: str, dest: str) -> Cost:
    """`sim.device.transfer_cost`, with every failure naming the device, its origin and the op."""
    def what() -> str:
        return (f"device {device.name!r} ({origin_of(device)}) pricing the hand-off of "
                f"{n_bytes} bytes from {source!r} to {dest!r} for op {op.name!r}")

    try:
        cost = call_plugin(transfer_cost, what, device, n_bytes, source, dest)
    except SpecError as err:
        raise SpecError(f"{what()}: {err}") from err
    if not isinstance(cost, Cost):
        raise PluginError(f"{what()}: transfer() returned {type(cost).__name__}, not sim.Cost")
    return cost


def _consumers(planned: list[_PlannedOp]) -> tuple[tuple[int, ...], ...]:
    readers: list[list[int]] = [[] for _ in planned]
    for j, p in enumerate(planned):
        for i in dict.fromkeys(p.producers):
            readers[i].append(j)
    return tuple(tuple(r) for r in readers)


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


def _price(device: Device, op: Op, target: str) -> Cost:
    """`device.cost(op, target)`, with every failure naming the device, its origin and the op."""
    def what() -> str:
        return f"device {device.name!r} ({origin_of(device)}) pricing op {op.name!r} on {target!r}"

    try:
        cost = call_plugin(device.cost, what, op, target)
    except SpecError as err:  # e.g. a Cost with a NaN or negative duration
        raise SpecError(f"{what()}: {err}") from err
    if not isinstance(cost, Cost):
        raise PluginError(f"{what()}: cost() returned {type(cost).__name__}, not sim.Cost")
    return cost


def _check_engines(costs: Iterable[tuple[Op, Cost]], device: Device) -> None:
    names = {e.name for e in device.engines}
    for op, cost in costs:
        for phase in cost.phases:
            if phase.engine not in names:
                raise SpecError(
                    f"device {device.name!r} priced op {op.name!r} on engine "
                    f"{phase.engine!r}, which it does not declare ({sorted(names)})"
                )


def simulate(
    work: Network | Stream | Iterable[Network | Stream],
    device: Device,
    *,
    seed: int = 0,
) -> Report:
    """Play `work` (a network, a stream, or several) on `device`; return the report.

    Deterministic for a given `seed` (which only drives release jitter; costs are pure).
    Raises UnsupportedOpError (listing all ops) before simulating, SpecError on bad streams,
    and whatever typed error the device's cost raises (e.g. DoesNotFitError).
    """
    if isinstance(work, (Network, Stream)):
        work = [work]
    streams = [w if isinstance(w, Stream) else Stream(network=w) for w in work]
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
    check_supported(streams, device)
    # Each stream is priced on the device bound to its network (`Device.for_network`, optional),
    # and that bound device checks the network as a whole (`Device.check`, optional).
    bound = [call_plugin(bind_network, lambda: f"device {device.name!r} ({origin_of(device)}) for_network()",
                         device, s.network) for s in streams]
    for stream, board in zip(streams, bound):
        call_plugin(check_network, lambda: f"device {device.name!r} ({origin_of(device)}) check()",
                    board, stream.network, stream.target or device.targets[0])
    cost_cache: dict = {}
    plans = [_plan_stream(s, d, cost_cache) for s, d in zip(streams, bound)]
    # Each distinct cost once (frames and streams share the cached Cost objects).
    _check_engines({id(p.cost): (p.op, p.cost) for plan in plans for p in plan.ops}.values(),
                   device)
    rngs = np.random.default_rng(seed).spawn(len(streams))
    # A run allocates a few small objects per op and frees them only at its end; with the
    # collector on, its full passes re-scan every record made so far, and a stream of many
    # frames cost frames^1.2. The run's few reference cycles are collected after it.
    collecting = gc.isenabled()
    gc.disable()
    try:
        run = _Run(device, plans, rngs)
        run.env.run()
        return run.report(seed)
    finally:
        if collecting:
            gc.enable()


class _Engine:
    """One engine's slots and its queue of waiting phases: a heap keyed (priority, time, seq).

    A request is granted at once if a slot is free and nobody waits; otherwise it waits, and
    every release hands the freed slot to the head of the heap: lower priority value first,
    then earlier request, then the order requests were made (first come, first served). With
    several priorities in a run, requests made at one instant are arbitrated together, by an
    event at that instant, so that of two simultaneous requests the higher priority wins
    whichever was made first. A heap keeps each request O(log n) where SimPy's
    PriorityResource re-sorts its whole queue, which made a stream that falls behind cost
    frames^1.47.
    """

    __slots__ = ("_run", "free", "waiting", "arbitrated", "_pending")

    def __init__(self, run: _Run, capacity: int, arbitrated: bool) -> None:
        self._run = run
        self.free = capacity
        self.waiting: list = []
        self.arbitrated = arbitrated
        self._pending = False

    def request(self, priority: int, grant) -> None:
        """Call `grant(now_ps)` when a slot is this request's."""
        run = self._run
        if not self.arbitrated:
            if self.free and not self.waiting:
                self.free -= 1
                grant(run.now)
                return
        heapq.heappush(self.waiting, (priority, run.now, run.next_seq(), grant))
        if self.arbitrated and not self._pending:
            self._pending = True
            run.at(0, self._arbitrate)
        elif not self.arbitrated:
            self._serve()

    def _arbitrate(self) -> None:
        self._pending = False
        self._serve()

    def _serve(self) -> None:
        waiting = self.waiting
        while self.free and waiting:
            self.free -= 1
            heapq.heappop(waiting)[3](self._run.now)

    def release(self) -> None:
        self.free += 1
        if self.waiting:
            self._serve()


class _OpRun:
    """One op of one frame: counts its producers down, then runs its stages on the engines."""

    __slots__ = ("run", "frame", "p", "i", "n_waiting", "n_unstarted", "prefetch_left",
                 "ready_ps", "start_ps", "stage", "phases_left", "spans", "consumers",
                 "requesting", "announced")

    def __init__(self, frame: _FrameRun, i: int) -> None:
        self.run = frame.run
        self.frame = frame
        self.i = i
        self.p = p = frame.plan.ops[i]
        self.n_waiting = self.n_unstarted = p.n_producers
        self.prefetch_left = -1  # -1: prefetch not started (or none)
        self.ready_ps = -1
        self.start_ps = -1
        self.stage = 0
        self.phases_left = 0
        self.spans: list = []
        self.requesting = False
        self.announced = False

    # -- prefetch: weight loads once every producer has started --------------------------
    def producer_started(self) -> None:
        self.n_unstarted -= 1
        if self.n_unstarted == 0 and self.p.cost.prefetch:
            self._start_prefetch()

    def _start_prefetch(self) -> None:
        phases = self.p.cost.prefetch
        self.prefetch_left = len(phases)
        for phase in phases:
            self._hold(phase, self._prefetch_done, first=False)

    def _prefetch_done(self) -> None:
        self.prefetch_left -= 1
        if self.prefetch_left == 0 and self.n_waiting == 0:
            self._ready()

    # -- main stages ----------------------------------------------------------------------
    def producer_done(self) -> None:
        self.n_waiting -= 1
        if self.n_waiting == 0 and self.prefetch_left <= 0:
            self._ready()

    def begin(self) -> None:
        """Called at frame release for ops with no producers."""
        if self.p.cost.prefetch:
            self._start_prefetch()
        else:
            self._ready()

    def _ready(self) -> None:
        self.ready_ps = self.run.now
        if not self.p.cost.stages:  # a free op (a view): starts and ends when ready
            self.start_ps = self.ready_ps
            self.frame.op_started(self.i)
            self._end()
        else:
            self._next_stage()

    def _next_stage(self) -> None:
        stage = self.p.cost.stages[self.stage]
        self.phases_left = len(stage)
        # Every phase of the stage asks for its engine before the op's start is announced to
        # its consumers (whose weight prefetch then queues behind this op's own phases).
        self.requesting = True
        for phase in stage:
            self._hold(phase, self._phase_done, first=True)
        self.requesting = False
        if self.start_ps >= 0 and not self.announced:
            self.announced = True
            self.frame.op_started(self.i)

    def _phase_done(self) -> None:
        self.phases_left -= 1
        if self.phases_left == 0:
            self.stage += 1
            if self.stage < len(self.p.cost.stages):
                self._next_stage()
            else:
                self._end()

    def _hold(self, phase: Phase, then, first: bool) -> None:
        run = self.run
        engine = run.resources[phase.engine]

        def granted(now_ps: int) -> None:
            if first and self.start_ps < 0:
                self.start_ps = now_ps
                if not self.requesting:
                    self.announced = True
                    self.frame.op_started(self.i)

            def finished() -> None:
                engine.release()
                self.spans.append((phase.engine, phase.name, now_ps, run.now))
                then()

            run.at(run.duration_ps(phase), finished)

        engine.request(self.frame.priority, granted)

    def _end(self) -> None:
        self.frame.op_done(self)


class _FrameRun:
    """One frame of a stream: its ops, released at `release_ps`."""

    __slots__ = ("run", "plan", "k", "release_ps", "priority", "ops", "n_left", "consumers")

    def __init__(self, run: _Run, plan: _Plan, k: int, release_ps: int) -> None:
        self.run = run
        self.plan = plan
        self.k = k
        self.release_ps = release_ps
        self.priority = plan.stream.priority
        self.ops: list[_OpRun] = []
        self.n_left = len(plan.ops)

    def release(self) -> None:
        run, plan = self.run, self.plan
        run.alloc(plan.input_bytes, run.now)
        self.ops = [_OpRun(self, i) for i in range(len(plan.ops))]
        for op in self.ops:
            if not op.p.producers:
                op.begin()

    def op_started(self, i: int) -> None:
        for j in self.plan.consumers[i]:
            self.ops[j].producer_started()

    def op_done(self, op: _OpRun) -> None:
        run, plan, p = self.run, self.plan, op.p
        end_ps = run.now
        if p.output >= 0:
            run.alloc(plan.size_bytes[p.output], op.start_ps)
        for t in p.frees:
            run.free(plan.size_bytes[t], end_ps)
        cost = p.cost
        run.op_records.append(
            OpRecord(
                stream=plan.stream.name,
                frame=self.k,
                op=p.op.name,
                kind=p.op.kind.value,
                target=p.target,
                engines=p.engines,
                ready_s=op.ready_ps / PS_PER_S,
                start_s=op.start_ps / PS_PER_S,
                end_s=end_ps / PS_PER_S,
                bound_by=cost.bound_by,
                macs=p.op.effective_macs,
                bytes_moved=cost.bytes_moved,
                energy_j=cost.dynamic_energy_j,
                phases=tuple((e, lb, a / PS_PER_S, b / PS_PER_S) for e, lb, a, b in op.spans),
                energy_by_component_j=cost.energy_j,
                requested_precision=p.requested_precision,
                executed_precision=p.executed_precision,
                peak_macs_per_s=cost.peak_macs_per_s,
            )
        )
        for j in plan.consumers[op.i]:
            self.ops[j].producer_done()
        self.n_left -= 1
        if self.n_left == 0:
            self._finish()

    def _finish(self) -> None:
        run, plan = self.run, self.plan
        finish_ps = run.now
        for t in plan.kept:
            run.free(plan.size_bytes[t], finish_ps)
        run.end_ps = max(run.end_ps, finish_ps)
        s = plan.stream
        latency_s = (finish_ps - self.release_ps) / PS_PER_S
        run.frame_records.append(
            FrameRecord(
                stream=s.name,
                frame=self.k,
                release_s=self.release_ps / PS_PER_S,
                finish_s=finish_ps / PS_PER_S,
                latency_s=latency_s,
                deadline_s=s.deadline_s,
                missed=latency_s > s.deadline_s,
            )
        )


class _Run:
    """One simulation: SimPy environment, engines, and the records it collects.

    The SimPy clock orders every happening; ops and frames are small state machines driven by
    callbacks on SimPy events rather than generator processes, so an op with one phase costs
    one event (its end) instead of the seven a process, a resource request and a release took.
    """

    def __init__(self, device: Device, plans: list[_Plan], rngs) -> None:
        self.device = device
        self.plans = plans
        self.env = simpy.Environment()
        self._seq = 0
        self._durations: dict[int, int] = {}
        # Arbitration costs an event per instant; pay it only when priorities can differ.
        arbitrated = len({plan.stream.priority for plan in plans}) > 1
        self.resources = {e.name: _Engine(self, e.capacity, arbitrated) for e in device.engines}
        self.op_records: list[OpRecord] = []
        self.frame_records: list[FrameRecord] = []
        self.memory_events: list[tuple[int, int]] = []
        """(time_ps, +bytes allocated or -bytes freed) of activation tensors."""
        self.end_ps = 0
        self.horizon_ps = 0
        for plan, rng in zip(plans, rngs):
            s = plan.stream
            jitter = rng.uniform(0.0, s.jitter_s, size=s.n_frames) if s.jitter_s else None
            for k in range(s.n_frames):
                release = to_ps(s.offset_s + k * s.period_s + (jitter[k] if jitter is not None else 0))
                frame = _FrameRun(self, plan, k, release)
                self.at(release, frame.release)
            self.horizon_ps = max(self.horizon_ps, to_ps(s.offset_s + s.n_frames * s.period_s))

    @property
    def now(self) -> int:
        return self.env._now

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def duration_ps(self, phase: Phase) -> int:
        # Phases are shared by every frame of every stream (costs are cached): convert once.
        key = id(phase)
        d = self._durations.get(key)
        if d is None:
            d = self._durations[key] = to_ps(phase.duration_s)
        return d

    def at(self, delay_ps: int, callback) -> None:
        """Run `callback()` `delay_ps` after now, after everything already due then."""
        event = simpy.Event(self.env)
        event._ok = True
        event._value = None
        event.callbacks.append(lambda _e: callback())
        self.env.schedule(event, simpy.events.NORMAL, delay_ps)

    def alloc(self, n_bytes: int, t_ps: int) -> None:
        if n_bytes:
            self.memory_events.append((t_ps, n_bytes))

    def free(self, n_bytes: int, t_ps: int) -> None:
        if n_bytes:
            self.memory_events.append((t_ps, -n_bytes))

    def _peak_bytes(self) -> int:
        """Peak of live activation bytes; at equal times, frees come before allocations."""
        if not self.memory_events:
            return 0
        events = np.array(sorted(self.memory_events), dtype=np.int64)
        return int(np.cumsum(events[:, 1]).max())

    def _totals(self) -> tuple[dict[EnergyComponent, float], dict[str, float]]:
        """Dynamic energy by component and bytes by level: every op's cost once per frame
        (costs are frame-invariant)."""
        energy: dict[EnergyComponent, float] = {}
        moved: dict[str, float] = {}
        for plan in self.plans:
            frames = plan.stream.n_frames
            for p in plan.ops:
                for comp, e in p.cost.energy_j.items():
                    energy[comp] = energy.get(comp, 0.0) + e * frames
                for level, b in p.cost.bytes_moved.items():
                    moved[level] = moved.get(level, 0) + b * frames
        return energy, moved

    def report(self, seed: int) -> Report:
        energy, moved = self._totals()
        duration_ps = max(self.end_ps, self.horizon_ps)
        duration_s = duration_ps / PS_PER_S
        for e in self.device.engines:
            if e.static_power_w:
                comp = e.static_component
                energy[comp] = energy.get(comp, 0.0) + e.static_power_w * duration_s
        energy = {c: energy[c] for c in EnergyComponent if c in energy}  # vocabulary order
        model = getattr(self.device, "energy_model", None)
        unit_text = getattr(self.device, "unit_text", None)
        used = dict.fromkeys(p.target for plan in self.plans for p in plan.ops)
        self.op_records.sort(key=lambda r: (r.start_s, r.end_s, r.stream, r.frame))
        self.frame_records.sort(key=lambda r: (r.stream, r.frame))
        return Report(
            device=self.device.name,
            duration_s=duration_s,
            ops=tuple(self.op_records),
            frames=tuple(self.frame_records),
            energy_by_component_j=MappingProxyType(energy),
            bytes_by_level=MappingProxyType(moved),
            peak_activation_bytes=self._peak_bytes(),
            weight_bytes=sum(p.stream.network.weight_bytes for p in self.plans),
            metadata=RunMetadata.of(seed, self.device, [p.stream for p in self.plans]),
            engines=tuple(e.name for e in self.device.engines),
            engine_capacity=MappingProxyType({e.name: e.capacity for e in self.device.engines}),
            engine_kinds=MappingProxyType({e.name: e.kind for e in self.device.engines}),
            streams=tuple(_stream_info(plan, self.device) for plan in self.plans),
            energy_model=model.text() if model is not None else None,
            units=MappingProxyType({t: unit_text(t) if unit_text else t for t in used}),
        )


def _by_macs(weights: Mapping[str, int]) -> tuple[str, ...]:
    return tuple(k for k, _ in sorted(weights.items(), key=lambda kv: -kv[1]))


def _stream_info(plan: _Plan, device: Device) -> StreamInfo:
    s, net = plan.stream, plan.stream.network
    requested: dict[str, int] = {}
    executed: dict[str, int] = {}
    subs: dict[tuple[str, str], int] = {}
    compressions: dict[str, int] = {}
    for p in plan.ops:
        if p.op.is_free:
            continue
        if p.op.weight_shape or p.op.macs:
            label = p.op.anchor.compression.label()
            compressions[label] = compressions.get(label, 0) + p.op.effective_macs
        requested[p.requested_precision] = requested.get(p.requested_precision, 0) + p.op.effective_macs
        executed[p.executed_precision] = executed.get(p.executed_precision, 0) + p.op.effective_macs
        if p.executed_precision != p.requested_precision:
            key = (p.requested_precision, p.executed_precision)
            subs[key] = subs.get(key, 0) + 1
    return StreamInfo(
        stream=s.name, network=net.name, target=s.target or device.targets[0],
        batch=net.batch, batch_text=net.batch_text,
        n_ops=len(net.ops), macs_per_frame=sum(p.op.effective_macs for p in plan.ops),
        requested_precisions=_by_macs(requested), executed_precisions=_by_macs(executed),
        substitutions=tuple((a, b, n) for (a, b), n in subs.items()),
        compressions=_by_macs(compressions),
        model_args=MappingProxyType(dict(s.model_args)),
    )
