"""Tensor lifetimes of a network run one op at a time in topological order: which memory holds
each tensor (`storage_roots`: a free reshape is a view of its source), how large each is and
the last step that reads it (`tensor_sizes_and_last_use`), and the resulting peak of live
activation bytes (`activation_peak_bytes`).

Pure functions of a `Network`; `Network.activation_peak_bytes()` and `Network.storage_roots`
call them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workloads.network import Network

__all__ = ["activation_peak_bytes", "storage_roots", "tensor_sizes_and_last_use"]


def storage_roots(network: Network) -> dict[str, str]:
    """Tensor name -> the tensor whose memory holds it (a view's source, else itself).

    A free reshape is a view: reading it reads its source, which must stay alive.
    """
    root = {s.name: s.name for s in network.inputs}
    for op in network.ops:
        root[op.name] = root[op.inputs[0]] if op.is_free else op.name
    return root


def tensor_sizes_and_last_use(network: Network) -> tuple[dict[str, int], dict[str, int]]:
    """(bytes of each tensor that occupies memory, index of the last op that reads it).

    Views (free reshapes) occupy nothing; reading one keeps its storage root alive. A network
    input is sized at the largest precision an op reads it at; network outputs stay live to the
    last op.
    """
    sizes: dict[str, int] = {}
    last_use: dict[str, int] = {}
    root = network.storage_roots
    end = len(network.ops) - 1
    inputs = {spec.name for spec in network.inputs}
    for spec in network.inputs:
        sizes[spec.name] = 0
        last_use[spec.name] = 0
    for i, op in enumerate(network.ops):
        if not op.is_free:
            sizes[op.name] = op.output_bytes
            last_use[op.name] = i
        for j, src in enumerate(op.inputs):
            last_use[root[src]] = i
            if src in inputs:  # network input: size at this op's precision
                sizes[src] = max(sizes[src], op.input_bytes_of(j))
    for out in network.outputs:
        last_use[root[out]] = end
    return sizes, last_use


def activation_peak_bytes(network: Network) -> int:
    """Peak live activation bytes running ops one at a time in topological order.

    A tensor is live from the step that produces it (network inputs: from the start) to the
    last step that reads it; network outputs stay live to the end.
    """
    sizes, last_use = tensor_sizes_and_last_use(network)
    born = {s.name: 0 for s in network.inputs}
    born.update({op.name: i for i, op in enumerate(network.ops)})
    events = [0] * (len(network.ops) + 1)
    for name, size in sizes.items():
        events[born[name]] += size
        events[last_use[name] + 1] -= size
    peak = live = 0
    for delta in events[:-1]:
        live += delta
        peak = max(peak, live)
    return peak
