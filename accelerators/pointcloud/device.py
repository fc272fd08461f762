"""PointAcc-style point-cloud accelerator (Lin et al., MICRO 2021, arXiv 2110.07600) as a device.

Three units, three engines, which the discrete-event engine runs concurrently:

- ``mapping``: a ranking-based mapping unit. Every mapping op is sorting, merging or ranking
  through a comparator network `merger_width` elements wide, fed by `distance_lanes` distance
  units. Cycles (all from the op's real sizes):
  farthest-point sampling, n_out iterations of a distance update and running max over the
  n_in points: n_out x (ceil(n_in / lanes) + log2(lanes));
  kNN / ball query, q queries over p points of d dims: distances q x p x ceil(d / 3) / lanes,
  ranked into the top k through the merger at q x p / width, pipelined (the larger counts);
  kernel map of a sparse conv, K offsets: the sorted input coordinates are merged with the
  sorted output coordinates shifted by each offset, K x (n_in + n_out) / width; a strided conv
  first computes its output coordinates by sorting the n_in quantised keys, a merge sort of
  ceil(log2(n_in / width)) + 1 passes of n_in / width cycles; grid groupings (pillars) are that
  sort alone.
- ``mmu``: the memory management unit. Gathers and scatters replay the op's real index stream
  through a set-associative LRU cache (`accelerators.pointcloud.cache`), so hits and DRAM bytes
  come from the data; it also moves every DRAM tensor (weights prefetched).
- ``matrix``: a rows x cols systolic array with a vector post-processing unit (cols lanes).
  Dense layers are GEMMs timed by the shared template `sim.systolic` (SCALE-Sim v3's folds):
  weight stationary ceil(K / rows) x ceil(N / cols) folds of 2 rows + cols + M - 2 cycles;
  output stationary ceil(M / rows) x ceil(N / cols) folds of K + rows + cols - 2.
  Sparse convs are one GEMM per kernel offset over the pairs of that offset, tile by tile of
  outputs that fit the output buffer. Temporal layer fusion: consecutive row-wise layers
  (gather, linear, norm, activation, add, concat, group max) whose weights fit the weight buffer
  pass tiles of rows through on chip; only the chain's first input and last output touch DRAM.

Energy per component: MACs ('mac'), vector ops and the mapping unit's comparator/distance ops
('vector') from `sim.energy`'s Horowitz table scaled to the node (E ~ node x V^2); SRAM bytes
('on_chip') each priced at the buffer they move through (`Buffer`: weight, input and output
buffers, gather cache, mapping-unit buffer), by `sim.memory.sram_pj_per_byte` at that buffer's
capacity in the spec, the node and the voltage (one macro per buffer; banking, which would make
a large buffer cheaper per access, is not modelled); DRAM bytes ('off_chip') at the spec's or the
table's DRAM figure; leakage as static power. The datapath is `data_bits`
wide fixed point: float ops run as w{data_bits}a{data_bits} and wider integers at data_bits,
which each op row reports as its executed precision. An embedding reads only the rows it looks
up.

Which neighbour searches are grid groupings and which sparse convs reuse a kernel map built
earlier, the ops say (`NeighbourAttrs.search`, `SparseConv3dAttrs.reuses_kernel_map`).
`PointAccDevice.for_network` (the `sim.Device` hook `simulate` calls once per stream) prices a
`PointCloudNetwork`, the network the zoo's point-cloud workloads build, which carries its index
streams and kernel maps: it runs their cache simulations and plans fusion once
(`accelerators.pointcloud.plan`, the expensive part), so `cost` stays a pure look-up;
`for_workload` does the same for a `PointCloudWorkload`. Any other network (a trace file, a
plain zoo model) is priced from counts alone: gathers and scatters then miss on every row (no
reuse assumed), and no tensor is kept on chip by fusion.

The spec is `accelerators.pointcloud.spec`, the array's timing `accelerators.pointcloud.matrix`.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from accelerators.pointcloud.matrix import fold_cycles, fold_cycles_many, output_tile_rows
from accelerators.pointcloud.plan import WorkloadPlan, plan_workload
from accelerators.pointcloud.spec import PointAccSpec, datapath_bits, row_bytes_of
from sim.device import (BoundBy, Cost, EngineKind, EngineSpec, MemoryLevel, Phase, PhaseLabel,
                        SpecNamed)
from sim.energy import HOROWITZ_45NM, EnergyComponent, EnergyMethod, EnergyModel, EnergyTable
from sim.memory import sram_pj_per_byte
from sim.spec import Family
from workloads import Network, Op, OpKind
from workloads.gemm import gemm_of
from workloads.ops import INDEX_BITS, NeighbourSearch
from workloads.pointcloud import PointCloudNetwork, PointCloudWorkload

_INDEX_INPUT = {OpKind.GATHER: 1, OpKind.SCATTER: 1, OpKind.EMBEDDING: 0}
"""The input of each kind that carries indices (INDEX_BITS wide, not the datapath's)."""

PRESETS = Path(__file__).parent / "presets"

MAPPING_KINDS = frozenset({OpKind.FPS, OpKind.KNN, OpKind.BALL_QUERY})
GEMM_KINDS = frozenset({OpKind.LINEAR, OpKind.MATMUL, OpKind.CONV2D, OpKind.EMBEDDING})
ELEMENTWISE = frozenset({OpKind.NORM, OpKind.ACTIVATION, OpKind.ADD, OpKind.MUL, OpKind.CONCAT,
                         OpKind.POOL})


class Buffer(enum.Enum):
    """The on-chip SRAMs a byte can move through; each is priced at its own capacity."""

    WEIGHT = "weight"
    INPUT = "input"
    OUTPUT = "output"
    CACHE = "cache"
    MAPPING = "mapping"


def buffer_bytes(spec: PointAccSpec) -> dict[Buffer, int]:
    """Capacity of each on-chip buffer of `spec`, bytes."""
    return {Buffer.WEIGHT: spec.matrix.weight_buffer_bytes,
            Buffer.INPUT: spec.matrix.input_buffer_bytes,
            Buffer.OUTPUT: spec.matrix.output_buffer_bytes,
            Buffer.CACHE: spec.memory.cache.capacity_bytes,
            Buffer.MAPPING: spec.mapping.buffer_bytes}


@dataclass(frozen=True)
class PointAccDevice(SpecNamed):
    """A `sim.Device` for a `PointAccSpec`; one target, 'accelerator'."""

    spec: PointAccSpec
    plan: WorkloadPlan = field(default_factory=WorkloadPlan, repr=False)
    """Workload-specific facts (cache results, fusion); empty prices from counts alone."""
    energy_table: EnergyTable = field(default=HOROWITZ_45NM, repr=False)
    """The 45 nm base table; scaled to spec.node_nm / spec.voltage_v."""

    targets = ("accelerator",)

    @classmethod
    def for_workload(cls, workload: PointCloudWorkload, spec: PointAccSpec) -> PointAccDevice:
        """The device with `workload`'s cache simulations and fusion plan worked out."""
        return cls(spec=spec, plan=plan_workload(workload, spec))

    def for_network(self, network: Network) -> PointAccDevice:
        """The `sim.Device` hook `simulate` calls per stream: a `PointCloudNetwork` (what the
        zoo's point-cloud workloads build) gets its plan worked out, as `for_workload` does, so
        `edgesim run NAME --device pointacc` prices what the study prices. A device that has a
        plan already keeps it; any other network is priced from counts."""
        if self.plan.workload or not isinstance(network, PointCloudNetwork):
            return self
        return replace(self, plan=plan_workload(network, self.spec))

    @cached_property
    def engines(self) -> tuple[EngineSpec, ...]:
        return (
            EngineSpec(name="mapping"),
            EngineSpec(name="mmu", kind=EngineKind.DMA),
            EngineSpec(name="matrix", static_power_w=self.spec.static_power_w),
        )

    @cached_property
    def _energy(self) -> EnergyTable:
        return self.energy_table.scaled(self.spec.node_nm, self.spec.voltage_v)

    @cached_property
    def sram_pj_per_byte(self) -> dict[Buffer, float]:
        """Access energy per byte of each buffer at its capacity, the node and voltage, pJ/B."""
        s = self.spec
        return {b: sram_pj_per_byte(cap, node_nm=s.node_nm, voltage_v=s.voltage_v)
                for b, cap in buffer_bytes(s).items()}

    @cached_property
    def energy_model(self) -> EnergyModel:
        """Per-action: Horowitz energies scaled to the node, per MAC, op, SRAM and DRAM byte."""
        return EnergyModel(
            method=EnergyMethod.PER_ACTION,
            detail=(f"MACs, vector and mapping ops, SRAM and DRAM bytes x Horowitz ISSCC 2014 "
                    f"energies scaled to {self.spec.node_nm:g} nm, each SRAM byte at its "
                    f"buffer's capacity"),
            leaves_out="control and clock-tree dynamic power",
            assumed=f"static power {self.spec.static_power_w:g} W" if self.spec.static_power_w else None,
        )

    def unit_text(self, target: str) -> str:
        """The arrays and the clock."""
        m = self.spec.matrix
        return (f"{target}: {m.rows}x{m.cols} systolic array, {self.spec.data_bits}-bit datapath, "
                f"{self.spec.freq_hz / 1e6:g} MHz")

    def _executed(self, op: Op) -> str | None:
        comp = op.anchor.compression
        bits = datapath_bits(op, self.spec)
        if comp.is_float:
            return f"w{bits}a{bits}"
        if max(comp.weight_bits, comp.activation_bits, comp.high_bits) > bits:
            return f"w{min(comp.weight_bits, bits)}a{min(comp.activation_bits, bits)}"
        return None

    def supported_kinds(self, target: str) -> frozenset[OpKind]:
        return frozenset(OpKind)

    # Tensor and weight sizes at the datapath width (`sim.device.ExecutedSizes`), as the cost's
    # DRAM and SRAM bytes count them; index tensors stay INDEX_BITS wide.

    def executed_input_bytes(self, op: Op, index: int) -> int:
        """Bytes of input `index` of `op` as stored: `datapath_bits` per element, an index
        input (of a gather, scatter or embedding) at INDEX_BITS."""
        if index == _INDEX_INPUT.get(op.kind):
            return op.input_bytes_of(index)
        return math.ceil(math.prod(op.input_shapes[index]) * datapath_bits(op, self.spec) / 8)

    def executed_output_bytes(self, op: Op) -> int:
        """Bytes of `op`'s output as stored (neighbour lists at INDEX_BITS), 0 for a view."""
        if op.is_free:
            return 0
        if op.kind in (OpKind.KNN, OpKind.BALL_QUERY):
            return op.output_bytes
        return math.ceil(math.prod(op.output_shape) * datapath_bits(op, self.spec) / 8)

    def executed_weight_bytes(self, op: Op) -> int:
        """Bytes of `op`'s kept parameters at the datapath width (the whole table of an
        embedding, though a run reads only the rows it looks up)."""
        return math.ceil(op.nonzero_params * datapath_bits(op, self.spec) / 8)

    # --- helpers -------------------------------------------------------------------------------

    def _s(self, cycles: float) -> float:
        return cycles / self.spec.freq_hz

    def _dram_s(self, n_bytes: float) -> float:
        return n_bytes / self.spec.memory.dram_bytes_per_s

    def _on_chip(self, tensor: str) -> bool:
        return tensor in self.plan.on_chip

    def _in_dram_bytes(self, op: Op, bits: int) -> float:
        """Bytes of the op's inputs that come from DRAM (not kept on chip by fusion).

        Index tensors (of gathers, scatters, embeddings) are INDEX_BITS wide; everything else
        moves at the datapath width.
        """
        index_inputs = _INDEX_INPUT.get(op.kind)
        total = 0.0
        for i, src in enumerate(op.inputs):
            if self._on_chip(src):
                continue
            elements = math.prod(op.input_shapes[i])
            total += elements * (INDEX_BITS if i == index_inputs else bits) / 8
        return total

    def _out_dram_bytes(self, op: Op, bits: int) -> float:
        if self._on_chip(op.name):
            return 0.0
        if op.kind in (OpKind.KNN, OpKind.BALL_QUERY):
            return float(op.output_bytes)  # index lists, INDEX_BITS each
        return math.prod(op.output_shape) * bits / 8

    def _energy_j(self, *, macs=0.0, vector=0.0, mapping=0.0,
                  sram_bytes: dict[Buffer, float] | None = None, dram_bytes=0.0,
                  bits: int) -> dict[str, float]:
        """Energy per component, J; `sram_bytes` are the bytes read or written per buffer."""
        t = self._energy
        pj_per_byte = self.sram_pj_per_byte
        e = {
            EnergyComponent.MAC: macs * t.mac_pj(bits, is_float=False,
                                                 accumulator_bits=self.spec.matrix.accumulator_bits),
            # The mapping unit's comparators are elementwise compute, like the vector lanes.
            EnergyComponent.VECTOR: (vector * t.vector_op_pj(bits, is_float=False)
                                     + mapping * t.int_add_pj(32)),
            EnergyComponent.ON_CHIP: sum(n * pj_per_byte[b] for b, n in (sram_bytes or {}).items()),
            EnergyComponent.OFF_CHIP: dram_bytes * (t.dram_pj_per_byte if self.spec.memory.dram_pj_per_byte is None
                                                         else self.spec.memory.dram_pj_per_byte),
        }
        return {k: v * 1e-12 for k, v in e.items() if v}

    # --- cost ----------------------------------------------------------------------------------

    def cost(self, op: Op, target: str = "accelerator") -> Cost:
        if op.is_free or (op.kind in (OpKind.RESHAPE, OpKind.TRANSPOSE) and not op.attrs.copy):
            return Cost(stages=(), bound_by=BoundBy.FREE)
        cost = self._cost(op)
        changes = {}
        executed = self._executed(op)
        if executed is not None:
            changes["executed_precision"] = executed
        if op.macs:  # the systolic array's peak: one MAC per PE per cycle
            m = self.spec.matrix
            changes["peak_macs_per_s"] = m.rows * m.cols * self.spec.freq_hz
        return replace(cost, **changes) if changes else cost

    def _cost(self, op: Op) -> Cost:
        kind = op.kind
        if kind in MAPPING_KINDS:
            return self._mapping_cost(op)
        if kind is OpKind.SPARSE_CONV3D:
            return self._sparse_conv_cost(op)
        if kind in (OpKind.GATHER, OpKind.SCATTER):
            return self._gather_scatter_cost(op)
        if kind in GEMM_KINDS or (kind is OpKind.FUSED and op.anchor.kind in GEMM_KINDS):
            return self._gemm_cost(op)
        if kind is OpKind.FUSED and op.anchor.kind is OpKind.SPARSE_CONV3D:
            return self._sparse_conv_cost(op)
        return self._vector_cost(op)

    def _dense_stage(self, op: Op, matrix_s: float, dram_bytes: float, label: str):
        overhead = self._s(self.spec.op_overhead_cycles)
        stage = [Phase("matrix", overhead + matrix_s, label)]
        if dram_bytes:
            stage.append(Phase("mmu", self._dram_s(dram_bytes), PhaseLabel.DRAM))
        return tuple(stage)

    def _bound(self, compute_s: float, memory_s: float) -> BoundBy:
        return BoundBy.COMPUTE if compute_s >= memory_s else BoundBy.MEMORY

    def _gemm_dims(self, op: Op) -> list[tuple[int, int, int]]:
        """(m, k, n) of each product of `workloads.gemm.gemm_of(op)`, once per group (none for an
        embedding)."""
        g = gemm_of(op)
        return [] if g is None else [(g.m, g.k, g.n)] * g.groups

    def _gemm_cost(self, op: Op) -> Cost:
        s, m = self.spec, self.spec.matrix
        bits = datapath_bits(op, s)
        dims = self._gemm_dims(op)
        cycles = sum(fold_cycles(mm, kk, nn, m) for mm, kk, nn in dims)
        if op.anchor.kind is OpKind.EMBEDDING:
            cycles = math.prod(op.output_shape) / max(1, s.memory.port_bytes_per_cycle * 8 // bits)
        # Fused members (elementwise) run in the post-processing lanes, pipelined with the array.
        vector = sum(x.vector_ops for x in op.members[1:])
        weight_bytes = op.nonzero_params * bits / 8
        if op.anchor.kind is OpKind.EMBEDDING:  # only the rows looked up
            weight_bytes = min(weight_bytes, math.prod(op.anchor.output_shape) * bits / 8)
        in_bytes = self._in_dram_bytes(op, bits)
        out_bytes = self._out_dram_bytes(op, bits)
        # SRAM: inputs re-read once per column fold (weight stationary) or per row of outputs
        # folds (output stationary), weights once, partial sums read+written per reduction fold.
        act_in = sum(mm * kk for mm, kk, _ in dims) * bits / 8
        act_out = math.prod(op.output_shape) * bits / 8
        col_folds = max((math.ceil(nn / m.cols) for _, _, nn in dims), default=1)
        k_folds = max((math.ceil(kk / m.rows) for _, kk, _ in dims), default=1)
        per_buffer = {Buffer.INPUT: act_in * col_folds, Buffer.WEIGHT: weight_bytes,
                      Buffer.OUTPUT: act_out * (2 * k_folds - 1)}
        sram = sum(per_buffer.values())
        matrix_s = self._s(cycles)
        energy = self._energy_j(macs=op.effective_macs, vector=vector, sram_bytes=per_buffer,
                                dram_bytes=in_bytes + out_bytes + weight_bytes, bits=bits)
        prefetch = (Phase("mmu", self._dram_s(weight_bytes), PhaseLabel.WEIGHTS),) if weight_bytes else ()
        return Cost(
            stages=(self._dense_stage(op, matrix_s, in_bytes + out_bytes, "gemm"),),
            prefetch=prefetch, energy_j=energy,
            bytes_moved={MemoryLevel.DRAM: round(in_bytes + out_bytes + weight_bytes), MemoryLevel.SRAM: round(sram)},
            bound_by=self._bound(matrix_s, self._dram_s(in_bytes + out_bytes)),
        )

    def _vector_cost(self, op: Op) -> Cost:
        s = self.spec
        bits = datapath_bits(op, s)
        in_bytes = self._in_dram_bytes(op, bits)
        out_bytes = self._out_dram_bytes(op, bits)
        elements = max(op.vector_ops, math.prod(op.output_shape))
        # Elementwise work on a tile that comes straight from the array is pipelined with it.
        pipelined = op.kind in ELEMENTWISE and all(self._on_chip(x) for x in op.inputs)
        cycles = 0 if pipelined else math.ceil(elements / s.matrix.cols)
        sram = (math.prod(op.output_shape) + sum(math.prod(x) for x in op.input_shapes)) * bits / 8
        # The post-processing lanes work on tiles in the array's output buffer.
        energy = self._energy_j(vector=op.vector_ops, sram_bytes={Buffer.OUTPUT: sram},
                                dram_bytes=in_bytes + out_bytes,
                                bits=bits)
        matrix_s = self._s(cycles)
        if pipelined and not (in_bytes + out_bytes):
            return Cost(stages=(), energy_j=energy, bytes_moved={MemoryLevel.SRAM: round(sram)},
                        bound_by=BoundBy.FUSED)
        return Cost(stages=(self._dense_stage(op, matrix_s, in_bytes + out_bytes, "vector"),),
                    energy_j=energy, bytes_moved={MemoryLevel.DRAM: round(in_bytes + out_bytes), MemoryLevel.SRAM: round(sram)},
                    bound_by=self._bound(matrix_s, self._dram_s(in_bytes + out_bytes)))

    # --- mapping unit --------------------------------------------------------------------------

    def _sort_passes(self, n: int) -> int:
        w = self.spec.mapping.merger_width
        return 1 + max(0, math.ceil(math.log2(max(1, n) / w))) if n > 1 else 0

    def _mapping_cost(self, op: Op) -> Cost:
        s, mu = self.spec, self.spec.mapping
        w, lanes = mu.merger_width, mu.distance_lanes
        bits = datapath_bits(op, s)
        if op.kind is OpKind.FPS:
            n_in, n_out = op.input_shapes[0][0], op.output_shape[0]
            cycles = n_out * (math.ceil(n_in / lanes) + math.ceil(math.log2(lanes)))
            distances, compares = n_in * n_out, n_in * n_out
        elif op.attrs.search is NeighbourSearch.GRID:
            n = op.input_shapes[1][0]
            passes = self._sort_passes(n)
            cycles = passes * math.ceil(n / w) + math.ceil(n / w)
            distances, compares = 0, n * (passes + 1)
        else:
            q, p = op.input_shapes[0][0], op.input_shapes[1][0]
            dims = op.input_shapes[0][1]
            if dims > 3:
                return self._feature_knn_cost(op, q, p, dims, bits)
            dist_cycles = q * p / lanes
            rank_cycles = q * p / w
            cycles = math.ceil(max(dist_cycles, rank_cycles))
            distances, compares = q * p, q * p
        in_bytes = self._in_dram_bytes(op, bits)
        out_bytes = self._out_dram_bytes(op, bits)
        return self._mapping_phase_cost(cycles, distances, compares, in_bytes, out_bytes, bits, "mapping")

    def _feature_knn_cost(self, op: Op, q: int, p: int, dims: int, bits: int) -> Cost:
        """kNN in feature space (DGCNN): the q x p distances are a GEMM, -2 X Y^T plus norms, on
        the systolic array, ranked into the top k by the mapping unit as they stream out."""
        s = self.spec
        matrix_s = self._s(fold_cycles(q, dims, p, s.matrix) + s.op_overhead_cycles)
        rank_s = self._s(math.ceil(q * p / s.mapping.merger_width) + s.op_overhead_cycles)
        in_bytes = self._in_dram_bytes(op, bits)
        out_bytes = self._out_dram_bytes(op, bits)
        dram_s = self._dram_s(in_bytes + out_bytes)
        stage = [Phase("matrix", matrix_s, PhaseLabel.DISTANCE), Phase("mapping", rank_s, PhaseLabel.MAPPING)]
        if in_bytes + out_bytes:
            stage.append(Phase("mmu", dram_s, PhaseLabel.DRAM))
        # Features through the input buffer; the q x p distances (4 B) through the output buffer.
        sram = {Buffer.INPUT: (q + p) * dims * bits / 8, Buffer.OUTPUT: q * p * 4}
        energy = self._energy_j(macs=q * p * dims, mapping=q * p, sram_bytes=sram,
                                dram_bytes=in_bytes + out_bytes, bits=bits)
        return Cost(stages=(tuple(stage),), energy_j=energy,
                    bytes_moved={MemoryLevel.DRAM: round(in_bytes + out_bytes)},
                    bound_by=self._bound(max(matrix_s, rank_s), dram_s))

    def _mapping_phase_cost(self, cycles, distances, compares, in_bytes, out_bytes, bits, label) -> Cost:
        compute_s = self._s(cycles + self.spec.op_overhead_cycles)
        memory_s = self._dram_s(in_bytes + out_bytes)
        # A distance is 3 subtracts, 3 multiplies, 2 adds; a compare is an add-sized op.
        energy = self._energy_j(vector=distances * 8, mapping=compares,
                                sram_bytes={Buffer.MAPPING: (distances + compares) * 4},
                                dram_bytes=in_bytes + out_bytes,
                                bits=bits)
        return Cost(stages=((Phase("mapping", max(compute_s, memory_s), label),),), energy_j=energy,
                    bytes_moved={MemoryLevel.DRAM: round(in_bytes + out_bytes)},
                    bound_by=self._bound(compute_s, memory_s))

    def _kernel_map_cycles(self, n_in: int, n_out: int, k: int, downsample: bool) -> tuple[int, int]:
        w = self.spec.mapping.merger_width
        cycles = k * math.ceil((n_in + n_out) / w)
        compares = k * (n_in + n_out)
        if downsample:
            passes = self._sort_passes(n_in)
            cycles += passes * math.ceil(n_in / w)
            compares += passes * n_in
        return cycles, compares

    # --- memory management unit ----------------------------------------------------------------

    def _stream_s(self, n_rows: int, row_bytes: float, dram_bytes: float) -> tuple[float, float]:
        port = self.spec.memory.port_bytes_per_cycle
        sram_s = self._s(n_rows * max(1, math.ceil(row_bytes / port)))
        return sram_s, self._dram_s(dram_bytes)

    def _gather_scatter_cost(self, op: Op) -> Cost:
        s = self.spec
        bits = datapath_bits(op, s)
        values = op.input_shapes[0]
        n_rows = math.prod(op.input_shapes[1])
        width = values[-1] if op.kind is OpKind.GATHER else op.output_shape[-1]
        row_bytes = row_bytes_of(width, op, s)
        index_bytes = op.input_bytes_of(1) if not self._on_chip(op.inputs[1]) else 0
        traffic = self.plan.streams.get(op.name)
        if op.kind is OpKind.GATHER:
            src = op.inputs[0]
            if self._on_chip(src):
                reads = 0.0
            elif traffic is not None:
                reads = traffic.miss_bytes
            else:  # no stream known: every row misses
                reads = n_rows * row_bytes
            dram = reads + index_bytes + self._out_dram_bytes(op, bits)
        else:
            values_bytes = 0 if self._on_chip(op.inputs[0]) else math.prod(values) * bits / 8
            out_bytes = self._out_dram_bytes(op, bits)
            if traffic is not None:  # re-fetch of evicted partial results (cold lines start at 0)
                refetch = (traffic.n_misses - traffic.n_cold_misses) * traffic.block_bytes
            else:
                refetch = n_rows * row_bytes
            dram = values_bytes + index_bytes + refetch + out_bytes
        sram_s, dram_s = self._stream_s(n_rows, row_bytes, dram)
        busy = max(sram_s, dram_s) + self._s(s.op_overhead_cycles)
        sram = n_rows * row_bytes * (2 if op.kind is OpKind.SCATTER else 1)
        energy = self._energy_j(vector=op.vector_ops, sram_bytes={Buffer.CACHE: sram}, dram_bytes=dram,
                                bits=bits)
        return Cost(stages=((Phase("mmu", busy, op.kind.value),),), energy_j=energy,
                    bytes_moved={MemoryLevel.DRAM: round(dram), MemoryLevel.SRAM: round(sram)},
                    bound_by=self._bound(sram_s, dram_s))

    # --- sparse convolution --------------------------------------------------------------------

    def _sparse_conv_cost(self, op: Op) -> Cost:
        s, m = self.spec, self.spec.matrix
        conv = op.anchor
        bits = datapath_bits(op, s)
        kv, cin, cout = conv.weight_shape
        n_in, n_out = conv.input_shapes[0][0], conv.output_shape[0]
        n_pairs = conv.attrs.n_pairs
        plan = self.plan.sparse_convs.get(conv.name)
        weight_bytes = op.nonzero_params * bits / 8
        in_row = row_bytes_of(cin, op, s)
        stages = []
        energy: dict[str, float] = {}
        dram_map = 0.0
        if kv == 1:  # a 1x1x1 conv is a plain GEMM over the points, no map or gather
            cycles = fold_cycles(n_out, cin, cout, m)
            gather_dram = 0.0 if self._on_chip(conv.inputs[0]) else n_in * in_row
            gather_rows, weight_reads, psum_spill = n_in, weight_bytes, 0.0
        else:
            if not conv.attrs.reuses_kernel_map:
                downsample = conv.attrs.stride > 1 and n_out < n_in
                map_cycles, compares = self._kernel_map_cycles(n_in, n_out, kv, downsample)
                coords = (n_in + n_out) * 3 * 4
                dram_map = n_pairs * 2 * INDEX_BITS / 8  # the map, written for the MMU to stream
                map_cost = self._mapping_phase_cost(map_cycles, 0, compares, coords, dram_map, bits,
                                                    "kernel_map")
                stages.extend(map_cost.stages)
                for k_, v in map_cost.energy_j.items():
                    energy[k_] = energy.get(k_, 0.0) + v
            if plan is not None:
                cycles = plan.matrix_cycles
                gather_dram = plan.gather.miss_bytes
                weight_reads, psum_spill = plan.weight_dram_bytes, plan.psum_dram_bytes
            else:
                n_tiles = math.ceil(n_out / output_tile_rows(n_out, cout, s))
                per_offset = np.full(kv * n_tiles, n_pairs / (kv * n_tiles))
                cycles = fold_cycles_many(np.ceil(per_offset), cin, cout, m)
                gather_dram = n_pairs * in_row
                weight_reads = weight_bytes * (n_tiles if weight_bytes > m.weight_buffer_bytes else 1)
                psum_spill = 0.0
            gather_rows = n_pairs
            dram_map += n_pairs * 2 * INDEX_BITS / 8  # streaming the map in
        out_bytes = self._out_dram_bytes(op, bits)
        dram = gather_dram + out_bytes + dram_map + weight_reads + psum_spill
        sram_s, dram_s = self._stream_s(gather_rows, in_row, dram)
        matrix_s = self._s(cycles + s.op_overhead_cycles)
        stages.append((Phase("matrix", matrix_s, PhaseLabel.GEMM), Phase("mmu", max(sram_s, dram_s), PhaseLabel.GATHER)))
        # Gathered rows re-read from the input buffer per column fold; partial sums read and
        # written in the output buffer once per pair.
        per_buffer = {Buffer.INPUT: gather_rows * in_row * math.ceil(cout / m.cols),
                      Buffer.WEIGHT: weight_bytes,
                      Buffer.OUTPUT: n_pairs * cout * 2 * m.accumulator_bits / 8}
        sram = sum(per_buffer.values())
        vector = sum(x.vector_ops for x in op.members[1:])
        for k_, v in self._energy_j(macs=op.effective_macs, vector=vector, sram_bytes=per_buffer,
                                    dram_bytes=dram, bits=bits).items():
            energy[k_] = energy.get(k_, 0.0) + v
        return Cost(stages=tuple(stages), energy_j=energy,
                    bytes_moved={MemoryLevel.DRAM: round(dram), MemoryLevel.SRAM: round(sram)},
                    bound_by=self._bound(matrix_s, max(sram_s, dram_s)))


FAMILY = Family(name="pointcloud", spec_type=PointAccSpec, build=PointAccDevice, presets=PRESETS)
"""Registered under `edgesim.families` as 'pointcloud'; a device built from a spec prices from counts
until `simulate` binds it to a `PointCloudNetwork` (`for_network`)."""
