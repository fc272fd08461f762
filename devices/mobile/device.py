"""`MobileBoard`: a phone SoC or Jetson-class board as a `sim.Device`.

Each compute unit (CPU cluster, GPU) is a target and an engine of its own; all units share one
'dram' engine, so a network on the GPU and another on the CPU contend for memory bandwidth. An op
occupies its unit for launch overhead + compute time while its DRAM traffic streams on the
'dram' engine in the same stage: the op takes the longer of the two (a roofline), per op.

Compute time = MACs (channels padded to SIMD lanes) x the sparsity scheme's time factor, at the
datapath's peak MAC/s x the kernel class's efficiency x occupancy; plus vector ops at the vector
rate. A fused op (from `Network.fused`) pays one launch, and its intermediates never reach DRAM.
The unit's `structure` (kernels.py) adds what transformers pay: linear and matmul layers at the
utilisation of their GEMM tiles and waves, exp/erf at their vector-op cost, and layer norm and
softmax at one launch and one pass over their input per reduction kernel; where the runtime has
no layer norm or GELU kernel (TensorFlow Lite's CPU path), those run as their lowering to
primitive ops: one launch per primitive and single-threaded passes over the tensor.

Energy: dynamic compute energy = the unit's active power x compute time (so energy per MAC is
active power / achieved MAC rate, which differs by datatype through the peak rate), booked as
'mac' for the MAC time and 'vector' for the vector time; cache traffic (operands fetched by the
register-blocked micro-kernel) as 'on_chip' at the unit's cache pJ/byte (by default the shared
SRAM table at the cache's capacity and the board's node, `sim.memory`) and DRAM traffic as
'off_chip' at the board's pJ/byte; the units' static power over the run (added by the engine). Embeddings read only the rows they
look up and gathers one feature row per index (`Op.weight_bytes_read`, `Op.input_bytes_read`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from devices.mobile.kernels import (
    _MAC_CLASSES,
    _TILED_KINDS,
    datatype,
    dram_traffic_bytes,
    efficiency_of,
    extra_kernels,
    gemm_utilisation,
    kernel_class,
    lowered_s,
    padded_macs,
    sparse_execution,
    vector_ops,
)
from devices.mobile.spec import DRAM_ENGINE, BoardSpec, ComputeUnitSpec
from sim.device import (FREE_TRANSFER, BoundBy, Cost, EngineKind, EngineSpec, MemoryLevel, Phase,
                        PhaseLabel, SpecNamed, cost_memo, memoized)
from sim.energy import EnergyComponent, EnergyMethod, EnergyModel
from sim.memory import sram_pj_per_byte
from sim.spec import Family, override
from workloads import Op, OpKind, SpecError

PRESETS = Path(__file__).parent / "presets"
DRAM = DRAM_ENGINE


@dataclass(frozen=True, slots=True)
class OpBreakdown:
    """The numbers behind one op's cost on one unit (for studies and tests)."""

    kernel: str
    mac_s: float
    vector_s: float
    launch_s: float
    dram_bytes: int
    memory_s: float
    weight_bytes: int

    @property
    def compute_s(self) -> float:
        return self.mac_s + self.vector_s


