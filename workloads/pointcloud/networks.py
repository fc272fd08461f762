"""Point-cloud networks built on real point sets: mapping runs on the points, and its results
(neighbours found, pairs per kernel offset, gather/scatter index streams) size the layers.

Each builder returns a `PointCloudWorkload`: an edgesim `Network` whose ops carry the counts and
the facts a device prices them by (`NeighbourAttrs.search` is GRID for a voxel/pillar grouping,
`SparseConv3dAttrs.reuses_kernel_map` for a conv whose kernel map an earlier conv built, so
both travel in trace files), plus the data-dependent arrays too large for op attributes, keyed
by op name:

- `index_streams`: the row indices a GATHER reads (or a SCATTER writes), in access order;
- `kernel_maps`: the kernel map of each SPARSE_CONV3D (its gather/scatter streams, pairs per
  offset).

The arrays ride on the network (`PointCloudNetwork`), so a device that replays index streams
(the PointAcc-style accelerator's cache) reads them from whatever network it is handed; given a
network without them (a trace file) it prices from counts.

Networks, with their published structure:

- `pointnet2_cls`: PointNet++ SSG classification (Qi et al., NeurIPS 2017, arXiv 1706.02413;
  the reference `pointnet2_cls_ssg`): SA(512, 0.2, 32, [64, 64, 128]), SA(128, 0.4, 64,
  [128, 128, 256]), SA(group all, [256, 512, 1024]), FC 512, 256, 40. ModelNet40, 1024 points.
- `pointnet2_seg`: PointNet++ SSG semantic segmentation for S3DIS (the reference
  `pointnet2_sem_seg`): 4 SA levels (1024/0.1, 256/0.2, 64/0.4, 16/0.8, 32 neighbours each),
  4 FP levels with 3-NN interpolation, 13 classes, 4096 points of a 1 m block, 9 input features.
- `dgcnn_cls`: DGCNN classification (Wang et al., TOG 2019, arXiv 1801.07829): EdgeConv 64, 64,
  128, 256 with k = 20, 1024-d embedding, FC 512, 256, 40. Its kNN graph is dynamic (recomputed
  in feature space); here every layer's neighbours are found on the coordinates, because real
  features need trained weights; the sizes (N x k) are the same, only which rows are gathered
  differs.
- `minkunet`: MinkowskiNet-style sparse U-Net (Choy et al., CVPR 2019, arXiv 1904.08755) in the
  form torchsparse / SPVNAS use for SemanticKITTI (arXiv 2007.16100): channels 32, 32, 64, 128,
  256, 256, 128, 96, 96; stem of two 3^3 convs, 4 stages of (2^3 stride-2 conv, 2 residual
  blocks), 4 up stages of (2^3 transposed conv, concat, 2 residual blocks), 19 classes. Outdoor:
  a lidar sweep at 5 cm voxels, 4 input channels; indoor: a room at 2 cm voxels, 3 channels.
- `pointpillars`: PointPillars' front end (Lang et al., CVPR 2019, arXiv 1812.05784, KITTI
  config): pillars of 0.16 m over x in [0, 69.12), y in [-39.68, 39.68), at most 12000 pillars
  of 32 points, pillar feature net (linear 64, BN, ReLU, max over points), scatter to the
  432 x 496 BEV pseudo-image. The decoration here has 8 channels (x, y, z, r and their offsets
  from the pillar mean) where the paper has 9 (the offset of r is replaced by the paper's two
  offsets from the pillar centre); that changes the pillar net's MACs by 1/9.

The registered forms (`workloads.pointcloud.zoo`, `edgesim run NAME`) return the network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

import numpy as np

from workloads import Network, NetworkBuilder, OpKind, SpecError
from workloads.ops import NeighbourAttrs, NeighbourSearch, ScatterAttrs, SparseConv3dAttrs
from workloads.pointcloud import mapping as mp
from workloads.pointcloud import pointsets as ps


@dataclass(frozen=True, kw_only=True, eq=False)
class PointCloudNetwork(Network):
    """A `Network` that carries the data-dependent arrays of its ops, keyed by op name.

    The arrays are too large for op attributes (and trace files), so they ride beside the ops:
    a device that replays index streams (`PointAccDevice.for_network`) reads them from the
    network it is given, so `edgesim run NAME --device pointacc` prices the same network the
    point-cloud study does. The transforms (`pruned`, `quantized`, `fused`) keep the arrays
    (they return `dataclasses.replace` copies); a fused sparse conv keeps its map under its
    anchor's name. Equality and hashing are `Network`'s (the ops), never the arrays'.
    """

    index_streams: Mapping[str, np.ndarray] = field(default_factory=dict)
    """GATHER / SCATTER op -> row indices in access order (int64, read-only)."""
    kernel_maps: Mapping[str, mp.KernelMap] = field(default_factory=dict)
    """SPARSE_CONV3D op (kernel volume > 1) -> its kernel map."""
    stats: Mapping[str, float] = field(default_factory=dict)
    """Sizes of the point set and mapping results (points, voxels, pairs, ...), for reports."""

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("index_streams", "kernel_maps", "stats"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))
        # Members of fused ops keep their names (a fused sparse conv is its anchor).
        kinds = {m.name: m.kind for op in self.ops for m in (op.members or (op,))}
        for op_name in self.index_streams:
            if kinds.get(op_name) not in (OpKind.GATHER, OpKind.SCATTER):
                raise SpecError(f"index stream for {op_name!r}, which is not a gather/scatter op")
        for op_name in self.kernel_maps:
            if kinds.get(op_name) is not OpKind.SPARSE_CONV3D:
                raise SpecError(f"kernel map for {op_name!r}, which is not a sparse conv op")

    def __eq__(self, other: object) -> bool:
        # A trace holds the network, not the arrays: its round trip equals the network.
        if not isinstance(other, Network):
            return NotImplemented
        fields_of = ("name", "inputs", "ops", "outputs", "description")
        return all(getattr(self, f) == getattr(other, f) for f in fields_of)

    __hash__ = Network.__hash__

    @cached_property
    def derived(self) -> dict:
        """A memo of what a device derives from this network's arrays, keyed by that device's
        own tuples (PointAcc's cache replays and sparse-conv schedules, keyed by op, stream and
        the spec fields they read), so that planning one network on many device variants, as a
        sweep does, replays each stream once per distinct cache. Per network object (a
        transform's copy starts empty); not part of equality, hashing or pickling."""
        return {}

    def __getstate__(self) -> dict:
        # MappingProxyType does not pickle (sweeps send networks to worker processes); the
        # memo of derived results stays behind (its keys hold array ids of this process).
        state = dict(self.__dict__)
        state.pop("derived", None)
        for name in ("index_streams", "kernel_maps", "stats"):
            state[name] = dict(state[name])
        return state

    def __setstate__(self, state: dict) -> None:
        for name in ("index_streams", "kernel_maps", "stats"):
            state[name] = MappingProxyType(state[name])
        self.__dict__.update(state)

    @property
    def batch(self) -> int:
        """One point set per frame: the first input's leading dimension counts points, not frames."""
        return 1

    @property
    def batch_text(self) -> str:
        """'1 point set (N points)', with the voxels or pillars the points were grouped into."""
        n = int(self.stats.get("points", self.inputs[0].shape[0] if self.inputs else 0))
        grouped = [f"{int(self.stats[k]):,} {k}" for k in ("voxels", "pillars") if k in self.stats]
        return f"1 point set ({', '.join([f'{n:,} points', *grouped])})"


@dataclass(frozen=True, eq=False)
class PointCloudWorkload:
    """A point-cloud network (with its index streams and kernel maps) as the study uses it.

    `index_streams`, `kernel_maps` and `stats` are the network's own (one copy, on the
    `PointCloudNetwork`).
    """

    network: PointCloudNetwork

    @property
    def name(self) -> str:
        return self.network.name

    @property
    def index_streams(self) -> Mapping[str, np.ndarray]:
        return self.network.index_streams

    @property
    def kernel_maps(self) -> Mapping[str, mp.KernelMap]:
        return self.network.kernel_maps

    @property
    def stats(self) -> Mapping[str, float]:
        return self.network.stats


class _Builder:
    """NetworkBuilder plus the index arrays, with the layer idioms of point-cloud networks."""

    def __init__(self, name: str, description: str) -> None:
        self.b = NetworkBuilder(name, description=description)
        self.streams: dict[str, np.ndarray] = {}
        self.maps: dict[str, mp.KernelMap] = {}
        self.stats: dict[str, float] = {}

    # --- point-based idioms -------------------------------------------------------------------

    def gather(self, features: str, index: str, rows: np.ndarray, name: str) -> str:
        out = self.b.op(OpKind.GATHER, [features, index], name=name)
        self.streams[out] = _readonly(rows.ravel())
        return out

    def rows_mlp(self, x: str, channels, name: str, *, last_act: bool = True) -> str:
        """Shared MLP on rows (a 1x1 conv): linear, batch norm, ReLU per layer."""
        for i, c in enumerate(channels):
            x = self.b.linear(x, c, bias=False, name=f"{name}.fc{i}")
            x = self.b.norm(x, "batch", name=f"{name}.bn{i}")
            if last_act or i < len(channels) - 1:
                x = self.b.act(x, "relu", name=f"{name}.relu{i}")
        return x

    def group_max(self, rows: str, n_groups: int, k: int, name: str) -> str:
        """Max over each group of k consecutive rows: a (k, 1) max pool on the (1, n, k, C) view."""
        c = self.b.shape(rows)[-1]
        view = self.b.reshape(rows, (1, n_groups, k, c), name=f"{name}.view")
        pooled = self.b.pool(view, "max", (k, 1), stride=(k, 1), name=name)
        return self.b.reshape(pooled, (n_groups, c), name=f"{name}.rows")

    # --- voxel-based idioms -------------------------------------------------------------------

    def sparse_conv(self, x: str, cout: int, kmap: mp.KernelMap, name: str, *, stride: int = 1,
                    cached: bool) -> str:
        cin = self.b.shape(x)[1]
        attrs = SparseConv3dAttrs(kernel_volume=kmap.kernel_volume, n_pairs=kmap.n_pairs,
                                  stride=stride, reuses_kernel_map=cached)
        out = self.b.op(OpKind.SPARSE_CONV3D, [x], attrs, weight_shape=(kmap.kernel_volume, cin, cout),
                        output_shape=(kmap.n_out, cout), name=name)
        if kmap.kernel_volume > 1:
            self.maps[out] = kmap
        return out

    def build(self, outputs) -> PointCloudWorkload:
        net = self.b.build(outputs)
        return PointCloudWorkload(network=PointCloudNetwork(
            name=net.name, inputs=net.inputs, ops=net.ops, outputs=net.outputs,
            description=net.description, index_streams=self.streams, kernel_maps=self.maps,
            stats=self.stats,
        ))


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array, dtype=np.int64)
    array.flags.writeable = False
    return array


