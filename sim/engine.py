"""The discrete-event engine: plays networks on a device with SimPy and returns a `Report`.

Time is integer picoseconds on the SimPy clock (`sim.clock`), so simultaneous events tie
exactly and the run is deterministic; reports convert to seconds. `simulate` checks the request
(`sim.checks`), plans each stream (`sim.plan`), then runs: each op of each frame is a small
state machine (`sim.execution`) driven by callbacks on SimPy events: it counts its producers
down, then holds the engines its `Cost` names, stage by stage. Each engine keeps its waiting
phases in a heap (`sim.queues`) keyed (priority, request time, request order): a stream's
`priority` (lower first) orders contended requests, and requests of equal priority are served
first come, first served. The records become the `Report` in `sim.report_assembly`.

The names that used to live here (`Stream`, `check_supported`, `MAX_OP_INSTANCES`,
`MAX_CLOCK_PS`, `PS_PER_S`, `to_ps`) are still importable from this module.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Sequence

import numpy as np
import simpy

from sim.checks import MAX_OP_INSTANCES, check_engines, check_request, check_supported
from sim.clock import MAX_CLOCK_PS, PS_PER_S, to_ps
from sim.device import Device, Phase, bind_network, check_network
from sim.execution import FrameRun
from sim.plan import Plan, plan_stream
from sim.queues import EngineQueue
from sim.registry import call_plugin, origin_of
from sim.report import FrameRecord, OpRecord, Report
from sim.report_assembly import assemble_report
from sim.stream import Stream
from workloads import Network

__all__ = ["MAX_CLOCK_PS", "MAX_OP_INSTANCES", "PS_PER_S", "Run", "Stream", "check_supported",
           "simulate", "to_ps"]


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
    check_request(streams, seed)
    check_supported(streams, device)
    # Each stream is priced on the device bound to its network (`Device.for_network`, optional),
    # and that bound device checks the network as a whole (`Device.check`, optional).
    bound = [call_plugin(bind_network, lambda: f"device {device.name!r} ({origin_of(device)}) for_network()",
                         device, s.network) for s in streams]
    for stream, board in zip(streams, bound):
        call_plugin(check_network, lambda: f"device {device.name!r} ({origin_of(device)}) check()",
                    board, stream.network, stream.target or device.targets[0])
    cost_cache: dict = {}
    plans = [plan_stream(s, d, cost_cache) for s, d in zip(streams, bound)]
    # Each distinct cost once (frames and streams share the cached Cost objects).
    check_engines({id(p.cost): (p.op, p.cost) for plan in plans for p in plan.ops}.values(),
                  device)
    rngs = np.random.default_rng(seed).spawn(len(streams))
    # A run allocates a few small objects per op and frees them only at its end; with the
    # collector on, its full passes re-scan every record made so far, and a stream of many
    # frames cost frames^1.2. The run's few reference cycles are collected after it.
    collecting = gc.isenabled()
    gc.disable()
    try:
        run = Run(device, plans, rngs)
        run.env.run()
        return assemble_report(device, plans, run.op_records, run.frame_records,
                               run.memory_events, max(run.end_ps, run.horizon_ps), seed)
    finally:
        if collecting:
            gc.enable()


class Run:
    """One simulation: SimPy environment, engines, and the records it collects.

    The SimPy clock orders every happening; ops and frames are small state machines driven by
    callbacks on SimPy events rather than generator processes, so an op with one phase costs
    one event (its end) instead of the seven a process, a resource request and a release took.
    """

    def __init__(self, device: Device, plans: Sequence[Plan], rngs) -> None:
        self.env = simpy.Environment()
        self._seq = 0
        self._durations: dict[int, int] = {}
        # Arbitration costs an event per instant; pay it only when priorities can differ.
        arbitrated = len({plan.stream.priority for plan in plans}) > 1
        self.resources = {e.name: EngineQueue(self, e.capacity, arbitrated) for e in device.engines}
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
                frame = FrameRun(self, plan, k, release)
                self.at(release, frame.release)
            self.horizon_ps = max(self.horizon_ps, to_ps(s.offset_s + s.n_frames * s.period_s))

    @property
    def now(self) -> int:
        """The clock, ps."""
        return self.env._now

    def next_seq(self) -> int:
        """A number larger than every one given before: the request order in a queue's heap."""
        self._seq += 1
        return self._seq

    def duration_ps(self, phase: Phase) -> int:
        """`phase.duration_s` on the clock, ps."""
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
        """Book `n_bytes` of activations allocated at `t_ps`."""
        if n_bytes:
            self.memory_events.append((t_ps, n_bytes))

    def free(self, n_bytes: int, t_ps: int) -> None:
        """Book `n_bytes` of activations freed at `t_ps`."""
        if n_bytes:
            self.memory_events.append((t_ps, -n_bytes))
