"""Cross-target hand-offs in the engine, against hand-computed timelines.

A toy two-unit device (`gpu`, `cpu`) prices each op by name and each hand-off as
`2 us + n_bytes / 1 GB/s` on the destination unit, with 0.1 nJ per byte of off-chip energy.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from sim import Cost, EngineSpec, Phase, PhaseLabel, Stream, simulate
from sim.device import DeviceBase, transfer_cost
from tests.helpers import FixedCostDevice
from workloads import NetworkBuilder, SpecError

US = 1e-6
SYNC_S = 2 * US
BYTES_PER_S = 1e9
PJ_PER_BYTE = 100.0


@dataclass(frozen=True)
class TwoUnits(FixedCostDevice):
    engines: tuple = (EngineSpec(name="gpu"), EngineSpec(name="cpu"))
    targets: tuple = ("gpu", "cpu")
    name: str = "two-units"

    def transfer(self, n_bytes, source, dest):
        return Cost.serial(Phase(dest, SYNC_S + n_bytes / BYTES_PER_S, PhaseLabel.TRANSFER),
                           energy_j={"off_chip": n_bytes * PJ_PER_BYTE * 1e-12},
                           bytes_moved={"dram": n_bytes})


class PerTarget(TwoUnits):
    """Costs by op name, on whichever unit the op is placed: `us` x 1 on gpu, x `cpu_factor`."""

    def cost(self, op, target):
        us = self.costs[op.name]
        factor = 1.0 if target == "gpu" else 2.0
        return Cost.serial(Phase(target, us * factor * US), energy_j={"mac": 1e-9})


def _pair():
    # x(1, 250) fp32 -> a (linear, 1000 B out) -> b: a's output is 250 x 4 = 1,000 bytes.
    b = NetworkBuilder("pair")
    x = b.input("x", (1, 250))
    a = b.linear(x, 250, name="a")
    b.linear(a, 250, name="b")
    return b.build()


def test_two_ops_on_two_targets_pay_the_stated_transfer():
    device = PerTarget(costs={"a": 10.0, "b": 5.0})
    report = simulate(Stream(network=_pair(), placement={"b": "cpu"}), device)
    a, b = report.ops
    # a: 10 us on gpu. b reads 1,000 B made on gpu: hand-off 2 us + 1,000 B / 1 GB/s = 3 us on
    # the cpu, then its own 5 us x 2 (cpu) = 10 us: ends at 10 + 3 + 10 = 23 us.
    assert (a.target, b.target) == ("gpu", "cpu")
    assert a.end_s == pytest.approx(10 * US)
    assert b.start_s == pytest.approx(10 * US) and b.end_s == pytest.approx(23 * US)
    assert report.latency_s == pytest.approx(23 * US)
    assert [(e, label) for e, label, *_ in b.phases] == [("cpu", "transfer"), ("cpu", "compute")]
    assert b.phases[0][3] - b.phases[0][2] == pytest.approx(3 * US)
    # Energy: two MAC nJ plus the hand-off's 1,000 B x 0.1 nJ/B = 0.1 uJ off chip.
    assert report.energy_by_component_j["off_chip"] == pytest.approx(1000 * PJ_PER_BYTE * 1e-12)
    assert report.energy_by_component_j["mac"] == pytest.approx(2e-9)
    assert report.bytes_by_level["dram"] == 1000


def test_single_target_run_has_no_transfer():
    device = PerTarget(costs={"a": 10.0, "b": 5.0})
    for placement in ({}, {"a": "cpu", "b": "cpu"}):
        report = simulate(Stream(network=_pair(), placement=placement), device)
        assert all(label != "transfer" for r in report.ops for _, label, *_ in r.phases)
        assert "off_chip" not in report.energy_by_component_j
    assert simulate(_pair(), device).latency_s == pytest.approx(15 * US)


def _fork_join():
    # f -> (x on one path, y on the other) -> z = x + y; every tensor is (1, 250) fp32 = 1,000 B.
    b = NetworkBuilder("forkjoin")
    inp = b.input("in", (1, 250))
    f = b.linear(inp, 250, name="f")
    x = b.linear(f, 250, name="x")
    y = b.linear(f, 250, name="y")
    b.add(x, y, name="z")
    return b.build()


def test_parallel_branches_on_two_targets_overlap():
    device = PerTarget(costs={"f": 10.0, "x": 20.0, "y": 4.0, "z": 5.0})
    gpu_only = simulate(_fork_join(), device)
    # One unit: f, x, y, z in series: 10 + 20 + 4 + 5 = 39 us.
    assert gpu_only.latency_s == pytest.approx(39 * US)
    co = simulate(Stream(network=_fork_join(), placement={"y": "cpu"}), device)
    rows = {r.op: r for r in co.ops}
    # y on the cpu beside x: hand-off of f's 1,000 B (3 us) then 4 x 2 = 8 us: 10 -> 21 us,
    # while x runs 10 -> 30 us on the gpu. z waits for both (30 us), takes y's 1,000 B back
    # (3 us on the gpu), then adds: 30 + 3 + 5 = 38 us.
    assert rows["y"].start_s == pytest.approx(10 * US) and rows["y"].end_s == pytest.approx(21 * US)
    assert rows["x"].start_s == pytest.approx(10 * US) and rows["x"].end_s == pytest.approx(30 * US)
    assert rows["y"].start_s < rows["x"].end_s  # the two branches overlap in time
    assert rows["z"].start_s == pytest.approx(30 * US) and rows["z"].end_s == pytest.approx(38 * US)
    assert [label for _, label, *_ in rows["z"].phases] == ["transfer", "compute"]
    assert co.latency_s == pytest.approx(38 * US)
    # Two hand-offs of 1,000 B each.
    assert co.energy_by_component_j["off_chip"] == pytest.approx(2 * 1000 * PJ_PER_BYTE * 1e-12)


def test_one_hand_off_per_source_target_covers_all_its_tensors():
    # z reads x and y, both made on the cpu: one synchronisation for 2,000 B (2 + 2 = 4 us).
    device = PerTarget(costs={"f": 10.0, "x": 20.0, "y": 4.0, "z": 5.0})
    co = simulate(Stream(network=_fork_join(), placement={"x": "cpu", "y": "cpu"}), device)
    z = next(r for r in co.ops if r.op == "z")
    transfer = [(a, b) for _, label, a, b in z.phases if label == "transfer"]
    assert len(transfer) == 1 and transfer[0][1] - transfer[0][0] == pytest.approx(4 * US)


def test_a_device_without_transfer_hands_off_for_free():
    device = FixedCostDevice(costs={}, engines=(EngineSpec(name="gpu"), EngineSpec(name="cpu")),
                             targets=("gpu", "cpu"))
    assert transfer_cost(device, 1000, "gpu", "cpu") == Cost(stages=())
    assert DeviceBase().transfer(1000, "gpu", "cpu") == Cost(stages=())
    report = simulate(Stream(network=_pair(), placement={"b": "cpu"}), device)
    assert report.latency_s == 0.0


def test_a_transfer_on_an_undeclared_engine_is_refused():
    class Bad(PerTarget):
        def transfer(self, n_bytes, source, dest):
            return Cost.serial(Phase("bus", 1 * US, PhaseLabel.TRANSFER))

    with pytest.raises(SpecError, match="engine 'bus'"):
        simulate(Stream(network=_pair(), placement={"b": "cpu"}), Bad(costs={"a": 1.0, "b": 1.0}))


def test_contract_checks_hand_offs():
    from sim.contract import check_device

    class Shrinking(PerTarget):
        def transfer(self, n_bytes, source, dest):  # less time for more bytes: unphysical
            return Cost.serial(Phase(dest, 1e-3 / n_bytes, PhaseLabel.TRANSFER))

    found = [str(v) for v in check_device(Shrinking(costs={}))
             if "transfer" in str(v)]
    assert found == [f"[monotone] {d}/transfer {s}->{d}: 1 MB takes less time or energy than 1 kB"
                     for s, d in (("gpu", "cpu"), ("cpu", "gpu"))]
    device = TwoUnits(costs={})
    assert [v for v in check_device(device, targets=("gpu",)) if "transfer" in str(v)] == []
