"""The figures the zoo's networks are checked against, each once, with its source: parameter
and MAC counts published by the networks' authors or reference implementations.

`tests/workloads/test_zoo*.py` assert them and `sim.zoo_fidelity` writes them as rows of the
fidelity table. Each record says what was published (the figure, its value in its unit, how it
was rounded) and which builder, with which arguments, it is compared with; `counted(net)`
gives the network's own count in the published unit, `holds(net)` whether it agrees.

A count "agrees" as its source rounds: an exact count (torchvision's `num_params`) must be equal;
a rounded one (1.81 G MACs) must round to it, within half a unit of its last digit; Darknet's
BFLOPs, which add a few element-wise ops to 2 x MACs, within a stated ratio. The TF-slim
MobileNetV2 table, which truncates, lives beside its model (`mobilenet.TF_SLIM_MOBILENETV2_MMACS`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

import workloads.zoo as zoo
from workloads.network import Network

TORCHVISION = "torchvision model docs (IMAGENET1K weights)"
TIMM = "timm deit_*_patch16_224 / DeiT (arXiv 2012.12877) Table 1"
MCUNET = "mit-han-lab/mcunet README, model lists"
DARKNET = "AlexeyAB/darknet README, yolov4.cfg BFLOPs"
PYTORCH_CIFAR = "kuangliu/pytorch-cifar models/resnet.py ResNet18 (torchsummary: 11,173,962)"
MOBILENETS = "MobileNets (arXiv 1704.04861) Table 8, 1.0 MobileNet-224"


class Quantity(enum.Enum):
    """What a published figure counts."""

    PARAMS = "parameters"
    MACS = "MACs"
    FLOPS = "FLOPs (2 x MACs)"


@dataclass(frozen=True, kw_only=True)
class PublishedCount:
    """One published count of one zoo network.

    `value` is in units of `scale` (1.81 with scale 1e9 is 1.81 G MACs). The count agrees when
    it is within `half_unit` of `value` (0: exact; half a unit of the last published digit for a
    rounded figure), or, when `band_pct` is set, within that many percent of it.
    """

    model: str
    """The workload's registered name (`edgesim list`)."""
    build: Callable[[], Network]
    """Builds the network as published (the builder with the published arguments)."""
    quantity: Quantity
    value: float
    scale: float = 1.0
    half_unit: float = 0.0
    band_pct: float | None = None
    source: str

    def counted(self, net: Network) -> float:
        """`net`'s own count of `quantity`, in the published unit (FLOPs are 2 x MACs)."""
        if self.quantity is Quantity.PARAMS:
            count = net.params
        elif self.quantity is Quantity.MACS:
            count = net.macs
        else:
            count = 2 * net.macs
        return count / self.scale if self.scale != 1.0 else count

    def holds(self, net: Network) -> bool:
        """Whether `net`'s count agrees with the published one as its source rounds."""
        error = abs(self.counted(net) - self.value)
        if self.band_pct is not None:
            return error <= self.band_pct / 100 * self.value
        return error <= self.half_unit


def _params(model: str, build: Callable[[], Network], value: int, source: str) -> PublishedCount:
    return PublishedCount(model=model, build=build, quantity=Quantity.PARAMS, value=value,
                          source=source)


def _gmacs(model: str, build: Callable[[], Network], value: float, half_unit: float,
           source: str) -> PublishedCount:
    return PublishedCount(model=model, build=build, quantity=Quantity.MACS, value=value,
                          scale=1e9, half_unit=half_unit, source=source)


