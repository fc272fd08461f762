"""The declarative spec of a PointAcc-style accelerator: clock, node, datapath and its three units.

`PointAccSpec` (a `sim.spec.DeviceSpec`) is what a preset in presets/ or a user's device file
holds; `datapath_bits` and `row_bytes_of` are the widths an op moves at on a given spec.
The model that reads the spec is `accelerators.pointcloud.device`.
"""

from __future__ import annotations

import enum
import math
from typing import Annotated, ClassVar

from pydantic import Field

from accelerators.pointcloud.cache import CacheSpec
from sim.spec import (
    DeviceSpec,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    Spec,
)
from workloads import Op


class Dataflow(enum.Enum):
    """Which operand stays in the systolic array's PEs."""

    WEIGHT_STATIONARY = "weight_stationary"
    OUTPUT_STATIONARY = "output_stationary"


ArrayDim = Annotated[int, Field(ge=1, le=4096)]
"""A systolic-array dimension, 1..4096 PEs."""


class MatrixUnitSpec(Spec):
    """The systolic array, its post-processing lanes and its buffers."""

    rows: ArrayDim
    """PE rows (the reduction dimension a weight-stationary fold covers)."""
    cols: ArrayDim
    """PE columns (output channels per fold); also the vector post-processing lanes."""
    dataflow: Dataflow = Dataflow.WEIGHT_STATIONARY
    """Which operand stays in the PEs."""
    weight_buffer_bytes: PositiveInt
    """On-chip weight SRAM; a fused layer chain must fit in it."""
    input_buffer_bytes: PositiveInt
    """On-chip input-activation SRAM (row tiles)."""
    output_buffer_bytes: PositiveInt
    """On-chip output/partial-sum SRAM; sparse-conv outputs are tiled to fit it."""
    accumulator_bits: Annotated[int, Field(ge=1, le=64)] = 32
    """Partial-sum width in the output buffer."""
    weight_double_buffered: bool = False
    """Weight stationary: a second weight register per PE loads the next fold (TPU-style)."""


class MappingUnitSpec(Spec):
    """The ranking-based mapping unit."""

    merger_width: PositiveInt
    """Elements the sorter/merger network takes per cycle."""
    distance_lanes: PositiveInt
    """3-D distances computed per cycle."""
    buffer_bytes: PositiveInt
    """Coordinate/index SRAM of the unit."""


class MemoryUnitSpec(Spec):
    """The memory management unit: DRAM interface and the gather/scatter cache."""

    dram_bytes_per_s: PositiveFloat
    """Peak DRAM bandwidth."""
    cache: CacheSpec
    """Set-associative LRU cache the gathers and scatters go through."""
    port_bytes_per_cycle: PositiveInt
    """Bytes the cache delivers per cycle (rows of a gather stream at most one per cycle)."""
    dram_pj_per_byte: NonNegativeFloat | None = None
    """DRAM access and I/O energy per byte (not node-scaled); None: the shared table's figure."""


class PointAccSpec(DeviceSpec):
    """A PointAcc-style accelerator: clock, node, datapath width and its three units."""

    family: ClassVar[str] = "pointcloud"

    freq_hz: PositiveFloat
    """Clock of all three units."""
    node_nm: PositiveFloat
    """Process node, for scaling the energy table."""
    voltage_v: PositiveFloat = 0.9
    """Core supply voltage, for scaling the energy table."""
    data_bits: Annotated[int, Field(ge=1, le=32)] = 16
    """Feature/weight width in datapath and memory; float nets run as fixed point at this width."""
    static_power_w: NonNegativeFloat = 0.0
    """Leakage and clock tree of the whole chip, drawn busy or idle."""
    op_overhead_cycles: NonNegativeInt = 0
    """Fixed cycles per op (configuration, pipeline start)."""
    matrix: MatrixUnitSpec
    """The systolic matrix unit."""
    mapping: MappingUnitSpec
    """The ranking-based mapping unit."""
    memory: MemoryUnitSpec
    """The memory management unit (DRAM and gather/scatter cache)."""

    @property
    def data_bytes(self) -> float:
        return self.data_bits / 8


def datapath_bits(op: Op, spec: PointAccSpec) -> int:
    """Datapath bits of an op: the accelerator's width, or the op's narrower quantised width."""
    comp = op.anchor.compression
    if comp.is_float:
        return spec.data_bits
    return min(spec.data_bits, max(comp.weight_bits, comp.activation_bits, comp.high_bits))


def row_bytes_of(channels: int, op: Op, spec: PointAccSpec) -> int:
    """Bytes of one row of `channels` values of `op` in memory (at least 1)."""
    return max(1, math.ceil(channels * datapath_bits(op, spec) / 8))
