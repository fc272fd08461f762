"""Make the small real ONNX exports that tests/workloads/test_onnx_exports.py imports.

Run with a Python that has torch (and onnxscript, for the dynamo exporter; onnxruntime for the
quantized models):

    python tests/data/onnx/make_exports.py

torch is not an edgesim dependency: the tests read only the committed .onnx files. Each model is
written in plain torch with the layout of the reference implementation it stands for
(torchvision's ResNet and MobileNetV2, a ViT with Hugging Face-style attention, a BERT-style
encoder on `nn.TransformerEncoder`), at reduced width so each file stays under about 200 kB, and
is exported twice: with the TorchScript-based exporter (``dynamo=False``) and with the
`torch.export`-based one (``dynamo=True``). The zoo builder of the same shape, named in
`MODELS`, is what the tests compare against. Weights are seeded (`torch.manual_seed(0)`), so a
re-run writes the same graphs. Examples have batch 2, so that the dynamo exporter keeps the batch
dim symbolic (torch.export specialises a size-1 dim).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import torch
from torch import nn

HERE = Path(__file__).resolve().parent


def _make_divisible(value: float, divisor: int = 8) -> int:
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


# --- ResNet-18 (torchvision BasicBlock layout) -----------------------------------------------


class BasicBlock(nn.Module):
    def __init__(self, cin: int, width: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.downsample = None
        if stride != 1 or cin != width:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, width, 1, stride, bias=False), nn.BatchNorm2d(width)
            )

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNet18(nn.Module):
    def __init__(self, width: float, num_classes: int) -> None:
        super().__init__()
        widths = [int(64 * width * 2**i) for i in range(4)]
        self.conv1 = nn.Conv2d(3, widths[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        layers, cin = [], widths[0]
        for stage, w in enumerate(widths):
            blocks = []
            for i in range(2):
                blocks.append(BasicBlock(cin, w, 2 if stage and not i else 1))
                cin = w
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# --- MobileNetV2 (torchvision layout: the residual is `x + self.conv(x)`) ----------------------


def _conv_bn_act(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, t: int) -> None:
        super().__init__()
        hidden = int(round(cin * t))
        layers = [] if t == 1 else [_conv_bn_act(cin, hidden, 1)]
        layers += [
            _conv_bn_act(hidden, hidden, 3, stride, hidden),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)
        self.use_res = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2(nn.Module):
    STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
              (6, 160, 3, 2), (6, 320, 1, 1))  # fmt: skip

    def __init__(self, width: float, num_classes: int) -> None:
        super().__init__()
        cin = _make_divisible(32 * width)
        features = [_conv_bn_act(3, cin, 3, 2)]
        for t, c, n, s in self.STAGES:
            for i in range(n):
                cout = _make_divisible(c * width)
                features.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        head = _make_divisible(1280 * width)  # MCUNet's scaled head (the zoo's scale_head=True)
        features.append(_conv_bn_act(cin, head, 1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(head, num_classes))

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


# --- ViT with Hugging Face-style attention (separate query/key/value) -------------------------


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.q, self.k, self.v, self.proj = (nn.Linear(dim, dim) for _ in range(4))

    def forward(self, x):
        n, length, dim = x.shape
        h, d = self.heads, dim // self.heads
        q = self.q(x).view(n, length, h, d).permute(0, 2, 1, 3)
        k = self.k(x).view(n, length, h, d).permute(0, 2, 3, 1)
        v = self.v(x).view(n, length, h, d).permute(0, 2, 1, 3)
        probs = torch.softmax((q @ k) * self.scale, dim=-1)
        ctx = (probs @ v).permute(0, 2, 1, 3).reshape(n, length, dim)
        return self.proj(ctx)


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x):
        x = self.attn(self.norm1(x)) + x
        return self.mlp(self.norm2(x)) + x


class ViT(nn.Module):
    def __init__(self, resolution, patch, dim, depth, heads, hidden, num_classes) -> None:
        super().__init__()
        tokens = (resolution // patch) ** 2
        self.patch_embed = nn.Conv2d(3, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, tokens + 1, dim) * 0.02)
        self.blocks = nn.Sequential(*(Block(dim, heads, hidden) for _ in range(depth)))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([x, self.cls_token.expand(x.shape[0], -1, -1)], dim=1) + self.pos_embed
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])


# --- BERT-style encoder on nn.TransformerEncoder ----------------------------------------------


class Bert(nn.Module):
    def __init__(self, vocab, hidden, layers, heads, ffn, max_positions) -> None:
        super().__init__()
        self.word = nn.Embedding(vocab, hidden)
        self.token_type = nn.Embedding(2, hidden)
        self.position = nn.Embedding(max_positions, hidden)
        self.norm = nn.LayerNorm(hidden)
        layer = nn.TransformerEncoderLayer(hidden, heads, ffn, dropout=0.1, activation="gelu",
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.pooler = nn.Linear(hidden, hidden)

    def forward(self, input_ids, token_type_ids, position_ids):
        x = self.word(input_ids) + self.token_type(token_type_ids)
        x = self.norm(x + self.position(position_ids))
        x = self.encoder(x)
        return x, torch.tanh(self.pooler(x[:, 0]))


MODELS = {
    # file stem: (module, example inputs, input names, the zoo call the tests compare against)
    "resnet18_w0.0625": (
        lambda: ResNet18(width=1 / 16, num_classes=10),
        lambda: (torch.randn(2, 3, 32, 32),), ["image"],
        "resnet18(width=0.0625, resolution=32, num_classes=10)",
    ),
    "mobilenetv2_w0.05": (
        lambda: MobileNetV2(width=0.05, num_classes=10),
        lambda: (torch.randn(2, 3, 32, 32),), ["image"],
        "mobilenetv2(width=0.05, resolution=32, num_classes=10, scale_head=True)",
    ),
    "vit_d32": (
        lambda: ViT(resolution=32, patch=8, dim=32, depth=2, heads=2, hidden=64, num_classes=10),
        lambda: (torch.randn(2, 3, 32, 32),), ["image"],
        "vit(resolution=32, patch=8, dim=32, depth=2, heads=2, mlp_ratio=2.0, num_classes=10)",
    ),
    "bert_d32": (
        lambda: Bert(vocab=100, hidden=32, layers=2, heads=2, ffn=64, max_positions=64),
        lambda: (torch.randint(0, 100, (2, 16)), torch.zeros(2, 16, dtype=torch.long),
                 torch.arange(16).unsqueeze(0)),
        ["input_ids", "token_type_ids", "position_ids"],
        "bert(vocab=100, hidden=32, layers=2, heads=2, ffn=64, max_positions=64, seq_len=16)",
    ),
}

PRUNED = {"resnet18_w0.0625_pruned75": "resnet18_w0.0625"}
"""Exported with the legacy exporter only, after torch.nn.utils.prune.l1_unstructured removed 75 %
of every conv's and the classifier's weights (the issue's "a 75 %-pruned ResNet-18")."""

LEGACY_OPSET = {"vit_d32": 14}
"""Opsets for the legacy exporter (default 17): ViT at 14, before LayerNormalization existed,
so its file has the decomposed norm (ReduceMean, Sub, Pow, Sqrt, Div) the importer recognises."""


def _trained_like(module: nn.Module) -> None:
    """Random weights and batch-norm statistics, as a trained model has.

    Freshly built modules have all-zero biases (attention projections) and identity batch norms,
    which the exporters' optimisers drop or share between layers: a trained network keeps them.
    """
    with torch.no_grad():
        for param in module.parameters():
            param.copy_(torch.rand_like(param) * 0.2 + 0.05)  # in [0.05, 0.25): never zero
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)


