"""Capacity-aware SRAM energy and area, and MAC-array area, as data with sources.

SRAM access energy. The cited table is Horowitz, "Computing's energy problem (and what we can
do about it)", ISSCC 2014, Fig. 1.1.9 (45 nm, 0.9 V): a 64-bit access of an 8 kB SRAM costs
10 pJ, of a 32 kB one 20 pJ and of a 1 MB one 100 pJ. Between and beyond those points energy is
interpolated log-log (a power law per segment, the end segments extended): E ~ capacity^0.50
from 8 to 32 kB and ^0.46 from 32 kB to 1 MB, the square-root growth of bit-line and word-line
length that CACTI's models also show. These are Horowitz's published figures, not CACTI runs
(Accelergy's CACTI plug-ins need Python >= 3.12, not available here). Stated assumptions on top:

- word width: energy proportional to the bits accessed, E(w) = E_64 * w / 64 (the bit lines and
  sense amplifiers switched scale with the width; the decoder share is ignored, so narrow words
  are slightly optimistic);
- writes cost what reads cost (CACTI's read and write energies of small SRAMs are within ~20 %);
- each port beyond the first adds 50 % to energy and area (multi-ported cells and bit lines; an
  assumption, not a cited figure);
- node and voltage: E ~ node * V^2, as `sim.energy` scales its logic table.

SRAM area: Intel's 45 nm 6T bit cell is 0.346 um^2 (Mistry et al., IEDM 2007); the macro is
assumed 70 % cells and 30 % periphery (a guess typical of compiled SRAMs), and area scales with
node^2. Leakage: an assumed 20 pW per bit at 45 nm (a guess, ~1.3 mW per 64 kB), scaled with
node. MAC area: Horowitz's Fig. 1.1.9 areas at 45 nm (8-bit add 36 um^2, 32-bit add 137 um^2,
8-bit multiply 282 um^2, 32-bit multiply 3495 um^2; fp16 add 1360, multiply 1640; fp32 add 4184,
multiply 7700), power-law in bits between the integer points like `sim.energy`, plus an assumed
50 % for a PE's pipeline registers and wiring; area scales with node^2.
"""

from __future__ import annotations

import math

import numpy as np

from sim.energy import HOROWITZ_45NM
from workloads import SpecError

SRAM_64BIT_PJ_45NM = ((8 * 1024, 10.0), (32 * 1024, 20.0), (1024 * 1024, 100.0))
"""(capacity in bytes, pJ per 64-bit access) at 45 nm, 0.9 V: Horowitz, ISSCC 2014, Fig. 1.1.9."""
BITCELL_UM2_45NM = 0.346
"""Intel 45 nm 6T SRAM cell (Mistry et al., IEDM 2007)."""
ARRAY_EFFICIENCY = 0.7
"""Assumed share of an SRAM macro's area that is bit cells (the rest: decoders, sense amps)."""
LEAKAGE_W_PER_BIT_45NM = 20e-12
"""Assumed SRAM leakage per bit at 45 nm (a guess; no cited figure)."""
EXTRA_PORT_FACTOR = 0.5
"""Assumed energy and area added by each port beyond the first."""
PE_OVERHEAD_FACTOR = 1.5
"""Assumed PE area over its multiplier and adder (pipeline registers, operand forwarding)."""
MAC_AREA_UM2_45NM = {"int8_add": 36.0, "int32_add": 137.0, "int8_mul": 282.0,
                     "int32_mul": 3495.0, "fp16_add": 1360.0, "fp16_mul": 1640.0,
                     "fp32_add": 4184.0, "fp32_mul": 7700.0}
"""Horowitz, ISSCC 2014, Fig. 1.1.9: area of one unit at 45 nm, um^2."""
REFERENCE_NODE_NM = 45.0
REFERENCE_VOLTAGE_V = 0.9


def _check(**values) -> None:
    for name, value in values.items():
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise SpecError(f"{name!r} must be a finite number > 0 (got {value!r})")


