"""Real torch exports (tests/data/onnx, made by make_exports.py there, both exporters) import with
the ops, MACs and parameters of the zoo model of the same shape.

Where an export necessarily differs from the zoo's modelling choices, the test states the
difference and checks it exactly:

- both exporters fold each batch norm into the conv before it (a bias of one value per channel
  instead of the norm's scale and shift), so CNNs are compared with the zoo model with its batch
  norms folded the same way (`fold_batch_norms`);
- attention written as ``(q @ k) * scale`` has one scalar Mul per layer (ViT), and torch's
  scaled-dot-product attention scales q and k by sqrt(scale) each (BERT); the importer folds
  them into W_q as the zoo does, so they are checked to be gone;
- `nn.MultiheadAttention` works in (L, N, D) and lays heads out with more views and transposes
  than the zoo does, so for the BERT-style encoder the layout ops (reshape, transpose) are not
  compared, and ops are compared by their output's element count; every op that computes is.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

pytest.importorskip("onnx")

from workloads import Network, NormKind, OpKind, zoo  # noqa: E402
from workloads.onnx_import import load_onnx  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data" / "onnx"
EXPORTERS = ("legacy", "dynamo")


def fold_batch_norms(net: Network) -> Network:
    """The network as the exporters leave it: each batch norm after a conv folded into its bias."""
    consumers = net.consumers
    folded = {
        op.name: op.inputs[0]
        for op in net.ops
        if op.kind is OpKind.NORM and op.attrs.kind is NormKind.BATCH
        and net[op.inputs[0]].kind is OpKind.CONV2D and len(consumers[op.inputs[0]]) == 1
    }
    convs = set(folded.values())
    ops = []
    for op in net.ops:
        if op.name in folded:
            continue
        if op.name in convs:
            op = op.replace(attrs=replace(op.attrs, bias=True))
        if any(s in folded for s in op.inputs):
            op = op.replace(inputs=tuple(folded.get(s, s) for s in op.inputs))
        ops.append(op)
    outputs = tuple(folded.get(o, o) for o in net.outputs)
    return replace(net, ops=tuple(ops), outputs=outputs)


def signature(ops, *, skip=frozenset(), layout_free: bool = False) -> Counter:
    """The multiset of (kind, weight shape, output shape) of `ops`, without the kinds in `skip`.

    `layout_free` counts the output's elements instead of its shape.
    """
    return Counter(
        (op.kind, op.weight_shape, math.prod(op.output_shape) if layout_free else op.output_shape)
        for op in ops if op.kind not in skip
    )


def scalar_ops(net: Network) -> list:
    return [op for op in net.ops if op.weight_shape == (1,)]


CNNS = {
    "resnet18_w0.0625": lambda batch: zoo.resnet18(width=0.0625, resolution=32, num_classes=10,
                                                   batch=batch),
    "mobilenetv2_w0.05": lambda batch: zoo.mobilenetv2(width=0.05, resolution=32, num_classes=10,
                                                       scale_head=True, batch=batch),
}


@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("stem", CNNS)
def test_cnn_exports_match_the_zoo_with_folded_batch_norms(stem, exporter):
    net = load_onnx(DATA / f"{stem}.{exporter}.onnx")
    zoo_net = CNNS[stem](1)
    ref = fold_batch_norms(zoo_net)
    assert net.name == f"{stem}.{exporter}"  # torch names every graph main_graph
    assert signature(net.ops) == signature(ref.ops)
    assert len(net) == len(ref)
    assert net.macs == ref.macs == zoo_net.macs
    n_bn_channels = sum(op.output_shape[1] for op in zoo_net.ops if op.kind is OpKind.NORM)
    assert net.params == ref.params == zoo_net.params - n_bn_channels  # 2 per channel -> 1
    # Fusion follows either operand: torchvision's `x + self.conv(x)` fuses as the zoo's does.
    assert len(net.fused()) == len(zoo_net.fused())
    assert all(op.compression.sparsity.value == "dense" for op in net.ops)


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_the_batch_argument_replaces_the_symbolic_batch(exporter):
    net = load_onnx(DATA / f"resnet18_w0.0625.{exporter}.onnx", batch=3, name="r18")
    assert net.name == "r18" and net.inputs[0].shape == (3, 3, 32, 32)
    assert net.macs == CNNS["resnet18_w0.0625"](3).macs


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_vit_export_matches_the_zoo(exporter):
    # Legacy at opset 14: LayerNorm decomposed (ReduceMean, Sub, Pow, Sqrt, Div), GELU as Erf,
    # the class token expanded over a Shape-computed batch; dynamo at opset 20.
    net = load_onnx(DATA / f"vit_d32.{exporter}.onnx")
    ref = zoo.vit(resolution=32, patch=8, dim=32, depth=2, heads=2, mlp_ratio=2.0, num_classes=10)
    assert not scalar_ops(net)  # (q @ k) * scale: folded into W_q, as the zoo models it
    assert signature(net.ops) == signature(ref.ops) and len(net) == len(ref)
    assert net.macs == ref.macs
    assert net.params == ref.params
    norms = [op for op in net.ops if op.kind is OpKind.NORM]
    assert len(norms) == 5 and all(op.attrs.kind is NormKind.LAYER for op in norms)
    assert sum(op.kind is OpKind.ACTIVATION and op.attrs.function.value == "gelu"
               for op in net.ops) == 2


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_transformer_encoder_export_matches_the_zoo_bert(exporter):
    net = load_onnx(DATA / f"bert_d32.{exporter}.onnx", batch=2)
    ref = zoo.bert(vocab=100, hidden=32, layers=2, heads=2, ffn=64, max_positions=64, seq_len=16,
                   batch=2)
    layout = {OpKind.RESHAPE, OpKind.TRANSPOSE}
    assert not scalar_ops(net)  # sqrt(scale) on q and on k: folded into W_q
    # nn.MultiheadAttention runs its projections on (L, N, D), and out_proj on (L * N, D).
    assert signature(net.ops, skip=layout, layout_free=True) == signature(
        ref.ops, skip=layout, layout_free=True)
    assert net.macs == ref.macs
    assert net.params == ref.params
    # The packed in_proj (3D x D) is split into q, k and v linears of D x D each.
    parts = [op for op in net.ops if ".part" in op.name]
    assert len(parts) == 6 and all(op.weight_shape == (32, 32) for op in parts)
    assert not any(op.kind is OpKind.LINEAR and op.weight_shape == (96, 32) for op in net.ops)
    assert [s.name for s in net.inputs] == ["input_ids", "token_type_ids", "position_ids"]
    assert len(net.outputs) == 2


def test_exports_are_small():
    files = sorted(DATA.glob("*.onnx"))
    assert len(files) == 12
    assert all(f.stat().st_size <= 205 * 1024 for f in files)  # "at most about 200 kB"


def test_a_pruned_export_imports_with_its_sparsity():
    # torch.nn.utils.prune.l1_unstructured(amount=0.75) on every conv and the classifier: each
    # layer keeps n - round(0.75 n) weights, so the ratio read back is exact per layer.
    net = load_onnx(DATA / "resnet18_w0.0625_pruned75.legacy.onnx")
    dense = load_onnx(DATA / "resnet18_w0.0625.legacy.onnx")
    weighted = [op for op in net.ops if op.kind in (OpKind.CONV2D, OpKind.LINEAR)]
    assert len(weighted) == 21
    for op in weighted:
        n = math.prod(op.weight_shape)
        assert op.compression.sparsity.value == "unstructured"
        assert op.compression.sparsity_ratio == round(0.75 * n) / n
    assert net.macs == dense.macs
    assert net.effective_macs == sum(round(op.macs * (1 - op.compression.sparsity_ratio))
                                     for op in weighted)
    assert net.effective_macs < 0.26 * net.macs


def test_dynamo_exports_name_ops_by_their_torch_modules():
    # From each node's pkg.torch.onnx.name_scopes: leaf modules by their path, a block's own
    # ops by the block and the op, a module applied twice (torchvision's ReLU) suffixed.
    net = load_onnx(DATA / "resnet18_w0.0625.dynamo.onnx")
    names = [op.name for op in net.ops]
    assert names[:8] == ["bn1", "relu", "maxpool", "layer1.0.bn1", "layer1.0.relu",
                         "layer1.0.bn2", "layer1.0.add", "layer1.0.relu_1"]
    assert names[-3:] == ["avgpool", "view", "fc"]  # torch.flatten is a view op
    vit = load_onnx(DATA / "vit_d32.dynamo.onnx")
    assert {"blocks.0.attn.q", "blocks.0.attn.k", "blocks.0.mlp.0", "head"} <= {
        op.name for op in vit.ops}


def test_an_onnxruntime_qdq_model_imports_as_int8():
    # onnxruntime's quantize_static (QDQ, per-channel int8 weights, uint8 activations) of the
    # legacy ResNet export. Its quantizer also drops each ReLU after a conv (the uint8 range
    # clamps at zero), so the graph has no Relu nodes: 20 convs, 8 adds, pools and the fc.
    net = load_onnx(DATA / "resnet18_w0.0625.qdq.onnx")
    fp32 = load_onnx(DATA / "resnet18_w0.0625.legacy.onnx")
    assert not any(op.kind is OpKind.ACTIVATION for op in net.ops)
    assert len(net) == len(fp32) - 17  # the 17 ReLUs
    assert net.macs == fp32.macs and net.params == fp32.params
    for op in net.ops:
        comp = op.compression
        assert (comp.quant.value, comp.weight_bits, comp.activation_bits) == ("fixed", 8, 8), op.name
    weighted = [op for op in net.ops if op.kind in (OpKind.CONV2D, OpKind.LINEAR)]
    assert len(weighted) == 21
    assert net.weight_bytes == sum(op.params for op in weighted)  # one byte per parameter


def test_an_onnxruntime_qoperator_model_imports_as_int8():
    # The same quantization in QOperator format: QLinearConv, com.microsoft QLinearAdd,
    # QLinearGlobalAveragePool and QGemm between one QuantizeLinear and one DequantizeLinear.
    net = load_onnx(DATA / "resnet18_w0.0625.qoperator.onnx")
    qdq = load_onnx(DATA / "resnet18_w0.0625.qdq.onnx")
    assert signature(net.ops) == signature(qdq.ops)
    assert net.macs == qdq.macs and net.params == qdq.params
    assert {op.compression.label() for op in net.ops} == {"w8a8"}


def test_an_onnxruntime_dynamic_int8_encoder_imports_with_int8_linears():
    # quantize_dynamic: DynamicQuantizeLinear + MatMulInteger + Cast + Mul(scales) per linear
    # (each becomes one int8 linear, with its bias), and Gather of an int8 embedding table then
    # DequantizeLinear; norms, softmax and the attention matmuls stay float.
    net = load_onnx(DATA / "bert_d32.dynamic_int8.onnx")
    fp32 = load_onnx(DATA / "bert_d32.legacy.onnx")
    assert signature(net.ops) == signature(fp32.ops) and len(net) == len(fp32)
    assert net.macs == fp32.macs and net.params == fp32.params
    by_kind = Counter((op.kind, op.compression.label()) for op in net.ops
                      if op.compression.label() != "fp32")
    n_linear = sum(op.kind is OpKind.LINEAR for op in fp32.ops)
    assert n_linear == 13  # per layer q, k, v, out_proj, linear1, linear2; and the pooler
    assert by_kind[(OpKind.LINEAR, "w8a8")] == n_linear
    assert by_kind[(OpKind.EMBEDDING, "w8a32")] == 3  # int8 tables, int64 token ids
    # The two embedding sums read the dequantized int8 lookups.
    assert by_kind[(OpKind.ADD, "w8a8")] == 2 and sum(by_kind.values()) == n_linear + 5
