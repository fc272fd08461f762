"""The accelerator a spec generates on a part: what it is, how the allocator sizes it.

`AcceleratorSpec` describes a design: datapath (quantized or a float32 baseline), the PE of the
LUT array (power-of-two shift-add, or low-bit fixed-point LUT multipliers), the quantization mix
it is sized for, the reduction width (cols), buffers, loop order, clock and utilization caps.
`allocate(part, spec)` turns it into a `Design`: how many rows each array gets under the part's
DSP, LUT, flip-flop and BRAM budgets, and the resources used. A design that does not fit raises
DoesNotFitError naming the resource, what is needed, what is available and the overflow.

Sizing rule (the resource-matched mixing of Mix and Match, arXiv 2012.04240, and Auto-ViT-Acc,
arXiv 2208.05163: fixed-point rows on DSPs, power-of-two rows on LUTs): the DSP array takes as
many rows as the DSP budget allows (with WP486 packing), then the LUT array is sized so that
LUT rows : DSP rows matches the design's `lut_row_ratio` : (1 - lut_row_ratio), capped by the
LUT budget left after the control logic, the vector unit and the DSP rows' own LUTs. Explicit
`dsp_rows` / `lut_rows` override the sizing and are only checked.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from accelerators.fpga.parts import FpgaPartSpec
from accelerators.fpga.resources import (
    BRAM36_BITS,
    ResourceUsage,
    buffer_bram36,
    dsp_per_lane,
    lut_multiplier_luts,
    packing_factor,
    pot_lane_luts,
    requantize_luts,
    row_resources,
)
from accelerators.fpga.rtl.tile import RowKind
from sim.spec import Fraction, NonNegativeInt, PositiveFloat, PositiveInt, Ratio, Spec, Text
from workloads import DoesNotFitError, SpecError


class Datapath(enum.Enum):
    """What the GEMM engine computes in."""

    QUANTIZED = "quantized"
    """Integer DSP array plus LUT array (fixed-point, power-of-two, multi-precision rows)."""
    FLOAT32 = "float32"
    """The float32 baseline: fp32 multiply-add lanes on DSP slices (no LUT array)."""


class LutPe(enum.Enum):
    """The processing element of the LUT array."""

    NONE = "none"
    """No LUT array: fixed-point only on DSPs."""
    POWER_OF_TWO = "power_of_two"
    """Shift-add PEs for power-of-two rows (mixed-scheme quantization)."""
    FIXED = "fixed"
    """LUT fixed-point multipliers for low-bit rows (intra-layer multi-precision)."""


class LoopOrder(enum.Enum):
    """The outer loop of a GEMM's tiling; decides which operand DDR re-reads."""

    WEIGHT_STATIONARY = "weight_stationary"
    """Row tiles outermost: each row tile's weights are read once; the input is re-read per
    row tile unless it fits the input buffer."""
    INPUT_STATIONARY = "input_stationary"
    """Input tiles outermost: each input tile is read once; weights are re-read per input
    tile unless they fit the weight buffer."""
    BEST = "best"
    """Per layer, whichever moves fewer bytes (a compiler's choice)."""


def _cross_field(message: str, **context) -> PydanticCustomError:
    """A cross-field problem, reported by the loader as `KEY: expected MESSAGE, got VALUE`."""
    return PydanticCustomError("cross_field", message, context)


Bits = Annotated[int, Field(ge=2, le=16)]
"""An operand width the arrays are built for, 2..16 bits."""
Rows = Annotated[int, Field(ge=1, le=100_000)]


