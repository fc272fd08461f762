"""The allocator: designs fit their part's budgets; a design that does not is a typed error."""

from __future__ import annotations

import math

import pytest

from accelerators.fpga.accelerator import AcceleratorSpec, Datapath, LutPe, allocate
from accelerators.fpga.factories import build_device, load_design
from accelerators.fpga.parts import load_part
from sim.spec import override, validate
from workloads import DoesNotFitError, SpecError


@pytest.mark.parametrize("part_name", ["xc7z020", "xc7z045", "xczu9eg"])
def test_default_design_fits_every_part_within_its_caps(part_name):
    part = load_part(part_name)
    spec = load_design()
    d = allocate(part, spec)
    assert d.dsp_rows > 0 and d.lut_rows > 0
    assert d.usage.n_dsp <= math.floor(part.n_dsp * spec.max_dsp_ratio)
    assert d.usage.n_lut <= math.floor(part.n_lut * spec.max_lut_ratio)
    assert d.usage.n_bram36 <= math.floor(part.n_bram36 * spec.max_bram_ratio)
    assert d.usage.n_ff <= part.n_ff
    assert d.clock_hz == part.max_clock_hz
    # Packing W4A8 gives two multiplies per slice on both DSP48E1 and DSP48E2.
    assert d.design_pack == 2
    assert d.dsp_slices_array == d.dsp_rows * math.ceil(spec.cols / 2)


def test_lut_rows_follow_the_design_mix_when_luts_allow():
    part = load_part("xczu9eg")
    spec = override(load_design(), {"lut_row_ratio": 0.2})
    d = allocate(part, spec)
    assert d.lut_rows == math.ceil(d.dsp_rows * 0.2 / 0.8)
    fixed_only = allocate(part, override(spec, {"lut_pe": LutPe.NONE, "lut_row_ratio": 0.0}))
    assert fixed_only.lut_rows == 0 and fixed_only.usage.breakdown.get("lut_array") is None


def test_design_that_does_not_fit_names_the_resource_and_overflow():
    part = load_part("xc7z020")
    spec = override(load_design(), {"dsp_rows": 40, "lut_rows": 1})
    # 40 rows x 32 slices = 1280 DSPs + 4 vector DSPs against 198 (90 % of 220).
    with pytest.raises(DoesNotFitError, match=r"design 'too-big' does not fit xc7z020 \(ZedBoard\): "
                       r"DSP slices needed 1,284 > 198 available \(90% of 220\), over by 1,086"):
        allocate(part, spec, name="too-big")
    luts = override(load_design(), {"dsp_rows": 1, "lut_rows": 50})
    with pytest.raises(DoesNotFitError, match=r"LUTs needed [\d,]+ > 39,900 available"):
        allocate(part, luts, name="lut-heavy")


def test_clock_above_the_part_is_refused():
    with pytest.raises(SpecError, match="clock 200 MHz exceeds xc7z020's 100 MHz"):
        allocate(load_part("xc7z020"), override(load_design(), {"clock_hz": 200e6}))


def test_float32_datapath_spends_pg060_dsps_per_lane():
    d = build_device("xczu9eg", AcceleratorSpec(datapath=Datapath.FLOAT32, lut_pe=LutPe.NONE,
                                                lut_row_ratio=0.0, cols=16)).design
    assert d.lut_rows == 0
    assert d.dsp_slices_array == d.dsp_rows * 16 * (3 + 2)


@pytest.mark.parametrize("changes, match", [
    (dict(cols=0), "d: cols: expected greater than or equal to 1, got 0"),
    (dict(cols=257), "d: cols: expected less than or equal to 256, got 257"),
    (dict(lut_row_ratio=1.5), r"d: lut_row_ratio: expected less than or equal to 1, got 1.5"),
    (dict(max_lut_ratio=0.0), r"d: max_lut_ratio: expected greater than 0, got 0.0"),
    (dict(lut_pe="none", lut_rows=3), r"d: lut_rows: expected null without a LUT array \(lut_pe "
                                      r"'none'\), got 3"),
    (dict(datapath="float32", lut_pe="none", lut_rows=3), r"d: lut_rows: expected null \(the "
                                                          r"float32 datapath has no LUT array\)"),
    (dict(datapath="float32", fp32_mul_dsp=0, fp32_add_dsp=0), r"d: fp32_add_dsp: expected an "
                                                               r"fp32 lane with DSP slices"),
    (dict(datapath="float64"), "d: datapath: expected 'quantized' or 'float32', got 'float64'"),
    (dict(dsp_rows=0), "d: dsp_rows: expected greater than or equal to 1, got 0"),
])
def test_bad_accelerator_specs_are_refused(changes, match):
    with pytest.raises(SpecError, match=match):
        validate(AcceleratorSpec, changes, where="d")
