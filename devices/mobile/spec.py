"""Specs of mobile and edge boards: CPU clusters and GPUs sharing one DRAM.

A board has compute units (each a target networks can be placed on: 'cpu', 'cpu_little', 'gpu')
and one LPDDR memory they share. Each unit holds its core groups (count, clock, MACs per cycle per
datatype), its caches, per-kernel overhead, per-op-kind efficiencies and how it executes each
sparsity scheme. Presets in `devices/mobile/presets/` fill these from datasheets; every number
that is a guess says so in the preset.

The specs are `sim.spec.Spec` models: each field's type, range and doc are declared below, and
`sim.spec` validates device files, `--set` overrides and Python construction against them.
"""

from __future__ import annotations

import enum
from typing import ClassVar

from pydantic import ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from sim.spec import DeviceSpec, Fraction, Name, NonNegativeFloat, PositiveFloat, PositiveInt, Spec
from workloads import SpecError

DRAM_ENGINE = "dram"
"""The engine name of the board's shared DRAM; no compute unit may take it."""


class UnitKind(enum.Enum):
    CPU = "cpu"
    GPU = "gpu"


class CoreGroup(Spec):
    """Identical cores at one clock (e.g. the 3 Cortex-A77 'gold' cores at 2.42 GHz)."""

    n_cores: PositiveInt
    """Cores (CPU) or ALUs / CUDA cores (GPU) in the group."""
    freq_hz: PositiveFloat
    """Clock of the group's cores."""
    fp32_macs_per_cycle: PositiveFloat
    """Per core: e.g. 8 for two 128-bit NEON FMA pipes."""
    fp16_macs_per_cycle: PositiveFloat
    """Per core, half precision (the fp32 rate where the core has no fp16 arithmetic)."""
    int8_macs_per_cycle: PositiveFloat
    """Per core: with dot-product instructions (ARMv8.2 SDOT, CUDA DP4A) where the core has them."""


class KernelEfficiency(Spec):
    """Fraction of peak MAC/s (or vector op/s) a tuned library reaches, per op kind, dense."""

    conv3x3: Fraction
    """Convolutions with k x k kernels, k > 1, not depthwise (Winograd/im2col kernels)."""
    conv1x1: Fraction
    """Pointwise convolutions (a GEMM over pixels)."""
    depthwise: Fraction
    """Depthwise convolutions: little reuse, hard to vectorise."""
    gemm: Fraction
    """Linear layers on more than one row (tokens, batch): matrix-matrix products."""
    gemv: Fraction | None = None
    """Linear layers on one row (classifier heads, BERT's pooler): matrix-vector products,
    bandwidth-bound dot products rather than tiled GEMMs; None: as `gemm`."""
    attention: Fraction
    """Batched matmuls of attention (Q K^T, A V)."""
    elementwise: Fraction
    """Pooling, activations, adds: fraction of the vector op rate."""
    softmax_norm: Fraction
    """Softmax and normalisation: fraction of the vector op rate."""


class SparseExecution(Spec):
    """How a unit runs each weight-sparsity scheme, relative to its dense kernel of that kind.

    - unstructured: a sparse-format (CSR) kernel at `unstructured_efficiency` of the dense
      kernel's MAC rate, with `index_bits` per kept weight; where that is slower than dense, the
      runtime keeps the dense kernel (so gains appear only at high sparsity).
    - pattern (3x3 kernel patterns): compiler-generated dense-like kernels at `pattern_efficiency`.
    - block (column-row blocks): `block_efficiency * area / (area + block_half_area)`, so large
      blocks run near-proportionally and 1x1 blocks degrade towards irregular code.
    - channel pruning shrinks the layer; channel counts are padded to `channel_align` lanes.
    """

    unstructured_efficiency: Fraction
    """MAC rate of the CSR kernel over the dense kernel of the same class."""
    index_bits: PositiveInt = 16
    """Bits of the column index stored per kept weight in CSR."""
    pattern_efficiency: Fraction
    """MAC rate of pattern-pruned kernels over the dense kernel."""
    block_efficiency: Fraction
    """MAC rate of large-block kernels over the dense kernel (the limit as blocks grow)."""
    block_half_area: PositiveFloat
    """Block area (rows x cols) at which block efficiency halves."""
    channel_align: PositiveInt
    """SIMD lanes: channel counts are rounded up to a multiple of this."""