class AcceleratorSpec(Spec):
    """A GEMM/conv engine design, sized onto a part by `allocate`."""

    source: Text | None = None
    """Where the design's numbers come from; None for a design made in code (presets have one)."""
    datapath: Datapath = Datapath.QUANTIZED
    """What the GEMM engine computes in: quantized arrays or the float32 baseline."""
    lut_pe: LutPe = LutPe.POWER_OF_TWO
    """The processing element of the LUT array (none, power-of-two shift-add, fixed point)."""
    weight_bits: Bits = 4
    """Weight bits the arrays are built for (power-of-two codes and low-bit fixed-point)."""
    act_bits: Bits = 8
    """Activation bits the arrays are built for."""
    lut_row_ratio: Ratio = 0.5
    """Share of each layer's rows the design is sized to put on the LUT array (0 without one)."""
    cols: Annotated[int, Field(ge=1, le=256)] = 16
    """Reduction lanes per row (Tn): products summed per row per cycle."""
    depthwise_taps: Annotated[int, Field(ge=1, le=256)] | None = None
    """Lanes per row a depthwise convolution uses (a kernel window of up to this many taps per
    beat, capped at cols); None: no depthwise mapping, a depthwise conv runs one channel
    (group) at a time.
    With it the DSP array's rows take different channels: each row reads its own channel's
    window from an input buffer banked by channel (rows x depthwise_taps activations a cycle),
    and the packing of two weights per DSP slice does not apply (it shares the activation)."""
    dsp_rows: Rows | None = None
    """Rows of the DSP array (Tm of fixed-point rows); None: the allocator sizes it."""
    lut_rows: Rows | None = None
    """Rows of the LUT array; None: the allocator sizes it (none without a LUT array)."""
    dsp_packing: bool = True
    """Pack several low-bit multiplies into one DSP slice (WP486 layout, see resources.py)."""
    acc_bits: Annotated[int, Field(ge=8, le=48)] = 32
    """Accumulator width of every row."""
    clock_hz: PositiveFloat | None = None
    """Accelerator clock; None: the part's max_clock_hz (a higher clock is refused)."""
    max_dsp_ratio: Fraction = 0.9
    """Fraction of the part's DSP slices the design may use."""
    max_lut_ratio: Fraction = 0.75
    """Fraction of LUTs the design may use (above ~75-80 % timing rarely closes; Assumed)."""
    max_ff_ratio: Fraction = 0.9
    """Fraction of the part's flip-flops the design may use."""
    max_bram_ratio: Fraction = 0.9
    """Fraction of the part's BRAM36 the design may use."""
    control_luts: NonNegativeInt = 8000
    """LUTs of the AXI DMA, interconnect and controller (Assumed: a few thousand each)."""
    control_ffs: NonNegativeInt = 10000
    """Flip-flops of the AXI DMA, interconnect and controller (Assumed)."""
    vector_lanes: Annotated[int, Field(ge=1, le=4096)] | None = None
    """Vector-unit lanes (softmax, norms, GELU, pooling, adds); None: ~2.5 % of the DSP budget."""
    vector_lane_luts: NonNegativeInt = 300
    """LUTs per vector lane: piecewise-linear exp/GELU, a divider share, a comparator (Assumed)."""
    vector_lane_dsps: NonNegativeInt = 1
    """DSP slices per vector lane (the scale multiply)."""
    weight_buffer_bytes: PositiveInt | None = None
    """On-chip weight buffer per half of the double buffer; None: a quarter of the BRAM budget."""
    input_buffer_bytes: PositiveInt | None = None
    """Input buffer per half; None: a quarter of the BRAM budget."""
    output_buffer_bytes: PositiveInt | None = None
    """Output buffer per half; None: a tenth of the BRAM budget."""
    loop_order: LoopOrder = LoopOrder.BEST
    """The outer loop of each GEMM's tiling (decides which operand DDR re-reads)."""
    layer_overhead_cycles: NonNegativeInt = 500
    """Cycles to configure a layer (DMA descriptors, controller registers; Assumed)."""
    fp32_mul_dsp: NonNegativeInt = 3
    """DSP slices per fp32 multiplier (PG060 'max usage', the HLS default for fmul)."""
    fp32_add_dsp: NonNegativeInt = 2
    """DSP slices per fp32 adder (PG060 'full usage', the HLS default for fadd)."""
    fp32_lane_luts: NonNegativeInt = 450
    """LUTs per fp32 multiply-add lane beside its DSPs (normalise/round logic; Assumed)."""
    fp32_lane_ffs: NonNegativeInt = 600
    """Flip-flops per fp32 multiply-add lane (Assumed, as fp32_lane_luts)."""

    @field_validator("lut_rows")
    @classmethod
    def _lut_rows_need_a_lut_array(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is None:
            return value
        if info.data.get("datapath") is Datapath.FLOAT32:
            raise _cross_field("null (the float32 datapath has no LUT array)")
        if info.data.get("lut_pe") is LutPe.NONE:
            raise _cross_field("null without a LUT array (lut_pe 'none')")
        return value

    @field_validator("fp32_add_dsp")
    @classmethod
    def _fp32_lane_needs_dsps(cls, value: int, info: ValidationInfo) -> int:
        if (info.data.get("datapath") is Datapath.FLOAT32 and value == 0
                and info.data.get("fp32_mul_dsp") == 0):
            raise _cross_field("an fp32 lane with DSP slices (fp32_mul_dsp + fp32_add_dsp >= 1)")
        return value

    @property
    def depthwise_lanes(self) -> int | None:
        """Lanes a row gives a depthwise window: depthwise_taps capped at cols (None: no mapping)."""
        return None if self.depthwise_taps is None else min(self.depthwise_taps, self.cols)

    @property
    def has_lut_array(self) -> bool:
        return self.datapath is Datapath.QUANTIZED and self.lut_pe is not LutPe.NONE

    @property
    def lut_row_kind(self) -> RowKind:
        return RowKind.POWER_OF_TWO if self.lut_pe is LutPe.POWER_OF_TWO else RowKind.FIXED


@dataclass(frozen=True)
class Design:
    """An allocated accelerator: array sizes, clock, packing and resources used."""

    part: FpgaPartSpec
    spec: AcceleratorSpec
    """The design with its None clock, buffers and vector lanes resolved for the part."""
    clock_hz: float
    dsp_rows: int
    """Rows of the DSP array (fp32 lanes / cols for the float32 datapath)."""
    lut_rows: int
    design_pack: int
    """Multiplies per DSP slice at the design's weight x activation bits."""
    dsp_slices_array: int
    """DSP slices of the GEMM array."""
    usage: ResourceUsage
    """Total resources, with a breakdown by component."""
    array_luts: tuple[int, int]
    """(LUTs of the DSP rows, LUTs of the LUT rows), for the power model."""
    array_ffs: tuple[int, int]
    buffer_bram36: int

    @property
    def cols(self) -> int:
        return self.spec.cols

    @property
    def peak_macs_per_cycle(self) -> int:
        return (self.dsp_rows + self.lut_rows) * self.spec.cols

    def dsp_rows_at(self, weight_bits: int, act_bits: int) -> int:
        """Effective DSP rows for rows of `weight_bits` x `act_bits` (fewer when the design's
        packing does not hold at these widths; 0 if they do not fit the slice at all)."""
        if self.spec.datapath is Datapath.FLOAT32:
            return self.dsp_rows
        prim = self.part.dsp_primitive
        pack = packing_factor(prim, weight_bits, act_bits) if self.spec.dsp_packing else 1
        slices = dsp_per_lane(prim, weight_bits, act_bits, packing=self.spec.dsp_packing)
        if slices > 1:  # wider than one slice: a lane needs several slices
            return self.dsp_rows // (int(slices) * self.design_pack)
        return self.dsp_rows * min(pack, self.design_pack) // self.design_pack

    def depthwise_rows_at(self, weight_bits: int, act_bits: int) -> int:
        """Channels a depthwise conv at these widths runs in parallel on the DSP array (0 when
        the design has no depthwise mapping or the widths fit no slice). Packed rows share one
        activation, which depthwise channels do not: each physical row takes one channel."""
        if self.spec.depthwise_taps is None:
            return 0
        if self.spec.datapath is Datapath.FLOAT32:
            return self.dsp_rows
        return min(self.dsp_rows_at(weight_bits, act_bits), self.dsp_rows // self.design_pack)

    def lut_rows_at(self, weight_bits: int, act_bits: int) -> int:
        """LUT rows usable by rows of these widths (0 when wider than the LUT PEs are built)."""
        if weight_bits > self.spec.weight_bits or act_bits > self.spec.act_bits:
            return 0
        return self.lut_rows


def _check_fit(part: FpgaPartSpec, spec: AcceleratorSpec, usage: ResourceUsage, name: str) -> None:
    limits = (
        ("DSP slices", usage.n_dsp, part.n_dsp, spec.max_dsp_ratio),
        ("LUTs", usage.n_lut, part.n_lut, spec.max_lut_ratio),
        ("flip-flops", usage.n_ff, part.n_ff, spec.max_ff_ratio),
        ("BRAM36", usage.n_bram36, part.n_bram36, spec.max_bram_ratio),
    )
    for what, need, total, cap in limits:
        budget = math.floor(total * cap)
        if need > budget:
            over = need - budget
            raise DoesNotFitError(
                f"design {name!r} does not fit {part.name} ({part.board}): {what} needed "
                f"{need:,} > {budget:,} available ({cap:.0%} of {total:,}), over by {over:,} "
                f"({over / budget:.1%}); shrink the arrays, cols or buffers"
            )


def _buffers(part: FpgaPartSpec, spec: AcceleratorSpec, dsp_rows: int, lut_rows: int,
             weight_bits: int, pack: int = 1) -> int:
    rows = dsp_rows + lut_rows
    input_width = spec.cols * spec.act_bits
    if spec.depthwise_taps is not None:
        # Banked by channel, the input buffer feeds each physical DSP row its own window.
        input_width = max(input_width, max(1, dsp_rows // pack) * spec.depthwise_lanes
                          * spec.act_bits)
    return (buffer_bram36(spec.weight_buffer_bytes, rows * spec.cols * weight_bits)
            + buffer_bram36(spec.input_buffer_bytes, input_width)
            + buffer_bram36(spec.output_buffer_bytes, rows * spec.act_bits))


AUTO_BUFFER_SHARES = {"weight_buffer_bytes": 0.25, "input_buffer_bytes": 0.25,
                      "output_buffer_bytes": 0.10}
"""Fractions of the BRAM budget the automatic buffers get (each double-buffered in it)."""
AUTO_VECTOR_DSP_SHARE = 0.025


def _resolve_auto(part: FpgaPartSpec, spec: AcceleratorSpec) -> AcceleratorSpec:
    """`spec` with its automatic fields (the None clock, buffers, vector lanes) set for `part`.

    The row counts stay as given (None: sized by `allocate`, which records them in `Design`).
    """
    changes: dict = {}
    if spec.clock_hz is None:
        changes["clock_hz"] = part.max_clock_hz
    budget = math.floor(part.n_bram36 * spec.max_bram_ratio)
    for field_name, share in AUTO_BUFFER_SHARES.items():
        if getattr(spec, field_name) is None:
            changes[field_name] = int(share * budget) * BRAM36_BITS // 8 // 2
    if spec.vector_lanes is None:
        lanes = AUTO_VECTOR_DSP_SHARE * part.n_dsp * spec.max_dsp_ratio
        changes["vector_lanes"] = max(4, 2 ** round(math.log2(max(lanes, 1))))
    # The values are computed, in range by construction: no need to validate them again.
    return spec.model_copy(update=changes)


def _fit_bram(part: FpgaPartSpec, spec: AcceleratorSpec, dsp_rows: int, lut_rows: int,
              weight_bits: int, pack: int) -> tuple[int, int]:
    """Scale both arrays down together until their buffers fit the BRAM budget."""
    budget = math.floor(part.n_bram36 * spec.max_bram_ratio)
    total = dsp_rows + lut_rows
    while total and _buffers(part, spec, dsp_rows, lut_rows, weight_bits, pack) > budget:
        scale = 0.98
        dsp_rows, lut_rows = int(dsp_rows * scale), int(lut_rows * scale)
        total = dsp_rows + lut_rows
    return dsp_rows, lut_rows


def allocate(part: FpgaPartSpec, spec: AcceleratorSpec, *, name: str | None = None) -> Design:
    """Size the arrays of `spec` on `part`; DoesNotFitError if the design cannot fit.

    `name` names the design in errors (None: 'fpga-<part>'). Raises SpecError when the clock
    exceeds the part's max_clock_hz.
    """
    name = name or f"fpga-{part.name}"
    spec = _resolve_auto(part, spec)
    clock = spec.clock_hz
    if clock > part.max_clock_hz:
        raise SpecError(
            f"design {name!r}: clock {clock / 1e6:g} MHz exceeds {part.name}'s "
            f"{part.max_clock_hz / 1e6:g} MHz for this kind of design"
        )
    prim, cols = part.dsp_primitive, spec.cols
    vector = ResourceUsage.of("vector", dsp=spec.vector_lanes * spec.vector_lane_dsps,
                              lut=spec.vector_lanes * spec.vector_lane_luts,
                              ff=spec.vector_lanes * spec.vector_lane_luts)
    control = ResourceUsage.of("control", lut=spec.control_luts, ff=spec.control_ffs)
    fixed_cost = vector + control
    dsp_budget = math.floor(part.n_dsp * spec.max_dsp_ratio) - fixed_cost.n_dsp
    lut_budget = math.floor(part.n_lut * spec.max_lut_ratio) - fixed_cost.n_lut

    if spec.datapath is Datapath.FLOAT32:
        lane_dsp = spec.fp32_mul_dsp + spec.fp32_add_dsp
        ff_budget = math.floor(part.n_ff * spec.max_ff_ratio) - fixed_cost.n_ff
        rows = spec.dsp_rows if spec.dsp_rows is not None else max(0, min(
            dsp_budget // (lane_dsp * cols), lut_budget // max(1, spec.fp32_lane_luts * cols),
            ff_budget // max(1, spec.fp32_lane_ffs * cols)))
        if rows < 1:
            raise DoesNotFitError(
                f"design {name!r} does not fit {part.name}: not one row of {cols} fp32 lanes "
                f"({lane_dsp * cols} DSP, {spec.fp32_lane_luts * cols} LUT) fits the budget"
            )
        array = ResourceUsage.of("fp32_array", dsp=rows * cols * lane_dsp,
                                 lut=rows * cols * spec.fp32_lane_luts,
                                 ff=rows * cols * spec.fp32_lane_ffs)
        bram = _buffers(part, spec, rows, 0, 32)
        usage = fixed_cost + array + ResourceUsage.of("buffers", bram=bram)
        _check_fit(part, spec, usage, name)
        return Design(part=part, spec=spec, clock_hz=clock, dsp_rows=rows, lut_rows=0,
                      design_pack=1, dsp_slices_array=array.n_dsp, usage=usage,
                      array_luts=(array.n_lut, 0), array_ffs=(array.n_ff, 0),
                      buffer_bram36=bram)

    w, a = spec.weight_bits, spec.act_bits
    pack = packing_factor(prim, w, a) if spec.dsp_packing else 1
    dsp_row = row_resources(RowKind.FIXED, cols=cols, weight_bits=w, act_bits=a,
                            acc_bits=spec.acc_bits, primitive=prim, on_dsp=True,
                            packing=spec.dsp_packing)
    dsp_rows = spec.dsp_rows or 0
    if spec.dsp_rows is None and spec.lut_row_ratio < 1:
        dsp_rows = max(0, dsp_budget // max(1, dsp_row.n_dsp))
    lut_rows = spec.lut_rows or 0
    lut_row = None
    if spec.has_lut_array:
        lut_row = row_resources(spec.lut_row_kind, cols=cols, weight_bits=w, act_bits=a,
                                acc_bits=spec.acc_bits, primitive=prim, on_dsp=False,
                                packing=False)
        if spec.lut_rows is None and spec.lut_row_ratio > 0:
            room = lut_budget - dsp_rows * dsp_row.n_lut
            cap = max(0, room // lut_row.n_lut)
            if spec.lut_row_ratio >= 1:
                lut_rows = cap
            else:
                wanted = math.ceil(dsp_rows * spec.lut_row_ratio / (1 - spec.lut_row_ratio))
                lut_rows = min(cap, wanted)
    if spec.dsp_rows is None and spec.lut_rows is None:
        # The weight buffer feeds rows x cols weights per cycle: BRAM ports can bound the rows.
        dsp_rows, lut_rows = _fit_bram(part, spec, dsp_rows, lut_rows, w, pack)
    if dsp_rows + lut_rows < 1:
        raise DoesNotFitError(
            f"design {name!r} does not fit {part.name}: no row of {cols} lanes fits the DSP "
            f"budget ({dsp_budget}) or the LUT budget ({lut_budget})"
        )
    dsp_part = ResourceUsage.of("dsp_array", dsp=dsp_rows * dsp_row.n_dsp,
                                lut=dsp_rows * dsp_row.n_lut, ff=dsp_rows * dsp_row.n_ff)
    lut_part = ResourceUsage()
    if lut_row is not None and lut_rows:
        lut_part = ResourceUsage.of("lut_array", lut=lut_rows * lut_row.n_lut,
                                    ff=lut_rows * lut_row.n_ff)
    bram = _buffers(part, spec, dsp_rows, lut_rows, w, pack)
    usage = fixed_cost + dsp_part + lut_part + ResourceUsage.of("buffers", bram=bram)
    _check_fit(part, spec, usage, name)
    return Design(part=part, spec=spec, clock_hz=clock, dsp_rows=dsp_rows, lut_rows=lut_rows,
                  design_pack=pack, dsp_slices_array=dsp_part.n_dsp, usage=usage,
                  array_luts=(dsp_part.n_lut, lut_part.n_lut),
                  array_ffs=(dsp_part.n_ff, lut_part.n_ff), buffer_bram36=bram)


def lut_lane_luts(spec: AcceleratorSpec) -> int:
    """LUTs of one LUT-array lane's product (for reports)."""
    if spec.lut_pe is LutPe.POWER_OF_TWO:
        return pot_lane_luts(spec.weight_bits, spec.act_bits)
    return lut_multiplier_luts(spec.weight_bits, spec.act_bits)


__all__ = ["AcceleratorSpec", "Datapath", "Design", "LoopOrder", "LutPe", "allocate",
           "lut_lane_luts", "requantize_luts"]
