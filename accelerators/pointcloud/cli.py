"""`edgesim pointcloud ...`: plug-in commands of the point-cloud accelerator package.

    edgesim pointcloud workload minkunet-outdoor --points scan.bin   # mapping sizes of a network

The networks are the registered point-cloud workloads (`workloads.pointcloud.zoo`); `edgesim
run NAME --device pointacc` simulates one. `edgesim pointcloud study` (the PointAcc vs RTX
2080 Ti study) is added beside these by the study itself, which registers the command through
the entry-point group `edgesim.commands` as
`pointcloud = "accelerators.studies.pointcloud:register_command"` (a family package never
imports a studies package).
"""

from __future__ import annotations

import argparse

from sim.cli import seed_value
from workloads import OpKind
from workloads.pointcloud import NAMES, workload


def register(subparsers):
    """Add the `pointcloud` command and its `workload` sub-command to the edgesim parser;
    return its sub-command action, to which others (the study) add theirs."""
    p = subparsers.add_parser("pointcloud", help="point-cloud accelerator: study and workloads")
    sub = p.add_subparsers(dest="pointcloud_command", required=True)
    w = sub.add_parser("workload", help="build a point-cloud network and print its mapping sizes")
    w.add_argument("network", help=f"one of {sorted(NAMES)}")
    w.add_argument("--points", help="point file (.npy, .bin KITTI, .ply); default: synthetic")
    w.add_argument("--size", type=int, help="points used (default: the published input size)")
    w.add_argument("--seed", type=seed_value, default=0)
    w.set_defaults(handler=_workload)
    return sub


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
