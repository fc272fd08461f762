"""ONNX import: small models built here with onnx.helper (no downloads); MACs and parameters are
checked against hand-computed values."""

from __future__ import annotations

import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from workloads import (  # noqa: E402
    Activation,
    NormKind,
    OpKind,
    PoolMode,
    TraceError,
    UnsupportedOpError,
)
from workloads import trace  # noqa: E402
from workloads.onnx_import import SUPPORTED_OP_TYPES, load_onnx  # noqa: E402

F = TensorProto.FLOAT


def weight(name: str, *shape: int, value=None) -> onnx.TensorProto:
    array = np.zeros(shape, np.float32) if value is None else np.asarray(value)
    return numpy_helper.from_array(array, name)


def model(nodes, inputs, inits=(), *, outputs, opset=17, name="g") -> onnx.ModelProto:
    """A checked ONNX model; `inputs` maps names to shapes (str dims are symbolic), `outputs`
    names to ranks (their sizes are left to shape inference)."""
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info(n, F, shape) for n, shape in inputs.items()],
        [helper.make_tensor_value_info(o, F, [None] * rank) for o, rank in outputs.items()],
        initializer=list(inits),
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="test")
    onnx.checker.check_model(m)
    return m


# --- a conv-bn-relu-pool-gemm CNN -------------------------------------------------------------


