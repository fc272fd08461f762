"""Peak-memory accounting on hand-computed networks, MCUNetV2's MobileNetV2 figures, fit errors."""

from __future__ import annotations

import pytest

from devices.mcu.memory import plan, require_fit
from devices.mcu.spec import KB
from sim.spec import override
from tests.devices.mcu.conftest import residual_block
from workloads import DoesNotFitError, NetworkBuilder, UnsupportedOpError
from workloads.zoo import mobilenetv2


def test_residual_block_by_hand(reserve_1000):
    p = plan(residual_block(), reserve_1000)
    rows = {r.name: r for r in p.rows}
    assert [r.name for r in p.rows] == ["expand", "dw", "project+add"]
    # expand: x (256 B, kept for the residual) + its output (8x8x8 = 512 B)
    assert rows["expand"].activation_bytes == 256 + 512
    # dw in place: x 256 + max(512, 512) + one 8x8 plane = 832; scratch 8 * 3 * 3 * 2 = 144
    assert rows["dw"].activation_bytes == 832
    assert rows["dw"].scratch_bytes == 144
    # project+add writes over the dying residual x: dw out 512 + x 256 = 768
    assert rows["project+add"].activation_bytes == 768
    assert (p.peak_op, p.peak_bytes, p.peak_activation_bytes) == ("dw", 832 + 144 + 1000, 832)
    # flash: weights + 12 B per output channel (bias, multiplier, shift)
    assert [r.flash_bytes for r in p.rows] == [32 + 96, 72 + 96, 32 + 48]
    assert p.weight_flash_bytes == 376


def test_without_in_place_depthwise_the_layer_holds_input_and_output(reserve_1000):
    spec = override(reserve_1000, {"in_place_depthwise": False})
    rows = {r.name: r for r in plan(residual_block(), spec).rows}
    assert rows["dw"].activation_bytes == 256 + 512 + 512


def test_mobilenetv2_matches_mcunetv2_exactly(f746):
    """MCUNetV2 Fig. 1 / Sec. 2: 1372 kB = 112x112x(16+96) B at block 2's expand conv, and the
    first conv's input + output is 539 kB (kB = 1024 B). Analytic: must be exact."""
    p = plan(mobilenetv2(), f746)
    assert p.peak_activation_bytes == 112 * 112 * (16 + 96) == 1372 * KB
    assert p.peak_op == "features.2.conv.0.0+1+2"
    assert p.rows[0].activation_bytes == 224 * 224 * 3 + 112 * 112 * 32 == 539 * KB
    assert p.peak_bytes == 1372 * KB + f746.runtime_reserve_bytes


def test_quantized_bit_widths_are_kept(f746):
    # int4 weights pack two per byte in flash; activations stay int8
    p8 = plan(residual_block(), f746)
    p4 = plan(residual_block().quantized("fixed", weight_bits=4, activation_bits=8), f746)
    assert p8.weight_flash_bytes - p4.weight_flash_bytes == (32 + 72 + 32) // 2
    assert p4.peak_activation_bytes == p8.peak_activation_bytes


def test_fit_error_names_op_tensor_and_overflow(f746):
    p = plan(mobilenetv2(), f746)
    assert not p.fits
    with pytest.raises(DoesNotFitError, match=(
            r"SRAM overflows by 1060\.0 kB at op 'features\.2\.conv\.0\.0\+1\+2'.*largest tensor "
            r"'features\.2\.conv\.0\.0\+1\+2' \(1176\.0 kB\); flash overflows by 2640\.0 kB")):
        require_fit(p)


def test_small_network_fits(f746):
    assert require_fit(plan(residual_block(), f746)).fits


def test_point_cloud_ops_are_refused_at_once(f746):
    b = NetworkBuilder("pc")
    pts = b.input("p", (64, 3))
    b.op("fps", [pts], output_shape=(16, 3), name="fps")
    with pytest.raises(UnsupportedOpError, match=r"no kernels for \['fps'\]"):
        plan(b.build(), f746)
