"""The FPGA device: the sim.Device contract, hand-computed costs, and the zoo under compression."""

from __future__ import annotations

import builtins
import copy
import io
import math
import os

import pytest
import simpy

from accelerators.fpga.accelerator import AcceleratorSpec
from accelerators.fpga.device import SUPPORTED_KINDS, UNSUPPORTED_KINDS
from accelerators.fpga.factories import build_device, load_design
from accelerators.fpga.timing import tile_cycles
from sim import Cost, Device, Stream, simulate
from sim.spec import override
from workloads import (
    DoesNotFitError,
    NetworkBuilder,
    OpKind,
    UnsupportedOpError,
)
from workloads.ops import NeighbourAttrs
from workloads.zoo import deit_tiny, mobilenetv2, resnet18


def _every_kind_but_point_cloud():
    """A small network with every supported kind (transformer and CNN pieces)."""
    b = NetworkBuilder("kinds")
    x = b.input("image", (1, 8, 16, 16))
    x = b.conv2d(x, 16, 3, padding=1, name="c0")
    x = b.act(b.norm(x, "batch", name="bn0"), "relu", name="relu0")
    dw = b.conv2d(x, 16, 3, padding=1, groups=16, name="dw")
    s = b.add(dw, b.conv2d(x, 16, 1, name="pw"), name="res")
    s = b.pool(s, "max", 2, name="mp")
    s = b.pixel_shuffle(b.upsample(s, 2, mode="bilinear", name="up"), 2, name="ps")
    s = b.concat([s, s], name="cat")
    s = b.linear(b.reshape(b.global_pool(s, name="gap"), (1, 8), name="flat"), 10, name="fc")
    ids = b.input("ids", (1, 8))
    e = b.embedding(ids, 50, 32, name="emb")
    t = b.norm(e, "layer", name="ln")
    q, k = b.linear(t, 32, name="q"), b.linear(t, 32, name="k")
    att = b.softmax(b.matmul(q, b.transpose(k, (0, 2, 1), name="kT"), name="qk"), name="sm")
    t = b.mul(b.matmul(att, t, name="av"), weight_shape=(32,), name="scale")
    t = b.act(t, "gelu", name="gelu")
    return b.build(outputs=[s, t])


NET = _every_kind_but_point_cloud()
VARIANTS = {
    "fp32": NET,
    "block": NET.pruned("block", 0.5, block_shape=(4, 4)),
    "unstructured": NET.pruned("unstructured", 0.7),
    "pattern": NET.pruned("pattern", 0.5),
    "channel": NET.pruned("channel", 0.5),
    "int8": NET.quantized("fixed", weight_bits=8),
    "fp16": NET.quantized("float16"),
    "pot": NET.quantized("power_of_two", weight_bits=4, activation_bits=8),
    "mixed": NET.quantized("mixed", weight_bits=4, activation_bits=8, pot_ratio=0.5),
    "mp": NET.quantized("multi_precision", weight_bits=4, activation_bits=8, high_bits=8,
                        high_ratio=0.25),
    "fused": NET.quantized("fixed", weight_bits=8).fused(),
}
OPS = [op for net in VARIANTS.values() for op in net.ops]


def test_devices_declare_themselves(fpga_devices):
    for name, device in fpga_devices.items():
        assert isinstance(device, Device) and device.name == name
        assert device.description and device.targets == ("fpga",)
        assert [e.name for e in device.engines] == ["dsp_array", "lut_array", "vector", "ddr", "ps"]
        assert device.supported_kinds("fpga") == SUPPORTED_KINDS


def test_costs_are_well_formed_and_pure(fpga_devices):
    covered = {op.kind for op in OPS}
    assert covered == SUPPORTED_KINDS
    for device in fpga_devices.values():
        engines = {e.name for e in device.engines}
        for op in OPS:
            before = copy.deepcopy(op)
            cost = device.cost(op, "fpga")
            assert isinstance(cost, Cost)
            assert cost == device.cost(before, "fpga") and op == before
            for phase in cost.phases:
                assert phase.engine in engines and math.isfinite(phase.duration_s)
            assert all(math.isfinite(v) and v >= 0 for v in cost.energy_j.values())
            if not op.is_free:
                assert cost.latency_s > 0 and cost.bytes_moved["dram"] > 0


def test_costs_touch_no_files_and_no_simpy(zcu102, monkeypatch):
    def fail(*a, **k):
        raise AssertionError("cost() must be pure")

    for module, name in [(builtins, "open"), (io, "open"), (os, "open")]:
        monkeypatch.setattr(module, name, fail)
    monkeypatch.setattr(simpy.Environment, "__init__", fail)
    for op in OPS:
        zcu102.cost(op, "fpga")


def test_point_cloud_kinds_are_refused_all_at_once_before_the_run(zcu102):
    b = NetworkBuilder("pc")
    pts = b.input("points", (64, 3))
    c = b.op(OpKind.FPS, [pts], output_shape=(16, 3), name="fps")
    b.op(OpKind.KNN, [c, pts], NeighbourAttrs(k=4), output_shape=(16, 4), name="knn")
    with pytest.raises(UnsupportedOpError, match=r"fps on 'fpga'.*knn on 'fpga'"):
        simulate(Stream(network=b.build()), zcu102)
    assert UNSUPPORTED_KINDS.isdisjoint(SUPPORTED_KINDS)


