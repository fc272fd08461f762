"""Microcontroller specs: clock, SRAM, flash, caches, power and the int8 kernel cycle table.

A `McuSpec` is what the memory planner, the patch planner and the `McuDevice` cost model read.
Presets live in ``devices/mcu/presets/*.yaml`` (one per board, each with a `source:` line) and
are loaded strictly by `sim.spec.load_yaml`.

Sizes use binary kilobytes where the literature does: MCUNet/MCUNetV2 and the ST datasheets
write "kB" for 1024 bytes, so ``KB = 1024`` converts and reports print "kB" in that sense.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from sim.spec_legacy import load_preset
from workloads import SpecError

KB = 1024
"""Bytes per kB, the convention of MCUNet/MCUNetV2 and the STM32 datasheets."""

PRESETS = Path(__file__).parent / "presets"

MAX_FREQ_HZ = 2.0e9
"""Above 2 GHz a 'microcontroller' clock is certainly a typo."""
MAX_MEMORY_BYTES = 1 << 34
"""16 GiB: no MCU has more on-chip SRAM or flash; a bigger value is a typo."""


def _positive(owner: str, name: str, value: object, *, integer: bool = False,
              maximum: float = math.inf, zero_ok: bool = False) -> None:
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or not math.isfinite(value):
        kind = "an int" if integer else "a finite number"
        raise SpecError(f"{owner}: {name!r} must be {kind} (got {value!r})")
    low_ok = value >= 0 if zero_ok else value > 0
    if not low_ok or value > maximum:
        bound = ">= 0" if zero_ok else "> 0"
        top = f" and <= {maximum:g}" if math.isfinite(maximum) else ""
        raise SpecError(f"{owner}: {name!r} must be {bound}{top} (got {value!r})")


@dataclass(frozen=True, kw_only=True)
class KernelCycles:
    """Core cycles per unit of work of the int8 kernels (CMSIS-NN / TinyEngine-like).

    MAC kernels are priced per multiply-accumulate; element kernels per element operation
    (`Op.vector_ops`); data movement per byte copied. The preset says where each number
    comes from (a measured latency it is calibrated on, or an assumption and its reason).
    """

    pointwise_cycles_per_mac: float
    """1x1 convolution (a GEMM over channels; the best-reused kernel)."""
    conv_cycles_per_mac: float
    """k x k convolution with groups = 1 through im2col + GEMM (e.g. the first 3x3 conv)."""
    depthwise_cycles_per_mac: float
    """Depthwise / grouped convolution: no reuse of an input across output channels."""
    fully_connected_cycles_per_mac: float
    """Linear layers and matmuls: each weight is used once per inference."""
    requant_cycles_per_output: float
    """Per output element of a MAC kernel: requantise the int32 accumulator to int8 (fixed-point
    multiply, rounding shift, offset, clamp) and store. Dominates narrow layers."""
    pool_cycles_per_element: float
    """Pooling, per window element read."""
    elementwise_cycles_per_element: float
    """Residual add, mul, non-folded activations, softmax, per element operation."""
    copy_cycles_per_byte: float
    """Concat, copying reshape/transpose, upsample, pixel shuffle, embedding gather."""
    op_overhead_cycles: float
    """Fixed cost of one kernel call (argument set-up, requantisation tables, loop prologue)."""

    def __post_init__(self) -> None:
        for name in ("pointwise_cycles_per_mac", "conv_cycles_per_mac",
                     "depthwise_cycles_per_mac", "fully_connected_cycles_per_mac",
                     "requant_cycles_per_output", "pool_cycles_per_element", "elementwise_cycles_per_element",
                     "copy_cycles_per_byte"):
            _positive("kernels", name, getattr(self, name), maximum=1e4)
        _positive("kernels", "op_overhead_cycles", self.op_overhead_cycles, zero_ok=True,
                  maximum=1e9)


@dataclass(frozen=True, kw_only=True)
class McuSpec:
    """One microcontroller board as the memory planner and the cost model see it."""

    name: str
    """Registry name, e.g. 'stm32f746'."""
    description: str
    """One line for `edgesim list`."""
    source: str
    """Where the numbers come from (datasheet, reference manual, paper)."""
    core: str
    """CPU core, e.g. 'cortex-m7' (informational; the cycle table carries its effect)."""
    freq_hz: float
    """Core clock, Hz."""
    sram_bytes: int
    """SRAM usable for activations, scratch and runtime (contiguous budget), bytes."""
    flash_bytes: int
    """Embedded flash for weights and code, bytes."""
    dcache_bytes: int = 0
    """L1 data cache (0: none). A layer whose weights fit is fetched from flash once."""
    flash_line_bytes: int
    """Bytes delivered by one flash read (the flash word / ART line)."""
    flash_access_cycles: float
    """Core cycles one flash line read stalls the core when it misses the cache/accelerator
    (wait states + 1, in core clocks)."""
    active_power_w: float
    """Chip power while running inference from flash at `freq_hz`, W."""
    runtime_reserve_bytes: int = 0
    """SRAM kept for the stack, the runtime's tables and I/O buffers, bytes."""
    code_flash_bytes: int = 0
    """Flash taken by the inference runtime and application code, bytes."""
    in_place_depthwise: bool = True
    """TinyEngine's in-place depthwise (MCUNet, arXiv 2007.10319 Sec. 3.2): the output
    overwrites the input channel by channel through a one-channel buffer, so the layer needs
    N + 1 channel planes instead of 2N."""
    fold_norm_and_clamp: bool = True
    """Plan and price the deployed graph: batch norm folds into the preceding conv, ReLU/ReLU6
    become the int8 output clamp (TF-Lite converter, TinyEngine), and a residual add fuses into
    the projection conv's output stage (TinyEngine's operator fusion), i.e. `Network.fused()`;
    folded ops cost nothing."""
    weight_passes_pixels: int = 2
    """Output pixels computed per pass over a layer's weights when they do not fit the data
    cache (CMSIS-NN's 2 x 2 GEMM kernel: two output columns per weight read)."""
    kernels: KernelCycles
    """Cycles of the int8 kernels on this core."""

    def __post_init__(self) -> None:
        owner = self.name or "mcu spec"
        if not isinstance(self.name, str) or not self.name:
            raise SpecError("mcu spec: 'name' must be a non-empty string")
        _positive(owner, "freq_hz", self.freq_hz, maximum=MAX_FREQ_HZ)
        for name in ("sram_bytes", "flash_bytes", "flash_line_bytes"):
            _positive(owner, name, getattr(self, name), integer=True, maximum=MAX_MEMORY_BYTES)
        for name in ("dcache_bytes", "runtime_reserve_bytes", "code_flash_bytes"):
            _positive(owner, name, getattr(self, name), integer=True, zero_ok=True,
                      maximum=MAX_MEMORY_BYTES)
        if self.runtime_reserve_bytes >= self.sram_bytes:
            raise SpecError(
                f"{owner}: 'runtime_reserve_bytes' ({self.runtime_reserve_bytes}) must be below "
                f"'sram_bytes' ({self.sram_bytes})"
            )
        if self.code_flash_bytes >= self.flash_bytes:
            raise SpecError(
                f"{owner}: 'code_flash_bytes' ({self.code_flash_bytes}) must be below "
                f"'flash_bytes' ({self.flash_bytes})"
            )
        _positive(owner, "flash_access_cycles", self.flash_access_cycles, zero_ok=True,
                  maximum=1e4)
        _positive(owner, "active_power_w", self.active_power_w, maximum=100.0)
        _positive(owner, "weight_passes_pixels", self.weight_passes_pixels, integer=True,
                  maximum=1 << 20)
        for name in ("in_place_depthwise", "fold_norm_and_clamp"):
            if not isinstance(getattr(self, name), bool):
                raise SpecError(f"{owner}: {name!r} must be true or false")
        if not isinstance(self.kernels, KernelCycles):
            raise SpecError(f"{owner}: 'kernels' must be a KernelCycles table")

    @property
    def activation_budget_bytes(self) -> int:
        """SRAM left for activations and scratch after the runtime reserve, bytes."""
        return self.sram_bytes - self.runtime_reserve_bytes

    @property
    def weight_budget_bytes(self) -> int:
        """Flash left for weights after the code, bytes."""
        return self.flash_bytes - self.code_flash_bytes


PRESET_NAMES = ("stm32f746", "stm32h743", "stm32f412", "nrf52840")
"""The bundled presets, by registry name (file ``presets/{name}.yaml``)."""


def load_spec(preset: str | Path) -> McuSpec:
    """A spec from a bundled preset name (see PRESET_NAMES) or a YAML file path.

    Raises UnknownNameError for an unknown name, SpecError for a malformed file.
    """
    return load_preset(McuSpec, PRESETS, preset, what="MCU preset")


__all__ = ["KB", "KernelCycles", "McuSpec", "PRESET_NAMES", "load_spec"]