def _need_points(points, rng, make, what: str) -> np.ndarray:
    if points is None:
        if rng is None:
            raise SpecError(f"{what}: give a point set or a numpy.random.Generator to make one")
        return make(rng)
    return ps._as_points(points, what)


# --- PointNet++ ---------------------------------------------------------------------------------


def _set_abstraction(g: _Builder, xyz: str, xyz_np: np.ndarray, feats: str | None, *, n_centres: int,
                     radius: float, k: int, mlp, name: str):
    """One SA level: FPS centres, ball query, group (relative xyz + features), MLP, max pool."""
    b = g.b
    idx_fps = mp.farthest_point_sampling(xyz_np, n_centres)
    centres_np = xyz_np[idx_fps]
    nbrs = mp.ball_query(centres_np, xyz_np, radius, k)
    centres = b.op(OpKind.FPS, [xyz], output_shape=(n_centres, 3), name=f"{name}.fps")
    query = b.op(OpKind.BALL_QUERY, [centres, xyz],
                 NeighbourAttrs(k=k, radius=radius, n_found=nbrs.n_found),
                 output_shape=(n_centres, k), name=f"{name}.ball_query")
    g.stats[f"{name}.neighbours_found"] = nbrs.n_found
    grouped_xyz = g.gather(xyz, query, nbrs.indices, f"{name}.group_xyz")
    centre_view = b.reshape(centres, (n_centres, 1, 3), name=f"{name}.centre_view")
    rel = b.add(grouped_xyz, centre_view, name=f"{name}.relative_xyz")  # xyz - centre
    if feats is not None:
        grouped = g.gather(feats, query, nbrs.indices, f"{name}.group_features")
        rel = b.concat([rel, grouped], axis=-1, name=f"{name}.concat")
    rows = b.reshape(rel, (n_centres * k, b.shape(rel)[-1]), name=f"{name}.rows")
    h = g.rows_mlp(rows, mlp, f"{name}.mlp")
    return centres, centres_np, g.group_max(h, n_centres, k, f"{name}.maxpool")


