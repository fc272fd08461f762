"""Full-size networks written with onnx.helper in the patterns torch's exporters produce, checked
against the zoo's MACs and parameters exactly: ResNet-50 and MobileNetV2 (conv + batch norm,
torchvision's `x + conv(x)` residual, ReduceMean pooling as the dynamo exporter writes it),
ViT-B/16 (opset 20: Gelu, LayerNormalization, MatMul + Add linears, a class token expanded over
a Shape-computed batch, the attention scale, x[:, 0] as Gather) and BERT-base (opset 13: Erf
GELU, decomposed layer norms, embedding Gathers, Reshape targets with 0 and -1).

The weights are external-data references with no file behind them, read with
``read_weights=False``: only their shapes matter here, and BERT-base's 110 M parameters need not
be written to run a fast test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from workloads import zoo  # noqa: E402
from workloads.onnx_import import load_onnx  # noqa: E402

F = TensorProto.FLOAT


class Graph:
    """Nodes and initializers of a model being written."""

    def __init__(self) -> None:
        self.nodes: list = []
        self.inits: list = []
        self.count = 0

    def _name(self, op: str) -> str:
        self.count += 1
        return f"{op}_{self.count}"

    def weight(self, *shape: int) -> str:
        """A learned tensor stored outside the model (no file: never read)."""
        name = self._name("w")
        t = TensorProto(name=name, data_type=F, dims=shape)
        t.data_location = TensorProto.EXTERNAL
        for key, value in (("location", "weights.bin"), ("offset", "0"),
                           ("length", str(4 * math.prod(shape)))):
            entry = t.external_data.add()
            entry.key, entry.value = key, value
        self.inits.append(t)
        return name

    def const(self, value, dtype=np.int64) -> str:
        name = self._name("c")
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def node(self, op: str, inputs, n_out: int = 1, **attrs):
        outs = [self._name(op) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op, list(inputs), outs, name=outs[0], **attrs))
        return outs[0] if n_out == 1 else outs

    def model(self, inputs: dict, outputs, opset: int, elem=None) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes, "main_graph",
            [helper.make_tensor_value_info(n, (elem or {}).get(n, F), s) for n, s in inputs.items()],
            [helper.make_tensor_value_info(o, F, None) for o in outputs],
            initializer=self.inits,
        )
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])

    # --- layers ----------------------------------------------------------------------------------

    def conv_bn(self, x: str, cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> str:
        x = self.node("Conv", [x, self.weight(cout, cin // groups, k, k)], kernel_shape=[k, k],
                      strides=[stride] * 2, pads=[(k - 1) // 2] * 4, group=groups)
        return self.node("BatchNormalization", [x] + [self.weight(cout) for _ in range(4)])

    def relu6(self, x: str) -> str:
        return self.node("Clip", [x, self.const(0.0, np.float32), self.const(6.0, np.float32)])

    def linear(self, x: str, d_in: int, d_out: int) -> str:
        """What both exporters write for nn.Linear on a 3-D input: MatMul + Add."""
        return self.node("Add", [self.node("MatMul", [x, self.weight(d_in, d_out)]),
                                 self.weight(d_out)])

    def layer_norm_decomposed(self, x: str, d: int) -> str:
        """nn.LayerNorm as the legacy exporter wrote it before opset 17."""
        mean = self.node("ReduceMean", [x], axes=[-1])
        centred = self.node("Sub", [x, mean])
        var = self.node("ReduceMean", [self.node("Pow", [centred, self.const(2.0, np.float32)])],
                        axes=[-1])
        std = self.node("Sqrt", [self.node("Add", [var, self.const(1e-12, np.float32)])])
        normed = self.node("Div", [centred, std])
        return self.node("Add", [self.node("Mul", [normed, self.weight(d)]), self.weight(d)])

    def gelu_erf(self, x: str) -> str:
        """nn.GELU as the legacy exporter writes it: x * 0.5 * (1 + erf(x / sqrt(2)))."""
        erf = self.node("Erf", [self.node("Div", [x, self.const(1.4142135381698608, np.float32)])])
        one_plus = self.node("Add", [erf, self.const(1.0, np.float32)])
        return self.node("Mul", [self.node("Mul", [x, one_plus]), self.const(0.5, np.float32)])

    def attention(self, x: str, seq: int, d: int, heads: int, *, scale_op: str) -> str:
        dh = d // heads
        split = self.const([0, seq, heads, dh])
        q, k, v = (self.node("Reshape", [self.linear(x, d, d), split]) for _ in range(3))
        q = self.node("Transpose", [q], perm=[0, 2, 1, 3])
        k = self.node("Transpose", [k], perm=[0, 2, 3, 1])
        v = self.node("Transpose", [v], perm=[0, 2, 1, 3])
        scores = self.node("MatMul", [q, k])
        scale = 1 / math.sqrt(dh) if scale_op == "Mul" else math.sqrt(dh)
        scores = self.node(scale_op, [scores, self.const(scale, np.float32)])
        ctx = self.node("MatMul", [self.node("Softmax", [scores], axis=-1), v])
        ctx = self.node("Transpose", [ctx], perm=[0, 2, 1, 3])
        ctx = self.node("Reshape", [ctx, self.const([0, seq, -1])])
        return self.linear(ctx, d, d)


def resnet50_model() -> onnx.ModelProto:
    g = Graph()
    x = g.node("Relu", [g.conv_bn("image", 3, 64, 7, 2)])
    x = g.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 64
    for stage, (width, depth) in enumerate(zip((64, 128, 256, 512), (3, 4, 6, 3))):
        for i in range(depth):
            stride = 2 if stage and not i else 1
            out = g.node("Relu", [g.conv_bn(x, cin, width, 1)])
            out = g.node("Relu", [g.conv_bn(out, width, width, 3, stride)])
            out = g.conv_bn(out, width, 4 * width, 1)
            identity = x if stride == 1 and cin == 4 * width else g.conv_bn(x, cin, 4 * width, 1, stride)
            x = g.node("Relu", [g.node("Add", [out, identity])])
            cin = 4 * width
    x = g.node("Flatten", [g.node("GlobalAveragePool", [x])], axis=1)
    y = g.node("Gemm", [x, g.weight(1000, 2048), g.weight(1000)], transB=1)
    return g.model({"image": ["batch", 3, 224, 224]}, [y], opset=17)


def mobilenetv2_model() -> onnx.ModelProto:
    g = Graph()
    x = g.relu6(g.conv_bn("image", 3, 32, 3, 2))
    cin = 32
    for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = cin * t
            out = x if t == 1 else g.relu6(g.conv_bn(x, cin, hidden, 1))
            out = g.relu6(g.conv_bn(out, hidden, hidden, 3, stride, groups=hidden))
            out = g.conv_bn(out, hidden, c, 1)
            x = g.node("Add", [x, out]) if stride == 1 and cin == c else out  # x + conv(x)
            cin = c
    x = g.relu6(g.conv_bn(x, 320, 1280, 1))
    x = g.node("ReduceMean", [x, g.const([2, 3])], keepdims=0)  # opset 18: axes as an input
    y = g.node("Gemm", [x, g.weight(1000, 1280), g.weight(1000)], transB=1)
    return g.model({"image": ["batch", 3, 224, 224]}, [y], opset=18)


def vit_b16_model() -> onnx.ModelProto:
    g = Graph()
    d, seq = 768, 197
    x = g.node("Conv", ["image", g.weight(d, 3, 16, 16), g.weight(d)], kernel_shape=[16, 16],
               strides=[16, 16])
    x = g.node("Transpose", [g.node("Reshape", [x, g.const([0, d, -1])])], perm=[0, 2, 1])
    batch = g.node("Shape", [x], start=0, end=1)
    cls = g.node("Expand", [g.weight(1, 1, d), g.node("Concat", [batch, g.const([1, d])], axis=0)])
    x = g.node("Add", [g.node("Concat", [cls, x], axis=1), g.weight(1, seq, d)])
    for _ in range(12):
        h = g.node("LayerNormalization", [x, g.weight(d), g.weight(d)], axis=-1)
        x = g.node("Add", [g.attention(h, seq, d, 12, scale_op="Mul"), x])
        h = g.node("LayerNormalization", [x, g.weight(d), g.weight(d)], axis=-1)
        h = g.linear(g.node("Gelu", [g.linear(h, d, 3072)]), 3072, d)
        x = g.node("Add", [h, x])
    x = g.node("LayerNormalization", [x, g.weight(d), g.weight(d)], axis=-1)
    x = g.node("Gather", [x, g.const(0)], axis=1)
    y = g.node("Gemm", [x, g.weight(1000, d), g.weight(1000)], transB=1)
    return g.model({"image": ["batch", 3, 224, 224]}, [y], opset=20)


def bert_base_model() -> onnx.ModelProto:
    g = Graph()
    d, seq = 768, 128
    words = g.node("Gather", [g.weight(30522, d), "input_ids"])
    types = g.node("Gather", [g.weight(2, d), "token_type_ids"])
    x = g.node("Add", [words, types])
    x = g.node("Add", [x, g.node("Gather", [g.weight(512, d), "position_ids"])])
    x = g.layer_norm_decomposed(x, d)
    for _ in range(12):
        h = g.node("Add", [g.attention(x, seq, d, 12, scale_op="Div"), x])
        x = g.layer_norm_decomposed(h, d)
        h = g.linear(g.gelu_erf(g.linear(x, d, 3072)), 3072, d)
        x = g.layer_norm_decomposed(g.node("Add", [h, x]), d)
    pooled = g.node("Gather", [x, g.const(0)], axis=1)
    pooled = g.node("Tanh", [g.node("Gemm", [pooled, g.weight(d, d), g.weight(d)], transB=1)])
    ints = {"input_ids": TensorProto.INT64, "token_type_ids": TensorProto.INT64,
            "position_ids": TensorProto.INT64}
    return g.model({"input_ids": ["batch", seq], "token_type_ids": ["batch", seq],
                    "position_ids": [1, seq]}, [x, pooled], opset=13, elem=ints)


CASES = {
    "resnet50": (resnet50_model, zoo.resnet50),
    "mobilenetv2": (mobilenetv2_model, zoo.mobilenetv2),
    "vit-b16": (vit_b16_model, lambda: zoo.vit(name="vit-b16")),
    "bert-base": (bert_base_model, zoo.bert_base),
}


@pytest.mark.parametrize("name", CASES)
def test_full_size_patterns_match_the_zoo_exactly(name):
    make, reference = CASES[name]
    net = load_onnx(make(), read_weights=False, name=name)
    ref = reference()
    assert net.macs == ref.macs
    assert net.params == ref.params
    kinds = lambda n: sorted(op.kind.value for op in n.ops if op.kind.value not in  # noqa: E731
                             ("reshape", "transpose"))
    assert kinds(net) == kinds(ref)
    assert len(net.fused()) == len(ref.fused())


def test_published_totals():
    # torchvision's model cards: ResNet-50 25.557 M params, 4.09 GFLOPS (MACs); MobileNetV2
    # 3.505 M, 0.30 GFLOPS; ViT-B/16 86.568 M, 17.56 GFLOPS. BERT-base: "110 M" (Devlin et al.),
    # 109,482,240 counted in Hugging Face's bert-base-uncased with its pooler.
    nets = {name: load_onnx(make(), read_weights=False) for name, (make, _) in CASES.items()}
    assert nets["resnet50"].params == 25_557_032
    assert nets["mobilenetv2"].params == 3_504_872
    assert nets["vit-b16"].params == 86_567_656
    assert round(nets["resnet50"].macs / 1e9, 2) == 4.09
    assert round(nets["mobilenetv2"].macs / 1e9, 2) == 0.30
    assert abs(nets["vit-b16"].macs / 1e9 - 17.56) / 17.56 < 0.01
    assert nets["bert-base"].params == 109_482_240
