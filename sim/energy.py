"""The one energy account: its vocabulary (`EnergyComponent`), how a device states its method
(`EnergyModel`), and energy per operation and per access as data with sources.

Every device's `Cost.energy_j` is keyed by `EnergyComponent`, so reports, CSV, JSON and
`edgesim compare` line up any two devices component by component. A device keeps whatever
finer detail it needs (a PIM chip's ADC and DAC apart) and sums it into components with
`account`.

The base table is Horowitz, "Computing's energy problem (and what we can do about it)",
ISSCC 2014, 45 nm at 0.9 V. Other widths and nodes are derived by stated rules:

- integer add/multiply at b bits: a power law through the two cited widths (8 and 32 bits),
  E(b) = E(8) * (b / 8) ** alpha with alpha = log(E(32) / E(8)) / log(4). For multiplies
  alpha = 1.98 (array multipliers grow ~b^2); for adds 0.87. Below 8 bits it extrapolates.
- technology node and voltage: first-order dynamic-energy scaling E ~ C V^2 with C ~ feature size,
  so E(node, V) = E(45 nm, 0.9 V) * (node / 45) * (V / 0.9) ** 2. This ignores that wires scale
  worse than gates below ~22 nm, so it is optimistic for memory-dominated energy there.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from sim.vocabulary import Vocabulary
from workloads import SpecError


@dataclass(frozen=True, kw_only=True)
class EnergyTable:
    """Energy per operation (pJ) at one technology node and supply voltage."""

    node_nm: float
    voltage_v: float
    int8_add_pj: float
    int32_add_pj: float
    int8_mul_pj: float
    int32_mul_pj: float
    fp16_add_pj: float
    fp16_mul_pj: float
    fp32_add_pj: float
    fp32_mul_pj: float
    sram_64bit_pj: float
    """One 64-bit read of an 8 kB SRAM."""
    dram_64bit_pj: float
    """One 64-bit DRAM access (Horowitz gives 1.3-2.6 nJ; the low end is ~640 pJ per 32 bits)."""
    source: str

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if name != "source" and not (isinstance(value, (int, float)) and value > 0):
                raise SpecError(f"energy table {name!r} must be > 0 (got {value!r})")

    def _int_pj(self, e8: float, e32: float, bits: int) -> float:
        alpha = math.log(e32 / e8) / math.log(4.0)
        return e8 * (bits / 8.0) ** alpha

    def int_mul_pj(self, bits: int) -> float:
        return self._int_pj(self.int8_mul_pj, self.int32_mul_pj, bits)

    def int_add_pj(self, bits: int) -> float:
        return self._int_pj(self.int8_add_pj, self.int32_add_pj, bits)

    def mac_pj(self, bits: int, *, is_float: bool, accumulator_bits: int = 32) -> float:
        """One multiply-accumulate: a `bits` multiply plus an add at the accumulator width.

        Floats: fp16 or fp32 multiply and add (bits must be 16 or 32). Integers accumulate in
        `accumulator_bits` (32 by default, as int8 kernels do).
        """
        if is_float:
            if bits == 16:
                return self.fp16_mul_pj + self.fp16_add_pj
            if bits == 32:
                return self.fp32_mul_pj + self.fp32_add_pj
            raise SpecError(f"float MACs are 16 or 32 bits (got {bits})")
        return self.int_mul_pj(bits) + self.int_add_pj(accumulator_bits)

    def vector_op_pj(self, bits: int, *, is_float: bool) -> float:
        """One elementwise op (add, compare, scale) at `bits`."""
        if is_float:
            return self.fp16_add_pj if bits <= 16 else self.fp32_add_pj
        return self.int_add_pj(bits)

    @property
    def sram_pj_per_byte(self) -> float:
        return self.sram_64bit_pj / 8.0

    @property
    def dram_pj_per_byte(self) -> float:
        return self.dram_64bit_pj / 8.0

    def scaled(self, node_nm: float, voltage_v: float) -> EnergyTable:
        """This table moved to another node and voltage by E ~ node * V^2 (see module doc)."""
        if node_nm <= 0 or voltage_v <= 0:
            raise SpecError(f"node and voltage must be > 0 (got {node_nm} nm, {voltage_v} V)")
        try:
            f = (node_nm / self.node_nm) * (voltage_v / self.voltage_v) ** 2
        except OverflowError:
            f = math.inf
        if not math.isfinite(f):
            raise SpecError(f"node {node_nm:g} nm and {voltage_v:g} V scale the energy table past "
                            "a float; check them for a typo")
        logic = {
            name: getattr(self, name) * f
            for name in vars(self)
            if name.endswith("_pj") and not name.startswith("dram")
        }
        # DRAM energy is set by the DRAM die and interface, not the logic node: keep it.
        return replace(
            self,
            node_nm=node_nm,
            voltage_v=voltage_v,
            source=f"{self.source}; scaled to {node_nm:g} nm, {voltage_v:g} V by E ~ node * V^2",
            **logic,
        )


HOROWITZ_45NM = EnergyTable(
    node_nm=45,
    voltage_v=0.9,
    int8_add_pj=0.03,
    int32_add_pj=0.1,
    int8_mul_pj=0.2,
    int32_mul_pj=3.1,
    fp16_add_pj=0.4,
    fp16_mul_pj=1.1,
    fp32_add_pj=0.9,
    fp32_mul_pj=3.7,
    sram_64bit_pj=10.0,
    dram_64bit_pj=1300.0,
    source="Horowitz, ISSCC 2014, 'Computing's energy problem', 45 nm 0.9 V (Fig. 1.1.9)",
)
"""The cited 45 nm table. DRAM at the low end of the cited 1.3-2.6 nJ per 64-bit access."""


class EnergyComponent(Vocabulary):
    """Where energy goes: the one vocabulary every device's `Cost.energy_j` and every report use.

    A str-valued enum (`sim.vocabulary.Vocabulary`), so a member equals (and hashes as) its
    value: `breakdown["off_chip"]` finds `EnergyComponent.OFF_CHIP`. Members are listed in
    report column order.
    """

    MAC = "mac"
    """Multiply-accumulate datapaths (systolic PEs, DSP slices, SIMD/tensor MACs, analog cells
    and their shift-add reconstruction)."""
    VECTOR = "vector"
    """Elementwise and comparison compute (activations, norms, pooling, point mapping)."""
    REGISTER = "register"
    """Local registers and register files next to the datapath."""
    ON_CHIP = "on_chip"
    """On-chip memory: SRAM buffers, caches, BRAM, crossbar-cell programming."""
    OFF_CHIP = "off_chip"
    """Off-chip memory traffic: DRAM (and an MCU's flash reads when priced apart)."""
    CONVERSION = "conversion"
    """Data conversion between analog and digital (ADC, DAC)."""
    INTERCONNECT = "interconnect"
    """On-chip network and buses between tiles."""
    STATIC = "static"
    """Leakage and idle power over the whole simulated time (busy or not)."""
    HOST = "host"
    """A host or processing system kept on beside the accelerator (e.g. an FPGA's Arm PS)."""
    BOARD = "board"
    """Measured power of a whole chip or board that the model does not split by component."""


def parse_component(key: str | EnergyComponent, where: str) -> EnergyComponent:
    """`key` as an EnergyComponent; SpecError naming `where` and the members otherwise."""
    try:
        return EnergyComponent(key)
    except ValueError:
        raise SpecError(
            f"{where}: energy component {key!r} is not one of "
            f"{[c.value for c in EnergyComponent]}; map it onto sim.energy.EnergyComponent"
        ) from None


def account(detail_j: Mapping[str, float],
            component_of: Mapping[str, EnergyComponent]) -> dict[EnergyComponent, float]:
    """Sum a device's own detailed energies (e.g. {'adc': ..., 'dac': ...}) into components.

    `component_of` maps every detail key to its component; a key it lacks is a bug of the
    device (SpecError naming it), not something to drop silently.
    """
    out: dict[EnergyComponent, float] = {}
    for key, value in detail_j.items():
        if key not in component_of:
            raise SpecError(f"energy detail {key!r} has no component; add it to the device's map")
        comp = component_of[key]
        out[comp] = out.get(comp, 0.0) + value
    return out


class EnergyMethod(str, enum.Enum):
    """How a device arrives at its energy."""

    PER_ACTION = "per-action"
    """Counts of actions (MACs, bytes, conversions) x energy per action."""
    POWER_X_TIME = "power x time"
    """A measured or rated power x the time a unit is busy."""
    BOTH = "both"
    """Power x busy time for some components, per-action energies for others."""


@dataclass(frozen=True, kw_only=True)
class EnergyModel:
    """What a device says about its energy account, printed in every report summary."""

    method: EnergyMethod
    detail: str
    """One sentence: which components come from which method and source."""
    leaves_out: str | None = None
    """What the account does not include (e.g. a roofline's instruction and register-file
    energy), so a reader comparing two models of one chip sees why they differ; None: nothing
    known to be left out."""
    assumed: str | None = None
    """Which numbers are assumptions rather than sourced (e.g. static power); None: all sourced."""

    def text(self) -> str:
        """One line for reports: method, detail, what it leaves out, what it assumes."""
        parts = [f"{self.method.value}: {self.detail}"]
        if self.leaves_out:
            parts.append(f"leaves out {self.leaves_out}")
        if self.assumed:
            parts.append(f"assumed: {self.assumed}")
        return "; ".join(parts)