def sram_access_pj(capacity_bytes, word_bits: int, *, node_nm: float = 45.0,
                   voltage_v: float = 0.9, ports: int = 1) -> np.ndarray | float:
    """Energy of one read or write of `word_bits` from an SRAM of `capacity_bytes`, pJ.

    Log-log interpolation of `SRAM_64BIT_PJ_45NM` (module doc); `capacity_bytes` may be an
    array. Raises SpecError for non-positive sizes.
    """
    _check(word_bits=word_bits, node_nm=node_nm, voltage_v=voltage_v, ports=ports)
    cap = np.asarray(capacity_bytes, dtype=float)
    if np.any(~np.isfinite(cap)) or np.any(cap <= 0):
        raise SpecError(f"SRAM capacity must be > 0 bytes (got {capacity_bytes!r})")
    x = np.log([c for c, _ in SRAM_64BIT_PJ_45NM])
    y = np.log([e for _, e in SRAM_64BIT_PJ_45NM])
    lx = np.log(cap)
    # np.interp clamps at the ends; extend the end segments' slopes instead.
    ly = np.interp(lx, x, y)
    lo, hi = lx < x[0], lx > x[-1]
    ly = np.where(lo, y[0] + (lx - x[0]) * (y[1] - y[0]) / (x[1] - x[0]), ly)
    ly = np.where(hi, y[-1] + (lx - x[-1]) * (y[-1] - y[-2]) / (x[-1] - x[-2]), ly)
    scale = (word_bits / 64.0) * (1 + EXTRA_PORT_FACTOR * (ports - 1))
    scale *= (node_nm / REFERENCE_NODE_NM) * (voltage_v / REFERENCE_VOLTAGE_V) ** 2
    result = np.exp(ly) * scale
    return float(result) if result.ndim == 0 else result


def sram_pj_per_byte(capacity_bytes: float, *, node_nm: float = 45.0, voltage_v: float = 0.9,
                     ports: int = 1) -> float:
    """Energy per byte read or written in an SRAM of `capacity_bytes`, pJ/B.

    `sram_access_pj` of a 64-bit word over its 8 bytes. The table's energy is proportional to the
    word width, so this figure holds for any word width: a device that counts bytes moved through
    a buffer prices them at the buffer's own capacity without knowing its port width. Raises
    SpecError as `sram_access_pj` does.
    """
    return float(sram_access_pj(capacity_bytes, 64, node_nm=node_nm, voltage_v=voltage_v,
                                ports=ports)) / 8.0


def sram_area_mm2(capacity_bytes: float, *, node_nm: float = 45.0, ports: int = 1) -> float:
    """Area of an SRAM macro of `capacity_bytes`, mm^2 (bit cells over `ARRAY_EFFICIENCY`)."""
    _check(capacity_bytes=capacity_bytes, node_nm=node_nm, ports=ports)
    cell_um2 = BITCELL_UM2_45NM * (node_nm / REFERENCE_NODE_NM) ** 2
    ports_factor = 1 + EXTRA_PORT_FACTOR * (ports - 1)
    return capacity_bytes * 8 * cell_um2 * ports_factor / ARRAY_EFFICIENCY * 1e-6


def sram_leakage_w(capacity_bytes: float, *, node_nm: float = 45.0) -> float:
    """Static power of an SRAM of `capacity_bytes`, W (assumed per-bit figure, module doc)."""
    _check(capacity_bytes=capacity_bytes, node_nm=node_nm)
    return capacity_bytes * 8 * LEAKAGE_W_PER_BIT_45NM * (node_nm / REFERENCE_NODE_NM)


def _int_power_law(a8: float, a32: float, bits: int) -> float:
    alpha = math.log(a32 / a8) / math.log(4.0)
    return a8 * (bits / 8.0) ** alpha


def mac_area_um2(bits: int, *, is_float: bool = False, accumulator_bits: int = 32,
                 node_nm: float = 45.0) -> float:
    """Area of one PE: a `bits` multiplier and an `accumulator_bits` adder, with overhead, um^2."""
    _check(bits=bits, accumulator_bits=accumulator_bits, node_nm=node_nm)
    a = MAC_AREA_UM2_45NM
    if is_float:
        if bits not in (16, 32):
            raise SpecError(f"float MACs are 16 or 32 bits (got {bits})")
        core = a[f"fp{bits}_mul"] + a[f"fp{bits}_add"]
    else:
        core = (_int_power_law(a["int8_mul"], a["int32_mul"], bits)
                + _int_power_law(a["int8_add"], a["int32_add"], accumulator_bits))
    return core * PE_OVERHEAD_FACTOR * (node_nm / REFERENCE_NODE_NM) ** 2


def mac_pj(bits: int, *, is_float: bool = False, node_nm: float = 45.0,
           voltage_v: float = 0.9) -> float:
    """Energy of one MAC at `bits` (Horowitz's table via `sim.energy`, scaled to the node), pJ."""
    _check(bits=bits, node_nm=node_nm, voltage_v=voltage_v)
    table = HOROWITZ_45NM.scaled(node_nm, voltage_v)
    return table.mac_pj(bits, is_float=is_float)


def dram_pj_per_byte() -> float:
    """DRAM access energy per byte (Horowitz's 1.3 nJ per 64 bits; not scaled by the logic node)."""
    return HOROWITZ_45NM.dram_pj_per_byte
