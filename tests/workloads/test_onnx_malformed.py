"""Malformed ONNX: every case is one TraceError line naming the node (a missing attribute or
input, a bad permutation), or the file (a byte-flipped file whose protobuf does not parse); a
byte flip anywhere in a small model's file never raises anything else."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from tests.workloads.test_onnx_full_size import Graph  # noqa: E402
from workloads import EdgesimError, TraceError  # noqa: E402
from workloads.onnx_import import load_onnx  # noqa: E402

F = TensorProto.FLOAT
n = helper.make_node


def one_node(node, inits=(), shape=(1, 4, 8, 8)) -> onnx.ModelProto:
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", F, list(shape))],
                              [helper.make_tensor_value_info("y", F, None)],
                              initializer=list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


W = numpy_helper.from_array(np.ones((4, 4, 3, 3), np.float32), "w")

CASES = [
    (n("MaxPool", ["x"], ["y"], name="pool"), r"node 'pool' \(MaxPool\): missing required attribute 'kernel_shape'"),
    (n("Concat", ["x", "x"], ["y"], name="cat"), r"node 'cat' \(Concat\): missing required attribute 'axis'"),
    (n("Einsum", ["x", "x"], ["y"], name="es"), r"node 'es' \(Einsum\): missing required attribute 'equation'"),
    (n("Conv", ["x"], ["y"], name="conv"), r"node 'conv' \(Conv\): missing required input\(s\): needs X and W"),
    (n("Conv", ["x", ""], ["y"], name="conv"), r"node 'conv' \(Conv\): missing required input\(s\)"),
    (n("Gather", ["x"], ["y"], name="ga"), r"node 'ga' \(Gather\): missing required input\(s\)"),
    (n("BatchNormalization", ["x", "w"], ["y"], name="bn"), r"node 'bn' \(BatchNormalization\): missing required input\(s\)"),
    (n("Reshape", ["x"], ["y"], name="rs"), r"node 'rs' \(Reshape\): Input 1 is out of bounds\. \(ONNX shape inference\)"),
    (n("Relu", [], ["y"], name="relu"), r"node 'relu' \(Relu\): Input 0 is out of bounds"),
    (n("Transpose", ["x"], ["y"], name="tr", perm=[0, 0, 1, 2]),
     r"node 'tr' \(Transpose\): perm \[0, 0, 1, 2\] is not a permutation of the 4 axes"),
    (n("Transpose", ["x"], ["y"], name="tr", perm=[0, 1]), r"node 'tr' \(Transpose\): perm \[0, 1\] is not a permutation"),
]


@pytest.mark.parametrize(("node", "message"), CASES, ids=[c[1][:40] for c in CASES])
def test_malformed_nodes_name_the_node(node, message):
    with pytest.raises(TraceError, match=message) as info:
        load_onnx(one_node(node, [W]))
    assert "\n" not in str(info.value)


def small_model_bytes() -> bytes:
    """A small model using most of the importer's paths (folds, patterns, views, a gather)."""
    g = Graph()
    x = g.node("Relu", [g.conv_bn("image", 3, 4, 3, 2)])
    x = g.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)
    h = g.node("Transpose", [g.node("Reshape", [x, g.const([0, 4, -1])])], perm=[0, 2, 1])
    h = g.gelu_erf(g.linear(g.layer_norm_decomposed(h, 4), 4, 8))
    y = g.node("Softmax", [g.node("Gather", [h, g.const(0)], axis=1)], axis=-1)
    m = g.model({"image": ["batch", 3, 16, 16]}, [y], opset=13)
    for t in m.graph.initializer:  # inline values instead of external references
        if t.data_location == TensorProto.EXTERNAL:
            t.data_location = TensorProto.DEFAULT
            del t.external_data[:]
            t.raw_data = np.full(tuple(t.dims), 0.5, np.float32).tobytes()
    return m.SerializeToString()


def test_byte_flipped_files_fail_as_one_line_or_load(tmp_path):
    data = small_model_bytes()
    path = tmp_path / "flipped.onnx"
    path.write_bytes(data)
    assert load_onnx(path).macs > 0
    # 250 of the ~2400 positions, fixed by the seed (every position passed when last checked).
    positions = np.random.default_rng(0).choice(len(data), 250, replace=False)
    failed = 0
    for pos in positions:
        flipped = bytearray(data)
        flipped[pos] ^= 0xFF
        path.write_bytes(bytes(flipped))
        try:
            load_onnx(path)
        except EdgesimError as err:
            failed += 1
            assert "\n" not in str(err) and str(path) in str(err)
    assert failed > 60  # most flips break the file


def test_a_truncated_file_names_the_file(tmp_path):
    path = tmp_path / "cut.onnx"
    path.write_bytes(small_model_bytes()[:300])
    with pytest.raises(TraceError, match=r"cut\.onnx: "):
        load_onnx(path)
