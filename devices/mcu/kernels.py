"""How an MCU runtime executes each op: its int8 kernel, tensor sizes, scratch, flash and cycles.

MCU inference libraries (CMSIS-NN, TF-Lite Micro, TinyEngine) run int8 weights and
activations, so float networks are planned as their int8 deployment: every float tensor is one
byte per element. Quantized networks keep their own bit-widths (e.g. int4 weights are packed
two per byte in flash). The kernels are dense: weight sparsity saves neither flash nor time.

Scratch buffers are the ones CMSIS-NN asks for on a core with the DSP extension (Cortex-M4/M7,
``arm_*_get_buffer_size`` in ARM-software/CMSIS-NN): a general convolution's im2col buffer holds
two columns of int16, ``2 * Cin * kh * kw * 2`` bytes; the fast 1x1 kernel (stride 1, no
padding) needs none; the optimised depthwise kernel needs ``Cin * kh * kw * 2`` bytes; fully
connected and element kernels need none.

Cycles of the MAC kernels are counted per kernel class (`mac_kernel_cycles`): MACs at the
class's cycles per MAC, the int8 -> int16 columns a conv or pointwise kernel expands
(`column_elements`), the depthwise kernel's copy of its input into a padded channel buffer,
and one requantisation per output, all times the spec's measured / counted scale; the spec's
`library` picks TinyEngine's kernels, CMSIS-NN's (one more scale) or TF-Lite Micro's
reference loops (`reference_instructions`: the instructions their compiled loops execute per
MAC, per filter tap and per output, times one cycles-per-instruction; no SIMD, no im2col).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from devices.mcu.spec import KernelLibrary, McuSpec
from workloads import Op, OpKind
from workloads.gemm import gemm_of
from workloads.ops import Activation, NormKind

INT8_BITS = 8
INDEX_BYTES = 4
"""Index tensors (embedding ids) are int32 on the MCU."""
QUANT_PARAM_BYTES_PER_CHANNEL = 12
"""Flash per output channel of a conv/linear: int32 bias + int32 multiplier + int32 shift
(TF-Lite int8 per-channel quantisation, which CMSIS-NN and TinyEngine consume)."""

_FOLDABLE_ACTIVATIONS = frozenset({Activation.RELU, Activation.RELU6})

MCU_KINDS = frozenset(OpKind) - {
    OpKind.SPARSE_CONV3D, OpKind.FPS, OpKind.KNN, OpKind.BALL_QUERY, OpKind.GATHER,
    OpKind.SCATTER,
}
"""Op kinds an MCU runtime has kernels for: everything but the point-cloud mapping ops."""


class KernelKind(enum.Enum):
    """The int8 kernel an op (or a fused op's member) runs on."""

    POINTWISE = "pointwise"
    CONV = "conv"
    DEPTHWISE = "depthwise"
    FULLY_CONNECTED = "fully_connected"
    POOL = "pool"
    ELEMENTWISE = "elementwise"
    COPY = "copy"
    FOLDED = "folded"
    """Batch norm and ReLU/ReLU6 folded into the preceding kernel: no time, written in place."""
    VIEW = "view"
    """A reshape that is a view: no time, no memory of its own."""


def is_depthwise(op: Op) -> bool:
    """True for a grouped conv with one input channel per group (depthwise, any multiplier)."""
    return (op.kind is OpKind.CONV2D and op.attrs.groups > 1
            and op.attrs.groups == op.input_shapes[0][1])


def kernel_kind(op: Op, spec: McuSpec, *, member: bool = False) -> KernelKind:
    """The kernel that runs `op` (for a FUSED op: its anchor's kernel).

    A batch norm or ReLU/ReLU6 is FOLDED (free) only as a `member` of a fused op, i.e. when
    the deployed graph has a kernel before it to fold into; standalone (its producer has other
    readers, or it reads a network input) the runtime runs it as an elementwise kernel.
    """
    op = op.anchor
    k = op.kind
    if k is OpKind.CONV2D:
        if op.attrs.groups > 1:
            return KernelKind.DEPTHWISE
        if op.attrs.kernel == (1, 1) and op.attrs.padding == (0, 0):
            return KernelKind.POINTWISE
        return KernelKind.CONV
    if k in (OpKind.LINEAR, OpKind.MATMUL):
        return KernelKind.FULLY_CONNECTED
    if k is OpKind.POOL:
        return KernelKind.POOL
    if k is OpKind.RESHAPE:
        return KernelKind.COPY if op.attrs.copy else KernelKind.VIEW
    if k in (OpKind.CONCAT, OpKind.TRANSPOSE, OpKind.UPSAMPLE, OpKind.PIXEL_SHUFFLE,
             OpKind.EMBEDDING):
        if k is OpKind.UPSAMPLE and op.vector_ops:
            return KernelKind.ELEMENTWISE  # bilinear interpolates
        return KernelKind.COPY
    if member and spec.fold_norm_and_clamp and _foldable(op):
        return KernelKind.FOLDED
    return KernelKind.ELEMENTWISE


def _foldable(op: Op) -> bool:
    if op.kind is OpKind.NORM:
        return op.attrs.kind is NormKind.BATCH
    if op.kind is OpKind.ACTIVATION:
        return op.attrs.function in _FOLDABLE_ACTIVATIONS
    return False


def act_bits(op: Op) -> int:
    """Activation bits as deployed: 8 for float networks (int8 deployment), else the op's own."""
    comp = op.anchor.compression
    return INT8_BITS if comp.is_float else comp.activation_bits


def weight_bits(op: Op) -> float:
    """Mean weight storage bits as deployed: 8 for float networks, else the op's own."""
    comp = op.compression
    return float(INT8_BITS) if comp.is_float else comp.mean_weight_bits


def tensor_bytes(shape: tuple[int, ...], bits: int) -> int:
    """Bytes of a tensor of `shape` at `bits` per element (packed, rounded up)."""
    return math.ceil(math.prod(shape) * bits / 8)


def input_bytes(op: Op, index: int) -> int:
    """Deployed bytes of input `index` of `op`."""
    if op.kind is OpKind.EMBEDDING and index == 0:
        return math.prod(op.input_shapes[0]) * INDEX_BYTES
    return tensor_bytes(op.input_shapes[index], act_bits(op))


def output_bytes(op: Op) -> int:
    """Deployed bytes of the output of `op` (0 for a view)."""
    if op.is_free:
        return 0
    return tensor_bytes(op.output_shape, act_bits(op))


def scratch_bytes(op: Op) -> int:
    """Kernel scratch (im2col) buffer of `op` per CMSIS-NN's DSP-extension sizes, bytes."""
    a = op.anchor
    if a.kind is not OpKind.CONV2D:
        return 0
    cin = a.input_shapes[0][1]
    kh, kw = a.attrs.kernel
    if a.attrs.groups > 1:
        return cin * kh * kw * 2
    if (kh, kw) == (1, 1) and a.attrs.padding == (0, 0) and a.attrs.stride == (1, 1):
        return 0
    return 2 * gemm_of(a).k * 2  # two im2col columns of K int16 values


def flash_bytes(op: Op) -> int:
    """Flash the op's parameters take as deployed (weights + quantisation params), bytes.

    Conv and linear: packed weights plus `QUANT_PARAM_BYTES_PER_CHANNEL` per output channel
    (batch norm folds into them). Folded norms store nothing. Other learned tensors (position
    embeddings, layer-norm scale/shift, embedding tables) at the weight bit-width.
    """
    if op.kind is OpKind.FUSED:
        return sum(flash_bytes(m) for m in op.members)
    if op.kind in (OpKind.CONV2D, OpKind.LINEAR):
        weights = math.prod(op.weight_shape)
        return math.ceil(weights * weight_bits(op) / 8) + QUANT_PARAM_BYTES_PER_CHANNEL * op.weight_shape[0]
    if op.kind is OpKind.NORM and op.attrs.kind is NormKind.BATCH:
        return 0  # folded into the conv's bias and requantisation
    return math.ceil(op.params * weight_bits(op) / 8)


@dataclass(frozen=True, slots=True)
class OpCycles:
    """Cycles one op costs on the core, split by cause."""

    compute_cycles: float
    """MACs and element operations at the kernel's cycles per unit."""
    flash_cycles: float
    """Stalls fetching weights from flash (lines read x core cycles per line)."""
    overhead_cycles: float
    """The fixed cost of the kernel call."""
    flash_read_bytes: int
    """Bytes read from flash (weights, re-read when they do not fit the data cache)."""

    @property
    def total_cycles(self) -> float:
        return self.compute_cycles + self.flash_cycles + self.overhead_cycles

    @property
    def fixed_cycles(self) -> float:
        """Cycles paid once per kernel call whatever the spatial size (overhead + one weight
        fetch): what patch-based inference pays again for every patch."""
        return self.overhead_cycles + self.flash_cycles_first_touch

    flash_cycles_first_touch: float = 0.0
    """Flash stall cycles of one pass over the weights."""


_MAC_KINDS = frozenset({KernelKind.POINTWISE, KernelKind.CONV, KernelKind.DEPTHWISE,
                        KernelKind.FULLY_CONNECTED})


def column_elements(op: Op) -> int:
    """Elements a conv or pointwise kernel expands into im2col / int16 columns: output
    pixels x Cin/groups x kh x kw (0 for other ops). Each column serves every output channel,
    so this cost grows with the input channels and the spatial size, not with Cout."""
    if op.kind is not OpKind.CONV2D or op.attrs.groups > 1:
        return 0
    gemm = gemm_of(op)
    return gemm.m * gemm.k


def taps_inside(op: Op) -> int:
    """Filter taps that fall inside the input image, summed over the output pixels of conv
    `op`: the taps TF-Lite Micro's reference loops run (`is_point_inside_image`); the others
    are padding they skip. Separable: (taps inside along H) x (taps inside along W)."""
    a = op.attrs
    _, _, height, width = op.input_shapes[0]
    _, _, out_h, out_w = op.output_shape

    def inside(n_in: int, n_out: int, k: int, stride: int, pad: int, dilation: int) -> int:
        return sum(1 for o in range(n_out) for f in range(k)
                   if 0 <= o * stride - pad + f * dilation < n_in)

    return (inside(height, out_h, a.kernel[0], a.stride[0], a.padding[0], a.dilation[0])
            * inside(width, out_w, a.kernel[1], a.stride[1], a.padding[1], a.dilation[1]))


def reference_instructions(op: Op, spec: McuSpec) -> float:
    """Instructions TF-Lite Micro's int8 reference kernel executes for MAC op `op` (conv,
    depthwise or linear/matmul), from the counts of `spec.kernels.reference`.

    ConvPerChannel (groups = 1, or grouped but not depthwise): per MAC actually run (taps
    inside the image x Cin/groups x Cout), per output element and tap inside or outside the
    image, per output element. DepthwiseConvPerChannel: per MAC run (taps inside x Cout), per
    skipped tap, per output element and filter row, per output element. FullyConnected: per
    MAC and per output element. Padded taps are skipped, so they cost no MAC.
    """
    r = spec.kernels.reference
    n_out = math.prod(op.output_shape)
    if op.kind is not OpKind.CONV2D:
        return op.macs * r.fully_connected_instructions_per_mac \
            + n_out * r.fully_connected_instructions_per_output
    _, cout, out_h, out_w = op.output_shape
    kh, kw = op.attrs.kernel
    inside = taps_inside(op)
    skipped = out_h * out_w * kh * kw - inside
    if is_depthwise(op):
        return (inside * cout * r.depthwise_instructions_per_mac
                + skipped * cout * r.instructions_per_skipped_tap
                + n_out * kh * r.depthwise_instructions_per_filter_row
                + n_out * r.instructions_per_output)
    cin_per_group = op.input_shapes[0][1] // op.attrs.groups
    return (inside * cin_per_group * cout * r.conv_instructions_per_mac
            + inside * cout * r.conv_instructions_per_tap
            + skipped * cout * r.instructions_per_skipped_tap
            + n_out * r.instructions_per_output)


def mac_kernel_cycles(op: Op, spec: McuSpec, kind: KernelKind) -> float:
    """Cycles of one MAC kernel (conv, pointwise, depthwise, fully connected) under
    `spec.library`, before flash stalls and the call overhead.

    TinyEngine: counted cycles per MAC of its class + column expansion (`column_elements`)
    + the depthwise kernel's copy of each input element into its padded channel buffer
    + requantisation per output, times `calibration_scale`. CMSIS-NN: the same count times
    `cmsis_nn_scale`. TF-Lite Micro reference kernels: `reference_instructions` times the
    spec's `kernels.reference.cycles_per_instruction` (no im2col, no SIMD, no other scale).
    """
    if spec.library is KernelLibrary.TFLITE_MICRO:
        return reference_instructions(op, spec) * spec.kernels.reference.cycles_per_instruction
    k = spec.kernels
    requant = math.prod(op.output_shape) * k.requant_cycles_per_output
    per_mac = {
        KernelKind.POINTWISE: k.pointwise_cycles_per_mac,
        KernelKind.CONV: k.conv_cycles_per_mac,
        KernelKind.DEPTHWISE: k.depthwise_cycles_per_mac,
        KernelKind.FULLY_CONNECTED: k.fully_connected_cycles_per_mac,
    }[kind]
    counted = op.macs * per_mac + requant
    if kind is KernelKind.DEPTHWISE:
        counted += math.prod(op.input_shapes[0]) * k.depthwise_cycles_per_input
    else:
        counted += column_elements(op) * k.im2col_cycles_per_element
    scale = k.calibration_scale
    if spec.library is KernelLibrary.CMSIS_NN:
        scale *= k.cmsis_nn_scale
    return counted * scale


def _member_compute_cycles(op: Op, spec: McuSpec, member: bool) -> float:
    k = spec.kernels
    kind = kernel_kind(op, spec, member=member)
    if kind in _MAC_KINDS:
        return mac_kernel_cycles(op, spec, kind)
    if kind is KernelKind.POOL:
        return op.vector_ops * k.pool_cycles_per_element
    if kind is KernelKind.ELEMENTWISE:
        return max(op.vector_ops, math.prod(op.output_shape)) * k.elementwise_cycles_per_element
    if kind is KernelKind.COPY:
        return output_bytes(op) * k.copy_cycles_per_byte
    return 0.0


def _weight_passes(op: Op, spec: McuSpec, n_bytes: int) -> int:
    """How many times a layer's weights stream from flash: once if they fit the data cache
    (or for depthwise, which walks channel by channel), else once per `weight_passes_pixels`
    output pixels (CMSIS-NN's GEMM re-reads the weight rows for each pair of columns), or
    once per output pixel under TF-Lite Micro's reference conv (its loop nest walks every
    output channel's filter for each output pixel)."""
    fits_cache = spec.dcache_bytes is not None and n_bytes <= spec.dcache_bytes
    if fits_cache or op.kind not in (OpKind.CONV2D, OpKind.LINEAR):
        return 1
    if op.kind is OpKind.CONV2D and op.attrs.groups > 1:
        return 1
    pixels = 1 if spec.library is KernelLibrary.TFLITE_MICRO else spec.weight_passes_pixels
    return max(1, math.ceil(gemm_of(op).m / pixels))


def op_cycles(op: Op, spec: McuSpec) -> OpCycles:
    """Cycles of `op` on the MCU core (pure; no I/O)."""
    fused = op.kind is OpKind.FUSED
    members = op.members if fused else (op,)
    compute = sum(_member_compute_cycles(m, spec, fused) for m in members)
    first_touch = 0.0
    flash_cycles = 0.0
    read = 0
    for m in members:
        n_bytes = flash_bytes(m)
        if m.kind is OpKind.EMBEDDING:  # it reads the rows it looks up, not its whole table
            n_bytes = min(n_bytes, math.ceil(math.prod(m.output_shape) * weight_bits(m) / 8))
        if not n_bytes:
            continue
        lines = math.ceil(n_bytes / spec.flash_line_bytes)
        passes = _weight_passes(m, spec, n_bytes)
        first_touch += lines * spec.flash_access_cycles
        flash_cycles += lines * passes * spec.flash_access_cycles
        read += n_bytes * passes
    free = all(kernel_kind(m, spec, member=fused) in (KernelKind.VIEW, KernelKind.FOLDED)
               for m in members)
    overhead = 0.0 if free else spec.kernels.op_overhead_cycles
    return OpCycles(compute_cycles=compute, flash_cycles=flash_cycles, overhead_cycles=overhead,
                    flash_read_bytes=read, flash_cycles_first_touch=first_touch)
