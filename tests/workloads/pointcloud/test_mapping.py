"""Mapping operations against brute-force references on small seeded point sets."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from workloads import SpecError
from workloads.pointcloud import mapping as mp


@pytest.fixture
def pts():
    return np.random.default_rng(0).random((300, 3)).astype(np.float32)


def test_fps_matches_a_per_point_reference(pts):
    chosen = [0]
    dist = np.full(len(pts), np.inf)
    for _ in range(39):
        dist = np.minimum(dist, ((pts - pts[chosen[-1]]) ** 2).sum(1))
        chosen.append(int(np.argmax(dist)))
    assert mp.farthest_point_sampling(pts, 40).tolist() == chosen


def test_fps_hand_case():
    line = np.array([[0, 0, 0], [1, 0, 0], [10, 0, 0], [4, 0, 0]], dtype=float)
    assert mp.farthest_point_sampling(line, 3).tolist() == [0, 2, 3]


def test_knn_matches_numpy(pts):
    q = pts[:20]
    d = ((q[:, None] - pts[None]) ** 2).sum(-1)
    ref = np.argsort(d, axis=1, kind="stable")[:, :5]
    got = mp.knn(q, pts, 5)
    assert np.array_equal(np.sort(got.indices, 1), np.sort(ref, 1))
    assert got.n_found == 100


def test_ball_query_counts_and_padding(pts):
    q = pts[:30]
    d = np.sqrt(((q[:, None] - pts[None]) ** 2).sum(-1))
    inside = (d < 0.15).sum(1)
    got = mp.ball_query(q, pts, 0.15, 8)
    assert got.counts.tolist() == np.minimum(inside, 8).tolist()
    assert got.n_found == int(np.minimum(inside, 8).sum())
    for row, c in zip(got.indices, got.counts):
        assert np.all(row[c:] == row[0])  # padded with the first neighbour, as PointNet++ does


def test_voxelize_matches_unique():
    p = np.array([[0.01, 0.02, 0.0], [0.04, 0.01, 0.03], [0.06, 0, 0], [-0.01, 0, 0]])
    v = mp.voxelize(p, 0.05)
    assert v.coords.tolist() == [[-1, 0, 0], [0, 0, 0], [1, 0, 0]]
    assert v.inverse.tolist() == [1, 1, 2, 0] and v.counts.tolist() == [1, 2, 1]


def _kmap_reference(cin, cout, offsets):
    where = {tuple(c): i for i, c in enumerate(cin)}
    return sorted((where[tuple(o + off)], j, k) for k, off in enumerate(offsets)
                  for j, o in enumerate(cout) if tuple(o + off) in where)


def test_submanifold_kernel_map_matches_a_dictionary_reference():
    rng = np.random.default_rng(1)
    coords = np.unique(rng.integers(0, 6, (80, 3)), axis=0)
    offs = mp.cube_offsets(3)
    km = mp.kernel_map(coords, coords, offs)
    got = sorted(zip(km.in_idx.tolist(), km.out_idx.tolist(), km.offset.tolist()))
    assert got == _kmap_reference(coords, coords, offs)
    assert km.pairs_per_offset[13] == len(coords)  # the centre offset pairs every voxel with itself
    assert sum(km.pairs_per_offset) == km.n_pairs


def test_strided_map_pairs_every_input_once_and_transposes():
    rng = np.random.default_rng(2)
    fine = np.unique(rng.integers(0, 9, (100, 3)), axis=0)
    coarse = mp.downsample(fine, 2).coords
    assert np.all(coarse % 2 == 0)
    down = mp.kernel_map(fine, coarse, mp.cube_offsets(2, 1, centred=False))
    assert down.n_pairs == len(fine) and sorted(down.in_idx.tolist()) == list(range(len(fine)))
    up = mp.kernel_map(coarse, fine, -mp.cube_offsets(2, 1, centred=False))
    assert sorted(zip(up.out_idx.tolist(), up.in_idx.tolist())) == sorted(
        zip(down.in_idx.tolist(), down.out_idx.tolist()))


def test_cube_offsets():
    assert mp.cube_offsets(3).shape == (27, 3)
    assert mp.cube_offsets(2, 4, centred=False).tolist() == [
        list(c) for c in itertools.product((0, 4), repeat=3)]


@pytest.mark.parametrize("call, match", [
    (lambda p: mp.farthest_point_sampling(p, 301), "cannot sample 301 of 300"),
    (lambda p: mp.knn(p, p, 0), "k must be an int >= 1"),
    (lambda p: mp.ball_query(p, p, -1.0, 4), "radius must be > 0"),
    (lambda p: mp.voxelize(p, 0.0), "voxel_size must be > 0"),
    (lambda p: mp.cube_offsets(2), "centred kernel needs an odd size"),
    (lambda p: mp.voxelize(p * 1e9, 1e-3), "more than 2\\^21 voxels"),
])
def test_bad_mapping_input(pts, call, match):
    with pytest.raises(SpecError, match=match):
        call(pts)


def test_kernel_map_with_offsets_reaching_past_the_packing_range_is_refused():
    # Each shifted output is range-checked as the per-offset packing did: the farthest one decides.
    edge = (1 << 21) - 2
    coords = np.array([[0, 0, 0], [edge, 0, 0]])
    assert mp.kernel_map(coords, coords, mp.cube_offsets(1)).n_pairs == 2
    with pytest.raises(SpecError, match="more than 2\\^21 voxels"):
        mp.kernel_map(coords, coords, mp.cube_offsets(3))


def test_kernel_map_with_distinct_inputs_and_outputs_matches_the_dictionary_reference():
    rng = np.random.default_rng(4)
    cin = np.unique(rng.integers(-20, 20, (150, 3)), axis=0)
    cout = rng.permutation(np.unique(rng.integers(-20, 20, (120, 3)), axis=0))  # unsorted outputs
    offs = mp.cube_offsets(3, 2)
    km = mp.kernel_map(cin, cout, offs)
    got = sorted(zip(km.in_idx.tolist(), km.out_idx.tolist(), km.offset.tolist()))
    assert got == _kmap_reference(cin, cout, offs)


@pytest.mark.parametrize("dense", [True, False])
def test_both_kernel_map_look_ups_match_the_dictionary_reference(dense, monkeypatch):
    if dense:  # the grid however sparse
        monkeypatch.setattr(mp, "_DENSE_CELLS_PER_LOOKUP", 10**9)
    else:  # the sorted-key search, as for a grid too large to index densely
        monkeypatch.setattr(mp, "_DENSE_MAX_CELLS", 0)
    rng = np.random.default_rng(5)
    fine = np.unique(rng.integers(-30, 30, (300, 3)), axis=0) * 2  # on a stride-2 lattice
    coarse = mp.downsample(fine, 4).coords
    for cin, cout, offs in ((fine, fine, mp.cube_offsets(3, 2)),
                            (fine, coarse, mp.cube_offsets(2, 2, centred=False)),
                            (coarse, fine, -mp.cube_offsets(2, 2, centred=False))):
        reach = np.abs(offs).max()
        origin = np.minimum(cin.min(axis=0), cout.min(axis=0)) - reach
        assert (mp._dense_table(cin, cout, offs, origin, reach) is not None) == dense
        km = mp.kernel_map(cin, cout, offs)
        got = sorted(zip(km.in_idx.tolist(), km.out_idx.tolist(), km.offset.tolist()))
        assert got == _kmap_reference(cin, cout, offs)
        assert km.in_idx.dtype == km.out_idx.dtype == km.offset.dtype == np.int64


def test_repeated_input_coordinates_pair_with_the_first_of_them():
    cin = np.array([[0, 0, 0], [0, 0, 0], [1, 0, 0]])
    km = mp.kernel_map(cin, np.array([[0, 0, 0]]), np.array([[0, 0, 0], [1, 0, 0]]))
    assert list(zip(km.in_idx.tolist(), km.out_idx.tolist(), km.offset.tolist())) == [(0, 0, 0), (2, 0, 1)]


def test_a_sparse_grid_uses_the_sorted_search():
    far = np.array([[0, 0, 0], [1000, 1000, 1000]])
    assert mp._dense_table(far, far, mp.cube_offsets(3), far.min(axis=0) - 1, 1) is None
    near = np.array([[0, 0, 0], [1, 1, 1]])
    assert mp._dense_table(near, near, mp.cube_offsets(3), near.min(axis=0) - 1, 1) is not None