PARAMETER_COUNTS: tuple[PublishedCount, ...] = (
    # torchvision model docs, `num_params` of the IMAGENET1K weights
    # (pytorch.org/vision/stable/models/generated/torchvision.models.<name>.html):
    _params("resnet18", zoo.resnet18, 11_689_512, TORCHVISION),
    _params("resnet50", zoo.resnet50, 25_557_032, TORCHVISION),
    _params("mobilenetv2", zoo.mobilenetv2, 3_504_872, TORCHVISION),
    _params("vgg16", zoo.vgg16, 138_357_544, TORCHVISION),
    # timm deit_{tiny,small,base}_patch16_224 (= timm vit_{tiny,small,base}_patch16_224, same
    # architecture); the base count is also torchvision's vit_b_16 `num_params` 86,567,656:
    _params("deit-tiny", zoo.deit_tiny, 5_717_416, TIMM),
    _params("deit-small", zoo.deit_small, 22_050_664, TIMM),
    _params("deit-base", zoo.deit_base, 86_567_656, f"{TIMM}; torchvision vit_b_16"),
    # Hugging Face BertModel.from_pretrained("bert-base-uncased"), pooler included (the
    # TFBertModel summary prints 109,482,240):
    _params("bert-base", zoo.bert_base, 109_482_240, "Hugging Face bert-base-uncased BertModel"),
    # pytorchcv's proxylessnas.py test asserts 4,080,512 weights for proxylessnas_mobile, built
    # from the released net config (BN scale and shift counted, as here):
    _params("proxylessnas-mobile", zoo.proxylessnas_mobile, 4_080_512,
            "pytorchcv proxylessnas_mobile"),
    _params("efficientnet-b0", zoo.efficientnet_b0, 5_288_548, TORCHVISION),
    # PyTorch ports of yolov4.cfg (80 classes) print 64,363,101 parameters (BN included):
    _params("yolov4", zoo.yolov4, 64_363_101, "PyTorch ports of yolov4.cfg (80 classes)"),
    _params("resnet18-cifar", zoo.resnet18_cifar, 11_173_962, PYTORCH_CIFAR),
)
"""Exact parameter counts (BN scale and shift included, as the sources count them)."""

MAC_COUNTS: tuple[PublishedCount, ...] = (
    # torchvision model docs, "GFLOPS" (conv/linear MACs; two decimals, so +-0.005 G):
    _gmacs("resnet18", zoo.resnet18, 1.81, 0.005, TORCHVISION),
    _gmacs("resnet50", zoo.resnet50, 4.09, 0.005, TORCHVISION),
    _gmacs("mobilenetv2", zoo.mobilenetv2, 0.30, 0.005, TORCHVISION),
    _gmacs("vgg16", zoo.vgg16, 15.47, 0.005, TORCHVISION),
    # DeiT paper (Touvron et al., arXiv 2012.12877) Table 1 "FLOPs" (one decimal, +-0.05 G);
    # timm's model cards give the same figures as GMACs (deit_small_patch16_224: 4.6):
    _gmacs("deit-tiny", zoo.deit_tiny, 1.3, 0.05, TIMM),
    _gmacs("deit-small", zoo.deit_small, 4.6, 0.05, TIMM),
    _gmacs("deit-base", zoo.deit_base, 17.6, 0.05, TIMM),
    # torchvision efficientnet_b0 (IMAGENET1K_V1): 0.39 GFLOPS; paper Table 1/2: 0.39B FLOPs.
    _gmacs("efficientnet-b0", zoo.efficientnet_b0, 0.39, 0.005,
           f"{TORCHVISION}; EfficientNet (arXiv 1905.11946) Table 1"),
)
"""MAC counts rounded to the published digits (G MACs)."""


def _mcunet(model: str, build: Callable[[], Network], mmacs: float, mparams: float
            ) -> tuple[PublishedCount, PublishedCount]:
    return (PublishedCount(model=model, build=build, quantity=Quantity.MACS, value=mmacs,
                           scale=1e6, half_unit=0.05, source=MCUNET),
            PublishedCount(model=model, build=build, quantity=Quantity.PARAMS, value=mparams,
                           scale=1e6, half_unit=0.005, source=MCUNET))


