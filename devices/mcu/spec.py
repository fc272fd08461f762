"""Microcontroller specs: clock, SRAM, flash, caches, power and the int8 kernel cycle table.

A `McuSpec` is what the memory planner, the patch planner and the `McuDevice` cost model read.
Both are `sim.spec` models: each field declares its type, range and doc, and the one validator
of `sim.spec` checks presets (``devices/mcu/presets/*.yaml``, one per board, each with a
`source:` line), device files and `--set` overrides against those declarations.

Sizes use binary kilobytes where the literature does: MCUNet/MCUNetV2 and the ST datasheets
write "kB" for 1024 bytes, so ``KB = 1024`` converts and reports print "kB" in that sense.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from sim.spec import DeviceSpec, Name, Spec

KB = 1024
"""Bytes per kB, the convention of MCUNet/MCUNetV2 and the STM32 datasheets."""

PRESETS = Path(__file__).parent / "presets"

MIN_FREQ_HZ = 1.0e3
"""Below 1 kHz (a watch crystal is 32.768 kHz) a clock is a typo; slower would overflow the
engine's picosecond clock on a large model."""
MAX_FREQ_HZ = 2.0e9
"""Above 2 GHz a 'microcontroller' clock is certainly a typo."""
MAX_MEMORY_BYTES = 1 << 34
"""16 GiB: no MCU has more on-chip SRAM or flash; a bigger value is a typo."""
MAX_CYCLES_PER_UNIT = 1e4
"""No int8 kernel spends 10,000 core cycles on one MAC, element or byte: a bigger value is a typo."""

CyclesPerUnit = Annotated[float, Field(gt=0, le=MAX_CYCLES_PER_UNIT)]
"""Core cycles per unit of work, in (0, 1e4]."""
MemoryBytes = Annotated[int, Field(ge=1, le=MAX_MEMORY_BYTES)]
"""A memory size, 1 B .. 16 GiB."""
ReserveBytes = Annotated[int, Field(ge=0, le=MAX_MEMORY_BYTES)]
"""A share of a memory, 0 B .. 16 GiB."""


class KernelLibrary(enum.Enum):
    """The int8 inference library that runs the network (TinyEngine README, "Measured Results",
    measures the same models under each on the STM32H743)."""

    TINYENGINE = "tinyengine"
    """MIT's code-generated kernels (MCUNet): specialised per layer, no interpreter."""
    CMSIS_NN = "cmsis-nn"
    """TF-Lite Micro's interpreter calling Arm's CMSIS-NN SIMD kernels."""
    TFLITE_MICRO = "tflite-micro"
    """TF-Lite Micro with its portable reference kernels: plain C loops, no SIMD."""


InstructionCount = Annotated[float, Field(ge=0, le=MAX_CYCLES_PER_UNIT)]
"""Instructions executed per unit of work, in [0, 1e4]."""


