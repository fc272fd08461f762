"""The study (small scale, no plots) and the `edgesim pointcloud` commands."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from accelerators.studies import pointcloud as study
from accelerators.pointcloud.device import FAMILY
from devices.gpu_pointcloud import FAMILY as GPU
from sim import Registry
from sim.cli import main
from workloads import SpecError
from workloads.pointcloud import pointsets as ps
from tests.helpers import installed_device

REGISTRY = Registry.of_families({"pointcloud": FAMILY, "gpu": GPU})


def run(argv):
    return main(argv, registry=REGISTRY, commands=[study.register_command])


@pytest.fixture(scope="module")
def small_result():
    return study.run_study(installed_device("gpu-rtx2080ti"), scale="small", seed=0)


def test_small_study_writes_its_tables(small_result, tmp_path):
    paths = study.write_study(small_result, tmp_path, plots=False)
    assert {p.name for p in paths} == {"speedup_energy.csv", "gpu_breakdown.csv", "accel_breakdown.csv",
                                      "summary.json", "README.md"}
    rows = list(csv.DictReader((tmp_path / "speedup_energy.csv").open()))
    assert [r["network"] for r in rows[:-1]] == [c.name for c in study.cases("small")]
    assert rows[-1]["network"].startswith("geomean")
    for r in rows[:-1]:
        assert float(r["speedup_x"]) == pytest.approx(float(r["gpu_latency_ms"]) / float(r["accel_latency_ms"]),
                                                      rel=1e-4)
        assert float(r["speedup_x"]) > 1 and float(r["energy_saving_x"]) > 1
    summary = json.loads((tmp_path / "summary.json").read_text())
    paper = [r["speedup_x"] for r in summary["rows"] if r["paper_name"]]
    assert summary["geomean_speedup_x"] == pytest.approx(study.geomean(paper))
    assert summary["paper_speedup_x"] == 3.7 and summary["paper_energy_saving_x"] == 22.0
    readme = (tmp_path / "README.md").read_text()
    assert f"{small_result.geomean_speedup_x:.2f}x" in readme
    for r in small_result.rows:  # the GPU breakdown covers all of its kernel time
        assert sum(r.gpu_ms.values()) == pytest.approx(r.gpu_latency_ms, rel=1e-6)


def test_geomean():
    assert study.geomean([2.0, 8.0]) == pytest.approx(4.0)


def test_cli_study_runs_one_network(tmp_path, capsys):
    out = tmp_path / "res"
    assert run(["pointcloud", "study", "--out", str(out), "--scale", "small", "--only", "pointnet2-cls",
                "--no-plots"]) == 0
    assert "geomean speedup" in capsys.readouterr().out
    assert (out / "speedup_energy.csv").exists()


def test_cli_workload_reads_a_point_file(tmp_path, capsys):
    path = tmp_path / "scan.bin"
    ps.lidar_sweep(np.random.default_rng(0), n_beams=8, n_azimuth=256).astype("<f4").tofile(path)
    assert run(["pointcloud", "workload", "pointpillars", "--points", str(path)]) == 0
    assert "pillars" in capsys.readouterr().out


def test_cli_workload_takes_a_size(capsys):
    assert run(["pointcloud", "workload", "dgcnn-cls", "--size", "300", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "dgcnn-cls: 65 ops" in out and "300" in out


@pytest.mark.parametrize("device", ["pointacc", "gpu-rtx2080ti"])
def test_edgesim_run_takes_a_registered_point_cloud_network(device, tmp_path, capsys):
    """Issue 15: the point-cloud networks are workloads like any other (installed registry)."""
    assert main(["run", "pointnet2-ssg", "--device", device, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"device            {device}" in out and "pointnet2-cls" in out
    assert main(["run", "minkunet-outdoor", "--device", device, "--arg", "size=0"]) == 2
    assert "size must be an int in [1, " in capsys.readouterr().err


@pytest.mark.parametrize("argv, match", [
    (["pointcloud", "workload", "pointnet"], "unknown point-cloud network 'pointnet'"),
    (["pointcloud", "workload", "dgcnn-cls", "--points", "missing.ply"], "cannot read point file"),
    (["pointcloud", "study", "--out", "x", "--gpu", "nope"], "unknown device 'nope'"),
    (["pointcloud", "study", "--out", "x", "--accelerator", "nope"],
     "unknown device 'nope'"),
    (["pointcloud", "study", "--out", "x", "--device", "gpu-rtx2080ti"],
     "--device 'gpu-rtx2080ti' is not a pointcloud accelerator"),
    (["pointcloud", "study", "--out", "x", "--set", "matrix.rows=0"],
     "--set on pointacc: matrix.rows: expected greater than or equal to 1, got 0"),
    (["pointcloud", "study", "--out", "x", "--scale", "small", "--only", "resnet"], "unknown network"),
])
def test_cli_errors_are_one_line_and_exit_2(argv, match, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("edgesim: error: ") and match in err and err.count("\n") == 1


def test_scale_is_checked():
    with pytest.raises(SpecError, match="scale must be 'full' or 'small'"):
        study.cases("huge")


def test_the_baseline_comes_from_the_registry():
    assert study.resolve_device("gpu-rtx2080ti").name == "gpu-rtx2080ti"
