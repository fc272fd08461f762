"""Regression tests for issue 13: traces and ops refuse what a user could use to crash, hang or
forge output, each with a typed error naming the bound."""

from __future__ import annotations

import json
import time

import pytest

from workloads import GraphError, NetworkBuilder, Op, ShapeError, SpecError, TraceError, trace
from workloads.network import TensorSpec
from workloads.ops import MAX_DIM, MAX_TENSOR_ELEMENTS, count_text


def small_trace() -> dict:
    b = NetworkBuilder("t")
    x = b.input("x", (1, 8))
    b.act(b.linear(x, 8, name="fc"), "relu", name="relu")
    return json.loads(trace.dumps(b.build().fused(), "json"))


def test_deep_json_nesting_is_refused_fast():
    text = '{"format_version": 1, "name": "x", "attrs": ' + "[" * 100_000 + "]" * 100_000 + "}"
    t0 = time.perf_counter()
    with pytest.raises(TraceError, match="nested deeper than MAX_JSON_NESTING = 64"):
        trace.loads(text, "json", source="deep.json")
    assert time.perf_counter() - t0 < 2.0


def test_brackets_inside_strings_do_not_count_as_nesting():
    data = small_trace()
    data["description"] = "[" * 500
    assert trace.loads(json.dumps(data), "json").name == data["name"]


def test_a_4301_digit_integer_is_a_trace_error():
    with pytest.raises(TraceError, match="invalid JSON: Exceeds the limit"):
        trace.loads('{"format_version": 1' + "0" * 5000 + "}", "json")


@pytest.mark.parametrize("shape, message", [
    ([2**1100], "a dimension is over MAX_DIM = 2147483647 \\(got ~1e331\\)"),
    ([2**31], "over MAX_DIM"),
])
def test_absurd_input_shapes_are_refused(shape, message):
    data = small_trace()
    data["inputs"][0]["shape"] = shape
    with pytest.raises(TraceError, match=message):
        trace.loads(json.dumps(data), "json")


def test_tensor_bounds_in_python():
    with pytest.raises(ShapeError, match="MAX_TENSOR_ELEMENTS"):
        TensorSpec("x", (2**20, 2**21))
    with pytest.raises(ShapeError, match="MAX_DIM"):
        TensorSpec("x", (2**1100,))
    assert count_text(2**1100) == "~1e331" and count_text(1234) == "1.23e+03"
    assert MAX_TENSOR_ELEMENTS == 2**40 and MAX_DIM == 2**31 - 1


def test_op_names_with_newlines_are_refused():
    data = small_trace()
    data["ops"][0]["name"] = "fc\nedgesim: error: forged"
    with pytest.raises(TraceError, match="names must be printable"):
        trace.loads(json.dumps(data), "json")
    with pytest.raises(SpecError, match="names must be printable"):
        Op(name="a\rb", kind="activation", inputs=("x",),
           input_shapes=((1, 4),), output_shape=(1, 4))
    with pytest.raises(GraphError, match="names must be non-empty printable"):
        TensorSpec("x\n", (1, 4))


def test_fused_members_may_read_only_earlier_members_or_the_fused_inputs():
    data = small_trace()
    (fused,) = [op for op in data["ops"] if op["kind"] == "fused"]
    member = fused["members"][1]
    member["inputs"] = ["ghost"]  # a tensor the network does not have
    with pytest.raises(TraceError, match="reads 'ghost', which is neither an earlier member nor"):
        trace.loads(json.dumps(data), "json")


def test_fused_members_reading_a_later_member_are_refused():
    data = small_trace()
    (fused,) = [op for op in data["ops"] if op["kind"] == "fused"]
    first, second = fused["members"]
    first["inputs"] = [second["name"]]
    with pytest.raises(TraceError, match="a later member"):
        trace.loads(json.dumps(data), "json")


def test_oversized_trace_files_are_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.json"
    path.write_text(json.dumps(small_trace()))
    monkeypatch.setattr(trace, "MAX_TRACE_BYTES", 10)
    with pytest.raises(TraceError, match="more than MAX_TRACE_BYTES = 10"):
        trace.load(path)
