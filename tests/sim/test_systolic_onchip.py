"""The on-chip memory policy of the systolic template (`sim.systolic.plan_on_chip`, `Residency`),
checked against hand-computed two-layer cases: activations that fit and that spill, weights
resident and streamed, a planned layer tiled so each DRAM operand crosses once, and the DRAM
(SCALE-Sim) counts unchanged without a residency.

The network: x (1, 16, 8, 8) -> conv a (1x1, 16 -> 16) -> conv b (1x1, 16 -> 16). Each conv is
the GEMM m = 64 (8 x 8 pixels), k = 16, n = 16: 1024 input words, 256 weights, 1024 outputs.
On an 8x8 weight-stationary array: ceil(16/8) x ceil(16/8) = 4 folds of 2*8 + 8 + 64 - 2 = 86
cycles = 344 compute cycles. Under the DRAM policy each layer moves 1024 + 256 + 1024 = 2304
words (all SRAMs hold their working sets).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.systolic import (
    Dataflow, Layers, OnChipPlan, Residency, SystolicArray, plan_on_chip, simulate,
)
from workloads import NetworkBuilder


def two_convs():
    b = NetworkBuilder("two")
    x = b.input("x", (1, 16, 8, 8))
    a = b.conv2d(x, 16, 1, name="a")
    b.conv2d(a, 16, 1, name="b")
    return b.build()


def weight_words(op) -> int:
    g = op.gemm
    return 0 if g is None else g.groups * g.k * g.n


def output_words(op) -> int:
    return math.prod(op.output_shape)


def plan(net, *, sram_bytes: int, weight_cache_bytes: int) -> OnChipPlan:
    return plan_on_chip(net, sram_bytes=sram_bytes, weight_cache_bytes=weight_cache_bytes,
                        weight_bytes=weight_words, tensor_bytes=output_words)


ARRAY = SystolicArray(rows=8, cols=8, dataflow=Dataflow.WEIGHT_STATIONARY,
                      ifmap_sram_bytes=4096, filter_sram_bytes=4096, ofmap_sram_bytes=4096,
                      dram_bytes_per_cycle=3.0)
"""3 words of DRAM per cycle: 2304 words take 768 cycles, more than the 344 of compute."""


def run(net, p: OnChipPlan | None):
    layers = Layers.of([op.gemm for op in net.ops])
    residency = None if p is None else Residency.of([p.residency(op) for op in net.ops])
    return simulate(ARRAY, layers, residency)


def test_without_residency_every_layer_goes_through_dram():
    s = run(two_convs(), None)
    assert s.compute_cycles.tolist() == [344, 344]
    assert s.dram_ifmap_reads.tolist() == [1024, 1024]
    assert s.dram_filter_reads.tolist() == [256, 256]
    assert s.dram_ofmap_writes.tolist() == [1024, 1024]
    # 2304 words at 3 per cycle: ceil(768) cycles, the array stalls 768 - 344 = 424.
    assert s.total_cycles.tolist() == [768, 768]


def test_two_layers_that_fit_keep_the_intermediate_on_chip():
    net = two_convs()
    # Both layers' 256 weights fit the 1024-byte cache; 4096 - 512 = 3584 bytes left hold a's
    # 1024-byte output. x comes from the host and b's output goes back: both through DRAM.
    p = plan(net, sram_bytes=4096, weight_cache_bytes=1024)
    assert p.resident_weights == {"a", "b"} and p.resident_weight_bytes == 512
    assert p.streamed_weight_bytes == 0
    assert p.activation_budget_bytes == 3584 and p.on_chip == {"a"}
    assert p.peak_on_chip_activation_bytes == 1024
    s = run(net, p)
    assert s.dram_ifmap_reads.tolist() == [1024, 0]
    assert s.dram_filter_reads.tolist() == [0, 0]
    assert s.dram_ofmap_writes.tolist() == [0, 1024]
    # 1024 words each: ceil(1024 / 3) = 342 cycles, hidden under the 344 of compute.
    assert s.total_cycles.tolist() == [344, 344]
    # The array's own SRAM traffic is the same as under the DRAM policy; only fills and
    # drains from and to DRAM go.
    base = run(net, None)
    assert np.array_equal(s.sram_ifmap_reads, base.sram_ifmap_reads)
    assert s.sram_ifmap_writes.tolist() == [1024, 0]
    # Partial sums read back once (k = 16 is two row folds: (2 - 1) x 1024) in both layers,
    # plus b's drain of 1024 to DRAM.
    assert s.sram_ofmap_reads.tolist() == [1024, 2048]


def test_an_intermediate_that_does_not_fit_spills_to_dram():
    net = two_convs()
    # 1535 - 512 resident = 1023 bytes left: one byte short of a's output, which spills.
    p = plan(net, sram_bytes=1535, weight_cache_bytes=1024)
    assert p.activation_budget_bytes == 1023 and p.on_chip == frozenset()
    s = run(net, p)
    assert s.dram_ofmap_writes.tolist() == [1024, 1024]
    assert s.dram_ifmap_reads.tolist() == [1024, 1024]
    # 2048 words: ceil(2048 / 3) = 683 cycles per layer.
    assert s.total_cycles.tolist() == [683, 683]
    # One byte more and it stays.
    assert plan(net, sram_bytes=1536, weight_cache_bytes=1024).on_chip == {"a"}


def test_weights_beyond_the_cache_are_streamed_every_frame():
    net = two_convs()
    # A 300-byte cache holds a's 256 weights; b's would make 512, so b streams.
    p = plan(net, sram_bytes=4096, weight_cache_bytes=300)
    assert p.resident_weights == {"a"}
    assert (p.resident_weight_bytes, p.streamed_weight_bytes) == (256, 256)
    assert p.activation_budget_bytes == 4096 - 256
    s = run(net, p)
    assert s.dram_filter_reads.tolist() == [0, 256]
    # b: 256 weights + 1024 outputs = 1280 words, ceil(1280 / 3) = 427 cycles > 344.
    assert s.total_cycles.tolist() == [344, 427]
    resident = run(net, plan(net, sram_bytes=4096, weight_cache_bytes=512))
    assert resident.total_cycles.tolist() == [344, 344]


def test_weights_are_cached_in_layer_order_and_the_rest_stream():
    # Three layers of 256, 1024 and 256 weights and a 600-byte cache: the first fits, the
    # second does not, and the third streams too although it alone would fit (the compiler
    # caches a prefix of the model, then streams).
    b = NetworkBuilder("three")
    x = b.conv2d(b.input("x", (1, 16, 8, 8)), 16, 1, name="a")
    x = b.conv2d(x, 64, 1, name="b")
    b.conv2d(x, 4, 1, name="c")
    p = plan(b.build(), sram_bytes=1 << 16, weight_cache_bytes=600)
    assert p.resident_weights == {"a"}
    assert (p.resident_weight_bytes, p.streamed_weight_bytes) == (256, 1024 + 256)


def test_live_residual_branches_count_against_the_budget():
    # x -> a -> b, then add(a, b): a is still live while b is produced, so b fits only if
    # a's 1024 bytes and its own 1024 do. With a 1024 + 1023 budget, b spills and a stays.
    b = NetworkBuilder("res")
    x = b.input("x", (1, 16, 8, 8))
    a = b.conv2d(x, 16, 1, name="a")
    c = b.conv2d(a, 16, 1, name="b")
    b.add(a, c, name="sum")
    net = b.build()
    p = plan(net, sram_bytes=512 + 2047, weight_cache_bytes=1024)
    assert p.on_chip == {"a"}
    assert plan(net, sram_bytes=512 + 2048, weight_cache_bytes=1024).on_chip == {"a", "b"}


def test_a_planned_layer_in_dram_crosses_the_link_once_per_operand():
    # The same layer with 256-byte SRAMs (128 usable words each, double buffered): untiled,
    # ws re-reads the ifmap once per column fold (2 x 1024) and drains the partial sums of
    # each of the 2 row folds (2 x 1024); planned (tiled over M), each operand crosses once.
    small = ARRAY.model_copy(update={"ifmap_sram_bytes": 256, "filter_sram_bytes": 256,
                                     "ofmap_sram_bytes": 256})
    layers = Layers.of([two_convs().ops[0].gemm])
    untiled = simulate(small, layers)
    assert (untiled.dram_ifmap_reads[0], untiled.dram_filter_reads[0],
            untiled.dram_ofmap_writes[0]) == (2048, 256, 2048)
    tiled = simulate(small, layers, Residency.of([(False, False, False)]))
    assert (tiled.dram_ifmap_reads[0], tiled.dram_filter_reads[0],
            tiled.dram_ofmap_writes[0]) == (1024, 256, 1024)
    # 2304 words at 3 per cycle: 768 cycles, against ceil(4352 / 3) = 1451 untiled.
    assert (tiled.total_cycles[0], untiled.total_cycles[0]) == (768, 1451)


def test_an_all_off_chip_residency_is_the_dram_policy_when_working_sets_fit():
    net = two_convs()
    layers = Layers.of([op.gemm for op in net.ops])
    off = Residency.of([(False, False, False)] * 2)
    for df in Dataflow:
        array = ARRAY.model_copy(update={"dataflow": df})
        a, b = simulate(array, layers), simulate(array, layers, off)
        for name in a.__dataclass_fields__:
            assert np.array_equal(getattr(a, name), getattr(b, name)), (df, name)


@pytest.mark.parametrize("flags", [(True, False, False), (False, True, False),
                                   (False, False, True)])
def test_each_on_chip_operand_removes_only_its_own_dram_traffic(flags):
    net = two_convs()
    layers = Layers.of([net.ops[0].gemm])
    base = simulate(ARRAY, layers)
    s = simulate(ARRAY, layers, Residency.of([flags]))
    expected = [0 if on else int(getattr(base, f)[0]) for on, f in zip(
        flags, ("dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes"), strict=True)]
    assert [int(s.dram_ifmap_reads[0]), int(s.dram_filter_reads[0]),
            int(s.dram_ofmap_writes[0])] == expected
    assert s.compute_cycles[0] == base.compute_cycles[0]