class ReferenceKernels(Spec):
    """TF-Lite Micro's int8 reference kernels (ConvPerChannel, DepthwiseConvPerChannel,
    FullyConnected in tensorflow/lite/kernels/internal/reference/integer_ops/) as the
    instructions their compiled loops execute, counted on the hot path of each loop of the
    compiled source, and one cycles-per-instruction figure for the core.

    The counts depend on the build: with `NDEBUG` undefined, every `TFLITE_DCHECK` in
    `Offset()` (tensorflow/lite/kernels/internal/runtime_shape.h) calls `abort()` on failure,
    so the compiler cannot hoist the index arithmetic or the checks out of the innermost loop
    and each MAC pays two full 4-D `Offset()` computations with their eight range checks. The
    preset says which build it counts; devices/mcu/reference_loops/ holds the reduced source
    the counts were read from and how.
    """

    conv_instructions_per_mac: InstructionCount
    """ConvPerChannel's in-channel loop, per MAC: two `Offset()` (dims reloads, range checks,
    three multiply-adds each), two LDRSB, the input-offset add, the MLA, loop control."""
    depthwise_instructions_per_mac: InstructionCount
    """DepthwiseConvPerChannel's filter-x loop, per MAC: the `is_point_inside_image` check,
    two `Offset()`, two LDRSB, the offset add, the MLA, loop control."""
    fully_connected_instructions_per_mac: InstructionCount
    """FullyConnected's depth loop, per MAC: flat indices (no `Offset()`): two post-indexed
    LDRSB, the offset add, the MLA, compare and branch."""
    conv_instructions_per_tap: InstructionCount
    """ConvPerChannel, per output element and filter tap inside the image: the bounds check
    and the set-up of the in-channel loop."""
    instructions_per_skipped_tap: InstructionCount
    """Conv and depthwise, per output element and filter tap outside the image (padding):
    the failed bounds check and the loop step."""
    depthwise_instructions_per_filter_row: InstructionCount
    """DepthwiseConvPerChannel, per output element and filter row: the filter-x loop's set-up
    and exit."""
    instructions_per_output: InstructionCount
    """Conv and depthwise, per output element: the bias add, MultiplyByQuantizedMultiplier
    (SMULL, rounding nudge, saturating doubling high half, rounding shift), the output
    offset, the clamp, the output `Offset()` with its checks and the byte store."""
    fully_connected_instructions_per_output: InstructionCount
    """FullyConnected, per output element: the same requantisation and clamp, a flat store."""
    cycles_per_instruction: Annotated[float, Field(gt=0, le=100.0)]
    """Core cycles per executed instruction on these loops (issue rate, load-use stalls and
    taken branches): the one constant the source leaves open."""


class KernelCycles(Spec):
    """Core cycles per unit of work of the int8 kernels, counted from the Cortex-M structure.

    MAC kernels (TinyEngine / CMSIS-NN, Cortex-M4/M7 with the DSP extension) are priced per
    kernel class as counted instruction-issue cycles: MACs (SMLAD does two 16-bit MACs), the
    im2col / q7->q15 column expansion per column element, the depthwise kernel's copy of each
    input element into its padded channel buffer, and the requantisation of every output; the
    sum is multiplied by `calibration_scale` (measured / counted). Element kernels are priced
    per element operation (`Op.vector_ops`) and data movement per byte copied. The preset says
    where each number comes from (an instruction count, a measurement it is calibrated on, or
    an assumption and its reason).
    """

    pointwise_cycles_per_mac: CyclesPerUnit
    """1x1 convolution: a GEMM over channels on a 2-channel x 2-pixel SMLAD tile."""
    conv_cycles_per_mac: CyclesPerUnit
    """k x k convolution with groups = 1: the same GEMM over im2col columns."""
    depthwise_cycles_per_mac: CyclesPerUnit
    """Depthwise / grouped convolution: one input load per MAC (no reuse across channels)."""
    fully_connected_cycles_per_mac: CyclesPerUnit
    """Linear layers and matmuls: each weight loaded, unpacked and used once per inference."""
    im2col_cycles_per_element: Annotated[float, Field(ge=0, le=MAX_CYCLES_PER_UNIT)]
    """Per column element a conv or pointwise kernel expands (int8 -> int16, padding), i.e.
    output pixels x Cin x kh x kw per call; each column then serves every output channel."""
    depthwise_cycles_per_input: Annotated[float, Field(ge=0, le=MAX_CYCLES_PER_UNIT)]
    """Per input element of a depthwise kernel: its copy (HWC -> CHW) into the padded
    per-channel buffer the in-place kernel convolves."""
    requant_cycles_per_output: CyclesPerUnit
    """Per output element of a MAC kernel: requantise the int32 accumulator to int8 and store."""
    calibration_scale: Annotated[float, Field(gt=0, le=100.0)]
    """Measured / counted cycles of the MAC kernels (pipeline interlocks, SRAM wait states and
    loop control the count leaves out): the one number calibrated on a measured latency."""
    cmsis_nn_scale: Annotated[float, Field(gt=0, le=100.0)]
    """CMSIS-NN (under TF-Lite Micro's interpreter) MAC-kernel cycles per TinyEngine cycle."""
    reference: ReferenceKernels
    """TF-Lite Micro's portable reference kernels: instructions per unit of work and the
    core's cycles per instruction on them (replaces the MAC-kernel table under
    `library: tflite-micro`)."""
    pool_cycles_per_element: CyclesPerUnit
    """Pooling, per window element read."""
    elementwise_cycles_per_element: CyclesPerUnit
    """Residual add, mul, non-folded activations, softmax, per element operation."""
    copy_cycles_per_byte: CyclesPerUnit
    """Concat, copying reshape/transpose, upsample, pixel shuffle, embedding gather."""
    op_overhead_cycles: Annotated[float, Field(ge=0, le=1e9)]
    """Fixed cost of one kernel call (argument set-up, requantisation tables, loop prologue)."""


