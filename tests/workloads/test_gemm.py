"""The GEMM view of an op, checked against hand-lowered im2col shapes."""

from __future__ import annotations

import pytest

from workloads import NetworkBuilder
from workloads.gemm import Gemm, gemm_of


def build(fn, *inputs, fuse=False):
    b = NetworkBuilder("t")
    names = [b.input(f"in{i}", s) for i, s in enumerate(inputs)]
    fn(b, *names)
    net = b.build()
    return (net.fused() if fuse else net).ops[-1]


def test_conv2d_is_im2col():
    # 3x3, 16 -> 32, stride 2, pad 1 on 2x16x56x56: 28x28 outputs per image, K = 16 * 9.
    op = build(lambda b, x: b.conv2d(x, 32, 3, stride=2, padding=1), (2, 16, 56, 56))
    assert op.gemm == Gemm(groups=1, m=2 * 28 * 28, k=144, n=32, ifmap_words=2 * 16 * 56 * 56)
    assert op.gemm.macs == op.macs


def test_grouped_and_depthwise_conv_are_one_product_per_group():
    grouped = build(lambda b, x: b.conv2d(x, 16, 3, padding=1, groups=4), (1, 8, 10, 10))
    assert grouped.gemm == Gemm(groups=4, m=100, k=2 * 9, n=4, ifmap_words=800)
    dw = build(lambda b, x: b.conv2d(x, 32, 3, padding=1, groups=32), (1, 32, 10, 10))
    assert (dw.gemm.groups, dw.gemm.m, dw.gemm.k, dw.gemm.n) == (32, 100, 9, 1)
    assert dw.gemm.macs == dw.macs == 32 * 100 * 9
    assert dw.gemm.filter_words == 32 * 9 and dw.gemm.ofmap_words == 32 * 100


def test_linear_and_batched_matmul():
    lin = build(lambda b, x: b.linear(x, 30), (2, 7, 20))
    assert lin.gemm == Gemm(groups=1, m=14, k=20, n=30, ifmap_words=280)
    mm = build(lambda b, q, k: b.matmul(q, k), (1, 3, 8, 16), (1, 3, 16, 5))
    assert mm.gemm == Gemm(groups=3, m=8, k=16, n=5, ifmap_words=3 * 8 * 16)
    assert mm.gemm.macs == mm.macs


def test_fused_op_is_viewed_by_its_anchor_and_other_kinds_have_none():
    def net(b, x):
        y = b.conv2d(x, 8, 1)
        b.add(y, y)

    fused = build(net, (1, 4, 6, 6), fuse=True)
    assert fused.kind.value == "fused"
    assert fused.gemm == Gemm(groups=1, m=36, k=4, n=8, ifmap_words=144)
    add = build(lambda b, x: b.add(x, x), (1, 4))
    assert add.gemm is None and gemm_of(add) is None


def test_the_fpga_cases_in_the_one_letter_convention():
    # Formerly accelerators.fpga.timing.gemm_shape, whose m was this n (output channels), p this m
    # (output positions) and n_batch these groups: the same hand counts, relettered.
    b = NetworkBuilder("g")
    x = b.input("x", (1, 8, 10, 10))
    c = b.conv2d(x, 16, 3, stride=2, padding=1, name="conv")          # out (1, 16, 5, 5)
    d = b.conv2d(c, 16, 3, padding=1, groups=16, name="dw")           # depthwise
    t = b.input("t", (2, 3, 7, 32))
    lin = b.linear(t, 64, name="lin")                                   # (2, 3, 7, 64)
    q = b.input("q", (2, 4, 5, 8))
    k = b.input("k", (2, 4, 8, 5))
    mm = b.matmul(q, k, name="mm")                                      # (2, 4, 5, 5)
    net = b.build(outputs=[d, lin, mm])
    def view(name):
        g = gemm_of(net[name])
        return g.groups, g.m, g.k, g.n

    assert view("conv") == (1, 25, 8 * 9, 16)
    assert view("dw") == (16, 25, 9, 1)
    assert view("lin") == (1, 42, 32, 64)
    assert view("mm") == (8, 5, 8, 5)
    for name in ("conv", "dw", "lin", "mm"):  # the GEMM view keeps the op's exact MAC count
        assert gemm_of(net[name]).macs == net[name].macs


@pytest.mark.parametrize("model", ["resnet18", "mobilenetv2"])
def test_every_zoo_gemm_matches_the_op_macs(model):
    from workloads import zoo

    for op in getattr(zoo, model)().ops:
        if op.gemm is not None:
            assert op.gemm.macs == op.macs, op.name
