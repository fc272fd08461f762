"""Where each op of a network runs on a device with several targets (`Stream.placement`).

`branch_placement` is YOLObile's GPU-CPU collaborative rule (Cai et al., AAAI 2021, arXiv
2009.05697: the GPU runs the network and the CPU takes parallel branches, 17 -> 19.1 FPS on a
Galaxy S20), as a branch-level choice made from the device's own costs. At every fork of the
network's DAG (an op whose output several ops read), the parallel branches up to their join
are ranked by their time on the default target; the longest stays there, and each other
branch, longest first, goes to the target on which the frame finishes first: on the default
target it runs after the branches already there; on another target it runs beside them, after
its inputs are handed over (`Device.transfer`), and handing its outputs back occupies the
default target. "Finishes first" is measured, not estimated: each candidate is one run of the
engine (`sim.simulate`) on the device's costs, so queueing and the units' shared DRAM count.
A branch moved off the default target takes its nested
forks with it. `parse_place` reads the command line's `--place OP=TARGET`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sim.device import Device, bind_network
from sim.engine import Stream, simulate
from workloads import Network, SpecError
from workloads.errors import suggest


@dataclass(frozen=True)
class Branch:
    """One parallel branch of a fork: the ops only it runs, from the fork up to the join."""

    fork: int
    """Index of the op whose output the branch reads."""
    ops: tuple[int, ...]
    """Indices of the branch's ops, in network order (never empty)."""
    join: int | None
    """Index of the first op every branch of the fork reaches; None when they end in separate
    network outputs."""


def forks(network: Network) -> tuple[tuple[Branch, ...], ...]:
    """The parallel branches of every fork of `network` that has at least two, in op order.

    A fork's branch through consumer c is the set of ops reachable from c, reachable from no
    other consumer of the fork and before the fork's join (the first op all consumers reach).
    A residual block's identity edge is an empty branch, so a plain residual block is no fork.
    """
    ops = network.ops
    index = {op.name: i for i, op in enumerate(ops)}
    consumers: list[list[int]] = [[] for _ in ops]
    for j, op in enumerate(ops):
        for i in dict.fromkeys(index[s] for s in op.inputs if s in index):
            consumers[i].append(j)
    # Descendants of each op (itself included) as bit sets, built from the outputs back.
    below = [0] * len(ops)
    for i in range(len(ops) - 1, -1, -1):
        bits = 1 << i
        for c in consumers[i]:
            bits |= below[c]
        below[i] = bits
    out = []
    for f, cons in enumerate(consumers):
        if len(cons) < 2:
            continue
        common = below[cons[0]]
        for c in cons[1:]:
            common &= below[c]
        join = (common & -common).bit_length() - 1 if common else None
        before = (1 << join) - 1 if join is not None else -1
        branches = []
        for c in cons:
            others = 0
            for d in cons:
                if d != c:
                    others |= below[d]
            own = below[c] & ~others & before
            if own:
                branches.append(Branch(f, _indices(own), join))
        if len(branches) >= 2:
            out.append(tuple(branches))
    return tuple(out)


def _indices(bits: int) -> tuple[int, ...]:
    found = []
    while bits:
        low = bits & -bits
        found.append(low.bit_length() - 1)
        bits ^= low
    return tuple(found)


def branch_placement(network: Network, device: Device, *, target: str | None = None,
                     units: Sequence[str] | None = None) -> dict[str, str]:
    """Op name -> target for the ops YOLObile's rule moves off `target` (see the module doc).

    `target` is the default unit (None: the device's first target); `units` are the targets a
    branch may move to (None: every other target of the device). Each trial is one run of
    the engine on the device's own costs and hand-offs (deterministic), so a branch moves only
    when the frame finishes sooner. SpecError for an unknown target.
    """
    default = target or device.targets[0]
    candidates = [u for u in (device.targets if units is None else units) if u != default]
    for name in (default, *candidates):
        if name not in device.targets:
            raise SpecError(f"device {device.name!r} has no target {name!r}"
                            f"{suggest(name, device.targets)}; choose one of {list(device.targets)}")
    ops = network.ops
    kinds = {u: device.supported_kinds(u) for u in (default, *candidates)}

    def runs_on(branch: Branch, unit: str) -> bool:
        return all(m.kind in kinds[unit] for i in branch.ops for m in (ops[i].members or (ops[i],)))

    def latency_s(placement: dict[str, str]) -> float:
        stream = Stream(network=network, target=default, placement=placement)
        return simulate(stream, device).latency_s

    bound = bind_network(device, network)  # ranks branches on the costs the engine will use
    placement: dict[str, str] = {}
    best_s = latency_s(placement)
    for branches in forks(network):
        if ops[branches[0].fork].name in placement:
            continue  # inside a branch already moved: its nested forks move with it
        open_branches = [b for b in branches if not any(ops[i].name in placement for i in b.ops)]
        if len(open_branches) < 2:
            continue
        weight = {b: sum(bound.cost(ops[i], default).latency_s for i in b.ops)
                  for b in open_branches}
        for branch in sorted(open_branches, key=lambda b: -weight[b])[1:]:
            best = None
            for unit in candidates:
                if not runs_on(branch, unit):
                    continue
                trial = {**placement, **{ops[i].name: unit for i in branch.ops}}
                trial_s = latency_s(trial)
                if trial_s < best_s:
                    best, best_s = trial, trial_s
            if best is not None:
                placement = best
    return placement


def parse_place(texts: Iterable[str], network: Network, device: Device) -> dict[str, str]:
    """`OP=TARGET` assignments (the command line's repeatable `--place`) as op name -> target.

    SpecError naming the text, with the closest op or target, for a missing '=', an op the
    network lacks or a target the device lacks.
    """
    names = [op.name for op in network.ops]
    known = set(names)
    placement: dict[str, str] = {}
    for text in texts:
        op, sep, target = text.partition("=")
        op, target = op.strip(), target.strip()
        if not sep or not op or not target:
            raise SpecError(f"--place {text!r}: expected OP=TARGET, e.g. --place L3.conv=cpu")
        if op not in known:
            # A fused op is named after its members ('L19.conv+bn+leaky_relu'): a member's
            # name finds it before a spelling match does.
            within = [n for n in names if op in n.split("+") or n.startswith(op)]
            hint = f" (did you mean {within[0]!r}?)" if within else suggest(op, names)
            raise SpecError(f"--place {text!r}: network {network.name!r} has no op {op!r}"
                            f"{hint}; `edgesim trace show` lists its ops")
        if target not in device.targets:
            raise SpecError(f"--place {text!r}: device {device.name!r} has no target {target!r}"
                            f"{suggest(target, device.targets)}; choose one of "
                            f"{list(device.targets)}")
        placement[op] = target
    return placement