def _group_all(g: _Builder, xyz: str, feats: str, n: int, mlp, name: str) -> str:
    b = g.b
    x = b.concat([xyz, feats], axis=1, name=f"{name}.concat")
    h = g.rows_mlp(x, mlp, f"{name}.mlp")
    return g.group_max(h, 1, n, f"{name}.maxpool")


def pointnet2_cls(points: np.ndarray | None = None, *, rng: np.random.Generator | None = None,
                  n_points: int = 1024, n_classes: int = 40) -> PointCloudWorkload:
    """PointNet++ SSG classification on one object (ModelNet40 setting)."""
    pts = _need_points(points, rng, lambda r: ps.object_points(r, n_points), "pointnet2_cls")
    xyz_np = pts[:, :3]
    n = len(xyz_np)
    g = _Builder("pointnet2-cls", f"PointNet++ SSG classification, {n} points")
    xyz = g.b.input("xyz", (n, 3))
    c1, c1_np, f1 = _set_abstraction(g, xyz, xyz_np, None, n_centres=min(512, n), radius=0.2, k=32,
                                     mlp=(64, 64, 128), name="sa1")
    c2, _, f2 = _set_abstraction(g, c1, c1_np, f1, n_centres=min(128, len(c1_np)), radius=0.4, k=64,
                                 mlp=(128, 128, 256), name="sa2")
    f3 = _group_all(g, c2, f2, g.b.shape(c2)[0], (256, 512, 1024), "sa3")
    h = g.rows_mlp(f3, (512, 256), "head")
    logits = g.b.linear(h, n_classes, name="head.classifier")
    g.stats["points"] = n
    return g.build([logits])


