"""`lru_miss_counts` (only "reuse distance < ways") against the exact reuse distances and the
per-access reference simulation, including the real gather streams of a MinkUNet plan."""

from __future__ import annotations

import numpy as np
import pytest

from accelerators.pointcloud import cache
from accelerators.pointcloud.cache import lru_hits_reference, lru_miss_counts, reuse_distances
from accelerators.pointcloud.plan import plan_workload
from workloads import SpecError
from workloads.pointcloud import networks as wls
from workloads.pointcloud import pointsets as ps
from tests.helpers import installed_device


def _counts_from_distances(blocks, n_sets, ways):
    d = reuse_distances(blocks, n_sets)
    return int(np.count_nonzero((d < 0) | (d >= ways))), int(np.count_nonzero(d < 0))


def test_hand_computed_stream():
    # One set, two ways: A B A C B A -> A miss, B miss, A hit (1 between), C miss (evicts B),
    # B miss (evicts A: C and A since B's use... A and C are the two most recent), A miss.
    blocks = np.array([0, 1, 0, 2, 1, 0])
    assert lru_miss_counts(blocks, 1, 2) == (5, 3)
    assert lru_miss_counts(blocks, 1, 3) == (3, 3)  # three ways hold all three blocks
    assert lru_miss_counts(blocks, 1, 0) == (6, 3)
    assert lru_miss_counts(np.zeros(0, dtype=np.int64), 4, 2) == (0, 0)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n_sets, ways", [(1, 1), (1, 8), (4, 2), (16, 8), (3, 4), (64, 16)])
def test_matches_the_reference_on_random_streams(seed, n_sets, ways):
    rng = np.random.default_rng(seed)
    # Runs of local reuse over a drifting working set: both short and long windows.
    blocks = (np.cumsum(rng.integers(0, 3, 3000)) // 4 + rng.integers(0, 40, 3000)) % 500
    hits = lru_hits_reference(blocks, n_sets, ways)
    first = np.ones(len(blocks), dtype=bool)
    first[np.unique(blocks, return_index=True)[1]] = False
    assert lru_miss_counts(blocks, n_sets, ways) == (int((~hits).sum()), int((~first).sum()))


def test_a_minkunet_plan_is_the_same_as_with_exact_reuse_distances(monkeypatch):
    # Every gather/scatter stream of MinkUNet's sparse convs (a small room) through the cache,
    # planned with the bounded test and with the full reuse distances: identical plans.
    room = ps.indoor_room(np.random.default_rng(3), 6_000)
    wl = wls.minkunet(room, scene="indoor")
    spec = installed_device("pointacc").spec
    fast = plan_workload(wl, spec)
    monkeypatch.setattr(cache, "lru_miss_counts", _counts_from_distances)
    # A freshly built network (the same arrays): `wl`'s own would serve its memoised replays.
    exact = plan_workload(wls.minkunet(room, scene="indoor"), spec)
    assert len(fast.sparse_convs) >= 10
    assert fast == exact


def test_bad_arguments_are_typed_errors():
    with pytest.raises(SpecError, match="ways"):
        lru_miss_counts(np.array([1, 2]), 2, -1)
    with pytest.raises(SpecError, match="n_sets"):
        lru_miss_counts(np.array([1, 2]), 0, 2)
    with pytest.raises(SpecError, match=">= 0"):
        lru_miss_counts(np.array([1, -2]), 2, 2)
