"""The mobile family as data: presets round-trip, device files change the physics, checks name keys."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from devices.mobile import FAMILY, MobileBoard
from sim import Registry, Stream, simulate
from sim.cli import main
from sim.spec import dump_yaml, json_schema, spec_from_file
from workloads import NetworkBuilder, SpecError

REGISTRY = Registry.from_entry_points()
EXAMPLE = Path(__file__).parents[3] / "examples" / "devices" / "galaxy-s20-lpddr4x-2threads.yaml"


def relu_copy():
    """One memory-bound op: 16 MiB in, 16 MiB out (fp32), 4 Mi vector ops."""
    b = NetworkBuilder("copy")
    x = b.input("x", (1, 64, 256, 256))
    b.act(x, "relu", name="r")
    return b.build()


def pointwise():
    """One compute-bound 1x1 conv: 256 x 256 x 56 x 56 = 205.5 M MACs."""
    b = NetworkBuilder("pw")
    x = b.input("x", (1, 256, 56, 56))
    b.conv2d(x, 256, 1, name="pw")
    return b.build()


def write(tmp_path: Path, text: str, name: str = "board.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(list(argv), registry=REGISTRY, commands=())
    return status, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("preset", FAMILY.preset_names())
def test_every_preset_shown_loads_back_equal(preset, tmp_path):
    spec = FAMILY.preset(preset)
    path = write(tmp_path, dump_yaml(spec))
    assert spec_from_file(path, family=FAMILY) == spec
    assert REGISTRY.load_device(path).spec == spec


def test_registered_boards_are_built_from_their_presets():
    for name, preset in [("snapdragon865", "snapdragon865"), ("snapdragon888", "snapdragon888"),
                         ("snapdragon835", "snapdragon835"), ("jetson-nano", "jetson_nano"),
                         ("jetson-agx-xavier", "jetson_agx_xavier")]:
        device = REGISTRY.device(name)
        assert isinstance(device, MobileBoard) and device.spec == FAMILY.preset(preset)


def test_halving_dram_in_a_base_file_doubles_a_memory_bound_op(tmp_path):
    # Snapdragon 865 GPU: 32 MiB over 44 GB/s x 0.7 (its DRAM share) = 1.0894 ms, well above its
    # compute (15 us launch + 4 Mi ops at 601 Gop/s x 0.32 = 36.8 us); at 22 GB/s, twice that.
    path = write(tmp_path, "base: snapdragon865\ndram_bytes_per_s: 22e9\n", "slow-dram.yaml")
    slow = REGISTRY.resolve_device(str(path))
    assert slow.name == "slow-dram" and slow.spec.units == REGISTRY.device_spec("snapdragon865").units
    fast_s = simulate(Stream(network=relu_copy(), target="gpu"), REGISTRY.device("snapdragon865")).latency_s
    slow_s = simulate(Stream(network=relu_copy(), target="gpu"), slow).latency_s
    assert fast_s == pytest.approx(33_554_432 / (44e9 * 0.7), rel=1e-6)
    assert slow_s == pytest.approx(33_554_432 / (22e9 * 0.7), rel=1e-6)


def test_threads_from_a_base_file_scale_compute_by_the_cores_used(tmp_path):
    # One thread runs on the 2.84 GHz prime core alone; four on it and three 2.42 GHz cores.
    path = write(tmp_path, "base: snapdragon865\nunits:\n- name: cpu\n  n_threads: 1\n", "one.yaml")
    one = REGISTRY.resolve_device(str(path))
    four = REGISTRY.device("snapdragon865")
    assert one.spec.unit("cpu").peak_macs_per_s("fp32") == pytest.approx(2.84e9 * 8)
    assert one.spec.unit("gpu") == four.spec.unit("gpu")  # only the named unit changes
    op = pointwise()["pw"]
    ratio = one.breakdown(op, "cpu").mac_s / four.breakdown(op, "cpu").mac_s
    assert ratio == pytest.approx((2.84 + 3 * 2.42) / 2.84, rel=1e-12)
    assert four.with_threads("cpu", 1).spec.unit("cpu") == one.spec.unit("cpu")
    # The same through --set, by the unit's name:
    by_set = REGISTRY.device("snapdragon865", overrides={"units.cpu.n_threads": 1})
    assert by_set.spec.units == one.spec.units


def test_cross_field_checks_name_the_key(tmp_path):
    shown = dump_yaml(REGISTRY.device_spec("snapdragon865"))
    twin = write(tmp_path, shown.replace('name: "cpu_little"', 'name: "cpu"'), "twin.yaml")
    with pytest.raises(SpecError, match=r"^\S*twin.yaml: units: expected unit names that are unique "
                                        r"and not 'dram' \(names: gpu, cpu, cpu\), got a list"):
        spec_from_file(twin, family=FAMILY)
    dram = write(tmp_path, shown.replace('name: "cpu_little"', 'name: "dram"'), "dram.yaml")
    with pytest.raises(SpecError, match=r"units: expected unit names that are unique and not 'dram'"):
        spec_from_file(dram, family=FAMILY)
    many = write(tmp_path, "base: snapdragon865\nunits:\n- name: cpu\n  n_threads: 5\n", "many.yaml")
    with pytest.raises(SpecError, match=r"^\S*many.yaml: units.cpu.n_threads: expected at most 4 "
                                        r"\(the unit's cores\) or null, got 5$"):
        REGISTRY.load_device(many)
    empty = write(tmp_path, "base: jetson-nano\nunits: []\n", "empty.yaml")
    with pytest.raises(SpecError, match=r"empty.yaml: units: expected at least one compute unit, got a list \[\]$"):
        REGISTRY.load_device(empty)
    no_cores = write(tmp_path, "base: jetson-nano\nunits:\n- name: cpu\n  cores: []\n", "no-cores.yaml")
    with pytest.raises(SpecError, match=r"no-cores.yaml: units.cpu.cores: expected at least one core group, got a list \[\]$"):
        REGISTRY.load_device(no_cores)


def test_cli_errors_are_one_line_and_exit_2(tmp_path):
    many = write(tmp_path, "base: snapdragon865\nunits:\n- name: cpu\n  n_threads: 5\n  register_block: 0\n")
    status, out, err = cli("run", "resnet18", "--device", str(many), "--target", "cpu")
    lines = err.splitlines()
    assert status == 2 and not out and len(lines) == 2
    assert all(line.startswith("edgesim: error: ") for line in lines)
    assert "units.cpu.register_block: expected greater than or equal to 1, got 0" in err
    status, _, err = cli("run", "resnet18", "--device", "snapdragon865",
                         "--set", "units.gpu.cores.0.freq_hz=-1")
    assert status == 2 and err == ("edgesim: error: --set on snapdragon865: units.gpu.cores[0].freq_hz: "
                                   "expected greater than 0, got -1\n")


def test_set_a_clock_by_dotted_key_slows_compute_bound_work():
    # The issue's `gpu.freq_hz=700e6` example: the GPU's one core group is units.gpu.cores.0.
    slow = REGISTRY.device("snapdragon865", overrides={"units.gpu.cores.0.freq_hz": 293.5e6})
    base = REGISTRY.device("snapdragon865")
    op = pointwise()["pw"]
    assert slow.breakdown(op, "gpu").mac_s == pytest.approx(2 * base.breakdown(op, "gpu").mac_s)


def test_example_device_file_runs(tmp_path):
    status, out, err = cli("run", "mobilenetv2", "--device", str(EXAMPLE), "--target", "cpu")
    assert status == 0, err
    assert "galaxy-s20-lpddr4x-2threads" in out
    spec = REGISTRY.load_device(EXAMPLE).spec
    assert spec.dram_bytes_per_s == 34.1e9 and spec.unit("cpu").n_threads == 2
    assert "Changed from preset 'snapdragon865'" in spec.source


def test_schema_documents_units_and_ranges():
    schema = json_schema(FAMILY)
    unit = schema["$defs"]["ComputeUnitSpec"]["properties"]
    assert unit["launch_overhead_s"]["description"].startswith("[s] ")
    assert unit["dram_fraction"]["maximum"] == 1
    assert schema["$defs"]["CoreGroup"]["properties"]["n_cores"]["minimum"] == 1
