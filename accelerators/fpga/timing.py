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

from workloads import SpecError

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

