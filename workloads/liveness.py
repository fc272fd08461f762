"""Tensor lifetimes of a network run one op at a time in topological order: the one liveness
analysis the engine's planner, `Network.activation_peak_bytes` and the MCU memory planner read.

`lifetimes(network)` says which memory holds each tensor (a free reshape is a view of its
source, `storage_roots`), how large each stored tensor is, the step that produces it and the
last step that needs it, what each op reads and writes, and so the live set and live bytes at
every step. Sizes are the network's own (`Op.output_bytes`, `Op.input_bytes_of`) unless the
caller passes a device's (an MCU plans float networks at their int8 deployment). A device that
writes an op's output over a dying input (in-place kernels) subtracts its saving per step
(`Lifetimes.live_bytes(saving_bytes)`): that is a fact of the device's kernels, not of the
network, so it stays with the device.

Pure functions of a `Network`; `Network.lifetimes` keeps the default analysis once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workloads.network import Network
    from workloads.ops import Op

__all__ = [
    "Lifetimes", "activation_peak_bytes", "lifetimes", "storage_roots",
    "tensor_sizes_and_last_use",
]


def storage_roots(network: Network) -> dict[str, str]:
    """Tensor name -> the tensor whose memory holds it (a view's source, else itself).

    A free reshape is a view: reading it reads its source, which must stay alive.
    """
    root = {s.name: s.name for s in network.inputs}
    for op in network.ops:
        root[op.name] = root[op.inputs[0]] if op.is_free else op.name
    return root


@dataclass(frozen=True, slots=True)
class Lifetimes:
    """Where every stored tensor lives in the schedule of a network run op by op.

    Stored tensors ("roots": network inputs, then the outputs of ops that are not views) are
    numbered in that order; step i is op i. Invariants: `born[t] <= last[t]`; a network input
    is born at step 0; the root of a network output lives to the last step.
    """

    names: tuple[str, ...]
    """Root names: the network inputs first, then op outputs (views excluded)."""
    index: Mapping[str, int]
    """Root name -> its number."""
    n_inputs: int
    """How many roots are network inputs (numbers 0 .. n_inputs - 1)."""
    size_bytes: tuple[int, ...]
    """Bytes of each root. A network input is sized at the largest size an op reads it at
    directly (0 when it is read only through views)."""
    born: tuple[int, ...]
    """Step that produces each root (network inputs: 0)."""
    last: tuple[int, ...]
    """Last step each root is live: its last reader, or the last step for a network output's
    root; a tensor nobody reads dies at the step that produced it."""
    reads: tuple[tuple[int, ...], ...]
    """Per op: the distinct roots it reads, in the order of its inputs."""
    output: tuple[int, ...]
    """Per op: the root it writes (-1 for a view, which writes nothing)."""
    kept: frozenset[int]
    """Roots of the network outputs (live to the end of a run, freed when the frame ends)."""
    frees: tuple[tuple[int, ...], ...]
    """Per op: the roots that die when it ends (not kept, last live at that step), in root
    order."""

    @property
    def n_steps(self) -> int:
        return len(self.output)

    def live_sets(self) -> tuple[tuple[int, ...], ...]:
        """Per op: the roots live while it runs (born at or before it, last live at or after
        it), in root order."""
        born_at: list[list[int]] = [[] for _ in range(self.n_steps)]
        for t, step in enumerate(self.born):
            if self.n_steps:
                born_at[step].append(t)
        live: list[int] = []
        sets = []
        for i in range(self.n_steps):
            live = sorted([t for t in live if self.last[t] >= i] + born_at[i])
            sets.append(tuple(live))
        return tuple(sets)

    def live_bytes(self, saving_bytes: Sequence[int] | None = None) -> tuple[int, ...]:
        """Per op: bytes of the roots live while it runs, less `saving_bytes[i]` (what a
        device's in-place kernel saves at op i; none by default)."""
        events = [0] * (self.n_steps + 1)
        for t, size in enumerate(self.size_bytes):
            events[self.born[t]] += size
            events[self.last[t] + 1] -= size
        live = 0
        totals = []
        for i in range(self.n_steps):
            live += events[i]
            totals.append(live - (saving_bytes[i] if saving_bytes is not None else 0))
        return tuple(totals)

    def peak_bytes(self, saving_bytes: Sequence[int] | None = None) -> int:
        """Largest `live_bytes(saving_bytes)` over the schedule (0 for a network of no ops)."""
        return max(self.live_bytes(saving_bytes), default=0)


def _network_input_bytes(op: Op, index: int) -> int:
    return op.input_bytes_of(index)


def _network_output_bytes(op: Op) -> int:
    return op.output_bytes


def lifetimes(
    network: Network,
    input_bytes: Callable[[Op, int], int] = _network_input_bytes,
    output_bytes: Callable[[Op], int] = _network_output_bytes,
) -> Lifetimes:
    """The lifetimes of `network`'s tensors, sized by `output_bytes(op)` (an op's output) and
    `input_bytes(op, j)` (input j of an op reading a network input directly); both default to
    the network's own sizes at its declared precisions."""
    root = network.storage_roots
    names: list[str] = []
    index: dict[str, int] = {}
    for spec in network.inputs:
        index[spec.name] = len(names)
        names.append(spec.name)
    n_inputs = len(names)
    sizes = [0] * n_inputs
    born = [0] * n_inputs
    last = [0] * n_inputs
    reads: list[tuple[int, ...]] = []
    output: list[int] = []
    for i, op in enumerate(network.ops):
        seen: list[int] = []
        for j, src in enumerate(op.inputs):
            r = index[root[src]]
            if r < n_inputs and src == names[r]:  # a network input read directly
                sizes[r] = max(sizes[r], input_bytes(op, j))
            last[r] = i
            if r not in seen:
                seen.append(r)
        reads.append(tuple(seen))
        if op.is_free:
            output.append(-1)
            continue
        index[op.name] = len(names)
        output.append(len(names))
        names.append(op.name)
        sizes.append(output_bytes(op))
        born.append(i)
        last.append(i)
    kept = frozenset(index[root[o]] for o in network.outputs)
    end = len(network.ops) - 1
    for t in kept:
        last[t] = max(end, 0)
    frees: list[list[int]] = [[] for _ in network.ops]
    for t, step in enumerate(last):
        if t not in kept and frees:
            frees[step].append(t)
    return Lifetimes(
        names=tuple(names), index=index, n_inputs=n_inputs, size_bytes=tuple(sizes),
        born=tuple(born), last=tuple(last), reads=tuple(reads), output=tuple(output),
        kept=kept, frees=tuple(tuple(f) for f in frees),
    )


def tensor_sizes_and_last_use(network: Network) -> tuple[dict[str, int], dict[str, int]]:
    """(bytes of each tensor that occupies memory, index of the last op that reads it), by
    name: `lifetimes(network)` as two dicts.

    Views (free reshapes) occupy nothing; reading one keeps its storage root alive. A network
    input is sized at the largest precision an op reads it at; network outputs stay live to the
    last op.
    """
    lt = network.lifetimes
    return dict(zip(lt.names, lt.size_bytes)), dict(zip(lt.names, lt.last))


def activation_peak_bytes(network: Network) -> int:
    """Peak live activation bytes running ops one at a time in topological order.

    A tensor is live from the step that produces it (network inputs: from the start) to the
    last step that reads it; network outputs stay live to the end.
    """
    return network.lifetimes.peak_bytes()