def cnn_model() -> onnx.ModelProto:
    n = helper.make_node
    nodes = [
        n("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1], strides=[2, 2]),
        n("BatchNormalization", ["c1", "g", "beta", "mean", "var"], ["bn"], name="bn1"),
        n("Relu", ["bn"], ["r1"], name="relu1"),
        n("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        n("Conv", ["p1", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        n("Constant", [], ["lo"], value=numpy_helper.from_array(np.array(0.0, np.float32))),
        n("Clip", ["c2", "lo", "hi"], ["r2"], name="relu6"),
        n("GlobalAveragePool", ["r2"], ["gap"], name="gap"),
        n("Flatten", ["gap"], ["flat"], name="flatten"),
        n("Dropout", ["flat"], ["drop"], name="dropout"),
        n("Gemm", ["drop", "wfc", "bfc"], ["logits"], name="fc", transB=1),
        n("Softmax", ["logits"], ["y"], name="prob"),
    ]
    inits = [
        weight("w1", 16, 3, 3, 3), weight("b1", 16),
        *(weight(k, 16) for k in ("g", "beta", "mean", "var")),
        weight("w2", 32, 16, 3, 3), weight("hi", value=np.array(6.0, np.float32)),
        weight("wfc", 10, 32), weight("bfc", 10),
    ]  # fmt: skip
    return model(nodes, {"x": ["N", 3, 32, 32]}, inits, outputs={"y": 2}, name="tiny_cnn")


CNN_MACS = 16 * 16 * 16 * (3 * 3 * 3) + 32 * 8 * 8 * (16 * 3 * 3) + 10 * 32
CNN_PARAMS = (16 * 27 + 16) + 2 * 16 + 32 * 16 * 9 + (10 * 32 + 10)


def test_cnn_ops_shapes_and_counts():
    net = load_onnx(cnn_model())
    assert net.name == "tiny_cnn"
    assert [(op.name, op.kind) for op in net] == [
        ("conv1", OpKind.CONV2D),
        ("bn1", OpKind.NORM),
        ("relu1", OpKind.ACTIVATION),
        ("pool1", OpKind.POOL),
        ("conv2", OpKind.CONV2D),
        ("relu6", OpKind.ACTIVATION),
        ("gap", OpKind.POOL),
        ("flatten", OpKind.RESHAPE),
        ("fc", OpKind.LINEAR),
        ("prob", OpKind.SOFTMAX),
    ]
    assert net.inputs[0].shape == (1, 3, 32, 32)
    assert net["conv1"].output_shape == (1, 16, 16, 16)
    assert net["conv1"].attrs.stride == (2, 2) and net["conv1"].attrs.padding == (1, 1)
    assert net["conv1"].attrs.bias and not net["conv2"].attrs.bias
    assert net["bn1"].attrs.kind is NormKind.BATCH
    assert net["relu6"].attrs.function is Activation.RELU6
    assert net["pool1"].attrs.mode is PoolMode.MAX and net["pool1"].output_shape == (1, 16, 8, 8)
    assert net["gap"].attrs.mode is PoolMode.AVG and net["gap"].output_shape == (1, 32, 1, 1)
    assert net["flatten"].is_free
    assert net["fc"].weight_shape == (10, 32) and net["fc"].inputs == ("flatten",)  # dropout skipped
    assert net.outputs == ("prob",)
    assert net.macs == CNN_MACS == 405_824
    assert net.params == CNN_PARAMS == 5_418


def test_symbolic_batch_takes_the_batch_argument():
    net = load_onnx(cnn_model(), batch=4, name="cnn4")
    assert net.name == "cnn4"
    assert net.inputs[0].shape == (4, 3, 32, 32)
    assert net.macs == 4 * CNN_MACS
    assert net.params == CNN_PARAMS


def test_the_callers_model_is_not_modified():
    m = cnn_model()
    before = m.SerializeToString()
    load_onnx(m, batch=2)
    assert m.SerializeToString() == before


def test_load_from_a_file(tmp_path):
    path = tmp_path / "tiny.onnx"
    onnx.save(cnn_model(), path)
    net = load_onnx(path)
    assert net.macs == CNN_MACS
    assert str(path) in net.description and "opset 17" in net.description


def test_imported_network_round_trips_through_a_trace(tmp_path):
    net = load_onnx(cnn_model())
    trace.save(net, tmp_path / "cnn.yaml")
    assert trace.load(tmp_path / "cnn.yaml") == net


# --- a residual block ---------------------------------------------------------------------------


def residual_model() -> onnx.ModelProto:
    n = helper.make_node
    nodes = [
        n("Conv", ["x", "wa"], ["a"], name="conv_a", pads=[1, 1, 1, 1]),
        n("Relu", ["a"], ["ra"], name="relu_a"),
        n("Conv", ["ra", "wb"], ["b"], name="conv_b", auto_pad="SAME_UPPER", kernel_shape=[3, 3]),
        n("Add", ["b", "x"], ["sum"], name="residual"),
        n("Add", ["shift", "sum"], ["shifted"], name="bias_add"),  # constant first: still a weight
        n("Mul", ["shifted", "half"], ["scaled"], name=""),  # unnamed: Mul_5
        n("Identity", ["scaled"], ["same"]),
        n("Relu", ["same"], ["y"], name=""),  # unnamed: Relu_7
    ]
    inits = [
        weight("wa", 8, 8, 3, 3),
        weight("wb", 8, 8, 3, 3),
        weight("shift", 8, 1, 1),
        weight("half", value=np.array(0.5, np.float32)),
    ]
    return model(nodes, {"x": [1, 8, 16, 16]}, inits, outputs={"y": 4})


def test_residual_block():
    net = load_onnx(residual_model())
    assert [op.name for op in net] == ["conv_a", "relu_a", "conv_b", "residual", "bias_add", "Mul_5", "Relu_7"]
    assert net["conv_b"].attrs.padding == (1, 1)  # SAME_UPPER with a 3x3 kernel
    assert net["residual"].kind is OpKind.ADD and net["residual"].inputs == ("conv_b", "x")
    assert net["bias_add"].inputs == ("residual",) and net["bias_add"].weight_shape == (8, 1, 1)
    assert net["Mul_5"].kind is OpKind.MUL and net["Mul_5"].weight_shape == (1,)  # a scalar weight
    assert net["Relu_7"].inputs == ("Mul_5",)  # the Identity is rewired away
    assert net.macs == 2 * (8 * 16 * 16) * (8 * 3 * 3) == 294_912
    assert net.params == 2 * 8 * 8 * 9 + 8 + 1
    assert net.outputs == ("Relu_7",)


# --- a tiny attention block -------------------------------------------------------------------


def attention_model() -> onnx.ModelProto:
    n = helper.make_node
    heads = weight("heads", value=np.array([0, 8, 4, 8], np.int64))
    merged = weight("merged", value=np.array([0, 8, 32], np.int64))
    nodes = [
        n("LayerNormalization", ["x", "gamma", "beta"], ["ln"], name="ln", axis=-1),
        n("MatMul", ["ln", "wq"], ["q0"], name="q"),
        n("Add", ["q0", "bq"], ["q1"], name="q_bias"),
        n("MatMul", ["ln", "wk"], ["k0"], name="k"),
        n("MatMul", ["ln", "wv"], ["v0"], name="v"),
        n("Reshape", ["q1", "heads"], ["q2"], name="q_split"),
        n("Reshape", ["k0", "heads"], ["k2"], name="k_split"),
        n("Reshape", ["v0", "heads"], ["v2"], name="v_split"),
        n("Transpose", ["q2"], ["q3"], name="q_t", perm=[0, 2, 1, 3]),
        n("Transpose", ["k2"], ["k3"], name="k_t", perm=[0, 2, 3, 1]),
        n("Transpose", ["v2"], ["v3"], name="v_t", perm=[0, 2, 1, 3]),
        n("MatMul", ["q3", "k3"], ["s0"], name="scores"),
        n("Div", ["s0", "sqrt_d"], ["s1"], name="scale"),
        n("Softmax", ["s1"], ["p"], name="softmax", axis=-1),
        n("MatMul", ["p", "v3"], ["c0"], name="context"),
        n("Transpose", ["c0"], ["c1"], name="c_t", perm=[0, 2, 1, 3]),
        n("Reshape", ["c1", "merged"], ["c2"], name="c_merge"),
        n("MatMul", ["c2", "wo"], ["o"], name="out_proj"),
        n("Add", ["o", "x"], ["y"], name="residual"),
    ]
    inits = [
        weight("gamma", 32), weight("beta", 32), weight("wq", 32, 32), weight("bq", 32),
        weight("wk", 32, 32), weight("wv", 32, 32), weight("wo", 32, 32), heads, merged,
        weight("sqrt_d", value=np.array(8**0.5, np.float32)),
    ]  # fmt: skip
    return model(nodes, {"x": ["batch", 8, 32]}, inits, outputs={"y": 3})


def test_attention_block():
    net = load_onnx(attention_model())
    kinds = {op.name: op.kind for op in net}
    assert kinds["ln"] is OpKind.NORM and net["ln"].attrs.kind is NormKind.LAYER
    assert kinds["q"] is kinds["k"] is kinds["v"] is kinds["out_proj"] is OpKind.LINEAR
    # MatMul + Add of one constant per output is one linear with bias, as the zoo (and Hugging
    # Face's nn.Linear) count it: same MACs and parameters, one op fewer.
    assert net["q"].weight_shape == (32, 32) and net["q"].attrs.bias
    assert "q_bias" not in {op.name for op in net} and not net["k"].attrs.bias
    assert net["q_split"].kind is OpKind.RESHAPE and net["q_split"].output_shape == (1, 8, 4, 8)
    assert net["k_t"].kind is OpKind.TRANSPOSE and net["k_t"].attrs.copy
    assert net["k_t"].output_shape == (1, 4, 8, 8)
    assert net["scores"].kind is OpKind.MATMUL and net["scores"].inputs == ("q_t", "k_t")
    # The 1/sqrt(d) scale of the scores folds into W_q, as the zoo's transformers model it.
    assert "scale" not in {op.name for op in net} and net["softmax"].inputs == ("scores",)
    assert net["softmax"].attrs.axis == -1
    assert net["c_merge"].output_shape == (1, 8, 32)
    linear_macs = 4 * (8 * 32 * 32)
    attention_macs = 2 * (4 * 8 * 8 * 8)
    assert net.macs == linear_macs + attention_macs == 36_864
    assert net.params == 2 * 32 + 4 * 32 * 32 + 32 == 4_192
    assert net.outputs == ("residual",)


def test_gelu_and_hard_swish_and_sigmoid():
    n = helper.make_node
    nodes = [
        n("Gelu", ["x"], ["a"], name="gelu", approximate="tanh"),
        n("HardSwish", ["a"], ["b"], name="hswish"),
        n("Sigmoid", ["b"], ["y"], name="sigmoid"),
    ]
    net = load_onnx(model(nodes, {"x": [1, 4]}, outputs={"y": 2}, opset=20))
    assert [op.attrs.function for op in net] == [Activation.GELU, Activation.HARD_SWISH, Activation.SIGMOID]


def test_gemm_without_trans_b_and_concat_with_a_class_token():
    n = helper.make_node
    nodes = [
        n("Gemm", ["x", "w"], ["h"], name="fc"),  # B is (in, out) = (6, 4)
        n("Unsqueeze", ["h", "axes"], ["h3"], name="unsq"),
        n("Concat", ["cls", "h3"], ["y"], name="cat", axis=1),
    ]
    inits = [weight("w", 6, 4), weight("axes", value=np.array([1], np.int64)), weight("cls", 2, 1, 4)]
    net = load_onnx(model(nodes, {"x": [2, 6]}, inits, outputs={"y": 3}))
    assert net["fc"].weight_shape == (4, 6) and not net["fc"].attrs.bias
    assert net["unsq"].output_shape == (2, 1, 4)
    assert net["cat"].weight_shape == (2, 1, 4) and net["cat"].output_shape == (2, 2, 4)
    assert net.params == 24 + 8


def test_average_pool_and_same_padding():
    n = helper.make_node
    nodes = [n("AveragePool", ["x"], ["y"], name="avg", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])]
    op = load_onnx(model(nodes, {"x": [1, 2, 9, 9]}, outputs={"y": 4}))["avg"]
    assert op.attrs.mode is PoolMode.AVG and op.attrs.padding == (1, 1) and op.output_shape == (1, 2, 5, 5)


def test_old_opset_clip_attributes_softmax_axis_and_initializers_listed_as_inputs():
    n = helper.make_node
    nodes = [
        n("MatMul", ["x", "w"], ["h"], name="fc"),
        n("Clip", ["h"], ["c"], name="clip", min=0.0, max=6.0),  # bounds are attributes before opset 11
        n("Dropout", ["c"], ["d"], name="drop", ratio=0.1),
        n("Softmax", ["d"], ["y"], name="sm"),  # default axis 1 before opset 13
    ]
    graph = helper.make_graph(
        nodes,
        "old",
        [helper.make_tensor_value_info("x", F, ["N", 6]), helper.make_tensor_value_info("w", F, [6, 4])],
        [helper.make_tensor_value_info("y", F, [None, None])],
        initializer=[weight("w", 6, 4)],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)])
    onnx.checker.check_model(m)
    net = load_onnx(m, batch=3)
    assert [s.name for s in net.inputs] == ["x"] and net.inputs[0].shape == (3, 6)
    assert net["fc"].weight_shape == (4, 6)
    assert net["clip"].attrs.function is Activation.RELU6
    assert net["sm"].attrs.axis == 1 and net["sm"].inputs == ("clip",)
    assert net.macs == 3 * 4 * 6


