"""How a mobile CPU or GPU library executes one op: pure functions, no device state.

Questions answered from the op and the unit's spec:
- which kernel class runs it (and so which efficiency applies);
- how weight sparsity changes its work and its weight bytes (per scheme);
- how many bytes it moves to and from DRAM given the cache it can tile into;
- what the library's kernel structure adds (`KernelStructure`): GEMM tiles, waves and per-tile
  overhead for linear and matmul layers, extra kernels (and passes over memory) for layer norm
  and softmax, and the vector-op cost of exponentials and erf;
- what a runtime without layer norm and GELU kernels pays for their lowering to primitive ops
  (`lowered_passes`, `lowered_s`): one single-threaded pass over the tensor per primitive.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from devices.mobile.spec import KernelEfficiency, KernelStructure, SparseExecution
from workloads import Activation, Compression, NormKind, Op, OpKind, SparsityScheme


class KernelClass(enum.Enum):
    CONV3X3 = "conv3x3"
    CONV1X1 = "conv1x1"
    DEPTHWISE = "depthwise"
    GEMM = "gemm"
    GEMV = "gemv"
    """A linear layer on one row (a matrix-vector product)."""
    ATTENTION = "attention"
    ELEMENTWISE = "elementwise"
    SOFTMAX_NORM = "softmax_norm"
    MEMORY = "memory"
    """Data movement only (concat, transpose, gather, scatter, upsample, copies)."""


_MAC_CLASSES = frozenset({KernelClass.CONV3X3, KernelClass.CONV1X1, KernelClass.DEPTHWISE,
                          KernelClass.GEMM, KernelClass.GEMV, KernelClass.ATTENTION})


def kernel_class(op: Op) -> KernelClass:
    """The kernel family a library dispatches `op` to (a fused op: its anchor's)."""
    op = op.anchor
    k = op.kind
    if k is OpKind.CONV2D:
        a = op.attrs
        if a.groups > 1 and a.groups == op.input_shapes[0][1]:
            return KernelClass.DEPTHWISE
        return KernelClass.CONV1X1 if a.kernel == (1, 1) else KernelClass.CONV3X3
    if k is OpKind.LINEAR:
        return KernelClass.GEMV if op.gemm.m == 1 else KernelClass.GEMM
    if k is OpKind.SPARSE_CONV3D:
        return KernelClass.GEMM
    if k is OpKind.MATMUL:
        return KernelClass.ATTENTION
    if k in (OpKind.SOFTMAX, OpKind.NORM):
        return KernelClass.SOFTMAX_NORM
    if k in (OpKind.POOL, OpKind.ADD, OpKind.MUL, OpKind.ACTIVATION, OpKind.FPS, OpKind.KNN,
             OpKind.BALL_QUERY):
        return KernelClass.ELEMENTWISE
    return KernelClass.MEMORY


def efficiency_of(cls: KernelClass, eff: KernelEfficiency) -> float:
    """The dense efficiency of a kernel class (memory ops: elementwise; GEMV unset: gemm)."""
    if cls is KernelClass.MEMORY:
        return eff.elementwise
    if cls is KernelClass.GEMV and eff.gemv is None:
        return eff.gemm
    return getattr(eff, cls.value)


def datatype(comp: Compression) -> tuple[str, float]:
    """(datapath, rate factor): 'fp32'/'fp16'/'int8' and the fraction of that path's peak.

    Integer schemes (fixed, power-of-two, mixed, multi-precision) all run on the int8 path of a
    CPU or GPU: none has a shift-add datapath, and sub-8-bit weights are unpacked to 8 bits, so
    they save bytes, not time. Integers wider than 8 bits run at 8/bits of the int8 rate.
    """
    if comp.is_float:
        return ("fp16" if comp.weight_bits == 16 else "fp32"), 1.0
    bits = max(comp.weight_bits, comp.activation_bits, comp.high_bits)
    return "int8", min(1.0, 8.0 / bits)


@dataclass(frozen=True, slots=True)
class SparseExecutionResult:
    time_factor: float
    """MAC time relative to the dense kernel of the same class (1 = dense)."""
    weight_bytes: int
    """Bytes of the weights as stored for the chosen kernel (values + indices)."""
    kernel: str
    """'dense', 'csr', 'dense-fallback', 'pattern', 'block'."""


def sparse_execution(op: Op, sparse: SparseExecution) -> SparseExecutionResult:
    """Time factor and stored weight bytes of `op` (not fused) under its sparsity scheme."""
    comp = op.compression
    scheme = comp.sparsity
    dense_bytes = math.ceil(op.params * comp.mean_weight_bits / 8)
    if scheme in (SparsityScheme.DENSE, SparsityScheme.CHANNEL):
        return SparseExecutionResult(1.0, op.weight_bytes, "dense")
    if scheme is SparsityScheme.N_M:
        # No mobile runtime modelled here has N:M kernels (Ampere-class sparse tensor cores do;
        # Adreno, Mali, Volta do not): the layer runs and is stored dense.
        return SparseExecutionResult(1.0, dense_bytes, "dense-fallback")
    density = comp.density
    if scheme is SparsityScheme.UNSTRUCTURED:
        factor = density / sparse.unstructured_efficiency
        if factor >= 1.0:  # the sparse kernel would be slower: the runtime keeps dense
            return SparseExecutionResult(1.0, dense_bytes, "dense-fallback")
        rows = op.weight_shape[0]
        index_bytes = math.ceil(op.nonzero_params * sparse.index_bits / 8) + 4 * (rows + 1)
        return SparseExecutionResult(factor, op.weight_bytes + index_bytes, "csr")
    if scheme is SparsityScheme.PATTERN:
        # One pattern id (a byte) per kept 3x3 kernel, as PatDNN-style compilers store it.
        kernels = op.weight_shape[0] * op.weight_shape[1]
        return SparseExecutionResult(density / sparse.pattern_efficiency,
                                     op.weight_bytes + kernels, "pattern")
    area = comp.block_shape[0] * comp.block_shape[1]
    eff = sparse.block_efficiency * area / (area + sparse.block_half_area)
    # One 16-bit column index per kept block column of each block row.
    n_blocks = math.ceil(op.nonzero_params / area)
    return SparseExecutionResult(density / eff, op.weight_bytes + 2 * n_blocks, "block")


def padded_macs(op: Op, align: int) -> float:
    """MACs after rounding channel counts up to `align` SIMD lanes (conv and linear)."""
    if op.kind is OpKind.CONV2D and op.attrs.groups == 1:
        cout, cin = op.weight_shape[0], op.weight_shape[1]
    elif op.kind is OpKind.LINEAR:
        cout, cin = op.weight_shape
    else:
        return float(op.macs)
    pad = (math.ceil(cout / align) * align / cout) * (math.ceil(cin / align) * align / cin)
    return op.macs * pad


def dram_traffic_bytes(input_bytes: int, weight_bytes: int, output_bytes: int,
                       cache_bytes: int, *, reuse: bool) -> int:
    """Bytes an op moves to and from DRAM when tiled into `cache_bytes` of on-chip memory.

    Ops with operand reuse (conv, GEMM) keep the smaller operand resident half a cache at a
    time and stream the larger one once per resident chunk (one-operand-resident blocking);
    everything fits when the working set does. Other ops read inputs and write outputs once.
    """
    if not reuse or input_bytes + weight_bytes + output_bytes <= cache_bytes:
        return input_bytes + weight_bytes + output_bytes
    small, large = sorted((input_bytes, weight_bytes))
    passes = max(1, math.ceil(small / (cache_bytes / 2)))
    return small + large * passes + output_bytes


_TILED_KINDS = frozenset({OpKind.LINEAR, OpKind.MATMUL})
"""Layers the GEMM tile model prices: convolutions keep the efficiencies calibrated on CNNs
(which already average their tile effects); linear and matmul layers are where transformers
differ (few rows at batch 1, head-sized reductions, many small batched products)."""

_TRANSCENDENTAL = frozenset({Activation.GELU, Activation.SILU, Activation.SIGMOID})
"""Activations that evaluate exp, erf or tanh per element (hard swish and ReLUs do not)."""


def gemm_utilisation(op: Op, structure: KernelStructure, occupancy_items: int) -> float:
    """Fraction of the class efficiency a linear or matmul `op` (not fused) reaches.

    The product runs as `groups` x ceil(m / tile_m) x ceil(n / tile_n) output tiles (a tile
    narrows to m or n when the matrix is smaller), `occupancy_items // (tile_m * tile_n)` tiles
    at a time (one wave); the unit is busy for whole waves, so utilisation = useful outputs /
    (waves x outputs per wave), which covers tile padding, the tail of the last wave and ops too
    small to fill the unit. Each tile also pays `gemm_k_overhead` K steps: K / (K + overhead).
    With 1 x 1 tiles (no tile structure) only the op-size occupancy min(1, outputs /
    occupancy_items) applies, as for other MAC ops. 1.0 for other kinds.
    """
    if op.kind not in _TILED_KINDS:
        return 1.0
    g = op.gemm
    if structure.gemm_tile_m == structure.gemm_tile_n == 1:
        # No tile structure: the unit takes outputs one at a time, so only an op too small to
        # fill it loses (the efficiency model's occupancy), whatever the waves.
        busy = min(1.0, g.groups * g.m * g.n / occupancy_items)
        return busy * g.k / (g.k + structure.gemm_k_overhead)
    tile_m, tile_n = min(structure.gemm_tile_m, g.m), min(structure.gemm_tile_n, g.n)
    tiles = g.groups * math.ceil(g.m / tile_m) * math.ceil(g.n / tile_n)
    per_wave = max(1, occupancy_items // (tile_m * tile_n))
    waves = math.ceil(tiles / per_wave)
    busy = g.groups * g.m * g.n / (waves * per_wave * tile_m * tile_n)
    return busy * g.k / (g.k + structure.gemm_k_overhead)


def vector_ops(op: Op, structure: KernelStructure) -> float:
    """Vector ops of `op` (not fused) with exp/erf/tanh at `transcendental_ops` each.

    `Op.vector_ops` counts one op per transcendental; a GELU (x * (1 + erf(x / sqrt 2)) / 2),
    SiLU or sigmoid evaluates one per element, a softmax one exponential per element.
    """
    extra = structure.transcendental_ops - 1.0
    n_out = math.prod(op.output_shape)
    if op.kind is OpKind.ACTIVATION and op.attrs.function in _TRANSCENDENTAL:
        return op.vector_ops + extra * n_out
    if op.kind is OpKind.SOFTMAX:
        return op.vector_ops + extra * n_out
    return float(op.vector_ops)


def extra_kernels(op: Op, structure: KernelStructure) -> int:
    """Kernels `op` (not fused) launches beyond one: a layer norm's or softmax's reductions.

    Each extra kernel is another launch and another pass over the op's input in memory.
    """
    if op.kind is OpKind.NORM and op.attrs.kind is NormKind.LAYER:
        return structure.layer_norm_kernels - 1
    if op.kind is OpKind.SOFTMAX:
        return structure.softmax_kernels - 1
    if op.kind is OpKind.ACTIVATION and op.attrs.function is Activation.GELU:
        return structure.gelu_kernels - 1
    return 0


def lowered_passes(op: Op, structure: KernelStructure) -> int:
    """Whole-tensor passes of `op` (not fused) when the runtime runs it lowered to primitive,
    single-threaded kernels (`KernelStructure.lowered_cycles_per_element` set): a layer norm's
    `layer_norm_passes`, a GELU's `gelu_kernels` (when above 1). 0 for every other op, and for
    every op when nothing is lowered: those keep their vector-op pricing.
    """
    if structure.lowered_cycles_per_element is None:
        return 0
    if op.kind is OpKind.NORM and op.attrs.kind is NormKind.LAYER:
        return structure.layer_norm_passes or 0
    if (op.kind is OpKind.ACTIVATION and op.attrs.function is Activation.GELU
            and structure.gelu_kernels > 1):
        return structure.gelu_kernels
    return 0


def lowered_s(op: Op, structure: KernelStructure, freq_hz: float) -> float:
    """Seconds the lowered passes of `op` (`lowered_passes`) take on one core at `freq_hz`:
    passes x elements x `lowered_cycles_per_element` / `freq_hz` (0 when not lowered)."""
    passes = lowered_passes(op, structure)
    if not passes:
        return 0.0
    return passes * math.prod(op.output_shape) * structure.lowered_cycles_per_element / freq_hz
