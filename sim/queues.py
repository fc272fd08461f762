"""The engines' queues: each engine's free slots and its heap of waiting phases.

A phase asks its engine for a slot (`EngineQueue.request`) and gives it back when it ends
(`release`); the heap decides who is served next, by stream priority, then request time, then
request order. The run (`sim.engine`) makes one queue per `EngineSpec` the device declares.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.engine import Run


class EngineQueue:
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

    def __init__(self, run: Run, capacity: int, arbitrated: bool) -> None:
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
        """Give a slot back; the head of the heap, if any, is granted it now."""
        self.free += 1
        if self.waiting:
            self._serve()
