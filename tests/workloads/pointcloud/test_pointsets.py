"""Point-set generators (seeded, realistic structure) and the point-file loader."""

from __future__ import annotations

import numpy as np
import pytest

from workloads import EdgesimError, SpecError
from workloads.pointcloud import pointsets as ps


def test_generators_are_deterministic_per_seed():
    a = ps.object_points(np.random.default_rng(3), 512)
    b = ps.object_points(np.random.default_rng(3), 512)
    c = ps.object_points(np.random.default_rng(4), 512)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_object_is_centred_in_the_unit_sphere():
    pts = ps.object_points(np.random.default_rng(0), 1024)
    assert pts.shape == (1024, 3) and pts.dtype == np.float32
    assert np.linalg.norm(pts, axis=1).max() == pytest.approx(1.0, abs=1e-6)
    assert np.abs(pts.mean(axis=0)).max() < 1e-5


def test_room_has_floor_walls_and_block_crop():
    rng = np.random.default_rng(0)
    room = ps.indoor_room(rng, 20_000, size_m=(4.0, 3.0, 2.5), noise_m=0.0)
    assert room.min(axis=0) == pytest.approx([0, 0, 0], abs=1e-5)
    assert room.max(axis=0) == pytest.approx([4, 3, 2.5], abs=1e-5)
    assert np.mean(np.abs(room[:, 2]) < 1e-6) > 0.05  # floor
    block = ps.room_block(rng, room, 1024)
    span = block[:, :2].max(axis=0) - block[:, :2].min(axis=0)
    assert block.shape == (1024, 3) and np.all(span <= 1.0 + 1e-6)


def test_lidar_sweep_has_rings_ground_and_range_limit():
    pts = ps.lidar_sweep(np.random.default_rng(1), n_beams=16, n_azimuth=256, noise_m=0.0,
                         dropout_ratio=0.0)
    assert pts.shape[1] == 4 and 0 <= pts[:, 3].min() and pts[:, 3].max() <= 1
    r = np.linalg.norm(pts[:, :3], axis=1)
    assert r.max() < 80.0
    elevation = np.round(np.degrees(np.arcsin(pts[:, 2] / r)), 3)
    assert len(np.unique(elevation)) == 16  # one ring per beam, no noise
    ground = np.isclose(pts[:, 2], -ps.KITTI_SENSOR_HEIGHT_M, atol=1e-3)
    assert 0.2 < ground.mean() < 0.9


def test_full_sweep_is_kitti_sized():
    pts = ps.lidar_sweep(np.random.default_rng(0), n_azimuth=1024)
    assert 3e4 < len(pts) < 1.5e5  # KITTI frames hold ~1.2e5 points at 2048 azimuths


@pytest.mark.parametrize("suffix", [".npy", ".bin", ".ply"])
def test_point_files_round_trip(tmp_path, suffix):
    pts = ps.lidar_sweep(np.random.default_rng(2), n_beams=4, n_azimuth=64)
    path = tmp_path / f"scan{suffix}"
    if suffix == ".npy":
        np.save(path, pts)
    elif suffix == ".bin":
        pts.astype("<f4").tofile(path)
    else:
        ps.save_ply(path, pts)
    loaded = ps.load_points(path)
    width = 3 if suffix == ".ply" else 4
    assert np.array_equal(loaded, pts[:, :width])


def test_ascii_ply_with_extra_properties(tmp_path):
    path = tmp_path / "a.ply"
    path.write_text("ply\nformat ascii 1.0\ncomment made by hand\nelement vertex 2\n"
                    "property float intensity\nproperty float x\nproperty float y\nproperty float z\n"
                    "element face 0\nproperty list uchar int vertex_indices\nend_header\n"
                    "0.5 1 2 3\n0.25 4 5 6\n")
    assert ps.load_points(path).tolist() == [[1, 2, 3, 0.5], [4, 5, 6, 0.25]]


@pytest.mark.parametrize("name, content, match", [
    ("x.txt", b"", "unknown point file suffix '.txt'"),
    ("x.bin", b"\0" * 20, "multiple of 16"),
    ("x.ply", b"not a ply", "not a PLY file"),
    ("x.ply", b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nend_header\n1\n",
     "needs scalar x, y, z"),
    ("x.ply", b"ply\nformat binary_little_endian 1.0\nelement vertex 9\nproperty float x\n"
              b"property float y\nproperty float z\nend_header\n", "ends before its 9 vertices"),
    ("x.npy", b"garbage", "not a valid .npy"),
])
def test_bad_point_files_raise_one_clear_error(tmp_path, name, content, match):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ps.PointFileError, match=match):
        ps.load_points(path)


