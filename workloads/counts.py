"""What an op costs in the abstract, per inference: MACs (dense and after sparsity), vector
operations, parameters, and bytes of weights, inputs and outputs at their bit-widths.

`OpCounts` is a base class of `workloads.ops.Op` holding these counts as cached properties (ops
are immutable); it reads only the op's fields (kind, shapes, attrs, compression, members).
"""

from __future__ import annotations

import math
from functools import cached_property

from workloads.attrs import INDEX_BITS, NormKind, OpKind, UpsampleMode
from workloads.compression import SparsityScheme

# Index tensors are held at INDEX_BITS, not the activation bits: these operands of these kinds,
# and the outputs of neighbour searches.
_INDEX_INPUTS = {OpKind.EMBEDDING: (0,), OpKind.GATHER: (1,), OpKind.SCATTER: (1,)}
_INDEX_OUTPUT = frozenset({OpKind.KNN, OpKind.BALL_QUERY})


class OpCounts:
    """Per-inference counts of an `Op` (its base class; see the module doc)."""

    @cached_property
    def macs(self) -> int:
        """Dense multiply-accumulates per inference."""
        k, out, w = self.kind, self.output_shape, self.weight_shape
        if k is OpKind.CONV2D:
            return math.prod(out) * w[1] * w[2] * w[3]
        if k is OpKind.LINEAR:
            return math.prod(out) * w[1]
        if k is OpKind.MATMUL:
            return math.prod(out) * self.input_shapes[0][-1]
        if k is OpKind.SPARSE_CONV3D:
            return self.attrs.n_pairs * w[1] * w[2]
        if k is OpKind.FUSED:
            return sum(m.macs for m in self.members)
        return 0

    @cached_property
    def effective_macs(self) -> int:
        """MACs left after weight sparsity (channel pruning already shrank the shapes)."""
        if self.kind is OpKind.FUSED:
            return sum(m.effective_macs for m in self.members)
        comp = self.compression
        if comp.sparsity in (SparsityScheme.DENSE, SparsityScheme.CHANNEL):
            return self.macs
        return round(self.macs * comp.density)

    @cached_property
    def vector_ops(self) -> int:
        """Non-MAC element operations per inference (approximate op counts per element).

        Pool: one per window element; add/mul/activation: one per output; batch norm
        (inference, scale + shift): two; layer norm: five (mean, variance, normalise, scale,
        shift); softmax: three (exp, sum, divide); point mapping: one per coordinate of every
        distance evaluated (a 128-dimensional feature-space kNN costs 128 per pair, not 1).
        """
        k, n_out = self.kind, math.prod(self.output_shape)
        if k is OpKind.POOL:
            return n_out * self.attrs.kernel[0] * self.attrs.kernel[1]
        if k in (OpKind.ADD, OpKind.MUL, OpKind.ACTIVATION):
            return n_out
        if k is OpKind.NORM:
            return n_out * (2 if self.attrs.kind is NormKind.BATCH else 5)
        if k is OpKind.SOFTMAX:
            return 3 * n_out
        if k is OpKind.FPS:  # each sample updates every point's distance: D ops each
            return self.input_shapes[0][0] * self.output_shape[0] * self.input_shapes[0][1]
        if k in (OpKind.KNN, OpKind.BALL_QUERY):  # every query-point distance, D dims each
            return self.input_shapes[0][0] * self.input_shapes[1][0] * self.input_shapes[0][1]
        if k is OpKind.SCATTER:
            return math.prod(self.input_shapes[0])
        if k is OpKind.UPSAMPLE and self.attrs.mode is UpsampleMode.BILINEAR:
            return 4 * n_out
        if k is OpKind.FUSED:
            return sum(m.vector_ops for m in self.members)
        return 0

    @cached_property
    def params(self) -> int:
        """Learned parameters (weights, bias, norm scale and shift), dense."""
        k = self.kind
        if k is OpKind.FUSED:
            return sum(m.params for m in self.members)
        n = math.prod(self.weight_shape) if self.weight_shape else 0
        if k is OpKind.CONV2D and self.attrs.bias:
            n += self.weight_shape[0]
        elif k is OpKind.LINEAR and self.attrs.bias:
            n += self.weight_shape[0]
        elif k is OpKind.NORM:
            shape = self.output_shape
            n += 2 * (shape[1] if self.attrs.kind is NormKind.BATCH else shape[-1])
        return n

    @cached_property
    def nonzero_params(self) -> int:
        """Parameters kept after sparsity (biases and norm parameters are never pruned)."""
        if self.kind is OpKind.FUSED:
            return sum(m.nonzero_params for m in self.members)
        comp = self.compression
        if comp.sparsity in (SparsityScheme.DENSE, SparsityScheme.CHANNEL):
            return self.params
        weights = math.prod(self.weight_shape)
        return self.params - weights + round(weights * comp.density)

    @cached_property
    def weight_bytes(self) -> int:
        """Bytes of kept parameters at their bit-widths (no sparse-format index overhead)."""
        if self.kind is OpKind.FUSED:
            return sum(m.weight_bytes for m in self.members)
        return math.ceil(self.nonzero_params * self.compression.mean_weight_bits / 8)

    def input_bytes_of(self, index: int) -> int:
        """Bytes of input `index` (index tensors at INDEX_BITS, others at activation bits)."""
        bits = INDEX_BITS if index in _INDEX_INPUTS.get(self.kind, ()) else self._act_bits
        return math.ceil(math.prod(self.input_shapes[index]) * bits / 8)

    @cached_property
    def input_bytes(self) -> int:
        """Bytes of all inputs read from outside the op."""
        return sum(self.input_bytes_of(i) for i in range(len(self.input_shapes)))

    @cached_property
    def output_bytes(self) -> int:
        """Bytes of the output tensor."""
        if self.kind is OpKind.FUSED:
            return self.members[-1].output_bytes
        bits = INDEX_BITS if self.kind in _INDEX_OUTPUT else self._act_bits
        return math.ceil(math.prod(self.output_shape) * bits / 8)

    @cached_property
    def weight_bytes_read(self) -> int:
        """Bytes of weights one inference reads: an embedding reads only the rows it looks up
        (one row per index at the weight bits, at most the whole table); every other op all
        its kept weights."""
        if self.kind is OpKind.FUSED:
            return sum(m.weight_bytes_read for m in self.members)
        if self.kind is OpKind.EMBEDDING:
            return min(self.weight_bytes,
                       math.ceil(math.prod(self.output_shape) * self.compression.mean_weight_bits / 8))
        return self.weight_bytes

    @cached_property
    def input_bytes_read(self) -> int:
        """Bytes of inputs one inference reads: a gather reads its indices and one feature row
        per index (at most the whole
        feature tensor); every other op all of its inputs."""
        if self.kind is OpKind.GATHER:
            rows = math.ceil(math.prod(self.output_shape) * self._act_bits / 8)
            return self.input_bytes_of(1) + min(rows, self.input_bytes_of(0))
        return self.input_bytes

    @cached_property
    def intermediate_bytes(self) -> int:
        """FUSED only: bytes of the tensors passed between members (kept on chip)."""
        return sum(m.output_bytes for m in self.members[:-1])

    @property
    def _act_bits(self) -> int:
        return self.compression.activation_bits
