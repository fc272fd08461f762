"""The engine against hand-computed timelines."""

from __future__ import annotations

import math

import pytest

from devices.roofline import RooflineDevice
from sim import Cost, EngineSpec, Phase, Stream, simulate
from tests.helpers import FixedCostDevice, chain, unit_spec as spec
from workloads import NetworkBuilder, OpKind, SpecError, UnsupportedOpError

US = 1e-6
MS = 1e-3




def test_serial_chain_on_roofline_is_sum_of_per_op_rooflines():
    # Each linear 100 -> 100 with bias, fp32: 10,000 MACs = 10 us at 1 GMAC/s.
    # Bytes: input 400 + output 400 + weights (100*100 + 100) * 4 = 40,400 -> 41,200 B = 41.2 us
    # at 1 GB/s, so each op is memory bound at 41.2 us (+ 1 us overhead); three in series.
    report = simulate(chain(3), RooflineDevice(spec(op_overhead_s=1 * US)))
    assert report.latency_s == pytest.approx(3 * 42.2 * US, rel=1e-9)
    assert [r.op for r in report.ops] == ["l0", "l1", "l2"]
    assert report.ops[1].start_s == pytest.approx(42.2 * US)
    assert all(r.bound_by == "memory" for r in report.ops)
    # Energy: DRAM at 1300 pJ / 8 B, MACs at fp32 (3.7 + 0.9 pJ), Horowitz 45 nm.
    assert report.energy_by_component_j["off_chip"] == pytest.approx(3 * 41_200 * 162.5e-12)
    assert report.energy_by_component_j["mac"] == pytest.approx(3 * 10_000 * 4.6e-12)


def _two_branches():
    b = NetworkBuilder("branches")
    x = b.input("x", (1, 100))
    a = b.linear(x, 100, name="a")
    c = b.linear(x, 100, name="c")
    b.add(a, c, name="sum")
    return b.build()


@pytest.mark.parametrize("units, expected_us", [(1, 41.2 + 41.2 + 1.2), (2, 41.2 + 1.2)])
def test_independent_branches_overlap_only_with_two_engines(units, expected_us):
    # add: 100 vector ops = 0.1 us; bytes 2 * 400 in + 400 out = 1200 B = 1.2 us (memory bound).
    report = simulate(_two_branches(), RooflineDevice(spec(n_compute_units=units)))
    assert report.latency_s == pytest.approx(expected_us * US, rel=1e-9)


def test_weight_prefetch_overlaps_previous_compute():
    # op l0: weights 5 us on DMA, then 10 us compute; l1 likewise. l1's weight load may start
    # once l0 has started (t = 5), so it is hidden: 5 + 10 + 10 = 25 us, not 30.
    op_cost = Cost(stages=((Phase("compute", 10 * US),),), prefetch=(Phase("dma", 5 * US, "weights"),))
    device = FixedCostDevice(costs={"l0": op_cost, "l1": op_cost})
    report = simulate(chain(2), device)
    assert report.latency_s == pytest.approx(25 * US)
    l1 = next(r for r in report.ops if r.op == "l1")
    assert [(e, lb) for e, lb, *_ in l1.phases] == [("dma", "weights"), ("compute", "compute")]
    assert l1.phases[0][2:] == pytest.approx((5 * US, 10 * US))
    assert l1.start_s == pytest.approx(15 * US)


def test_phases_of_one_stage_run_concurrently():
    # load 3 us; then compute 10 us alongside a 4 us store stream; stage ends at the slower.
    cost = Cost(stages=((Phase("dma", 3 * US, "load"),),
                        (Phase("compute", 10 * US), Phase("dma", 4 * US, "store"))))
    report = simulate(chain(1), FixedCostDevice(costs={"l0": cost}))
    assert report.latency_s == pytest.approx(13 * US)
    assert report.busy_s() == pytest.approx({"dma": 7 * US, "compute": 10 * US})


def test_separate_dma_roofline_hides_weight_loads():
    # With separate DMA: weights (40,400 B = 40.4 us) prefetch; activations (800 B = 0.8 us)
    # stream beside 10 us of compute. l0 loads weights 0 -> 40.4, then computes 40.4 -> 50.4
    # while its activations hold the DMA 40.4 -> 41.2. l1's weight load queues behind them:
    # 41.2 -> 81.6, overlapping l0's compute, and l1 computes 81.6 -> 91.6 (not 40.4 x 2 + 20
    # + 1.6 = 102.4 as without overlap).
    report = simulate(chain(2), RooflineDevice(spec(separate_dma=True)))
    assert report.latency_s == pytest.approx(91.6 * US, rel=1e-9)
    l1 = next(r for r in report.ops if r.op == "l1")
    assert l1.phases[0][:2] == ("dma", "weights")
    assert l1.phases[0][2:] == pytest.approx((41.2 * US, 81.6 * US))