def _feature_propagation(g: _Builder, dense_xyz: str, dense_np: np.ndarray, sparse_xyz: str,
                         sparse_np: np.ndarray, sparse_feats: str, skip: str | None, mlp, name: str):
    """FP level: 3-NN inverse-distance interpolation from the sparse to the dense set, MLP."""
    b = g.b
    nd = len(dense_np)
    nbrs = mp.knn(dense_np, sparse_np, 3)
    query = b.op(OpKind.KNN, [dense_xyz, sparse_xyz], NeighbourAttrs(k=3, n_found=nbrs.n_found),
                 output_shape=(nd, 3), name=f"{name}.knn")
    grouped = g.gather(sparse_feats, query, nbrs.indices, f"{name}.gather")
    # The inverse-distance weights are a by-product of the kNN (its distances); no op kind
    # computes them, so they enter as an input tensor (nd x 3 values, negligible traffic).
    weights = b.input(f"{name}.weights", (nd, 3, 1))
    weighted = b.mul(grouped, weights, name=f"{name}.weight")
    c = b.shape(grouped)[-1]
    view = b.reshape(weighted, (1, nd, 3, c), name=f"{name}.view")
    summed = b.pool(view, "avg", (3, 1), stride=(3, 1), name=f"{name}.sum")
    x = b.reshape(summed, (nd, c), name=f"{name}.rows")
    if skip is not None:
        x = b.concat([x, skip], axis=1, name=f"{name}.concat")
    return g.rows_mlp(x, mlp, f"{name}.mlp")


