"""The planner's fast paths against direct references: the tile-major pair order without a sort,
the sliding maximum that settles all-fresh LRU windows, and the offset-major replay skipped when
its cold-miss floor already loses (the same plan as replaying both loop orders)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from accelerators.pointcloud.cache import (_window_max, lru_hits_reference, lru_miss_counts,
                                           simulate_rows)
from accelerators.pointcloud.matrix import fold_cycles_many, output_tile_rows
from accelerators.pointcloud.plan import SparseConvPlan, plan_workload, tile_major_order
from accelerators.pointcloud.spec import datapath_bits, row_bytes_of
from sim.registry import Registry
from workloads.pointcloud import mapping as mp
from workloads.pointcloud import networks as wls
from workloads.pointcloud import pointsets as ps


def _random_kernel_map(rng: np.random.Generator, n: int, kernel: int) -> mp.KernelMap:
    coords = np.unique(rng.integers(0, 12, (n, 3)), axis=0)
    return mp.kernel_map(coords, coords, mp.cube_offsets(kernel))


@pytest.mark.parametrize("seed", range(4))
def test_tile_major_order_is_the_stable_sort_by_tile_and_offset(seed):
    rng = np.random.default_rng(seed)
    kmap = _random_kernel_map(rng, 400, 3)
    kv = kmap.kernel_volume
    for tile in (1, 7, 64, kmap.n_out - 1, kmap.n_out, 10 * kmap.n_out):
        key = (kmap.out_idx // tile) * kv + kmap.offset
        order, counts = tile_major_order(kmap, tile)
        if math.ceil(kmap.n_out / tile) > 1:
            assert np.array_equal(order, np.argsort(key, kind="stable"))
        else:  # one tile: the pairs as they are
            assert np.array_equal(order, np.arange(kmap.n_pairs))
        assert np.array_equal(counts, np.bincount(key, minlength=math.ceil(kmap.n_out / tile) * kv))


def test_tile_major_order_of_pairs_in_another_order_falls_back_to_the_sort():
    kmap = _random_kernel_map(np.random.default_rng(7), 300, 3)
    shuffled = np.random.default_rng(8).permutation(kmap.n_pairs)
    other = mp.KernelMap(in_idx=kmap.in_idx[shuffled], out_idx=kmap.out_idx[shuffled],
                         offset=kmap.offset[shuffled], n_in=kmap.n_in, n_out=kmap.n_out,
                         kernel_volume=kmap.kernel_volume)
    key = (other.out_idx // 16) * other.kernel_volume + other.offset
    order, counts = tile_major_order(other, 16)
    assert np.array_equal(order, np.argsort(key, kind="stable"))
    assert np.array_equal(counts, np.bincount(key, minlength=math.ceil(other.n_out / 16) * 27))


def test_window_max_by_hand_and_against_a_direct_maximum():
    assert _window_max(np.array([3, 1, 4, 1, 5, 9, 2, 6]), 3).tolist() == [4, 4, 5, 9, 9, 9]
    values = np.random.default_rng(1).integers(-5, 100, 200)
    for width in range(1, 12):
        direct = [values[t:t + width].max() for t in range(len(values) - width + 1)]
        assert _window_max(values, width).tolist() == direct


@pytest.mark.parametrize("n_sets, ways", [(1, 4), (4, 2), (8, 8), (2, 3)])
def test_miss_counts_of_offset_major_like_streams_match_the_reference(n_sets, ways):
    # Whole passes over a working set larger than the cache, each pass slightly permuted: most
    # windows are all first touches (the sliding-maximum path), some are not.
    rng = np.random.default_rng(n_sets * 10 + ways)
    passes = [np.sort(rng.choice(300, 120, replace=False)) for _ in range(6)]
    for p in passes[::2]:
        i = rng.integers(0, len(p) - 3, 10)
        p[i], p[i + 2] = p[i + 2], p[i]
    blocks = np.concatenate(passes)
    hits = lru_hits_reference(blocks, n_sets, ways)
    first = np.ones(len(blocks), dtype=bool)
    first[np.unique(blocks, return_index=True)[1]] = False
    assert lru_miss_counts(blocks, n_sets, ways) == (int((~hits).sum()), int((~first).sum()))


def _reference_sparse_conv(op, kmap, spec) -> SparseConvPlan:
    """Both loop orders replayed in full and the one moving fewer DRAM bytes kept (the planner
    before its fast paths)."""
    m, cache = spec.matrix, spec.memory.cache
    kv, cin, cout = op.weight_shape
    weights = op.nonzero_params * datapath_bits(op, spec) / 8
    row = row_bytes_of(cin, op, spec)
    tile = output_tile_rows(kmap.n_out, cout, spec)
    n_tiles = math.ceil(kmap.n_out / tile)
    key = (kmap.out_idx // tile) * kv + kmap.offset
    tiled = SparseConvPlan(
        loop_order="output_tiled",
        matrix_cycles=fold_cycles_many(np.bincount(key, minlength=n_tiles * kv), cin, cout, m),
        gather=simulate_rows(kmap.in_idx[np.argsort(key, kind="stable")], row, cache),
        weight_dram_bytes=weights * (n_tiles if weights > m.weight_buffer_bytes else 1),
        psum_dram_bytes=0.0)
    if weights <= m.weight_buffer_bytes or weights / kv > m.weight_buffer_bytes:
        return tiled
    per_offset = np.bincount(kmap.offset, minlength=kv)
    psums = kmap.n_out * cout * m.accumulator_bits / 8
    spill = 0.0 if psums <= m.output_buffer_bytes else 2 * psums * max(0, int((per_offset > 0).sum()) - 1)
    major = SparseConvPlan(loop_order="offset_major",
                           matrix_cycles=fold_cycles_many(per_offset, cin, cout, m),
                           gather=simulate_rows(kmap.in_idx, row, cache),
                           weight_dram_bytes=weights, psum_dram_bytes=spill)
    return major if major.dram_bytes < tiled.dram_bytes else tiled


@pytest.mark.parametrize("preset, overrides", [
    ("pointacc", {}),
    # Small buffers: many output tiles re-read the weights, so offset-major wins 4 of the 42
    # convs (26 with the 8 kB output buffer alone), and loses the rest.
    ("pointacc", {"matrix.output_buffer_bytes": 16384, "matrix.weight_buffer_bytes": 32768}),
    ("pointacc", {"matrix.output_buffer_bytes": 8192}),
    ("pointacc-edge", {}),
])
def test_sparse_conv_plans_equal_replaying_both_loop_orders(preset, overrides):
    room = ps.indoor_room(np.random.default_rng(3), 4_000)
    net = wls.minkunet(room, scene="indoor").network
    spec = Registry.from_entry_points().device(preset, overrides=overrides or None).spec
    plan = plan_workload(net, spec)
    considered = 0
    for op in net.ops:
        conv = op.anchor
        if conv.name in net.kernel_maps and conv.name in plan.sparse_convs:
            reference = _reference_sparse_conv(conv, net.kernel_maps[conv.name], spec)
            assert plan.sparse_convs[conv.name] == reference, conv.name
            considered += 1
    assert considered >= 10
    n_major = sum(c.loop_order == "offset_major" for c in plan.sparse_convs.values())
    assert n_major == {(): 0, ("matrix.output_buffer_bytes", "matrix.weight_buffer_bytes"): 4,
                       ("matrix.output_buffer_bytes",): 26}[tuple(overrides)]


def _small_minkunet():
    return wls.minkunet(ps.indoor_room(np.random.default_rng(3), 4_000), scene="indoor").network


def test_a_second_plan_of_one_network_reuses_the_replays_its_spec_change_does_not_touch(monkeypatch):
    from accelerators.pointcloud import plan as plan_module

    registry = Registry.from_entry_points()
    net = _small_minkunet()
    plan_workload(net, registry.device("pointacc").spec)
    faster = registry.device("pointacc", overrides={"memory.dram_bytes_per_s": 128e9,
                                                    "freq_hz": 5e8}).spec
    other_cache = registry.device("pointacc", overrides={"memory.cache.ways": 16}).spec
    fresh = {"faster": plan_workload(_small_minkunet(), faster),
             "other_cache": plan_workload(_small_minkunet(), other_cache)}

    def no_replay(*args):
        raise AssertionError("replayed a stream the memo holds")

    monkeypatch.setattr(plan_module, "simulate_rows", no_replay)
    assert plan_workload(net, faster) == fresh["faster"]
    monkeypatch.undo()
    assert plan_workload(net, other_cache) == fresh["other_cache"]  # another cache: replayed


def test_the_memo_is_per_network_and_not_pickled():
    import pickle

    net = _small_minkunet()
    plan_workload(net, Registry.from_entry_points().device("pointacc").spec)
    assert net.derived
    copy = pickle.loads(pickle.dumps(net))
    assert copy == net and copy.derived == {}
    assert net.quantized("fixed", weight_bits=8).derived == {}
