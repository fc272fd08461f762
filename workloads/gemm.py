"""The GEMM view of an op: the matrix product a matrix engine (systolic array, crossbar, tensor
core) actually computes for a conv2d, linear or matmul layer.

An op is `groups` independent products (M x K) @ (K x N): M output rows (pixels or tokens,
batch included), reduction depth K and N output columns. Convolutions are lowered by im2col
(K = Cin / groups * kh * kw, N = Cout / groups, M = batch * Ho * Wo), grouped and depthwise ones
into one product per group (depthwise: groups = Cin, K = kh * kw, N = channel multiplier). A
fused op is viewed by its anchor. `groups * m * k * n` always equals `op.macs` of the layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from workloads.attrs import OpKind

if TYPE_CHECKING:  # Op's `gemm` property calls gemm_of: this module must not import it back
    from workloads.ops import Op

GEMM_KINDS = frozenset({OpKind.CONV2D, OpKind.LINEAR, OpKind.MATMUL})
"""Kinds with a GEMM view (and FUSED ops anchored on one of them)."""


@dataclass(frozen=True, slots=True)
class Gemm:
    """`groups` independent (m x k) @ (k x n) products."""

    groups: int
    m: int
    """Output rows per group (im2col rows: batch x output pixels, or tokens)."""
    k: int
    """Reduction depth."""
    n: int
    """Output columns per group (filters, output features)."""
    ifmap_words: int
    """Distinct input elements the products read: the input tensor itself, not its im2col
    expansion (a 3x3 convolution reads each pixel up to 9 times but stores it once)."""

    @property
    def macs(self) -> int:
        return self.groups * self.m * self.k * self.n

    @property
    def filter_words(self) -> int:
        """Weight elements over all groups."""
        return self.groups * self.k * self.n

    @property
    def ofmap_words(self) -> int:
        """Output elements over all groups."""
        return self.groups * self.m * self.n


def gemm_of(op: Op) -> Gemm | None:
    """The GEMM view of `op` (its anchor if fused), or None for kinds without one."""
    op = op.anchor
    kind, w, x = op.kind, op.weight_shape, op.input_shapes[0] if op.input_shapes else ()
    if kind is OpKind.CONV2D:
        g = op.attrs.groups
        return Gemm(groups=g, m=math.prod(op.output_shape) // w[0], k=w[1] * w[2] * w[3],
                    n=w[0] // g, ifmap_words=math.prod(x))
    if kind is OpKind.LINEAR:
        return Gemm(groups=1, m=math.prod(x[:-1]), k=w[1], n=w[0], ifmap_words=math.prod(x))
    if kind is OpKind.MATMUL:
        y = op.input_shapes[1]
        return Gemm(groups=math.prod(x[:-2]), m=x[-2], k=x[-1], n=y[-1],
                    ifmap_words=math.prod(x))
    return None