MCUNET_README: tuple[PublishedCount, ...] = (
    # mit-han-lab/mcunet README, "ImageNet model list" and "VWW model list": MACs to 0.1 M and
    # parameters to 0.01 M; the baselines of the same table ("mbv2-320kB", "proxyless-320kB").
    *_mcunet("mcunet-in0", zoo.mcunet_in0, 6.4, 0.75),
    *_mcunet("mcunet-in1", zoo.mcunet_in1, 12.8, 0.64),
    *_mcunet("mcunet-in2", zoo.mcunet_in2, 67.3, 0.73),
    *_mcunet("mcunet-in3", zoo.mcunet_in3, 81.8, 0.74),
    *_mcunet("mcunet-in4", zoo.mcunet_in4, 125.9, 1.73),
    *_mcunet("mcunet-vww0", zoo.mcunet_vww0, 6.0, 0.37),
    *_mcunet("mcunet-vww1", zoo.mcunet_vww1, 11.6, 0.43),
    *_mcunet("mcunet-vww2", zoo.mcunet_vww2, 55.8, 0.64),
    *_mcunet("mbv2-w0.35", zoo.mbv2_w035, 23.5, 0.75),
    *_mcunet("proxyless-w0.3", zoo.proxyless_w03, 38.3, 0.75),
)
"""The MCUNet family and its baselines: each network's MACs then its parameters (M)."""


PAPER_COUNTS: tuple[PublishedCount, ...] = (
    # MobileNets (Howard et al., arXiv 1704.04861), Table 8 (and Table 1's note): 1.0
    # MobileNet-224 has 569 million mult-adds and 4.2 million parameters, printed to whole
    # millions and to 0.1 million (TF-slim's mobilenet_v1_1.0_224 is the same network).
    PublishedCount(model="mobilenet-v1", build=zoo.mobilenet_v1, quantity=Quantity.MACS,
                   value=569, scale=1e6, half_unit=0.5, source=MOBILENETS),
    PublishedCount(model="mobilenet-v1", build=zoo.mobilenet_v1, quantity=Quantity.PARAMS,
                   value=4.2, scale=1e6, half_unit=0.05, source=MOBILENETS),
)
"""Counts a paper prints in millions, rounded to its last digit (M MACs, M parameters).

MobileBERT (`mobilebert`) has none here: its paper and the TF Model Garden README give 25.3 M
parameters, against 24,581,888 for the encoder of the released Hugging Face checkpoint that
`zoo.mobilebert` builds (what the extra 0.7 M count is, neither says); the builder is checked by
a hand count instead (tests/workloads/test_zoo_mobile.py)."""


def _darknet(resolution: int, bflops: float) -> PublishedCount:
    return PublishedCount(model="yolov4", build=lambda: zoo.yolov4(resolution=resolution),
                          quantity=Quantity.FLOPS, value=bflops, scale=1e9, band_pct=0.2,
                          source=DARKNET)


DARKNET_YOLOV4_INPUTS_PX = (608, 512, 416, 320)
"""The input sizes (px, square) of the Darknet README's yolov4.cfg BFLOPs, in its order."""
DARKNET_YOLOV4_FLOPS: tuple[PublishedCount, ...] = tuple(
    _darknet(px, bflops) for px, bflops in zip(DARKNET_YOLOV4_INPUTS_PX, (128.5, 91.1, 60.1, 35.5)))
"""yolov4.cfg BFLOPs by input size. Darknet counts 2 FLOPs per conv MAC and adds its shortcut
layers' element adds (about 0.03 BFLOPs at 608), so 2 x MACs is held to it within 0.2 %."""


def published(model: str, quantity: Quantity) -> PublishedCount:
    """The one record of `model`'s published `quantity` among the tables above (not Darknet's,
    which has one per input size); KeyError if there is none."""
    found = [c for c in (*PARAMETER_COUNTS, *MAC_COUNTS, *MCUNET_README, *PAPER_COUNTS)
             if c.model == model and c.quantity is quantity]
    if len(found) != 1:
        raise KeyError(f"{len(found)} published {quantity.value} figures for {model!r}")
    return found[0]
