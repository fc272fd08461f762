"""Fuzz tests (hypothesis) of the trace and ONNX loaders (issue 13).

Every input either loads or raises a typed `EdgesimError` whose message is one line; none may
take more than a couple of seconds. Example counts and deadlines are bounded so the whole file
runs in a few seconds; `derandomize=True` keeps runs reproducible.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workloads import EdgesimError, NetworkBuilder, trace

FUZZ = settings(max_examples=60, deadline=2000, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def seed_network():
    b = NetworkBuilder("fuzz")
    x = b.input("image", (1, 3, 16, 16))
    x = b.act(b.norm(b.conv2d(x, 8, 3, padding=1, name="conv"), "batch", name="bn"), "relu", name="relu")
    x = b.global_pool(x, name="gap")
    b.linear(b.reshape(x, (1, 8), name="flat"), 4, name="fc")
    return b.build().pruned("block", 0.5, block_shape=(4, 4)).quantized("fixed", weight_bits=8).fused()


SEED_JSON = trace.dumps(seed_network(), "json")
SEED_YAML = trace.dumps(seed_network(), "yaml")
SEED = json.loads(SEED_JSON)


def loads_or_typed_error(text: str, fmt: str) -> None:
    try:
        trace.loads(text, fmt, source="fuzz")
    except EdgesimError as err:
        assert "\n" not in str(err), str(err)


def _paths(node, prefix=()):
    """Every path to a value in a JSON tree (dict keys and list indices)."""
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


PATHS = [p for p in _paths(SEED) if p]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=10,
)


@FUZZ
@given(path=st.sampled_from(PATHS), value=json_values)
def test_trace_with_one_field_replaced(path, value):
    data = json.loads(SEED_JSON)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    loads_or_typed_error(json.dumps(data), "json")


@FUZZ
@given(path=st.sampled_from(PATHS))
def test_trace_with_one_field_removed(path):
    data = json.loads(SEED_JSON)
    node = data
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    loads_or_typed_error(json.dumps(data), "json")


def _flip(text: str, edits) -> str:
    raw = bytearray(text.encode("utf-8"))
    for pos, byte in edits:
        raw[pos % len(raw)] = byte
    return raw.decode("utf-8", errors="replace")


edits = st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)),
                 min_size=1, max_size=8)


@FUZZ
@given(edits=edits)
def test_json_trace_with_flipped_bytes(edits):
    loads_or_typed_error(_flip(SEED_JSON, edits), "json")


@FUZZ
@given(edits=edits)
def test_yaml_trace_with_flipped_bytes(edits):
    loads_or_typed_error(_flip(SEED_YAML, edits), "yaml")


@FUZZ
@given(text=st.text(max_size=300))
def test_arbitrary_text_as_a_trace(text):
    loads_or_typed_error(text, "json")
    loads_or_typed_error(text, "yaml")


# --- ONNX: byte flips of a small model -------------------------------------------------------

onnx = pytest.importorskip("onnx")


def small_onnx_bytes() -> bytes:
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    n = helper.make_node
    nodes = [n("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             n("Relu", ["c"], ["r"], name="relu"),
             n("GlobalAveragePool", ["r"], ["g"], name="gap"),
             n("Flatten", ["g"], ["f"], name="flat"),
             n("Gemm", ["f", "wfc"], ["y"], name="fc", transB=1)]
    graph = helper.make_graph(
        nodes, "fuzz",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        initializer=[numpy_helper.from_array(np.zeros((4, 3, 3, 3), np.float32), "w"),
                     numpy_helper.from_array(np.zeros((4, 4), np.float32), "wfc")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return model.SerializeToString()


ONNX_BYTES = small_onnx_bytes()


def test_the_unflipped_model_loads(tmp_path):
    from workloads.onnx_import import load_onnx

    path = tmp_path / "m.onnx"
    path.write_bytes(ONNX_BYTES)
    assert [op.name for op in load_onnx(path).ops][:2] == ["conv", "relu"]


@settings(max_examples=80, deadline=2000, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(edits=edits)
def test_onnx_with_flipped_bytes(tmp_path, edits):
    from workloads.onnx_import import load_onnx

    raw = bytearray(ONNX_BYTES)
    for pos, byte in edits:
        raw[pos % len(raw)] = byte
    path = tmp_path / "m.onnx"
    path.write_bytes(bytes(raw))
    try:
        load_onnx(path)
    except EdgesimError as err:
        assert "\n" not in str(err), str(err)