def test_duplicate_and_clashing_names_get_suffixes():
    n = helper.make_node
    nodes = [n("Relu", ["x"], ["a"], name="x"), n("Relu", ["a"], ["y"], name="x")]
    net = load_onnx(model(nodes, {"x": [1, 4]}, outputs={"y": 2}))
    assert [op.name for op in net] == ["x_1", "x_2"]
    assert net["x_2"].inputs == ("x_1",)


# --- unsupported ops and errors -------------------------------------------------------------------


def test_all_unsupported_op_types_are_reported_at_once():
    n = helper.make_node
    nodes = [
        n("Relu", ["x"], ["r"], name="relu"),
        n("LSTM", ["r", "W", "R"], ["seq"], name="encoder_lstm", hidden_size=4),
        n("LSTM", ["r", "W", "R"], ["seq2"], name=""),
        n("NonMaxSuppression", ["boxes", "scores"], ["y"], name="nms"),
    ]
    inits = [weight("W", 1, 16, 4), weight("R", 1, 16, 4), weight("boxes", 1, 5, 4), weight("scores", 1, 1, 5)]
    m = model(nodes, {"x": [3, 1, 4]}, inits, outputs={"y": 2, "seq": 4, "seq2": 4})
    with pytest.raises(UnsupportedOpError) as info:
        load_onnx(m)
    message = str(info.value)
    assert "2 ONNX op type(s) not supported" in message
    assert "LSTM (nodes 'encoder_lstm', 'LSTM_2')" in message
    assert "NonMaxSuppression (node 'nms')" in message
    assert "Supported: Add, AveragePool" in message and "\n" not in message