def _tiny_design(**changes):
    spec = override(load_design(), dict(cols=8, dsp_rows=2, lut_rows=2, layer_overhead_cycles=0,
                                        **changes))
    return build_device("xc7z020", spec, name="tiny")


def _linear_net(quant_kwargs):
    b = NetworkBuilder("lin")
    b.linear(b.input("x", (1, 64)), 32, name="fc")
    return b.build().quantized(**quant_kwargs)


def test_hand_computed_mixed_linear():
    dev = _tiny_design()
    op = _linear_net(dict(scheme="mixed", weight_bits=4, activation_bits=8, pot_ratio=0.5))["fc"]
    plan = dev.gemm_plan(op)
    # 16 fixed rows on 2 DSP rows: 8 passes. 16 PoT rows: on the LUT array (2 rows) or on the
    # DSPs as 8-bit multiplies, where W4A8 packing is lost (1 effective row). Best: all 16 on
    # the LUTs (8 passes), so both arrays take 8 passes of one position.
    assert (plan.dsp_passes, plan.lut_passes, plan.lut_rows_assigned) == (8, 8, 16)
    assert plan.dsp_cycles == plan.lut_cycles == tile_cycles(2, 8, 64, 8) == 67
    cost = dev.cost(op, "fpga")
    by_engine = {p.engine: p.duration_s for p in cost.stages[0]}
    assert by_engine["dsp_array"] == pytest.approx(67 / 100e6)
    assert by_engine["lut_array"] == pytest.approx(67 / 100e6)
    # DDR: weights (2048 + 32 bias) x 4 bits = 1040 B prefetched; input 64 B + output 32 B.
    assert cost.prefetch[0].duration_s == pytest.approx(1040 / (4.264e9 * 0.7))
    assert by_engine["ddr"] == pytest.approx(96 / (4.264e9 * 0.7))
    assert cost.bytes_moved["dram"] == 1136
    detail = dev.energy_detail_j(op)
    assert cost.energy_j["off_chip"] == detail["dram"] == pytest.approx(1136 * 162.5e-12)
    assert detail["dsp"] == pytest.approx(
        8 * 8.0e-6 * 100 * 67 / 100e6)  # 8 slices x 8 uW/MHz x 100 MHz x 0.67 us
    assert cost.energy_j["mac"] == pytest.approx(
        detail["dsp"] + detail["array_logic"] + detail["control"])
    # Peak: 2 DSP rows (w4a8 fixed) + 2 LUT rows, 8 columns, 100 MHz.
    assert cost.peak_macs_per_s == pytest.approx((2 + 2) * 8 * 100e6)


def test_fixed_rows_stay_on_dsps_and_block_pruning_shortens_the_reduction():
    dev = _tiny_design()
    fixed = _linear_net(dict(scheme="fixed", weight_bits=4, activation_bits=8))["fc"]
    plan = dev.gemm_plan(fixed)
    assert (plan.dsp_passes, plan.lut_passes) == (16, 0)
    assert plan.dsp_cycles == tile_cycles(2, 8, 64, 16)
    b = NetworkBuilder("lin")
    b.linear(b.input("x", (1, 64)), 32, name="fc")
    pruned = b.build().pruned("block", 0.75, block_shape=(4, 4)).quantized(
        "fixed", weight_bits=4, activation_bits=8)["fc"]
    assert dev.gemm_plan(pruned).k_eff == 16
    assert dev.gemm_plan(pruned).dsp_cycles == tile_cycles(2, 8, 16, 16)


def test_rows_that_fit_no_array_are_a_typed_error():
    # W4A4 on DSP48E1 packs 3 per slice; one DSP row cannot run 16-bit (float) rows at all.
    dev = build_device("xc7z020", AcceleratorSpec(weight_bits=4, act_bits=4, cols=8, dsp_rows=1,
                                                  lut_rows=1), name="one-row")
    op = _linear_net(dict(scheme="float16"))["fc"]
    with pytest.raises(DoesNotFitError, match="op 'fc': 32 rows at its bit-widths fit neither"):
        dev.cost(op, "fpga")


def test_mixed_beats_fixed_and_lut_array_matters_on_the_zcu102(zcu102):
    net = deit_tiny(resolution=64)
    fixed = simulate(net.quantized("fixed", weight_bits=4, activation_bits=8).fused(), zcu102)
    mixed = simulate(net.quantized("mixed", weight_bits=4, activation_bits=8,
                                   pot_ratio=0.5).fused(), zcu102)
    assert mixed.latency_s < fixed.latency_s
    assert mixed.busy_s()["lut_array"] > 0 and fixed.busy_s().get("lut_array", 0) == 0


COMPRESSIONS = {
    "block+w8a8": lambda n: n.pruned("block", 0.5).quantized("fixed", weight_bits=8),
    "channel+mixed": lambda n: n.pruned("channel", 0.5).quantized(
        "mixed", weight_bits=4, activation_bits=8, pot_ratio=0.5),
}


@pytest.mark.parametrize("builder", [resnet18, mobilenetv2, deit_tiny],
                         ids=["resnet18", "mobilenetv2", "deit-tiny"])
def test_zoo_models_run_under_compression_on_every_part(builder, fpga_devices):
    net = builder(resolution=96)
    for device in fpga_devices.values():
        for make in COMPRESSIONS.values():
            report = simulate(make(net).fused(), device)
            assert 0 < report.latency_s < 10 and 0 < report.energy_j < 100
            assert report.energy_by_component_j["static"] > 0
