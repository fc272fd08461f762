"""Speed of the point-cloud networks: building each one (point set, voxels, kernel maps, index
streams) and planning it on PointAcc (`Device.for_network`: the cache replay of every gather and
sparse-conv input stream, and fusion), as `edgesim run NAME --device pointacc` does them.

Run: python benchmarks/bench_pointcloud.py [--against REV] [--repeats N] [--parts]
Prints, per network, the CPU time (process time, minimum of N repeats; the machine is shared
and wall time is noisy) of the build and of the plan, and a digest of the network's index
arrays and of its plan. With --against REV (default 5fb37ab, main before the planner's fast
paths) the packages of that git revision (`git archive` into a temporary folder) are timed in
the same run, each repeat a fresh subprocess per revision, interleaved so that machine noise
hits both alike; the digests show that both build the same arrays and the same plan.
--parts also times the pieces on a ~100k-point lidar sweep (mapping ops, the LRU replay of a
real gather stream, planning and simulating MinkUNet), in this checkout only.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NETWORKS = ("pointnet2-cls", "pointnet2-seg", "dgcnn-cls", "minkunet-indoor", "minkunet-outdoor",
            "pointpillars-pfn")
PACKAGES = ("workloads", "sim", "devices", "accelerators")
DEFAULT_AGAINST = "5fb37ab"


def _digest(*parts) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else repr(p).encode())
    return h.hexdigest()[:12]


def _network_digest(net) -> str:
    import numpy as np
    parts = [repr([(op.name, op.kind.value, op.input_shapes, op.output_shape) for op in net.ops])]
    for name in sorted(net.index_streams):
        parts += [name, np.ascontiguousarray(net.index_streams[name]).tobytes()]
    for name in sorted(net.kernel_maps):
        km = net.kernel_maps[name]
        parts += [name] + [np.ascontiguousarray(a).tobytes() for a in (km.in_idx, km.out_idx, km.offset)]
    return _digest(*parts)


def _plan_digest(plan) -> str:
    return _digest(sorted(plan.on_chip), sorted(plan.streams.items()), sorted(plan.sparse_convs.items()))


def worker(names: list[str]) -> None:
    """Build and plan each network once; print one JSON line per network (run in a subprocess,
    possibly on another revision's packages)."""
    from sim.registry import Registry
    registry = Registry.from_entry_points()
    device = registry.device("pointacc")
    for name in names:
        start = time.process_time()
        net = registry.workload(name)
        build_s = time.process_time() - start
        start = time.process_time()
        planned = device.for_network(net)
        plan_s = time.process_time() - start
        print(json.dumps({"name": name, "build_s": build_s, "plan_s": plan_s,
                          "network": _network_digest(net), "plan": _plan_digest(planned.plan)}),
              flush=True)


def _run_worker(pythonpath: Path | None, names: list[str]) -> dict[str, dict]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = f"{pythonpath}{os.pathsep}{env.get('PYTHONPATH', '')}"
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", *names],
                         cwd=pythonpath or ROOT, env=env, check=True, capture_output=True,
                         text=True).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return {r["name"]: r for r in rows}