def test_custom_domain_ops_are_unsupported():
    node = helper.make_node("FusedConv", ["x"], ["y"], name="fc", domain="com.microsoft")
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", F, [1, 4])], [helper.make_tensor_value_info("y", F, [None])]
    )
    m = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    )
    with pytest.raises(UnsupportedOpError, match=r"com\.microsoft\.FusedConv \(node 'fc'\)"):
        load_onnx(m)


def conv_model(**attrs) -> onnx.ModelProto:
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="stem", **attrs)
    return model([node], {"x": [1, 3, 8, 8]}, [weight("w", 4, 3, 3, 3)], outputs={"y": 4})


def test_asymmetric_pads_name_the_node():
    with pytest.raises(
        TraceError,
        match=r"^<onnx model 'g'>: node 'stem' \(Conv\): asymmetric pads \[0, 0, 1, 1\] \(begin \[0, 0\], end \[1, 1\]\)",
    ):
        load_onnx(conv_model(pads=[0, 0, 1, 1]))


def test_same_padding_that_needs_asymmetry_is_an_error():
    with pytest.raises(TraceError, match=r"node 'stem' \(Conv\): auto_pad SAME_UPPER needs asymmetric padding"):
        load_onnx(conv_model(auto_pad="SAME_UPPER", strides=[2, 2]))


