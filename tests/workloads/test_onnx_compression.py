"""Compression read from an ONNX file: sparsity schemes from the zeros of synthetic weights (each
built here with a known layout, so the expected scheme and ratio are exact by construction), and
bit-widths from QDQ and QLinear* models."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from workloads import OpKind, QuantScheme, SparsityScheme  # noqa: E402
from workloads.onnx.detect import MIN_UNSTRUCTURED_RATIO, detect_sparsity  # noqa: E402
from workloads.onnx_import import load_onnx  # noqa: E402

F = TensorProto.FLOAT


def dense(*shape: int, seed: int = 0) -> np.ndarray:
    """Weights in [0.5, 1.5): never zero."""
    return (np.random.default_rng(seed).random(shape) + 0.5).astype(np.float32)


def conv_model(w: np.ndarray, *, group: int = 1, cin: int | None = None) -> onnx.ModelProto:
    cin = cin or w.shape[1] * group
    k = w.shape[2]
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv", pads=[k // 2] * 4, group=group)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", F, [1, cin, 8, 8])],
                              [helper.make_tensor_value_info("y", F, None)],
                              initializer=[numpy_helper.from_array(w, "w")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def linear_model(w_in_out: np.ndarray) -> onnx.ModelProto:
    node = helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")
    graph = helper.make_graph([node], "g",
                              [helper.make_tensor_value_info("x", F, [4, w_in_out.shape[0]])],
                              [helper.make_tensor_value_info("y", F, None)],
                              initializer=[numpy_helper.from_array(w_in_out, "w")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


# --- each scheme, through load_onnx ------------------------------------------------------------


def test_dense_weights_are_dense():
    op = load_onnx(conv_model(dense(16, 8, 3, 3)))["conv"]
    assert op.compression.sparsity is SparsityScheme.DENSE and op.compression.is_float


def test_unstructured_zeros():
    w = dense(16, 8, 3, 3)
    rng = np.random.default_rng(1)
    w.reshape(-1)[rng.choice(w.size, 864, replace=False)] = 0  # 75 % of 1152
    comp = load_onnx(conv_model(w))["conv"].compression
    assert comp.sparsity is SparsityScheme.UNSTRUCTURED and comp.sparsity_ratio == 0.75


def test_a_few_scattered_zeros_are_not_pruning():
    w = dense(16, 8, 3, 3)
    w.reshape(-1)[np.random.default_rng(6).choice(w.size, 10, replace=False)] = 0  # 0.9 %
    assert 10 / w.size < MIN_UNSTRUCTURED_RATIO
    assert load_onnx(conv_model(w))["conv"].compression.sparsity is SparsityScheme.DENSE


def test_kernel_patterns_with_connectivity_pruning():
    # PatDNN: 4 of 9 weights kept in one of 4 patterns; every 4th kernel removed entirely.
    patterns = np.zeros((4, 9), bool)
    for i, kept in enumerate([(1, 3, 4, 5), (1, 4, 5, 7), (3, 4, 5, 7), (0, 1, 3, 4)]):
        patterns[i, list(kept)] = True
    w = dense(16, 8, 3, 3).reshape(128, 9)
    masks = patterns[np.arange(128) % 4]
    masks[np.arange(128) % 4 == 3] = False  # connectivity pruning
    w = (w * masks).reshape(16, 8, 3, 3)
    comp = load_onnx(conv_model(w))["conv"].compression
    kept = 96 * 4  # 96 kernels of 128 kept, 4 weights each
    assert comp.sparsity is SparsityScheme.PATTERN
    assert comp.sparsity_ratio == (1152 - kept) / 1152


def test_block_zeros_report_their_tile_shape():
    # Zero tiles of 4 rows x 8 columns of the (16, 72) GEMM view of a 16 x 8 x 3 x 3 conv.
    w = dense(16, 72)
    tiles = np.random.default_rng(2).random((4, 9)) < 0.5
    tiles[0, 0], tiles[0, 1] = True, False
    mask = np.kron(tiles, np.ones((4, 8), bool))
    w[mask] = 0
    comp = load_onnx(conv_model(w.reshape(16, 8, 3, 3)))["conv"].compression
    assert comp.sparsity is SparsityScheme.BLOCK
    assert comp.block_shape == (4, 8)
    assert comp.sparsity_ratio == tiles.mean()


def test_n_m_along_the_input_channels():
    # 2:4 on a linear layer stored (in, out) by MatMul: groups run along `in` for each output.
    w = dense(32, 16)  # (in, out)
    for out in range(16):
        for g in range(8):
            drop = [(g + out) % 4, (g + out + 1) % 4]
            w[[4 * g + d for d in drop], out] = 0
    op = load_onnx(linear_model(w))["fc"]
    comp = op.compression
    assert op.kind is OpKind.LINEAR
    assert comp.sparsity is SparsityScheme.N_M and comp.n_m == (2, 4)
    assert comp.sparsity_ratio == 0.5 and comp.label().startswith("n_m(2:4):0.5")
    assert op.effective_macs == op.macs // 2


def test_zeroed_filters_are_channel_pruning_and_shrink_the_layer():
    n = helper.make_node
    w1 = dense(16, 3, 3, 3)
    w1[[1, 5, 9, 13]] = 0  # 4 of 16 filters
    nodes = [
        n("Conv", ["x", "w1"], ["a"], name="c1", pads=[1] * 4),
        n("Relu", ["a"], ["r"], name="relu"),
        n("Conv", ["r", "w2"], ["y"], name="c2"),
    ]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", F, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", F, None)],
                              initializer=[numpy_helper.from_array(w1, "w1"),
                                           numpy_helper.from_array(dense(8, 16, 1, 1), "w2")])
    net = load_onnx(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    assert net["c1"].compression.sparsity is SparsityScheme.CHANNEL
    assert net["c1"].compression.sparsity_ratio == 0.25
    assert net["c1"].weight_shape == (12, 3, 3, 3) and net["c2"].weight_shape == (8, 12, 1, 1)


def test_detection_on_arrays_directly():
    assert detect_sparsity(np.zeros((4, 4))) is None  # all zero: nothing to name
    w = dense(8, 8)
    w[:, ::2] = 0  # every other input column: 1:2 N:M (the smallest group that fits)
    found = detect_sparsity(w)
    assert found.scheme is SparsityScheme.N_M and found.n_m == (1, 2)


# --- bit-widths: QDQ and QLinear ---------------------------------------------------------------


def qdq_model(*, per_channel: bool, weight_type=TensorProto.INT8) -> onnx.ModelProto:
    """x -> Q/DQ (uint8) -> Conv(DQ(int8 weight)) -> Relu -> Q/DQ: what onnxruntime's static
    quantizer writes in QDQ format."""
    n = helper.make_node
    w_int = np.random.default_rng(3).integers(-127, 128, (8, 4, 3, 3)).astype(np.int8)
    w_int[w_int == 0] = 1
    scale = np.full(8 if per_channel else (), 0.02, np.float32)
    zp = np.zeros(8 if per_channel else (), np.int8)
    inits = [
        helper.make_tensor("w_q", weight_type, w_int.shape, w_int.reshape(-1).tolist()),
        numpy_helper.from_array(scale, "w_scale"), numpy_helper.from_array(zp, "w_zp"),
        numpy_helper.from_array(np.array(0.1, np.float32), "x_scale"),
        numpy_helper.from_array(np.array(128, np.uint8), "x_zp"),
    ]
    nodes = [
        n("QuantizeLinear", ["x", "x_scale", "x_zp"], ["xq"], name="q_in"),
        n("DequantizeLinear", ["xq", "x_scale", "x_zp"], ["xd"], name="dq_in"),
        n("DequantizeLinear", ["w_q", "w_scale", "w_zp"], ["w"], name="dq_w", axis=0),
        n("Conv", ["xd", "w"], ["c"], name="conv", pads=[1] * 4),
        n("Relu", ["c"], ["r"], name="relu"),
        n("QuantizeLinear", ["r", "x_scale", "x_zp"], ["rq"], name="q_out"),
        n("DequantizeLinear", ["rq", "x_scale", "x_zp"], ["y"], name="dq_out"),
    ]
    graph = helper.make_graph(nodes, "qdq", [helper.make_tensor_value_info("x", F, [1, 4, 8, 8])],
                              [helper.make_tensor_value_info("y", F, None)], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])


@pytest.mark.parametrize("per_channel", [False, True])
def test_qdq_model_gives_int8_weights_and_activations(per_channel):
    net = load_onnx(qdq_model(per_channel=per_channel))
    assert [op.name for op in net] == ["conv", "relu"]  # Q/DQ removed
    conv = net["conv"].compression
    assert conv.quant is QuantScheme.FIXED and conv.weight_bits == 8 and conv.activation_bits == 8
    assert net["relu"].compression.activation_bits == 8
    assert net["conv"].weight_bytes == 8 * 4 * 9  # one byte per weight
    assert conv.sparsity is SparsityScheme.DENSE


def test_qdq_with_int4_weights():
    net = load_onnx(qdq_model(per_channel=True, weight_type=TensorProto.INT4))
    assert net["conv"].compression.weight_bits == 4
    assert net["conv"].weight_bytes == 8 * 4 * 9 // 2


def test_qlinear_conv_and_matmul():
    n = helper.make_node
    w = np.random.default_rng(4).integers(1, 100, (8, 4, 1, 1)).astype(np.int8)
    wm = np.random.default_rng(5).integers(1, 100, (8, 5)).astype(np.int8)
    scalars = {
        "s": np.array(0.1, np.float32), "zu": np.array(0, np.uint8), "zi": np.array(0, np.int8),
    }
    inits = [numpy_helper.from_array(v, k) for k, v in scalars.items()]
    inits += [numpy_helper.from_array(w, "w"), numpy_helper.from_array(wm, "wm"),
              numpy_helper.from_array(np.array([2, 8], np.int64), "flat")]
    nodes = [
        n("QuantizeLinear", ["x", "s", "zu"], ["xq"], name="q"),
        n("QLinearConv", ["xq", "s", "zu", "w", "s", "zi", "s", "zu"], ["c"], name="qconv"),
        n("Reshape", ["c", "flat"], ["cf"], name="flat"),
        n("QLinearMatMul", ["cf", "s", "zu", "wm", "s", "zi", "s", "zu"], ["m"], name="qfc"),
        n("DequantizeLinear", ["m", "s", "zu"], ["y"], name="dq"),
    ]
    graph = helper.make_graph(nodes, "ql", [helper.make_tensor_value_info("x", F, [1, 4, 1, 2])],
                              [helper.make_tensor_value_info("y", F, None)], initializer=inits)
    net = load_onnx(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    assert net["qconv"].kind is OpKind.CONV2D and net["qfc"].kind is OpKind.LINEAR
    for name in ("qconv", "qfc"):
        comp = net[name].compression
        assert (comp.weight_bits, comp.activation_bits) == (8, 8)
    assert net["qfc"].weight_shape == (5, 8) and net.macs == 8 * 4 * 2 + 2 * 5 * 8


def test_prune_and_quant_options_override_what_was_read():
    net = load_onnx(qdq_model(per_channel=False))
    assert net.quantized("float32")["conv"].compression.weight_bits == 32
    assert net.pruned("unstructured", 0.5)["conv"].compression.sparsity_ratio == 0.5
