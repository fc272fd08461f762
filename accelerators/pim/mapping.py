"""Mapping layers onto crossbar tiles: the crossbars the GEMM view of an op (`workloads.gemm`) occupies.

A conv2d is unrolled (im2col): per channel group, K = Cin/g * kh * kw rows, N = Cout/g outputs
and M = output pixels x batch input vectors; a linear layer has K = in_features, N = out_features
and M = the product of its leading dims; a matmul (..., M, K) @ (..., K, N) has one GEMM per batch
index. A GEMM needs ceil(K x rows per input / rows) row tiles (differential-row inputs use two
rows each) and ceil(N * columns_per_weight / cols) column tiles of crossbars; groups and batch
GEMMs get their own. Two-phase signed inputs read every input slice twice, and
'two_phase_digital' converts both reads. Crossbars are dense: pruned weights still
occupy their cells (channel pruning shrinks the shapes, so it does save crossbars).

`plan` checks that a network's weights fit the chip at once (weights are stationary) and raises
DoesNotFitError naming the layer where the crossbars run out and the shortfall.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from accelerators.pim.crossbar import CrossbarSpec
from workloads import DoesNotFitError, Network, OpKind
from workloads.gemm import Gemm

WEIGHTED = frozenset({OpKind.CONV2D, OpKind.LINEAR})
"""Kinds whose weights are stationary in crossbars."""
MATRIX = WEIGHTED | {OpKind.MATMUL}
"""Kinds that run on crossbars (matmul with its dynamic operand written per inference)."""


@dataclass(frozen=True, slots=True)
class LayerMapping:
    """How one op sits on crossbars and what one inference of it does there."""

    name: str
    gemm: Gemm
    spec: CrossbarSpec
    """Geometry and scheme at this op's bit-widths."""
    row_tiles: int
    col_tiles: int

    @property
    def n_crossbars(self) -> int:
        """Crossbars the op's weights occupy."""
        return self.gemm.groups * self.row_tiles * self.col_tiles

    @property
    def weight_columns(self) -> int:
        """Bit lines holding one group's weights."""
        return self.gemm.n * self.spec.columns_per_weight

    @property
    def rows_used(self) -> int:
        """Word lines one group's weights occupy: K, or 2K for differential-row inputs."""
        return self.gemm.k * self.spec.rows_per_input

    @property
    def read_cycles(self) -> int:
        """Crossbar read cycles per group (all its crossbars read in parallel):
        M x input slices x read phases (2 for two-phase signed inputs)."""
        return self.gemm.m * self.spec.n_input_slices * self.spec.n_read_phases

    @property
    def conversions(self) -> int:
        """ADC conversions: one per weight slice (pair) per row tile per input slice and
        converted phase (a two-phase-analog column converts its two reads once)."""
        g, spec = self.gemm, self.spec
        per_vector = spec.n_input_slices * spec.n_conversion_phases
        return g.groups * g.m * per_vector * self.row_tiles * g.n * spec.n_weight_slices

    @property
    def dac_drives(self) -> int:
        """Row-driver (DAC) pulses: every used row of every crossbar, per read cycle."""
        return self.gemm.groups * self.read_cycles * self.rows_used * self.col_tiles

    @property
    def cell_reads(self) -> int:
        """Cells read (used rows x used bit lines), summed over read cycles."""
        return self.gemm.groups * self.read_cycles * self.rows_used * self.weight_columns

    @property
    def cells(self) -> int:
        """Cells holding the weights (written once, or per inference when reprogrammed)."""
        return self.gemm.groups * self.rows_used * self.weight_columns


def map_gemm(name: str, gemm: Gemm, spec: CrossbarSpec) -> LayerMapping:
    """Tile a GEMM onto crossbars of `spec`."""
    return LayerMapping(
        name=name,
        gemm=gemm,
        spec=spec,
        row_tiles=math.ceil(gemm.k * spec.rows_per_input / spec.rows),
        col_tiles=math.ceil(gemm.n * spec.columns_per_weight / spec.cols),
    )


@dataclass(frozen=True, slots=True)
class NetworkPlan:
    """Crossbars each weighted layer occupies, in network order."""

    layers: tuple[LayerMapping, ...]
    capacity: int
    """Crossbars on the chip."""

    @property
    def n_crossbars(self) -> int:
        return sum(layer.n_crossbars for layer in self.layers)

    @property
    def utilization_ratio(self) -> float:
        """Fraction of the chip's crossbars holding weights."""
        return self.n_crossbars / self.capacity


def plan(network: Network, mapper, capacity: int) -> NetworkPlan:
    """Map every conv2d/linear of `network` with `mapper(op) -> LayerMapping`; check the fit.

    Raises DoesNotFitError naming the first layer whose crossbars exceed `capacity` and the
    network's total shortfall, so a sweep can record the infeasible point.
    """
    layers = []
    used = 0
    first_over = None
    for op in network.ops:
        if op.anchor.kind not in WEIGHTED:
            continue
        layer = mapper(op)
        layers.append(layer)
        used += layer.n_crossbars
        if used > capacity and first_over is None:
            first_over = layer.name
    if first_over is not None:
        raise DoesNotFitError(
            f"network {network.name!r} needs {used} crossbars for its stationary weights but the "
            f"chip has {capacity}: they run out at layer {first_over!r} (short by "
            f"{used - capacity}); quantize to fewer bits, prune channels, or set "
            f"on_overflow: reprogram"
        )
    return NetworkPlan(layers=tuple(layers), capacity=capacity)