def pointnet2_seg(points: np.ndarray | None = None, *, rng: np.random.Generator | None = None,
                  n_points: int = 4096, n_classes: int = 13, in_features: int = 9) -> PointCloudWorkload:
    """PointNet++ SSG semantic segmentation of one room block (S3DIS setting)."""

    def make(r):
        return ps.room_block(r, ps.indoor_room(r, max(20 * n_points, 20_000)), n_points)

    pts = _need_points(points, rng, make, "pointnet2_seg")
    xyz_np = pts[:, :3]
    n = len(xyz_np)
    g = _Builder("pointnet2-seg", f"PointNet++ SSG semantic segmentation, {n} points")
    b = g.b
    xyz = b.input("xyz", (n, 3))
    feats0 = b.input("features", (n, in_features))
    levels = [(1024, 0.1, (32, 32, 64)), (256, 0.2, (64, 64, 128)), (64, 0.4, (128, 128, 256)),
              (16, 0.8, (256, 256, 512))]
    xyzs, xyz_nps, featss = [xyz], [xyz_np], [feats0]
    for i, (m, r, mlp) in enumerate(levels, start=1):
        m = min(m, len(xyz_nps[-1]))
        c, c_np, f = _set_abstraction(g, xyzs[-1], xyz_nps[-1], featss[-1], n_centres=m, radius=r,
                                      k=32, mlp=mlp, name=f"sa{i}")
        xyzs.append(c)
        xyz_nps.append(c_np)
        featss.append(f)
    fp_mlps = [(256, 256), (256, 256), (256, 128), (128, 128, 128)]
    x = featss[4]
    for j, mlp in enumerate(fp_mlps):
        lo = 3 - j  # dense level
        skip = featss[lo] if lo > 0 else None
        x = _feature_propagation(g, xyzs[lo], xyz_nps[lo], xyzs[lo + 1], xyz_nps[lo + 1], x, skip, mlp,
                                 name=f"fp{4 - j}")
    h = g.rows_mlp(x, (128,), "head")
    logits = b.linear(h, n_classes, name="head.classifier")
    g.stats["points"] = n
    return g.build([logits])


# --- DGCNN --------------------------------------------------------------------------------------


