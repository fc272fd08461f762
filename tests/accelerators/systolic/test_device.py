"""The systolic family: presets against their published figures, costs from sim.systolic,
device files and overrides through the one spec mechanism."""

from __future__ import annotations

import pytest

from accelerators.systolic.device import FAMILY, SystolicDevice
from sim import simulate as run_network
from sim.registry import Registry
from sim.systolic import Layers, energy_pj, simulate
from workloads import NetworkBuilder, SpecError, UnsupportedOpError
from tests.helpers import installed_device


def test_tpu_v1_peak_is_the_papers_92_tops():
    # Jouppi et al., ISCA 2017: 65,536 8-bit MACs at 700 MHz, "92 TOPS"; within 1 %.
    spec = installed_device("systolic-tpu-v1").spec
    assert 2 * spec.peak_macs_per_s / 1e12 == pytest.approx(92, rel=0.01)
    assert spec.ifmap_sram_kib * 1024 == 24 * 2**20  # the 24 MiB Unified Buffer


def test_edge_tpu_class_peak_is_corals_4_tops():
    # Coral Edge TPU: 4 TOPS int8; the assumed 64x64 at 480 MHz gives 3.93 (within 5 %).
    assert 2 * installed_device("systolic-edge-tpu").spec.peak_macs_per_s / 1e12 == pytest.approx(4, rel=0.05)


def test_gemmini_default_configuration():
    # Genc et al., DAC 2021 / Gemmini's default: 16x16 = 256 MACs per cycle, 256 KiB
    # scratchpad + 64 KiB accumulator (exact; the clock is an assumption, so no TOPS figure).
    spec = installed_device("systolic-gemmini").spec
    assert spec.rows * spec.cols == 256
    assert spec.ifmap_sram_kib + spec.filter_sram_kib == 256 and spec.ofmap_sram_kib == 64


def conv_net():
    b = NetworkBuilder("c")
    x = b.conv2d(b.input("x", (1, 64, 56, 56)), 64, 3, padding=1)
    b.act(x, "relu")
    return b.build()


def test_conv_cost_is_the_templates_cycles_at_the_clock():
    device = installed_device("systolic-gemmini")
    conv = conv_net().ops[0]
    stats = simulate(device.array, Layers.of([conv.gemm]))
    cost = device.cost(conv)
    # 3x3 conv 64 -> 64 at 56x56 on 16x16 ws: ceil(576/16) x ceil(64/16) = 144 folds of
    # 2*16 + 16 + 3136 - 2 = 3182 cycles (double-buffered DRAM hidden at 16 GB/s).
    assert stats.n_folds[0] == 144 and stats.fold_cycles[0] == 3182
    assert cost.latency_s == pytest.approx(int(stats.total_cycles[0]) / 1e9)
    # The template's energy detail, booked in the shared components (three SRAMs: on_chip).
    detail = energy_pj(device.array, Layers.of([conv.gemm]), stats, bits=8,
                       node_nm=device.spec.node_nm, voltage_v=device.spec.voltage_v)
    assert cost.energy_j["mac"] == pytest.approx(float(detail["mac"][0]) * 1e-12)
    assert cost.energy_j["on_chip"] == pytest.approx(
        sum(float(detail[k][0]) for k in ("sram_ifmap", "sram_filter", "sram_ofmap")) * 1e-12)
    assert cost.energy_j["off_chip"] == pytest.approx(float(detail["dram"][0]) * 1e-12)
    assert cost.bytes_moved["dram"] == int(stats.dram_words[0])


def test_fused_activation_runs_beside_the_array():
    device = installed_device("systolic-gemmini")
    fused = conv_net().fused().ops[0]
    cost = device.cost(fused)
    assert [p.engine for p in cost.stages[0]] == ["array", "vector"]
    report = run_network(conv_net().fused(), device, seed=0)
    assert report.latency_s == pytest.approx(cost.latency_s)


def test_point_cloud_ops_are_refused():
    from workloads.ops import NeighbourAttrs, Op

    knn = Op(name="knn", kind="knn", inputs=("q", "p"), input_shapes=((16, 3), (64, 3)),
             output_shape=(16, 4), attrs=NeighbourAttrs(k=4))
    with pytest.raises(UnsupportedOpError, match="cannot run knn"):
        installed_device("systolic-tpu-v1").cost(knn)


def test_device_files_and_overrides(tmp_path):
    registry = Registry.of_families({"systolic": FAMILY})
    bigger = registry.device("systolic-gemmini", overrides={"rows": 32, "dataflow": "os"})
    assert isinstance(bigger, SystolicDevice) and bigger.array.rows == 32
    assert bigger.array.dataflow.value == "os"
    path = tmp_path / "mine.yaml"
    path.write_text("family: systolic\nname: mine\ndescription: test array\nsource: a guess\n"
                    "rows: 8\ncols: 8\ndataflow: is\nifmap_sram_kib: 4\nfilter_sram_kib: 4\n"
                    "ofmap_sram_kib: 4\ndram_bytes_per_s: 1.0e+9\nfreq_hz: 1.0e+8\nnode_nm: 40\n")
    mine = registry.load_device(path)
    assert mine.array.ifmap_sram_bytes == 4096 and mine.area_mm2["array"] > 0
    path.write_text(path.read_text().replace("rows: 8", "rows: 5000"))
    with pytest.raises(SpecError, match="rows: expected less than or equal to 4096"):
        registry.load_device(path)


def test_an_fp32_network_is_sized_at_the_arrays_8_bit_words():
    # Gemmini's 8-bit array runs fp32 as w8a8 and stores every tensor at one byte per element
    # (its traffic and on-chip plan count words): while the conv runs, its input and output,
    # 64 x 56 x 56 = 200,704 elements each, are live: 401,408 B (1,605,632 B at the declared
    # 4 B). Weights: 64 x 64 x 3 x 3 = 36,864 words, dense, no bias: 36,864 B.
    device = installed_device("systolic-gemmini")
    net = conv_net()
    report = run_network(net, device)
    assert {o.executed_precision for o in report.ops if o.macs} == {"w8a8"}
    assert net.activation_peak_bytes() == 2 * 200_704 * 4
    assert report.peak_activation_bytes == 2 * 200_704
    assert report.weight_bytes == 64 * 64 * 9
    assert net.weight_bytes == 4 * net.params