class KernelStructure(Spec):
    """How the unit's library builds its kernels, beyond MAC rates: what makes transformers slow.

    The defaults describe a library with no such structure (one kernel per op, exp as one
    vector op, no per-tile cost, 1 x 1 tiles), which the efficiency model alone prices; presets
    set the library's real structure.
    """

    gemm_tile_m: PositiveInt = 1
    """Output rows one work unit computes (register tile of a CPU micro-kernel, rows of a GPU
    work item). Linear and matmul work is padded to whole tiles (a tile narrows to the matrix
    when the matrix is smaller: skinny shapes get their own kernels)."""
    gemm_tile_n: PositiveInt = 1
    """Output columns one work unit computes."""
    gemm_k_overhead: NonNegativeFloat = 0.0
    """Fixed cost of one output tile in K steps (zeroing and storing the accumulators, pipeline
    fill): a product of depth K runs at K / (K + this) of the class efficiency, which is what
    small-K attention matmuls (K = head dim) lose."""
    layer_norm_kernels: PositiveInt = 1
    """Kernels one layer norm launches: each reduction (mean, variance) ends a kernel in
    compilers that fuse only elementwise work, so mean, variance and normalise are 3."""
    softmax_kernels: PositiveInt = 1
    """Kernels one softmax launches (max, exp-and-sum, divide: 3 where reductions end kernels)."""
    transcendental_ops: PositiveFloat = 1.0
    """Vector ops one exp, erf or tanh costs (a polynomial after range reduction); applies to
    GELU, SiLU and sigmoid activations and to softmax's exponentials."""
    gelu_kernels: PositiveInt = 1
    """Kernels one GELU launches: 1 where the library has a GELU kernel; a runtime without one
    runs the converter's lowering of the tanh form 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715
    x^3))) as pow, mul, add, mul, tanh, add, mul, mul: 8 kernels, each a pass over the tensor."""
    layer_norm_passes: PositiveInt | None = None
    """Of `layer_norm_kernels`, those that pass over the whole (rows x D) tensor when layer norm
    runs lowered to primitive ops (the rest work on one value per row and cost a launch); None:
    layer norm is not lowered (priced by its vector ops on the whole unit)."""
    lowered_cycles_per_element: PositiveFloat | None = None
    """Cycles per element of one pass of a lowered layer norm or GELU (`layer_norm_passes`,
    `gelu_kernels` > 1), on one core at the unit's fastest clock: the runtime's elementwise and
    reduction kernels are single-threaded and unfused, so this replaces their vector-op
    pricing; None: not lowered."""


class ComputeUnitSpec(Spec):
    """One compute unit of a board: a CPU cluster (threads) or a GPU."""

    name: Name
    """Target name: 'cpu', 'cpu_little', 'gpu' (not 'dram', the shared memory's engine)."""
    kind: UnitKind
    """'cpu' or 'gpu'."""
    cores: tuple[CoreGroup, ...]
    """At least one core group, fastest first (prime core, then big cores), as a pinned thread pool fills them."""
    n_threads: PositiveInt | None = None
    """Threads a network runs with, on the first cores of `cores`; None: one per core."""
    vector_ops_per_cycle: PositiveFloat
    """Elementwise ops per cycle per core (CPU) or per ALU (GPU)."""
    cache_bytes: PositiveInt
    """Last-level on-chip memory one op can tile into (shared L3 / GPU L2 + local memory)."""
    register_block: PositiveInt
    """Operand reuse of the register-blocked micro-kernel (MACs per operand fetched from cache)."""
    occupancy_items: PositiveInt
    """Output elements needed to keep every core busy; smaller ops under-utilise the unit."""
    launch_overhead_s: NonNegativeFloat
    """Per kernel (GPU launch, CPU thread fork/join)."""
    dram_fraction: Fraction
    """Fraction of the board's DRAM bandwidth this unit can draw on its own."""
    active_power_w: PositiveFloat
    """Dynamic power at full compute load; energy per MAC = this / peak MAC/s of the datatype."""
    static_power_w: NonNegativeFloat
    """Leakage and idle power of the unit while the board is on."""
    cache_energy_pj_per_byte: PositiveFloat | None = None
    """Energy of one byte moved between the unit's last-level cache and its registers; None:
    the shared SRAM table (`sim.memory.sram_pj_per_byte`) at `cache_bytes` and the board's
    `node_nm`, at the table's 0.9 V (no supply voltage is modelled for boards)."""
    efficiency: KernelEfficiency
    """Dense kernel efficiencies by kernel class."""
    sparse: SparseExecution
    """How sparse weights run on this unit."""
    structure: KernelStructure = KernelStructure()
    """Tiles, kernel counts and transcendental costs of the unit's library."""

    # Non-empty by an after-validator, not Field(min_length=1): pydantic checks a length after
    # dropping the items that failed, so one bad core group would also read as "too short".
    @field_validator("cores")
    @classmethod
    def _some_cores(cls, cores: tuple[CoreGroup, ...]) -> tuple[CoreGroup, ...]:
        if not cores:
            raise PydanticCustomError("no_cores", "at least one core group")
        return cores

    @field_validator("n_threads")
    @classmethod
    def _threads_within_cores(cls, n_threads: int | None, info: ValidationInfo) -> int | None:
        cores = info.data.get("cores")
        if n_threads is not None and cores is not None:
            n_cores = sum(g.n_cores for g in cores)
            if n_threads > n_cores:
                raise PydanticCustomError(
                    "too_many_threads", "at most {n_cores} (the unit's cores) or null",
                    {"n_cores": n_cores})
        return n_threads

    @property
    def n_cores(self) -> int:
        """Cores (CPU) or ALUs (GPU) of the unit, whether or not a thread runs on them."""
        return sum(g.n_cores for g in self.cores)

    @property
    def active_cores(self) -> tuple[CoreGroup, ...]:
        """The core groups threads run on: the first `n_threads` cores, fastest first."""
        if self.n_threads is None:
            return self.cores
        groups, left = [], self.n_threads
        for g in self.cores:
            take = min(left, g.n_cores)
            if take:
                groups.append(g if take == g.n_cores else g.model_copy(update={"n_cores": take}))
            left -= take
        return tuple(groups)

    def peak_macs_per_s(self, datatype: str) -> float:
        """Peak MAC/s of the active cores for 'fp32', 'fp16' or 'int8'."""
        attr = f"{datatype}_macs_per_cycle"
        return sum(g.n_cores * g.freq_hz * getattr(g, attr) for g in self.active_cores)

    @property
    def vector_ops_per_s(self) -> float:
        """Elementwise ops per second of the active cores."""
        return sum(g.n_cores * g.freq_hz for g in self.active_cores) * self.vector_ops_per_cycle


