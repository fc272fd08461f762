"""EfficientNet-B0 as torchvision builds it.

Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks", ICML 2019,
arXiv 1905.11946, Table 1 (the B0 baseline: MBConv blocks with squeeze-and-excitation and SiLU,
224x224). The paper gives 0.39B FLOPs and 5.3M parameters; torchvision's ``efficientnet_b0``
docs give 0.39 GFLOPS and 5,288,548 parameters. Op names are torchvision's:
``features.{stage}.{i}.block.{j}`` for the expand conv, the depthwise conv, the SE module
(``avgpool``, ``fc1``, ``activation``, ``fc2``, ``scale_activation``, then the scaling ``mul``)
and the projection; stochastic depth and dropout are training-only and omitted.
"""

from __future__ import annotations

from workloads.network import Network, NetworkBuilder
from workloads.ops import Activation, PoolMode
from workloads.zoo._common import check_int, check_resolution, conv_bn_act, pooled_classifier

# Paper Table 1 / torchvision `_efficientnet_conf("efficientnet_b0")`:
# (expand ratio, kernel, first stride, out channels, layers).
_B0_STAGES = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
)
_STEM_CHANNELS = 32
_HEAD_CHANNELS = 1280
_SE_RATIO = 0.25
"""Squeeze width over the block's *input* channels (torchvision: `input_channels // 4`)."""


def _squeeze_excitation(b: NetworkBuilder, x: str, prefix: str, squeeze: int) -> str:
    """torchvision `SqueezeExcitation`: x * sigmoid(fc2(silu(fc1(avgpool(x))))), 1x1 convs."""
    channels = b.shape(x)[1]
    s = b.global_pool(x, PoolMode.AVG, name=f"{prefix}.avgpool")
    s = b.conv2d(s, squeeze, 1, bias=True, name=f"{prefix}.fc1")
    s = b.act(s, Activation.SILU, name=f"{prefix}.activation")
    s = b.conv2d(s, channels, 1, bias=True, name=f"{prefix}.fc2")
    s = b.act(s, Activation.SIGMOID, name=f"{prefix}.scale_activation")
    # The feature map first: its (N, C, H, W) shape is the product's; the scale broadcasts.
    return b.mul(x, s, name=f"{prefix}.scale")


def _mbconv(b: NetworkBuilder, x: str, prefix: str, expand: int, kernel: int, stride: int,
            out_channels: int) -> str:
    in_channels = b.shape(x)[1]
    hidden = in_channels * expand
    out, j = x, 0
    if expand != 1:
        out = conv_bn_act(b, out, f"{prefix}.block.{j}", hidden, 1, act=Activation.SILU)
        j += 1
    out = conv_bn_act(b, out, f"{prefix}.block.{j}", hidden, kernel, stride=stride,
                      groups=hidden, act=Activation.SILU)
    out = _squeeze_excitation(b, out, f"{prefix}.block.{j + 1}",
                              max(1, int(in_channels * _SE_RATIO)))
    out = conv_bn_act(b, out, f"{prefix}.block.{j + 2}", out_channels, 1, act=None)
    if stride == 1 and in_channels == out_channels:
        out = b.add(out, x, name=f"{prefix}.add")
    return out


def efficientnet_b0(*, batch: int = 1, resolution: int = 224, num_classes: int = 1000) -> Network:
    """EfficientNet-B0, torchvision layout (Tan & Le, "EfficientNet", arXiv 1905.11946).

    Stem 3x3 s2 conv to 32 channels, 16 MBConv blocks with squeeze-and-excitation (squeeze to a
    quarter of each block's input channels), a 1x1 head to 1280 channels, global average pool
    and a linear classifier; SiLU throughout. Input "image" (batch, 3, resolution, resolution);
    output (batch, num_classes). Raises SpecError for resolution < 32, batch < 1 or
    num_classes < 1.
    """
    check_int("efficientnet-b0", "batch", batch, 1)
    check_resolution("efficientnet-b0", resolution, 32, "the network's total stride")
    check_int("efficientnet-b0", "num_classes", num_classes, 1)
    b = NetworkBuilder(
        "efficientnet-b0",
        description=f"EfficientNet-B0 (torchvision), {resolution}x{resolution}, batch {batch}, "
        f"{num_classes} classes",
    )
    x = b.input("image", (batch, 3, resolution, resolution))
    x = conv_bn_act(b, x, "features.0", _STEM_CHANNELS, 3, stride=2, act=Activation.SILU)
    for stage, (expand, kernel, stride, channels, layers) in enumerate(_B0_STAGES, start=1):
        for i in range(layers):
            x = _mbconv(b, x, f"features.{stage}.{i}", expand, kernel, stride if i == 0 else 1,
                        channels)
    x = conv_bn_act(b, x, f"features.{len(_B0_STAGES) + 1}", _HEAD_CHANNELS, 1,
                    act=Activation.SILU)
    pooled_classifier(b, x, num_classes, linear_name="classifier.1")
    return b.build()
