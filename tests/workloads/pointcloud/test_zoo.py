"""The point-cloud networks as registered workloads: names, points / size / seed, their errors."""

from __future__ import annotations

from importlib.metadata import entry_points

import numpy as np
import pytest

from sim import Registry
from workloads import SpecError, UnknownNameError
from workloads.pointcloud import NAMES, PointFileError, workload, zoo
from workloads.pointcloud import networks as wls
from workloads.pointcloud import pointsets as ps

REGISTERED = {"pointnet2-cls": "pointnet2_cls", "pointnet2-ssg": "pointnet2_cls",
              "pointnet2-seg": "pointnet2_seg", "dgcnn-cls": "dgcnn_cls",
              "minkunet-indoor": "minkunet_indoor", "minkunet-outdoor": "minkunet_outdoor",
              "pointpillars-pfn": "pointpillars_pfn"}


def test_every_network_is_registered():
    eps = {ep.name: ep for ep in entry_points(group="edgesim.workloads")
           if ep.value.startswith("workloads.pointcloud.zoo:")}
    assert {name: ep.value.split(":")[1] for name, ep in eps.items()} == REGISTERED
    assert set(NAMES) == set(wls.BUILDERS)  # one vocabulary with the study and the CLI
    for ep in eps.values():  # `edgesim list` shows a first line that cites the paper
        assert "arXiv" in ep.load().__doc__.splitlines()[0]
    described = dict(Registry.from_entry_points().describe("workloads"))
    assert described["pointnet2-ssg"].startswith("PointNet++ SSG classification")
    assert described["pointpillars"] != described["pointpillars-pfn"]  # the zoo's stays


@pytest.mark.parametrize("name, builder", [
    ("pointnet2-cls", wls.pointnet2_cls), ("pointnet2-seg", wls.pointnet2_seg),
    ("dgcnn-cls", wls.dgcnn_cls)])
def test_defaults_are_the_study_networks(name, builder):
    """No arguments: the network the full-scale study builds with seed 0."""
    study = builder(rng=np.random.default_rng(0)).network
    assert workload(name).network == study
    assert Registry.from_entry_points().workload(name) == study


def test_size_and_seed():
    net = zoo.pointnet2_cls(size=256, seed=3)
    assert net.inputs[0].shape == (256, 3)
    assert net == zoo.pointnet2_cls(size=256, seed=3)  # deterministic
    other = zoo.pointnet2_cls(size=256, seed=4)
    assert other["sa1.ball_query"].attrs.n_found != net["sa1.ball_query"].attrs.n_found
    block = workload("pointnet2-seg", size=512).network
    assert block.inputs[0].shape == (512, 3)


def test_a_point_file_is_sampled_down_to_size(tmp_path):
    pts = ps.object_points(np.random.default_rng(1), 2000)
    path = tmp_path / "chair.ply"
    ps.save_ply(path, pts)
    whole = workload("dgcnn-cls", points=str(path))
    assert whole.stats["points"] == 2000
    part = workload("dgcnn-cls", points=path, size=500, seed=2)
    assert part.stats["points"] == 500
    assert part.network["edgeconv1.knn"].input_shapes[0] == (500, 3)


def test_sampling_keeps_distinct_points_in_their_order():
    tagged = np.column_stack([np.zeros((1000, 3)), np.arange(1000)])
    kept = zoo._sample(tagged, 100, np.random.default_rng(0), "tagged")[:, 3]
    assert len(np.unique(kept)) == 100 and np.all(np.diff(kept) > 0)


def test_a_lidar_sweep_is_sampled_to_size(tmp_path):
    sweep = ps.lidar_sweep(np.random.default_rng(0), n_beams=16, n_azimuth=512)
    path = tmp_path / "scan.bin"
    sweep.astype("<f4").tofile(path)
    wl = workload("minkunet-outdoor", points=str(path), size=3000, seed=1)
    assert wl.stats["points"] == 3000
    assert wl.stats["voxels"] < 3000
    pillars = zoo.pointpillars_pfn(points=str(path))
    assert pillars["pillar_group"].attrs.search.value == "grid"


def test_a_synthetic_sweep_is_cast_whole_then_sampled():
    wl = workload("pointpillars", size=5000, seed=0)
    in_range = wl.network.inputs[0].shape[0]  # points inside KITTI's detection range
    assert in_range == wl.stats["points"] < 5000


@pytest.mark.parametrize("call, error, match", [
    (lambda: workload("pointnet"), UnknownNameError,
     r"unknown point-cloud network 'pointnet' \(did you mean 'pointnet2-seg'\?\)"),
    (lambda: zoo.pointnet2_cls(size=8), SpecError, r"size must be an int in \[16, "),
    (lambda: zoo.pointnet2_cls(size=2.5), SpecError, r"size must be an int in \[16, "),
    (lambda: zoo.pointnet2_seg(size=0), SpecError, r"size must be an int in \[1, "),
    (lambda: zoo.dgcnn_cls(seed=-1), SpecError, r"dgcnn-cls: seed must be an integer in \[0, 2\*\*64\)"),
    (lambda: zoo.dgcnn_cls(seed="x"), SpecError, r"seed must be an integer"),
    (lambda: zoo.dgcnn_cls(points=5), SpecError, r"points must be the path of a point file"),
    (lambda: zoo.dgcnn_cls(points="missing.ply"), PointFileError, r"cannot read point file"),
])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_size_above_the_points_of_a_file(tmp_path):
    path = tmp_path / "few.npy"
    np.save(path, ps.object_points(np.random.default_rng(0), 100))
    with pytest.raises(SpecError, match=r"size 200 exceeds the 100 points of .*few.npy; give at "
                                        r"most 100, or leave size out"):
        workload("pointnet2-cls", points=str(path), size=200)