class HandoffSpec(Spec):
    """What a tensor costs to cross between a GPU and a CPU unit of the board (`Device.transfer`).

    The units share DRAM, so nothing is copied between memories: the producer's queue is
    synchronised (an OpenCL event wait or clFinish) and the tensor's cache lines are written
    back by the producer and invalidated and re-read by the consumer. A hand-off of n bytes
    occupies the consumer's unit for `sync_latency_s + n / copy_bytes_per_s` while 2 n bytes (the
    write-back and the re-read) stream on the shared DRAM, and costs 2 n bytes of DRAM energy.
    CPU clusters share a coherent L3 (Arm DynamIQ), so a hand-off between two CPU units is free.
    """

    sync_latency_s: NonNegativeFloat
    """Fixed cost of one hand-off: the queue synchronisation and the thread wake-up."""
    copy_bytes_per_s: PositiveFloat
    """Rate at which the hand-off's cache maintenance and re-read move the tensor."""


class BoardSpec(DeviceSpec):
    """A phone SoC or an edge board: compute units sharing one DRAM."""

    family: ClassVar[str] = "mobile"

    units: tuple[ComputeUnitSpec, ...]
    """The board's compute units (at least one); the first is the default target."""
    dram_bytes_per_s: PositiveFloat
    """Peak DRAM bandwidth shared by all units."""
    dram_energy_pj_per_byte: PositiveFloat
    """Energy of one byte read from or written to DRAM (interface and array)."""
    node_nm: PositiveFloat
    """Process node of the SoC."""
    handoff: HandoffSpec | None = None
    """Cost of a tensor crossing between a GPU and a CPU unit (GPU+CPU co-execution); None:
    not measured for this board, so hand-offs are free (single-unit runs never pay one)."""

    @field_validator("units")
    @classmethod
    def _unit_names_unique(cls, units: tuple[ComputeUnitSpec, ...]) -> tuple[ComputeUnitSpec, ...]:
        if not units:
            raise PydanticCustomError("no_units", "at least one compute unit")
        names = [u.name for u in units]
        if len(set(names)) != len(names) or DRAM_ENGINE in names:
            raise PydanticCustomError(
                "unit_names", "unit names that are unique and not '{dram}' (names: {names})",
                {"dram": DRAM_ENGINE, "names": ", ".join(names)})
        return units

    def unit(self, name: str) -> ComputeUnitSpec:
        """The unit named `name`. Raises SpecError listing the units."""
        for u in self.units:
            if u.name == name:
                return u
        raise SpecError(f"{self.name} has no unit {name!r}; choose one of {[u.name for u in self.units]}")