def test_periodic_stream_queues_and_misses_deadlines():
    # 30 ms per frame, a frame every 20 ms: the queue grows by 10 ms a frame.
    # Latencies 30, 40, 50, 60 ms; with a 45 ms deadline the last two miss.
    device = FixedCostDevice(costs={"l0": Cost.serial(Phase("compute", 30 * MS))})
    stream = Stream(network=chain(1), period_s=20 * MS, n_frames=4, deadline_s=45 * MS)
    report = simulate(stream, device)
    assert [f.latency_s for f in report.frames] == pytest.approx([30 * MS, 40 * MS, 50 * MS, 60 * MS])
    assert [f.missed for f in report.frames] == [False, False, True, True]
    (stats,) = report.stream_stats()
    assert stats.deadline_misses == 2
    assert stats.p50_latency_s == pytest.approx(45 * MS)
    assert stats.max_latency_s == pytest.approx(60 * MS)
    assert report.duration_s == pytest.approx(120 * MS)
    assert report.throughput_per_s == pytest.approx(4 / 0.120)


def test_priority_decides_a_contended_engine():
    # Both streams release at 0; 'urgent' (priority 0) must run first even though 'bulk' was
    # declared first, then 'bulk' waits 10 ms.
    device = FixedCostDevice(costs={"l0": Cost.serial(Phase("compute", 10 * MS))})
    bulk = Stream(network=chain(1, name="bulk"), priority=5)
    urgent = Stream(network=chain(1, name="urgent"), priority=0)
    report = simulate([bulk, urgent], device)
    lat = {f.stream: f.latency_s for f in report.frames}
    assert lat == pytest.approx({"urgent": 10 * MS, "bulk": 20 * MS})
    bulk_op = next(r for r in report.ops if r.stream == "bulk")
    assert bulk_op.wait_s == pytest.approx(10 * MS)


def test_static_energy_covers_the_whole_stream_window():
    engines = (EngineSpec(name="compute", static_power_w=2.0),)
    device = FixedCostDevice(
        costs={"l0": Cost.serial(Phase("compute", 1 * MS), energy_j={"mac": 1e-3})}, engines=engines
    )
    report = simulate(Stream(network=chain(1), period_s=10 * MS, n_frames=3), device)
    # window = 3 periods = 30 ms; static 2 W x 30 ms = 60 mJ; dynamic 3 x 1 mJ.
    assert report.duration_s == pytest.approx(30 * MS)
    assert report.energy_by_component_j == pytest.approx({"mac": 3e-3, "static": 60e-3})
    assert report.average_power_w == pytest.approx(63e-3 / 30e-3)


def test_peak_activation_memory_follows_the_schedule():
    # x (400 B) -> l0 (400 B) -> l1 (400 B): while l0 runs, x and l0's output are live (800 B);
    # x is freed when l0 ends; l1 holds l0's output and its own (800 B). Peak 800 B.
    report = simulate(chain(2), RooflineDevice(spec()))
    assert report.peak_activation_bytes == 800
    # Two branches: a and c both read x, so x lives until the later one ends:
    # x + a + c = 1200 B, then the add holds a, c and its output: 1200 B.
    report = simulate(_two_branches(), RooflineDevice(spec(n_compute_units=2)))
    assert report.peak_activation_bytes == 1200


def test_jitter_is_seeded():
    device = FixedCostDevice(costs={"l0": Cost.serial(Phase("compute", 1 * MS))})
    stream = Stream(network=chain(1), period_s=10 * MS, n_frames=20, jitter_s=5 * MS)
    first = simulate(stream, device, seed=7)
    again = simulate(stream, device, seed=7)
    other = simulate(stream, device, seed=8)
    releases = [f.release_s for f in first.frames]
    assert releases == [f.release_s for f in again.frames]
    assert releases != [f.release_s for f in other.frames]
    assert all(k * 10 * MS <= r < k * 10 * MS + 5 * MS for k, r in enumerate(releases))


