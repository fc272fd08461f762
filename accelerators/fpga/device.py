"""The FPGA accelerator as a `sim.Device`: pure per-op costs on its engines.

Engines: 'dsp_array' (fixed-point rows on DSP slices, or fp32 lanes for the float32 baseline),
'lut_array' (power-of-two or low-bit rows on LUTs), 'vector' (softmax, norms, GELU, pooling,
residual adds on LUTs), 'ddr' (the DMA: weights prefetched one op ahead, activations streamed
beside compute; the engine overlaps both with the arrays). One target, 'fpga'.

Per conv/linear/matmul (`workloads.gemm.gemm_of`: groups x (m x k) @ (k x n)), the n weight-matrix rows
(output channels) are split between the two arrays by scheme, each pass streaming the m output
positions: power-of-two rows can run on the LUT array or as ordinary multiplies on the DSPs; fixed-point rows run on the DSPs (or on LUT fixed-point multipliers when the LUT array has
them); high-precision rows of a multi-precision layer run on the DSPs at the packing their width
allows; activation x activation matmuls (attention) and float layers run on the DSPs (floats
deploy as 16-bit fixed point on the quantized datapath). The split minimises the slower array's
passes, both arrays work concurrently (one stage, two phases), and each array's time is
`timing.tile_cycles` over its passes. A depthwise conv on a design with `depthwise_taps` puts
one channel on each physical DSP row (packing lost: packed multiplies share an activation) and
its kernel window on `depthwise_lanes` of the row's lanes. Elementwise ops fused behind a GEMM
run in the rows' output stage (one op per row per cycle, on the 'vector' track); standalone ones
(softmax, layer norm, pooling) on the vector unit. Block- and pattern-pruned weights shorten the reduction
by the kept fraction (the pruned column blocks are skipped, GRIM-style); unstructured sparsity
is computed dense (the array cannot skip scattered zeros) but moves compressed weights.

DDR traffic follows the loop order (see `LoopOrder`); energy is the part's XPE-style dynamic
power of the resources each engine uses times its busy time, plus DRAM energy per byte; the
part's static power is the 'dsp_array' engine's static power, and the processing system (the
Arm cores kept on beside the fabric) is an idle 'ps' engine whose power is booked as 'host'.
`energy_detail_j` gives the resource-level detail ('dsp', 'array_logic', 'control', 'vector',
'bram', 'dram') that the components sum. Float ops on the quantized datapath report 'w16a16' as
their executed precision (the float32 baseline design runs them as floats). An embedding reads
only the rows it looks up (`Op.weight_bytes_read`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from accelerators.fpga.accelerator import Datapath, Design, LoopOrder, LutPe
from accelerators.fpga.rtl.tile import pot_max_shift
from accelerators.fpga.timing import tile_cycles
from sim.device import (BoundBy, Cost, EngineKind, EngineSpec, MemoryLevel, Phase, PhaseLabel,
                        SpecNamed, cost_memo, memoized)
from sim.energy import EnergyComponent, EnergyMethod, EnergyModel, account
from workloads import DoesNotFitError, Op, OpKind, QuantScheme, SparsityScheme
from workloads.gemm import Gemm, gemm_of

if TYPE_CHECKING:
    from accelerators.fpga.factories import FpgaSpec

TARGET = "fpga"
MATRIX_KINDS = frozenset({OpKind.CONV2D, OpKind.LINEAR, OpKind.MATMUL})
MOVE_KINDS = frozenset({OpKind.CONCAT, OpKind.RESHAPE, OpKind.TRANSPOSE, OpKind.UPSAMPLE,
                        OpKind.PIXEL_SHUFFLE, OpKind.EMBEDDING})
"""Pure data movement through the DMA (bilinear upsampling also uses the vector unit)."""
UNSUPPORTED_KINDS = frozenset({OpKind.SPARSE_CONV3D, OpKind.FPS, OpKind.KNN, OpKind.BALL_QUERY,
                               OpKind.GATHER, OpKind.SCATTER})
"""Point-cloud kinds: the engine has no gather, neighbour-search or sparse-conv hardware."""
SUPPORTED_KINDS = frozenset(OpKind) - UNSUPPORTED_KINDS
FLOAT_AS_FIXED_BITS = 16
"""Float layers on the quantized datapath run as 16-bit fixed point."""
COMPONENT_OF = {
    "dsp": EnergyComponent.MAC, "array_logic": EnergyComponent.MAC,
    # Control logic sequences the arrays; it is on whenever they are and belongs to compute.
    "control": EnergyComponent.MAC, "vector": EnergyComponent.VECTOR,
    "bram": EnergyComponent.ON_CHIP, "dram": EnergyComponent.OFF_CHIP,
}
"""Resource-level energy detail -> the shared vocabulary."""


@dataclass(frozen=True, slots=True)
class GemmPlan:
    """How one GEMM op maps onto the arrays (for tests and reports)."""

    gemm: Gemm
    k_eff: int
    """Reduction length after skipping pruned blocks."""
    dsp_passes: int
    """Row passes of the DSP array (each over all positions and batches)."""
    lut_passes: int
    dsp_cycles: int
    lut_cycles: int
    lut_rows_assigned: int
    """Weight-matrix rows the LUT array computes."""
    depthwise: bool = False
    """Mapped by the depthwise mapping: channels across the DSP rows, `depthwise_taps` lanes a
    row (each pass reads its own channels, so no input is read twice)."""
    dsp_active_ratio: float = 1.0
    """Share of the DSP array's lanes the op keeps busy (below 1 for depthwise windows)."""


