"""The closed vocabularies a `Cost` speaks: what bounds an op, memory levels, phase labels, and
the precision labels of numeric formats.

Each vocabulary is a str-valued enum (`Vocabulary`): a member equals its value, so a device may
write `"dram"` where `MemoryLevel.DRAM` is meant and reports, CSV and JSON carry the value.
`sim.energy.EnergyComponent` is the fourth, kept beside the energy tables it indexes.
"""

from __future__ import annotations

import enum

from workloads import Compression, QuantScheme, SpecError


class Vocabulary(str, enum.Enum):
    """A closed set of names a `Cost` may use, str-valued like `sim.energy.EnergyComponent`:
    a member equals (and hashes as) its value, so `bytes_moved["dram"]` finds
    `MemoryLevel.DRAM`, and CSV/JSON carry the value."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        # f"{member}" is its value on every Python version (3.11 would give the member name).
        return format(self.value, spec)

    @classmethod
    def parse(cls, key, where: str):
        """`key` (a member or its value) as a member; SpecError naming `where` and the members."""
        member = cls._value2member_map_.get(key) if isinstance(key, str) else None
        if member is None:
            raise SpecError(f"{where}: {key!r} is not a {cls.__name__}, one of "
                            f"{[m.value for m in cls]}; use a sim.{cls.__name__} member "
                            "(or add one there)")
        return member


class BoundBy(Vocabulary):
    """What limits an op's time (`Cost.bound_by`), for reports and `edgesim compare`."""

    COMPUTE = "compute"
    """The datapath (MAC array, SIMD lanes, vector unit, mapping unit) is the longest phase."""
    MEMORY = "memory"
    """Data movement (DRAM or buffer bandwidth, a stalled array) outlasts compute."""
    FLASH = "flash"
    """An MCU's weight reads from flash (wait states) outlast compute: memory-bound on flash."""
    OVERHEAD = "overhead"
    """Fixed per-op costs (kernel launch, loop and call overhead) outlast compute and memory."""
    FREE = "free"
    """The op costs nothing here (a view: reshape, flatten); its cost has no stages."""
    FOLDED = "folded"
    """A priced op whose kernel takes zero cycles (folded into its neighbours' loops)."""
    FUSED = "fused"
    """Executed inside another op's kernel (a point-cloud op fused into its producer)."""


class MemoryLevel(Vocabulary):
    """Where bytes move (`Cost.bytes_moved` keys): the levels devices report traffic at."""

    DRAM = "dram"
    """Off-chip DRAM (LPDDR, DDR, GDDR), through any on-chip cache."""
    CACHE = "cache"
    """A CPU/GPU cache hierarchy (last-level cache traffic that does not reach DRAM)."""
    SRAM = "sram"
    """On-chip SRAM: an accelerator's scratchpad, an MCU's main memory."""
    BRAM = "bram"
    """An FPGA's block RAM."""
    BUFFER = "buffer"
    """A PIM tile's activation buffer (eDRAM/SRAM beside the crossbars)."""
    FLASH = "flash"
    """An MCU's on-chip flash, read in place for weights."""
    INTERCONNECT = "interconnect"
    """Bytes carried by the on-chip network between tiles (traffic, not storage)."""


class PhaseLabel(Vocabulary):
    """What a phase does (`Phase.label`); the timeline and the JSON export show its value."""

    COMPUTE = "compute"
    """The op's main compute on its unit."""
    ACTIVATIONS = "activations"
    """Moving the op's input and output activations (DMA, DDR stream, PIM buffer)."""
    WEIGHTS = "weights"
    """Loading (or writing into crossbars) the op's weights; usually a prefetch phase."""
    LOAD = "load"
    """Reading the op's inputs into the unit (a DMA load from memory)."""
    STORE = "store"
    """Writing the op's outputs back to memory."""
    LAUNCH = "launch"
    """Issuing the op (a kernel launch, a command to an accelerator) before its work starts."""
    DRAM = "dram"
    """DRAM traffic beside the compute phase, on a memory engine."""
    VECTOR = "vector"
    """Elementwise and reduction work on a vector unit."""
    POST_PROCESS = "post-process"
    """Vector work after an array's matrix product (bias, activation, requantization)."""
    GEMM = "gemm"
    """A matrix product (a GPU GEMM kernel, a point-cloud matrix unit)."""
    GEMV = "gemv"
    """A matrix-vector product (a linear layer on one row)."""
    CONV3X3 = "conv3x3"
    """A spatial (k > 1) convolution kernel."""
    CONV1X1 = "conv1x1"
    """A pointwise convolution kernel."""
    DEPTHWISE = "depthwise"
    """A depthwise convolution kernel."""
    ATTENTION = "attention"
    """An attention matrix product (q k^T, attention x v)."""
    ELEMENTWISE = "elementwise"
    """An elementwise kernel (activation, add, scale)."""
    SOFTMAX_NORM = "softmax_norm"
    """A reduction kernel (softmax, layer or batch norm)."""
    MEMORY = "memory"
    """A data-movement kernel (concat, transpose, copies, upsample)."""
    MAPPING = "mapping"
    """Point-cloud mapping: sampling, neighbour search, sorting."""
    DISTANCE = "distance"
    """Point-cloud pairwise distances on the matrix unit (neighbour search)."""
    KERNEL_MAP = "kernel_map"
    """Building a sparse convolution's kernel map (input-output pairs)."""
    GATHER = "gather"
    """Gathering rows by index (grouping, a sparse convolution's inputs)."""
    SCATTER = "scatter"
    """Scattering rows by index with a reduction."""
    GATHER_SCATTER = "gather_scatter"
    """A GPU kernel that gathers or scatters rows by index."""
    TRANSFER = "transfer"
    """Handing a tensor from one target to another (`Device.transfer`): a cache flush or
    invalidate, a queue synchronisation, or a copy, before the op that reads it."""


def precision_label(comp: Compression) -> str:
    """The numeric format of a compression, without its sparsity: 'fp32', 'fp16', 'w8a8',
    'pot:w4a8', 'mixed:w4a8:0.5', 'mp:w4a8:8:0.25' (the CLI's --quant spellings)."""
    if comp.quant is QuantScheme.FLOAT32:
        return "fp32"
    if comp.quant is QuantScheme.FLOAT16:
        return "fp16"
    bits = f"w{comp.weight_bits}a{comp.activation_bits}"
    if comp.quant is QuantScheme.POWER_OF_TWO:
        return f"pot:{bits}"
    if comp.quant is QuantScheme.MIXED:
        return f"mixed:{bits}:{comp.pot_ratio:g}"
    if comp.quant is QuantScheme.MULTI_PRECISION:
        return f"mp:{bits}:{comp.high_bits}:{comp.high_ratio:g}"
    return bits
