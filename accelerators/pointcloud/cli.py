"""`edgesim pointcloud ...`: plug-in commands of the point-cloud accelerator package.

    edgesim pointcloud study --out results/pointcloud      # the PointAcc vs RTX 2080 Ti study
    edgesim pointcloud workload minkunet-outdoor --points scan.bin   # mapping sizes of a network

Registered through the entry-point group `edgesim.commands` as
`pointcloud = "accelerators.pointcloud.cli:register"`.
"""

from __future__ import annotations

import argparse

import numpy as np

from accelerators.pointcloud import study
from accelerators.pointcloud.pointsets import load_points
from accelerators.pointcloud.workloads import BUILDERS
from sim.cli import seed_value
from workloads import SpecError
from workloads.errors import suggest


def register(subparsers) -> None:
    """Add the `pointcloud` command and its sub-commands to the edgesim parser."""
    p = subparsers.add_parser("pointcloud", help="point-cloud accelerator: study and workloads")
    sub = p.add_subparsers(dest="pointcloud_command", required=True)
    s = sub.add_parser("study", help="PointAcc-style accelerator vs RTX 2080 Ti, tables and plots")
    study.add_arguments(s)
    s.set_defaults(handler=_study)
    w = sub.add_parser("workload", help="build a point-cloud network and print its mapping sizes")
    w.add_argument("network", help=f"one of {sorted(BUILDERS)}")
    w.add_argument("--points", help="point file (.npy, .bin KITTI, .ply); default: synthetic")
    w.add_argument("--seed", type=seed_value, default=0)
    w.set_defaults(handler=_workload)


def _study(args: argparse.Namespace, registry) -> int:
    return study.run_from_args(args, registry)


def _workload(args: argparse.Namespace, registry) -> int:
    if args.network not in BUILDERS:
        raise SpecError(f"unknown point-cloud network {args.network!r}"
                        f"{suggest(args.network, BUILDERS)}; choose from {sorted(BUILDERS)}")
    points = load_points(args.points) if args.points else None
    workload = BUILDERS[args.network](points, rng=np.random.default_rng(args.seed))
    net = workload.network
    print(f"{net.name}: {len(net)} ops, {net.macs / 1e9:.4g} GMACs, {net.params / 1e6:.4g} M params")
    for key, value in workload.stats.items():
        print(f"  {key:<28}{value:>14,.0f}")
    mapping = [op for op in net.ops if op.kind.value in ("fps", "knn", "ball_query", "sparse_conv3d")]
    print(f"  mapping ops and sparse convs: {len(mapping)}, "
          f"kernel maps reused: {len(workload.cached_kernel_maps)}")
    return 0
