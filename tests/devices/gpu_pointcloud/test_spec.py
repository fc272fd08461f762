"""The gpu family as data: the preset round-trips, a device file changes the physics, checks name keys."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from devices.gpu_pointcloud import FAMILY, GpuPointCloudDevice
from sim import Registry, simulate
from sim.cli import main
from sim.spec import dump_yaml, spec_from_file
from workloads import NetworkBuilder, SpecError

REGISTRY = Registry.from_entry_points()
EXAMPLE = Path(__file__).parents[3] / "examples" / "devices" / "rtx2080ti-base-clock-cuda-graphs.yaml"


def relu_copy():
    """One streaming kernel: 4 MiB in, 4 MiB out (fp32)."""
    b = NetworkBuilder("copy")
    x = b.input("x", (1, 64, 128, 128))
    b.act(x, "relu", name="r")
    return b.build()


def write(tmp_path: Path, text: str, name: str = "gpu.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("preset", FAMILY.preset_names())
def test_every_preset_shown_loads_back_equal(preset, tmp_path):
    spec = FAMILY.preset(preset)
    path = write(tmp_path, dump_yaml(spec))
    assert spec_from_file(path, family=FAMILY) == spec
    device = REGISTRY.load_device(path)
    assert isinstance(device, GpuPointCloudDevice) and device.spec == spec


def test_registered_gpu_is_its_preset():
    assert REGISTRY.device("gpu-rtx2080ti").spec == FAMILY.preset("rtx2080ti")


def test_halving_dram_in_a_base_file_doubles_a_streaming_kernel(tmp_path):
    # 8 MiB at 616 GB/s x 0.8 (streaming efficiency) = 17.02 us after the 10 us launch gap;
    # at 308 GB/s, 34.04 us after it.
    path = write(tmp_path, "base: gpu-rtx2080ti\ndram_bytes_per_s: 308e9\n", "half-dram.yaml")
    half = REGISTRY.resolve_device(str(path))
    assert half.name == "half-dram" and half.spec.clock_hz == 1.545e9
    full_s = simulate(relu_copy(), REGISTRY.device("gpu-rtx2080ti")).latency_s
    half_s = simulate(relu_copy(), half).latency_s
    assert full_s == pytest.approx(10e-6 + 8_388_608 / (616e9 * 0.8), rel=1e-6)
    assert half_s == pytest.approx(10e-6 + 8_388_608 / (308e9 * 0.8), rel=1e-6)


def test_idle_power_must_stay_below_tdp(tmp_path):
    hot = write(tmp_path, "base: gpu-rtx2080ti\nidle_power_w: 300\n", "hot.yaml")
    with pytest.raises(SpecError, match=r"^\S*hot.yaml: idle_power_w: expected less than tdp_w "
                                        r"\(250.0 W\), got 300$"):
        REGISTRY.load_device(hot)
    # Both sides of the check come from the same file: raising the TDP makes it valid.
    ok = write(tmp_path, "base: gpu-rtx2080ti\nidle_power_w: 300\ntdp_w: 350\n", "ok.yaml")
    assert REGISTRY.load_device(ok).spec.idle_power_w == 300


def test_cli_errors_are_one_line_and_exit_2():
    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        status = main(["run", "resnet18", "--device", "gpu-rtx2080ti", "--set", "launch_overhead_s=2e-3",
                       "--set", "gemm_tile=0"], registry=REGISTRY, commands=())
    assert status == 2
    assert err.getvalue().splitlines() == [
        "edgesim: error: --set on gpu-rtx2080ti: launch_overhead_s: expected less than 0.001, got 0.002",
        "edgesim: error: --set on gpu-rtx2080ti: gemm_tile: expected greater than or equal to 1, got 0",
    ]


def test_example_device_file_runs():
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["run", "resnet18", "--device", str(EXAMPLE)], registry=REGISTRY, commands=()) == 0
    assert "rtx2080ti-base-clock-cuda-graphs" in out.getvalue()
    spec = REGISTRY.load_device(EXAMPLE).spec
    assert (spec.clock_hz, spec.launch_overhead_s) == (1.35e9, 3e-6)
