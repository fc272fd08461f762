"""Cycle counts of the GEMM tile, shared by the device cost model and the cycle-accurate RTL.

The compute engine is the loop-unrolled "Tm x Tn" multiplier array of Zhang et al., "Optimizing
FPGA-based accelerator design for deep convolutional neural networks" (FPGA 2015, Sec. 3-4),
which Mix and Match (arXiv 2012.04240), ILMPQ (arXiv 2111.00155) and Auto-ViT-Acc
(arXiv 2208.05163) build on: `rows` output channels (rows of the weight matrix) in parallel,
each fed `cols` products per cycle through an adder tree into its accumulator. One *tile* is
`rows` outputs of a length-`k` dot product; it takes ceil(k / cols) beats, and consecutive tiles
stream back to back because the accumulator reloads (instead of adding) on a tile's first beat.

`tile_cycles` is the one formula both sides use: `accelerators.fpga.rtl` is checked cycle for
cycle against it, and `accelerators.fpga.device` prices every conv/linear/matmul with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from workloads import Op, OpKind, SpecError

PIPELINE_DEPTH_CYCLES = 3
"""Cycles a run adds beyond its beats: one to latch the configuration (start), one for the
product registers, one for the accumulate-and-requantize register (see rtl.tile)."""


def _check_count(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SpecError(f"tile_cycles: {name!r} must be an int >= {minimum} (got {value!r})")
    return value


def k_steps(k: int, cols: int) -> int:
    """Beats per tile: ceil(k / cols) (the reduction is zero-padded to a multiple of cols)."""
    return -(-k // cols)


def tile_cycles(
    rows: int,
    cols: int,
    k: int,
    n_tiles: int,
    *,
    pipeline_depth_cycles: int = PIPELINE_DEPTH_CYCLES,
) -> int:
    """Cycles for a rows x cols tile to produce `n_tiles` tiles of `rows` length-`k` dot products.

    n_tiles * ceil(k / cols) beats plus the pipeline depth; 0 when n_tiles is 0 (nothing runs).
    `rows` does not change the count (all rows work in parallel) but is validated, since a tile
    of `rows` rows is what one tile means. Raises SpecError on non-integer or out-of-range sizes.
    """
    _check_count("rows", rows, 1)
    _check_count("cols", cols, 1)
    _check_count("k", k, 1)
    _check_count("n_tiles", n_tiles, 0)
    _check_count("pipeline_depth_cycles", pipeline_depth_cycles, 0)
    if n_tiles == 0:
        return 0
    return n_tiles * k_steps(k, cols) + pipeline_depth_cycles


@dataclass(frozen=True, slots=True)
class GemmShape:
    """An op as GEMMs: `n_batch` independent (m x k) @ (k x p) products.

    m: output rows (output channels, the rows of the weight matrix the arrays split);
    k: reduction length; p: output positions (pixels, tokens) streamed per row tile.
    """

    m: int
    k: int
    p: int
    n_batch: int = 1

    @property
    def macs(self) -> int:
        return self.m * self.k * self.p * self.n_batch


def gemm_shape(op: Op) -> GemmShape | None:
    """The GEMM view of a conv2d, linear or matmul (None for other kinds).

    conv2d: m = out channels per group, k = in channels per group x kh x kw, p = N x Ho x Wo,
    one GEMM per group (a depthwise conv is `groups` GEMMs with m = 1: a plain row-parallel
    array runs it one channel at a time, the known weakness of Tm x Tn engines on depthwise
    layers; a design with `depthwise_taps` spreads the channels over its rows instead, see
    `device.FpgaDevice.gemm_plan`).
    linear: m = out features, k = in features, p = all leading dims. matmul (..., L, K) @
    (..., K, N): m = N (the second operand plays the weights), k = K, p = L, one per batch.
    """
    if op.kind is OpKind.CONV2D:
        g = op.attrs.groups
        out = op.output_shape
        w = op.weight_shape
        return GemmShape(m=w[0] // g, k=w[1] * w[2] * w[3], p=out[0] * out[2] * out[3], n_batch=g)
    if op.kind is OpKind.LINEAR:
        return GemmShape(m=op.weight_shape[0], k=op.weight_shape[1],
                         p=math.prod(op.output_shape[:-1]))
    if op.kind is OpKind.MATMUL:
        x, y = op.input_shapes
        return GemmShape(m=y[-1], k=x[-1], p=x[-2], n_batch=math.prod(x[:-2]))
    return None
