"""Cost model of a PIM crossbar chip as a `sim.Device`: stationary weights, ADC-dominated energy.

Engines:
- 'crossbars' (capacity = crossbars on the chip): a weighted layer holds one slot for its
  compute time; its own crossbars (weights are stationary, one set per layer) all work in
  parallel, so different layers never contend for crossbars, only for the slots' count;
- 'digital': the post-processing unit (batch norm, activations, pooling, residual adds);
- 'buffer' (DMA kind): the tile buffer moving activations in and out, beside compute;
- 'writer': cell programming, used only by matmul (its second operand is data, written into
  cells every inference) and, with on_overflow = reprogram, by every weighted layer.

Time of a crossbar op: read cycles x cycle time, where read cycles = input vectors x input slices
(ceil(input bits / DAC bits)) and the cycle time = max(crossbar read time, columns per ADC x ADC
conversion time) (the sample-and-hold lets the next read overlap the conversions).

Energy per component ('adc', 'dac', 'cell', 'shift_add', 'buffer', 'register', 'interconnect',
'digital', 'write'): counts from `accelerators.pim.mapping` times per-event energies of the preset.
ADC energy per conversion is Walden FOM x 2**adc_bits (`accelerators.pim.adc`). Float layers deploy
at the chip's default fixed-point widths; pruned (non-channel) weights still occupy dense cells.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from accelerators.pim.adc import AdcSpec, conversion_energy_j
from accelerators.pim.crossbar import CrossbarSpec, WeightEncoding
from accelerators.pim.mapping import MATRIX, LayerMapping, NetworkPlan, gemm_of, map_gemm, plan
from sim.device import Cost, EngineKind, EngineSpec, Phase
from sim.spec_legacy import load_preset
from workloads import DoesNotFitError, Network, Op, OpKind, SpecError, UnsupportedOpError
from workloads.compression import parse_enum

PRESETS = Path(__file__).parent / "presets"
DIGITAL_KINDS = frozenset({OpKind.ACTIVATION, OpKind.NORM, OpKind.POOL, OpKind.ADD, OpKind.MUL,
                           OpKind.RESHAPE})
"""Cheap kinds the digital unit runs (a reshape is free as a view, a buffer copy otherwise)."""
SUPPORTED = MATRIX | DIGITAL_KINDS | {OpKind.FUSED}


class OverflowPolicy(enum.Enum):
    """What a network whose weights exceed the crossbars gets."""

    RAISE = "raise"
    """DoesNotFitError (mapping.plan for a network; cost() for a single layer too large)."""
    REPROGRAM = "reprogram"
    """Time-multiplexed crossbars: every weighted layer writes its weights before it runs, each
    inference (a layer larger than the chip runs in rounds)."""


_POSITIVE = (
    "read_cycle_s", "adc_conversions_per_s", "adc_walden_fom_j", "dac_energy_j",
    "cell_read_energy_j", "shift_add_energy_j", "buffer_energy_j_per_byte",
    "register_energy_j_per_byte", "interconnect_energy_j_per_byte", "digital_ops_per_s",
    "digital_op_energy_j", "buffer_bytes_per_s", "write_energy_j_per_cell", "write_time_s_per_row",
    "node_nm",
)


@dataclass(frozen=True, kw_only=True)
class PimChipSpec:
    """A PIM chip: crossbar geometry and scheme, ADCs, per-event energies, digital unit. Frozen."""

    name: str
    description: str
    source: str
    """Where the numbers come from (paper, table); guesses are marked Assumed there."""
    node_nm: float
    """Process node of the cited design, nm (for the record; energies are the cited ones)."""
    rows: int
    """Word lines per crossbar."""
    cols: int
    """Bit lines per crossbar."""
    cell_bits: int
    """Bits per cell."""
    dac_bits: int
    """Input bits applied per read cycle (1 = bit-serial)."""
    encoding: WeightEncoding
    """How signed weights are stored."""
    n_crossbars: int
    """Crossbars on the chip."""
    adc_bits: int
    """Column ADC resolution."""
    adc_conversions_per_s: float
    """Conversion rate of one ADC."""
    adc_walden_fom_j: float
    """Walden figure of merit, J per conversion step: E_conv = FOM x 2**adc_bits."""
    cols_per_adc: int
    """Bit lines sharing one ADC (time-multiplexed)."""
    read_cycle_s: float
    """Crossbar read (drive, settle, sample-and-hold) time per input slice."""
    dac_energy_j: float
    """One 1-bit row-driver pulse, J; a d-bit DAC pulse costs (2**d - 1) times this."""
    cell_read_energy_j: float
    """One cell read in one cycle, J."""
    shift_add_energy_j: float
    """Digital shift-and-add per ADC conversion, J."""
    buffer_energy_j_per_byte: float
    """Tile buffer (eDRAM/SRAM) access per byte, J: unrolled inputs read, outputs written."""
    register_energy_j_per_byte: float
    """Input/output registers beside the crossbars per byte, J."""
    interconnect_energy_j_per_byte: float
    """On-chip network per byte of a layer's input and output, J."""
    digital_ops_per_s: float
    """Throughput of the digital unit (norm, activation, pool, add), element ops/s."""
    digital_op_energy_j: float
    """One digital element op, J."""
    buffer_bytes_per_s: float
    """Bandwidth of the buffer engine moving a layer's activations."""
    default_weight_bits: int = 16
    """Weight bits of float layers deployed on the chip."""
    default_input_bits: int = 16
    """Input bits of float layers deployed on the chip."""
    on_overflow: OverflowPolicy = OverflowPolicy.RAISE
    """What a layer or network larger than the crossbars gets."""
    write_energy_j_per_cell: float = 1e-12
    """Programming one cell, J (reprogramming and matmul's dynamic operand)."""
    write_time_s_per_row: float = 1e-6
    """Programming one crossbar row (crossbars write in parallel), s."""
    static_power_w: float = 0.0
    """Leakage and clocks, W."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "encoding", parse_enum(WeightEncoding, self.encoding, "encoding"))
        object.__setattr__(self, "on_overflow",
                           parse_enum(OverflowPolicy, self.on_overflow, "on_overflow"))
        for name in _POSITIVE:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v > 0):
                raise SpecError(f"{self.name}: {name!r} must be a finite number > 0 (got {v!r})")
        v = self.static_power_w
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v >= 0):
            raise SpecError(f"{self.name}: 'static_power_w' must be >= 0 (got {v!r})")
        for name, hi in (("n_crossbars", 10**9), ("cols_per_adc", 65536),
                         ("default_weight_bits", 16), ("default_input_bits", 16)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= hi:
                raise SpecError(f"{self.name}: {name!r} must be an int in 1..{hi} (got {v!r})")
        self.crossbar(self.default_input_bits, max(2, self.default_weight_bits))  # validates

    def crossbar(self, input_bits: int, weight_bits: int) -> CrossbarSpec:
        """The crossbar spec of this chip at the given operand widths (ideal ADC model aside)."""
        try:
            return CrossbarSpec(
                rows=self.rows, cols=self.cols, cell_bits=self.cell_bits,
                dac_bits=min(self.dac_bits, input_bits), input_bits=input_bits,
                weight_bits=weight_bits, encoding=self.encoding,
                adc=AdcSpec(resolution_bits=self.adc_bits),
            )
        except SpecError as err:
            raise SpecError(f"{self.name}: {err}") from None

    @property
    def adc_conversion_energy_j(self) -> float:
        """Energy of one conversion at adc_bits, J."""
        return conversion_energy_j(self.adc_bits, self.adc_walden_fom_j)

    @property
    def cycle_s(self) -> float:
        """One read cycle: the slower of the crossbar read and the ADCs converting their columns."""
        return max(self.read_cycle_s, self.cols_per_adc / self.adc_conversions_per_s)


@dataclass(frozen=True)
class PimDevice:
    """A `sim.Device` from a `PimChipSpec`; one target, 'pim'. Pure and immutable."""

    spec: PimChipSpec
    targets = ("pim",)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def description(self) -> str:
        return self.spec.description

    @cached_property
    def engines(self) -> tuple[EngineSpec, ...]:
        return (
            EngineSpec(name="crossbars", capacity=self.spec.n_crossbars,
                       static_power_w=self.spec.static_power_w),
            EngineSpec(name="digital"),
            EngineSpec(name="buffer", kind=EngineKind.DMA),
            EngineSpec(name="writer", kind=EngineKind.DMA),
        )

    def supported_kinds(self, target: str) -> frozenset[OpKind]:
        return SUPPORTED

    # --- mapping ---------------------------------------------------------------------------------

    def operand_bits(self, op: Op) -> tuple[int, int]:
        """(input bits, weight bits) the op runs at; DoesNotFitError above 16 bits."""
        comp = op.anchor.compression
        if comp.is_float:
            return self.spec.default_input_bits, self.spec.default_weight_bits
        a_bits = comp.activation_bits
        w_bits = max(2, comp.weight_bits, comp.high_bits)  # multi-precision: its wider rows
        if a_bits > 16 or w_bits > 16:
            raise DoesNotFitError(
                f"{self.name}: op {op.name!r} needs {w_bits}-bit weights and {a_bits}-bit inputs; "
                "the crossbars hold at most 16-bit operands; quantize to <= 16 bits"
            )
        return a_bits, w_bits

    def mapping(self, op: Op) -> LayerMapping:
        """Crossbar mapping of a conv2d, linear or matmul (or a fused op anchored at one)."""
        a_bits, w_bits = self.operand_bits(op)
        return map_gemm(op.name, gemm_of(op), self.spec.crossbar(a_bits, w_bits))

    def plan(self, network: Network) -> NetworkPlan:
        """Crossbars of every weighted layer; DoesNotFitError (layer, shortfall) if they exceed
        the chip and on_overflow is 'raise'."""
        capacity = self.spec.n_crossbars
        if self.spec.on_overflow is OverflowPolicy.REPROGRAM:
            capacity = 2**62  # time-multiplexed: no network-level limit
        result = plan(network, self.mapping, capacity)
        return dataclasses.replace(result, capacity=self.spec.n_crossbars)

    def check(self, network: Network, target: str) -> None:
        """Refuse, before simulating, a network whose stationary weights exceed the chip
        (DoesNotFitError naming the layer and the shortfall; see `plan`)."""
        self.plan(network)

    # --- costs -----------------------------------------------------------------------------------

    def cost(self, op: Op, target: str = "pim") -> Cost:
        """Pure cost of `op`; DoesNotFitError for a layer larger than the chip (policy 'raise')."""
        if target not in self.targets:
            raise UnsupportedOpError(f"{self.name} has no target {target!r}; use 'pim'")
        kinds = [m.kind for m in op.members] if op.kind is OpKind.FUSED else [op.kind]
        bad = sorted({k.value for k in kinds if k not in MATRIX | DIGITAL_KINDS})
        if bad or any(k in MATRIX for k in kinds[1:]):
            raise UnsupportedOpError(
                f"{self.name} cannot run fused op {op.name!r} with members {[k.value for k in kinds]}"
                "; unfuse it (only crossbar ops followed by digital ops fuse)"
            )
        if op.is_free:
            return Cost(stages=(), bound_by="free")
        if op.anchor.kind in MATRIX:
            return self._crossbar_cost(op)
        return self._digital_cost(op, op.vector_ops)

    def _digital_cost(self, op: Op, vector_ops: int) -> Cost:
        s = self.spec
        moved = op.input_bytes + op.output_bytes
        stage = [Phase("digital", vector_ops / s.digital_ops_per_s)]
        if moved:
            stage.append(Phase("buffer", moved / s.buffer_bytes_per_s, "activations"))
        return Cost(
            stages=(tuple(stage),),
            energy_j={"digital": vector_ops * s.digital_op_energy_j,
                      "buffer": moved * s.buffer_energy_j_per_byte},
            bytes_moved={"buffer": moved},
            bound_by="compute" if stage[0].duration_s >= moved / s.buffer_bytes_per_s else "memory",
        )

    def _crossbar_cost(self, op: Op) -> Cost:
        s = self.spec
        layer = self.mapping(op)
        xb = layer.spec
        rounds = 1
        dynamic = op.anchor.kind is OpKind.MATMUL
        reprogram = dynamic or s.on_overflow is OverflowPolicy.REPROGRAM
        if layer.n_crossbars > s.n_crossbars:
            if not reprogram:
                raise DoesNotFitError(
                    f"{self.name}: layer {op.name!r} needs {layer.n_crossbars} crossbars but the "
                    f"chip has {s.n_crossbars} (short by {layer.n_crossbars - s.n_crossbars}); "
                    "quantize or prune it, or set on_overflow: reprogram"
                )
            rounds = math.ceil(layer.n_crossbars / s.n_crossbars)
        compute_s = rounds * layer.read_cycles * s.cycle_s
        a_bits = xb.input_bits
        unrolled_bytes = math.ceil(layer.gemm.groups * layer.gemm.m * layer.gemm.k * a_bits / 8)
        out_bytes = op.output_bytes
        act_bytes = unrolled_bytes + out_bytes
        act_s = act_bytes / s.buffer_bytes_per_s
        members = op.members[1:] if op.kind is OpKind.FUSED else ()
        vector_ops = sum(m.vector_ops for m in members)
        energy = {
            "adc": layer.conversions * s.adc_conversion_energy_j,
            "dac": layer.dac_drives * s.dac_energy_j * (2**xb.dac_bits - 1),
            "cell": layer.cell_reads * s.cell_read_energy_j,
            "shift_add": layer.conversions * s.shift_add_energy_j,
            "buffer": act_bytes * s.buffer_energy_j_per_byte,
            "register": act_bytes * s.register_energy_j_per_byte,
            "interconnect": (op.input_bytes + out_bytes) * s.interconnect_energy_j_per_byte,
            "digital": vector_ops * s.digital_op_energy_j,
        }
        moved = {"buffer": act_bytes, "interconnect": op.input_bytes + out_bytes}
        stages = [(Phase("crossbars", compute_s), Phase("buffer", act_s, "activations"))]
        if vector_ops:
            stages.append((Phase("digital", vector_ops / s.digital_ops_per_s),))
        prefetch = ()
        if reprogram:
            rows_per_xbar = min(layer.gemm.k, xb.rows)
            write_s = rounds * rows_per_xbar * s.write_time_s_per_row
            energy["write"] = layer.cells * s.write_energy_j_per_cell
            weight_phase = Phase("writer", write_s, "weights")
            if dynamic:  # the operand is produced by the previous ops: write after inputs are ready
                stages.insert(0, (weight_phase,))
            else:
                prefetch = (weight_phase,)
        return Cost(
            stages=tuple(stages),
            prefetch=prefetch,
            energy_j=energy,
            bytes_moved=moved,
            bound_by="compute" if compute_s >= act_s else "memory",
        )


def from_preset(preset: str | Path) -> PimDevice:
    """A PIM device from a YAML preset (a path, or a name in accelerators/pim/presets/)."""
    return PimDevice(load_preset(PimChipSpec, PRESETS, preset, what="PIM preset"))


def isaac() -> PimDevice:
    """Entry point: the ISAAC ReRAM crossbar chip (Shafiee et al., ISCA 2016), weights resident."""
    return from_preset("isaac")


def isaac_reprogram() -> PimDevice:
    """Entry point: ISAAC with time-multiplexed (reprogrammed) crossbars for larger networks."""
    device = isaac()
    return PimDevice(dataclasses.replace(
        device.spec, name="pim-isaac-reprogram", on_overflow=OverflowPolicy.REPROGRAM,
        description=device.spec.description + "; reprograms crossbars each inference"))