def _strip_metadata(path: Path) -> None:
    """Drop the per-node stack traces the dynamo exporter records (they double the file size),
    keeping the module names (`pkg.torch.onnx.name_scopes`) the importer names ops by."""
    import onnx

    model = onnx.load(str(path))
    for node in model.graph.node:
        node.doc_string = ""
        kept = [(p.key, p.value) for p in node.metadata_props
                if p.key == "pkg.torch.onnx.name_scopes"]
        del node.metadata_props[:]
        for key, value in kept:
            entry = node.metadata_props.add()
            entry.key, entry.value = key, value
    onnx.save(model, str(path))


def _pruned(module: nn.Module, amount: float) -> None:
    from torch.nn.utils import prune

    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            prune.l1_unstructured(m, "weight", amount=amount)
            prune.remove(m, "weight")  # bake the mask into the weight, as a deployed model has


def export(stem: str, dynamo: bool) -> Path:
    base = PRUNED.get(stem, stem)
    make, example, names, _ = MODELS[base]
    torch.manual_seed(0)
    module = make().eval()
    _trained_like(module)
    if stem in PRUNED:
        _pruned(module, 0.75)
    args = example()
    path = HERE / f"{stem}.{'dynamo' if dynamo else 'legacy'}.onnx"
    if dynamo:
        batch = torch.export.Dim("batch", min=1, max=1024)
        dims = tuple({0: batch} if name != "position_ids" else None for name in names)
        program = torch.onnx.export(module, args, dynamo=True, input_names=names,
                                    dynamic_shapes=dims, optimize=True, verbose=False)
        program.save(str(path))
        _strip_metadata(path)
    else:
        axes = {name: {0: "batch"} for name in names if name != "position_ids"}
        torch.onnx.export(module, args, str(path), dynamo=False, input_names=names,
                          dynamic_axes=axes, opset_version=LEGACY_OPSET.get(stem, 17))
    return path


