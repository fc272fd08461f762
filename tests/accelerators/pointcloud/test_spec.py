"""The pointcloud family as data: presets round-trip, device files change costs, errors name keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from accelerators.pointcloud.device import FAMILY, PointAccDevice
from sim import Registry
from sim.cli import main
from sim.energy import HOROWITZ_45NM
from sim.spec import dump_yaml, override, spec_from_file
from workloads import NetworkBuilder
from workloads.zoo import resnet18
from tests.helpers import assert_device_file_error, installed_device

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "devices"
REGISTRY = Registry.of_families({"pointcloud": FAMILY}, workloads={"resnet18": resnet18})


@pytest.mark.parametrize("preset", FAMILY.preset_names())
def test_device_show_output_loads_back_to_an_equal_spec(preset, tmp_path):
    spec = FAMILY.preset(preset)
    path = tmp_path / "shown.yaml"
    path.write_text(dump_yaml(spec))
    assert spec_from_file(path, family=FAMILY) == spec
    assert FAMILY.build(spec).spec == spec


def test_presets_are_the_registered_devices():
    assert {FAMILY.preset(p).name for p in FAMILY.preset_names()} == {"pointacc", "pointacc-edge"}
    assert installed_device("pointacc").spec == FAMILY.preset("pointacc")
    # pointacc-edge gives no DRAM energy: None, the shared table's figure, not zero.
    assert installed_device("pointacc-edge").spec.memory.dram_pj_per_byte is None


def _linear():
    b = NetworkBuilder("one")
    x = b.input("x", (1000, 64))
    return b.build([b.linear(x, 128, bias=False, name="fc")])["fc"]


def test_a_base_file_halving_the_clock_doubles_a_compute_bound_gemm(tmp_path):
    path = tmp_path / "slow.yaml"
    path.write_text("base: pointacc\nfreq_hz: 5.0e+8\n")
    slow = REGISTRY.load_device(path)
    assert slow.name == "slow" and slow.spec.matrix == installed_device("pointacc").spec.matrix
    fast_cost, slow_cost = installed_device("pointacc").cost(_linear()), slow.cost(_linear())
    assert fast_cost.bound_by == "compute"
    assert slow_cost.latency_s == pytest.approx(2 * fast_cost.latency_s, rel=1e-12)


def test_a_base_file_halving_the_array_rows_doubles_the_folds(tmp_path):
    path = tmp_path / "narrow.yaml"
    path.write_text("base: pointacc\nmatrix:\n  rows: 32\n  weight_double_buffered: false\n")
    narrow = REGISTRY.load_device(path)
    wide = REGISTRY.device("pointacc", overrides={"matrix.weight_double_buffered": False})
    f = 1e9
    # SCALE-Sim weight stationary, K=64, N=128: ceil(64/rows) x 2 folds of 2 rows + 64 + 1000 - 2.
    assert wide.cost(_linear()).latency_s == pytest.approx((2 * (128 + 64 + 998) + 64) / f)
    assert narrow.cost(_linear()).latency_s == pytest.approx((4 * (64 + 64 + 998) + 64) / f)


def test_dram_energy_none_is_the_shared_table_and_zero_is_zero(tmp_path):
    b = NetworkBuilder("add")
    x = b.input("x", (4096, 64))
    op = b.build([b.add(x, x, name="sum")])["sum"]
    hbm = installed_device("pointacc").cost(op)
    table = PointAccDevice(override(installed_device("pointacc").spec, {"memory.dram_pj_per_byte": None})).cost(op)
    free = PointAccDevice(override(installed_device("pointacc").spec, {"memory.dram_pj_per_byte": 0.0})).cost(op)
    dram = hbm.bytes_moved["dram"]
    assert hbm.energy_j["off_chip"] == pytest.approx(dram * 31.2e-12)
    assert table.energy_j["off_chip"] == pytest.approx(dram * HOROWITZ_45NM.dram_pj_per_byte * 1e-12)
    assert free.energy_j.get("off_chip", 0.0) == 0.0  # zero energies are left out of the dict


@pytest.mark.parametrize("body, line", [
    ("memory:\n  cache:\n    ways: 3\n", "memory.cache.ways: expected ways dividing capacity_bytes "
     "262144 B into a power-of-two number of sets of 64 B lines, got 3"),
    ("memory:\n  cache:\n    line_bytes: 48\n", "memory.cache.line_bytes: expected a power of "
     "two, got 48"),
    ("matrix:\n  rows: 8192\n", "matrix.rows: expected less than or equal to 4096, got 8192"),
    ("data_bits: 64\n", "data_bits: expected less than or equal to 32, got 64"),
])
def test_cross_field_errors_are_one_line_naming_file_and_key(body, line, tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("base: pointacc\n" + body)
    assert_device_file_error(REGISTRY, path, line, capsys)


def test_example_device_file_runs(capsys):
    path = EXAMPLES / "pointacc_ddr4.yaml"
    device = REGISTRY.load_device(path)
    assert device.spec.memory.dram_bytes_per_s == 25.6e9
    assert device.spec.memory.dram_pj_per_byte is None and device.spec.matrix.rows == 64
    assert main(["run", "resnet18", "--arg", "resolution=64", "--device", str(path),
                 "--quant", "w8a8"], registry=REGISTRY) == 0
    assert "pointacc_ddr4" in capsys.readouterr().out
