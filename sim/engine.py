"""The discrete-event engine: plays networks on a device with SimPy and returns a `Report`.

Time is integer picoseconds on the SimPy clock, so simultaneous events tie exactly and the run is
deterministic; reports convert to seconds. Each op of each frame is a SimPy process that waits
for its producers, then holds the engines its `Cost` names, stage by stage. Engines are
`simpy.PriorityResource`s: a stream's `priority` (lower first) orders contended requests, and
requests of equal priority are served first come, first served.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import simpy

from sim.device import Cost, Device, Phase
from sim.report import FrameRecord, OpRecord, Report, RunMetadata
from workloads import Network, Op, SpecError, UnsupportedOpError

PS_PER_S = 10**12


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
    """Op name -> target, overriding `target` for those ops (e.g. pin a layer to the CPU)."""

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.network.name)
        object.__setattr__(self, "placement", MappingProxyType(dict(self.placement)))
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
    frees: tuple[int, ...]
    """Indices of tensors whose last reader is this op (freed when it ends); -1-k: input k."""
    engines: str
    """Engines of its stages joined by '+' (for its records)."""


@dataclass(frozen=True, slots=True)
class _Plan:
    stream: Stream
    ops: tuple[_PlannedOp, ...]
    input_bytes: tuple[int, ...]
    output_bytes: tuple[int, ...]
    kept: frozenset[int]
    """Indices of network outputs, freed only when the frame ends."""


def _plan_stream(stream: Stream, device: Device, cost_cache: dict) -> _Plan:
    net = stream.network
    index = {op.name: i for i, op in enumerate(net.ops)}
    input_index = {spec.name: k for k, spec in enumerate(net.inputs)}
    input_bytes = [0] * len(net.inputs)
    last_reader: dict[int, int] = {}
    root = net.storage_roots  # reading a view keeps its source alive
    for i, op in enumerate(net.ops):
        for j, src in enumerate(op.inputs):
            base = root[src]
            key = index[base] if base in index else -1 - input_index[base]
            last_reader[key] = i
            if src in input_index:
                input_bytes[input_index[src]] = max(input_bytes[input_index[src]], op.input_bytes_of(j))
    kept = frozenset(index[root[o]] for o in net.outputs if root[o] in index)
    frees: dict[int, list[int]] = {}
    for key, reader in last_reader.items():
        if key not in kept:
            frees.setdefault(reader, []).append(key)
    default = stream.target or device.targets[0]
    planned = []
    for i, op in enumerate(net.ops):
        target = stream.placement.get(op.name, default)
        key = (id(op), target)
        cost = cost_cache.get(key)
        if cost is None:
            cost = cost_cache[key] = device.cost(op, target)
        planned.append(
            _PlannedOp(
                op=op,
                target=target,
                cost=cost,
                producers=tuple(index[s] for s in op.inputs if s in index),
                frees=tuple(frees.get(i, ())),
                engines="+".join(dict.fromkeys(ph.engine for st in cost.stages for ph in st)),
            )
        )
    return _Plan(
        stream=stream,
        ops=tuple(planned),
        input_bytes=tuple(input_bytes),
        output_bytes=tuple(0 if op.is_free else op.output_bytes for op in net.ops),
        kept=kept,
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
        supported = {t: device.supported_kinds(t) for t in device.targets}
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
    check_supported(streams, device)
    check = getattr(device, "check", None)
    if check is not None:  # optional whole-network check (see sim.device)
        for stream in streams:
            check(stream.network, stream.target or device.targets[0])
    cost_cache: dict = {}
    plans = [_plan_stream(s, device, cost_cache) for s in streams]
    # Each distinct cost once (frames and streams share the cached Cost objects).
    _check_engines({id(p.cost): (p.op, p.cost) for plan in plans for p in plan.ops}.values(),
                   device)
    rngs = np.random.default_rng(seed).spawn(len(streams))
    run = _Run(device, plans, rngs)
    run.env.run()
    return run.report(seed)


class _ArbitratedResource(simpy.PriorityResource):
    """A priority resource that grants requests arriving at the same instant by priority.

    A plain SimPy resource grants a request the moment it is made if a slot is free, so of two
    requests at the same time the first made wins whatever its priority. Here a new request
    only schedules an arbitration at the current time; every request made before it runs is
    queued, and the arbitration grants them in priority order. Releases grant at once.
    """

    def __init__(self, env: simpy.Environment, capacity: int) -> None:
        super().__init__(env, capacity)
        self._arbitration_pending = False

    def _trigger_put(self, get_event) -> None:
        if get_event is not None:
            super()._trigger_put(get_event)
        elif not self._arbitration_pending:
            self._arbitration_pending = True
            arbitration = self._env.event()
            arbitration.callbacks.append(self._arbitrate)
            arbitration.succeed()

    def _arbitrate(self, _event) -> None:
        self._arbitration_pending = False
        # SimPy's _trigger_put grants at most the head request; grant while slots are free,
        # or a second free slot of a multi-slot engine idles until the next release.
        while self.put_queue and len(self.users) < self.capacity:
            super()._trigger_put(None)


class _Run:
    """One simulation: SimPy environment, engine resources, and the records it collects."""

    def __init__(self, device: Device, plans: list[_Plan], rngs) -> None:
        self.device = device
        self.plans = plans
        self.env = env = simpy.Environment()
        # Arbitration costs an event per request; pay it only when priorities can differ.
        priorities = {plan.stream.priority for plan in plans}
        resource = _ArbitratedResource if len(priorities) > 1 else simpy.PriorityResource
        self.resources = {e.name: resource(env, capacity=e.capacity) for e in device.engines}
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
                env.process(self._frame(plan, k, release))
            self.horizon_ps = max(self.horizon_ps, to_ps(s.offset_s + s.n_frames * s.period_s))

    def _alloc(self, n_bytes: int, t_ps: int) -> None:
        if n_bytes:
            self.memory_events.append((t_ps, n_bytes))

    def _free(self, n_bytes: int, t_ps: int) -> None:
        if n_bytes:
            self.memory_events.append((t_ps, -n_bytes))

    def _peak_bytes(self) -> int:
        """Peak of live activation bytes; at equal times, frees come before allocations."""
        if not self.memory_events:
            return 0
        events = np.array(sorted(self.memory_events), dtype=np.int64)
        return int(np.cumsum(events[:, 1]).max())

    def _frame(self, plan: _Plan, frame: int, release_ps: int):
        env = self.env
        if release_ps:
            yield env.timeout(release_ps)
        self._alloc(sum(plan.input_bytes), env.now)
        n = len(plan.ops)
        started = [env.event() for _ in range(n)]
        done = [env.event() for _ in range(n)]
        for i in range(n):
            env.process(self._op(plan, frame, i, started, done))
        yield env.all_of(done)
        finish_ps = env.now
        for i in plan.kept:
            self._free(plan.output_bytes[i], finish_ps)
        self.end_ps = max(self.end_ps, finish_ps)
        s = plan.stream
        latency_s = (finish_ps - release_ps) / PS_PER_S
        self.frame_records.append(
            FrameRecord(
                stream=s.name,
                frame=frame,
                release_s=release_ps / PS_PER_S,
                finish_s=finish_ps / PS_PER_S,
                latency_s=latency_s,
                deadline_s=s.deadline_s,
                missed=latency_s > s.deadline_s,
            )
        )

    def _hold(self, phase: Phase, priority: int, spans: list, on_start):
        """Hold one engine for one phase; append (engine, label, start_ps, end_ps) to spans.

        `on_start` (an event, or None) is triggered with the time the engine was granted, the
        first time any phase of the op gets its engine.
        """
        with self.resources[phase.engine].request(priority=priority) as req:
            yield req
            got = self.env.now
            if on_start is not None and not on_start.triggered:
                on_start.succeed(got)
            yield self.env.timeout(to_ps(phase.duration_s))
        spans.append((phase.engine, phase.label, got, self.env.now))

    def _stage(self, phases: tuple[Phase, ...], priority: int, spans: list, on_start):
        """An event that fires when all `phases` (run concurrently) have ended."""
        return self.env.all_of(
            [self.env.process(self._hold(p, priority, spans, on_start)) for p in phases]
        )

    def _after(self, events: list):
        """An event for all of `events` (the event itself when there is one)."""
        return events[0] if len(events) == 1 else self.env.all_of(events)

    def _op(self, plan: _Plan, frame: int, i: int, started, done):
        env = self.env
        p = plan.ops[i]
        prio = plan.stream.priority
        cost = p.cost
        spans: list = []
        prefetch = None
        if cost.prefetch:
            if p.producers:
                yield self._after([started[j] for j in p.producers])
            prefetch = self._stage(cost.prefetch, prio, spans, None)
        if p.producers:
            yield self._after([done[j] for j in p.producers])
        if prefetch is not None:
            yield prefetch
        ready_ps = env.now
        if not cost.stages:  # a free op (a view): starts and ends when ready
            started[i].succeed(ready_ps)
        for stage in cost.stages:
            if len(stage) == 1:  # the common case, inlined: no sub-process per phase
                yield from self._hold(stage[0], prio, spans, started[i])
            else:
                yield self._stage(stage, prio, spans, started[i])
        start_ps = started[i].value
        end_ps = env.now
        self._alloc(plan.output_bytes[i], start_ps)
        for key in p.frees:
            self._free(plan.output_bytes[key] if key >= 0 else plan.input_bytes[-1 - key], end_ps)
        self.op_records.append(
            OpRecord(
                stream=plan.stream.name,
                frame=frame,
                op=p.op.name,
                kind=p.op.kind.value,
                target=p.target,
                engines=p.engines,
                ready_s=ready_ps / PS_PER_S,
                start_s=start_ps / PS_PER_S,
                end_s=end_ps / PS_PER_S,
                bound_by=cost.bound_by,
                macs=p.op.effective_macs,
                bytes_moved=cost.bytes_moved,
                energy_j=cost.dynamic_energy_j,
                phases=tuple((e, lb, a / PS_PER_S, b / PS_PER_S) for e, lb, a, b in spans),
            )
        )
        done[i].succeed()

    def _totals(self) -> tuple[dict[str, float], dict[str, float]]:
        """Dynamic energy by component and bytes by level: every op's cost once per frame
        (costs are frame-invariant)."""
        energy: dict[str, float] = {}
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
        static_w = sum(e.static_power_w for e in self.device.engines)
        if static_w:
            energy["static"] = static_w * duration_s
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
        )
