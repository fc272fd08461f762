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

Energy detail ('adc', 'dac', 'cell', 'shift_add', 'buffer', 'register', 'interconnect',
'digital', 'write'; `energy_detail_j`): counts from `accelerators.pim.mapping` times per-event
energies of the preset, summed into the shared components by `COMPONENT_OF` (ADC and DAC are
'conversion'; cell reads and shift-add reconstruction are the analog 'mac').
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
from typing import Annotated, ClassVar

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from accelerators.pim.adc import AdcBits, AdcSpec, conversion_energy_j
from accelerators.pim.crossbar import CrossbarSpec, InputEncoding, WeightEncoding, WeightFormat
from accelerators.pim.mapping import MATRIX, LayerMapping, NetworkPlan, map_gemm, plan
from sim.device import (BoundBy, Cost, EngineKind, EngineSpec, MemoryLevel, Phase, PhaseLabel,
                        SpecNamed)
from sim.energy import EnergyComponent, EnergyMethod, EnergyModel, account
from sim.spec import DeviceSpec, Family
from workloads import DoesNotFitError, Network, Op, OpKind, SpecError, UnsupportedOpError
from workloads.gemm import gemm_of

PRESETS = Path(__file__).parent / "presets"
DIGITAL_KINDS = frozenset({OpKind.ACTIVATION, OpKind.NORM, OpKind.POOL, OpKind.ADD, OpKind.MUL,
                           OpKind.RESHAPE})
"""Cheap kinds the digital unit runs (a reshape is free as a view, a buffer copy otherwise)."""
SUPPORTED = MATRIX | DIGITAL_KINDS | {OpKind.FUSED}
COMPONENT_OF = {
    "adc": EnergyComponent.CONVERSION, "dac": EnergyComponent.CONVERSION,
    "cell": EnergyComponent.MAC, "shift_add": EnergyComponent.MAC,
    "buffer": EnergyComponent.ON_CHIP, "register": EnergyComponent.REGISTER,
    "interconnect": EnergyComponent.INTERCONNECT, "digital": EnergyComponent.VECTOR,
    "write": EnergyComponent.ON_CHIP,  # programming the crossbar cells, the weight memory
}
"""Event-level energy detail -> the shared vocabulary."""


class OverflowPolicy(enum.Enum):
    """What a network whose weights exceed the crossbars gets."""

    RAISE = "raise"
    """DoesNotFitError (mapping.plan for a network; cost() for a single layer too large)."""
    REPROGRAM = "reprogram"
    """Time-multiplexed crossbars: every weighted layer writes its weights before it runs, each
    inference (a layer larger than the chip runs in rounds)."""


# Bounds a real chip sits far inside; a value past them is a typo, and would overflow the
# engine's picosecond clock (a 1e308 s read cycle) or make energies infinite.
EventEnergyJ = Annotated[float, Field(gt=0, le=1e-6)]
"""Energy of one event (a conversion step, pulse, cell read, op or byte moved), in (0, 1 uJ]."""
RatePerS = Annotated[float, Field(ge=1e6, le=1e18)]
"""Events per second, 1e6 .. 1e18 (no PIM ADC, buffer or digital unit runs below 1 MHz)."""
EventTimeS = Annotated[float, Field(gt=0, le=1e-3)]
"""Duration of one hardware event, in (0, 1 ms]."""