@dataclass(frozen=True, slots=True)
class _RowClass:
    n_rows: int
    dsp_rows: int
    """Effective DSP rows for this class (0: cannot run on the DSPs)."""
    lut_ok: bool


@dataclass(frozen=True)
class FpgaDevice(SpecNamed):
    """A `sim.Device` for an allocated `Design` (`factories.build` makes one from its spec)."""

    design: Design
    """The spec's design allocated on its part."""
    spec: FpgaSpec
    """The declarative spec the design was allocated from (`edgesim device show`)."""
    targets: tuple[str, ...] = field(default=(TARGET,))
    _cache: dict = cost_memo()
    """Per-instance memo of pure costs (and their per-resource energy) by op: sweeps re-price
    the same ops."""

    @property
    def description(self) -> str:
        d, s = self.design, self.design.spec
        if s.datapath is Datapath.FLOAT32:
            arrays = f"{d.dsp_rows}x{s.cols} fp32 lanes"
        else:
            arrays = f"{d.dsp_rows}x{s.cols} DSP rows (x{d.design_pack} packed)"
            if d.lut_rows:
                arrays += f" + {d.lut_rows}x{s.cols} {s.lut_pe.value} LUT rows"
            arrays += f", w{s.weight_bits}a{s.act_bits}"
        return f"{d.part.board} {d.part.name}: {arrays} at {d.clock_hz / 1e6:g} MHz"

    @cached_property
    def engines(self) -> tuple[EngineSpec, ...]:
        part = self.design.part
        return (
            EngineSpec(name="dsp_array", static_power_w=part.static_power_w),
            EngineSpec(name="lut_array"),
            EngineSpec(name="vector"),
            EngineSpec(name="ddr", kind=EngineKind.DMA),
            EngineSpec(name="ps", static_power_w=part.ps_power_w,
                       static_component=EnergyComponent.HOST),
        )

    @cached_property
    def energy_model(self) -> EnergyModel:
        """Both: XPE-style resource power x busy time, DDR bytes x pJ/byte."""
        part = self.design.part
        return EnergyModel(
            method=EnergyMethod.BOTH,
            detail=("DSP, LUT/FF, BRAM dynamic power (XPE-style per resource and MHz) x each "
                    "engine's busy time; DDR bytes x pJ/byte; part static power; PS power as host"),
            assumed=(f"static {part.static_power_w:g} W and PS {part.ps_power_w:g} W "
                     "(see the part preset's source)"),
        )

    def unit_text(self, target: str) -> str:
        """The design (arrays, widths) and its clock."""
        return f"{target}: {self.description}"

    def supported_kinds(self, target: str) -> frozenset[OpKind]:
        return SUPPORTED_KINDS

    # --- GEMM mapping ---------------------------------------------------------------------------

    def _row_classes(self, op: Op, gemm: Gemm) -> list[_RowClass]:
        d, s = self.design, self.design.spec
        comp = op.anchor.compression
        m = gemm.n  # the weight matrix's rows (output channels) are what the arrays split
        a = comp.activation_bits
        if s.datapath is Datapath.FLOAT32:
            return [_RowClass(m, d.dsp_rows, False)]
        if op.anchor.kind is OpKind.MATMUL:  # activation x activation, fixed point
            bits = FLOAT_AS_FIXED_BITS if comp.is_float else a
            return [_RowClass(m, d.dsp_rows_at(bits, bits), False)]
        if comp.is_float:
            bits = FLOAT_AS_FIXED_BITS
            return [_RowClass(m, d.dsp_rows_at(bits, bits), False)]
        w, q = comp.weight_bits, comp.quant
        pot_lut = s.lut_pe is LutPe.POWER_OF_TWO and d.lut_rows_at(w, a) > 0
        fixed_lut = s.lut_pe is LutPe.FIXED and d.lut_rows_at(w, a) > 0
        # A power-of-two weight as a DSP operand needs its largest magnitude's bits plus sign.
        pot_dsp = d.dsp_rows_at(pot_max_shift(w) + 2, a)
        if q is QuantScheme.FIXED:
            return [_RowClass(m, d.dsp_rows_at(w, a), fixed_lut)]
        if q is QuantScheme.POWER_OF_TWO:
            return [_RowClass(m, pot_dsp, pot_lut)]
        if q is QuantScheme.MIXED:
            n_pot = round(m * comp.pot_ratio)
            return [_RowClass(n_pot, pot_dsp, pot_lut),
                    _RowClass(m - n_pot, d.dsp_rows_at(w, a), fixed_lut)]
        # MULTI_PRECISION: the high rows are fixed point at high_bits.
        n_high = round(m * comp.high_ratio)
        high_lut = s.lut_pe is LutPe.FIXED and d.lut_rows_at(comp.high_bits, a) > 0
        return [_RowClass(m - n_high, d.dsp_rows_at(w, a), fixed_lut),
                _RowClass(n_high, d.dsp_rows_at(comp.high_bits, a), high_lut)]

    def _depthwise_bits(self, op: Op) -> tuple[int, int]:
        """(weight, activation) operand widths of a depthwise conv on the DSP rows: its widest
        row class, as `_row_classes` sizes them."""
        comp = op.compression
        if comp.is_float:
            return FLOAT_AS_FIXED_BITS, FLOAT_AS_FIXED_BITS
        w, a, q = comp.weight_bits, comp.activation_bits, comp.quant
        pot = pot_max_shift(w) + 2
        widest = {QuantScheme.FIXED: w, QuantScheme.POWER_OF_TWO: pot,
                  QuantScheme.MIXED: max(w, pot)}.get(q, max(w, comp.high_bits or w))
        return widest, a

    def _depthwise_plan(self, op: Op, gemm: Gemm, k_eff: int) -> GemmPlan:
        """Channels across the DSP rows, each row a kernel window on `depthwise_lanes` lanes:
        ceil(channels / rows) passes over every output position, ceil(k / taps) beats each."""
        d, taps = self.design, self.design.spec.depthwise_lanes
        rows = d.depthwise_rows_at(*self._depthwise_bits(op))
        if rows < 1:
            raise DoesNotFitError(f"op {op.name!r}: its depthwise weights fit no DSP row of "
                                  f"{self.name}")
        passes = -(-gemm.groups // rows)
        cycles = tile_cycles(rows, taps, k_eff, passes * gemm.m)
        used = min(rows, gemm.groups) * min(taps, k_eff)
        lanes = max(1, d.dsp_rows * d.cols // max(1, d.design_pack))
        return GemmPlan(gemm=gemm, k_eff=k_eff, dsp_passes=passes, lut_passes=0,
                        dsp_cycles=cycles, lut_cycles=0, lut_rows_assigned=0, depthwise=True,
                        dsp_active_ratio=min(1.0, used / lanes))

    def gemm_plan(self, op: Op) -> GemmPlan:
        """The row split and cycles of a conv/linear/matmul (or a fused op anchored on one).

        A depthwise conv (one output channel per group) on a design with `depthwise_taps`
        takes the depthwise mapping (`_depthwise_plan`); without it, one group at a time.
        Raises DoesNotFitError when some rows fit neither array (e.g. wider than both).
        """
        anchor = op.anchor
        gemm = gemm_of(anchor)
        d = self.design
        comp = anchor.compression
        k_eff = gemm.k
        if comp.sparsity in (SparsityScheme.BLOCK, SparsityScheme.PATTERN):
            k_eff = max(1, math.ceil(gemm.k * comp.density))
        if (anchor.kind is OpKind.CONV2D and gemm.n == 1 and gemm.groups > 1
                and d.spec.depthwise_taps is not None):
            return self._depthwise_plan(anchor, gemm, k_eff)
        classes = [c for c in self._row_classes(anchor, gemm) if c.n_rows]
        lut_rows = d.lut_rows
        # Rows that need the same effective DSP rows share DSP passes.
        groups: dict[int, int] = {}
        flexible = None
        for c in classes:
            if c.lut_ok and lut_rows:
                flexible = c
            elif c.dsp_rows:
                groups[c.dsp_rows] = groups.get(c.dsp_rows, 0) + c.n_rows
            else:
                raise DoesNotFitError(
                    f"op {anchor.name!r}: {c.n_rows} rows at its bit-widths fit neither the "
                    f"DSP array nor the LUT array of {self.name}"
                )
        lut_passes = assigned = 0
        if flexible is None:
            dsp_passes = sum(-(-n // eff) for eff, n in groups.items())
        else:
            # Try every LUT pass count; the rest of the flexible rows go to the DSPs.
            e, f = flexible.n_rows, flexible.dsp_rows
            other = sum(-(-n // eff) for eff, n in groups.items() if eff != f)
            shared = groups.get(f, 0)
            j = np.arange(0, -(-e // lut_rows) + 1)
            on_lut = np.minimum(e, j * lut_rows)
            rest = shared + e - on_lut
            if f:
                dsp = other + -(-rest // f)
            else:
                dsp = np.where(rest > 0, np.iinfo(np.int64).max, other)
            best = int(np.argmin(np.maximum(dsp, j)))
            lut_passes, dsp_passes, assigned = int(j[best]), int(dsp[best]), int(on_lut[best])
        per_pass = gemm.m * gemm.groups
        dsp_cycles = tile_cycles(max(1, d.dsp_rows), d.cols, k_eff, dsp_passes * per_pass)
        lut_cycles = tile_cycles(max(1, lut_rows), d.cols, k_eff, lut_passes * per_pass)
        return GemmPlan(gemm=gemm, k_eff=k_eff, dsp_passes=dsp_passes, lut_passes=lut_passes,
                        dsp_cycles=dsp_cycles, lut_cycles=lut_cycles,
                        lut_rows_assigned=assigned)

    # --- costs ----------------------------------------------------------------------------------

    def _traffic(self, op: Op, plan: GemmPlan | None) -> tuple[int, int]:
        """(weight bytes prefetched before the op, bytes streamed during it) over DDR."""
        s = self.design.spec
        anchor = op.anchor
        if plan is None:
            return 0, op.input_bytes_read + op.output_bytes + op.weight_bytes_read
        if anchor.kind is OpKind.MATMUL:
            weights = anchor.input_bytes_of(1)
            inputs = op.input_bytes - weights
            prefetchable = 0
        else:
            weights = op.weight_bytes
            inputs = op.input_bytes
            prefetchable = min(weights, s.weight_buffer_bytes)
        # Depthwise passes read disjoint channels: the input is read once whatever the order.
        passes = 1 if plan.depthwise else max(plan.dsp_passes, plan.lut_passes, 1)
        ws_in = inputs if inputs <= s.input_buffer_bytes else inputs * passes
        weight_stationary = weights + ws_in
        in_tiles = max(1, -(-inputs // max(1, s.input_buffer_bytes)))
        is_w = weights if weights <= s.weight_buffer_bytes else weights * in_tiles
        input_stationary = is_w + inputs
        if s.loop_order is LoopOrder.WEIGHT_STATIONARY:
            moved = weight_stationary
        elif s.loop_order is LoopOrder.INPUT_STATIONARY:
            moved = input_stationary
        else:
            moved = min(weight_stationary, input_stationary)
        return prefetchable, moved + op.output_bytes - prefetchable

    def cost(self, op: Op, target: str = TARGET) -> Cost:
        """The pure cost of `op`; DoesNotFitError when some of its rows fit no array."""
        return self._price(op)[0]

    def energy_detail_j(self, op: Op) -> dict[str, float]:
        """Dynamic energy of `op` per resource ('dsp', 'array_logic', 'control', 'vector',
        'bram', 'dram'), J; `cost(op).energy_j` is this summed by `COMPONENT_OF`."""
        return dict(self._price(op)[1])  # a copy: the memo's dict stays as priced

    def _price(self, op: Op) -> tuple[Cost, dict[str, float]]:
        """The memoized `_price_uncached(op)` (the cost is the same on the one target)."""
        return memoized(self._cache, op, lambda: self._price_uncached(op))

    def _price_uncached(self, op: Op) -> tuple[Cost, dict[str, float]]:
        if op.is_free:
            return Cost(stages=(), bound_by=BoundBy.FREE), {}
        d, part, s = self.design, self.design.part, self.design.spec
        clock = d.clock_hz
        anchor = op.anchor
        plan = self.gemm_plan(op) if anchor.kind in MATRIX_KINDS else None
        overhead_s = s.layer_overhead_cycles / clock
        vector_ops = op.vector_ops
        lanes = s.vector_lanes
        if plan is not None and op.kind is OpKind.FUSED:
            # Elementwise ops fused behind a GEMM (bias, batch norm, activation, residual add)
            # run in the rows' output stage beside the requantizer: one op per row per cycle.
            lanes = max(1, d.dsp_rows + d.lut_rows)
        vector_s = -(-vector_ops // lanes) / clock if vector_ops else 0.0
        dsp_s = lut_s = 0.0
        if plan is not None:
            dsp_s = plan.dsp_cycles / clock + (overhead_s if plan.dsp_cycles else 0.0)
            lut_s = plan.lut_cycles / clock + (overhead_s if plan.lut_cycles else 0.0)
        elif vector_ops:
            vector_s += overhead_s
        prefetch_bytes, stream_bytes = self._traffic(op, plan)
        bw = part.ddr_sustained_bytes_per_s
        stream_s = stream_bytes / bw
        stage = []
        for engine, seconds, label in (("dsp_array", dsp_s, PhaseLabel.COMPUTE),
                                       ("lut_array", lut_s, PhaseLabel.COMPUTE),
                                       ("vector", vector_s, PhaseLabel.VECTOR),
                                       ("ddr", stream_s, PhaseLabel.ACTIVATIONS)):
            if seconds > 0:
                stage.append(Phase(engine, seconds, label))
        if not stage:
            stage.append(Phase("ddr", 0.0, PhaseLabel.ACTIVATIONS))
        prefetch = (Phase("ddr", prefetch_bytes / bw, PhaseLabel.WEIGHTS),) if prefetch_bytes else ()
        compute_s = max(dsp_s, lut_s, vector_s)
        busy_s = max(compute_s, stream_s)
        # Energy: XPE-style dynamic power of each engine's resources over its busy time.
        lut_dsp_rows, lut_lut_rows = d.array_luts
        ff_dsp_rows, ff_lut_rows = d.array_ffs
        vec = d.usage.breakdown.get("vector", (0, 0, 0, 0))
        ctl = d.usage.breakdown.get("control", (0, 0, 0, 0))
        power = part.dynamic_power_w
        # Idle lanes (a depthwise window on a few lanes of each row) do not toggle.
        active = plan.dsp_active_ratio if plan is not None else 1.0
        energy = {
            "dsp": power(clock_hz=clock, n_dsp=d.dsp_slices_array) * dsp_s * active,
            "array_logic": (power(clock_hz=clock, n_lut=lut_dsp_rows, n_ff=ff_dsp_rows)
                            * dsp_s * active
                            + power(clock_hz=clock, n_lut=lut_lut_rows, n_ff=ff_lut_rows) * lut_s),
            "control": power(clock_hz=clock, n_lut=ctl[1], n_ff=ctl[2]) * busy_s,
            "vector": power(clock_hz=clock, n_dsp=vec[0], n_lut=vec[1], n_ff=vec[2]) * vector_s,
            "bram": power(clock_hz=clock, n_bram36=d.buffer_bram36) * compute_s,
            "dram": (prefetch_bytes + stream_bytes) * part.ddr_pj_per_byte * 1e-12,
        }
        on_chip = 0
        if plan is not None:
            on_chip = op.input_bytes + op.output_bytes + op.weight_bytes
        bound = BoundBy.COMPUTE if compute_s >= stream_s else BoundBy.MEMORY
        if overhead_s >= 0.5 * busy_s and busy_s > 0:
            bound = BoundBy.OVERHEAD
        substitute = op.anchor.compression.is_float and s.datapath is not Datapath.FLOAT32
        peak = None
        if plan is not None:  # every array row at this op's widths, one MAC per column per cycle
            classes = self._row_classes(anchor, plan.gemm)
            rows = max(c.dsp_rows for c in classes) + (d.lut_rows if any(c.lut_ok for c in classes) else 0)
            peak = max(1, rows) * d.cols * clock
        cost = Cost(
            stages=(tuple(stage),),
            prefetch=prefetch,
            energy_j=account(energy, COMPONENT_OF),
            bytes_moved={MemoryLevel.DRAM: prefetch_bytes + stream_bytes, MemoryLevel.BRAM: on_chip},
            bound_by=bound,
            executed_precision=(f"w{FLOAT_AS_FIXED_BITS}a{FLOAT_AS_FIXED_BITS}"
                                if substitute else None),
            peak_macs_per_s=peak,
        )
        return cost, energy
