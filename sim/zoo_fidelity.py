"""The model zoo's rows of the fidelity table (`python -m sim.fidelity`): MACs and parameters of
every zoo model that has published figures, counted from the built networks.

The figures and tolerances are those of tests/workloads/test_zoo.py and test_zoo_published.py:
parameter counts from torchvision, timm, Hugging Face and pytorchcv are exact; a MAC count
passes when it rounds (or, for the TF-slim MobileNetV2 table, truncates) to the published
figure, so its band is half a unit of the last published digit (or [0, one unit)). Every row is
held out: no count is tuned. This contributor lives in `sim` because `workloads` imports
nothing of ours (the FidelityRow type is in sim). PointPillars has no published count (a hand
count is tested instead), so it has no row here.
"""

from __future__ import annotations

from collections.abc import Callable

import workloads.zoo as zoo
from sim.fidelity import FidelityRow, Role
from workloads import Network, OpKind
from workloads.zoo.mobilenet import TF_SLIM_MOBILENETV2_MMACS

TORCHVISION = "torchvision model docs (IMAGENET1K weights)"
TIMM = "timm deit_*_patch16_224 / DeiT (arXiv 2012.12877) Table 1"
MCUNET = "mit-han-lab/mcunet README, model lists"
TF_SLIM = "TF-slim MobileNetV2 checkpoint table (MACs, M)"
DARKNET = "AlexeyAB/darknet README, yolov4.cfg BFLOPs"

PARAMS_EXACT = (
    ("resnet18", zoo.resnet18, 11_689_512, TORCHVISION),
    ("resnet50", zoo.resnet50, 25_557_032, TORCHVISION),
    ("mobilenetv2", zoo.mobilenetv2, 3_504_872, TORCHVISION),
    ("vgg16", zoo.vgg16, 138_357_544, TORCHVISION),
    ("deit-tiny", zoo.deit_tiny, 5_717_416, TIMM),
    ("deit-small", zoo.deit_small, 22_050_664, TIMM),
    ("deit-base", zoo.deit_base, 86_567_656, f"{TIMM}; torchvision vit_b_16"),
    ("bert-base", zoo.bert_base, 109_482_240, "Hugging Face bert-base-uncased BertModel"),
    ("proxylessnas-mobile", zoo.proxylessnas_mobile, 4_080_512, "pytorchcv proxylessnas_mobile"),
    ("efficientnet-b0", zoo.efficientnet_b0, 5_288_548, TORCHVISION),
    ("yolov4", zoo.yolov4, 64_363_101, "PyTorch ports of yolov4.cfg (80 classes)"),
)
"""(model, builder, parameters, source): exact counts."""

GMACS_ROUNDED = (
    ("resnet18", zoo.resnet18, 1.81, 0.005, TORCHVISION),
    ("resnet50", zoo.resnet50, 4.09, 0.005, TORCHVISION),
    ("mobilenetv2", zoo.mobilenetv2, 0.30, 0.005, TORCHVISION),
    ("vgg16", zoo.vgg16, 15.47, 0.005, TORCHVISION),
    ("deit-tiny", zoo.deit_tiny, 1.3, 0.05, TIMM),
    ("deit-small", zoo.deit_small, 4.6, 0.05, TIMM),
    ("deit-base", zoo.deit_base, 17.6, 0.05, TIMM),
    ("efficientnet-b0", zoo.efficientnet_b0, 0.39, 0.005,
     f"{TORCHVISION}; EfficientNet (arXiv 1905.11946) Table 1"),
)
"""(model, builder, G MACs, half a unit of the last digit, source)."""

MCUNET_README = (
    ("mcunet-in0", zoo.mcunet_in0, 6.4, 0.75), ("mcunet-in1", zoo.mcunet_in1, 12.8, 0.64),
    ("mcunet-in2", zoo.mcunet_in2, 67.3, 0.73), ("mcunet-in3", zoo.mcunet_in3, 81.8, 0.74),
    ("mcunet-in4", zoo.mcunet_in4, 125.9, 1.73), ("mcunet-vww0", zoo.mcunet_vww0, 6.0, 0.37),
    ("mcunet-vww1", zoo.mcunet_vww1, 11.6, 0.43),
    ("mcunet-vww2", zoo.mcunet_vww2, 55.8, 0.64), ("mbv2-w0.35", zoo.mbv2_w035, 23.5, 0.75),
    ("proxyless-w0.3", zoo.proxyless_w03, 38.3, 0.75),
)
"""(net_id, builder, M MACs to 0.1, M parameters to 0.01)."""

