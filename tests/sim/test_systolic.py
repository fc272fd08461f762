"""The systolic-array template: folds, cycles and traffic checked against hand-computed cases.

Each dataflow maps (Sr, Sc, T): os (M, N, K), ws (K, N, M), is (K, M, N); a fold takes
T + R + C - 2 cycles in os and 2R + C + T - 2 in ws and is (see sim/systolic.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.spec import validate
from sim.systolic import (
    EXACT, SCALESIM_V3, Dataflow, Layers, SystolicArray, simulate,
)
from workloads import NetworkBuilder, SpecError
from workloads.gemm import Gemm


def array(df: str, rows=4, cols=4, sram=1 << 20, quirks=EXACT, **kw) -> SystolicArray:
    return SystolicArray(rows=rows, cols=cols, dataflow=Dataflow(df), ifmap_sram_bytes=sram,
                         filter_sram_bytes=sram, ofmap_sram_bytes=sram, quirks=quirks, **kw)


def one(m, k, n, groups=1, ifmap_words=None) -> Layers:
    return Layers.of([Gemm(groups=groups, m=m, k=k, n=n,
                           ifmap_words=ifmap_words or groups * m * k)])


def test_output_stationary_folds_by_hand():
    # M=10, K=5, N=6 on 4x4: ceil(10/4) x ceil(6/4) = 3 x 2 folds of 5 + 4 + 4 - 2 = 11 cycles.
    s = simulate(array("os"), one(10, 5, 6))
    assert (s.row_folds[0], s.col_folds[0], s.n_folds[0], s.fold_cycles[0]) == (3, 2, 6, 11)
    assert s.compute_cycles[0] == 66 and s.total_cycles[0] == 66 and s.stall_cycles[0] == 0
    # ifmap re-read per column fold, filter per row fold, each output written once.
    assert (s.sram_ifmap_reads[0], s.sram_filter_reads[0], s.sram_ofmap_writes[0]) == (100, 90, 60)
    assert s.sram_ofmap_reads[0] == 60  # only the drain to DRAM: no partial sums in os
    assert (s.sram_ifmap_writes[0], s.sram_filter_writes[0]) == (50, 30)  # one fill each
    assert s.mapping_efficiency_ratio[0] == pytest.approx(60 / 96)
    assert s.compute_utilization_ratio[0] == pytest.approx(60 / 96 * 5 / 11)
    assert s.utilization_ratio[0] == pytest.approx(300 / (66 * 16))
    # SCALE-Sim: 6 x (4 + 4) more ofmap writes, and one cycle fewer (its last cycle's index).
    q = simulate(array("os", quirks=SCALESIM_V3), one(10, 5, 6))
    assert q.sram_ofmap_writes[0] == 60 + 48 and q.compute_cycles[0] == 65


def test_weight_stationary_folds_by_hand():
    # Sr = K = 5, Sc = N = 6, T = M = 10: 2 x 2 folds of 2*4 + 4 + 10 - 2 = 20 cycles.
    s = simulate(array("ws"), one(10, 5, 6))
    assert (s.row_folds[0], s.col_folds[0], s.fold_cycles[0], s.compute_cycles[0]) == (2, 2, 20, 80)
    # ifmap per column fold, each weight once, partial sums written per K fold and read back.
    assert (s.sram_ifmap_reads[0], s.sram_filter_reads[0], s.sram_ofmap_writes[0]) == (100, 30, 120)
    assert s.sram_ofmap_reads[0] == 60 + 60  # one K fold's partial sums back, then the drain
    assert s.mapping_efficiency_ratio[0] == pytest.approx(30 / 64)
    assert s.compute_utilization_ratio[0] == pytest.approx(30 / 64 * 10 / 20)
    q = simulate(array("ws", quirks=SCALESIM_V3), one(10, 5, 6))
    assert q.compute_utilization_ratio[0] == pytest.approx(30 / 64 * 10 / 23)  # 2R + 2C + T - 3


def test_input_stationary_folds_by_hand():
    # Sr = K = 5, Sc = M = 10, T = N = 6: 2 x 3 folds of 8 + 4 + 6 - 2 = 16 cycles.
    s = simulate(array("is"), one(10, 5, 6))
    assert (s.row_folds[0], s.col_folds[0], s.fold_cycles[0], s.compute_cycles[0]) == (2, 3, 16, 96)
    assert (s.sram_ifmap_reads[0], s.sram_filter_reads[0], s.sram_ofmap_writes[0]) == (50, 90, 120)
    assert s.mapping_efficiency_ratio[0] == pytest.approx(50 / 96)


def test_depthwise_layer_is_one_small_product_per_channel():
    b = NetworkBuilder("dw")
    b.conv2d(b.input("x", (1, 8, 6, 6)), 8, 3, padding=1, groups=8)
    gemm = b.build().ops[-1].gemm
    assert (gemm.groups, gemm.m, gemm.k, gemm.n) == (8, 36, 9, 1)
    # ws on 4x4: per channel ceil(9/4) = 3 folds of 8 + 4 + 36 - 2 = 46 cycles; 8 channels.
    s = simulate(array("ws"), Layers.of([gemm]))
    assert s.n_folds[0] == 24 and s.compute_cycles[0] == 24 * 46
    assert s.mapping_efficiency_ratio[0] == pytest.approx(9 / 48)  # one column of 4 used
    assert s.sram_filter_reads[0] == 72 and s.sram_ifmap_reads[0] == 8 * 36 * 9
    # os: per channel ceil(36/4) = 9 row folds, 1 column fold, of 9 + 4 + 4 - 2 = 15 cycles.
    o = simulate(array("os"), Layers.of([gemm]))
    assert o.compute_cycles[0] == 8 * 9 * 15 and o.sram_ofmap_writes[0] == 8 * 36
    # SCALE-Sim's DP expansion reports one layer per channel: one cycle fewer each.
    q = simulate(array("os", quirks=SCALESIM_V3), Layers.of([gemm]))
    assert q.compute_cycles[0] == 8 * 9 * 15 - 8


def test_layer_smaller_than_the_array_takes_one_fold_of_pipeline_latency():
    s = simulate(array("os", rows=8, cols=8), one(3, 2, 2))
    assert s.n_folds[0] == 1 and s.compute_cycles[0] == 2 + 8 + 8 - 2
    assert s.mapping_efficiency_ratio[0] == pytest.approx(6 / 64)
    w = simulate(array("ws", rows=8, cols=8), one(3, 2, 2))
    assert w.compute_cycles[0] == 16 + 8 + 3 - 2


def test_vectorised_over_layers_equals_one_at_a_time():
    gemms = [Gemm(groups=1, m=m, k=k, n=n, ifmap_words=m * k)
             for m, k, n in ((10, 5, 6), (3, 2, 2), (100, 64, 17), (1, 512, 1000))]
    for df in Dataflow:
        a = array(df.value, rows=8, cols=16)
        together = simulate(a, Layers.of(gemms))
        for i, g in enumerate(gemms):
            alone = simulate(a, Layers.of([g]))
            assert together.total_cycles[i] == alone.total_cycles[0]
            assert together.dram_words[i] == alone.dram_words[0]


def test_dram_reuse_depends_on_sram_capacity():
    layer = one(64, 36, 12, ifmap_words=400)  # a 3x3 conv on 10x10x4
    big = simulate(array("os", rows=8, cols=8, sram=64 * 1024), layer)
    assert (big.dram_ifmap_reads[0], big.dram_filter_reads[0], big.dram_ofmap_writes[0]) == (
        400, 432, 768)
    # 256 B SRAMs (128 B usable, double buffered): the ifmap is re-streamed per column fold and
    # the 36 x 8 weights of a column fold no longer fit, so every filter read goes to DRAM.
    small = simulate(array("os", rows=8, cols=8, sram=256), layer)
    assert small.dram_ifmap_reads[0] == 2 * 400
    assert small.dram_filter_reads[0] == small.sram_filter_reads[0] == 8 * 36 * 12


def test_stalls_under_a_bandwidth_limit():
    layer = one(64, 36, 12, ifmap_words=400)
    free = simulate(array("os", rows=8, cols=8), layer)
    words = free.dram_words[0]  # 400 + 432 + 768 = 1600
    assert free.stall_cycles[0] == 0 and words == 1600
    # 1 B/cycle: 1600 cycles of transfers; double buffered, only what 800 compute cycles
    # cannot hide stalls; single buffered, all of it.
    db = simulate(array("os", rows=8, cols=8, dram_bytes_per_cycle=1.0), layer)
    assert db.stall_cycles[0] == 1600 - 800 and db.total_cycles[0] == 1600
    sb = simulate(array("os", rows=8, cols=8, dram_bytes_per_cycle=1.0, double_buffered=False),
                  layer)
    assert sb.stall_cycles[0] == 1600 and sb.total_cycles[0] == 2400


def test_array_spec_bounds():
    good = {"rows": 8, "cols": 8, "dataflow": "ws", "ifmap_sram_bytes": 1024,
            "filter_sram_bytes": 1024, "ofmap_sram_bytes": 1024}
    assert validate(SystolicArray, good, where="t").dataflow is Dataflow.WEIGHT_STATIONARY
    with pytest.raises(SpecError, match="rows: expected less than or equal to 4096"):
        validate(SystolicArray, {**good, "rows": 5000}, where="t")
    with pytest.raises(SpecError, match="ifmap_sram_bytes"):
        validate(SystolicArray, {**good, "ifmap_sram_bytes": 0}, where="t")
    with pytest.raises(SpecError, match="dataflow"):
        validate(SystolicArray, {**good, "dataflow": "rs"}, where="t")
    assert np.all(simulate(validate(SystolicArray, good, where="t"), one(1, 1, 1)).n_folds == 1)


def test_energy_and_area_use_each_srams_capacity():
    from sim import memory
    from sim.systolic import area_mm2, energy_pj

    a = SystolicArray(rows=8, cols=8, dataflow=Dataflow.OUTPUT_STATIONARY,
                      ifmap_sram_bytes=8 * 1024, filter_sram_bytes=32 * 1024,
                      ofmap_sram_bytes=1 << 20)
    layers = one(64, 36, 12, ifmap_words=400)
    s = simulate(a, layers)
    e = energy_pj(a, layers, s, bits=8)
    # 8-bit words: an eighth of the cited 64-bit 10 / 20 / 100 pJ per access.
    # Array reads plus one fill from DRAM (400 and 432 words); ofmap writes plus the drain.
    assert e["sram_ifmap"][0] == pytest.approx((4608 + 400) * 10 / 8)
    assert e["sram_filter"][0] == pytest.approx((3456 + 432) * 20 / 8)
    assert e["sram_ofmap"][0] == pytest.approx((768 + 768) * 100 / 8)
    assert e["mac"][0] == pytest.approx(64 * 36 * 12 * memory.mac_pj(8))
    assert e["dram"][0] == pytest.approx(1600 * 1300 / 8)
    area = area_mm2(a, bits=8)
    assert area["array"] == pytest.approx(64 * memory.mac_area_um2(8) * 1e-6)
    assert area["sram_ofmap"] == pytest.approx(memory.sram_area_mm2(1 << 20))


def test_hidden_preload_overlaps_the_next_folds_weights():
    from sim.systolic import sequence_cycles

    # ws, M=20, K=10, N=6 on 4x4: 3 x 2 folds of max(20, 4) plus one fill and drain of 6.
    a = array("ws", preload_hidden=True)
    assert simulate(a, one(20, 10, 6)).compute_cycles[0] == 6 * 20 + 6
    assert simulate(array("ws"), one(20, 10, 6)).compute_cycles[0] == 6 * 30
    # Back to back, two such layers fill and drain once: 2 x 120 + 6.
    two = Layers.of([Gemm(groups=1, m=20, k=10, n=6, ifmap_words=200)] * 2)
    assert sequence_cycles(a, two) == 2 * 120 + 6
    assert sequence_cycles(array("ws"), two) == 2 * 180


def test_packed_groups_share_a_fold_block_diagonally():
    # A depthwise 3x3 conv over 4 channels, 4x4 outputs: per group m=16, k=9, n=1. On a
    # 32x8 ws array a group takes 9 rows and 1 column, so min(32 // 9, 8 // 1) = 3 groups per
    # fold: ceil(4 / 3) = 2 folds of 2*32 + 8 + 16 - 2 = 86 cycles, against 4 unpacked.
    layers = one(16, 9, 1, groups=4)
    plain = simulate(array("ws", rows=32, cols=8), layers)
    packed = simulate(array("ws", rows=32, cols=8, pack_groups=True), layers)
    assert (plain.n_folds[0], plain.compute_cycles[0]) == (4, 344)
    assert (packed.n_folds[0], packed.fold_cycles[0], packed.compute_cycles[0]) == (2, 86, 172)
    # Two folds hold 4 x 9 mapped PEs of 2 x 256.
    assert packed.mapping_efficiency_ratio[0] == pytest.approx(36 / 512)
    # The SRAM and DRAM words are the same: packing changes only where groups sit.
    for name in ("sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes", "dram_words"):
        assert getattr(packed, name)[0] == getattr(plain, name)[0], name
    # is: a group takes k=9 rows and m=16 columns; on 32x32 min(3, 2) = 2 groups per fold.
    packed_is = simulate(array("is", rows=32, cols=32, pack_groups=True), layers)
    assert packed_is.n_folds[0] == 2
    # A group larger than the array (k = 9 > 8 rows) and os never pack.
    assert simulate(array("ws", rows=8, cols=8, pack_groups=True), layers).n_folds[0] == 8
    assert simulate(array("os", rows=32, cols=8, pack_groups=True), layers).n_folds[0] == \
        simulate(array("os", rows=32, cols=8), layers).n_folds[0]
