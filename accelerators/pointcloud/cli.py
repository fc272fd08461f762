"""`edgesim pointcloud ...`: plug-in commands of the point-cloud accelerator package.

    edgesim pointcloud study --out results/pointcloud      # the PointAcc vs RTX 2080 Ti study
    edgesim pointcloud workload minkunet-outdoor --points scan.bin   # mapping sizes of a network

The networks are the registered point-cloud workloads (`workloads.pointcloud.zoo`); `edgesim
run NAME --device pointacc` simulates one.

Registered through the entry-point group `edgesim.commands` as
`pointcloud = "accelerators.pointcloud.cli:register"`.
"""

from __future__ import annotations

import argparse

from accelerators.studies import pointcloud as study
from sim.cli import seed_value
from workloads import OpKind
from workloads.pointcloud import NAMES, workload


def register(subparsers) -> None:
    """Add the `pointcloud` command and its sub-commands to the edgesim parser."""
    p = subparsers.add_parser("pointcloud", help="point-cloud accelerator: study and workloads")
    sub = p.add_subparsers(dest="pointcloud_command", required=True)
    s = sub.add_parser("study", help="PointAcc-style accelerator vs RTX 2080 Ti, tables and plots")
    study.add_arguments(s)
    s.set_defaults(handler=_study)
    w = sub.add_parser("workload", help="build a point-cloud network and print its mapping sizes")
    w.add_argument("network", help=f"one of {sorted(NAMES)}")
    w.add_argument("--points", help="point file (.npy, .bin KITTI, .ply); default: synthetic")
    w.add_argument("--size", type=int, help="points used (default: the published input size)")
    w.add_argument("--seed", type=seed_value, default=0)
    w.set_defaults(handler=_workload)


def _study(args: argparse.Namespace, registry) -> int:
    return study.run_from_args(args, registry)


def _workload(args: argparse.Namespace, registry) -> int:
    built = workload(args.network, points=args.points, size=args.size, seed=args.seed)
    net = built.network
    print(f"{net.name}: {len(net)} ops, {net.macs / 1e9:.4g} GMACs, {net.params / 1e6:.4g} M params")
    for key, value in built.stats.items():
        print(f"  {key:<28}{value:>14,.0f}")
    mapping = [op for op in net.ops if op.kind in _MAPPING_AND_SPARSE]
    reused = [op for op in net.ops if op.kind is OpKind.SPARSE_CONV3D and op.attrs.reuses_kernel_map]
    print(f"  mapping ops and sparse convs: {len(mapping)}, kernel maps reused: {len(reused)}")
    return 0


_MAPPING_AND_SPARSE = frozenset({OpKind.FPS, OpKind.KNN, OpKind.BALL_QUERY, OpKind.SPARSE_CONV3D})