@dataclass(frozen=True)
class MobileBoard(SpecNamed):
    """A board from a `BoardSpec`; targets are its units' names, the first the default."""

    spec: BoardSpec
    _cache: dict = cost_memo()
    """Per-instance memo of pure costs keyed by (op, target); ops are frozen and hashable."""

    @cached_property
    def targets(self) -> tuple[str, ...]:
        return tuple(u.name for u in self.spec.units)

    @cached_property
    def engines(self) -> tuple[EngineSpec, ...]:
        units = tuple(EngineSpec(name=u.name, static_power_w=u.static_power_w) for u in self.spec.units)
        return units + (EngineSpec(name=DRAM, kind=EngineKind.MEMORY),)

    @cached_property
    def energy_model(self) -> EnergyModel:
        """Both: active power x busy time for compute, pJ/byte for cache and DRAM traffic."""
        return EnergyModel(
            method=EnergyMethod.BOTH,
            detail=("compute = unit active power x compute time; cache and DRAM bytes x pJ/byte; "
                    "static power of every unit over the run"),
            assumed=("active and static powers, DRAM pJ/byte (see the preset's source); cache "
                     "pJ/byte from Horowitz's SRAM table at the cache's size and node, 0.9 V"),
        )

    def cache_pj_per_byte(self, target: str) -> float:
        """Energy of one byte of `target`'s cache traffic, pJ/B: the unit's
        `cache_energy_pj_per_byte` where set, else the shared SRAM table at the unit's
        `cache_bytes` and the board's `node_nm` (`sim.memory.sram_pj_per_byte`, 0.9 V).
        SpecError for an unknown target."""
        unit = self.spec.unit(target)
        if unit.cache_energy_pj_per_byte is not None:
            return unit.cache_energy_pj_per_byte
        return sram_pj_per_byte(unit.cache_bytes, node_nm=self.spec.node_nm)

    def unit_text(self, target: str) -> str:
        """The unit's cores and clocks, e.g. 'gpu: 512 x 587 MHz'."""
        unit = self.spec.unit(target)
        cores = " + ".join(f"{g.n_cores} x {g.freq_hz / 1e6:g} MHz" for g in unit.cores)
        kind = "" if unit.kind.value == target else f" ({unit.kind.value})"
        return f"{target}{kind}: {cores}"

    def with_threads(self, target: str, n_threads: int) -> MobileBoard:
        """This board with `target` running on its first `n_threads` cores only.

        The same as `--set units.TARGET.n_threads=N`: core groups are listed fastest first in
        the presets (prime core, then big cores), as a thread pool pinned to the big cluster
        fills them. SpecError when out of range.
        """
        unit = self.spec.unit(target)
        if isinstance(n_threads, bool) or not isinstance(n_threads, int) or not (
                1 <= n_threads <= unit.n_cores):
            raise SpecError(f"{self.name}/{target}: threads must be 1..{unit.n_cores} (got {n_threads!r})")
        index = self.spec.units.index(unit)
        return MobileBoard(override(self.spec, {f"units.{index}.n_threads": n_threads},
                                    where=f"{self.name}.with_threads"))

    def supported_kinds(self, target: str) -> frozenset[OpKind]:
        self.spec.unit(target)  # validates the target
        return frozenset(OpKind)

    def breakdown(self, op: Op, target: str) -> OpBreakdown:
        """Time and traffic of `op` on `target`, before they become a `Cost`."""
        unit = self.spec.unit(target)
        members = op.members or (op,)
        cls = kernel_class(op)
        dtype, rate = datatype(op.anchor.compression)
        peak = unit.peak_macs_per_s(dtype) * rate
        occupancy = min(1.0, math.prod(op.output_shape) / unit.occupancy_items)
        mac_s = vector_s = 0.0
        weight_bytes = 0
        kernel = cls.value
        structure = unit.structure
        # A reduction that ends a kernel (layer norm, softmax): one more launch and one more
        # pass over that member's input, per extra kernel.
        extras = [(extra_kernels(m, structure), m.input_bytes_read) for m in members]
        for m in members:
            m_cls = kernel_class(m)
            if m.macs:
                sx = sparse_execution(m, unit.sparse)
                eff = efficiency_of(m_cls, unit.efficiency)
                # Linear and matmul layers: tiles, waves and per-tile overhead of the GEMM
                # (kernels.gemm_utilisation) stand in for the output-size occupancy.
                util = (gemm_utilisation(m, structure, unit.occupancy_items)
                        if m.kind in _TILED_KINDS else occupancy)
                mac_s += padded_macs(m, unit.sparse.channel_align) * sx.time_factor / (peak * eff * util)
                weight_bytes += sx.weight_bytes
                if sx.kernel != "dense":
                    kernel = f"{kernel}/{sx.kernel}"
            else:
                weight_bytes += m.weight_bytes_read
            lowered = lowered_s(m, structure, max(g.freq_hz for g in unit.active_cores))
            if lowered:
                # A layer norm or GELU run as primitive ops (a runtime without their kernels):
                # single-threaded passes at the preset's cycles per element, not vector ops.
                vector_s += lowered
            elif m.vector_ops:
                eff = efficiency_of(m_cls, unit.efficiency)
                # exp and erf at their cost (kernels.vector_ops), beyond the one op each of them
                # is in Op.vector_ops.
                vector_s += (vector_ops(m, structure) - m.vector_ops) / (unit.vector_ops_per_s * eff * occupancy)
                vector_s += m.vector_ops / (unit.vector_ops_per_s * eff * occupancy)
        dram_bytes = dram_traffic_bytes(op.input_bytes_read, weight_bytes, op.output_bytes,
                                        unit.cache_bytes, reuse=cls in _MAC_CLASSES)
        dram_bytes += sum(n * read for n, read in extras)
        memory_s = dram_bytes / (self.spec.dram_bytes_per_s * unit.dram_fraction)
        return OpBreakdown(kernel=kernel, mac_s=mac_s, vector_s=vector_s,
                           launch_s=unit.launch_overhead_s * (1 + sum(n for n, _ in extras)),
                           dram_bytes=dram_bytes,
                           memory_s=memory_s, weight_bytes=weight_bytes)

    def transfer(self, n_bytes: int, source: str, dest: str) -> Cost:
        """Handing `n_bytes` made on unit `source` to an op on unit `dest` (`HandoffSpec`): the
        board's `handoff` between a GPU and a CPU unit, free between two CPU units or when the
        board states no `handoff`. SpecError for an unknown unit."""
        src, dst = self.spec.unit(source), self.spec.unit(dest)
        handoff = self.spec.handoff
        if handoff is None or src.kind is dst.kind:
            return FREE_TRANSFER
        dram_bytes = 2 * n_bytes  # written back by the producer, re-read by the consumer
        return Cost(
            stages=((Phase(dest, handoff.sync_latency_s + n_bytes / handoff.copy_bytes_per_s,
                           PhaseLabel.TRANSFER),
                     Phase(DRAM, dram_bytes / self.spec.dram_bytes_per_s, PhaseLabel.TRANSFER)),),
            energy_j={EnergyComponent.OFF_CHIP: dram_bytes * self.spec.dram_energy_pj_per_byte * 1e-12},
            bytes_moved={MemoryLevel.DRAM: dram_bytes},
            bound_by=BoundBy.OVERHEAD,
        )

    def cost(self, op: Op, target: str) -> Cost:
        return memoized(self._cache, (op, target), lambda: self._cost(op, target))

    def _cost(self, op: Op, target: str) -> Cost:
        if op.is_free:
            self.spec.unit(target)
            return Cost(stages=(), bound_by=BoundBy.FREE)
        unit = self.spec.unit(target)
        b = self.breakdown(op, target)
        busy_s = b.launch_s + b.compute_s
        kernel_class, _, variant = b.kernel.partition("/")  # 'conv3x3/block': class/sparse format
        stage = [Phase(target, busy_s, PhaseLabel(kernel_class), variant or None)]
        if b.memory_s > 0:
            stage.append(Phase(DRAM, b.memory_s, PhaseLabel.DRAM))
        if b.launch_s > max(b.compute_s, b.memory_s):
            bound = BoundBy.OVERHEAD
        else:
            bound = BoundBy.COMPUTE if b.compute_s >= b.memory_s else BoundBy.MEMORY
        return Cost(
            stages=(tuple(stage),),
            energy_j=_energy(unit, op, b, self.cache_pj_per_byte(target),
                             self.spec.dram_energy_pj_per_byte),
            bytes_moved={MemoryLevel.DRAM: b.dram_bytes, MemoryLevel.CACHE: _cache_bytes(unit, op, b)},
            bound_by=bound,
            peak_macs_per_s=unit.peak_macs_per_s(datatype(op.anchor.compression)[0]),
        )


def _cache_bytes(unit: ComputeUnitSpec, op: Op, b: OpBreakdown) -> int:
    """On-chip traffic: the two operands of each MAC, fetched once per `register_block` MACs
    by the register-blocked micro-kernel, plus the DRAM fills passing through the cache."""
    elt = max(op.anchor.compression.activation_bits, op.anchor.compression.weight_bits) / 8
    return int(op.effective_macs * 2 * elt / unit.register_block) + b.dram_bytes


def _energy(unit: ComputeUnitSpec, op: Op, b: OpBreakdown, cache_pj: float,
            dram_pj: float) -> dict:
    return {
        EnergyComponent.MAC: unit.active_power_w * b.mac_s,
        EnergyComponent.VECTOR: unit.active_power_w * b.vector_s,
        EnergyComponent.ON_CHIP: _cache_bytes(unit, op, b) * cache_pj * 1e-12,
        EnergyComponent.OFF_CHIP: b.dram_bytes * dram_pj * 1e-12,
    }


FAMILY = Family(name="mobile", spec_type=BoardSpec, build=MobileBoard, presets=PRESETS)
"""Registered under `edgesim.families` as 'mobile'; presets are devices/mobile/presets/*.yaml."""
