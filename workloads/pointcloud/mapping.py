"""Mapping operations computed on real point sets: they decide which features meet which weights.

Point-based networks (PointNet++, DGCNN) sample centres (farthest-point sampling) and group
neighbours (ball query, kNN); voxel-based networks (MinkowskiNet, PointPillars) quantise points
to voxels and pair input and output voxels per kernel offset (the *kernel map* of a sparse
convolution). Their outputs (neighbour lists, pairs per offset) size the layers that follow and
are the index streams the gathers and scatters replay.

Neighbour searches use `scipy.spatial.cKDTree`; voxel look-ups sort packed integer keys and
`numpy.searchsorted` them. No Python loop runs per point: FPS loops once per *sample* (it is
sequential by definition), kernel maps once per kernel offset.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.spatial import cKDTree

from workloads import SpecError

_AXIS_BITS = 21
"""Bits per axis of a packed voxel key: 2^21 voxels (e.g. 100 km at 5 cm) per axis."""


def _points(array, what: str) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise SpecError(f"{what} must be a non-empty (N, dims) array (got shape {array.shape})")
    return array


def _positive_int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise SpecError(f"{what} must be an int >= 1 (got {value!r})")
    return int(value)


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.flags.writeable = False
    return array


# --- point-based mapping ---------------------------------------------------------------------


def farthest_point_sampling(points: np.ndarray, n_samples: int, *, start: int = 0) -> np.ndarray:
    """Indices of `n_samples` points chosen by farthest-point sampling, starting at `start`.

    Each step picks the point farthest (Euclidean, first 3 coordinates) from those already
    chosen; ties go to the lowest index, as PointNet++'s CUDA kernel's reduction does.
    """
    pts = _points(points, "points")
    if pts.shape[1] < 3:
        raise SpecError(f"farthest-point sampling needs x, y, z columns (got shape {pts.shape})")
    n_samples = _positive_int(n_samples, "n_samples")
    if n_samples > len(pts):
        raise SpecError(f"cannot sample {n_samples} of {len(pts)} points")
    if not 0 <= start < len(pts):
        raise SpecError(f"start index {start} outside the {len(pts)} points")
    # Coordinates as three contiguous float32 rows: in-place passes over them are ~6x faster
    # than over an (N, 3) array.
    x, y, z = np.ascontiguousarray(pts[:, :3].T, dtype=np.float32)
    chosen = np.empty(n_samples, dtype=np.int64)
    chosen[0] = start
    dist = np.full(len(x), np.inf, dtype=np.float32)
    d = np.empty_like(dist)
    t = np.empty_like(dist)
    last = start
    for i in range(1, n_samples):  # one iteration per sample, vectorised over the points
        np.subtract(x, x[last], out=d)
        np.multiply(d, d, out=d)
        for axis in (y, z):
            np.subtract(axis, axis[last], out=t)
            np.multiply(t, t, out=t)
            d += t
        np.minimum(dist, d, out=dist)
        last = int(dist.argmax())
        chosen[i] = last
    return chosen


@dataclass(frozen=True, eq=False)
class Neighbours:
    """A neighbour list: `indices` (queries, k) into the searched points, padded; `counts` found."""

    indices: np.ndarray
    """int64 (n_queries, k); rows with fewer than k found are padded with their first neighbour."""
    counts: np.ndarray
    """int64 (n_queries,): neighbours actually found (<= k)."""

    @property
    def k(self) -> int:
        return self.indices.shape[1]

    @property
    def n_found(self) -> int:
        """Neighbour pairs found (the data-dependent size of the grouping)."""
        return int(self.counts.sum())


def knn(queries: np.ndarray, points: np.ndarray, k: int) -> Neighbours:
    """The k nearest points of each query (itself included when it is one of the points)."""
    q, p = _points(queries, "queries"), _points(points, "points")
    k = _positive_int(k, "k")
    if q.shape[1] != p.shape[1]:
        raise SpecError(f"queries have {q.shape[1]} dims but points {p.shape[1]}")
    if k > len(p):
        raise SpecError(f"k = {k} exceeds the {len(p)} points")
    _, idx = cKDTree(p).query(q, k=k)
    idx = np.asarray(idx, dtype=np.int64).reshape(len(q), k)
    return Neighbours(_readonly(idx), _readonly(np.full(len(q), k, dtype=np.int64)))


def ball_query(queries: np.ndarray, points: np.ndarray, radius: float, k: int) -> Neighbours:
    """Up to k points within `radius` of each query, nearest first, padded as PointNet++ pads.

    PointNet++'s CUDA ball query keeps the first k points *in index order* inside the ball;
    nearest-first keeps the same count (min(k, points in the ball)) and the same padding, and
    differs only in which k are kept when more than k are inside.
    """
    q, p = _points(queries, "queries"), _points(points, "points")
    k = _positive_int(k, "k")
    if not radius > 0:
        raise SpecError(f"ball query radius must be > 0 (got {radius!r})")
    k_eff = min(k, len(p))
    _, idx = cKDTree(p).query(q, k=k_eff, distance_upper_bound=radius)
    idx = np.asarray(idx, dtype=np.int64).reshape(len(q), k_eff)
    found = idx < len(p)
    counts = found.sum(axis=1)
    first = np.where(found[:, 0], idx[:, 0], 0)
    idx = np.where(found, idx, first[:, None])
    if k_eff < k:
        idx = np.hstack([idx, np.repeat(first[:, None], k - k_eff, axis=1)])
    return Neighbours(_readonly(idx), _readonly(counts.astype(np.int64)))


# --- voxel-based mapping ---------------------------------------------------------------------


def _pack(coords: np.ndarray, origin: np.ndarray) -> np.ndarray:
    shifted = coords - origin
    if shifted.min(initial=0) < 0 or shifted.max(initial=0) >= 1 << _AXIS_BITS:
        raise SpecError(f"voxel coordinates span more than 2^{_AXIS_BITS} voxels per axis; "
                        "use a larger voxel size")
    s = shifted.astype(np.int64)
    return (s[:, 0] << (2 * _AXIS_BITS)) | (s[:, 1] << _AXIS_BITS) | s[:, 2]


@dataclass(frozen=True, eq=False)
class Voxels:
    """Occupied voxels of a point set."""

    coords: np.ndarray
    """int64 (n_voxels, 3) voxel coordinates, sorted by packed key (x, then y, then z)."""
    inverse: np.ndarray
    """int64 (n_points,): the voxel of each point (the scatter index of a voxel encoder)."""
    counts: np.ndarray
    """int64 (n_voxels,): points per voxel."""


def voxelize(points: np.ndarray, voxel_size: float | tuple[float, float, float]) -> Voxels:
    """Quantise points to a grid of `voxel_size` (m, or per axis) and keep the occupied voxels."""
    pts = _points(points, "points")
    size = np.broadcast_to(np.asarray(voxel_size, dtype=np.float64), (3,))
    if not np.all(size > 0):
        raise SpecError(f"voxel_size must be > 0 (got {voxel_size!r})")
    coords = np.floor(pts[:, :3] / size).astype(np.int64)
    return _unique_coords(coords)


def _unique_coords(coords: np.ndarray) -> Voxels:
    origin = coords.min(axis=0)
    keys = _pack(coords, origin)
    uniq, first, inverse, counts = np.unique(keys, return_index=True, return_inverse=True,
                                             return_counts=True)
    return Voxels(_readonly(coords[first]), _readonly(inverse.astype(np.int64)),
                  _readonly(counts.astype(np.int64)))


def downsample(coords: np.ndarray, stride: int) -> Voxels:
    """Output coordinates of a strided sparse conv: `coords` floored to multiples of `stride`.

    Coordinates stay in finest-voxel units, as MinkowskiEngine's tensor strides keep them: the
    outputs at tensor stride s are the distinct floor(c / s) * s, so `stride` is the *absolute*
    tensor stride of the outputs (2, 4, 8, ... in a U-Net).
    """
    c = np.asarray(coords, dtype=np.int64)
    stride = _positive_int(stride, "stride")
    return _unique_coords(np.floor_divide(c, stride) * stride)


def cube_offsets(kernel_size: int, tensor_stride: int = 1, *, centred: bool = True) -> np.ndarray:
    """(kernel_size^3, 3) integer offsets of a cubic kernel at `tensor_stride`, x slowest.

    Centred kernels (odd sizes: -r..r) are the submanifold 3x3x3 convs; uncentred ones (0..k-1)
    are the kernel-2 stride-2 down/up-sampling convs of a U-Net.
    """
    kernel_size = _positive_int(kernel_size, "kernel_size")
    tensor_stride = _positive_int(tensor_stride, "tensor_stride")
    if centred and kernel_size % 2 == 0:
        raise SpecError(f"a centred kernel needs an odd size (got {kernel_size})")
    r = range(-(kernel_size // 2), kernel_size // 2 + 1) if centred else range(kernel_size)
    return np.array(list(itertools.product(r, r, r)), dtype=np.int64) * tensor_stride


@dataclass(frozen=True, eq=False)
class KernelMap:
    """Input-output pairs of a sparse convolution, grouped by kernel offset.

    Pairs are sorted by (offset, output); `in_idx[j]` feeds `out_idx[j]` through weight
    `offset[j]`. This is the gather (in_idx) and scatter (out_idx) index stream of the layer.
    """

    in_idx: np.ndarray
    out_idx: np.ndarray
    offset: np.ndarray
    n_in: int
    n_out: int
    kernel_volume: int

    @property
    def n_pairs(self) -> int:
        return len(self.in_idx)

    @cached_property
    def pairs_per_offset(self) -> tuple[int, ...]:
        """Pairs of each kernel offset (the rows each weight matrix multiplies)."""
        return tuple(int(c) for c in np.bincount(self.offset, minlength=self.kernel_volume))


_DENSE_MAX_CELLS = 1 << 24
"""Largest grid a kernel map indexes densely (64 MiB of int32 input indices)."""
_DENSE_CELLS_PER_LOOKUP = 64
"""A dense grid is used when it has at most this many cells per look-up (n_out x offsets):
filling a cell costs a fraction of a nanosecond, a binary search tens."""


def _dense_table(cin: np.ndarray, cout: np.ndarray, offs: np.ndarray, origin: np.ndarray,
                 reach: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(table, out_cells, shifts) for looking kernel-map inputs up in a dense grid, or None.

    Coordinates are taken relative to `origin` in units of their greatest common divisor with
    the offsets (a U-Net's coarse levels sit on multiples of their tensor stride); `table` holds
    each input's index at its cell (-1 elsewhere), `out_cells` the outputs' cells and `shifts`
    each offset's cell shift (cells are mixed-radix, so the cell of c + off is cell(c) +
    cell(off)). None when the grid is too large or too sparse for its look-ups, or when two
    inputs share a cell (the sorted search then keeps the first, as it always has).
    """
    rel_in, rel_out = cin - origin, cout - origin
    unit = int(np.gcd.reduce(np.concatenate([rel_in.ravel(), rel_out.ravel(), offs.ravel()])))
    unit = max(unit, 1)
    extent = (np.maximum(rel_in.max(axis=0), rel_out.max(axis=0)) + reach) // unit + 1
    cells = int(np.prod(extent))
    if cells > min(_DENSE_MAX_CELLS, _DENSE_CELLS_PER_LOOKUP * len(cout) * len(offs)):
        return None
    weight = np.array([extent[1] * extent[2], extent[2], 1], dtype=np.int64)
    in_cells = (rel_in // unit) @ weight
    table = np.full(cells, -1, dtype=np.int32)
    table[in_cells] = np.arange(len(cin), dtype=np.int32)
    if not np.array_equal(table[in_cells], np.arange(len(cin), dtype=np.int32)):
        return None  # repeated input coordinates
    return table, (rel_out // unit) @ weight, (offs // unit) @ weight


def kernel_map(in_coords: np.ndarray, out_coords: np.ndarray, offsets: np.ndarray) -> KernelMap:
    """Pairs (i, o, k) with in_coords[i] == out_coords[o] + offsets[k], by sorted-key look-up.

    Each offset shifts every output coordinate and looks its input up, vectorised over the
    outputs (the hash-table look-ups a GPU library does, or the merges PointAcc's mapping unit
    does): in a dense grid of input indices where it is small enough (`_dense_table`), else by
    `searchsorted` in the sorted input keys. Both find the same pairs.
    """
    cin = np.asarray(in_coords, dtype=np.int64)
    cout = np.asarray(out_coords, dtype=np.int64)
    offs = np.asarray(offsets, dtype=np.int64)
    for arr, what in ((cin, "in_coords"), (cout, "out_coords"), (offs, "offsets")):
        if arr.ndim != 2 or arr.shape[1] != 3 or len(arr) < 1:
            raise SpecError(f"{what} must be a non-empty (n, 3) integer array (got {arr.shape})")
    reach = np.abs(offs).max()
    origin = np.minimum(cin.min(axis=0), cout.min(axis=0)) - reach
    in_keys = _pack(cin, origin)
    # Every shifted output coordinate lies in the packing range when the farthest ones do (the
    # range check _pack makes on each), and then packing is additive: the key of c + off is
    # key(c) + key(off), each field in its own bits with no carry. So the outputs are packed
    # once and each offset adds one integer.
    _pack(np.vstack([cout.min(axis=0) + offs.min(axis=0), cout.max(axis=0) + offs.max(axis=0)]),
          origin)
    dense = _dense_table(cin, cout, offs, origin, reach)
    ins, outs, ks = [], [], []
    if dense is not None:  # one gather per offset from a grid of input indices
        table, out_cells, shifts = dense
        for k, shift in enumerate(shifts):
            found = table[out_cells + shift]
            hit = np.flatnonzero(found >= 0)
            ins.append(found[hit].astype(np.int64))
            outs.append(hit)
            ks.append(np.full(len(hit), k, dtype=np.int64))
    else:  # one sorted-key search per offset
        order = np.argsort(in_keys, kind="stable")
        sorted_keys = in_keys[order]
        out_keys = _pack(cout, origin)
        shifts = (offs[:, 0] << (2 * _AXIS_BITS)) + (offs[:, 1] << _AXIS_BITS) + offs[:, 2]
        last = len(sorted_keys) - 1
        for k, shift in enumerate(shifts):
            q = out_keys + shift
            pos = np.searchsorted(sorted_keys, q)
            np.minimum(pos, last, out=pos)
            hit = np.flatnonzero(sorted_keys[pos] == q)
            ins.append(order[pos[hit]])
            outs.append(hit)
            ks.append(np.full(len(hit), k, dtype=np.int64))
    return KernelMap(
        in_idx=_readonly(np.concatenate(ins)),
        out_idx=_readonly(np.concatenate(outs)),
        offset=_readonly(np.concatenate(ks)),
        n_in=len(cin),
        n_out=len(cout),
        kernel_volume=len(offs),
    )
