"""`edgesim run NAME --device pointacc` prices what the point-cloud study prices.

The zoo's point-cloud workloads build a `PointCloudNetwork` that carries its index streams and
kernel maps; `simulate` hands it to `PointAccDevice.for_network`, which plans it as the study's
`for_workload` does. The reference here is the study's own row for the same network, points
and seed (accelerators/studies/pointcloud.py, `run_case`), so the two paths must agree to
rounding; before the hook, the run priced from counts (0.81 ms against the study's 0.33 ms).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from accelerators.pointcloud.device import FAMILY, PointAccDevice
from accelerators.studies import pointcloud as study
from sim import Registry, simulate
from sim.cli import main
from workloads import OpKind, trace
from workloads.pointcloud import PointCloudNetwork
from workloads.pointcloud import networks as wls
from workloads.pointcloud import pointsets as ps


@pytest.fixture(scope="module")
def registry():
    return Registry.from_entry_points()


def test_cli_run_equals_the_study_row(registry, tmp_path, capsys):
    case = next(c for c in study.cases("full") if c.name == "pointnet2-cls")
    row = study.run_case(case, FAMILY.device("pointacc").spec, registry.device("gpu-rtx2080ti"), seed=0)
    assert main(["run", "pointnet2-cls", "--device", "pointacc", "--seed", "0",
                 "--out", str(tmp_path)], registry) == 0
    out = capsys.readouterr().out
    totals = json.loads((tmp_path / "pointnet2-cls.json").read_text())["totals"]
    assert totals["latency_s"] * 1e3 == pytest.approx(row.accel_latency_ms, rel=1e-12)
    assert totals["energy_j"] * 1e3 == pytest.approx(row.accel_energy_mj, rel=1e-12)
    # The summary says what the input's leading dimension is: points of one set, not a batch.
    assert "1 point set (1,024 points)" in out


@pytest.fixture(scope="module")
def small_minkunet():
    sweep = ps.lidar_sweep(np.random.default_rng(2), n_beams=16, n_azimuth=256)
    return wls.minkunet(sweep, scene="outdoor")


def test_for_network_plans_sparse_convs_like_for_workload(small_minkunet):
    net = small_minkunet.network
    assert isinstance(net, PointCloudNetwork)
    bound = FAMILY.device("pointacc").for_network(net)
    planned = PointAccDevice.for_workload(small_minkunet, FAMILY.device("pointacc").spec)
    assert bound.plan.sparse_convs.keys() == planned.plan.sparse_convs.keys() != set()
    assert bound.plan.on_chip == planned.plan.on_chip
    a, b = simulate(net, FAMILY.device("pointacc")), simulate(net, planned)
    assert (a.latency_s, a.energy_j) == (b.latency_s, b.energy_j)
    # A device that has a plan keeps it: the study's explicit `for_workload` is not redone.
    assert planned.for_network(net) is planned


def test_fused_network_keeps_its_maps_under_the_anchor(small_minkunet):
    fused = small_minkunet.network.fused()
    assert isinstance(fused, PointCloudNetwork) and fused.kernel_maps
    anchors = {op.anchor.name for op in fused.ops if op.anchor.kind is OpKind.SPARSE_CONV3D}
    assert set(FAMILY.device("pointacc").for_network(fused).plan.sparse_convs) == anchors & set(fused.kernel_maps)


def test_a_plain_network_is_priced_from_counts(small_minkunet):
    net = small_minkunet.network
    loaded = trace.loads(trace.dumps(net, "json"), "json")  # a trace holds the ops, not the arrays
    assert loaded == net and not isinstance(loaded, PointCloudNetwork)
    dev = FAMILY.device("pointacc")
    assert dev.for_network(loaded) is dev
    assert simulate(loaded, dev).latency_s > simulate(net, dev).latency_s  # no cache reuse, no fusion
