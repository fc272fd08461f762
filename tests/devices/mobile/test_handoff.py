"""The mobile boards' GPU<->CPU hand-off (`MobileBoard.transfer`), hand-computed from the spec."""

from __future__ import annotations

import pytest

from devices.mobile.device import FAMILY
from sim import Stream, simulate
from workloads import NetworkBuilder, SpecError

S20 = FAMILY.device("snapdragon865")


def test_gpu_to_cpu_hand_off_is_sync_plus_bytes_over_rate():
    # Preset: 50 us sync, 11.2 GB/s; LPDDR5 44 GB/s at 32 pJ/B. 819,200 B = 256 x 40 x 40 fp16.
    cost = S20.transfer(819_200, "gpu", "cpu")
    (unit, dram), = cost.stages
    assert unit.engine == "cpu" and unit.label == "transfer"
    assert unit.duration_s == pytest.approx(50e-6 + 819_200 / 11.2e9)  # 123.1 us
    assert dram.engine == "dram" and dram.duration_s == pytest.approx(2 * 819_200 / 44e9)
    assert cost.latency_s == pytest.approx(123.143e-6, rel=1e-4)
    assert cost.energy_j["off_chip"] == pytest.approx(2 * 819_200 * 32e-12)
    assert cost.bytes_moved["dram"] == 2 * 819_200


def test_cpu_clusters_hand_off_for_free_and_a_board_without_handoff_too():
    assert S20.transfer(10_000, "cpu", "cpu_little").stages == ()
    nano = FAMILY.device("jetson_nano")
    assert nano.spec.handoff is None
    assert nano.transfer(10_000, nano.targets[0], nano.targets[1]).stages == ()
    with pytest.raises(SpecError, match="no unit 'npu'"):
        S20.transfer(10, "gpu", "npu")


def test_co_executed_pair_pays_the_hand_off_in_the_run():
    b = NetworkBuilder("pair")
    x = b.input("x", (1, 64, 20, 20))
    a = b.conv2d(x, 64, 3, padding=1, name="a")
    b.conv2d(a, 64, 3, padding=1, name="b")
    net = b.build()
    alone = {r.op: r for r in simulate(net, S20).ops}
    co = {r.op: r for r in simulate(Stream(network=net, placement={"b": "cpu"}), S20).ops}
    cpu_b = S20.cost(net.ops[1], "cpu").latency_s
    hand_off = S20.transfer(net.ops[0].output_bytes, "gpu", "cpu").latency_s
    assert co["b"].end_s - co["b"].start_s == pytest.approx(hand_off + cpu_b, rel=1e-9)
    assert co["a"].end_s == pytest.approx(alone["a"].end_s)
