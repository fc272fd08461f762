"""The matrix unit's timing: GEMMs on the rows x cols systolic array, by the shared template.

`sim.systolic` (SCALE-Sim v3's folds) counts the cycles; this module maps the accelerator's
`MatrixUnitSpec` onto it and sizes the output tiles a sparse conv is cut into.
"""

from __future__ import annotations

import numpy as np

from accelerators.pointcloud.spec import Dataflow, MatrixUnitSpec, PointAccSpec
from sim.systolic import Dataflow as SystolicDataflow
from sim.systolic import Layers, SystolicArray, sequence_cycles


def fold_cycles(m: int, k: int, n: int, matrix: MatrixUnitSpec) -> int:
    """Cycles of an (m x k) @ (k x n) GEMM on the array: `sim.systolic`'s stall-free count.

    Weight stationary: ceil(k / rows) x ceil(n / cols) folds of 2 rows + cols + m - 2 cycles
    (rows to shift weights in, m rows streamed, rows + cols - 2 to fill and drain); with double
    buffered weights, folds of max(m, rows) and one fill and drain. Output stationary:
    ceil(m / rows) x ceil(n / cols) folds of k + rows + cols - 2 (SCALE-Sim v3).
    """
    return fold_cycles_many(np.array([m]), k, n, matrix)


def systolic_array(matrix: MatrixUnitSpec) -> SystolicArray:
    """The matrix unit as the shared template's array (its dataflow and its three buffers)."""
    return SystolicArray(
        rows=matrix.rows, cols=matrix.cols,
        dataflow=(SystolicDataflow.WEIGHT_STATIONARY
                  if matrix.dataflow is Dataflow.WEIGHT_STATIONARY
                  else SystolicDataflow.OUTPUT_STATIONARY),
        ifmap_sram_bytes=matrix.input_buffer_bytes, filter_sram_bytes=matrix.weight_buffer_bytes,
        ofmap_sram_bytes=matrix.output_buffer_bytes, preload_hidden=matrix.weight_double_buffered)


def fold_cycles_many(ms: np.ndarray, k: int, n: int, matrix: MatrixUnitSpec) -> int:
    """Cycles of consecutive GEMMs (m_i x k) @ (k x n) on the array, e.g. one per kernel offset."""
    ms = np.asarray(ms)
    ms = ms[ms > 0].astype(np.int64)
    if k <= 0 or n <= 0 or ms.size == 0:
        return 0
    ones = np.ones_like(ms)
    layers = Layers(groups=ones, m=ms, k=ones * k, n=ones * n, ifmap_words=ms * k)
    return sequence_cycles(systolic_array(matrix), layers)


def output_tile_rows(n_out: int, cout: int, spec: PointAccSpec) -> int:
    """Output rows of `cout` partial sums (accumulator width) that fit the output buffer, >= 1."""
    acc_bytes = spec.matrix.accumulator_bits / 8
    return max(1, min(n_out, int(spec.matrix.output_buffer_bytes // max(1.0, cout * acc_bytes))))