def test_missing_file_and_bad_arrays(tmp_path):
    with pytest.raises(ps.PointFileError, match="cannot read point file"):
        ps.load_points(tmp_path / "none.npy")
    np.save(tmp_path / "flat.npy", np.zeros(5))
    with pytest.raises(EdgesimError, match=r"expected an \(N, >=3\) array"):
        ps.load_points(tmp_path / "flat.npy")


def test_absurd_sizes_are_spec_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(SpecError, match="n_points must be an int"):
        ps.object_points(rng, 10**12)
    with pytest.raises(SpecError, match="room size_m"):
        ps.indoor_room(rng, 100, size_m=(-1, 2, 3))
    with pytest.raises(SpecError, match="max_range_m"):
        ps.lidar_sweep(rng, max_range_m=0)


def _ray_boxes_reference(dirs, lo, hi):
    """Per ray and box, the slab method in plain Python (NaN of 0 x inf skipped, as nanmax does)."""
    out = []
    for d in dirs:
        best = np.inf
        for bl, bh in zip(lo, hi):
            near, far = [], []
            for a in range(3):
                with np.errstate(divide="ignore", invalid="ignore"):
                    t1, t2 = bl[a] * (1.0 / d[a]), bh[a] * (1.0 / d[a])
                near.append(min(t1, t2) if not (np.isnan(t1) or np.isnan(t2)) else np.nan)
                far.append(max(t1, t2) if not (np.isnan(t1) or np.isnan(t2)) else np.nan)
            tmin, tmax = np.nanmax(near), np.nanmin(far)
            if tmax >= max(tmin, 0.0) and tmax > 0:
                best = min(best, tmin if tmin > 0 else tmax)
        out.append(best)
    return np.array(out)


def test_ray_box_distances_match_a_per_ray_reference():
    rng = np.random.default_rng(6)
    dirs = rng.normal(size=(60, 3))
    dirs[:6, 2] = 0.0  # horizontal rays: 0 x inf on the z slabs of boxes with a face at z = 0
    dirs[6:9, :2] = 0.0  # vertical rays
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    lo = rng.uniform(-6, 4, (9, 3))
    hi = lo + rng.uniform(0.5, 3, (9, 3))
    lo[0, 2], hi[1, 2] = 0.0, 0.0
    lo[2] = [-1.0, -1.0, -1.0]  # a box around the origin: the exit distance
    hi[2] = [1.0, 1.0, 1.0]
    got = ps._ray_boxes(dirs, lo, hi)
    assert np.isfinite(got).sum() > 10
    assert np.array_equal(got, _ray_boxes_reference(dirs, lo, hi))


def _ray_boxes_all_pairs(dirs, lo, hi):
    """Every ray against every box at once, with nanmax / nanmin (no culling)."""
    d = dirs[:, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = lo[None] * (1.0 / d), hi[None] * (1.0 / d)
        tmin = np.nanmax(np.minimum(t1, t2), axis=2)
        tmax = np.nanmin(np.maximum(t1, t2), axis=2)
    hit = (tmax >= np.maximum(tmin, 0.0)) & (tmax > 0)
    return np.where(hit, np.where(tmin > 0, tmin, tmax), np.inf).min(axis=1)


@pytest.mark.parametrize("seed", range(3))
def test_azimuth_culling_keeps_every_hit_of_a_street_scene(seed):
    rng = np.random.default_rng(seed)
    el, az = np.meshgrid(np.deg2rad(np.linspace(2.0, -24.8, 16)),
                         np.linspace(-np.pi, np.pi, 720, endpoint=False), indexing="ij")
    dirs = np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], -1).reshape(-1, 3)
    centres = rng.uniform(-30, 30, (25, 3))
    centres[0] = [-8.0, 0.0, 0.0]  # straddles the azimuth seam at +-pi
    centres[1] = [0.0, 6.0, 0.0]  # straight ahead on the y axis
    lo = centres - rng.uniform(0.2, 3.0, (25, 3))
    hi = centres + rng.uniform(0.2, 3.0, (25, 3))
    lo[2], hi[2] = [-40.0, 5.0, -2.0], [40.0, 9.0, 10.0]  # a building front spanning ~160 deg
    got = ps._ray_boxes(dirs, lo, hi)
    assert np.isfinite(got).sum() > 500
    assert np.array_equal(got, _ray_boxes_all_pairs(dirs, lo, hi))
