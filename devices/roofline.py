"""A generic roofline device: peak MAC/s per datatype, one memory bandwidth, energy per op.

The simplest honest model of an accelerator, used to test the engine before detailed device
models exist and as a first-order baseline. Per op, time is the larger of compute time (effective
MACs at the datatype's peak, plus vector ops) and memory time (weights, inputs and outputs over
DRAM bandwidth), plus a fixed per-op overhead. With `separate_dma`, weights are prefetched on
their own DMA engine (overlapping the previous op) and activations stream concurrently with
compute. Energy per MAC and per vector op comes from `sim.energy.HOROWITZ_45NM` scaled to the
device's node; DRAM energy per byte from the same table. Embeddings read only the rows they look
up and gathers one feature row per index (`Op.weight_bytes_read`, `Op.input_bytes_read`).

The energy is the bare arithmetic and DRAM traffic at peak rate: it leaves out instruction
fetch/decode, register-file and cache traffic and control, which dominate a programmable GPU's
energy per MAC (Horowitz's own point: an add is a few % of an instruction's energy), so a board
model of the same chip (e.g. `snapdragon865`'s GPU against `roofline-adreno650`) is several
times higher; `tests/devices/test_energy_account.py` states the band on the zoo.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, ClassVar

from sim.device import (BoundBy, Cost, EngineKind, EngineSpec, MemoryLevel, Phase, PhaseLabel,
                        SpecNamed, cost_memo, memoized)
from pydantic import Field

from sim.energy import HOROWITZ_45NM, EnergyComponent, EnergyMethod, EnergyModel, EnergyTable
from sim.spec import DeviceSpec, Family, NodeNm, OverheadS, PowerW, RatePerS, Text, VoltageV
from workloads import Op, OpKind

PRESETS = Path(__file__).parent / "presets"


class RooflineSpec(DeviceSpec):
    """Throughput, bandwidth, node and power of a roofline device."""

    family: ClassVar[str] = "roofline"

    fp32_macs_per_s: RatePerS
    """Peak fp32 MAC/s."""
    fp16_macs_per_s: RatePerS
    """Peak fp16 MAC/s."""
    int8_macs_per_s: RatePerS
    """Peak 8-bit integer MAC/s; narrower integers run at this rate, wider ones slower by bits/8."""
    vector_ops_per_s: RatePerS
    """Elementwise ops per second (pooling, activations, norms)."""
    dram_bytes_per_s: RatePerS
    """Peak DRAM bandwidth."""
    node_nm: NodeNm
    """Process node, for scaling the energy table."""
    voltage_v: VoltageV = 0.9
    """Core supply voltage, for scaling the energy table."""
    static_power_w: PowerW = 0.0
    """Leakage and idle power over the whole run."""
    op_overhead_s: OverheadS = 0.0
    """Fixed time per op (kernel launch, DMA set-up)."""
    separate_dma: bool = False
    """True: a DMA engine prefetches weights and streams activations beside compute."""
    n_compute_units: Annotated[int, Field(ge=1, le=4096)] = 1
    """Identical compute units; independent ops run on them concurrently."""
    dram_energy_pj_per_byte: Annotated[float, Field(gt=0, le=1e4)] | None = None
    """DRAM energy per byte moved, pJ (the board's memory, e.g. LPDDR5; at most 10 nJ/B);
    None: the energy table's figure (Horowitz's 1.3 nJ per 64-bit access, 162.5 pJ/B)."""
    energy_note: Text | None = None
    """How this model's energy relates to a fuller model of the same chip (which one, by how
    much on the zoo, and why), printed in every report summary; None: no such model."""


@dataclass(frozen=True)
class RooflineDevice(SpecNamed):
    """A `sim.Device` from a `RooflineSpec`. Runs every op kind on one target, 'compute'."""

    spec: RooflineSpec
    energy_table: EnergyTable = field(default=HOROWITZ_45NM, repr=False)
    """The 45 nm base table; scaled to spec.node_nm / spec.voltage_v."""
    _cache: dict = cost_memo()
    """Per-instance memo of pure costs by (op, target): sweeps re-price the same ops."""

    targets = ("compute",)

    @cached_property
    def engines(self) -> tuple[EngineSpec, ...]:
        compute = EngineSpec(name="compute", capacity=self.spec.n_compute_units,
                             static_power_w=self.spec.static_power_w)
        if self.spec.separate_dma:
            return (compute, EngineSpec(name="dma", kind=EngineKind.DMA))
        return (compute,)

    @cached_property
    def energy_model(self) -> EnergyModel:
        """Per-action: Horowitz ALU and DRAM energies scaled to the node (see the module doc)."""
        return EnergyModel(
            method=EnergyMethod.PER_ACTION,
            detail=(f"MACs and vector ops x Horowitz ISSCC 2014 energies scaled to "
                    f"{self.spec.node_nm:g} nm, {self.spec.voltage_v:g} V; DRAM bytes x "
                    f"{self.dram_pj_per_byte:.4g} pJ/B"),
            leaves_out=("instruction, register-file, cache and control energy, and power at "
                        "the achieved (not peak) rate"
                        + (f" ({self.spec.energy_note})" if self.spec.energy_note else "")),
            assumed=f"static power {self.spec.static_power_w:g} W" if self.spec.static_power_w else None,
        )

    @property
    def dram_pj_per_byte(self) -> float:
        """DRAM energy per byte: the spec's, else the energy table's, pJ."""
        if self.spec.dram_energy_pj_per_byte is not None:
            return self.spec.dram_energy_pj_per_byte
        return self._energy.dram_pj_per_byte

    def unit_text(self, target: str) -> str:
        """The one unit: its peak rates (a roofline models no clock)."""
        s = self.spec
        return (f"{target}: peak {s.int8_macs_per_s / 1e9:.4g} int8 / {s.fp16_macs_per_s / 1e9:.4g} "
                f"fp16 / {s.fp32_macs_per_s / 1e9:.4g} fp32 GMAC/s, {s.dram_bytes_per_s / 1e9:.4g} GB/s "
                f"(no clock modelled)")

    @cached_property
    def _energy(self) -> EnergyTable:
        return self.energy_table.scaled(self.spec.node_nm, self.spec.voltage_v)

    def supported_kinds(self, target: str) -> frozenset[OpKind]:
        return frozenset(OpKind)

    def peak_macs_per_s(self, op: Op) -> float:
        """Peak MAC rate for the op's datatype."""
        comp, s = op.anchor.compression, self.spec
        if comp.is_float:
            return s.fp16_macs_per_s if comp.weight_bits == 16 else s.fp32_macs_per_s
        bits = max(comp.weight_bits, comp.activation_bits, comp.high_bits)
        return s.int8_macs_per_s * min(1.0, 8.0 / bits)

    def cost(self, op: Op, target: str = "compute") -> Cost:
        return memoized(self._cache, (op, target), lambda: self._cost(op))

    def _cost(self, op: Op) -> Cost:
        if op.is_free:
            return Cost(stages=(), bound_by=BoundBy.FREE)
        s, table = self.spec, self._energy
        comp = op.anchor.compression
        macs_s = op.effective_macs / self.peak_macs_per_s(op)
        vector_s = op.vector_ops / s.vector_ops_per_s
        compute_s = macs_s + vector_s
        # A fused op reads its external inputs and writes its last output; intermediates stay.
        act_bytes = op.input_bytes_read + op.output_bytes
        weight_bytes = op.weight_bytes_read
        weights_s = weight_bytes / s.dram_bytes_per_s
        act_s = act_bytes / s.dram_bytes_per_s
        bits = comp.weight_bits if comp.is_float else max(comp.weight_bits, comp.activation_bits)
        energy = {
            EnergyComponent.MAC: op.effective_macs * table.mac_pj(bits, is_float=comp.is_float) * 1e-12,
            EnergyComponent.VECTOR: op.vector_ops * table.vector_op_pj(comp.activation_bits,
                                                                       is_float=comp.is_float) * 1e-12,
            EnergyComponent.OFF_CHIP: (act_bytes + weight_bytes) * self.dram_pj_per_byte * 1e-12,
        }
        peak = self.peak_macs_per_s(op)
        bytes_moved = {MemoryLevel.DRAM: act_bytes + weight_bytes}
        memory_s = act_s + weights_s
        if s.separate_dma:
            stage = [Phase("compute", s.op_overhead_s + compute_s)]
            if act_bytes:
                stage.append(Phase("dma", act_s, PhaseLabel.ACTIVATIONS))
            prefetch = (Phase("dma", weights_s, PhaseLabel.WEIGHTS),) if weight_bytes else ()
            busiest = max(compute_s, act_s, weights_s)
            return Cost(
                stages=(tuple(stage),), prefetch=prefetch, energy_j=energy,
                bytes_moved=bytes_moved, bound_by=_bound(compute_s, max(act_s, weights_s),
                                                         s.op_overhead_s, busiest),
                peak_macs_per_s=peak,
            )
        busiest = max(compute_s, memory_s)
        return Cost.serial(
            Phase("compute", s.op_overhead_s + busiest),
            energy_j=energy,
            bytes_moved=bytes_moved,
            bound_by=_bound(compute_s, memory_s, s.op_overhead_s, busiest),
            peak_macs_per_s=peak,
        )


def _bound(compute_s: float, memory_s: float, overhead_s: float, busiest_s: float) -> BoundBy:
    if overhead_s > busiest_s:
        return BoundBy.OVERHEAD
    return BoundBy.COMPUTE if compute_s >= memory_s else BoundBy.MEMORY


FAMILY = Family(name="roofline", spec_type=RooflineSpec, build=RooflineDevice, presets=PRESETS)
"""Registered under `edgesim.families` as 'roofline'."""
