"""How one frame runs: the per-op and per-frame state machines, driven by callbacks.

A `FrameRun` is one frame of a stream, released at its release time; it makes one `OpRun` per
op of the stream's `Plan`. An op counts its producers down, starts its weight prefetch once
every producer has started, then holds the engines its `Cost` names stage by stage (through
the run's `sim.queues.EngineQueue`s) and, when its last stage ends, books its tensors and its
`OpRecord` and tells its consumers. The last op of a frame books the `FrameRecord`. No SimPy
process is involved: each step is a callback the run (`sim.engine.Run`) schedules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.clock import PS_PER_S
from sim.device import Phase
from sim.plan import Plan
from sim.report import FrameRecord, OpRecord

if TYPE_CHECKING:
    from sim.engine import Run


class OpRun:
    """One op of one frame: counts its producers down, then runs its stages on the engines."""

    __slots__ = ("run", "frame", "p", "i", "n_waiting", "n_unstarted", "prefetch_left",
                 "ready_ps", "start_ps", "stage", "phases_left", "spans", "consumers",
                 "requesting", "announced")

    def __init__(self, frame: FrameRun, i: int) -> None:
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
        """One producer has started; when all have, the weight prefetch (if any) begins."""
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
        """One producer has ended; when all have and the prefetch is done, the op is ready."""
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


class FrameRun:
    """One frame of a stream: its ops, released at `release_ps`."""

    __slots__ = ("run", "plan", "k", "release_ps", "priority", "ops", "n_left", "consumers")

    def __init__(self, run: Run, plan: Plan, k: int, release_ps: int) -> None:
        self.run = run
        self.plan = plan
        self.k = k
        self.release_ps = release_ps
        self.priority = plan.stream.priority
        self.ops: list[OpRun] = []
        self.n_left = len(plan.ops)

    def release(self) -> None:
        """Release the frame now: allocate its inputs and begin the ops with no producers."""
        run, plan = self.run, self.plan
        run.alloc(plan.input_bytes, run.now)
        self.ops = [OpRun(self, i) for i in range(len(plan.ops))]
        for op in self.ops:
            if not op.p.producers:
                op.begin()

    def op_started(self, i: int) -> None:
        """Op `i` holds its first engine: tell its consumers (their prefetch may start)."""
        for j in self.plan.consumers[i]:
            self.ops[j].producer_started()

    def op_done(self, op: OpRun) -> None:
        """`op` has ended: book its tensors and record, tell its consumers, maybe end the frame."""
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