DARKNET_YOLOV4_BFLOPS = ((608, 128.5), (512, 91.1), (416, 60.1), (320, 35.5))
"""Darknet counts 2 FLOPs a MAC plus its shortcut adds (~0.03 BFLOPs), so 0.2 %."""


def _rounding_band(published: float, half_unit: float) -> tuple[float, float]:
    pct = 100 * half_unit / published
    return (-pct, pct)


def _row(case: str, source: str, quantity: str, unit: str, published: float, simulated: float,
         band: tuple[float, float], note: str = "") -> FidelityRow:
    return FidelityRow(family="zoo", case=case, source=source, quantity=quantity, unit=unit,
                       published_value=float(published), simulated_value=float(simulated),
                       band_pct=band, role=Role.HELD_OUT, note=note)


def _kept_ratio(net: Network) -> float:
    convs = [op for op in net if op.kind is OpKind.CONV2D]
    weights = [op.weight_shape[0] * op.weight_shape[1] * op.weight_shape[2] * op.weight_shape[3]
               for op in convs]
    return sum(weights) / sum(w * op.compression.density for w, op in zip(weights, convs))


def rows(*, fast: bool = False) -> list[FidelityRow]:
    """Every count (building the networks takes about a second, so `fast` keeps them all)."""
    built: dict[str, Network] = {}

    def net(name: str, build: Callable[[], Network]) -> Network:
        if name not in built:
            built[name] = build()
        return built[name]

    out = []
    for name, build, params, source in PARAMS_EXACT:
        out.append(_row(f"{name}-params", source, f"{name} parameters", "parameters", params,
                        net(name, build).params, (0.0, 0.0)))
    for name, build, gmacs, half, source in GMACS_ROUNDED:
        out.append(_row(f"{name}-macs", source, f"{name} MACs", "G MACs", gmacs,
                        net(name, build).macs / 1e9, _rounding_band(gmacs, half)))
    for name, build, mmacs, mparams in MCUNET_README:
        n = net(name, build)
        out.append(_row(f"{name}-macs", MCUNET, f"{name} MACs", "M MACs", mmacs, n.macs / 1e6,
                        _rounding_band(mmacs, 0.05)))
        out.append(_row(f"{name}-params", MCUNET, f"{name} parameters", "M parameters", mparams,
                        n.params / 1e6, _rounding_band(mparams, 0.005)))
    for (width, res), mmacs in sorted(TF_SLIM_MOBILENETV2_MMACS.items()):
        n = zoo.mobilenetv2(width=width, resolution=res)
        out.append(_row(f"mobilenetv2-w{width:g}-r{res}-macs", TF_SLIM,
                        f"MobileNetV2 width {width:g}, {res}x{res} MACs", "M MACs", mmacs,
                        n.macs / 1e6, (0.0, 100.0 / mmacs),
                        note="the table truncates to whole millions: [published, published + 1)"))
    for res, bflops in DARKNET_YOLOV4_BFLOPS:
        n = zoo.yolov4(resolution=res)
        out.append(_row(f"yolov4-r{res}-flops", DARKNET, f"YOLOv4 {res}x{res} FLOPs (2 x MACs)",
                        "G FLOPs", bflops, 2 * n.macs / 1e9, (-0.2, 0.2),
                        note="Darknet also counts its shortcut adds (about 0.03 BFLOPs)"))
    out.append(_row("yolobile-compression", "YOLObile (arXiv 2009.05697) abstract: 14x",
                    "YOLObile conv weights / kept weights (released block-punched ratios)", "x",
                    14.0, _kept_ratio(zoo.yolobile()), (-0.1, 0.1),
                    note="the released ratios are rounded to 0.01 and 1/16"))
    return out