class PimChipSpec(DeviceSpec):
    """A PIM chip: crossbar geometry and scheme, ADCs, per-event energies, digital unit. Frozen."""

    family: ClassVar[str] = "pim"

    node_nm: Annotated[float, Field(gt=0, le=1e4)]
    """Process node of the cited design, at most 10 um (for the record; energies are cited)."""
    rows: Annotated[int, Field(ge=1, le=65536)]
    """Word lines per crossbar."""
    cols: Annotated[int, Field(ge=1, le=65536)]
    """Bit lines per crossbar."""
    cell_bits: Annotated[int, Field(ge=1, le=8)]
    """Bits per cell."""
    dac_bits: Annotated[int, Field(ge=1, le=16)]
    """Input bits applied per read cycle (1 = bit-serial); layers with fewer input bits use theirs."""
    encoding: WeightEncoding
    """How signed weights are stored: 'offset' (unipolar ADCs) or 'differential' (bipolar)."""
    input_encoding: InputEncoding = InputEncoding.UNSIGNED
    """How every layer's inputs drive rows: 'unsigned' or signed (see accelerators.pim.crossbar).

    Signed: 'differential_rows' (two rows per input), 'bipolar' (+-V pulses), 'two_phase_analog'
    (two reads, one conversion) or 'two_phase_digital' (two reads and two conversions)."""
    weight_format: WeightFormat = WeightFormat.INTEGER
    """'integer' (bit-sliced in cell_bits slices) or 'float' (one analog conductance per weight)."""
    n_crossbars: Annotated[int, Field(ge=1, le=10**9)]
    """Crossbars on the chip."""
    adc_bits: AdcBits
    """Column ADC resolution, 1..16 bits (at least 2 with differential encoding)."""
    adc_conversions_per_s: RatePerS
    """Conversion rate of one ADC."""
    adc_walden_fom_j: Annotated[float, Field(gt=0, le=1e-9)]
    """Walden figure of merit, J per conversion step (at most 1 nJ): E_conv = FOM x 2**adc_bits."""
    cols_per_adc: Annotated[int, Field(ge=1, le=65536)]
    """Bit lines sharing one ADC (time-multiplexed)."""
    read_cycle_s: EventTimeS
    """Crossbar read (drive, settle, sample-and-hold) time per input slice."""
    dac_energy_j: EventEnergyJ
    """One 1-bit row-driver pulse; a d-bit DAC pulse costs (2**d - 1) times this."""
    cell_read_energy_j: EventEnergyJ
    """One cell read in one cycle."""
    shift_add_energy_j: EventEnergyJ
    """Digital shift-and-add per ADC conversion."""
    buffer_energy_j_per_byte: EventEnergyJ
    """Tile buffer (eDRAM/SRAM) access per byte: unrolled inputs read, outputs written."""
    register_energy_j_per_byte: EventEnergyJ
    """Input/output registers beside the crossbars, per byte."""
    interconnect_energy_j_per_byte: EventEnergyJ
    """On-chip network per byte of a layer's input and output."""
    digital_ops_per_s: RatePerS
    """Throughput of the digital unit (norm, activation, pool, add), element ops/s."""
    digital_op_energy_j: EventEnergyJ
    """One digital element op."""
    buffer_bytes_per_s: RatePerS
    """Bandwidth of the buffer engine moving a layer's activations."""
    default_weight_bits: Annotated[int, Field(ge=1, le=16)] = 16
    """Weight bits of float layers deployed on the chip (at least 2 are stored)."""
    default_input_bits: Annotated[int, Field(ge=1, le=16)] = 16
    """Input bits of float layers deployed on the chip."""
    on_overflow: OverflowPolicy = OverflowPolicy.RAISE
    """What a network larger than the crossbars gets: 'raise' (does not fit) or 'reprogram'."""
    write_energy_j_per_cell: EventEnergyJ = 1e-12
    """Programming one cell (reprogramming and matmul's dynamic operand)."""
    write_time_s_per_row: EventTimeS = 1e-6
    """Programming one crossbar row (crossbars write in parallel)."""
    static_power_w: Annotated[float, Field(ge=0, le=1e3)] = 0.0
    """Leakage and clocks, at most 1 kW."""

    # A field validator, not a model validator, so the error names its key:
    # `FILE: adc_bits: expected at least 2 with differential encoding, got 1`.
    @field_validator("adc_bits")
    @classmethod
    def _bipolar_adc_has_a_sign_bit(cls, adc_bits: int, info: ValidationInfo) -> int:
        if info.data.get("encoding") is WeightEncoding.DIFFERENTIAL and adc_bits < 2:
            raise PydanticCustomError("bipolar_adc_bits", "at least 2 with differential encoding")
        if info.data.get("input_encoding") in (InputEncoding.BIPOLAR,
                                               InputEncoding.TWO_PHASE_ANALOG) and adc_bits < 2:
            raise PydanticCustomError("bipolar_adc_bits", "at least 2 with signed-input encoding "
                                      "'{encoding}'", {"encoding": info.data["input_encoding"].value})
        return adc_bits

    def crossbar(self, input_bits: int, weight_bits: int) -> CrossbarSpec:
        """The crossbar spec of this chip at the given operand widths (ideal ADC model aside)."""
        return CrossbarSpec(
            rows=self.rows, cols=self.cols, cell_bits=self.cell_bits,
            dac_bits=min(self.dac_bits, input_bits), input_bits=input_bits,
            weight_bits=weight_bits, encoding=self.encoding,
            input_encoding=self.input_encoding, weight_format=self.weight_format,
            adc=AdcSpec(resolution_bits=self.adc_bits),
        )

    @property
    def adc_conversion_energy_j(self) -> float:
        """Energy of one conversion at adc_bits, J."""
        return conversion_energy_j(self.adc_bits, self.adc_walden_fom_j)

    @property
    def cycle_s(self) -> float:
        """One read cycle: the slower of the crossbar read and the ADCs converting their columns."""
        return max(self.read_cycle_s, self.cols_per_adc / self.adc_conversions_per_s)


