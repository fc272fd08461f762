"""FPGA parts: resource counts, achievable clock, DDR bandwidth and a power model, from presets.

Power follows the Xilinx Power Estimator's model (UG440, "Logic", "DSP" and "Block RAM"
sheets): device static power plus, per used resource, dynamic power proportional to clock
frequency and toggle rate (XPE's default toggle rate is 12.5 %). The per-resource coefficients
are given at 12.5 % toggle in microwatts per MHz and scale linearly with the toggle rate. The
processing system (ARM cores, DDR controller) is a separate, constant term.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any

from pydantic_core import PydanticCustomError

from sim.spec import (
    Fraction,
    Name,
    NonNegativeFloat,
    OneLine,
    PositiveFloat,
    PositiveInt,
    Spec,
    Text,
    read_yaml_file,
    validate,
)
from workloads import UnknownNameError
from workloads.errors import suggest

PRESETS = Path(__file__).parent / "presets" / "parts"
"""Part presets: `NAME.yaml`, one FPGA part on its board each (device presets are one level up)."""
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


class FpgaPartSpec(Spec):
    """One FPGA part on its board: resources, clock, memory and power."""

    name: Name
    """Short part name, e.g. 'xczu9eg'."""
    board: OneLine
    """The board the DDR and power figures are for, e.g. 'ZCU102'."""
    description: OneLine
    """One line naming the part and its headline resources."""
    source: Text
    """Where the numbers come from (datasheets, user guides, papers; assumptions labelled)."""
    dsp_primitive: DspPrimitive
    """The DSP slice of the part's family (its multiplier widths decide packing)."""
    n_dsp: PositiveInt
    """DSP slices."""
    n_lut: PositiveInt
    """6-input LUTs."""
    n_ff: PositiveInt
    """CLB flip-flops."""
    n_bram36: PositiveInt
    """36 Kb block RAMs."""
    max_clock_hz: PositiveFloat
    """Highest accelerator clock the allocator accepts (array timing closure, not DSP Fmax)."""
    ddr_bytes_per_s: PositiveFloat
    """Peak DDR bandwidth the programmable logic reaches (width x transfer rate)."""
    ddr_efficiency_ratio: Fraction
    """Fraction of the peak that DMA streams sustain, in (0, 1]."""
    ddr_pj_per_byte: PositiveFloat
    """DRAM access energy per byte moved."""
    node_nm: PositiveFloat
    """Process node of the part."""
    static_power_w: NonNegativeFloat
    """Programmable-logic static (leakage) power at 25 C junction."""
    ps_power_w: NonNegativeFloat
    """Processing system (CPU running the host code, DDR controller) while active."""
    dsp_uw_per_mhz: PositiveFloat
    """Dynamic power of one used DSP slice at 12.5 % toggle."""
    lut_uw_per_mhz: PositiveFloat
    """Per used LUT (logic plus its share of routing), at 12.5 % toggle."""
    ff_uw_per_mhz: PositiveFloat
    """Per used flip-flop (clock and data), at 12.5 % toggle."""
    bram_uw_per_mhz: PositiveFloat
    """Per used 36 Kb block RAM (enabled, 50 % write), at 12.5 % toggle."""
    toggle_ratio: Fraction = REFERENCE_TOGGLE_RATIO
    """Average toggle rate of the design's logic, in (0, 1] (XPE default 12.5 %)."""

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

    Raises UnknownNameError for an unknown name, SpecError for a bad file (every problem at
    once, `FILE: KEY: expected ..., got ...`).
    """
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        return validate(FpgaPartSpec, read_yaml_file(path), where=str(path))
    key = str(name_or_path).lower()
    if key not in PART_PRESETS:
        raise UnknownNameError(
            f"unknown FPGA part {str(name_or_path)!r}{suggest(key, PART_PRESETS)}; "
            f"known: {sorted(PART_PRESETS)}"
        )
    path = PRESETS / f"{PART_PRESETS[key]}.yaml"
    return validate(FpgaPartSpec, read_yaml_file(path), where=str(path))


def part_by_name(value: Any) -> Any:
    """A device file's `part:` given as a preset name, resolved to that part (else unchanged).

    So `part: xc7z020` (or `--set part=xc7z020`) places a design on a stored part, and
    `edgesim device show` writes the part out in full. Only preset names, never paths.
    """
    if not isinstance(value, str):
        return value
    if value.lower() not in PART_PRESETS:
        raise PydanticCustomError(
            "unknown_part", "a part preset name ({names}) or a mapping of part fields",
            {"names": ", ".join(sorted(PART_PRESETS))})
    return load_part(value)
