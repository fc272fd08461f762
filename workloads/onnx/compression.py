"""The compression an ONNX file holds, attached to the imported ops: the weight and activation
bit-widths of quantized tensors (QDQ or QLinear*) and the sparsity scheme and ratio found in the
zeros of each weight (`workloads.onnx.detect`); zeroed filters become channel pruning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from workloads.compression import QuantScheme, SparsityScheme
from workloads.errors import TraceError
from workloads.network import Network
from workloads.onnx import detect
from workloads.onnx.convert import NodeError
from workloads.onnx.passes import Graph
from workloads.ops import OpKind


def _with_compression(network: Network, graph: Graph, *, weights: Mapping, act_inputs: Mapping,
                      act_outputs: Mapping, read_bits: Mapping, read_weights: bool,
                      source: str) -> Network:
    """Each op's compression as the file has it: bit-widths and weight sparsity.

    `weights` maps a weighted op to (its weight constant, that constant's ONNX name, ONNX ->
    edgesim layout); `act_inputs` / `act_outputs` to the ONNX names of its first activation
    input and its output; `read_bits` to the bits of a quantized input it reads through a
    removed Q/DQ. With `read_weights` false the sparsity is not detected.
    """
    g = graph
    channel: dict[float, list[str]] = {}
    ops = []
    for op in network.ops:
        comp = op.compression
        weight = weights.get(op.name)
        # The bits of what the op reads, or else of what it writes (a ReLU between a conv
        # and a QuantizeLinear reads the conv's wide accumulator, and writes int8).
        out = act_outputs.get(op.name, "")
        act_bits = (read_bits.get(op.name)
                    or g.activation_bits.get(act_inputs.get(op.name, ""))
                    or g.activation_bits.get(out) or g.quantized_after.get(out))
        wq = g.weight_quant.get(weight[1]) if weight else None
        if wq is not None or act_bits is not None:
            w_bits = wq.bits if wq is not None else (act_bits if weight is None else 32)
            comp = replace(comp, quant=QuantScheme.FIXED, weight_bits=w_bits,
                           activation_bits=act_bits or 32)
        if weight is not None and read_weights:
            try:
                value = weight[2](weight[0].value)
            except NodeError as err:
                raise TraceError(f"{source}: op {op.name!r}: {err}") from None
            is_3x3 = op.kind is OpKind.CONV2D and op.attrs.groups == 1
            found = detect.detect_sparsity(value, kernel_3x3=is_3x3)
            if found is not None and found.scheme is SparsityScheme.CHANNEL:
                channel.setdefault(found.ratio, []).append(op.name)
            elif found is not None:
                comp = replace(comp, sparsity=found.scheme, sparsity_ratio=found.ratio,
                               block_shape=found.block_shape, n_m=found.n_m)
        ops.append(op if comp is op.compression else op.replace(compression=comp))
    network = replace(network, ops=tuple(ops))
    for ratio, names in sorted(channel.items()):
        # Zeroed filters: the layer as channel pruning would leave it, fewer filters.
        pruned = network.pruned(SparsityScheme.CHANNEL, ratio, names=names)
        network = replace(pruned, name=network.name)
        for name in names:
            op = network[name]
            if op.compression.sparsity is not SparsityScheme.CHANNEL:
                # Not prunable (its output reaches an add or an output): skip the zeros.
                comp = replace(op.compression, sparsity=SparsityScheme.UNSTRUCTURED,
                               sparsity_ratio=ratio)
                network = replace(network, ops=tuple(
                    o.replace(compression=comp) if o.name == name else o for o in network.ops
                ))
    return network

