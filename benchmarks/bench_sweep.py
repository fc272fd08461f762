"""Speed of `sim.sweep`: 10,200 ResNet-18 design points on the three FPGA presets.

Run: python benchmarks/bench_sweep.py [--points-only] [--workers N] [--repeats R]

The sweep: ResNet-18 at 34 input resolutions (96-228 px) x block-pruning ratios 0-0.9 (10)
x five quantization schemes (fixed w8a8 and w4a8, power-of-two w4a8, mixed w4a8 half
power-of-two, multi-precision a quarter of rows at 8 bits) x fused or not (2) x 3 FPGAs
(ZCU102, XC7Z045, XC7Z020) = 10,200 points. Every point is a distinct (network, device) pair,
priced from scratch; nothing is stored (no --out), so each repeat runs everything. Prints wall time (min and median of the repeats), points per second, and the
CPU count the pool used. The machine is shared: other users' load shows in the wall time.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time

from sim.sweep import parse_spec, points, run

RESOLUTIONS = list(range(96, 229, 4))  # 34 values

SPEC = {
    "name": "bench-resnet18-fpga",
    "models": ["resnet18"],
    "settings": ["w8a8", "w4a8", "pot:w4a8", "mixed:w4a8:0.5", "mp:w4a8:8:0.25"],
    "devices": ["fpga-zcu102", "fpga-xc7z045", "fpga-xc7z020"],
    "parameters": {
        "model.resolution": RESOLUTIONS,
        "prune.block": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
        "fuse": [False, True],
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    specs = [parse_spec(SPEC)]
    n = sum(len(points(s)) for s in specs)
    print(f"sweep benchmark: {n:,} ResNet-18 points on FPGAs, {args.workers} worker processes, "
          f"{os.cpu_count()} CPUs, {os.getloadavg()[0]:.1f} load before")
    walls, cpus = [], []
    for _ in range(args.repeats):
        cpu0 = _cpu_s()
        start = time.perf_counter()
        results = [run(s, workers=args.workers, progress=False) for s in specs]
        walls.append(time.perf_counter() - start)
        cpus.append(_cpu_s() - cpu0)
        ok = sum(r["status"] == "ok" for res in results for r in res.rows)
        print(f"  run: {walls[-1]:.2f} s wall, {cpus[-1]:.2f} s CPU (parent and workers), "
              f"{n / walls[-1]:,.0f} points/s, {ok:,} feasible, {n - ok:,} infeasible")
    print(f"wall time: min {min(walls):.2f} s, median {statistics.median(walls):.2f} s "
          f"({n / min(walls):,.0f} points/s at best); CPU: min {min(cpus):.2f} s, "
          f"{min(cpus) / n * 1e3:.2f} ms per point, so {min(cpus) / args.workers:.1f} s of wall "
          f"on {args.workers} otherwise idle cores; load after {os.getloadavg()[0]:.1f}")


def _cpu_s() -> float:
    """User + system CPU seconds of this process and its finished children (the pool)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


if __name__ == "__main__":
    main()
