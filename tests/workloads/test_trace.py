"""Trace files: lossless round trips (every kind, every compression, fused ops) and a strict loader
whose every error names the file, the op and the field."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workloads import (
    Compression,
    Network,
    NetworkBuilder,
    OpKind,
    QuantScheme,
    SparsityScheme,
    SpecError,
    TraceError,
)
from workloads import trace, trace_schema
from workloads.ops import (
    Conv2dAttrs,
    NeighbourAttrs,
    ScatterAttrs,
    SparseConv3dAttrs,
)

HYPOTHESIS = settings(
    derandomize=True,  # deterministic: the same examples on every run
    database=None,  # and nothing written outside tmp_path
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# --- small hand-built networks that together use every op kind ----------------------------------


def cnn() -> Network:
    b = NetworkBuilder("cnn", description="every image kind")
    x = b.input("x", (1, 3, 32, 32))
    c1 = b.conv2d(x, 16, 3, stride=2, padding=1, bias=True, name="conv1")
    r = b.act(b.norm(c1, "batch", name="bn1"), "relu6", name="relu1")
    dw = b.conv2d(r, 16, 3, padding=1, groups=16, name="dw")
    pw = b.conv2d(dw, 16, 1, name="pw")
    res = b.add(pw, r, name="res")
    mp = b.pool(res, "max", 2, name="maxpool")
    dil = b.conv2d(mp, 16, 3, padding=2, dilation=2, name="dilated")
    relu2 = b.act(b.norm(dil, "batch", name="bn2"), "relu", name="relu2")
    conv3 = b.conv2d(relu2, 16, 1, name="conv3")  # makes 'dilated' channel-prunable
    scaled = b.mul(conv3, weight_shape=(16, 1, 1), name="scale")
    up = b.upsample(scaled, 2, mode="bilinear", name="up")
    ps = b.pixel_shuffle(up, 2, name="shuffle")
    cat = b.concat([ps, x], axis=1, name="cat")
    ap = b.pool(cat, "avg", 3, stride=2, padding=1, name="avgpool")
    gp = b.global_pool(ap, name="gap")
    flat = b.reshape(gp, (1, 7), name="flatten")
    fc = b.linear(flat, 10, name="fc")
    return b.build([b.softmax(fc, name="prob")])


def transformer() -> Network:
    b = NetworkBuilder("transformer")
    ids = b.input("ids", (1, 8))
    emb = b.embedding(ids, 100, 32, name="embed")
    pos = b.add(emb, weight_shape=(8, 32), name="pos")
    tokens = b.concat([pos], axis=1, weight_shape=(1, 1, 32), name="cls")
    ln = b.norm(tokens, "layer", name="ln1")

    def heads(t: str, name: str, perm) -> str:
        return b.transpose(b.reshape(t, (1, 9, 4, 8), name=f"{name}_split"), perm, name=f"{name}_t")

    q = heads(b.linear(ln, 32, name="q"), "q", (0, 2, 1, 3))
    k = heads(b.linear(ln, 32, bias=False, name="k"), "k", (0, 2, 3, 1))
    v = heads(b.linear(ln, 32, name="v"), "v", (0, 2, 1, 3))
    att = b.softmax(b.matmul(q, k, name="qk"), axis=-1, name="att")
    ctx = b.transpose(b.matmul(att, v, name="av"), (0, 2, 1, 3), copy=False, name="ctx_t")
    merged = b.reshape(ctx, (1, 9, 32), copy=True, name="merge")
    res = b.add(b.linear(merged, 32, name="proj"), tokens, name="res1")
    h = b.linear(b.norm(res, "layer", name="ln2"), 64, name="fc1")
    for fn in ("gelu", "silu", "hard_swish", "sigmoid"):
        h = b.act(h, fn, name=fn)
    out = b.add(b.linear(h, 32, name="fc2"), res, name="res2")
    return b.build([b.mul(out, weight_shape=(32,), name="gamma")])


def point_cloud() -> Network:
    b = NetworkBuilder("pointnet")
    pts = b.input("points", (1024, 3))
    feats = b.input("feats", (1024, 16))
    vox = b.input("voxel_idx", (256,))
    centres = b.op(OpKind.FPS, [pts], output_shape=(256, 3), name="fps")
    knn = b.op(OpKind.KNN, [centres, pts], NeighbourAttrs(k=16), output_shape=(256, 16), name="knn")
    b.op(
        OpKind.BALL_QUERY,
        [centres, pts],
        NeighbourAttrs(k=32, radius=0.2, n_found=5000),
        output_shape=(256, 32),
        name="ball",
    )
    grouped = b.op(OpKind.GATHER, [feats, knn], name="group")
    values = b.linear(b.reshape(grouped, (256, 256), name="flat"), 16, name="mlp")
    scattered = b.op(
        OpKind.SCATTER, [values, vox], ScatterAttrs(reduce="max"), output_shape=(1024, 16), name="scatter"
    )
    conv = b.op(
        OpKind.SPARSE_CONV3D,
        [scattered],
        SparseConv3dAttrs(kernel_volume=27, n_pairs=4000, stride=2),
        weight_shape=(27, 16, 32),
        output_shape=(1024, 32),
        name="spconv",
    )
    return b.build([conv, "ball"])


def tiny() -> Network:
    b = NetworkBuilder("tiny")
    x = b.input("x", (1, 3, 8, 8))
    c = b.conv2d(x, 8, 3, padding=1, name="conv0")
    return b.build([b.act(c, "relu", name="relu0")])


NETWORKS = {
    "cnn": cnn,
    "transformer": transformer,
    "point_cloud": point_cloud,
    "fused": lambda: cnn().fused(),
    "fused_transformer": lambda: transformer().fused(),
    "pattern_mixed": lambda: cnn().pruned("pattern", 0.5).quantized("mixed", weight_bits=8, pot_ratio=0.5),
    "block_multi_precision": lambda: transformer()
    .pruned("block", 0.75, block_shape=(4, 8))
    .quantized("multi_precision", weight_bits=4, high_bits=8, high_ratio=0.25),
    "channel_fixed_fused": lambda: cnn().pruned("channel", 0.5).quantized("fixed", weight_bits=6).fused(),
    "fp16": lambda: transformer().quantized("float16"),
    "unstructured_pot": lambda: point_cloud().pruned("unstructured", 0.9).quantized("power_of_two", weight_bits=4),
    "n_m": lambda: _with_n_m(cnn()),
}


def _with_n_m(network):
    """N:M sparsity comes only from ONNX weights: set it on the first conv by hand."""
    conv = next(op for op in network if op.kind is OpKind.CONV2D)
    comp = Compression(sparsity="n_m", sparsity_ratio=0.5, n_m=(2, 4))
    return Network(name=network.name, inputs=network.inputs, outputs=network.outputs,
                   ops=[op.replace(compression=comp) if op is conv else op for op in network])


def test_hand_built_networks_cover_every_kind():
    kinds = {m.kind for make in NETWORKS.values() for op in make() for m in (op, *op.members)}
    assert kinds == set(OpKind)


def test_hand_built_networks_cover_every_compression_scheme():
    comps = [m.compression for make in NETWORKS.values() for op in make() for m in (op, *op.members)]
    assert {c.sparsity for c in comps} == set(SparsityScheme)
    assert {c.quant for c in comps} == set(QuantScheme)


# --- lossless round trips -------------------------------------------------------------------------


@pytest.mark.parametrize("make", NETWORKS.values(), ids=NETWORKS.keys())
def test_dict_round_trip_is_lossless(make):
    network = make()
    data = trace.to_dict(network)
    assert trace.from_dict(data) == network
    assert json.loads(json.dumps(data)) == data  # plain data only


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".yml"])
@pytest.mark.parametrize("make", NETWORKS.values(), ids=NETWORKS.keys())
def test_file_round_trip_is_lossless(make, suffix, tmp_path):
    network = make()
    path = tmp_path / f"net{suffix}"
    trace.save(network, path)
    loaded = trace.load(path)
    assert loaded == network
    assert loaded.summary() == network.summary()
    assert trace.digest(loaded) == trace.digest(network)


def test_fused_members_round_trip_with_their_own_attrs():
    network = cnn().fused()
    fused = [op for op in network if op.kind is OpKind.FUSED]
    assert fused and all(len(op.members) >= 2 for op in fused)
    loaded = trace.loads(trace.dumps(network, "yaml"), "yaml")
    for op in fused:
        assert loaded[op.name].members == op.members


@st.composite
def compressions(draw, weighted: bool = True) -> Compression:
    sparsity = draw(st.sampled_from(SparsityScheme)) if weighted else SparsityScheme.DENSE
    ratio = 0.0 if sparsity is SparsityScheme.DENSE else draw(st.floats(0.0, 1.0, exclude_max=True))
    n_m = None
    if sparsity is SparsityScheme.N_M:
        m = draw(st.integers(2, 32))
        n_m = (draw(st.integers(1, m - 1)), m)
        ratio = 1 - n_m[0] / n_m[1]
    quant = draw(st.sampled_from(QuantScheme))
    weight_bits = {QuantScheme.FLOAT32: 32, QuantScheme.FLOAT16: 16}.get(quant)
    if weight_bits is None:
        top = 31 if quant is QuantScheme.MULTI_PRECISION else 32
        weight_bits = draw(st.integers(1, top))
    open_unit = st.floats(0.0, 1.0, exclude_min=True, exclude_max=True)
    multi = quant is QuantScheme.MULTI_PRECISION
    return Compression(
        sparsity=sparsity,
        sparsity_ratio=ratio,
        block_shape=draw(st.tuples(st.integers(1, 64), st.integers(1, 64))),
        n_m=n_m,
        quant=quant,
        weight_bits=weight_bits,
        activation_bits=draw(st.integers(1, 32)),
        pot_ratio=draw(open_unit) if quant is QuantScheme.MIXED else 0.0,
        high_bits=draw(st.integers(weight_bits + 1, 32)) if multi else 0,
        high_ratio=draw(open_unit) if multi else 0.0,
    )


@HYPOTHESIS
@given(conv=compressions(), relu=compressions(weighted=False), fmt=st.sampled_from(trace.TraceFormat))
def test_every_compression_round_trips(conv, relu, fmt):
    base = tiny()
    ops = (base.ops[0].replace(compression=conv), base.ops[1].replace(compression=relu))
    network = dataclasses.replace(base, ops=ops)
    for candidate in (network, network.fused()):
        assert trace.from_dict(trace.to_dict(candidate)) == candidate
        assert trace.loads(trace.dumps(candidate, fmt), fmt) == candidate


@HYPOTHESIS
@given(
    kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    groups=st.sampled_from([1, 2, 4]),
    bias=st.booleans(),
)
def test_every_conv_attrs_round_trip(kernel, stride, padding, dilation, groups, bias):
    b = NetworkBuilder("conv")
    x = b.input("x", (1, 4, 9, 9))
    b.conv2d(x, 8, kernel, stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias)
    network = b.build()
    assert trace.loads(trace.dumps(network, "yaml"), "yaml") == network


@pytest.mark.parametrize(
    "name", ["yes", "no", "null", "1", "0x1f", "1e3", "a: b", "#hash", "- dash", "conv/1.é", "on"]
)
def test_names_that_yaml_would_misread_round_trip(name, tmp_path):
    b = NetworkBuilder(name)
    x = b.input(name + "_in", (1, 4))
    b.linear(x, 2, name=name)
    network = b.build()
    for suffix in (".yaml", ".json"):
        trace.save(network, tmp_path / f"n{suffix}")
        assert trace.load(tmp_path / f"n{suffix}") == network


def test_every_attrs_field_has_a_typed_parser():
    # A new attrs field of an unknown type would otherwise be passed through unchecked.
    for cls, schema in trace_schema._ATTRS_SCHEMA.items():
        for field in schema.fields:
            assert field.parse is not trace_schema._as_is, f"{cls.__name__}.{field.name}: add a parser"


# --- layout ----------------------------------------------------------------------------------------


def test_layout_of_a_conv():
    network = tiny().quantized("fixed", weight_bits=8)
    data = trace.to_dict(network)
    assert data["format_version"] == trace.FORMAT_VERSION == 1
    assert data["inputs"] == [{"name": "x", "shape": [1, 3, 8, 8]}]
    assert data["outputs"] == ["relu0"]
    assert data["ops"][0] == {
        "name": "conv0",
        "kind": "conv2d",
        "inputs": ["x"],
        "input_shapes": [[1, 3, 8, 8]],
        "output_shape": [1, 8, 8, 8],
        "weight_shape": [8, 3, 3, 3],
        "attrs": {
            "kernel": [3, 3],
            "stride": [1, 1],
            "padding": [1, 1],
            "dilation": [1, 1],
            "groups": 1,
            "bias": False,
        },
        "compression": {"quant": "fixed", "weight_bits": 8, "activation_bits": 8},
    }


def test_empty_parts_are_omitted():
    op = trace.to_dict(transformer())["ops"]
    by_name = {o["name"]: o for o in op}
    assert set(by_name["qk"]) == {"name", "kind", "inputs", "input_shapes", "output_shape"}


def test_json_file_has_one_op_per_line(tmp_path):
    network = cnn()
    trace.save(network, tmp_path / "cnn.json")
    lines = (tmp_path / "cnn.json").read_text().splitlines()
    assert sum(line.lstrip().startswith('{"name"') for line in lines) == len(network)


def test_ops_may_come_in_any_order():
    network = transformer()
    data = trace.to_dict(network)
    data["ops"].reverse()
    loaded = trace.from_dict(data)
    assert sorted(op.name for op in loaded) == sorted(op.name for op in network)
    assert loaded.summary().macs == network.summary().macs
    chain = tiny()
    data = trace.to_dict(chain)
    data["ops"].reverse()
    assert trace.from_dict(data) == chain


def test_an_already_sorted_order_is_kept():
    # Network.build would move the independent 'c' before 'b'; a sorted file keeps its order.
    b = NetworkBuilder("branches")
    x = b.input("x", (1, 4))
    b.linear(b.linear(x, 4, name="a"), 4, name="b")
    b.linear(x, 4, name="c")
    network = b.build(["b", "c"])
    assert [op.name for op in trace.from_dict(trace.to_dict(network))] == ["a", "b", "c"]


def test_digest_is_stable_and_sensitive():
    network = tiny()
    assert re.fullmatch(r"[0-9a-f]{64}", trace.digest(network))
    assert trace.digest(network) == trace.digest(tiny())
    assert trace.digest(network) != trace.digest(network.quantized("fixed"))


# --- strict loader: every error names file, op and field -------------------------------------------


def _err(data, match: str, source: str = "net.yaml"):
    with pytest.raises(TraceError, match=match) as info:
        trace.from_dict(data, source=source)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{source}: ")
    return message


def _tiny_dict() -> dict:
    return trace.to_dict(tiny())


def test_error_message_names_file_op_and_field():
    data = _tiny_dict()
    data["ops"][0]["attrs"]["stride"] = "x"
    message = _err(data, "stride")
    assert message == "net.yaml: op 'conv0' (#0) field 'attrs.stride': expected an int or two ints, got 'x'"


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (
            lambda d: d.update(format_version=2),
            r"field 'format_version': unsupported version 2; this edgesim reads version\(s\) 1$",
        ),
        (
            lambda d: d.update(format_version="1"),
            r"field 'format_version': unsupported version '1'",
        ),
        (
            lambda d: d.update(format_version=True),
            r"field 'format_version': unsupported version True",
        ),
        (lambda d: d.pop("format_version"), r"field 'format_version': required but missing"),
        (
            lambda d: d.update(extra=1),
            r"field 'extra': unknown field; allowed: format_version, name, description, inputs, outputs, ops$",
        ),
        (
            lambda d: d.update(outptus=[]),
            r"field 'outptus': unknown field \(did you mean 'outputs'\?\)",
        ),
        (lambda d: d.pop("ops"), r"field 'ops': required but missing"),
        (lambda d: d.update(ops={}), r"field 'ops': expected a list, got \{\}"),
        (lambda d: d.update(name=3), r"field 'name': expected a string, got 3"),
        (lambda d: d.update(description=None), r"field 'description': expected a string, got None"),
        (
            lambda d: d["inputs"][0].update(shape=[1, 0, 8, 8]),
            r"field 'inputs\[0\]\.shape': expected a list of positive ints, got \[1, 0, 8, 8\]",
        ),
        (
            lambda d: d["inputs"][0].update(dtype="f32"),
            r"field 'inputs\[0\]\.dtype': unknown field; allowed: name, shape",
        ),
        (
            lambda d: d["inputs"][0].pop("shape"),
            r"field 'inputs\[0\]\.shape': required but missing",
        ),
        (
            lambda d: d.update(outputs=["relu0", 7]),
            r"field 'outputs\[1\]': expected a non-empty string, got 7",
        ),
        (
            lambda d: d["ops"][0].pop("kind"),
            r"op 'conv0' \(#0\) field 'kind': required but missing",
        ),
        (
            lambda d: d["ops"][0].update(kind="conv"),
            r"op 'conv0' \(#0\) field 'kind': expected one of \['conv2d', .*\], got 'conv' \(did you mean 'conv2d'\?\)",
        ),
        (
            lambda d: d["ops"][0].update(weights_shape=[1]),
            r"op 'conv0' \(#0\) field 'weights_shape': unknown field \(did you mean 'weight_shape'\?\); allowed: name, kind, inputs",
        ),
        (
            lambda d: d["ops"][0].update(inputs="x"),
            r"op 'conv0' \(#0\) field 'inputs': expected a list, got 'x'",
        ),
        (
            lambda d: d["ops"][1].update(inputs=[""]),
            r"op 'relu0' \(#1\) field 'inputs\[0\]': expected a non-empty string, got ''",
        ),
        (
            lambda d: d["ops"][0].update(input_shapes=[[1, 3, 8, 8.0]]),
            r"op 'conv0' \(#0\) field 'input_shapes\[0\]': expected a list of positive ints, got \[1, 3, 8, 8\.0\]",
        ),
        (
            lambda d: d["ops"][0].update(output_shape=[1, True, 8, 8]),
            r"field 'output_shape': expected a list of positive ints",
        ),
        (
            lambda d: d["ops"][0].update(weight_shape=[8, -3, 3, 3]),
            r"op 'conv0' \(#0\) field 'weight_shape': expected a list of positive ints",
        ),
        (
            lambda d: d["ops"][0].pop("attrs"),
            r"op 'conv0' \(#0\) field 'attrs\.kernel': required but missing",
        ),
        (
            lambda d: d["ops"][0]["attrs"].update(strides=2),
            r"field 'attrs\.strides': unknown field \(did you mean 'stride'\?\); allowed: kernel, stride, padding, dilation, groups, bias$",
        ),
        (
            lambda d: d["ops"][0]["attrs"].update(groups=1.0),
            r"op 'conv0' \(#0\) field 'attrs\.groups': expected an int, got 1\.0",
        ),
        (
            lambda d: d["ops"][0]["attrs"].update(bias="no"),
            r"field 'attrs\.bias': expected true or false, got 'no'",
        ),
        (
            lambda d: d["ops"][0]["attrs"].update(groups=0),
            r"op 'conv0' \(#0\) field 'attrs': 'groups' must be >= 1 \(got 0\)",
        ),
        (
            lambda d: d["ops"][1]["attrs"].update(function="relu7"),
            r"op 'relu0' \(#1\) field 'attrs\.function': expected one of \['relu', 'relu6', .*\], got 'relu7'",
        ),
        (
            lambda d: d["ops"][1].update(attrs=[]),
            r"op 'relu0' \(#1\) field 'attrs': expected a mapping, got \[\]",
        ),
        (
            lambda d: d["ops"][0].update(compression={"weight_bits": "8"}),
            r"op 'conv0' \(#0\) field 'compression\.weight_bits': expected an int, got '8' \(a string, not a number\)",
        ),
        (
            lambda d: d["ops"][0].update(compression={"sparsity_ratio": "1e-3", "sparsity": "unstructured"}),
            r"field 'compression\.sparsity_ratio': expected a finite number, got '1e-3' \(a string, not a number; YAML needs a dot",
        ),
        (
            lambda d: d["ops"][0].update(compression={"sparsity_ratio": float("nan"), "sparsity": "unstructured"}),
            r"field 'compression\.sparsity_ratio': expected a finite number, got nan",
        ),
        (
            lambda d: d["ops"][0].update(compression={"bits": 8}),
            r"field 'compression\.bits': unknown field \(did you mean 'high_bits'\?\); allowed: sparsity, sparsity_ratio, block_shape, n_m, quant, weight_bits",
        ),
        (
            lambda d: d["ops"][0].update(compression={"block_shape": 4}),
            r"field 'compression\.block_shape': expected two ints, got 4",
        ),
        (
            lambda d: d["ops"][0].update(compression={"quant": "fixed", "pot_ratio": 0.5}),
            r"op 'conv0' \(#0\) field 'compression': 'pot_ratio' is only for quant 'mixed'",
        ),
        (
            lambda d: d["ops"][1].update(compression={"sparsity": "block", "sparsity_ratio": 0.5}),
            r"net\.yaml: op 'relu0' \(activation\): sparsity block needs a weighted op",
        ),
        (lambda d: d["ops"].__setitem__(1, "relu"), r"op #1: expected a mapping, got 'relu'"),
        (
            lambda d: d["ops"][1].update(name=""),
            r"op #1 field 'name': expected a non-empty string, got ''",
        ),
    ],
)
def test_field_errors(edit, match):
    data = _tiny_dict()
    edit(data)
    _err(data, match)


def test_op_validation_errors_keep_their_message():
    data = _tiny_dict()
    data["ops"][0]["output_shape"] = [1, 8, 4, 4]
    data["ops"][1]["input_shapes"] = [[1, 8, 4, 4]]
    data["ops"][1]["output_shape"] = [1, 8, 4, 4]
    _err(data, r"^net\.yaml: op 'conv0' \(conv2d\): output shape should be \(1, 8, 8, 8\) \(got \(1, 8, 4, 4\)\)$")


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (
            lambda d: d["ops"][1].update(inputs=["conv"]),
            r"^net\.yaml: network 'tiny': op 'relu0' reads 'conv', which is not defined \(did you mean 'conv0'\?\)$",
        ),
        (
            lambda d: d["ops"][1].update(input_shapes=[[1, 8, 8, 9]], output_shape=[1, 8, 8, 9]),
            r"^net\.yaml: network 'tiny': op 'relu0' expects 'conv0' of shape \(1, 8, 8, 9\), but it is \(1, 8, 8, 8\)$",
        ),
        (
            lambda d: d.update(outputs=["relu1"]),
            r"^net\.yaml: network 'tiny': output 'relu1' is not defined$",
        ),
        (lambda d: d.update(ops=[]), r"^net\.yaml: network 'tiny' has no ops$"),
        (
            lambda d: d["ops"][0].update(inputs=["relu0"], input_shapes=[[1, 8, 8, 8]], weight_shape=[8, 8, 3, 3]),
            r"^net\.yaml: network 'tiny': ops form a cycle",
        ),
        (
            lambda d: d["ops"].append(copy.deepcopy(d["ops"][1])),
            r"^net\.yaml: op 'relu0' \(#2\) field 'name': duplicate of op #1$",
        ),
        (
            lambda d: d["inputs"].append({"name": "relu0", "shape": [1]}),
            r"duplicate tensor name 'relu0'",
        ),
    ],
)
def test_graph_errors(edit, match):
    data = _tiny_dict()
    edit(data)
    _err(data, match)


def test_errors_inside_fused_members_name_the_fused_op_and_member():
    data = trace.to_dict(tiny().fused())
    member = data["ops"][0]["members"][1]
    member["attrs"]["function"] = "tanh"
    _err(data, r"^net\.yaml: op 'conv0\+relu0' \(#0\) member 'relu0' \(#1\) field 'attrs\.function': expected one of")
    member["attrs"]["function"] = "relu"
    member["output_shape"] = [1, 8, 8, 7]
    _err(data, r"^net\.yaml: op 'conv0\+relu0' \(#0\) member 'relu0' \(#1\): op 'relu0' \(activation\): output shape should be")


def test_top_level_must_be_a_mapping():
    _err([1, 2], r"^net\.yaml: expected a mapping with keys format_version, .*, got \[1, 2\]$")
    _err(None, r"got None$")


# --- files -------------------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(TraceError, match=r"nope\.yaml: no such trace file$"):
        trace.load(tmp_path / "nope.yaml")


def test_directory_is_not_a_trace(tmp_path):
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(TraceError, match=r"dir\.json: is a directory"):
        trace.load(tmp_path / "dir.json")


def test_unknown_suffix(tmp_path):
    with pytest.raises(TraceError, match=r"net\.txt: unknown trace file suffix '\.txt'; expected one of \.json, \.yaml, \.yml"):
        trace.load(tmp_path / "net.txt")
    with pytest.raises(TraceError, match=r"unknown trace file suffix ''"):
        trace.save(tiny(), tmp_path / "net")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file(tmp_path):
    path = tmp_path / "secret.json"
    trace.save(tiny(), path)
    path.chmod(0)
    with pytest.raises(TraceError, match=r"secret\.json: cannot read trace file: permission denied"):
        trace.load(path)


def test_not_utf8(tmp_path):
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"name: \xff\xfe\n")
    with pytest.raises(TraceError, match=r"bin\.yaml: not UTF-8 text \(bad byte at offset 6\)"):
        trace.load(path)


def test_bad_json_names_line_and_column(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{\n  "format_version": 1,\n  "name": "x",,\n}\n')
    with pytest.raises(TraceError, match=r"bad\.json: line 3 column 15: invalid JSON: Expecting property name"):
        trace.load(path)


def test_bad_yaml_names_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("format_version: 1\nname: x\nops: [\n  {name: a\n")
    with pytest.raises(TraceError, match=r"^.*bad\.yaml: line \d+ column \d+: invalid YAML: .*") as info:
        trace.load(path)
    assert "\n" not in str(info.value)


def test_duplicate_keys_are_errors(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("format_version: 1\nname: a\nname: b\n")
    with pytest.raises(TraceError, match=r"dup\.yaml: line 3 column 1: invalid YAML: duplicate key 'name'"):
        trace.load(path)
    path = tmp_path / "dup.json"
    path.write_text('{"format_version": 1, "name": "a", "name": "b"}')
    with pytest.raises(TraceError, match=r"dup\.json: duplicate key 'name' in a JSON object"):
        trace.load(path)


def test_yaml_is_loaded_safely(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("format_version: 1\nname: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(TraceError, match=r"evil\.yaml: line 2 column 7: invalid YAML: could not determine a constructor"):
        trace.load(path)


def test_yaml_merge_keys_and_anchors_work(tmp_path):
    network = tiny()
    text = trace.dumps(network, "yaml").replace(
        "  attrs:\n    kernel: [3, 3]", "  attrs: &conv\n    kernel: [3, 3]", 1
    )
    assert trace.loads(text, "yaml") == network
    path = tmp_path / "anchors.yaml"
    path.write_text(text)
    assert trace.load(path) == network


def test_empty_yaml_file(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    with pytest.raises(TraceError, match=r"empty\.yaml: expected a mapping .*, got None"):
        trace.load(path)


def test_yaml_field_error_names_the_file(tmp_path):
    path = tmp_path / "resnet.yaml"
    text = trace.dumps(tiny(), "yaml").replace("stride: [1, 1]", "stride: x")
    path.write_text(text)
    with pytest.raises(TraceError) as info:
        trace.load(path)
    assert str(info.value) == f"{path}: op 'conv0' (#0) field 'attrs.stride': expected an int or two ints, got 'x'"


def test_hand_written_yaml_with_shorthands(tmp_path):
    path = tmp_path / "hand.yml"
    path.write_text(
        "format_version: 1\n"
        "name: hand\n"
        "inputs: [{name: x, shape: [1, 3, 8, 8]}]\n"
        "outputs: [c]\n"
        "ops:\n"
        "- {name: c, kind: conv2d, inputs: [x], input_shapes: [[1, 3, 8, 8]], output_shape: [1, 4, 4, 4],\n"
        "   weight_shape: [4, 3, 3, 3], attrs: {kernel: 3, stride: 2, padding: 1}}\n"
    )
    op = trace.load(path)["c"]
    assert op.attrs == Conv2dAttrs(kernel=(3, 3), stride=(2, 2), padding=(1, 1))
    assert op.macs == 4 * 4 * 4 * 3 * 3 * 3


# --- writing ---------------------------------------------------------------------------------------


def test_save_replaces_atomically(tmp_path, monkeypatch):
    path = tmp_path / "net.json"
    trace.save(tiny(), path)
    before = path.read_text()

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(trace.os, "fsync", broken_fsync)
    with pytest.raises(TraceError, match=r"net\.json: cannot write trace: No space left on device"):
        trace.save(cnn(), path)
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json"]  # no temp file left


def test_save_to_missing_directory(tmp_path):
    path = tmp_path / "no" / "such" / "net.yaml"
    with pytest.raises(TraceError, match=r"net\.yaml: cannot write trace: directory '.*such' does not exist"):
        trace.save(tiny(), path)


def test_save_onto_a_directory(tmp_path):
    (tmp_path / "x.yaml").mkdir()
    with pytest.raises(TraceError, match=r"x\.yaml: cannot write trace: is a directory"):
        trace.save(tiny(), tmp_path / "x.yaml")


def test_non_finite_attribute_cannot_exist(tmp_path):
    # A non-finite radius is refused when the attributes are built, so no network holding one
    # can reach `save` (which also refuses non-finite numbers, as a second line of defence).
    ball = point_cloud()["ball"]
    with pytest.raises(SpecError, match="'radius' must be a finite number"):
        dataclasses.replace(ball.attrs, radius=float("inf"))
    assert not any(tmp_path.iterdir())


def test_written_file_keeps_the_umask_mode(tmp_path):
    path = tmp_path / "net.yaml"
    trace.save(tiny(), path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