def dgcnn_cls(points: np.ndarray | None = None, *, rng: np.random.Generator | None = None,
              n_points: int = 1024, k: int = 20, n_classes: int = 40,
              emb_dims: int = 1024) -> PointCloudWorkload:
    """DGCNN classification on one object (ModelNet40 setting), with the reference code's ops:
    pairwise-distance kNN, gather of neighbours, repeat of the centre (a gather with the
    self index), edge features cat(x_j - x_i, x_i), a 1x1 conv, max over the k edges."""
    pts = _need_points(points, rng, lambda r: ps.object_points(r, n_points), "dgcnn_cls")
    xyz_np = pts[:, :3]
    n = len(xyz_np)
    if not 1 <= k <= n:
        raise SpecError(f"dgcnn k must be in [1, {n}] (got {k})")
    g = _Builder("dgcnn-cls", f"DGCNN classification, {n} points, k = {k}")
    b = g.b
    x = b.input("xyz", (n, 3))
    nbrs = mp.knn(xyz_np, xyz_np, k)
    self_rows = np.repeat(np.arange(n), k)
    outs = []
    for i, c in enumerate((64, 64, 128, 256), start=1):
        name = f"edgeconv{i}"
        query = b.op(OpKind.KNN, [x, x], NeighbourAttrs(k=k, n_found=n * k), output_shape=(n, k),
                     name=f"{name}.knn")
        nbr = g.gather(x, query, nbrs.indices, f"{name}.gather")
        self_idx = b.input(f"{name}.self_index", (n, k))
        centre = g.gather(x, self_idx, self_rows, f"{name}.repeat")
        diff = b.add(nbr, centre, name=f"{name}.difference")  # x_j - x_i
        edge = b.concat([diff, centre], axis=-1, name=f"{name}.edge")
        rows = b.reshape(edge, (n * k, b.shape(edge)[-1]), name=f"{name}.rows")
        h = g.rows_mlp(rows, (c,), f"{name}.mlp")
        x = g.group_max(h, n, k, f"{name}.maxpool")
        outs.append(x)
    cat = b.concat(outs, axis=1, name="concat")
    emb = g.rows_mlp(cat, (emb_dims,), "embedding")
    view = b.reshape(emb, (1, 1, n, emb_dims), name="global.view")
    mx = b.reshape(b.pool(view, "max", (n, 1), stride=(n, 1), name="global.max"), (1, emb_dims),
                   name="global.max_rows")
    av = b.reshape(b.pool(view, "avg", (n, 1), stride=(n, 1), name="global.avg"), (1, emb_dims),
                   name="global.avg_rows")
    h = b.concat([mx, av], axis=1, name="global.concat")
    h = g.rows_mlp(h, (512,), "head0")
    h = b.linear(h, 256, name="head1.fc")
    h = b.act(b.norm(h, "batch", name="head1.bn"), "relu", name="head1.relu")
    logits = b.linear(h, n_classes, name="head.classifier")
    g.stats["points"] = n
    g.stats["neighbours_found"] = n * k
    return g.build([logits])


# --- MinkowskiNet-style sparse U-Net -----------------------------------------------------------


MINKUNET_CHANNELS = (32, 32, 64, 128, 256, 256, 128, 96, 96)
"""torchsparse / SPVNAS MinkUNet channel widths (cr = 1.0): stem, 4 down stages, 4 up stages."""


