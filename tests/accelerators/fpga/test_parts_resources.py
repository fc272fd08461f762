"""Part presets (datasheet counts, exact), the power model, and the analytic resource rules."""

from __future__ import annotations

import pytest

from accelerators.fpga.parts import DspPrimitive, load_part
from accelerators.fpga.resources import (
    adder_tree_luts,
    buffer_bram36,
    dsp_per_lane,
    mux_luts,
    packing_factor,
    pot_lane_luts,
    tile_resources,
)
from accelerators.fpga.rtl.tile import TileSpec
from sim.spec import override
from workloads import SpecError, UnknownNameError


@pytest.mark.parametrize("name, dsp, lut, ff, bram, prim", [
    ("xc7z020", 220, 53_200, 106_400, 140, DspPrimitive.DSP48E1),   # DS190
    ("xc7z045", 900, 218_600, 437_200, 545, DspPrimitive.DSP48E1),  # DS190
    ("zcu102", 2_520, 274_080, 548_160, 912, DspPrimitive.DSP48E2),  # DS891 (XCZU9EG)
])
def test_part_presets_carry_the_datasheet_counts(name, dsp, lut, ff, bram, prim):
    part = load_part(name)
    assert (part.n_dsp, part.n_lut, part.n_ff, part.n_bram36) == (dsp, lut, ff, bram)
    assert part.dsp_primitive is prim
    assert part.source.strip()


def test_ddr_bandwidth_from_interface_width_and_rate():
    assert load_part("xc7z020").ddr_bytes_per_s == pytest.approx(1066e6 * 4)  # DDR3-1066 x32
    assert load_part("xczu9eg").ddr_bytes_per_s == pytest.approx(2133e6 * 8)  # DDR4-2133 x64


def test_dynamic_power_is_linear_in_resources_clock_and_toggle():
    part = load_part("xc7z020")
    # 100 DSP at 8 uW/MHz and 1000 LUT at 0.1 uW/MHz, 100 MHz, 12.5 % toggle: 0.08 + 0.01 W
    assert part.dynamic_power_w(clock_hz=100e6, n_dsp=100, n_lut=1000) == pytest.approx(0.09)
    busier = override(part, {"toggle_ratio": 0.25})
    assert busier.dynamic_power_w(clock_hz=100e6, n_dsp=100) == pytest.approx(0.16)


def test_unknown_part_and_bad_preset_are_typed_errors(tmp_path):
    with pytest.raises(UnknownNameError, match="unknown FPGA part 'xc7z02'.*did you mean 'xc7z020'"):
        load_part("xc7z02")
    bad = tmp_path / "bad.yaml"
    bad.write_text((load_part.__globals__["PRESETS"] / "xc7z020.yaml").read_text()
                   + "n_slices: 3\n")
    with pytest.raises(SpecError, match=r"bad.yaml: n_slices: unknown key; allowed: board, "):
        load_part(bad)
    neg = tmp_path / "neg.yaml"
    neg.write_text((load_part.__globals__["PRESETS"] / "xc7z020.yaml").read_text()
                   .replace("n_dsp: 220", "n_dsp: -5"))
    with pytest.raises(SpecError, match="neg.yaml: n_dsp: expected greater than or equal to 1, got -5"):
        load_part(neg)


@pytest.mark.parametrize("prim, w, a, expected", [
    (DspPrimitive.DSP48E2, 8, 8, 2),   # WP486: two int8 multiplies per DSP48E2
    (DspPrimitive.DSP48E1, 8, 8, 1),   # 25-bit port: no room for two int8 fields 18 bits apart
    (DspPrimitive.DSP48E2, 4, 8, 2),
    (DspPrimitive.DSP48E1, 4, 8, 2),
    (DspPrimitive.DSP48E1, 4, 4, 3),
    (DspPrimitive.DSP48E2, 16, 16, 1),
    (DspPrimitive.DSP48E2, 8, 20, 1),  # activation wider than the 18-bit B port
])
def test_packing_factor(prim, w, a, expected):
    assert packing_factor(prim, w, a) == expected


def test_dsp_per_lane_packed_unpacked_and_wide():
    assert dsp_per_lane(DspPrimitive.DSP48E2, 8, 8, packing=True) == 0.5
    assert dsp_per_lane(DspPrimitive.DSP48E2, 8, 8, packing=False) == 1
    assert dsp_per_lane(DspPrimitive.DSP48E1, 32, 32, packing=True) == 4  # 2 x 2 slice tiling


def test_lut_rules_hand_counts():
    assert mux_luts(4) == 1 and mux_luts(8) == 2 and mux_luts(16) == 4 and mux_luts(1) == 0
    # w4a8 power of two: product 8 + 6 + 1 = 15 bits, 8-input mux (2 LUTs) + negate (1) per bit
    assert pot_lane_luts(4, 8) == 45
    # 4 terms of 10 bits: 2 adders of 11 bits, then 1 of 12
    assert adder_tree_luts(4, 10) == 2 * 11 + 12
    assert adder_tree_luts(3, 10) == 11 + 12


def test_buffer_bram36_capacity_width_and_double_buffering():
    assert buffer_bram36(4608, 8) == 2                 # 1 BRAM of data, doubled
    assert buffer_bram36(4608, 8, double_buffered=False) == 1
    assert buffer_bram36(1024, 72 * 10) == 10          # width-bound: 10 ports of 72 bits
    assert buffer_bram36(0, 64) == 0


def test_tile_estimate_counts_one_dsp_per_fixed_product():
    spec = TileSpec(rows=4, cols=4, weight_bits=4, act_bits=8, pot_rows=2)
    est = tile_resources(spec, DspPrimitive.DSP48E1)
    assert est.n_dsp == 8 and est.n_lut > 0 and est.n_ff > 0
    assert set(est.breakdown) == {"controller", "lut_rows", "dsp_rows"}
