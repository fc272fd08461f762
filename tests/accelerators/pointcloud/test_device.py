"""The PointAcc-style device: hand-computed costs, the three units' concurrency, the contract."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from accelerators.pointcloud.cache import simulate_rows
from accelerators.pointcloud.device import FAMILY, Buffer, PointAccDevice
from accelerators.pointcloud.matrix import fold_cycles
from accelerators.pointcloud.plan import plan_fusion
from accelerators.pointcloud.spec import Dataflow, MatrixUnitSpec
from sim import Cost, Device, simulate
from sim.energy import HOROWITZ_45NM
from sim.spec import override, validate
from tests.sim.test_contract import OPS, VARIANTS, _cost_or_error, embedding_network
from workloads import NetworkBuilder, OpKind, SpecError, UnknownNameError
from workloads.ops import NeighbourAttrs, NeighbourSearch, SparseConv3dAttrs
from workloads.pointcloud import networks as wls
from workloads.pointcloud import pointsets as ps
from tests.helpers import installed_device

SPEC = installed_device("pointacc").spec
F = SPEC.freq_hz


def _matrix(**changes):
    base = dict(rows=4, cols=4, weight_buffer_bytes=1024, input_buffer_bytes=1024, output_buffer_bytes=1024)
    return MatrixUnitSpec(**{**base, **changes})


def test_fold_cycles_hand_computed():
    # SCALE-Sim weight stationary: ceil(10/4) * ceil(6/4) = 6 folds of 2*4 + 4 + 20 - 2 = 30 cycles.
    assert fold_cycles(20, 10, 6, _matrix()) == 180
    # Double-buffered weights: 6 folds of max(20, 4) plus one fill/drain of 4 + 4 - 2.
    assert fold_cycles(20, 10, 6, _matrix(weight_double_buffered=True)) == 126
    # Output stationary: ceil(20/4) * ceil(6/4) = 10 folds of 10 + 4 + 4 - 2 = 16 (was charged
    # 2*4 + 4 + 10 - 2 = 20, one R too many: SCALE-Sim v3's systolic_compute_os folds have
    # T + R + C - 2 demand rows, and results/scalesim_validation matches SCALE-Sim on 36 os rows).
    assert fold_cycles(20, 10, 6, _matrix(dataflow=Dataflow.OUTPUT_STATIONARY)) == 160


def test_presets_load_with_their_published_configuration():
    assert (SPEC.matrix.rows, SPEC.matrix.cols, SPEC.freq_hz, SPEC.node_nm) == (64, 64, 1e9, 40)
    assert SPEC.matrix.dataflow is Dataflow.WEIGHT_STATIONARY
    edge = installed_device("pointacc-edge").spec
    assert (edge.matrix.rows, edge.matrix.cols) == (16, 16)


def test_bad_presets(tmp_path):
    good = (FAMILY.presets / "pointacc.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.replace("  rows: 64\n", "  rows: 64\n  colour: red\n"))
    with pytest.raises(SpecError, match=r"bad.yaml: matrix.colour: unknown key \(did you mean "
                                         r"'cols'\?\); allowed: accumulator_bits, cols, dataflow"):
        FAMILY.device(bad)
    bad.write_text(good.replace("dataflow: weight_stationary", "dataflow: sideways"))
    with pytest.raises(SpecError, match="bad.yaml: matrix.dataflow: expected 'weight_stationary' "
                                        "or 'output_stationary', got 'sideways'"):
        FAMILY.device(bad)
    bad.write_text(good.replace("    ways: 8", "    ways: 3"))
    with pytest.raises(SpecError, match="bad.yaml: memory.cache.ways: expected .*power-of-two "
                                        "number of sets of 64 B lines, got 3$"):
        FAMILY.device(bad)
    with pytest.raises(UnknownNameError, match="unknown pointcloud preset 'nope'"):
        FAMILY.device("nope")


def test_linear_cost_by_hand():
    b = NetworkBuilder("one")
    x = b.input("x", (1000, 64))
    net = b.build([b.linear(x, 128, bias=False, name="fc")])
    op = net["fc"]
    cost = PointAccDevice(SPEC).cost(op)
    cycles = 1 * 2 * max(1000, 64) + 64 + 64 - 2  # 2 double-buffered folds of 1000 rows
    assert cost.latency_s == pytest.approx((cycles + SPEC.op_overhead_cycles) / F)
    mac_pj = HOROWITZ_45NM.scaled(40, 0.9).mac_pj(16, is_float=False)
    assert cost.energy_j["mac"] == pytest.approx(1000 * 64 * 128 * mac_pj * 1e-12)
    # DRAM: 16-bit input and output, 16-bit weights, at HBM2's 31.2 pJ/B.
    dram = (1000 * 64 + 1000 * 128 + 64 * 128) * 2
    assert cost.bytes_moved["dram"] == dram
    assert cost.energy_j["off_chip"] == pytest.approx(dram * 31.2e-12)


def test_fps_and_ball_query_cycles_by_hand():
    b = NetworkBuilder("map")
    pts = b.input("p", (4096, 3))
    c = b.op(OpKind.FPS, [pts], output_shape=(1024, 3), name="fps")
    b.op(OpKind.BALL_QUERY, [c, pts], NeighbourAttrs(k=32, radius=0.1), output_shape=(1024, 32), name="bq")
    net = b.build(["bq"])
    dev = PointAccDevice(SPEC)
    fps = 1024 * (4096 // 64 + 6)
    assert dev.cost(net["fps"]).latency_s == pytest.approx((fps + SPEC.op_overhead_cycles) / F, rel=1e-9)
    bq = 1024 * 4096 / 64  # distances and ranking both 64 per cycle
    assert dev.cost(net["bq"]).latency_s == pytest.approx((bq + SPEC.op_overhead_cycles) / F, rel=1e-9)
    assert {p.engine for p in dev.cost(net["bq"]).phases} == {"mapping"}


def test_a_grid_search_is_a_key_sort_by_hand():
    def net(search):
        b = NetworkBuilder("pillars")
        c, p = b.input("c", (6000, 4)), b.input("p", (60_000, 4))
        b.op(OpKind.BALL_QUERY, [c, p], NeighbourAttrs(k=32, radius=0.08, search=search),
             output_shape=(6000, 32), name="group")
        return b.build()["group"]

    dev = PointAccDevice(SPEC)
    # Merge sort of 60,000 keys through a 64-wide merger: 1 + ceil(log2(60000 / 64)) = 11
    # passes of ceil(60000 / 64) = 938 cycles, then one more pass to fill the groups.
    cycles = 12 * 938 + SPEC.op_overhead_cycles
    # DRAM: 16-bit coordinates in (66,000 x 4), int32 neighbour lists out: 5.1 us < 11.3 us.
    dram_s = (66_000 * 4 * 2 + 6000 * 32 * 4) / SPEC.memory.dram_bytes_per_s
    grid = dev.cost(net(NeighbourSearch.GRID))
    assert grid.latency_s == pytest.approx(max(cycles / F, dram_s), rel=1e-9)
    assert dev.cost(net(NeighbourSearch.DISTANCE)).latency_s > 20 * grid.latency_s


def test_a_conv_reusing_its_kernel_map_builds_none_even_without_a_plan():
    def conv(reused):
        b = NetworkBuilder("one")
        x = b.input("f", (20_000, 32))
        b.op(OpKind.SPARSE_CONV3D, [x], SparseConv3dAttrs(kernel_volume=27, n_pairs=200_000,
                                                          reuses_kernel_map=reused),
             weight_shape=(27, 32, 64), output_shape=(20_000, 64), name="conv")
        return b.build()["conv"]

    dev = PointAccDevice(SPEC)
    built, reused = dev.cost(conv(False)), dev.cost(conv(True))
    assert [p.engine for p in built.stages[0]] == ["mapping"]
    assert all(p.engine != "mapping" for p in reused.phases)
    assert len(built.stages) == len(reused.stages) + 1


@pytest.fixture(scope="module")
def pn2():
    return wls.pointnet2_cls(ps.object_points(np.random.default_rng(0), 1024))


def test_gather_traffic_is_the_cache_simulation(pn2):
    dev = PointAccDevice.for_workload(pn2, SPEC)
    op = pn2.network["sa2.group_features"]  # 128 x 64 rows of 128 channels
    expected = simulate_rows(pn2.index_streams[op.name], 128 * 2, SPEC.memory.cache)
    assert dev.plan.streams[op.name] == expected
    cost = dev.cost(op)
    assert cost.bytes_moved["dram"] == round(expected.miss_bytes + 128 * 64 * 4)  # + int32 indices
    assert expected.hit_ratio > 0.5  # neighbour lists of nearby centres overlap
    no_plan = PointAccDevice(SPEC).cost(op)
    assert no_plan.bytes_moved["dram"] > cost.bytes_moved["dram"]


def test_temporal_fusion_keeps_mlp_intermediates_on_chip(pn2):
    on_chip = plan_fusion(pn2.network, SPEC.matrix.weight_buffer_bytes, lambda op: 16)
    assert {"sa1.mlp.fc0", "sa1.mlp.bn0", "sa1.mlp.relu1", "sa1.group_xyz"} <= on_chip
    assert "sa1.maxpool" not in on_chip and "head.classifier" not in on_chip
    # A weight buffer too small for one layer breaks every chain at its linear layers.
    tiny = plan_fusion(pn2.network, 16, lambda op: 16)
    assert "sa1.mlp.fc1" not in tiny and "sa1.group_xyz" in tiny


def test_units_run_concurrently(pn2):
    dev = PointAccDevice.for_workload(pn2, SPEC)
    report = simulate(pn2.network, dev)
    busy = {e.name: 0.0 for e in dev.engines}
    for op in report.ops:
        for engine, _, start, end in op.phases:
            busy[engine] += end - start
    assert report.latency_s < sum(busy.values())
    fps2 = next(o for o in report.ops if o.op == "sa2.fps")
    mlp1 = next(o for o in report.ops if o.op == "sa1.mlp.fc2")
    assert fps2.start_s < mlp1.end_s  # mapping of level 2 overlaps the MLP of level 1


def test_sparse_conv_uses_the_plan_and_reuses_maps():
    sweep = ps.lidar_sweep(np.random.default_rng(1), n_beams=16, n_azimuth=256)
    wl = wls.minkunet(sweep, scene="outdoor")
    dev = PointAccDevice.for_workload(wl, SPEC)
    built, reused = dev.cost(wl.network["stem.0.conv"]), dev.cost(wl.network["stem.1.conv"])
    assert [p.engine for p in built.stages[0]] == ["mapping"]
    assert all(p.engine != "mapping" for p in reused.phases)
    plan = dev.plan.sparse_convs["stem.0.conv"]
    assert plan.gather.n_accesses == wl.network["stem.0.conv"].attrs.n_pairs
    report = simulate(wl.network, dev)
    assert report.latency_s > 0 and report.energy_by_component_j["mac"] > 0


def test_quantized_ops_use_their_narrower_width(pn2):
    net = pn2.network.quantized("fixed", weight_bits=8)
    dev = PointAccDevice(SPEC)
    fp, q = dev.cost(pn2.network["head.classifier"]), dev.cost(net["head.classifier"])
    assert q.bytes_moved["dram"] == pytest.approx(fp.bytes_moved["dram"] / 2, rel=0.01)
    assert q.energy_j["mac"] < fp.energy_j["mac"]


@pytest.mark.parametrize("name", ["pointacc", "pointacc-edge"])
def test_contract(name):
    """The checks of tests/sim/test_contract.py, on the device built directly."""
    device = installed_device(name)
    assert isinstance(device, Device) and device.name and device.description
    engines = {e.name for e in device.engines}
    kinds = device.supported_kinds("accelerator")
    assert isinstance(kinds, frozenset) and kinds == frozenset(OpKind)
    for op in OPS:
        before = copy.deepcopy(op)
        cost = _cost_or_error(device, op, "accelerator")
        assert isinstance(cost, Cost), f"{op.name}: {cost}"
        assert all(p.engine in engines and math.isfinite(p.duration_s) and p.duration_s >= 0
                   for p in cost.phases), op.name
        assert all(math.isfinite(v) and v >= 0 for t in (cost.energy_j, cost.bytes_moved) for v in t.values())
        assert _cost_or_error(device, before, "accelerator") == cost and op == before
    for net in VARIANTS.values():
        assert simulate(net, device).latency_s > 0


def test_spec_errors():
    base = dict(rows=4, cols=4, weight_buffer_bytes=1024, input_buffer_bytes=1024, output_buffer_bytes=1024)
    with pytest.raises(SpecError, match="m: rows: expected greater than or equal to 1, got 0"):
        validate(MatrixUnitSpec, {**base, "rows": 0}, where="m")
    with pytest.raises(SpecError, match="m: weight_double_buffered: expected a valid boolean, got 'yes'"):
        validate(MatrixUnitSpec, {**base, "weight_double_buffered": "yes"}, where="m")
    with pytest.raises(SpecError, match="--set: data_bits: expected less than or equal to 32, got 64"):
        override(SPEC, {"data_bits": 64})


def test_an_fp32_network_is_sized_at_the_16_bit_datapath():
    # PointAcc runs fp32 as w16a16 and moves every tensor at 2 B per element. x(1000, 64) ->
    # linear 64 -> 128 -> relu: the peak is while the relu runs (x freed), its input and output
    # 128,000 elements each: 512,000 B (1,024,000 B at the declared 4 B). Weights: 64 x 128
    # + 128 bias = 8,320 parameters x 2 B = 16,640 B (33,280 B declared).
    b = NetworkBuilder("mlp")
    y = b.linear(b.input("x", (1000, 64)), 128, name="fc")
    b.act(y, "relu", name="relu")
    net = b.build()
    report = simulate(net, installed_device("pointacc"))
    assert {o.executed_precision for o in report.ops} == {"w16a16"}
    assert net.activation_peak_bytes() == 2 * 128_000 * 4
    assert report.peak_activation_bytes == 2 * 128_000 * 2
    assert (net.weight_bytes, report.weight_bytes) == (8_320 * 4, 8_320 * 2)


def test_index_tensors_keep_their_32_bits():
    # Token ids and gather indices are INDEX_BITS (32) wide on any datapath; the rest is 16-bit.
    # ids(1, 8) -> embedding 5000 x 64 (fp32), features(4096, 32) gathered by idx(16).
    device = installed_device("pointacc")
    net = embedding_network()
    embed, gather = net["embed"], net["gather"]
    assert device.executed_input_bytes(embed, 0) == 8 * 4
    assert device.executed_output_bytes(embed) == 8 * 64 * 2
    assert device.executed_weight_bytes(embed) == 5000 * 64 * 2  # the whole table is stored
    assert device.executed_input_bytes(gather, 0) == 4096 * 32 * 2
    assert device.executed_input_bytes(gather, 1) == 16 * 4
    assert device.executed_output_bytes(gather) == 16 * 32 * 2


def test_sram_bytes_priced_at_each_buffers_capacity():
    # Horowitz ISSCC 2014 Fig. 1.1.9, 64-bit access at 45 nm: 32 kB 20 pJ, 1 MB 100 pJ, log-log
    # between. PointAcc's 256 kB weight buffer: 20 x 8^(ln 5 / ln 32) = 52.53 pJ, x 40/45 for
    # 40 nm = 46.69 pJ per 8 bytes = 5.837 pJ/B; 128 kB input buffer 20 x 4^0.46439 x 40/45 / 8
    # = 4.230 pJ/B; 64 kB mapping buffer 3.066 pJ/B.
    dev = PointAccDevice(SPEC)
    slope = math.log(5) / math.log(32)
    per_byte = {b: 20 * (cap / 32768) ** slope * (40 / 45) / 8 for b, cap in
                ((Buffer.WEIGHT, 262144), (Buffer.INPUT, 131072), (Buffer.MAPPING, 65536))}
    assert per_byte[Buffer.WEIGHT] == pytest.approx(5.837, abs=1e-3)
    for b, pj in per_byte.items():
        assert dev.sram_pj_per_byte[b] == pytest.approx(pj, rel=1e-9)
    # The linear layer of test_linear_cost_by_hand: inputs 1000 x 64 x 2 B read once per column
    # fold (2), weights 64 x 128 x 2 B once, outputs 1000 x 128 x 2 B written once (one k fold).
    b = NetworkBuilder("one")
    x = b.input("x", (1000, 64))
    op = b.build([b.linear(x, 128, bias=False, name="fc")])["fc"]
    out_pj = dev.sram_pj_per_byte[Buffer.OUTPUT]
    expected_pj = (1000 * 64 * 2 * 2 * per_byte[Buffer.INPUT] + 64 * 128 * 2 * per_byte[Buffer.WEIGHT]
                   + 1000 * 128 * 2 * out_pj)
    assert out_pj == pytest.approx(per_byte[Buffer.WEIGHT], rel=1e-9)  # both 256 kB
    assert dev.cost(op).energy_j["on_chip"] == pytest.approx(expected_pj * 1e-12, rel=1e-9)
