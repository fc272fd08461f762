"""ONNX converters added for real exports, each on a small hand-built graph with hand-computed
MACs and parameters: packed q/k/v projections split by Split, Slice or Gather (timm's and
torch's layouts), Einsum, ReduceMean, HardSigmoid and Tanh, Erf GELU, decomposed layer norm,
external weight data, and the file stem as the name of a torch export."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from workloads import Activation, NormKind, OpKind, SparsityScheme, TraceError  # noqa: E402
from workloads.onnx_import import load_onnx  # noqa: E402

F = TensorProto.FLOAT
n = helper.make_node


def ints(name, values):
    return numpy_helper.from_array(np.asarray(values, np.int64), name)


def floats(name, *shape, value=None):
    array = np.full(shape, 0.5, np.float32) if value is None else np.asarray(value, np.float32)
    return numpy_helper.from_array(array, name)


def build(nodes, inputs, inits, outputs, opset=17, name="g"):
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info(k, F, v) for k, v in inputs.items()],
        [helper.make_tensor_value_info(o, F, None) for o in outputs], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


L, D, H = 8, 16, 2
D_HEAD = D // H


def packed_attention(split: str) -> onnx.ModelProto:
    """qkv = x @ W (D -> 3D) + b, reshaped (N, L, 3, H, d), permuted to (3, N, H, L, d) as timm
    does, then split into q, k, v by `split` ('Split', 'Slice' or 'Gather'); softmax(q k^T) v."""
    nodes = [
        n("MatMul", ["x", "w_qkv"], ["qkv0"], name="qkv"),
        n("Add", ["qkv0", "b_qkv"], ["qkv1"], name="qkv_bias"),
        n("Reshape", ["qkv1", "split_shape"], ["qkv2"], name="view"),
        n("Transpose", ["qkv2"], ["qkv3"], name="permute", perm=[2, 0, 3, 1, 4]),
    ]
    inits = [floats("w_qkv", D, 3 * D), floats("b_qkv", 3 * D), ints("split_shape", [0, L, 3, H, D_HEAD])]
    if split == "Split":
        nodes.append(n("Split", ["qkv3", "sizes"], ["q4", "k4", "v4"], name="unbind", axis=0))
        inits.append(ints("sizes", [1, 1, 1]))
        for t in "qkv":
            nodes.append(n("Squeeze", [f"{t}4", "zero"], [t], name=f"{t}_squeeze"))
        inits.append(ints("zero", [0]))
    elif split == "Slice":
        for i, t in enumerate("qkv"):
            nodes.append(n("Slice", ["qkv3", f"s{i}", f"e{i}", "zero"], [f"{t}4"], name=f"{t}_slice"))
            nodes.append(n("Squeeze", [f"{t}4", "zero"], [t], name=f"{t}_squeeze"))
            inits += [ints(f"s{i}", [i]), ints(f"e{i}", [i + 1])]
        inits.append(ints("zero", [0]))
    else:
        for i, t in enumerate("qkv"):
            nodes.append(n("Gather", ["qkv3", f"i{i}"], [t], name=f"{t}_select", axis=0))
            inits.append(ints(f"i{i}", i))
    nodes += [
        n("Transpose", ["k"], ["kt"], name="k_t", perm=[0, 1, 3, 2]),
        n("MatMul", ["q", "kt"], ["s"], name="scores"),
        n("Softmax", ["s"], ["p"], name="softmax", axis=-1),
        n("MatMul", ["p", "v"], ["y"], name="context"),
    ]
    return build(nodes, {"x": ["N", L, D]}, inits, ["y"])


@pytest.mark.parametrize("split", ["Split", "Slice", "Gather"])
def test_a_packed_qkv_projection_becomes_three_linears(split):
    net = load_onnx(packed_attention(split), batch=2)
    linears = [op for op in net.ops if op.kind is OpKind.LINEAR]
    assert [op.name for op in linears] == ["qkv.part0", "qkv.part1", "qkv.part2"]
    assert all(op.weight_shape == (D, D) and op.attrs.bias for op in linears)
    assert not any(op.name in ("qkv", "permute") for op in net.ops)  # the packed one is gone
    # Each part is (N, L, D) -> free view (N, L, H, d) -> copying transpose to (N, H, L, d).
    q_view = net.consumers["qkv.part0"]
    assert len(q_view) == 1 and net[q_view[0]].kind is OpKind.RESHAPE
    assert net[net.consumers[q_view[0]][0]].attrs.perm == (0, 2, 1, 3)
    assert net["scores"].input_shapes[0] == (2, H, L, D_HEAD)
    linear_macs = 3 * 2 * L * D * D
    attention_macs = 2 * (2 * H * L * L * D_HEAD)
    assert net.macs == linear_macs + attention_macs
    assert net.params == 3 * D * D + 3 * D


def test_a_slice_of_a_conv_output_is_refused_naming_the_node():
    nodes = [
        n("Conv", ["x", "w"], ["c"], name="conv"),
        n("Slice", ["c", "s", "e", "ax"], ["y"], name="crop"),
    ]
    inits = [floats("w", 4, 2, 1, 1), ints("s", [0]), ints("e", [2]), ints("ax", [1])]
    with pytest.raises(TraceError, match=r"node 'crop' \(Slice\): takes part of tensor 'conv'"):
        load_onnx(build(nodes, {"x": [1, 2, 4, 4]}, inits, ["y"]))


def test_einsum_as_matmul_linear_and_transposed_matmul():
    nodes = [
        n("Einsum", ["x", "w"], ["h"], name="proj", equation="bld,de->ble"),
        n("Einsum", ["h", "h"], ["s"], name="scores", equation="bqd,bkd->bqk"),
        n("Einsum", ["s", "h"], ["y"], name="context", equation="bqk,bkd->bqd"),
    ]
    net = load_onnx(build(nodes, {"x": [2, L, D]}, [floats("w", D, 4)], ["y"]))
    assert net["proj"].kind is OpKind.LINEAR and net["proj"].weight_shape == (4, D)
    assert net["scores.transpose"].attrs.perm == (0, 2, 1)  # k^T before the matmul
    assert net["scores"].kind is net["context"].kind is OpKind.MATMUL
    assert net.macs == 2 * L * D * 4 + 2 * L * L * 4 + 2 * L * L * 4
    bad = [n("Einsum", ["x", "x"], ["y"], name="outer", equation="bld,bke->bldke")]
    with pytest.raises(TraceError, match=r"node 'outer' \(Einsum\): equation 'bld,bke->bldke'"):
        load_onnx(build(bad, {"x": [2, L, D]}, [], ["y"]))


def test_reduce_mean_pool_hard_sigmoid_and_tanh():
    # MobileNetV3's squeeze-excite as the dynamo exporter writes it, then a tanh.
    nodes = [
        n("ReduceMean", ["x", "axes"], ["m"], name="se_pool", keepdims=1),
        n("Conv", ["m", "w"], ["c"], name="se_fc"),
        n("HardSigmoid", ["c"], ["g"], name="se_gate", alpha=1 / 6, beta=0.5),
        n("Mul", ["x", "g"], ["s"], name="se_scale"),
        n("ReduceMean", ["s", "axes"], ["v"], name="pool", keepdims=0),
        n("Tanh", ["v"], ["y"], name="tanh"),
    ]
    inits = [ints("axes", [2, 3]), floats("w", 8, 8, 1, 1)]
    net = load_onnx(build(nodes, {"x": [1, 8, 4, 4]}, inits, ["y"], opset=18))
    assert net["se_pool"].kind is OpKind.POOL and net["se_pool"].output_shape == (1, 8, 1, 1)
    assert net["se_gate"].attrs.function is Activation.SIGMOID
    assert net["pool.squeeze"].output_shape == (1, 8) and net["pool.squeeze"].is_free
    assert net["tanh"].attrs.function is Activation.SIGMOID
    assert net["se_scale"].inputs == ("x", "se_gate")
    assert net.macs == 8 * 8 and net.params == 64


def test_erf_gelu_and_decomposed_layer_norm_are_one_op_each():
    c = lambda name, v: floats(name, value=v)  # noqa: E731
    nodes = [
        n("ReduceMean", ["x"], ["mu"], name="ln", axes=[-1]),
        n("Sub", ["x", "mu"], ["d"]), n("Pow", ["d", "two"], ["d2"]),
        n("ReduceMean", ["d2"], ["var"], axes=[-1]), n("Add", ["var", "eps"], ["ve"]),
        n("Sqrt", ["ve"], ["sd"]), n("Div", ["d", "sd"], ["z"]),
        n("Mul", ["z", "gamma"], ["zg"]), n("Add", ["zg", "beta"], ["ln_out"]),
        n("Div", ["ln_out", "sqrt2"], ["u"], name="gelu"), n("Erf", ["u"], ["e"]),
        n("Add", ["e", "one"], ["e1"]), n("Mul", ["ln_out", "half"], ["hx"]),
        n("Mul", ["hx", "e1"], ["y"]),  # Hugging Face's order: (0.5 * x) * (1 + erf)
    ]
    inits = [c("two", 2.0), c("eps", 1e-5), floats("gamma", D), floats("beta", D),
             c("sqrt2", 2 ** 0.5), c("one", 1.0), c("half", 0.5)]
    net = load_onnx(build(nodes, {"x": [1, L, D]}, inits, ["y"], opset=13))
    assert [(op.name, op.kind) for op in net] == [("ln", OpKind.NORM), ("gelu", OpKind.ACTIVATION)]
    assert net["ln"].attrs.kind is NormKind.LAYER and net["gelu"].attrs.function is Activation.GELU
    assert net.params == 2 * D


def test_external_weight_data_is_read_for_detection(tmp_path):
    w = np.random.default_rng(0).random((64, 64)).astype(np.float32) + 0.5
    w[:, 32:] = 0  # half of the input columns: block (64 x 32 tiles fit; the largest tried is 64)
    nodes = [n("MatMul", ["x", "w"], ["y"], name="fc")]
    model = build(nodes, {"x": [1, 64]}, [numpy_helper.from_array(w.T.copy(), "w")], ["y"])
    path = tmp_path / "model.onnx"
    onnx.save(model, path, save_as_external_data=True, location="model.onnx.data",
              size_threshold=0)
    assert (tmp_path / "model.onnx.data").exists()
    comp = load_onnx(path)["fc"].compression
    assert comp.sparsity is SparsityScheme.BLOCK and comp.sparsity_ratio == 0.5
    assert comp.block_shape == (64, 32)
    (tmp_path / "model.onnx.data").unlink()
    assert load_onnx(path, read_weights=False).macs == 64 * 64  # shapes alone need no data
    with pytest.raises(TraceError, match=r"model\.onnx: op 'fc': cannot read the values of "
                                         r"initializer 'w'"):
        load_onnx(path)


def test_torch_exports_are_named_by_their_file(tmp_path):
    path = tmp_path / "resnet_custom.onnx"
    onnx.save(build([n("Relu", ["x"], ["y"], name="r")], {"x": [1, 4]}, [], ["y"],
                    name="main_graph"), path)
    assert load_onnx(path).name == "resnet_custom"
    assert load_onnx(path, name="mine").name == "mine"


def test_gated_activations_are_silu_and_hard_swish():
    # EfficientNet's SiLU and an older MobileNetV3 export's hard swish, each spelt as x * gate(x).
    nodes = [
        n("Sigmoid", ["x"], ["sx"], name="silu"), n("Mul", ["x", "sx"], ["a"]),
        n("HardSigmoid", ["a"], ["ha"], name="hswish", alpha=1 / 6, beta=0.5),
        n("Mul", ["ha", "a"], ["b"]),
        n("HardSigmoid", ["b"], ["y"], name="gate"),  # alpha 0.2: a plain hard sigmoid
    ]
    net = load_onnx(build(nodes, {"x": [1, 8]}, [], ["y"]))
    assert [(op.name, op.attrs.function) for op in net] == [
        ("silu", Activation.SILU), ("hswish", Activation.HARD_SWISH), ("gate", Activation.SIGMOID)]
