"""How a mobile CPU or GPU library executes one op: pure functions, no device state.

Three questions, answered from the op and the unit's spec:
- which kernel class runs it (and so which efficiency applies);
- how weight sparsity changes its work and its weight bytes (per scheme);
- how many bytes it moves to and from DRAM given the cache it can tile into.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from devices.mobile.spec import KernelEfficiency, SparseExecution
from workloads import Compression, Op, OpKind, SparsityScheme


class KernelClass(enum.Enum):
    CONV3X3 = "conv3x3"
    CONV1X1 = "conv1x1"
    DEPTHWISE = "depthwise"
    GEMM = "gemm"
    ATTENTION = "attention"
    ELEMENTWISE = "elementwise"
    SOFTMAX_NORM = "softmax_norm"
    MEMORY = "memory"
    """Data movement only (concat, transpose, gather, scatter, upsample, copies)."""


_MAC_CLASSES = frozenset({KernelClass.CONV3X3, KernelClass.CONV1X1, KernelClass.DEPTHWISE,
                          KernelClass.GEMM, KernelClass.ATTENTION})


def kernel_class(op: Op) -> KernelClass:
    """The kernel family a library dispatches `op` to (a fused op: its anchor's)."""
    op = op.anchor
    k = op.kind
    if k is OpKind.CONV2D:
        a = op.attrs
        if a.groups > 1 and a.groups == op.input_shapes[0][1]:
            return KernelClass.DEPTHWISE
        return KernelClass.CONV1X1 if a.kernel == (1, 1) else KernelClass.CONV3X3
    if k in (OpKind.LINEAR, OpKind.SPARSE_CONV3D):
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
    """The dense efficiency of a kernel class."""
    return getattr(eff, "elementwise" if cls is KernelClass.MEMORY else cls.value)


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