def minkunet(points: np.ndarray | None = None, *, rng: np.random.Generator | None = None,
             scene: str = "outdoor", voxel_size_m: float | None = None, in_channels: int | None = None,
             n_classes: int | None = None) -> PointCloudWorkload:
    """MinkUNet on a lidar sweep (outdoor: 5 cm voxels, 4 channels, 19 classes) or a room
    (indoor: 2 cm voxels, 3 channels, 20 classes)."""
    if scene not in ("outdoor", "indoor"):
        raise SpecError(f"minkunet scene must be 'outdoor' or 'indoor' (got {scene!r})")
    outdoor = scene == "outdoor"
    voxel = voxel_size_m if voxel_size_m is not None else (0.05 if outdoor else 0.02)
    cin0 = in_channels if in_channels is not None else (4 if outdoor else 3)
    classes = n_classes if n_classes is not None else (19 if outdoor else 20)
    make = ps.lidar_sweep if outdoor else (lambda r: ps.indoor_room(r, 200_000))
    pts = _need_points(points, rng, make, "minkunet")
    vox = mp.voxelize(pts, voxel)
    strides = (1, 2, 4, 8, 16)
    coords = {1: vox.coords}
    for s in strides[1:]:
        coords[s] = mp.downsample(vox.coords, s).coords
    g = _Builder(f"minkunet-{scene}", f"MinkUNet ({scene}), {len(pts)} points, "
                 f"{len(vox.coords)} voxels of {voxel * 100:g} cm")
    b = g.b
    cs = MINKUNET_CHANNELS
    sub_maps, built = {}, set()

    def submanifold(s: int) -> tuple[mp.KernelMap, bool]:
        if s not in sub_maps:
            sub_maps[s] = mp.kernel_map(coords[s], coords[s], mp.cube_offsets(3, s))
        cached = ("sub", s) in built
        built.add(("sub", s))
        return sub_maps[s], cached

    def identity(n: int) -> mp.KernelMap:
        r = np.arange(n, dtype=np.int64)
        return mp.KernelMap(in_idx=r, out_idx=r, offset=np.zeros(n, np.int64), n_in=n, n_out=n,
                            kernel_volume=1)

    def conv_bn(x: str, cout: int, kmap, name: str, *, stride: int = 1, cached: bool, relu=True):
        y = g.sparse_conv(x, cout, kmap, f"{name}.conv", stride=stride, cached=cached)
        y = b.norm(y, "batch", name=f"{name}.bn")
        return b.act(y, "relu", name=f"{name}.relu") if relu else y

    def residual(x: str, cout: int, s: int, name: str) -> str:
        cin = b.shape(x)[1]
        m, cached = submanifold(s)
        y = conv_bn(x, cout, m, f"{name}.0", cached=cached)
        m, cached = submanifold(s)
        y = conv_bn(y, cout, m, f"{name}.1", cached=cached, relu=False)
        if cin != cout:
            x = conv_bn(x, cout, identity(len(coords[s])), f"{name}.shortcut", cached=True, relu=False)
        return b.act(b.add(y, x, name=f"{name}.add"), "relu", name=f"{name}.relu")

    x = b.input("voxel_features", (len(coords[1]), cin0))
    m, cached = submanifold(1)
    x = conv_bn(x, cs[0], m, "stem.0", cached=cached)
    m, cached = submanifold(1)
    x = conv_bn(x, cs[0], m, "stem.1", cached=cached)
    skips = {1: x}
    down_maps = {}
    for i, s in enumerate(strides[:-1], start=1):
        down_maps[s] = mp.kernel_map(coords[s], coords[2 * s], mp.cube_offsets(2, s, centred=False))
        x = conv_bn(x, b.shape(x)[1], down_maps[s], f"stage{i}.down", stride=2, cached=False)
        x = residual(x, cs[i], 2 * s, f"stage{i}.block0")
        x = residual(x, cs[i], 2 * s, f"stage{i}.block1")
        skips[2 * s] = x
    for j, s in enumerate(reversed(strides[:-1]), start=1):
        up = down_maps[s]
        transposed = mp.KernelMap(in_idx=up.out_idx, out_idx=up.in_idx, offset=up.offset, n_in=up.n_out,
                                  n_out=up.n_in, kernel_volume=up.kernel_volume)
        x = conv_bn(x, cs[4 + j], transposed, f"up{j}.deconv", stride=2, cached=True)
        x = b.concat([x, skips[s]], axis=1, name=f"up{j}.concat")
        x = residual(x, cs[4 + j], s, f"up{j}.block0")
        x = residual(x, cs[4 + j], s, f"up{j}.block1")
    logits = b.linear(x, classes, name="classifier")
    g.stats.update({"points": len(pts), "voxels": len(coords[1])})
    for s in strides[1:]:
        g.stats[f"voxels_stride{s}"] = len(coords[s])
    for s, kmap in sub_maps.items():
        g.stats[f"pairs_stride{s}"] = kmap.n_pairs
    return g.build([logits])


# --- PointPillars front end ---------------------------------------------------------------------

PILLAR_M = 0.16
PILLAR_RANGE_M = ((0.0, 69.12), (-39.68, 39.68), (-3.0, 1.0))
"""KITTI car config of PointPillars: x, y, z ranges kept (m)."""


