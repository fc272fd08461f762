"""Networks: DAG checks, liveness, and the pruned / quantized / fused transforms."""

from __future__ import annotations

import pytest

from workloads import (GraphError, Network, NetworkBuilder, OpKind, QuantScheme, ShapeError,
                       SparsityScheme, SpecError)


def residual_block():
    """conv-bn-relu -> depthwise -> 1x1 conv, plus a 1x1 shortcut, add, relu, pool, fc."""
    b = NetworkBuilder("block")
    x = b.input("x", (1, 3, 32, 32))
    y = b.conv2d(x, 16, 3, padding=1, name="c1")
    y = b.norm(y, "batch", name="bn1")
    y = b.act(y, "relu", name="r1")
    y = b.conv2d(y, 16, 3, padding=1, groups=16, name="dw")
    y = b.conv2d(y, 8, 1, name="c2")
    s = b.conv2d(x, 8, 1, name="sc")
    y = b.add(y, s, name="add")
    y = b.act(y, "relu", name="r2")
    y = b.global_pool(y, name="gap")
    y = b.reshape(y, (1, 8), name="flat")
    b.linear(y, 10, name="fc")
    return b.build()


def test_totals_by_hand():
    net = residual_block()
    assert net.macs == 16 * 1024 * 27 + 16 * 1024 * 9 + 8 * 1024 * 16 + 8 * 1024 * 3 + 80
    assert net.params == 16 * 27 + 32 + 16 * 9 + 8 * 16 + 8 * 3 + 10 * 8 + 10
    assert net.consumers["x"] == ("c1", "sc") and net.consumers["fc"] == ()


def test_activation_peak_by_hand():
    # fp32, 32x32 maps: a 16-channel map is 64 kB, an 8-channel map 32 kB, x is 12 kB.
    # Peak at 'sc': x (kept for sc), c2's output (kept for add) and sc's output are live
    # = 12 + 32 + 32 = 76 kB; at 'c1': x + c1 = 76 kB; at 'bn1': x + c1 + bn1 = 140 kB.
    assert residual_block().activation_peak_bytes() == (12 + 64 + 64) * 1024


def test_dag_errors_are_graph_errors():
    net = residual_block()
    with pytest.raises(GraphError, match="reads 'dw', which comes later"):
        Network(name="bad", inputs=net.inputs, ops=(net["c2"], net["dw"]), outputs=())
    with pytest.raises(GraphError, match="duplicate tensor name 'c1'"):
        Network(name="bad", inputs=net.inputs, ops=(net["c1"], net["c1"]), outputs=())
    with pytest.raises(GraphError, match="output 'nope' is not defined"):
        Network(name="bad", inputs=net.inputs, ops=(net["c1"],), outputs=("nope",))
    with pytest.raises(GraphError, match="has no op 'fcc' \\(did you mean 'fc'\\?\\)"):
        net["fcc"]
    wrong = net["c1"].replace(inputs=("x",), input_shapes=((1, 3, 32, 32),))
    with pytest.raises(ShapeError, match="expects 'x' of shape"):
        Network(name="bad", inputs=(net.inputs[0].__class__("x", (1, 3, 16, 16)),), ops=(wrong,),
                outputs=())


def test_build_sorts_topologically_and_finds_cycles():
    net = residual_block()
    shuffled = Network.build(name="s", inputs=net.inputs, ops=reversed(net.ops), outputs=net.outputs)
    order = [op.name for op in shuffled.ops]
    assert all(order.index(s) < order.index(op.name) for op in shuffled.ops for s in op.inputs
               if s in order)
    assert {op.name for op in shuffled.ops} == {op.name for op in net.ops}
    a = net["bn1"].replace(inputs=("r1",))
    b = net["r1"]
    with pytest.raises(GraphError, match="cycle"):
        Network.build(name="cyc", inputs=net.inputs, ops=(a, b), outputs=())


def test_unstructured_block_and_pattern_pick_their_layers():
    net = residual_block()
    un = net.pruned("unstructured", 0.5)
    assert {op.name for op in un.ops if op.compression.sparsity is SparsityScheme.UNSTRUCTURED} == {
        "c1", "c2", "sc", "fc"}  # depthwise stays dense
    pat = net.pruned("pattern", 0.5)
    assert [op.name for op in pat.ops if op.compression.sparsity is SparsityScheme.PATTERN] == ["c1"]
    blk = net.pruned("block", 0.75, block_shape=(4, 2))
    assert blk["c2"].compression.block_shape == (4, 2)
    assert blk["c2"].effective_macs == blk["c2"].macs // 4
    assert blk.macs == net.macs and blk.effective_macs < net.macs
    only = net.pruned("block", 0.5, names=["fc"])
    assert [op.name for op in only.ops if op.compression.sparsity is SparsityScheme.BLOCK] == ["fc"]
    with pytest.raises(GraphError, match="no op 'fc2'"):
        net.pruned("block", 0.5, names=["fc2"])
    with pytest.raises(SpecError, match="ratio must be in"):
        net.pruned("block", 0.0)


def test_channel_pruning_shrinks_producers_and_followers():
    net = residual_block().pruned("channel", 0.5)
    # c1 feeds bn -> relu -> depthwise -> c2: prunable; the depthwise follows, c2 shrinks its
    # input. c2 and sc feed the add, and fc is the output: kept.
    assert net["c1"].weight_shape == (8, 3, 3, 3)
    assert net["dw"].weight_shape == (8, 1, 3, 3) and net["dw"].attrs.groups == 8
    assert net["c2"].weight_shape == (8, 8, 1, 1)
    assert net["sc"].weight_shape == (8, 3, 1, 1) and net["fc"].weight_shape == (10, 8)
    assert net["c1"].compression.sparsity is SparsityScheme.CHANNEL
    assert net["c1"].effective_macs == net["c1"].macs  # smaller dense layer


