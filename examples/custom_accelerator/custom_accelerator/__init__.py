"""A toy weight-stationary systolic-array NPU, plugged into edgesim as a device.

An example of how to write a device, not a model of a real chip: the numbers in
`ToySystolicSpec` are plausible for a small 28 nm edge NPU (~1 int8 TOPS) but come from no
datasheet. Engines: a rows x cols int8 PE array (conv2d, linear, matmul), a small vector unit
(elementwise ops), and one DMA engine that prefetches weights while the previous op runs and
streams activations beside compute. Float layers deploy as int8, as edge-NPU toolchains require
(e.g. the Edge TPU compiler), so they are timed, sized and priced as int8.

Array cycles come from edgesim's shared systolic template (`sim.systolic`, SCALE-Sim v3's
weight-stationary folds): a layer is the GEMM of `op.gemm` (M streamed rows, reduction depth K,
N outputs per group), cut into ceil(K / rows) * ceil(N / cols) folds of 2*rows + cols + M - 2
cycles each (rows cycles to shift the weights in, then M rows with rows + cols - 2 cycles of
pipeline fill and drain). Integers wider than 8 bits run byte-sliced, one pass per pair of
operand bytes.
Pruned weights move compressed but their zeros are not skipped: the array is dense.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

from sim import BoundBy, Cost, EngineKind, EngineSpec, MemoryLevel, Phase, PhaseLabel
from sim.device import SpecNamed
from sim.energy import HOROWITZ_45NM, EnergyComponent, EnergyMethod, EnergyModel, EnergyTable
from sim.systolic import Dataflow, Layers, SystolicArray, simulate
from workloads import Op, OpKind, SpecError, UnsupportedOpError

MATRIX_KINDS = frozenset({OpKind.CONV2D, OpKind.LINEAR, OpKind.MATMUL})
UNSUPPORTED_KINDS = frozenset({OpKind.SPARSE_CONV3D, OpKind.FPS, OpKind.KNN, OpKind.BALL_QUERY,
                               OpKind.GATHER, OpKind.SCATTER, OpKind.FUSED})
"""Point-cloud kinds (no gather or neighbour-search hardware) and FUSED (no fused kernels)."""


@dataclass(frozen=True, kw_only=True)
class ToySystolicSpec:
    """Array shape, clock, vector width, DMA bandwidth and process node (example values)."""

    name: str = "toy-systolic"
    description: str = "example 32x32 int8 weight-stationary systolic array (not a real chip)"
    rows: int = 32
    """PE rows: the reduction depth (K) one fold covers."""
    cols: int = 32
    """PE columns: the outputs (N) one fold covers."""
    freq_hz: float = 500e6
    """Clock of array and vector unit: 32 x 32 x 0.5 GHz = 512 GMAC/s, ~1 int8 TOPS."""
    vector_lanes: int = 16
    """int8 elementwise ops per cycle (pooling, activations, norms, softmax)."""
    dma_bytes_per_s: float = 8e9
    """DRAM bandwidth of the DMA engine (about one LPDDR4X x16 channel)."""
    node_nm: float = 28.0
    voltage_v: float = 0.9
    static_power_w: float = 0.05
    """Leakage and clock tree, drawn busy or idle, W."""

    def __post_init__(self) -> None:
        for name in ("rows", "cols", "vector_lanes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SpecError(f"{self.name}: {name!r} must be an int >= 1 (got {value!r})")
        positive = ("freq_hz", "dma_bytes_per_s", "node_nm", "voltage_v")
        for name in positive + ("static_power_w",):
            value, bound = getattr(self, name), "> 0" if name in positive else ">= 0"
            ok = isinstance(value, (int, float)) and math.isfinite(value) and value >= 0
            if not ok or (name in positive and value == 0):
                raise SpecError(f"{self.name}: {name!r} must be finite and {bound} (got {value!r})")


@dataclass(frozen=True)
class ToySystolic(SpecNamed):
    """A `sim.Device` with engines 'array', 'vector' and 'dma' on one target, 'npu'."""

    spec: ToySystolicSpec = field(default_factory=ToySystolicSpec)
    targets = ("npu",)

    @cached_property
    def engines(self) -> tuple[EngineSpec, ...]:
        return (EngineSpec(name="array", static_power_w=self.spec.static_power_w),
                EngineSpec(name="vector"), EngineSpec(name="dma", kind=EngineKind.DMA))

    @cached_property
    def _energy(self) -> EnergyTable:  # Horowitz 45 nm moved to our node by E ~ node * V^2
        return HOROWITZ_45NM.scaled(self.spec.node_nm, self.spec.voltage_v)

    @property
    def energy_model(self) -> EnergyModel:
        """Per-action: Horowitz energies at our node (stated in every report summary)."""
        return EnergyModel(method=EnergyMethod.PER_ACTION,
                           detail="int8 MACs, vector ops, SRAM and DRAM bytes x Horowitz energies",
                           assumed="static power (a guess for a 28 nm 32x32 array)")

    def unit_text(self, target: str) -> str:
        """The array and its clock (the summary's 'unit' line)."""
        return f"{target}: {self.spec.rows}x{self.spec.cols} int8 array at {self.spec.freq_hz / 1e6:g} MHz"

    def supported_kinds(self, target: str) -> frozenset[OpKind]:
        return frozenset(OpKind) - UNSUPPORTED_KINDS

    @cached_property
    def _array(self) -> SystolicArray:
        # Only the stall-free compute cycles are used (DMA is its own engine), so the SRAM
        # sizes, which this toy does not model, are nominal.
        return SystolicArray(rows=self.spec.rows, cols=self.spec.cols,
                             dataflow=Dataflow.WEIGHT_STATIONARY, ifmap_sram_bytes=1 << 20,
                             filter_sram_bytes=1 << 20, ofmap_sram_bytes=1 << 20)

    def array_cycles(self, op: Op) -> int:
        """Cycles of a conv2d, linear or matmul on the array (formula in the module doc)."""
        stats = simulate(self._array, Layers.of([op.gemm]))
        return _passes(op) * int(stats.compute_cycles[0])

    def cost(self, op: Op, target: str = "npu") -> Cost:
        """Weights prefetched on 'dma'; then compute beside the activations' DMA. Pure."""
        if target not in self.targets or op.kind in UNSUPPORTED_KINDS:
            raise UnsupportedOpError(f"{self.name} cannot run {op.kind.value} op {op.name!r} "
                                     f"on target {target!r}")
        if op.is_free:
            return Cost(stages=(), bound_by=BoundBy.FREE)
        s, table, comp = self.spec, self._energy, op.compression
        # Float layers deploy as int8: a quarter (fp32) or half (fp16) of the stated bytes.
        w_scale = 8 / comp.weight_bits if comp.is_float else 1.0
        a_scale = 8 / comp.activation_bits if comp.is_float else 1.0
        # An embedding reads only the rows it looks up (about its output), not its whole table.
        table_bytes = op.output_bytes if op.kind is OpKind.EMBEDDING else op.weight_bytes
        weight_bytes = math.ceil(table_bytes * w_scale)
        act_bytes = math.ceil((op.input_bytes + op.output_bytes) * a_scale)
        act_s, weight_s = act_bytes / s.dma_bytes_per_s, weight_bytes / s.dma_bytes_per_s
        if op.kind in MATRIX_KINDS:
            compute = Phase("array", self.array_cycles(op) / s.freq_hz)
            mac_j = op.macs * _passes(op) * table.mac_pj(8, is_float=False) * 1e-12
        else:
            compute = Phase("vector", math.ceil(op.vector_ops / s.vector_lanes) / s.freq_hz)
            mac_j = 0.0
        stage = tuple(p for p in (compute, Phase("dma", act_s, PhaseLabel.ACTIVATIONS)) if p.duration_s)
        moved = weight_bytes + act_bytes
        return Cost(
            stages=(stage,) if stage else (),
            prefetch=(Phase("dma", weight_s, PhaseLabel.WEIGHTS),) if weight_bytes else (),
            energy_j={EnergyComponent.MAC: mac_j,
                      EnergyComponent.VECTOR: op.vector_ops * table.vector_op_pj(8, is_float=False) * 1e-12,
                      EnergyComponent.ON_CHIP: 2 * moved * table.sram_pj_per_byte * 1e-12,  # written, read
                      EnergyComponent.OFF_CHIP: moved * table.dram_pj_per_byte * 1e-12},
            bytes_moved={MemoryLevel.DRAM: moved},
            bound_by=BoundBy.COMPUTE if compute.duration_s >= max(act_s, weight_s) else BoundBy.MEMORY,
            # Floats deploy as int8 (see w_scale): a documented substitute, shown in reports.
            executed_precision="w8a8" if comp.is_float else None,
            peak_macs_per_s=s.rows * s.cols * s.freq_hz,
        )


def _passes(op: Op) -> int:
    """int8 x int8 passes per MAC: wider integers are byte-sliced; floats deploy as int8."""
    comp = op.compression
    if comp.is_float:
        return 1
    weight_bits = max(comp.weight_bits, comp.high_bits)  # multi-precision: its wider rows
    return math.ceil(weight_bits / 8) * math.ceil(comp.activation_bits / 8)


def make_device() -> ToySystolic:
    """Entry point (group `edgesim.devices`, name `toy-systolic`): the example spec."""
    return ToySystolic()