class McuSpec(DeviceSpec):
    """One microcontroller board as the memory planner and the cost model see it."""

    family: ClassVar[str] = "mcu"

    core: Name
    """CPU core, e.g. 'cortex-m7' (informational; the cycle table carries its effect)."""
    freq_hz: Annotated[float, Field(ge=MIN_FREQ_HZ, le=MAX_FREQ_HZ)]
    """Core clock, 1 kHz .. 2 GHz."""
    sram_bytes: MemoryBytes
    """SRAM usable for activations, scratch and runtime (contiguous budget)."""
    flash_bytes: MemoryBytes
    """Embedded flash for weights and code."""
    dcache_bytes: MemoryBytes | None = None
    """L1 data cache; None (null in a file): none. A layer whose weights fit is read from flash once."""
    flash_line_bytes: MemoryBytes
    """Bytes delivered by one flash read (the flash word / ART line)."""
    flash_access_cycles: Annotated[float, Field(ge=0, le=MAX_CYCLES_PER_UNIT)]
    """Core cycles one flash line read stalls the core on a cache miss (wait states + 1)."""
    active_power_w: Annotated[float, Field(gt=0, le=100.0)]
    """Chip power while running inference from flash at `freq_hz`."""
    runtime_reserve_bytes: ReserveBytes = 0
    """SRAM kept for the stack, the runtime's tables and I/O buffers; below `sram_bytes`."""
    code_flash_bytes: ReserveBytes = 0
    """Flash taken by the inference runtime and application code; below `flash_bytes`."""
    in_place_depthwise: bool = True
    """TinyEngine's in-place depthwise (MCUNet, arXiv 2007.10319 Sec. 3.2): N + 1 planes, not 2N."""
    fold_norm_and_clamp: bool = True
    """Plan and price the deployed graph: BN, ReLU/ReLU6 and residual adds fold into the convs."""
    weight_passes_pixels: Annotated[int, Field(ge=1, le=1 << 20)] = 2
    """Output pixels per pass over a layer's weights when they miss the data cache (CMSIS-NN: 2)."""
    library: KernelLibrary = KernelLibrary.TINYENGINE
    """Inference library ('tinyengine', 'cmsis-nn', 'tflite-micro'): which kernels run."""
    kernels: KernelCycles
    """Cycles of the int8 kernels on this core."""

    # Field validators (not a model validator) so an error names its own key, e.g.
    # `FILE: runtime_reserve_bytes: expected below sram_bytes (327680), got 409600`.
    @field_validator("runtime_reserve_bytes", "code_flash_bytes")
    @classmethod
    def _below_its_memory(cls, value: int, info: ValidationInfo) -> int:
        memory = {"runtime_reserve_bytes": "sram_bytes", "code_flash_bytes": "flash_bytes"}[
            info.field_name]
        size = info.data.get(memory)
        if size is not None and value >= size:
            raise PydanticCustomError("below_memory", "below {memory} ({size})",
                                      {"memory": memory, "size": size})
        return value

    @property
    def activation_budget_bytes(self) -> int:
        """SRAM left for activations and scratch after the runtime reserve, bytes."""
        return self.sram_bytes - self.runtime_reserve_bytes

    @property
    def weight_budget_bytes(self) -> int:
        """Flash left for weights after the code, bytes."""
        return self.flash_bytes - self.code_flash_bytes


__all__ = ["KB", "KernelCycles", "KernelLibrary", "McuSpec", "ReferenceKernels"]
