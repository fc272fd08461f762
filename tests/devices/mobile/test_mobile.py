"""Mobile boards: the cost formula by hand, the trade-offs between schemes, calibration cases."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from devices.mobile import BoardSpec, ComputeUnitSpec, CoreGroup, KernelEfficiency, MobileBoard
from devices.mobile import FAMILY, SparseExecution
from devices.mobile.spec import UnitKind
from devices.mobile.calibrate import CASES, latency_s
from devices.mobile.kernels import KernelClass, dram_traffic_bytes, kernel_class, padded_macs
from sim import Stream, simulate
from workloads import NetworkBuilder, SpecError, UnknownNameError
from workloads.zoo import deit_tiny, mobilenetv2, resnet18

US = 1e-6


def unit(**changes) -> ComputeUnitSpec:
    base = dict(
        name="gpu", kind=UnitKind.GPU,
        cores=(CoreGroup(n_cores=1, freq_hz=1e9, fp32_macs_per_cycle=1, fp16_macs_per_cycle=2,
                         int8_macs_per_cycle=4),),
        vector_ops_per_cycle=1, cache_bytes=1 << 20, register_block=8, occupancy_items=1,
        launch_overhead_s=10 * US, dram_fraction=1.0, active_power_w=2.0, static_power_w=0.0,
        cache_energy_pj_per_byte=1.0,
        efficiency=KernelEfficiency(conv3x3=0.5, conv1x1=0.5, depthwise=0.25, gemm=0.5,
                                    attention=0.5, elementwise=0.5, softmax_norm=0.5),
        sparse=SparseExecution(unstructured_efficiency=0.25, pattern_efficiency=0.8,
                               block_efficiency=1.0, block_half_area=4, channel_align=4),
    )
    return ComputeUnitSpec(**{**base, **changes})


def board(*units) -> MobileBoard:
    return MobileBoard(BoardSpec(name="test", description="round numbers", source="test",
                                 units=units or (unit(),), dram_bytes_per_s=1e9,
                                 dram_energy_pj_per_byte=10.0, node_nm=7))


def conv1x1_net():
    b = NetworkBuilder("pw")
    x = b.input("x", (1, 64, 8, 8))
    b.conv2d(x, 64, 1, name="pw")
    return b.build()


def test_cost_of_a_pointwise_conv_by_hand():
    # 64 x 64 x 64 = 262,144 MACs at 1 GMAC/s x 0.5 = 524.288 us, + 10 us launch.
    # DRAM: input, weights and output 16,384 B each = 49,152 B at 1 GB/s = 49.152 us (overlapped).
    op = conv1x1_net()["pw"]
    cost = board().cost(op, "gpu")
    (stage,) = cost.stages
    assert [p.engine for p in stage] == ["gpu", "dram"]
    assert [p.duration_s for p in stage] == pytest.approx([534.288 * US, 49.152 * US])
    assert cost.bound_by == "compute"
    assert cost.bytes_moved["dram"] == 49_152
    # compute energy = 2 W x 524.288 us; DRAM 49,152 B x 10 pJ.
    assert cost.energy_j["mac"] == pytest.approx(2.0 * 524.288e-6)  # no vector ops: all MAC time
    assert cost.energy_j["off_chip"] == pytest.approx(49_152 * 10e-12)
    assert simulate(conv1x1_net(), board()).latency_s == pytest.approx(534.288 * US)


def test_tiling_traffic_by_hand():
    assert dram_traffic_bytes(100, 1000, 10, 2000, reuse=True) == 1110  # fits
    # Input (100 B) stays resident in halves of a 100 B cache: 2 passes over the weights.
    assert dram_traffic_bytes(100, 1000, 10, 100, reuse=True) == 100 + 2 * 1000 + 10
    assert dram_traffic_bytes(100, 1000, 10, 100, reuse=False) == 1110


def test_kernel_classes_and_channel_padding():
    net = mobilenetv2()
    assert kernel_class(net["features.1.conv.0.0"]) is KernelClass.DEPTHWISE
    assert kernel_class(net["features.1.conv.1"]) is KernelClass.CONV1X1
    assert kernel_class(net["features.0.0"]) is KernelClass.CONV3X3
    assert kernel_class(net["classifier.1"]) is KernelClass.GEMV  # one row: matrix-vector
    assert kernel_class(deit_tiny()["blocks.0.mlp.fc1"]) is KernelClass.GEMM  # 197 token rows
    # A 30-channel layer pads to 32 on 4-lane SIMD: 32/30 more MAC time.
    b = NetworkBuilder("odd")
    x = b.input("x", (1, 32, 4, 4))
    b.conv2d(x, 30, 1, name="c")
    op = b.build()["c"]
    assert padded_macs(op, 4) == pytest.approx(op.macs * 32 / 30)


def test_unstructured_sparsity_pays_only_at_high_ratios():
    dev = FAMILY.device("snapdragon865")
    dense = latency_s(dev, "cpu", resnet18())
    at_50 = latency_s(dev, "cpu", resnet18().pruned("unstructured", 0.5))
    at_90 = latency_s(dev, "cpu", resnet18().pruned("unstructured", 0.9))
    block_90 = latency_s(dev, "cpu", resnet18().pruned("block", 0.9))
    assert at_50 == pytest.approx(dense, rel=0.02)  # CSR slower than dense: runtime keeps dense
    assert at_90 < 0.75 * dense  # a real gain at 90 %
    assert block_90 < at_90  # but regular blocks win at the same ratio


def test_block_and_pattern_are_near_proportional():
    dev = FAMILY.device("snapdragon865")
    dense = latency_s(dev, "gpu", resnet18())
    block = latency_s(dev, "gpu", resnet18().pruned("block", 0.75, block_shape=(8, 8)))
    tiny_blocks = latency_s(dev, "gpu", resnet18().pruned("block", 0.75, block_shape=(1, 2)))
    pattern = latency_s(dev, "gpu", resnet18().pruned("pattern", 0.75))
    assert 2.0 < dense / block < 4.0
    assert tiny_blocks > block  # small blocks are irregular
    assert pattern < dense and pattern > block  # only the 3x3 convs are pattern-pruned


def test_channel_pruning_is_a_smaller_dense_network():
    dev = FAMILY.device("snapdragon865")
    full, half = resnet18(), resnet18().pruned("channel", 0.5)
    assert latency_s(dev, "cpu", half) < 0.75 * latency_s(dev, "cpu", full)


def test_datatypes_follow_the_datapaths():
    dev = FAMILY.device("snapdragon865")
    net = resnet18()
    fp32 = latency_s(dev, "cpu", net)
    fp16 = latency_s(dev, "cpu", net.quantized("float16"))
    int8 = latency_s(dev, "cpu", net.quantized("fixed", weight_bits=8))
    int4 = latency_s(dev, "cpu", net.quantized("fixed", weight_bits=4, activation_bits=8))
    assert int8 < fp16 < fp32  # A77: 32 / 16 / 8 MACs per cycle
    assert int4 <= int8  # unpacked to int8: fewer bytes, no more MACs per cycle
    gpu_fp16 = latency_s(dev, "gpu", net.quantized("float16"))
    gpu_int8 = latency_s(dev, "gpu", net.quantized("fixed", weight_bits=8))
    assert gpu_int8 == pytest.approx(gpu_fp16, rel=0.15)  # Adreno: no int8 dot product


def test_fusion_saves_launches_and_traffic():
    dev = FAMILY.device("snapdragon865")
    net = mobilenetv2()
    plain = simulate(Stream(network=net, target="gpu"), dev)
    fused = simulate(Stream(network=net.fused(), target="gpu"), dev)
    assert fused.latency_s < 0.8 * plain.latency_s
    assert fused.bytes_by_level["dram"] < plain.bytes_by_level["dram"]


def test_cpu_and_gpu_streams_share_dram():
    # A memory-bound network alone on each unit, then both at once: the shared 'dram' engine
    # makes the pair slower than either alone.
    b = NetworkBuilder("copy")
    x = b.input("x", (1, 64, 256, 256))
    y = b.act(x, "relu", name="r0")
    b.act(y, "relu", name="r1")
    net = b.build()
    dev = board(unit(name="gpu"), unit(name="cpu", kind=UnitKind.CPU))
    alone = simulate(Stream(network=net, target="gpu"), dev).latency_s
    both = simulate([Stream(network=net, name="g", target="gpu"),
                     Stream(network=net, name="c", target="cpu")], dev)
    assert max(f.latency_s for f in both.frames) > 1.5 * alone


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.preset}-{c.target}")
def test_calibrated_cases_within_5_percent(case):
    # The presets' efficiency scales were solved on these cases (devices/mobile/calibrate.py);
    # 5 % holds the rounding of the pasted efficiencies.
    sim = latency_s(FAMILY.device(case.preset), case.target, case.build())
    assert sim == pytest.approx(case.latency_s, rel=0.05)


def test_presets_and_errors():
    for name in ("snapdragon865", "snapdragon888", "snapdragon835", "jetson_nano", "jetson_agx_xavier"):
        dev = FAMILY.device(name)
        assert dev.targets[0] in ("gpu", "cpu") and dev.engines[-1].name == "dram"
        assert "source" not in dev.description
    with pytest.raises(UnknownNameError, match="unknown mobile preset 'snapdragon86' .*did you mean"):
        FAMILY.device("snapdragon86")
    with pytest.raises(SpecError, match="has no unit 'npu'"):
        FAMILY.device("snapdragon865").cost(resnet18().ops[0], "npu")
    # Specs are pydantic models: Python construction is validated by the fields' declarations.
    with pytest.raises(ValidationError, match=r"dram_fraction\n.*less than or equal to 1"):
        unit(dram_fraction=1.5)
    with pytest.raises(ValidationError, match="unit names that are unique"):
        board(unit(), unit())
    with pytest.raises(ValidationError, match=r"n_cores\n.*greater than or equal to 1"):
        CoreGroup(**{**unit().cores[0].model_dump(), "n_cores": 0})


def test_fewer_threads_take_longer_and_fill_fast_cores_first():
    dev = FAMILY.device("snapdragon865")
    one = dev.with_threads("cpu", 1)
    assert one.spec.unit("cpu").peak_macs_per_s("fp32") == pytest.approx(2.84e9 * 8)  # the prime
    t4, t2, t1 = (latency_s(dev.with_threads("cpu", n), "cpu", resnet18()) for n in (4, 2, 1))
    assert t1 > t2 > t4
    with pytest.raises(SpecError, match="threads must be 1..4"):
        dev.with_threads("cpu", 5)


def test_cache_energy_defaults_to_the_sram_table_at_the_cache_size_and_node():
    # Horowitz ISSCC 2014 Fig. 1.1.9: a 64-bit access of a 1 MB SRAM is 100 pJ at 45 nm, so
    # 12.5 pJ/B, x 7/45 at the board's 7 nm = 1.9444 pJ/B; a set figure still overrides it.
    op = conv1x1_net()["pw"]
    table = board(unit(cache_energy_pj_per_byte=None))
    assert table.cache_pj_per_byte("gpu") == pytest.approx(12.5 * 7 / 45)
    cost, fixed = table.cost(op, "gpu"), board().cost(op, "gpu")
    assert cost.energy_j["on_chip"] == pytest.approx(cost.bytes_moved["cache"] * 12.5 * 7 / 45e12)
    assert fixed.energy_j["on_chip"] == pytest.approx(fixed.bytes_moved["cache"] * 1.0e-12)
    assert cost.stages == fixed.stages  # energy only: the phases and their times do not move


def test_presets_price_their_caches_from_the_table():
    # Jetson Nano: Cortex-A57 L2 2 MB, Maxwell L2 256 kB, 20 nm. Beyond 1 MB the table extends
    # its 32 kB - 1 MB segment, 20 -> 100 pJ: exponent ln 5 / ln 32; 256 kB is on that segment.
    alpha = math.log(5) / math.log(32)
    nano = FAMILY.device("jetson_nano")
    assert nano.cache_pj_per_byte("cpu") == pytest.approx(12.5 * 2 ** alpha * 20 / 45)
    assert nano.cache_pj_per_byte("gpu") == pytest.approx(2.5 * 8 ** alpha * 20 / 45)
    assert all(u.cache_energy_pj_per_byte is None for u in nano.spec.units)
