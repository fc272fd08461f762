"""FPGA parts: resource counts, achievable clock, DDR bandwidth and a power model, from presets.

Power follows the Xilinx Power Estimator's model (UG440, "Logic", "DSP" and "Block RAM"
sheets): device static power plus, per used resource, dynamic power proportional to clock
frequency and toggle rate (XPE's default toggle rate is 12.5 %). The per-resource coefficients
are given at 12.5 % toggle in microwatts per MHz and scale linearly with the toggle rate. The
processing system (ARM cores, DDR controller) is a separate, constant term.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from pathlib import Path

from sim.spec_legacy import load_yaml
from workloads import SpecError, UnknownNameError
from workloads.compression import parse_enum
from workloads.errors import suggest

PRESETS = Path(__file__).parent / "presets"
REFERENCE_TOGGLE_RATIO = 0.125
"""Toggle rate at which the per-resource coefficients are stated (XPE default, UG440)."""


class DspPrimitive(enum.Enum):
    """The DSP slice of a family: multiplier port widths decide packing (see resources.py)."""

    DSP48E1 = "dsp48e1"
    """7-series / Zynq-7000: 25 x 18 signed multiplier, 48-bit accumulator (UG479)."""
    DSP48E2 = "dsp48e2"
    """UltraScale(+): 27 x 18 signed multiplier, 48-bit accumulator (UG579)."""

    @property
    def a_port_bits(self) -> int:
        """Width of the wide multiplier input (pre-adder output), bits."""
        return 25 if self is DspPrimitive.DSP48E1 else 27

    @property
    def b_port_bits(self) -> int:
        return 18

    @property
    def p_port_bits(self) -> int:
        return 48


def _positive(owner: str, name: str, value, *, allow_zero: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise SpecError(f"{owner}: {name!r} must be a finite number {bound} (got {value!r})")


def _count(owner: str, name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecError(f"{owner}: {name!r} must be an int >= 1 (got {value!r})")


@dataclass(frozen=True, kw_only=True)
class FpgaPartSpec:
    """One FPGA part on its board: resources, clock, memory and power."""

    name: str
    """Short part name, e.g. 'xczu9eg'."""
    board: str
    """The board the DDR and power figures are for, e.g. 'ZCU102'."""
    description: str
    source: str
    """Where the numbers come from (datasheets, user guides, papers; assumptions labelled)."""
    dsp_primitive: DspPrimitive
    n_dsp: int
    """DSP slices."""
    n_lut: int
    """6-input LUTs."""
    n_ff: int
    """CLB flip-flops."""
    n_bram36: int
    """36 Kb block RAMs."""
    max_clock_hz: float
    """Highest accelerator clock the allocator accepts on this part (timing closure of a
    DSP/LUT array design, not the DSP slice's datasheet Fmax)."""
    ddr_bytes_per_s: float
    """Peak DDR bandwidth the programmable logic reaches (width x transfer rate)."""
    ddr_efficiency_ratio: float
    """Fraction of the peak that DMA streams sustain, in (0, 1]."""
    ddr_pj_per_byte: float
    """DRAM access energy per byte moved, pJ."""
    node_nm: float
    static_power_w: float
    """Programmable-logic static (leakage) power at 25 C junction, W."""
    ps_power_w: float
    """Processing system (CPU running the host code, DDR controller) while active, W."""
    dsp_uw_per_mhz: float
    """Dynamic power of one used DSP slice per MHz at 12.5 % toggle, uW/MHz."""
    lut_uw_per_mhz: float
    """Per used LUT (logic plus its share of routing), uW/MHz at 12.5 % toggle."""
    ff_uw_per_mhz: float
    """Per used flip-flop (clock and data), uW/MHz at 12.5 % toggle."""
    bram_uw_per_mhz: float
    """Per used 36 Kb block RAM (enabled, 50 % write), uW/MHz at 12.5 % toggle."""
    toggle_ratio: float = REFERENCE_TOGGLE_RATIO
    """Average toggle rate of the design's logic (XPE default 12.5 %)."""

    def __post_init__(self) -> None:
        owner = f"part {self.name!r}"
        if not self.name or not isinstance(self.name, str):
            raise SpecError("part needs a non-empty 'name'")
        object.__setattr__(self, "dsp_primitive",
                           parse_enum(DspPrimitive, self.dsp_primitive, "dsp_primitive"))
        for name in ("n_dsp", "n_lut", "n_ff", "n_bram36"):
            _count(owner, name, getattr(self, name))
        for name in ("max_clock_hz", "ddr_bytes_per_s", "ddr_pj_per_byte", "node_nm",
                     "dsp_uw_per_mhz", "lut_uw_per_mhz", "ff_uw_per_mhz", "bram_uw_per_mhz"):
            _positive(owner, name, getattr(self, name))
        for name in ("static_power_w", "ps_power_w"):
            _positive(owner, name, getattr(self, name), allow_zero=True)
        for name in ("ddr_efficiency_ratio", "toggle_ratio"):
            value = getattr(self, name)
            _positive(owner, name, value)
            if value > 1:
                raise SpecError(f"{owner}: {name!r} must be in (0, 1] (got {value!r})")

    @property
    def ddr_sustained_bytes_per_s(self) -> float:
        return self.ddr_bytes_per_s * self.ddr_efficiency_ratio

    def dynamic_power_w(self, *, clock_hz: float, n_dsp: float = 0, n_lut: float = 0,
                        n_ff: float = 0, n_bram36: float = 0) -> float:
        """Dynamic power of the given used resources at `clock_hz` and the part's toggle rate."""
        uw_per_mhz = (n_dsp * self.dsp_uw_per_mhz + n_lut * self.lut_uw_per_mhz
                      + n_ff * self.ff_uw_per_mhz + n_bram36 * self.bram_uw_per_mhz)
        return uw_per_mhz * 1e-6 * (clock_hz / 1e6) * (self.toggle_ratio / REFERENCE_TOGGLE_RATIO)


PART_PRESETS = {"xc7z020": "xc7z020", "xc7z045": "xc7z045", "xczu9eg": "xczu9eg",
                "zcu102": "xczu9eg"}
"""Accepted part names (and board aliases) -> preset file stem."""


def load_part(name_or_path: str | Path) -> FpgaPartSpec:
    """A part from a preset name ('xc7z020', 'xc7z045', 'xczu9eg' or 'zcu102') or a YAML path.

    Raises UnknownNameError for an unknown name, SpecError for a bad preset.
    """
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        return load_yaml(FpgaPartSpec, path)
    key = str(name_or_path).lower()
    if key not in PART_PRESETS:
        raise UnknownNameError(
            f"unknown FPGA part {str(name_or_path)!r}{suggest(key, PART_PRESETS)}; "
            f"known: {sorted(PART_PRESETS)}"
        )
    return load_yaml(FpgaPartSpec, PRESETS / f"{PART_PRESETS[key]}.yaml")