def test_unsupported_ops_are_listed_all_at_once_before_running():
    b = NetworkBuilder("mixed")
    x = b.input("x", (1, 4, 8, 8))
    y = b.conv2d(x, 4, 3, padding=1, name="conv")
    y = b.act(y, "relu", name="relu")
    y = b.pool(y, "max", 2, name="pool")
    device = FixedCostDevice(costs={}, kinds=frozenset({OpKind.ACTIVATION}))
    with pytest.raises(UnsupportedOpError, match=r"conv2d on 'main' \(stream 'mixed': conv\); pool"):
        simulate(b.build(), device)


def test_bad_streams_are_typed_errors():
    device = FixedCostDevice(costs={})
    with pytest.raises(SpecError, match="several frames need 'period_s'"):
        Stream(network=chain(1), n_frames=3)
    with pytest.raises(SpecError, match="has no target 'gpu'"):
        simulate(Stream(network=chain(1), target="gpu"), device)
    with pytest.raises(SpecError, match="stream names must be unique"):
        simulate([chain(1), chain(1)], device)
    bad = FixedCostDevice(costs={"l0": Cost.serial(Phase("npu", 1.0))})
    with pytest.raises(SpecError, match="engine 'npu', which it does not declare"):
        simulate(chain(1), bad)


def test_costs_are_validated():
    with pytest.raises(SpecError, match="duration"):
        Cost.serial(Phase("compute", -1.0))
    with pytest.raises(SpecError, match="engine twice"):
        Cost(stages=((Phase("compute", 1.0), Phase("compute", 1.0)),))
    with pytest.raises(SpecError, match="energy_j"):
        Cost.serial(Phase("compute", 1.0), energy_j={"mac": math.nan})


def test_fusion_removes_intermediate_traffic_on_roofline():
    b = NetworkBuilder("cbr")
    x = b.input("x", (1, 16, 32, 32))
    y = b.conv2d(x, 16, 3, padding=1, name="conv")
    y = b.norm(y, "batch", name="bn")
    b.act(y, "relu", name="relu")
    net = b.build()
    device = RooflineDevice(spec())
    plain, fused = simulate(net, device), simulate(net.fused(), device)
    activation = 16 * 32 * 32 * 4
    # Unfused: bn and relu each read and write one activation tensor through DRAM.
    assert plain.bytes_by_level["dram"] - fused.bytes_by_level["dram"] == 4 * activation
    assert fused.latency_s < plain.latency_s
    assert fused.macs == plain.macs


def test_engine_memory_keeps_a_views_source_alive():
    b = NetworkBuilder("view")
    x = b.input("x", (1, 10))
    a = b.linear(x, 1000, name="a")
    v = b.reshape(a, (1, 1000), name="view")
    b.linear(v, 1000, name="head")
    report = simulate(b.build(), RooflineDevice(spec()))
    assert report.peak_activation_bytes == 8000


def test_engine_memory_frees_a_tensor_nobody_reads_when_its_op_ends():
    # The engine reads workloads.liveness: 'dead' (4000 B, no reader, not an output) lives only
    # while it runs. In op order on one unit: dead holds x + dead = 4040 B, then y holds
    # x + y = 440 B. (Never freeing it would give 4440 B at y.)
    b = NetworkBuilder("dead-end")
    x = b.input("x", (1, 10))
    b.linear(x, 1000, name="dead")
    b.linear(x, 100, name="y")
    report = simulate(b.build(outputs=["y"]), RooflineDevice(spec()))
    assert [r.op for r in report.ops] == ["dead", "y"]
    assert report.peak_activation_bytes == 4040


def test_fused_members_are_checked_before_running():
    b = NetworkBuilder("fused")
    x = b.input("x", (1, 4, 8, 8))
    y = b.conv2d(x, 4, 3, padding=1, name="conv")
    b.act(y, "relu", name="relu")
    device = FixedCostDevice(costs={}, kinds=frozenset({OpKind.CONV2D, OpKind.FUSED}))
    with pytest.raises(UnsupportedOpError, match=r"activation on 'main' \(stream 'fused/fused': conv\+relu\)"):
        simulate(b.build().fused(), device)


def test_a_device_may_refuse_a_whole_network_first():
    from workloads import DoesNotFitError

    class Small(FixedCostDevice):
        def check(self, network, target):
            raise DoesNotFitError(f"{network.name} needs {network.weight_bytes} B on {target}")

    with pytest.raises(DoesNotFitError, match="chain needs .* B on main"):
        simulate(chain(2), Small(costs={}))


