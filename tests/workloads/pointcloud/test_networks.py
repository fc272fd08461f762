"""Point-cloud networks: published sizes, and sizes that come from the mapping on real points."""

from __future__ import annotations

import numpy as np
import pytest

from workloads import OpKind, SpecError
from workloads.ops import NeighbourSearch
from workloads.pointcloud import mapping as mp
from workloads.pointcloud import networks as wls
from workloads.pointcloud import pointsets as ps


@pytest.fixture(scope="module")
def small_sweep():
    return ps.lidar_sweep(np.random.default_rng(5), n_beams=16, n_azimuth=512)


def test_pointnet2_cls_matches_published_size():
    # PointNeXt (Qian et al., NeurIPS 2022, arXiv 2206.04670), Table 2: PointNet++ (SSG) on
    # ModelNet40, 1.48 M parameters, 1.68 GFLOPs (= 0.84 GMACs) for 1024 points. Tolerance 2 %.
    wl = wls.pointnet2_cls(rng=np.random.default_rng(0))
    assert wl.network.params == pytest.approx(1.48e6, rel=0.02)
    assert wl.network.macs == pytest.approx(0.84e9, rel=0.02)


def test_pointnet2_cls_macs_hand_count():
    # SA1 512 x 32 rows through 3->64->64->128, SA2 128 x 64 rows through 131->128->128->256,
    # SA3 128 rows through 259->256->512->1024, head 1024->512->256->40.
    sa1 = 512 * 32 * (3 * 64 + 64 * 64 + 64 * 128)
    sa2 = 128 * 64 * (131 * 128 + 128 * 128 + 128 * 256)
    sa3 = 128 * (259 * 256 + 256 * 512 + 512 * 1024)
    head = 1024 * 512 + 512 * 256 + 256 * 40
    assert wls.pointnet2_cls(rng=np.random.default_rng(1)).network.macs == sa1 + sa2 + sa3 + head


def test_dgcnn_matches_published_size():
    # PointNeXt, Table 2: DGCNN on ModelNet40, 1.8 M parameters, 4.8 GFLOPs (2.4 GMACs). 3 %.
    wl = wls.dgcnn_cls(rng=np.random.default_rng(0))
    assert wl.network.params == pytest.approx(1.8e6, rel=0.03)
    assert wl.network.macs == pytest.approx(2.4e9, rel=0.03)


def test_minkunet_params_match_torchsparse(small_sweep):
    # SPVNAS (Tang et al., ECCV 2020, arXiv 2007.16100), Table 1: MinkowskiNet, 21.7 M params.
    wl = wls.minkunet(small_sweep, scene="outdoor")
    assert wl.network.params / 1e6 == pytest.approx(21.7, abs=0.05)


def test_mapping_sizes_flow_into_the_ops():
    pts = ps.object_points(np.random.default_rng(2), 1024)
    wl = wls.pointnet2_cls(pts)
    q = wl.network["sa1.ball_query"]
    centres = pts[mp.farthest_point_sampling(pts, 512)]
    expected = mp.ball_query(centres, pts, 0.2, 32).n_found
    assert q.attrs.n_found == expected == wl.stats["sa1.neighbours_found"]
    assert len(wl.index_streams["sa1.group_xyz"]) == 512 * 32


def test_sparse_conv_pairs_come_from_the_kernel_maps(small_sweep):
    wl = wls.minkunet(small_sweep, scene="outdoor")
    vox = mp.voxelize(small_sweep, 0.05)
    stem = wl.network["stem.0.conv"]
    assert stem.input_shapes[0][0] == len(vox.coords) == wl.stats["voxels"]
    ref = mp.kernel_map(vox.coords, vox.coords, mp.cube_offsets(3))
    assert stem.attrs.n_pairs == ref.n_pairs == wl.stats["pairs_stride1"]
    for op in wl.network.ops:
        if op.name in wl.kernel_maps:
            assert wl.kernel_maps[op.name].n_pairs == op.attrs.n_pairs
    # Each map is built by its first conv: 5 submanifold maps + 4 strided ones are not reused.
    built = [op.name for op in wl.network.ops if op.kind is OpKind.SPARSE_CONV3D
             and op.name in wl.kernel_maps and not op.attrs.reuses_kernel_map]
    assert len(built) == 9 and "stem.0.conv" in built and "stem.1.conv" not in built
    down, up = wl.kernel_maps["stage1.down.conv"], wl.kernel_maps["up4.deconv.conv"]
    assert np.array_equal(down.in_idx, up.out_idx)
    assert wl.network["up4.deconv.conv"].attrs.reuses_kernel_map


def test_pointpillars_groups_points_into_pillars(small_sweep):
    wl = wls.pointpillars(small_sweep)
    group = wl.network["pillar_group"]
    assert group.attrs.search is NeighbourSearch.GRID
    assert group.attrs.n_found == wl.stats["points_grouped"] <= wl.stats["points"]
    assert wl.network["bev_scatter"].output_shape == (432 * 496, 64)
    assert len(wl.index_streams["bev_scatter"]) == wl.stats["pillars"]


def test_seg_and_indoor_networks_build():
    rng = np.random.default_rng(3)
    seg = wls.pointnet2_seg(ps.room_block(rng, ps.indoor_room(rng, 5000), 1024))
    assert seg.network.ops[-1].output_shape == (1024, 13)
    room = wls.minkunet(ps.indoor_room(rng, 3000, size_m=(2, 2, 2)), scene="indoor", voxel_size_m=0.1)
    assert room.network.ops[-1].output_shape[1] == 20


def test_builder_errors():
    with pytest.raises(SpecError, match="give a point set or a numpy.random.Generator"):
        wls.pointnet2_cls()
    with pytest.raises(SpecError, match="scene must be 'outdoor' or 'indoor'"):
        wls.minkunet(np.zeros((10, 3)), scene="space")
    with pytest.raises(SpecError, match="no points inside the KITTI detection range"):
        wls.pointpillars(np.full((10, 4), -500.0))
    with pytest.raises(SpecError, match="dgcnn k must be in"):
        wls.dgcnn_cls(np.random.default_rng(0).random((8, 3)), k=20)
