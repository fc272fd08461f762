"""A discrete GPU running point-cloud networks the way the reference libraries do, as a device.

The model is per CUDA kernel: every kernel pays a launch overhead, then the larger of its
compute time and its DRAM time. What distinguishes point-cloud workloads is which kernels run:

- dense layers (linear, conv, matmul) are GEMM kernels timed by output tiles and waves: the
  M x N output is cut into `gemm_tile` x `gemm_tile` tiles, one per SM at a time, each tile
  taking tile^2 x K MACs at the SM's FMA rate times `gemm_efficiency`; small GEMMs leave SMs idle.
- elementwise ops (norm, activation, add, pool, concat copies) are memory-bound kernels.
- farthest-point sampling is PointNet++'s CUDA kernel: one thread block of `fps_threads` per
  point set, one iteration per sample, each a distance update over n_in / threads points and a
  block-wide max reduction of log2(threads) synchronised steps.
- ball query is PointNet++'s brute-force kernel: a thread per query scanning all points
  (q x p distances, an upper bound: the kernel stops a query's scan after k hits).
- kNN computes q x p distances (DGCNN's pairwise-distance matmul) and selects the top k; for
  k > `register_topk_max` the distance matrix goes through DRAM and a radix top-k
  (`topk_passes` reads of it), as torch.topk does, else the top k stay in registers (three_nn).
- grid groupings (pillars) and the output coordinates of strided sparse convs sort integer keys:
  LSD radix sort, `sort_passes` passes each reading and writing keys and values (Onesweep,
  arXiv 2206.01784: ~2n-3n memory operations per digit pass).
- sparse convs are MinkowskiEngine/torchsparse's gather-GEMM-scatter: building the kernel map
  (a hash table of the input coordinates, n_in inserts, then n_out x K probes, each a random
  32-byte sector access) unless an earlier conv built it; then per kernel offset a gather
  kernel, a GEMM kernel and a scatter-add kernel (3 launches per offset).
- gathers read each indexed row in whole 32-byte sectors at `random_access_efficiency` of the
  DRAM bandwidth; scatters add an atomic read-modify-write per row and a zero-fill of the output.

Energy is a board-power model: `idle_power_w` all the time (the engine's static power, booked
as 'static'), plus (`tdp_w` - idle) x utilisation while a kernel runs, booked as 'board' (board
power is not split into DRAM and SM shares), where utilisation is the kernel's achieved
fraction of peak FMA rate or DRAM bandwidth, whichever is higher, and `launch_utilisation`
during launch gaps.

Which mapping ops are grid groupings and which sparse convs reuse a kernel map, the ops say
(`NeighbourAttrs.search`, `SparseConv3dAttrs.reuses_kernel_map`; the point-cloud builders in
`workloads.pointcloud` set them, and trace files carry them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from sim.device import BoundBy, Cost, EngineSpec, MemoryLevel, Phase, SpecNamed
from sim.energy import EnergyComponent, EnergyMethod, EnergyModel
from sim.spec import DeviceSpec, Family, Fraction, NonNegativeFloat, PositiveFloat, PositiveInt
from workloads import Op, OpKind
from workloads.gemm import GEMM_KINDS, gemm_of
from workloads.ops import NeighbourSearch

PRESETS = Path(__file__).parent / "presets"

SECTOR_BYTES = 32
"""Granularity of a GPU DRAM/L2 access (a sector of a 128-byte line)."""


LaunchOverhead = Annotated[float, Field(gt=0, lt=1e-3)]
"""A per-kernel launch time in (0, 1 ms): eager-mode launches span 5-50 us."""


class GpuSpec(DeviceSpec):
    """A discrete GPU: SMs, clock, memory, kernel overheads and board power."""

    family: ClassVar[str] = "gpu"

    n_sms: PositiveInt
    """Streaming multiprocessors."""
    fp32_cores_per_sm: PositiveInt
    """FP32 FMA units per SM (one FMA per cycle each)."""
    clock_hz: PositiveFloat
    """Sustained (boost) clock."""
    fp16_rate_factor: PositiveFloat = 2.0
    """FP16 FMA rate as a multiple of the FP32 rate on the CUDA cores (2: packed half2)."""
    dram_bytes_per_s: PositiveFloat
    """Peak DRAM bandwidth."""
    node_nm: PositiveFloat
    """Process node of the GPU die."""
    tdp_w: PositiveFloat
    """Board power at full load."""
    idle_power_w: NonNegativeFloat
    """Board power with a context resident and clocks up between kernels; below `tdp_w`."""
    launch_overhead_s: LaunchOverhead
    """Time from one kernel's end to the next one's start for short kernels (launch + dispatch)."""
    launch_utilisation: Fraction = 0.05
    """Utilisation charged for dynamic power during launch gaps."""
    gemm_tile: PositiveInt = 128
    """Output tile edge of a GEMM thread block."""
    gemm_efficiency: Fraction = 0.7
    """Fraction of an SM's FMA rate a GEMM tile sustains."""
    stream_efficiency: Fraction = 0.8
    """Fraction of DRAM bandwidth a streaming (coalesced) kernel sustains."""
    random_access_efficiency: Fraction = 0.5
    """Fraction of DRAM bandwidth (in 32-byte sectors) random row accesses sustain."""
    atomic_efficiency: Fraction = 0.25
    """Fraction of DRAM bandwidth atomic read-modify-writes of a scatter sustain."""
    fps_threads: PositiveInt = 512
    """Threads of the one thread block that runs farthest-point sampling on a point set."""
    fps_cycles_per_point: PositiveFloat = 8.0
    """Cycles a thread spends per point per FPS iteration (distance, min, compare)."""
    fps_sync_cycles: PositiveFloat = 40.0
    """Cycles per step of the block-wide max reduction (shared memory + __syncthreads)."""
    register_topk_max: PositiveInt = 8
    """Largest k selected in registers; larger k go through a radix top-k over DRAM."""
    topk_passes: PositiveInt = 4
    """Reads of the distance matrix a radix top-k makes."""
    sort_passes: PositiveInt = 4
    """Digit passes of an LSD radix sort of 32-bit keys (8-bit digits)."""
    hash_probes_per_query: PositiveFloat = 1.5
    """Sector accesses per hash-table look-up (linear probing at ~50 % load)."""

    @field_validator("idle_power_w")
    @classmethod
    def _idle_below_tdp(cls, idle_power_w: float, info: ValidationInfo) -> float:
        tdp_w = info.data.get("tdp_w")
        if tdp_w is not None and not idle_power_w < tdp_w:
            raise PydanticCustomError("idle_above_tdp", "less than tdp_w ({tdp_w} W)",
                                      {"tdp_w": tdp_w})
        return idle_power_w

    @property
    def fp32_fma_per_s(self) -> float:
        """Peak FP32 FMA/s of all CUDA cores."""
        return self.n_sms * self.fp32_cores_per_sm * self.clock_hz