def test_quantized_applies_everywhere_and_keeps_sparsity():
    net = residual_block().pruned("block", 0.5).quantized("fixed", weight_bits=4, activation_bits=8)
    assert all(op.compression.quant is QuantScheme.FIXED for op in net.ops)
    assert net["c2"].compression.sparsity is SparsityScheme.BLOCK
    assert net["c1"].output_bytes == 16 * 1024  # int8 activations
    # c1 is block-pruned too: half of 16 x 27 weights kept, at 4 bits, no bias.
    assert net["c1"].weight_bytes == 16 * 27 // 2 // 2
    fp16 = residual_block().quantized("float16")
    assert fp16["c1"].compression.weight_bits == 16
    with pytest.raises(SpecError, match="pot_ratio"):
        residual_block().quantized("mixed", weight_bits=4)


def test_fused_groups_follow_sole_consumers():
    net = residual_block()
    fused = net.fused()
    names = [op.name for op in fused.ops]
    assert names == ["c1+bn1+r1", "dw", "sc", "c2+add+r2", "gap", "flat", "fc"]
    group = fused["c2+add+r2"]
    assert group.kind is OpKind.FUSED and group.inputs == ("dw", "sc")
    assert group.macs == net["c2"].macs and group.params == net["c2"].params
    assert group.intermediate_bytes == 2 * 8 * 1024 * 4
    assert fused["dw"].inputs == ("c1+bn1+r1",)
    assert fused.fused() is fused  # idempotent: nothing left to fold
    assert fused.macs == net.macs and fused.params == net.params
    with pytest.raises(SpecError, match="prune before fusing"):
        fused.pruned("block", 0.5)
    q = fused.quantized("fixed", weight_bits=8)
    assert q["c1+bn1+r1"].members[1].compression.weight_bits == 8


@pytest.mark.parametrize("identity_first", [False, True])
def test_fusion_follows_whichever_operand_the_producer_is(identity_first):
    # torchvision writes MobileNetV2's residual as `x + self.conv(x)`, ResNet's as
    # `out + identity`: either way the add joins the conv + bn group, since x has two readers.
    b = NetworkBuilder("res")
    x = b.input("x", (1, 8, 8, 8))
    x = b.act(b.conv2d(x, 8, 1, name="stem"), "relu", name="stem_relu")
    y = b.norm(b.conv2d(x, 8, 3, padding=1, name="conv"), "batch", name="bn")
    b.add(*((x, y) if identity_first else (y, x)), name="add")
    net = b.build()
    fused = net.fused()
    assert [op.name for op in fused.ops] == ["stem+stem_relu", "conv+bn+add"]
    group = fused["conv+bn+add"]
    assert [m.name for m in group.members] == ["conv", "bn", "add"]
    # Each member's external read is listed: the conv reads x, and so does the add.
    assert group.inputs == ("stem+stem_relu", "stem+stem_relu")
    assert fused.macs == net.macs and fused.params == net.params


def test_fusion_does_not_join_a_broadcast_operand():
    # Squeeze-excite: x * sigmoid(conv(pool(x))); the gate is (N, C, 1, 1), the product
    # (N, C, H, W): the multiply is not one-to-one with the gate, so it stays its own op.
    b = NetworkBuilder("se")
    x = b.input("x", (1, 8, 4, 4))
    x = b.act(b.conv2d(x, 8, 1, name="conv"), "relu", name="relu")
    gate = b.act(b.conv2d(b.global_pool(x, name="pool"), 8, 1, name="fc"), "sigmoid", name="gate")
    b.mul(x, gate, name="scale")
    fused = b.build().fused()
    assert [op.name for op in fused.ops] == ["conv+relu", "pool", "fc+gate", "scale"]


def test_a_view_keeps_its_source_alive():
    # x(1,10) -> a(1,1000) -> view -> head(1,1000), fp32: at 'head', a (read through the
    # view) and head's output are live: 8000 B (found by the zoo's author: the view used to
    # end a's lifetime).
    b = NetworkBuilder("view")
    x = b.input("x", (1, 10))
    a = b.linear(x, 1000, name="a")
    v = b.reshape(a, (1, 1000), name="view")
    b.linear(v, 1000, name="head")
    net = b.build()
    assert net.activation_peak_bytes() == 8000
    assert net.storage_roots["view"] == "a"


def test_learned_concat_operand_broadcasts_over_batch():
    b = NetworkBuilder("cls")
    x = b.input("x", (2, 4, 8))
    y = b.concat([x], axis=1, weight_shape=(1, 1, 8))
    assert b.shape(y) == (2, 5, 8)


def test_build_keeps_an_order_that_is_already_valid():
    # [a(x), b(a), c(x)] is topological; a stable sort must not move c before b.
    b = NetworkBuilder("order")
    x = b.input("x", (1, 4))
    a = b.linear(x, 4, name="a")
    b.linear(a, 4, name="b")
    b.linear(x, 4, name="c")
    net = b.build()
    again = Network.build(name=net.name, inputs=net.inputs, ops=net.ops, outputs=net.outputs)
    assert again == net


def test_tensor_spec_shapes_are_tuples():
    from workloads import TensorSpec

    assert TensorSpec("x", [1, 4]).shape == (1, 4)
    hash(TensorSpec("x", [1, 4]))
