"""Ops: shape inference and its errors, and counts checked by hand."""

from __future__ import annotations

import dataclasses

import pytest

from workloads import Compression, NetworkBuilder, Op, OpKind, ShapeError, SpecError
from workloads.ops import Conv2dAttrs, NeighbourAttrs, SparseConv3dAttrs


def build(fn, *inputs):
    b = NetworkBuilder("t")
    names = [b.input(f"in{i}", s) for i, s in enumerate(inputs)]
    fn(b, *names)
    return b.build().ops[-1]


def test_conv2d_counts_by_hand():
    # 3x3 conv 16 -> 32 on 1x16x56x56, stride 2, pad 1: out 28x28.
    op = build(lambda b, x: b.conv2d(x, 32, 3, stride=2, padding=1, bias=True), (1, 16, 56, 56))
    assert op.output_shape == (1, 32, 28, 28)
    assert op.macs == 32 * 28 * 28 * 16 * 9
    assert op.params == 32 * 16 * 9 + 32
    assert op.input_bytes == 16 * 56 * 56 * 4 and op.output_bytes == 32 * 28 * 28 * 4


def test_depthwise_and_dilation():
    dw = build(lambda b, x: b.conv2d(x, 32, 3, padding=1, groups=32), (1, 32, 10, 10))
    assert dw.weight_shape == (32, 1, 3, 3) and dw.macs == 32 * 100 * 9
    dil = build(lambda b, x: b.conv2d(x, 8, 3, dilation=2), (1, 4, 10, 10))
    assert dil.output_shape == (1, 8, 6, 6)  # 10 - 2*(3-1) = 6


def test_linear_matmul_and_attention_shapes():
    lin = build(lambda b, x: b.linear(x, 30), (2, 7, 20))
    assert lin.output_shape == (2, 7, 30) and lin.macs == 2 * 7 * 30 * 20 and lin.params == 630
    mm = build(lambda b, q, k: b.matmul(q, k), (1, 3, 8, 16), (1, 3, 16, 8))
    assert mm.output_shape == (1, 3, 8, 8) and mm.macs == 3 * 8 * 8 * 16 and mm.params == 0


def test_vector_ops_and_norm_params():
    bn = build(lambda b, x: b.norm(x, "batch"), (1, 8, 4, 4))
    assert bn.params == 16 and bn.vector_ops == 2 * 128
    ln = build(lambda b, x: b.norm(x, "layer"), (1, 5, 12))
    assert ln.params == 24 and ln.vector_ops == 5 * 60
    pool = build(lambda b, x: b.pool(x, "max", 3, stride=2, padding=1), (1, 8, 8, 8))
    assert pool.output_shape == (1, 8, 4, 4) and pool.vector_ops == 128 * 9


def test_learned_operands_of_add_and_concat():
    pos = build(lambda b, x: b.add(x, weight_shape=(1, 5, 8)), (1, 5, 8))
    assert pos.params == 40
    cls = build(lambda b, x: b.concat([x], axis=1, weight_shape=(1, 1, 8)), (1, 4, 8))
    assert cls.output_shape == (1, 5, 8) and cls.params == 8


def test_layout_ops():
    assert build(lambda b, x: b.pixel_shuffle(x, 2), (1, 16, 4, 4)).output_shape == (1, 4, 8, 8)
    assert build(lambda b, x: b.upsample(x, 2), (1, 3, 4, 4)).output_shape == (1, 3, 8, 8)
    t = build(lambda b, x: b.transpose(x, (0, 2, 1)), (1, 4, 6))
    assert t.output_shape == (1, 6, 4)
    r = build(lambda b, x: b.reshape(x, (1, 24)), (1, 4, 6))
    assert r.is_free and r.output_shape == (1, 24)


def test_point_cloud_ops_are_sized_by_their_data():
    def net(b, pts):
        centres = b.op(OpKind.FPS, [pts], output_shape=(128, 3), name="fps")
        nbrs = b.op(OpKind.BALL_QUERY, [centres, pts], NeighbourAttrs(k=16, radius=0.2, n_found=1500),
                    output_shape=(128, 16), name="ball")
        return b.op(OpKind.GATHER, [pts, nbrs], name="group")

    b = NetworkBuilder("pc")
    pts = b.input("points", (1024, 3))
    net(b, pts)
    fps, ball, group = b.build().ops
    assert fps.vector_ops == 1024 * 128 * 3  # one op per coordinate of each distance
    assert ball.vector_ops == 128 * 1024 * 3 and ball.output_bytes == 128 * 16 * 4  # int32 ids
    assert group.output_shape == (128, 16, 3)
    assert group.input_bytes_of(1) == 128 * 16 * 4