def test_conv_with_a_computed_weight_is_an_error():
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="dyn")
    m = model([node], {"x": [1, 3, 8, 8], "w": [4, 3, 3, 3]}, outputs={"y": 4})
    with pytest.raises(TraceError, match=r"node 'dyn' \(Conv\): its weight W must be an initializer"):
        load_onnx(m)


def test_clip_other_than_relu_or_relu6_is_an_error():
    node = helper.make_node("Clip", ["x", "lo", "hi"], ["y"], name="clip")
    inits = [weight("lo", value=np.array(0.0, np.float32)), weight("hi", value=np.array(4.0, np.float32))]
    with pytest.raises(TraceError, match=r"node 'clip' \(Clip\): Clip\(min=0\.0, max=4\.0\) is neither relu"):
        load_onnx(model([node], {"x": [1, 4]}, inits, outputs={"y": 2}))


def test_layer_norm_over_several_axes_is_an_error():
    node = helper.make_node("LayerNormalization", ["x", "g"], ["y"], name="ln", axis=1)
    with pytest.raises(TraceError, match=r"node 'ln' \(LayerNormalization\): normalises over axes 1\.\.2"):
        load_onnx(model([node], {"x": [1, 4, 8]}, [weight("g", 4, 8)], outputs={"y": 3}))


def test_constant_left_matmul_operand_is_an_error():
    node = helper.make_node("MatMul", ["w", "x"], ["y"], name="wx")
    with pytest.raises(TraceError, match=r"node 'wx' \(MatMul\): a constant left operand"):
        load_onnx(model([node], {"x": [4, 2]}, [weight("w", 3, 4)], outputs={"y": 2}))