def test_contended_requests_fill_every_free_slot_whatever_their_priority():
    # Two single-op streams of different priority on a two-slot engine: both run at once
    # (0 -> 10 us); the priority only orders requests when slots run out.
    cost = Cost(stages=((Phase("compute", 10 * US),),))
    device = FixedCostDevice(costs={"l0": cost}, engines=(EngineSpec(name="compute", capacity=2),))
    report = simulate([Stream(network=chain(1, name="a"), priority=0),
                       Stream(network=chain(1, name="b"), priority=1)], device)
    assert [(r.stream, r.start_s) for r in report.ops] == [("a", 0.0), ("b", 0.0)]
    assert [r.end_s for r in report.ops] == pytest.approx([10 * US, 10 * US])


def test_same_instant_requests_of_equal_priority_are_first_come_first_served():
    # a/l0 computes 0 -> 10 us. b/m0 loads on the DMA 0 -> 2 us, then asks for compute at 2 us
    # and waits. At 10 us a/l1 (ready when a/l0 ends) asks too; b asked first, so it computes
    # 10 -> 20 us and a/l1 20 -> 30 us, although a/l1's request comes from the event that freed
    # the engine.
    b_net = NetworkBuilder("b")
    b_net.linear(b_net.input("x", (1, 10)), 10, name="m0")
    compute = Cost(stages=((Phase("compute", 10 * US),),))
    device = FixedCostDevice(costs={
        "l0": compute, "l1": compute,
        "m0": Cost.serial(Phase("dma", 2 * US, "load"), Phase("compute", 10 * US))})
    report = simulate([Stream(network=chain(2, name="a")), Stream(network=b_net.build())], device)
    rows = {(r.stream, r.op): (r.start_s, r.end_s) for r in report.ops}
    assert rows[("b", "m0")] == pytest.approx((0.0, 20 * US))
    assert rows[("a", "l1")] == pytest.approx((20 * US, 30 * US))


def test_an_op_reading_one_tensor_twice_waits_for_it_once():
    b = NetworkBuilder("square")
    y = b.linear(b.input("x", (1, 100)), 100, name="l0")
    b.mul(y, y, name="sq")
    report = simulate(b.build(), FixedCostDevice(costs={
        "l0": Cost(stages=((Phase("compute", 10 * US),),)),
        "sq": Cost(stages=((Phase("compute", 1 * US),),))}))
    assert [r.op for r in report.ops] == ["l0", "sq"]
    assert report.latency_s == pytest.approx(11 * US)


def test_a_phase_too_long_for_the_picosecond_clock_is_a_spec_error():
    from sim import Cost, Phase

    assert Cost.serial(Phase("compute", 1e290)).latency_s == 1e290  # huge but representable
    with pytest.raises(SpecError, match="lasts 1e.308 s, beyond the simulation clock"):
        Cost.serial(Phase("compute", 1e308))  # 1e308 s x 1e12 ps/s overflows to inf


def test_each_stream_is_priced_on_the_device_bound_to_its_network():
    # `Device.for_network` (optional): a device specialised per network. Here the binding
    # doubles l0's time for networks named "slow", so the two streams sharing the op object
    # l0 must not share its cached cost: 1 ms on "fast", 2 ms on "slow".
    import dataclasses

    from sim.device import DeviceBase, bind_network

    @dataclasses.dataclass(frozen=True)
    class PerNetwork(FixedCostDevice):
        def for_network(self, network):
            if network.name != "slow":
                return self
            return dataclasses.replace(self, costs={"l0": Cost.serial(Phase("compute", 2 * MS))})

    fast = chain(1, name="fast")
    slow = dataclasses.replace(fast, name="slow")  # the same op objects
    device = PerNetwork(costs={"l0": Cost.serial(Phase("compute", 1 * MS))}, engines=(EngineSpec(name="compute", capacity=2),))
    report = simulate([Stream(network=fast), Stream(network=slow)], device)
    assert {f.stream: f.latency_s for f in report.frames} == pytest.approx({"fast": 1 * MS, "slow": 2 * MS})
    # Without the method, or with DeviceBase's default, a device is its own binding.
    plain = FixedCostDevice(costs={})
    assert bind_network(plain, fast) is plain
    assert DeviceBase.for_network(plain, fast) is plain