def checkout(rev: str) -> Path:
    """The packages of git revision `rev`, extracted into a temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix=f"edgesim-{rev}-"))
    archive = subprocess.run(["git", "archive", "--format=tar", rev, *PACKAGES], cwd=ROOT,
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def compare(names: list[str], against: str | None, repeats: int) -> None:
    revisions: dict[str, Path | None] = {"this checkout": None}
    if against:
        revisions = {against: checkout(against), "this checkout": None}
    best: dict[str, dict[str, dict]] = {label: {} for label in revisions}
    for _ in range(repeats):
        for label, path in revisions.items():  # interleaved
            for name, row in _run_worker(path, names).items():
                kept = best[label].setdefault(name, dict(row))
                for key in ("build_s", "plan_s"):
                    if key in row:
                        kept[key] = min(kept[key], row[key])
    print(f"CPU seconds, minimum of {repeats} runs (build: the network with its point set, kernel "
          "maps and index streams; plan: PointAcc's for_network)")
    header = f"{'network':<18}" + "".join(f"{label + ' build':>22}{'plan':>9}" for label in revisions)
    if against:
        header += f"{'build x':>9}{'plan x':>8}  same arrays, same plan"
    print(header)
    for name in names:
        line = f"{name:<18}"
        rows = [best[label].get(name, {}) for label in revisions]
        for row in rows:
            line += (f"{row['build_s']:22.3f}{row['plan_s']:9.3f}" if "build_s" in row
                     else f"{'(' + row.get('error', 'missing') + ')':>31}")
        if against and all("build_s" in r for r in rows):
            old, new = rows
            same = ("yes" if (old["network"], old["plan"]) == (new["network"], new["plan"])
                    else f"NO (network {old['network']} vs {new['network']}, plan {old['plan']} vs {new['plan']})")
            line += (f"{old['build_s'] / max(new['build_s'], 1e-9):8.1f}x"
                     f"{old['plan_s'] / max(new['plan_s'], 1e-9):7.1f}x  {same}")
        print(line)


def parts() -> None:
    """The pieces on a ~100k-point lidar sweep, in this checkout (wall time, best of 3)."""
    import numpy as np

    from accelerators.pointcloud.cache import lru_hits, simulate_rows
    from accelerators.pointcloud.device import PointAccDevice
    from sim import simulate
    from sim.registry import Registry
    from workloads.pointcloud import mapping as mp
    from workloads.pointcloud import networks as wls
    from workloads.pointcloud import pointsets as ps

    def best(fn, repeats: int = 3):
        times, result = [], None
        for _ in range(repeats):
            start = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - start)
        return min(times), result

    def report(label: str, seconds: float, extra: str = "") -> None:
        print(f"{label:<62}{seconds:8.3f} s  {extra}".rstrip())

    registry = Registry.from_entry_points()
    t, sweep = best(lambda: ps.lidar_sweep(np.random.default_rng(0)), 1)
    report(f"lidar sweep generation ({len(sweep):,} points, 64 x 2048 rays)", t)
    xyz = sweep[:, :3]
    t, vox = best(lambda: mp.voxelize(sweep, 0.05))
    report(f"voxelise at 5 cm ({len(vox.coords):,} voxels)", t)
    t, kmap = best(lambda: mp.kernel_map(vox.coords, vox.coords, mp.cube_offsets(3)))
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
    spec = registry.device("pointacc").spec
    rows = kmap.in_idx
    t, hits = best(lambda: lru_hits(rows, spec.memory.cache.n_sets, spec.memory.cache.ways))
    report(f"LRU reuse distances, {len(rows):,}-access gather stream", t,
           f"({len(rows) / t / 1e6:.2f} M accesses/s, hit ratio {hits.mean():.3f})")
    t, _ = best(lambda: simulate_rows(rows, 64, spec.memory.cache))
    report("LRU miss count of the same stream, 64-B rows", t)
    t, wl = best(lambda: wls.minkunet(sweep, scene="outdoor"), 1)
    report(f"build MinkUNet workload ({len(wl.network)} ops, all kernel maps)", t)
    t, dev = best(lambda: PointAccDevice.for_workload(wl, spec), 1)
    report("plan it on PointAcc (cache simulations of every gather)", t)
    t, _ = best(lambda: PointAccDevice.for_workload(wl, spec))
    report("  plan it again (replays memoised on the network)", t)
    t, rep = best(lambda: simulate(wl.network, dev))
    report(f"simulate it on PointAcc ({rep.latency_s * 1e3:.1f} ms simulated)", t)
    gpu = registry.device("gpu-rtx2080ti")
    t, rep = best(lambda: simulate(wl.network, gpu))
    report(f"simulate it on the RTX 2080 Ti ({rep.latency_s * 1e3:.1f} ms simulated)", t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", nargs="?", const=DEFAULT_AGAINST, default=None,
                        metavar="REV", help=f"also time git revision REV (default {DEFAULT_AGAINST})")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--network", action="append", choices=NETWORKS,
                        help="only this network (repeatable; default all)")
    parser.add_argument("--parts", action="store_true", help="also time the pieces on a lidar sweep")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    compare(list(args.network or NETWORKS), args.against, args.repeats)
    if args.parts:
        parts()


if __name__ == "__main__":
    main()
