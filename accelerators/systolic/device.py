"""The `systolic` device family: a systolic-array accelerator described wholly in YAML.

A device is an R x C MAC array in one dataflow with ifmap, filter and ofmap SRAMs, a DRAM
interface, a clock and a process node (`SystolicSpec`); presets live in `presets/`. Engines:
'array' (conv2d, linear and matmul layers, and fused ops anchored on one, timed by
`sim.systolic` with DRAM stalls at the spec's bandwidth), 'vector' (a post-processing unit of
`vector_lanes` elementwise ops per cycle: pooling, activations, norms, softmax, and the
elementwise members of fused ops, which run beside the array as outputs drain).

Layers run at the array's `operand_bits` whatever their stated precision (float models deploy
quantized, as on the TPU or Edge TPU); wider integers are not modelled (no byte slicing).
Pruned weights are stored and streamed dense: the array has no zero skipping. Energy: MACs at
`operand_bits`, each SRAM's accesses at its capacity, DRAM per byte, vector ops
(`sim.memory`, `sim.energy`), booked as the shared components by `COMPONENT_OF` (the three
SRAMs are 'on_chip'); static power defaults to the SRAMs' leakage. An op stated at another
precision than `operand_bits` (a float, or a wider integer) reports the array's width as its
executed precision; narrower integers run exactly at the array's width and are not a substitute.

Memory policy (`memory_policy`): `dram` (the spec's default, and tpu_v1's and gemmini's) sends
every layer's activations through DRAM and fetches its weights every frame, as SCALE-Sim does.
`on_chip` (the edge_tpu preset's) plans a whole network (`SystolicDevice.for_network`, which
the engine and `sim.contract` call through `sim.device.bind_network`): weights stay resident
across frames in the filter SRAM (the parameter cache) while they fit, in layer order, and are
streamed after that; an activation stays in SRAM (all three SRAMs, less the resident weights) for its consumers
while it fits beside the other live ones, and spills to DRAM otherwise (`sim.systolic.
plan_on_chip`). Elementwise and pooling ops on on-chip tensors then move no DRAM bytes. The
resident weights' one-off load with the model is outside the frame (Coral: the first inference
is slower because it loads the model). SRAM bandwidth is not a limit in either policy, and
SRAM accesses keep each operand SRAM's energy (the pooled capacity is not re-priced).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import Field

from sim.device import (BoundBy, Cost, EngineKind, EngineSpec, MemoryLevel, Phase, PhaseLabel,
                        SpecNamed, cost_memo, memoized)
from sim.energy import HOROWITZ_45NM, EnergyComponent, EnergyMethod, EnergyModel, account
from sim.spec import DeviceSpec, Family, NodeNm, PowerW, RatePerS, VoltageV
from sim.systolic import (
    ArrayDim, Dataflow, Layers, MemoryPolicy, OnChipPlan, Residency, SystolicArray, area_mm2,
    energy_pj, leakage_w, plan_on_chip, simulate,
)
from workloads import Network, Op, OpKind, SpecError, UnsupportedOpError

PRESETS = Path(__file__).parent / "presets"
UNSUPPORTED_KINDS = frozenset({OpKind.SPARSE_CONV3D, OpKind.FPS, OpKind.KNN, OpKind.BALL_QUERY,
                               OpKind.GATHER, OpKind.SCATTER})
"""Point-cloud kinds: no gather, scatter or neighbour-search hardware."""
COMPONENT_OF = {
    "mac": EnergyComponent.MAC, "vector": EnergyComponent.VECTOR,
    "sram_ifmap": EnergyComponent.ON_CHIP, "sram_filter": EnergyComponent.ON_CHIP,
    "sram_ofmap": EnergyComponent.ON_CHIP, "dram": EnergyComponent.OFF_CHIP,
}
"""`sim.systolic.energy_pj`'s detail (plus vector ops) -> the shared vocabulary."""
SramKib = Annotated[float, Field(gt=0, le=2**30)]
"""An SRAM size in KiB; above 1 TiB it is a typo (and its byte count would overflow)."""


