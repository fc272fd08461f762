"""Speed of the point-cloud pieces on a ~100k-point lidar sweep: mapping ops, the cache
simulation of a real gather stream (vectorised LRU), and planning + simulating MinkUNet.

    python benchmarks/bench_pointcloud.py

Prints one line per figure (best of `REPEATS` runs, wall-clock seconds on this machine).
"""

from __future__ import annotations

import time
from unittest import mock

import numpy as np

from accelerators.pointcloud import cache as cache_module
from accelerators.pointcloud.cache import lru_hits, reuse_distances, simulate_rows
from accelerators.pointcloud.device import FAMILY, PointAccDevice
from devices.gpu_pointcloud import FAMILY as GPU
from sim import simulate
from workloads.pointcloud import mapping as mp
from workloads.pointcloud import networks as wls
from workloads.pointcloud import pointsets as ps

REPEATS = 3


def best(fn, repeats: int = REPEATS):
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def _cpu_s(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def _counts_from_distances(blocks, n_sets: int, ways: int) -> tuple[int, int]:
    d = reuse_distances(blocks, n_sets)
    return int(np.count_nonzero((d < 0) | (d >= ways))), int(np.count_nonzero(d < 0))


def report(label: str, seconds: float, extra: str = "") -> None:
    print(f"{label:<62}{seconds:8.3f} s  {extra}".rstrip())


def main() -> None:
    rng = np.random.default_rng(0)
    t, sweep = best(lambda: ps.lidar_sweep(np.random.default_rng(0)), 1)
    report(f"lidar sweep generation ({len(sweep):,} points, 64 x 2048 rays)", t)
    xyz = sweep[:, :3]
    t, vox = best(lambda: mp.voxelize(sweep, 0.05))
    report(f"voxelise at 5 cm ({len(vox.coords):,} voxels)", t)
    offs = mp.cube_offsets(3)
    t, kmap = best(lambda: mp.kernel_map(vox.coords, vox.coords, offs))
    report(f"kernel map 3x3x3 ({kmap.n_pairs:,} pairs)", t)
    coarse = mp.downsample(vox.coords, 2).coords
    t, _ = best(lambda: mp.kernel_map(vox.coords, coarse, mp.cube_offsets(2, 1, centred=False)))
    report(f"kernel map 2x2x2 stride 2 ({len(coarse):,} outputs)", t)
    t, centres = best(lambda: mp.farthest_point_sampling(xyz, 4096), 1)
    report(f"farthest-point sampling 4,096 of {len(xyz):,}", t)
    q = xyz[centres]
    t, nb = best(lambda: mp.ball_query(q, xyz, 1.0, 32))
    report(f"ball query 4,096 x 32 within 1 m ({nb.n_found:,} found)", t)
    t, _ = best(lambda: mp.knn(q, xyz, 16))
    report("kNN 4,096 x 16", t)
    spec = FAMILY.spec("pointacc")
    rows = kmap.in_idx
    t, hits = best(lambda: lru_hits(rows, spec.memory.cache.n_sets, spec.memory.cache.ways))
    rate = len(rows) / t / 1e6
    report(f"LRU cache simulation, {len(rows):,}-access gather stream", t, f"({rate:.2f} M accesses/s, hit ratio {hits.mean():.3f})")
    shuffled = rng.permutation(rows)
    t, _ = best(lambda: simulate_rows(shuffled, 64, spec.memory.cache))
    report("LRU cache simulation, same stream shuffled, 64-B rows", t)
    t, wl = best(lambda: wls.minkunet(sweep, scene="outdoor"), 1)
    report(f"build MinkUNet workload ({len(wl.network)} ops, all kernel maps)", t)
    t, dev = best(lambda: PointAccDevice.for_workload(wl, spec))
    cpu = min(_cpu_s(lambda: PointAccDevice.for_workload(wl, spec)) for _ in range(REPEATS))
    report("plan it on PointAcc (cache simulations of every gather)", t, f"(CPU {cpu:.3f} s)")
    # The same plan with full reuse distances (the planner before lru_miss_counts), side by side.
    with mock.patch.object(cache_module, "lru_miss_counts", _counts_from_distances):
        t_exact, dev_exact = best(lambda: PointAccDevice.for_workload(wl, spec), 1)
    same = "same plan" if dev_exact.plan == dev.plan else "PLANS DIFFER"
    report("  the same with exact reuse distances (previous planner)", t_exact,
           f"({t_exact / t:.1f}x slower, {same})")
    t, rep = best(lambda: simulate(wl.network, dev))
    report(f"simulate it on PointAcc ({rep.latency_s * 1e3:.1f} ms simulated)", t)
    gpu = GPU.device("rtx2080ti")
    t, rep = best(lambda: simulate(wl.network, gpu))
    report(f"simulate it on the RTX 2080 Ti ({rep.latency_s * 1e3:.1f} ms simulated)", t)


if __name__ == "__main__":
    main()