@dataclass(frozen=True)
class PimDevice(SpecNamed):
    """A `sim.Device` from a `PimChipSpec`; one target, 'pim'. Pure and immutable."""

    spec: PimChipSpec
    targets = ("pim",)

    @cached_property
    def engines(self) -> tuple[EngineSpec, ...]:
        return (
            EngineSpec(name="crossbars", capacity=self.spec.n_crossbars,
                       static_power_w=self.spec.static_power_w),
            EngineSpec(name="digital"),
            EngineSpec(name="buffer", kind=EngineKind.DMA),
            EngineSpec(name="writer", kind=EngineKind.DMA),
        )

    @cached_property
    def energy_model(self) -> EnergyModel:
        """Per-action: mapped event counts x per-event energies of the preset."""
        return EnergyModel(
            method=EnergyMethod.PER_ACTION,
            detail=("ADC conversions (Walden FOM x 2^bits), DAC drives, cell reads, shift-adds, "
                    "buffer/register/interconnect bytes and digital ops x per-event energies"),
            leaves_out="off-chip traffic (weights are resident) and the host",
            assumed=f"static power {self.spec.static_power_w:g} W" if self.spec.static_power_w else None,
        )

    def unit_text(self, target: str) -> str:
        """The crossbars and their read cycle."""
        s = self.spec
        return (f"{target}: {s.n_crossbars} crossbars, {s.adc_bits}-bit ADCs, read cycle "
                f"{s.cycle_s * 1e9:.4g} ns")

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
        gemm = gemm_of(op)
        if gemm is None:
            raise SpecError(f"op {op.anchor.name!r} ({op.anchor.kind.value}) has no "
                            "matrix-product view to put on crossbars")
        a_bits, w_bits = self.operand_bits(op)
        return map_gemm(op.name, gemm, self.spec.crossbar(a_bits, w_bits))

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
        return self._price(op, target)[0]

    def energy_detail_j(self, op: Op, target: str = "pim") -> dict[str, float]:
        """Dynamic energy of `op` per event kind (see the module doc), J."""
        return self._price(op, target)[1]

    def network_energy_detail_j(self, network: Network) -> dict[str, float]:
        """One inference's dynamic energy per event kind, summed over the network's ops, J."""
        total: dict[str, float] = {}
        for op in network.ops:
            for key, value in self.energy_detail_j(op).items():
                total[key] = total.get(key, 0.0) + value
        return total

    def _price(self, op: Op, target: str) -> tuple[Cost, dict[str, float]]:
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
            return Cost(stages=(), bound_by=BoundBy.FREE), {}
        if op.anchor.kind in MATRIX:
            return self._crossbar_cost(op)
        return self._digital_cost(op, op.vector_ops)

    def _executed(self, op: Op) -> str | None:
        """'wWaA' at the chip's default widths for a float op (its documented substitute)."""
        if not op.anchor.compression.is_float:
            return None
        return f"w{self.spec.default_weight_bits}a{self.spec.default_input_bits}"

    def _digital_cost(self, op: Op, vector_ops: int) -> tuple[Cost, dict[str, float]]:
        s = self.spec
        moved = op.input_bytes + op.output_bytes
        stage = [Phase("digital", vector_ops / s.digital_ops_per_s)]
        if moved:
            stage.append(Phase("buffer", moved / s.buffer_bytes_per_s, PhaseLabel.ACTIVATIONS))
        energy = {"digital": vector_ops * s.digital_op_energy_j,
                  "buffer": moved * s.buffer_energy_j_per_byte}
        return Cost(
            stages=(tuple(stage),),
            energy_j=account(energy, COMPONENT_OF),
            bytes_moved={MemoryLevel.BUFFER: moved},
            bound_by=BoundBy.COMPUTE if stage[0].duration_s >= moved / s.buffer_bytes_per_s else BoundBy.MEMORY,
            executed_precision=self._executed(op),
        ), energy

    def _crossbar_cost(self, op: Op) -> tuple[Cost, dict[str, float]]:
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
        moved = {MemoryLevel.BUFFER: act_bytes, MemoryLevel.INTERCONNECT: op.input_bytes + out_bytes}
        stages = [(Phase("crossbars", compute_s), Phase("buffer", act_s, PhaseLabel.ACTIVATIONS))]
        if vector_ops:
            stages.append((Phase("digital", vector_ops / s.digital_ops_per_s),))
        prefetch = ()
        if reprogram:
            rows_per_xbar = min(layer.rows_used, xb.rows)
            write_s = rounds * rows_per_xbar * s.write_time_s_per_row
            energy["write"] = layer.cells * s.write_energy_j_per_cell
            weight_phase = Phase("writer", write_s, PhaseLabel.WEIGHTS)
            if dynamic:  # the operand is produced by the previous ops: write after inputs are ready
                stages.insert(0, (weight_phase,))
            else:
                prefetch = (weight_phase,)
        return Cost(
            stages=tuple(stages),
            prefetch=prefetch,
            energy_j=account(energy, COMPONENT_OF),
            bytes_moved=moved,
            bound_by=BoundBy.COMPUTE if compute_s >= act_s else BoundBy.MEMORY,
            executed_precision=self._executed(op),
        ), energy


FAMILY = Family(name="pim", spec_type=PimChipSpec, build=PimDevice, presets=PRESETS)
"""Registered under `edgesim.families` as 'pim': presets in accelerators/pim/presets/."""