@dataclass(frozen=True)
class _Kernel:
    """One kernel: its busy time after launch and what it achieved."""

    label: str
    busy_s: float
    fmas: float = 0.0
    dram_bytes: float = 0.0


@dataclass(frozen=True)
class GpuPointCloudDevice(SpecNamed):
    """A `sim.Device` for a `GpuSpec`: one target and one engine, 'gpu' (kernels run in order)."""

    spec: GpuSpec

    targets = ("gpu",)

    @property
    def engines(self) -> tuple[EngineSpec, ...]:
        return (EngineSpec(name="gpu", static_power_w=self.spec.idle_power_w),)

    @property
    def energy_model(self) -> EnergyModel:
        """Power x time: board power between idle and TDP by each kernel's utilisation."""
        s = self.spec
        return EnergyModel(
            method=EnergyMethod.POWER_X_TIME,
            detail=(f"idle {s.idle_power_w:g} W always + ({s.tdp_w:g} - {s.idle_power_w:g}) W x "
                    "kernel utilisation while busy, as one 'board' component"),
            assumed="that board power scales linearly with utilisation between idle and TDP",
        )

    def unit_text(self, target: str) -> str:
        """SMs and clock."""
        return f"{target}: {self.spec.n_sms} SMs at {self.spec.clock_hz / 1e6:g} MHz"

    def supported_kinds(self, target: str) -> frozenset[OpKind]:
        return frozenset(OpKind)

    # --- kernel models -------------------------------------------------------------------------

    def _fma_per_s(self, op: Op) -> float:
        comp = op.anchor.compression
        rate = self.spec.fp32_fma_per_s
        # Integer and half-precision kernels run at the FP16 rate (Turing's packed math).
        return rate if comp.is_float and comp.weight_bits == 32 else rate * self.spec.fp16_rate_factor

    def _elem_bytes(self, op: Op) -> float:
        comp = op.anchor.compression
        return (32 if comp.is_float and comp.weight_bits == 32 else
                16 if comp.is_float else max(8, comp.activation_bits)) / 8

    def _stream_s(self, n_bytes: float, efficiency: float | None = None) -> float:
        eff = self.spec.stream_efficiency if efficiency is None else efficiency
        return n_bytes / (self.spec.dram_bytes_per_s * eff)

    def _gemm(self, op: Op, m: int, k: int, n: int, label: str = "gemm", batch: int = 1) -> _Kernel:
        s = self.spec
        if m <= 0 or n <= 0 or k <= 0:
            return _Kernel(label, 0.0)
        tile = s.gemm_tile
        tiles = batch * math.ceil(m / tile) * math.ceil(n / tile)
        waves = math.ceil(tiles / s.n_sms)
        sm_rate = s.fp32_cores_per_sm * s.clock_hz * self._fma_per_s(op) / s.fp32_fma_per_s
        compute_s = waves * tile * tile * k / (sm_rate * s.gemm_efficiency)
        e = self._elem_bytes(op)
        dram = batch * (m * k + k * n + m * n) * e
        return _Kernel(label, max(compute_s, self._stream_s(dram)), fmas=batch * m * k * n, dram_bytes=dram)

    def _memory_kernel(self, label: str, n_bytes: float, efficiency: float | None = None,
                       flops: float = 0.0) -> _Kernel:
        compute_s = flops / (self.spec.fp32_fma_per_s * 2)
        return _Kernel(label, max(self._stream_s(n_bytes, efficiency), compute_s), fmas=flops / 2,
                       dram_bytes=n_bytes)

    def _sort(self, n: int, label: str) -> list[_Kernel]:
        """LSD radix sort of n (32-bit key, 32-bit value) pairs: a histogram and a scatter pass
        per digit, each reading and writing keys and values."""
        s = self.spec
        per_pass = n * 8 * 3  # read keys+values, write them, plus the histogram read (Onesweep ~3n)
        return [self._memory_kernel(label, per_pass, s.random_access_efficiency) for _ in range(s.sort_passes)]

    def _cost(self, kernels: list[_Kernel], op: Op) -> Cost:
        s = self.spec
        kernels = [kk for kk in kernels if kk is not None]
        phases = []
        energy = 0.0
        dram = 0.0
        dynamic_w = s.tdp_w - s.idle_power_w
        compute_total = memory_total = 0.0
        for kk in kernels:
            duration = s.launch_overhead_s + kk.busy_s
            phases.append(Phase("gpu", duration, kk.label))
            if kk.busy_s > 0:
                util = max(kk.fmas / (kk.busy_s * s.fp32_fma_per_s),
                           kk.dram_bytes / (kk.busy_s * s.dram_bytes_per_s))
                energy += dynamic_w * min(1.0, max(util, s.launch_utilisation)) * kk.busy_s
                compute_total += kk.fmas / self._fma_per_s(op)
                memory_total += kk.dram_bytes / s.dram_bytes_per_s
            energy += dynamic_w * s.launch_utilisation * s.launch_overhead_s
            dram += kk.dram_bytes
        busy = sum(kk.busy_s for kk in kernels)
        launch = s.launch_overhead_s * len(kernels)
        bound = (BoundBy.OVERHEAD if launch > busy
                 else BoundBy.COMPUTE if compute_total >= memory_total else BoundBy.MEMORY)
        return Cost.serial(*phases, energy_j={EnergyComponent.BOARD: energy},
                           bytes_moved={MemoryLevel.DRAM: round(dram)}, bound_by=bound,
                           peak_macs_per_s=self._fma_per_s(op))

    # --- cost ----------------------------------------------------------------------------------

    def cost(self, op: Op, target: str = "gpu") -> Cost:
        if op.is_free or (op.kind in (OpKind.RESHAPE, OpKind.TRANSPOSE) and not op.attrs.copy):
            return Cost(stages=(), bound_by=BoundBy.FREE)
        kind = op.anchor.kind if op.kind is OpKind.FUSED else op.kind
        if kind in GEMM_KINDS:
            kernels = [self._gemm_op(op)]
        elif kind is OpKind.SPARSE_CONV3D:
            kernels = self._sparse_conv(op)
        elif kind is OpKind.FPS:
            kernels = [self._fps(op)]
        elif kind in (OpKind.KNN, OpKind.BALL_QUERY):
            kernels = self._neighbours(op)
        elif kind is OpKind.GATHER or kind is OpKind.EMBEDDING:
            kernels = [self._gather(op)]
        elif kind is OpKind.SCATTER:
            kernels = self._scatter(op)
        else:
            e = self._elem_bytes(op)
            n_bytes = (sum(math.prod(x) for x in op.input_shapes) + math.prod(op.output_shape)) * e
            kernels = [self._memory_kernel("elementwise", n_bytes, flops=op.vector_ops)]
        # A fused op is one kernel: its members run in the anchor's epilogue (no extra traffic).
        return self._cost(kernels, op)

    def _gemm_op(self, op: Op) -> _Kernel:
        g = gemm_of(op)
        return self._gemm(op, g.m, g.k, g.n, batch=g.groups)

    def _fps(self, op: Op) -> _Kernel:
        s = self.spec
        n_in, n_out = op.input_shapes[0][0], op.output_shape[0]
        per_iter = (math.ceil(n_in / s.fps_threads) * s.fps_cycles_per_point
                    + math.log2(s.fps_threads) * s.fps_sync_cycles)
        busy = n_out * per_iter / s.clock_hz
        # One block on one SM: a tiny share of the chip, reported as its FMA share.
        return _Kernel("mapping", busy, fmas=n_in * n_out * 4, dram_bytes=n_in * 12)

    def _neighbours(self, op: Op) -> list[_Kernel]:
        s = self.spec
        q, p = op.input_shapes[0][0], op.input_shapes[1][0]
        dims = op.input_shapes[0][1]
        k = op.attrs.k
        idx_bytes = op.output_bytes
        if op.attrs.search is NeighbourSearch.GRID:
            # Voxelise: compute cell keys, radix-sort them, find run starts, fill the groups.
            kernels = [self._memory_kernel("mapping", p * dims * 4 + p * 8)]
            kernels += [_relabel(kk, "mapping") for kk in self._sort(p, "mapping")]
            kernels.append(self._memory_kernel("mapping", p * 8 * 2 + idx_bytes))
            return kernels
        distance_fmas = q * p * dims * 2  # subtract, multiply-add per dimension, plus compare
        compute_s = distance_fmas / (s.fp32_fma_per_s * s.gemm_efficiency)
        if op.kind is OpKind.KNN and k > s.register_topk_max:
            matrix = q * p * 4
            return [
                _Kernel("mapping", max(compute_s, self._stream_s(matrix)), fmas=distance_fmas,
                        dram_bytes=matrix),
                self._memory_kernel("mapping", matrix * s.topk_passes + idx_bytes),
            ]
        dram = (q + p) * dims * 4 + idx_bytes
        return [_Kernel("mapping", max(compute_s, self._stream_s(dram)), fmas=distance_fmas,
                        dram_bytes=dram)]

    def _row_read_bytes(self, row_bytes: float) -> float:
        return math.ceil(row_bytes / SECTOR_BYTES) * SECTOR_BYTES

    def _gather(self, op: Op) -> _Kernel:
        e = self._elem_bytes(op)
        a = op.anchor  # a fused embedding (embed+add+norm) gathers as its anchor does
        if a.kind is OpKind.EMBEDDING:
            n_rows, width = math.prod(a.input_shapes[0]), a.weight_shape[1]
            index = a.input_bytes_of(0)
        else:
            n_rows, width = math.prod(a.input_shapes[1]), a.input_shapes[0][-1]
            index = a.input_bytes_of(1)
        reads = n_rows * self._row_read_bytes(width * e)
        writes = n_rows * width * e
        busy = self._stream_s(reads, self.spec.random_access_efficiency) + self._stream_s(writes + index)
        return _Kernel("gather_scatter", busy, dram_bytes=reads + writes + index)

    def _scatter(self, op: Op) -> list[_Kernel]:
        e = self._elem_bytes(op)
        n_rows, width = op.input_shapes[0]
        out = math.prod(op.output_shape) * e
        rmw = 2 * n_rows * self._row_read_bytes(width * e)
        values = n_rows * width * e + op.input_bytes_of(1)
        fill = self._memory_kernel("gather_scatter", out)
        busy = self._stream_s(rmw, self.spec.atomic_efficiency) + self._stream_s(values)
        return [fill, _Kernel("gather_scatter", busy, dram_bytes=rmw + values)]

    def _sparse_conv(self, op: Op) -> list[_Kernel]:
        s = self.spec
        conv = op.anchor
        kv, cin, cout = conv.weight_shape
        n_in, n_out = conv.input_shapes[0][0], conv.output_shape[0]
        n_pairs = conv.attrs.n_pairs
        e = self._elem_bytes(op)
        if kv == 1:
            return [self._gemm(op, n_out, cin, cout)]
        kernels: list[_Kernel] = []
        if not conv.attrs.reuses_kernel_map:
            if conv.attrs.stride > 1 and n_out < n_in:  # output coordinates: quantise, sort, unique
                kernels.append(self._memory_kernel("mapping", n_in * (12 + 8)))
                kernels += [_relabel(kk, "mapping") for kk in self._sort(n_in, "mapping")]
                kernels.append(self._memory_kernel("mapping", n_in * 8 * 2 + n_out * 12))
            sectors = (n_in + n_out * kv * s.hash_probes_per_query)
            kernels.append(_Kernel("mapping", self._stream_s(n_in * SECTOR_BYTES, s.random_access_efficiency),
                                   dram_bytes=n_in * SECTOR_BYTES))
            kernels.append(_Kernel("mapping", self._stream_s((sectors - n_in) * SECTOR_BYTES,
                                                             s.random_access_efficiency)
                                   + self._stream_s(n_pairs * 8),
                                   dram_bytes=(sectors - n_in) * SECTOR_BYTES + n_pairs * 8))
        per_offset = n_pairs / kv
        rows = math.ceil(per_offset)
        for _ in range(kv):
            if rows == 0:
                continue
            gather_reads = rows * self._row_read_bytes(cin * e)
            kernels.append(_Kernel("gather_scatter",
                                   self._stream_s(gather_reads, s.random_access_efficiency)
                                   + self._stream_s(rows * (cin * e + 4)),
                                   dram_bytes=gather_reads + rows * (cin * e + 4)))
            kernels.append(self._gemm(op, rows, cin, cout))
            rmw = 2 * rows * self._row_read_bytes(cout * e)
            kernels.append(_Kernel("gather_scatter",
                                   self._stream_s(rmw, s.atomic_efficiency) + self._stream_s(rows * (cout * e + 4)),
                                   dram_bytes=rmw + rows * (cout * e + 4)))
        return kernels


def _relabel(kernel: _Kernel, label: str) -> _Kernel:
    return replace(kernel, label=label)


FAMILY = Family(name="gpu", spec_type=GpuSpec, build=GpuPointCloudDevice, presets=PRESETS)
"""Registered under `edgesim.families` as 'gpu'; presets are devices/gpu_pointcloud/presets/*.yaml."""