def quantize_with_onnxruntime() -> list[Path]:
    """onnxruntime's quantizers on the legacy exports; [] when onnxruntime is not installed.

    The ResNet statically, in QDQ format and in QOperator format (QLinearConv, and the
    com.microsoft QLinearAdd, QLinearGlobalAveragePool and QGemm), int8 per-channel weights and
    uint8 activations calibrated on 4 seeded random images; the BERT-style encoder dynamically
    (DynamicQuantizeLinear + MatMulInteger, int8 weights).
    """
    try:
        from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic
    except ImportError:
        return []
    paths = [quantize_static_as(QuantFormat.QDQ, "qdq"), quantize_static_as(QuantFormat.QOperator,
                                                                           "qoperator")]
    path = HERE / "bert_d32.dynamic_int8.onnx"
    quantize_dynamic(str(HERE / "bert_d32.legacy.onnx"), str(path), weight_type=QuantType.QInt8)
    return [*paths, path]


def quantize_static_as(quant_format, suffix: str, stem: str = "resnet18_w0.0625") -> Path:
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantType, quantize_static
    import numpy as np

    class Images(CalibrationDataReader):
        def __init__(self) -> None:
            rng = np.random.default_rng(0)
            self.batches = iter([{"image": rng.random((1, 3, 32, 32), dtype=np.float32)}
                                 for _ in range(4)])

        def get_next(self):
            return next(self.batches, None)

    model = onnx.load(str(HERE / f"{stem}.legacy.onnx"))
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1  # calibration batch
    fixed = HERE / f"{stem}.fixed.tmp.onnx"
    onnx.save(model, str(fixed))
    path = HERE / f"{stem}.{suffix}.onnx"
    try:
        quantize_static(str(fixed), str(path), Images(), quant_format=quant_format,
                        per_channel=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8)
    finally:
        fixed.unlink()
    return path


def main() -> int:
    warnings.filterwarnings("ignore")
    for stem in (*MODELS, *PRUNED):
        for dynamo in (False,) if stem in PRUNED else (False, True):
            try:
                path = export(stem, dynamo)
            except Exception as err:  # report and go on: one failing exporter is a finding
                print(f"{stem} ({'dynamo' if dynamo else 'legacy'}): export failed: {err}")
                continue
            print(f"wrote {path.name} ({path.stat().st_size / 1024:.1f} kB)")
    paths = quantize_with_onnxruntime()
    if not paths:
        print("onnxruntime is not installed: the quantized models were not written")
    for path in paths:
        print(f"wrote {path.name} ({path.stat().st_size / 1024:.1f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