class SystolicSpec(DeviceSpec):
    """A systolic-array accelerator: array, dataflow, SRAMs, DRAM, clock, node, bit-widths."""

    family: ClassVar[str] = "systolic"

    rows: ArrayDim
    """PE rows (R), at most 4096."""
    cols: ArrayDim
    """PE columns (C), at most 4096."""
    dataflow: Dataflow
    """os, ws or is: the operand that stays in the PEs."""
    ifmap_sram_kib: SramKib
    """Input-activation SRAM, KiB (1024 bytes)."""
    filter_sram_kib: SramKib
    """Weight SRAM, KiB."""
    ofmap_sram_kib: SramKib
    """Output / accumulator SRAM, KiB."""
    dram_bytes_per_s: RatePerS
    """DRAM bandwidth."""
    freq_hz: Annotated[float, Field(ge=1e3, le=1e11)]
    """Array clock."""
    node_nm: NodeNm
    """Process node, for energy and area."""
    voltage_v: VoltageV = 0.9
    """Core supply, for energy."""
    operand_bits: Annotated[int, Field(ge=1, le=64)] = 8
    """Width of weights and activations in the array and its SRAMs."""
    double_buffered: bool = True
    """SRAMs fill from DRAM while the array computes (half of each holds reusable data)."""
    vector_lanes: Annotated[int, Field(ge=1, le=1 << 20)] = 256
    """Elementwise ops per cycle of the post-processing unit."""
    static_power_w: PowerW | None = None
    """Leakage and clock power of the whole accelerator, W; None: the SRAMs' leakage only."""
    pack_groups: bool = False
    """ws and is: several groups of a grouped (depthwise) conv share a fold, block-diagonally;
    False: one group per fold (sim.systolic.SystolicArray.pack_groups)."""
    memory_policy: MemoryPolicy = MemoryPolicy.DRAM
    """dram: every layer's activations and weights through DRAM (SCALE-Sim); on_chip: weights
    resident in the filter SRAM and activations kept in SRAM where they fit (module doc)."""

    @property
    def array(self) -> SystolicArray:
        """The `sim.systolic` description of the array."""
        kib = 1024
        return SystolicArray(
            rows=self.rows, cols=self.cols, dataflow=self.dataflow,
            ifmap_sram_bytes=max(1, round(self.ifmap_sram_kib * kib)),
            filter_sram_bytes=max(1, round(self.filter_sram_kib * kib)),
            ofmap_sram_bytes=max(1, round(self.ofmap_sram_kib * kib)),
            word_bytes=math.ceil(self.operand_bits / 8),
            dram_bytes_per_cycle=self.dram_bytes_per_s / self.freq_hz,
            double_buffered=self.double_buffered, pack_groups=self.pack_groups,
        )

    @property
    def peak_macs_per_s(self) -> float:
        return self.rows * self.cols * self.freq_hz

    @property
    def sram_bytes(self) -> int:
        """All on-chip SRAM: ifmap, filter and ofmap."""
        a = self.array
        return a.ifmap_sram_bytes + a.filter_sram_bytes + a.ofmap_sram_bytes


