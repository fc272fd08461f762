"""The RTX 2080 Ti point-cloud baseline: datasheet figures, hand-computed kernels, the contract."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from devices.gpu_pointcloud import FAMILY
from sim import Cost, Device, simulate
from tests.sim.test_contract import OPS, VARIANTS, _cost_or_error
from workloads import NetworkBuilder, OpKind, SpecError
from workloads.ops import NeighbourAttrs, NeighbourSearch, ScatterAttrs, SparseConv3dAttrs
from tests.helpers import installed_device

GPU = installed_device("gpu-rtx2080ti")
S = GPU.spec


def test_preset_matches_the_datasheet():
    # NVIDIA: 4352 CUDA cores, 1545 MHz boost, 13.45 TFLOPS FP32, 616 GB/s, 250 W (references.md).
    assert S.n_sms * S.fp32_cores_per_sm == 4352
    assert 2 * S.fp32_fma_per_s == pytest.approx(13.45e12, rel=0.001)
    assert (S.dram_bytes_per_s, S.tdp_w) == (616e9, 250.0)


def _net(build):
    b = NetworkBuilder("t")
    build(b)
    return b.build()


def test_gemm_by_tiles_and_waves():
    net = _net(lambda b: b.linear(b.input("x", (4096, 256)), 512, bias=False, name="fc"))
    cost = GPU.cost(net["fc"])
    tiles = math.ceil(4096 / 128) * math.ceil(512 / 128)  # 128 tiles -> 2 waves on 68 SMs
    compute = 2 * 128 * 128 * 256 / (64 * S.clock_hz * S.gemm_efficiency)
    memory = (4096 * 256 + 256 * 512 + 4096 * 512) * 4 / (616e9 * S.stream_efficiency)
    assert tiles == 128
    assert cost.latency_s == pytest.approx(S.launch_overhead_s + max(compute, memory))
    assert [p.label for p in cost.phases] == ["gemm"]


def test_fps_kernel_by_hand():
    net = _net(lambda b: b.op(OpKind.FPS, [b.input("p", (4096, 3))], output_shape=(1024, 3), name="fps"))
    per_iter = (4096 / 512) * S.fps_cycles_per_point + 9 * S.fps_sync_cycles
    assert GPU.cost(net["fps"]).latency_s == pytest.approx(S.launch_overhead_s + 1024 * per_iter / S.clock_hz)


def test_knn_topk_goes_through_memory_for_large_k():
    def build(b, k):
        x = b.input("x", (1024, 64))
        b.op(OpKind.KNN, [x, x], NeighbourAttrs(k=k), output_shape=(1024, k), name="knn")

    big = GPU.cost(_net(lambda b: build(b, 20))["knn"])
    small = GPU.cost(_net(lambda b: build(b, 3))["knn"])
    assert len(big.phases) == 2 and len(small.phases) == 1
    assert big.bytes_moved["dram"] >= 1024 * 1024 * 4 * (1 + S.topk_passes)


def _sparse_net(kv=27, n=20_000, pairs=200_000, stride=1, n_out=None, reused=False):
    def build(b):
        x = b.input("f", (n, 32))
        b.op(OpKind.SPARSE_CONV3D, [x], SparseConv3dAttrs(kernel_volume=kv, n_pairs=pairs, stride=stride,
                                                          reuses_kernel_map=reused),
             weight_shape=(kv, 32, 64), output_shape=(n_out or n, 64), name="conv")
    return _net(build)["conv"]


def test_sparse_conv_is_gather_gemm_scatter_per_offset():
    op = _sparse_net()
    cost = GPU.cost(op)
    labels = [p.label for p in cost.phases]
    assert labels.count("gemm") == 27 and labels.count("gather_scatter") == 54
    assert labels.count("mapping") == 2  # hash build, then probes
    reused = GPU.cost(_sparse_net(reused=True))
    assert "mapping" not in [p.label for p in reused.phases]
    assert reused.latency_s < cost.latency_s
    down = GPU.cost(_sparse_net(kv=8, pairs=20_000, stride=2, n_out=5000))
    assert [p.label for p in down.phases].count("mapping") == 2 + S.sort_passes + 2  # + coordinate sort
    one = GPU.cost(_sparse_net(kv=1, pairs=20_000))
    assert [p.label for p in one.phases] == ["gemm"]


def test_grid_searches_sort_instead_of_distances():
    def build(b, search):
        pillars, points = b.input("c", (6000, 4)), b.input("p", (60_000, 4))
        b.op(OpKind.BALL_QUERY, [pillars, points], NeighbourAttrs(k=32, radius=0.08, search=search),
             output_shape=(6000, 32), name="group")
    brute = GPU.cost(_net(lambda b: build(b, NeighbourSearch.DISTANCE))["group"])
    grid = GPU.cost(_net(lambda b: build(b, NeighbourSearch.GRID))["group"])
    assert grid.latency_s < brute.latency_s / 5


def test_gather_and_scatter_move_whole_sectors():
    def build(b):
        f, idx = b.input("f", (1000, 3)), b.input("i", (5000,))
        g = b.op(OpKind.GATHER, [f, idx], name="g")
        b.op(OpKind.SCATTER, [g, idx], ScatterAttrs(reduce="sum"), output_shape=(1000, 3), name="s")
    net = _net(build)
    gather = GPU.cost(net["g"])
    assert gather.bytes_moved["dram"] == 5000 * 32 + 5000 * 12 + 5000 * 4  # 12-B rows read as 32-B sectors
    scatter = GPU.cost(net["s"])
    assert [p.label for p in scatter.phases] == ["gather_scatter", "gather_scatter"]  # zero-fill, atomics


def test_energy_is_idle_plus_load_proportional_power():
    net = _net(lambda b: b.linear(b.input("x", (65536, 512)), 512, name="fc"))
    report = simulate(net, GPU)
    assert report.energy_by_component_j["static"] == pytest.approx(S.idle_power_w * report.duration_s)
    dynamic = report.energy_by_component_j["board"]
    assert 0 < dynamic <= (S.tdp_w - S.idle_power_w) * report.duration_s
    assert report.energy_j / report.duration_s > 0.5 * S.tdp_w  # a big GEMM runs the board hot


def test_contract():
    """The checks of tests/sim/test_contract.py, on the device built directly."""
    assert isinstance(GPU, Device) and GPU.name == "gpu-rtx2080ti"
    for op in OPS:
        before = copy.deepcopy(op)
        cost = _cost_or_error(GPU, op, "gpu")
        assert isinstance(cost, Cost), f"{op.name}: {cost}"
        assert all(p.engine == "gpu" and math.isfinite(p.duration_s) and p.duration_s >= 0 for p in cost.phases)
        assert all(math.isfinite(v) and v >= 0 for t in (cost.energy_j, cost.bytes_moved) for v in t.values())
        assert _cost_or_error(GPU, before, "gpu") == cost and op == before
    for net in VARIANTS.values():
        assert simulate(net, GPU).latency_s > 0


def test_bad_presets(tmp_path):
    text = (FAMILY.presets / "rtx2080ti.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("idle_power_w: 55.0", "idle_power_w: 300.0"))
    # One line per problem, `FILE: KEY: expected ..., got ...` (sim.spec).
    with pytest.raises(SpecError, match=r"bad.yaml: idle_power_w: expected less than tdp_w "
                                        r"\(250.0 W\), got 300.0$"):
        FAMILY.device(bad)
    bad.write_text(text.replace("gemm_efficiency: 0.7", "gemm_efficiency: 1.5"))
    with pytest.raises(SpecError, match=r"bad.yaml: gemm_efficiency: expected less than or equal "
                                        r"to 1, got 1.5$"):
        FAMILY.device(bad)
    bad.write_text("\n".join(line for line in text.splitlines() if not line.startswith("n_sms")))
    with pytest.raises(SpecError, match=r"bad.yaml: n_sms: required but missing$"):
        FAMILY.device(bad)
    assert np.isfinite(S.fp32_fma_per_s)


def test_a_fused_embedding_is_priced_as_its_gather():
    """Issue 13: 'embed+pos' (an embedding fused with its position add) raised IndexError."""
    from sim import Registry
    from workloads import NetworkBuilder

    b = NetworkBuilder("embed")
    ids = b.input("ids", (1, 8))
    b.add(b.embedding(ids, 100, 32, name="embed"), weight_shape=(1, 8, 32), name="pos")
    net = b.build()
    device = Registry.from_entry_points().device("gpu-rtx2080ti")
    (fused,) = net.fused().ops
    plain = device.cost(net["embed"], "gpu")
    cost = device.cost(fused, "gpu")
    # One kernel: the gather's traffic; the add runs in its epilogue.
    assert cost.bytes_moved == plain.bytes_moved
    assert cost.latency_s == pytest.approx(plain.latency_s)
