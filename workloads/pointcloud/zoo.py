"""The point-cloud networks as registered workloads: `edgesim run pointnet2-ssg --device pointacc`.

Each builder takes the same three keyword arguments (`edgesim run NAME --arg KEY=VALUE`):

- `points`: a point file (.npy, .bin KITTI, .ply; `pointsets.load_points`); None makes a seeded
  synthetic set of the kind the network is published on (an object, a room, a lidar sweep);
- `size`: the points used. A synthetic object or room is made with that many; a lidar sweep is
  ray-cast at the HDL-64E's full resolution (about 1.2e5 points) and `size` of its points
  kept, as RandLA-Net samples a fixed count per SemanticKITTI scan; a file's points are sampled
  down to `size`. None: the published input (1024 object points, a 4096-point room block, a
  200,000-point room, a whole sweep, or the whole file);
- `seed`: seeds the `numpy.random.Generator` every random choice (synthetic set, sampling)
  draws from, so a name and its arguments always build the same network.

They return the network, a `PointCloudNetwork` that carries the index streams and kernel maps
a cache-replaying device reads (`PointAccDevice.for_network`, which `simulate` calls), so a run
prices what the study prices; `workload` returns the `PointCloudWorkload` around it. With no
arguments, the network is the one the point-cloud study builds at full scale with seed 0.

The front end of PointPillars is registered as ``pointpillars-pfn``: ``pointpillars`` is the
zoo's whole detection network (`workloads.zoo.pointpillars`, pillar counts given, no points).
``pointnet2-ssg`` names the same network as ``pointnet2-cls`` (the reference code's
``pointnet2_cls_ssg``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from workloads import Network, SpecError, UnknownNameError
from workloads.errors import suggest
from workloads.pointcloud import networks as nets
from workloads.pointcloud import pointsets as ps
from workloads.pointcloud.networks import PointCloudWorkload

MAX_SEED = 2**64 - 1
"""Largest seed numpy's generators take."""


def _object(n_default: int) -> Callable[[np.random.Generator, int | None], np.ndarray]:
    def make(rng: np.random.Generator, size: int | None) -> np.ndarray:
        return ps.object_points(rng, n_default if size is None else ps.check_count(size, "size", 16))

    return make


def _room_block(rng: np.random.Generator, size: int | None) -> np.ndarray:
    n = 4096 if size is None else ps.check_count(size, "size")
    return ps.room_block(rng, ps.indoor_room(rng, max(20 * n, 20_000)), n)


def _room(rng: np.random.Generator, size: int | None) -> np.ndarray:
    return ps.indoor_room(rng, 200_000 if size is None else ps.check_count(size, "size", 16))


def _sweep(rng: np.random.Generator, size: int | None) -> np.ndarray:
    sweep = ps.lidar_sweep(rng)
    return sweep if size is None else _sample(sweep, size, rng, "the synthetic lidar sweep")


_NETWORKS: dict[str, tuple[Callable[[np.ndarray], PointCloudWorkload],
                           Callable[[np.random.Generator, int | None], np.ndarray]]] = {
    "pointnet2-cls": (nets.pointnet2_cls, _object(1024)),
    "pointnet2-seg": (nets.pointnet2_seg, _room_block),
    "dgcnn-cls": (nets.dgcnn_cls, _object(1024)),
    "minkunet-indoor": (lambda points: nets.minkunet(points, scene="indoor"), _room),
    "minkunet-outdoor": (lambda points: nets.minkunet(points, scene="outdoor"), _sweep),
    "pointpillars": (nets.pointpillars, _sweep),
}
"""Network name -> (builder from a point set, synthetic point set from (rng, size))."""
NAMES = tuple(_NETWORKS)
"""The networks `workload` builds, in the study's order."""


def _sample(points: np.ndarray, size: int | None, rng: np.random.Generator, what: str) -> np.ndarray:
    """`size` of `points` drawn without replacement, kept in their order (a sweep's ring order)."""
    if size is None:
        return points
    size = ps.check_count(size, "size")
    if size > len(points):
        raise SpecError(f"size {size} exceeds the {len(points)} points of {what}; give at most "
                        f"{len(points)}, or leave size out to use them all")
    return points[np.sort(rng.choice(len(points), size=size, replace=False))]


def workload(name: str, *, points: str | Path | None = None, size: int | None = None,
             seed: int = 0) -> PointCloudWorkload:
    """The point-cloud workload `name` (one of NAMES) on a point file or a synthetic set.

    Raises UnknownNameError for an unknown name, PointFileError for a file that cannot be read,
    SpecError for a bad size or seed (or a size above the points there are).
    """
    if name not in _NETWORKS:
        raise UnknownNameError(f"unknown point-cloud network {name!r}{suggest(name, _NETWORKS)}; "
                        f"choose from {sorted(_NETWORKS)}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise SpecError(f"{name}: seed must be an integer in [0, 2**64) (got {seed!r})")
    if points is not None and not isinstance(points, (str, Path)):
        raise SpecError(f"{name}: points must be the path of a point file (.npy, .bin, .ply), "
                        f"got {points!r}")
    build, synthetic = _NETWORKS[name]
    rng = np.random.default_rng(seed)
    if points is None:
        pts = synthetic(rng, size)
    else:
        pts = _sample(ps.load_points(points), size, rng, str(points))
    return build(pts)


def pointnet2_cls(*, points: str | None = None, size: int | None = None, seed: int = 0) -> Network:
    """PointNet++ SSG classification (Qi et al., arXiv 1706.02413), 1024 object points.

    Sizes from the mapping on the points (`workloads.pointcloud.networks.pointnet2_cls`);
    `points`, `size`, `seed` as the module says.
    """
    return workload("pointnet2-cls", points=points, size=size, seed=seed).network


def pointnet2_seg(*, points: str | None = None, size: int | None = None, seed: int = 0) -> Network:
    """PointNet++ SSG segmentation (Qi et al., arXiv 1706.02413), a 4096-point S3DIS-like block.

    `points`, `size`, `seed` as the module says.
    """
    return workload("pointnet2-seg", points=points, size=size, seed=seed).network


def dgcnn_cls(*, points: str | None = None, size: int | None = None, seed: int = 0) -> Network:
    """DGCNN classification (Wang et al., arXiv 1801.07829), 1024 object points, k = 20.

    `points`, `size`, `seed` as the module says.
    """
    return workload("dgcnn-cls", points=points, size=size, seed=seed).network


def minkunet_indoor(*, points: str | None = None, size: int | None = None, seed: int = 0) -> Network:
    """MinkUNet (Choy et al., arXiv 1904.08755), a 200,000-point room at 2 cm voxels.

    `points`, `size`, `seed` as the module says.
    """
    return workload("minkunet-indoor", points=points, size=size, seed=seed).network


def minkunet_outdoor(*, points: str | None = None, size: int | None = None, seed: int = 0) -> Network:
    """MinkUNet (Choy et al., arXiv 1904.08755), a 64-beam lidar sweep at 5 cm voxels.

    `points`, `size`, `seed` as the module says.
    """
    return workload("minkunet-outdoor", points=points, size=size, seed=seed).network


def pointpillars_pfn(*, points: str | None = None, size: int | None = None, seed: int = 0) -> Network:
    """PointPillars front end (Lang et al., arXiv 1812.05784): pillars of a lidar sweep, BEV scatter.

    `points`, `size`, `seed` as the module says.
    """
    return workload("pointpillars", points=points, size=size, seed=seed).network