@dataclass(frozen=True)
class SystolicDevice(SpecNamed):
    """A `sim.Device` from a `SystolicSpec`; one target, 'accelerator'."""

    spec: SystolicSpec
    plan: OnChipPlan | None = field(default=None, repr=False)
    """The network the `on_chip` policy was planned for (`for_network`); None: not planned."""
    _cache: dict = cost_memo()
    """Per-instance memo of pure costs by op (sweeps re-price the same ops)."""

    targets = ("accelerator",)

    def weight_bytes(self, op: Op) -> int:
        """Bytes a layer's weights take in SRAM and DRAM: dense (no zero skipping), at the
        array's word width; 0 for ops without a weight matrix."""
        gemm = op.gemm
        if gemm is None or op.anchor.params == 0:
            return 0
        return gemm.groups * gemm.k * gemm.n * self.array.word_bytes

    def tensor_bytes(self, op: Op) -> int:
        """Bytes of an op's output as stored, at the array's word width."""
        return math.prod(op.output_shape) * self.array.word_bytes

    def executed_input_bytes(self, op: Op, index: int) -> int:
        """Bytes of input `index` of `op` as stored, at the array's word width (the sizes its
        traffic and `plan_on_chip` count), so the report's activation peak is the array's."""
        return math.prod(op.input_shapes[index]) * self.array.word_bytes

    def executed_output_bytes(self, op: Op) -> int:
        """Bytes of `op`'s output as stored (`tensor_bytes`), 0 for a view."""
        return 0 if op.is_free else self.tensor_bytes(op)

    def executed_weight_bytes(self, op: Op) -> int:
        """Bytes of `op`'s weights as stored (`weight_bytes`: dense, at the word width)."""
        return self.weight_bytes(op)

    def for_network(self, network: Network, target: str = "accelerator") -> SystolicDevice:
        """This device planned for `network` under the `on_chip` policy (itself under `dram`).

        Pure; the plan (`sim.systolic.plan_on_chip`) is worked out once, here."""
        if self.spec.memory_policy is MemoryPolicy.DRAM:
            return self
        plan = plan_on_chip(network, sram_bytes=self.spec.sram_bytes,
                            weight_cache_bytes=self.array.filter_sram_bytes,
                            weight_bytes=self.weight_bytes, tensor_bytes=self.tensor_bytes)
        return dataclasses.replace(self, plan=plan, _cache={})

    def check(self, network: Network, target: str = "accelerator") -> None:
        """Under `on_chip`, refuse a network the device was not planned for (SpecError naming
        the fix); under `dram` accept every network."""
        if self.spec.memory_policy is MemoryPolicy.DRAM:
            return
        if self.plan is None or self.plan.network != network.name:
            raise SpecError(self._unplanned(f"network {network.name!r}"))

    def _unplanned(self, what: str) -> str:
        planned = ("is planned for no network" if self.plan is None
                   else f"is planned for {self.plan.network!r}")
        return (f"{self.name}: memory_policy on_chip places a whole network's weights and "
                f"activations, and the device {planned} (pricing {what}); build it with "
                "device.for_network(network) (edgesim run does), or set memory_policy=dram")

    @cached_property
    def array(self) -> SystolicArray:
        return self.spec.array

    @cached_property
    def area_mm2(self) -> dict[str, float]:
        """Area by component (PE array, each SRAM), mm^2."""
        return area_mm2(self.array, bits=self.spec.operand_bits, node_nm=self.spec.node_nm)

    @cached_property
    def engines(self) -> tuple[EngineSpec, ...]:
        static = self.spec.static_power_w
        if static is None:
            static = leakage_w(self.array, node_nm=self.spec.node_nm)
        return (EngineSpec(name="array", static_power_w=static), EngineSpec(name="vector"),
                EngineSpec(name="dma", kind=EngineKind.DMA))

    @cached_property
    def energy_model(self) -> EnergyModel:
        """Per-action: MACs, SRAM accesses by capacity, DRAM bytes and vector ops."""
        s = self.spec
        return EnergyModel(
            method=EnergyMethod.PER_ACTION,
            detail=(f"{s.operand_bits}-bit MACs, each SRAM's accesses at its capacity, DRAM bytes and "
                    f"vector ops x Horowitz-based energies scaled to {s.node_nm:g} nm (sim.memory)"),
            leaves_out="control, clock tree and the PE array's leakage",
            assumed=(None if s.static_power_w is None
                     else f"static power {s.static_power_w:g} W as stated in the spec"),
        )

    def unit_text(self, target: str) -> str:
        """The array, its dataflow and clock."""
        s = self.spec
        return (f"{target}: {s.rows}x{s.cols} {s.dataflow.value} array, {s.operand_bits}-bit, "
                f"{s.freq_hz / 1e6:g} MHz")

    def _executed(self, op: Op) -> str | None:
        comp, bits = op.anchor.compression, self.spec.operand_bits
        if comp.is_float or max(comp.weight_bits, comp.activation_bits, comp.high_bits) > bits:
            return f"w{bits}a{bits}"
        return None

    @cached_property
    def _vector_pj(self) -> float:
        table = HOROWITZ_45NM.scaled(self.spec.node_nm, self.spec.voltage_v)
        return table.vector_op_pj(self.spec.operand_bits, is_float=False)

    def supported_kinds(self, target: str) -> frozenset[OpKind]:
        return frozenset(OpKind) - UNSUPPORTED_KINDS

    def cost(self, op: Op, target: str = "accelerator") -> Cost:
        """The array (or vector unit) time, traffic and energy of `op`. Pure."""
        if target not in self.targets or op.kind in UNSUPPORTED_KINDS:
            raise UnsupportedOpError(f"{self.name} cannot run {op.kind.value} op {op.name!r} "
                                     f"on target {target!r}")
        return memoized(self._cache, op, lambda: self._cost(op))

    def _cost(self, op: Op) -> Cost:
        if op.is_free:
            return Cost(stages=(), bound_by=BoundBy.FREE)
        plan = self.plan
        if plan is None and self.spec.memory_policy is MemoryPolicy.ON_CHIP:
            raise SpecError(self._unplanned(f"op {op.name!r}"))
        s, f = self.spec, self.spec.freq_hz
        vector_s = math.ceil(op.vector_ops / s.vector_lanes) / f
        vector_j = op.vector_ops * self._vector_pj * 1e-12
        gemm = op.gemm
        if gemm is None:
            word = self.array.word_bytes
            on_chip = plan.on_chip if plan is not None else frozenset()
            sizes = [(math.prod(shape), name in on_chip)
                     for name, shape in zip(op.inputs, op.input_shapes, strict=True)]
            sizes.append((math.prod(op.output_shape), op.name in on_chip))
            dram_bytes = sum(n for n, kept in sizes if not kept) * word
            sram_bytes = sum(n for n, kept in sizes if kept) * word
            memory_s = dram_bytes / s.dram_bytes_per_s
            phase = Phase("vector", max(vector_s, memory_s))
            return Cost.serial(
                phase, energy_j={EnergyComponent.VECTOR: vector_j,
                                 EnergyComponent.OFF_CHIP: dram_bytes * HOROWITZ_45NM.dram_pj_per_byte * 1e-12},
                bytes_moved={MemoryLevel.DRAM: dram_bytes,
                             **({MemoryLevel.SRAM: sram_bytes} if sram_bytes else {})},
                bound_by=BoundBy.COMPUTE if vector_s >= memory_s else BoundBy.MEMORY,
                executed_precision=self._executed(op))
        layers = Layers.of([gemm])
        residency = None if plan is None else Residency.of([plan.residency(op)])
        stats = simulate(self.array, layers, residency)
        energy = {k: float(v[0]) * 1e-12 for k, v in energy_pj(
            self.array, layers, stats, bits=s.operand_bits, node_nm=s.node_nm,
            voltage_v=s.voltage_v).items()}
        energy["vector"] = vector_j
        word = self.array.word_bytes
        stage = [Phase("array", int(stats.total_cycles[0]) / f)]
        if vector_s:
            stage.append(Phase("vector", vector_s, PhaseLabel.POST_PROCESS))
        return Cost(
            stages=(tuple(stage),), energy_j=account(energy, COMPONENT_OF),
            bytes_moved={MemoryLevel.DRAM: int(stats.dram_words[0]) * word,
                         MemoryLevel.SRAM: int(stats.sram_words[0]) * word},
            bound_by=BoundBy.MEMORY if stats.stall_cycles[0] > 0 else BoundBy.COMPUTE,
            executed_precision=self._executed(op),
            peak_macs_per_s=s.peak_macs_per_s,
        )


FAMILY = Family(name="systolic", spec_type=SystolicSpec, build=SystolicDevice, presets=PRESETS)
"""Registered under `edgesim.families` as 'systolic'."""