@pytest.mark.parametrize(("size", "kernel", "stride", "pads", "out"), [
    (7, 2, 2, 0, 4),  # ceil(5 / 2) + 1
    (55, 3, 2, 0, 27),  # SqueezeNet's pools: ceil and floor agree
    (56, 3, 2, 0, 28),
    (6, 3, 2, 1, 4),  # ceil(5 / 2) + 1 with padding
])
def test_ceil_mode_pool_gives_the_onnx_output_size(size, kernel, stride, pads, out):
    node = helper.make_node("MaxPool", ["x"], ["y"], name="mp", kernel_shape=[kernel] * 2,
                            strides=[stride] * 2, pads=[pads] * 4, ceil_mode=1)
    op = load_onnx(model([node], {"x": [1, 1, size, size]}, outputs={"y": 4}))["mp"]
    assert op.output_shape == (1, 1, out, out)  # checked against ONNX shape inference too
    assert op.vector_ops == out * out * kernel * kernel


def test_reading_a_dropout_mask_is_an_error():
    n = helper.make_node
    nodes = [n("Dropout", ["x"], ["d", "mask"], name="drop"), n("Mul", ["d", "mask"], ["y"], name="use_mask")]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", F, [1, 4])],
        [helper.make_tensor_value_info("y", F, [None, None])],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(TraceError, match=r"node 'use_mask' \(Mul\): reads output 'mask' of Dropout node 'drop'"):
        load_onnx(m)


def test_a_dropout_mask_as_graph_output_is_an_error():
    node = helper.make_node("Dropout", ["x"], ["d", "mask"], name="drop")
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", F, [1, 4])],
        [helper.make_tensor_value_info("mask", TensorProto.BOOL, [None, None])],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(TraceError, match=r"graph output 'mask': reads output 'mask' of Dropout node 'drop'"):
        load_onnx(m)


def test_nodes_out_of_order_are_an_error():
    n = helper.make_node
    nodes = [n("Relu", ["a"], ["y"], name="second"), n("Relu", ["x"], ["a"], name="first")]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", F, [1, 4])], [helper.make_tensor_value_info("y", F, [1, 4])]
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(TraceError, match=r"node 'second' \(Relu\): reads tensor 'a', which no earlier node produces"):
        load_onnx(m)


def test_symbolic_dims_other_than_batch_are_an_error():
    node = helper.make_node("Relu", ["x"], ["y"], name="r")
    with pytest.raises(TraceError, match=r"input 'x': dim 1 is symbolic \('seq'\); only the batch dim"):
        load_onnx(model([node], {"x": ["N", "seq", 4]}, outputs={"y": 3}))


def test_batch_cannot_override_a_fixed_batch_dim():
    node = helper.make_node("Relu", ["x"], ["y"], name="r")
    with pytest.raises(TraceError, match=r"input 'x': the batch dim is fixed at 1, so batch=8 cannot apply"):
        load_onnx(model([node], {"x": [1, 4]}, outputs={"y": 2}), batch=8)
    assert load_onnx(model([node], {"x": [1, 4]}, outputs={"y": 2}), batch=1).inputs[0].shape == (1, 4)


@pytest.mark.parametrize("batch", [0, -1, 2.0, True])
def test_bad_batch_argument(batch):
    with pytest.raises(TraceError, match=r"'batch' must be a positive int"):
        load_onnx(cnn_model(), batch=batch)


def test_missing_and_garbage_files(tmp_path):
    with pytest.raises(TraceError, match=r"nope\.onnx: no such ONNX file"):
        load_onnx(tmp_path / "nope.onnx")
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\xff\x00not a protobuf\x12\x99")
    with pytest.raises(TraceError, match=r"garbage\.onnx: not a valid ONNX model"):
        load_onnx(garbage)
    with pytest.raises(TraceError, match=r"expected a file path or an onnx\.ModelProto, got GraphProto"):
        load_onnx(cnn_model().graph)


def test_missing_onnx_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # makes `import onnx` raise ImportError
    with pytest.raises(TraceError, match=r"pip install edgesim\[onnx\]"):
        load_onnx("model.onnx")


def test_supported_op_types_are_listed():
    assert {"Conv", "Gemm", "MatMul", "Softmax", "LayerNormalization", "Identity"} <= set(SUPPORTED_OP_TYPES)
