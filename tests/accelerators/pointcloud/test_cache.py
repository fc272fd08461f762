"""The vectorised LRU cache simulation against a per-access reference."""

from __future__ import annotations

import numpy as np
import pytest

from accelerators.pointcloud.cache import (
    CacheSpec,
    lru_hits,
    lru_hits_reference,
    reuse_distances,
    row_stride_bytes,
    simulate_rows,
)
from sim.spec import validate
from workloads import SpecError


def test_hand_computed_stream():
    # 2 sets x 2 ways; blocks 0, 2, 4 share set 0: 0 2 0 4 2 0 -> M M H M M M (LRU evicts 2, then 0).
    assert lru_hits([0, 2, 0, 4, 2, 0], 2, 2).tolist() == [False, False, True, False, False, False]
    assert reuse_distances([0, 2, 0, 4, 2, 0], 2).tolist() == [-1, -1, 1, -1, 2, 2]
    assert reuse_distances([5, 5, 5], 1).tolist() == [-1, 0, 0]


@pytest.mark.parametrize("seed", range(6))
def test_matches_the_reference_on_random_streams(seed):
    rng = np.random.default_rng(seed)
    for _ in range(15):
        n = int(rng.integers(1, 600))
        blocks = rng.integers(0, int(rng.integers(1, 90)), n)
        sets, ways = int(2 ** rng.integers(0, 5)), int(rng.integers(1, 9))
        assert np.array_equal(lru_hits(blocks, sets, ways), lru_hits_reference(blocks, sets, ways))


def test_matches_the_reference_on_a_gather_like_stream():
    # Neighbour lists of sorted points: strong locality, as real gathers have.
    rng = np.random.default_rng(9)
    centres = np.sort(rng.integers(0, 3000, 800))
    blocks = (centres[:, None] + rng.integers(-40, 40, (800, 8))).clip(0).ravel()
    assert np.array_equal(lru_hits(blocks, 16, 4), lru_hits_reference(blocks, 16, 4))


def test_empty_and_bad_streams():
    assert lru_hits([], 4, 2).size == 0
    with pytest.raises(SpecError, match="must be 1-D"):
        reuse_distances(np.zeros((2, 2), int), 4)
    with pytest.raises(SpecError, match=">= 0"):
        reuse_distances([-1], 4)


def test_cache_spec_validation():
    assert CacheSpec(capacity_bytes=4096, line_bytes=64, ways=4).n_sets == 16
    with pytest.raises(SpecError, match="cache: line_bytes: expected a power of two, got 48"):
        validate(CacheSpec, dict(capacity_bytes=4096, line_bytes=48, ways=4), where="cache")
    with pytest.raises(SpecError, match="cache: ways: expected .*power-of-two number of sets"):
        validate(CacheSpec, dict(capacity_bytes=3 * 64 * 4, line_bytes=64, ways=4), where="cache")


def _line_level_reference(rows, row_bytes, cache):
    """Expand every row to the lines it covers at its stride and simulate lines one by one."""
    stride = row_stride_bytes(row_bytes, cache.line_bytes)
    lines = []
    for r in rows:
        start, end = r * stride // cache.line_bytes, (r * stride + row_bytes - 1) // cache.line_bytes
        lines.extend(range(start, end + 1))
    hits = lru_hits_reference(lines, cache.n_sets, cache.ways)
    return int((~hits).sum())


@pytest.mark.parametrize("row_bytes, capacity, ways", [
    (16, 1024, 2),    # 4 rows per line
    (64, 1024, 2),    # a row is a line
    (128, 1024, 2),   # 2 lines per row, 8 sets
    (512, 1024, 4),   # 8 lines per row, more than the 4 sets
    (192, 2048, 2),   # 3 lines per row: simulated line by line
])
def test_row_streams_match_line_level_simulation(row_bytes, capacity, ways):
    cache = CacheSpec(capacity_bytes=capacity, line_bytes=64, ways=ways)
    rng = np.random.default_rng(row_bytes)
    rows = (np.sort(rng.integers(0, 200, 300))[:, None] + rng.integers(0, 6, (300, 3))).ravel()
    got = simulate_rows(rows, row_bytes, cache)
    # Exact: every line of a row shares the row's hit or miss when rows span 2^j lines.
    assert got.miss_bytes == _line_level_reference(rows, row_bytes, cache) * 64
    assert 0.0 <= got.hit_ratio <= 1.0 and got.n_accesses == len(rows)


def test_stride_rule():
    assert [row_stride_bytes(b, 64) for b in (1, 3, 16, 33, 64, 65, 192)] == [1, 4, 16, 64, 64, 128, 192]