def test_sparse_conv3d_macs_are_pairs_times_channels():
    b = NetworkBuilder("sc")
    x = b.input("feats", (5000, 32))
    b.op(OpKind.SPARSE_CONV3D, [x], SparseConv3dAttrs(kernel_volume=27, n_pairs=40_000),
         weight_shape=(27, 32, 64), output_shape=(5000, 64))
    op = b.build().ops[0]
    assert op.macs == 40_000 * 32 * 64 and op.params == 27 * 32 * 64


@pytest.mark.parametrize(
    "fn, shapes, match",
    [
        (lambda b, x: b.conv2d(x, 8, 3, groups=3), [(1, 4, 8, 8)], "not divisible by groups"),
        (lambda b, x: b.conv2d(x, 8, 11), [(1, 4, 8, 8)], "exceeds padded input"),
        (lambda b, x, y: b.matmul(x, y), [(1, 4, 8), (1, 7, 2)], r"\(\.\.\., M, K\) @"),
        (lambda b, x, y: b.add(x, y), [(1, 4, 8), (1, 5, 8)], "do not broadcast"),
        (lambda b, x: b.reshape(x, (1, 5)), [(1, 4)], "changes the element count"),
        (lambda b, x: b.transpose(x, (0, 0)), [(1, 4)], "not a permutation"),
        (lambda b, x: b.pixel_shuffle(x, 2), [(1, 6, 4, 4)], "divisible by 4"),
        (lambda b, x: b.softmax(x, axis=3), [(1, 4)], "axis 3 out of range"),
    ],
)
def test_shape_errors_name_the_op(fn, shapes, match):
    with pytest.raises(ShapeError, match=match) as info:
        build(fn, *shapes)
    assert str(info.value).startswith("op '")


def test_op_validates_declared_shapes_and_sizes():
    attrs = Conv2dAttrs(kernel=3)
    with pytest.raises(ShapeError, match=r"output shape should be \(1, 8, 6, 6\)"):
        Op(name="c", kind="conv2d", inputs=("x",), input_shapes=((1, 4, 8, 8),),
           output_shape=(1, 8, 8, 8), weight_shape=(8, 4, 3, 3), attrs=attrs)
    with pytest.raises(ShapeError, match="more than"):
        build(lambda b, x: b.act(x, "relu"), (1, 3, 2**20, 2**20))
    with pytest.raises(ShapeError, match="positive dimensions"):
        build(lambda b, x: b.act(x, "relu"), (1, -3, 4, 4))
    with pytest.raises(SpecError, match="needs a weighted op"):
        Op(name="r", kind="activation", inputs=("x",), input_shapes=((1, 4),), output_shape=(1, 4),
           attrs=build(lambda b, x: b.act(x, "relu"), (1, 4)).attrs,
           compression=Compression(sparsity="block", sparsity_ratio=0.5))
    with pytest.raises(SpecError, match="'function' must be one of"):
        build(lambda b, x: b.act(x, "tanhh"), (1, 4))


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: Conv2dAttrs(kernel=3, groups="2"), "'groups' must be an int"),
        (lambda: Conv2dAttrs(kernel=True), "must be an int or two ints"),
        (lambda: NeighbourAttrs(k=2.5), "'k' must be an int"),
        (lambda: NeighbourAttrs(k=4, radius=float("nan")), "'radius' must be a finite number"),
        (lambda: Compression(quant="fixed", weight_bits=True), "'weight_bits' must be an int"),
    ],
)
def test_attribute_types_are_checked(make, match):
    # Found by the trace loader's author: these used to pass or raise a bare TypeError.
    with pytest.raises(SpecError, match=match):
        make()


def test_op_hash_is_cached_equal_for_equal_ops_and_not_pickled():
    import copy
    import pickle

    from workloads.zoo import resnet18

    a, b = resnet18().ops[0], resnet18().ops[0]
    assert a is not b and a == b and hash(a) == hash(b)
    assert a.__dict__["_hash"] == hash(a)
    assert hash(a) == hash(tuple(getattr(a, f.name) for f in dataclasses.fields(a)))
    assert "_hash" not in pickle.loads(pickle.dumps(a)).__dict__
    assert pickle.loads(pickle.dumps(a)) == a and copy.deepcopy(a) == a
    assert {a: 1}[b] == 1