def pointpillars(points: np.ndarray | None = None, *, rng: np.random.Generator | None = None,
                 max_pillars: int = 12000, max_points_per_pillar: int = 32,
                 channels: int = 64) -> PointCloudWorkload:
    """PointPillars' front end on one lidar sweep: pillar grouping, pillar feature net, BEV scatter."""
    pts = _need_points(points, rng, ps.lidar_sweep, "pointpillars")
    (x0, x1), (y0, y1), (z0, z1) = PILLAR_RANGE_M
    keep = ((pts[:, 0] >= x0) & (pts[:, 0] < x1) & (pts[:, 1] >= y0) & (pts[:, 1] < y1)
            & (pts[:, 2] >= z0) & (pts[:, 2] < z1))
    pts = pts[keep]
    if len(pts) == 0:
        raise SpecError("pointpillars: no points inside the KITTI detection range")
    nx, ny = round((x1 - x0) / PILLAR_M), round((y1 - y0) / PILLAR_M)
    cell = (np.floor((pts[:, 0] - x0) / PILLAR_M).astype(np.int64) * ny
            + np.floor((pts[:, 1] - y0) / PILLAR_M).astype(np.int64))
    order = np.argsort(cell, kind="stable")
    cells, first, counts = np.unique(cell[order], return_index=True, return_counts=True)
    # Keep at most max_pillars pillars (in cell order, as a sorting voxeliser does) and the first
    # max_points_per_pillar points of each; pad with the pillar's first point.
    cells, first, counts = cells[:max_pillars], first[:max_pillars], counts[:max_pillars]
    p, k = len(cells), max_points_per_pillar
    slot = np.arange(k)
    take = np.minimum(slot[None, :], counts[:, None] - 1)
    rows = order[first[:, None] + take]
    n_found = int(np.minimum(counts, k).sum())
    g = _Builder("pointpillars", f"PointPillars front end, {len(pts)} points in range, {p} pillars")
    b = g.b
    points = b.input("points", (len(pts), 4))
    # The occupied pillars come out of the same sort of cell keys as the grouping; they enter
    # as an input in the points' 4-column layout (centre x, y; z and r unused).
    pillars = b.input("pillar_centres", (p, 4))
    # Grouping points into pillars: an L-infinity ball query of half a pillar around each
    # pillar centre, done by sorting cell keys (hence a grid search).
    group = b.op(OpKind.BALL_QUERY, [pillars, points],
                 NeighbourAttrs(k=k, radius=PILLAR_M / 2, n_found=n_found,
                                search=NeighbourSearch.GRID),
                 output_shape=(p, k), name="pillar_group")
    grouped = g.gather(points, group, rows, "pillar_gather")
    view = b.reshape(grouped, (1, p, k, 4), name="pillar_view")
    mean = b.reshape(b.pool(view, "avg", (k, 1), stride=(k, 1), name="pillar_mean"), (p, 1, 4),
                     name="pillar_mean_view")
    rel = b.add(grouped, mean, name="pillar_offsets")  # x - mean
    decorated = b.concat([grouped, rel], axis=-1, name="decorate")
    flat = b.reshape(decorated, (p * k, 8), name="pfn.rows")
    h = g.rows_mlp(flat, (channels,), "pfn")
    pillar_feats = g.group_max(h, p, k, "pfn.maxpool")
    cell_index = b.input("pillar_cells", (p,))
    bev = b.op(OpKind.SCATTER, [pillar_feats, cell_index], ScatterAttrs(reduce="sum"),
               output_shape=(nx * ny, channels), name="bev_scatter")
    g.streams[bev] = _readonly(cells)
    g.stats.update({"points": int(keep.sum()), "pillars": p, "points_grouped": n_found,
                    "bev_cells": nx * ny})
    return g.build([bev])


BUILDERS = {
    "pointnet2-cls": pointnet2_cls,
    "pointnet2-seg": pointnet2_seg,
    "dgcnn-cls": dgcnn_cls,
    "minkunet-indoor": lambda points=None, *, rng=None: minkunet(points, rng=rng, scene="indoor"),
    "minkunet-outdoor": lambda points=None, *, rng=None: minkunet(points, rng=rng, scene="outdoor"),
    "pointpillars": pointpillars,
}
"""Workload name -> builder(points=None, *, rng=None)."""
