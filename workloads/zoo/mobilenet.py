"""Inverted-residual networks: the generic builder, and MobileNetV2 as torchvision builds it.

MobileNetV2: Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
arXiv 1801.04381. The same block (1x1 expand - kxk depthwise - 1x1 linear project, residual add
when stride 1 and in == out) is the search space of MCUNet's TinyNAS, so `inverted_residual_net`
builds both from a block list.

Op names follow torchvision's MobileNetV2: ``features.0`` is the stem, ``features.{i}`` the i-th
block (``features.{i}.conv.0.0`` the expand conv, ...), ``features.{n+1}`` the 1x1 head conv,
``classifier.1`` the linear layer (``classifier.0`` is torchvision's dropout, a no-op at inference).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from workloads.errors import SpecError
from workloads.network import Network, NetworkBuilder
from workloads.ops import NormKind
from workloads.zoo._common import (
    check_int,
    check_positive,
    check_resolution,
    conv_bn_act,
    make_divisible,
    pooled_classifier,
)

_KERNELS = (3, 5, 7)
_STRIDES = (1, 2)


@dataclass(frozen=True, kw_only=True)
class IRBlock:
    """One inverted-residual (MBConv) block. Frozen; validated on construction.

    The expanded width is ``round(in_channels * expand_ratio)`` of the block's input, as in
    torchvision's `InvertedResidual` and the MCUNet configs (whose ``mid_channels`` equal it).
    """

    expand_ratio: float
    """Expansion of the 1x1 conv, > 0; 1 means no expansion conv (the block starts depthwise)."""
    out_channels: int
    """Channels after the 1x1 linear projection, >= 1."""
    kernel: int
    """Depthwise kernel size in pixels: 3, 5 or 7."""
    stride: int
    """Depthwise stride: 1 or 2. Stride 1 with equal in/out channels adds the residual."""

    def __post_init__(self) -> None:
        check_positive("IRBlock", "expand_ratio", self.expand_ratio)
        check_int("IRBlock", "out_channels", self.out_channels, 1)
        if self.kernel not in _KERNELS:
            raise SpecError(f"IRBlock: 'kernel' must be one of {_KERNELS} (got {self.kernel!r})")
        if self.stride not in _STRIDES:
            raise SpecError(f"IRBlock: 'stride' must be one of {_STRIDES} (got {self.stride!r})")


def _inverted_residual(b: NetworkBuilder, x: str, prefix: str, block: IRBlock) -> str:
    in_channels = b.shape(x)[1]
    hidden = int(round(in_channels * block.expand_ratio))
    if hidden < 1:
        raise SpecError(
            f"{prefix}: expand_ratio {block.expand_ratio} on {in_channels} input channels "
            f"leaves {hidden} expanded channels; use a ratio >= {0.5 / in_channels:.3g}"
        )
    out, index = x, 0
    if block.expand_ratio != 1:
        out = conv_bn_act(b, out, f"{prefix}.conv.0", hidden, 1)
        index = 1
    out = conv_bn_act(b, out, f"{prefix}.conv.{index}", hidden, block.kernel,
                      stride=block.stride, groups=hidden)
    out = b.conv2d(out, block.out_channels, 1, name=f"{prefix}.conv.{index + 1}")
    out = b.norm(out, NormKind.BATCH, name=f"{prefix}.conv.{index + 2}")  # linear bottleneck
    if block.stride == 1 and in_channels == block.out_channels:
        # Projection output first, as in the paper's figure; `Network.fused` folds the add into
        # the projection whichever operand order is used (torchvision writes `x + conv(x)`).
        out = b.add(out, x, name=f"{prefix}.add")
    return out


def inverted_residual_net(
    blocks: Iterable[IRBlock],
    *,
    name: str,
    batch: int,
    resolution: int,
    in_channels: int = 3,
    stem_channels: int,
    head_channels: int | None,
    num_classes: int,
    description: str = "",
) -> Network:
    """A stem, a chain of inverted-residual blocks, an optional 1x1 head conv and a classifier.

    Stem: 3x3 conv stride 2 + BN + ReLU6. Head (when `head_channels` is not None): 1x1 conv + BN
    + ReLU6. Then global average pool, flatten, linear with bias. Input "image" is
    (batch, in_channels, resolution, resolution) pixels; output (batch, num_classes).

    Raises SpecError when `blocks` is empty or holds a non-IRBlock, when a count is < 1, or when
    the resolution is smaller than the network's total stride (2 x product of block strides).
    """
    blocks = tuple(blocks)
    if not blocks or not all(isinstance(blk, IRBlock) for blk in blocks):
        raise SpecError(
            f"{name}: 'blocks' must be a non-empty sequence of IRBlock (got {blocks!r})"
        )
    check_int(name, "batch", batch, 1)
    check_int(name, "in_channels", in_channels, 1)
    check_int(name, "stem_channels", stem_channels, 1)
    if head_channels is not None:
        check_int(name, "head_channels", head_channels, 1)
    check_int(name, "num_classes", num_classes, 1)
    total_stride = 2
    for blk in blocks:
        total_stride *= blk.stride
    check_resolution(name, resolution, total_stride, "the network's total stride")

    b = NetworkBuilder(name, description=description)
    x = b.input("image", (batch, in_channels, resolution, resolution))
    x = conv_bn_act(b, x, "features.0", stem_channels, 3, stride=2)
    for index, blk in enumerate(blocks, start=1):
        x = _inverted_residual(b, x, f"features.{index}", blk)
    if head_channels is not None:
        x = conv_bn_act(b, x, f"features.{len(blocks) + 1}", head_channels, 1)
    pooled_classifier(b, x, num_classes, linear_name="classifier.1")
    return b.build()


# torchvision / paper Table 2: (expansion t, channels c, repeats n, first stride s).
_MOBILENETV2_STAGES = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def mobilenetv2(
    *, batch: int = 1, width: float = 1.0, resolution: int = 224, num_classes: int = 1000,
    scale_head: bool = False,
) -> Network:
    """MobileNetV2, torchvision layout (Sandler et al., "Inverted Residuals", arXiv 1801.04381).

    `width` is the paper's width multiplier: every channel count c becomes
    ``make_divisible(c * width, 8)``; the last conv keeps 1280 channels unless width > 1, or
    unless `scale_head` (as MCUNet's MobileNetV2 baselines do: w0.35 gives 448). ReLU6
    throughout; dropout omitted (inference). Input "image" (batch, 3, resolution, resolution);
    output (batch, num_classes). Raises SpecError for width <= 0, resolution < 32, batch < 1 or
    num_classes < 1.
    """
    width = check_positive("mobilenetv2", "width", width)
    blocks = tuple(
        IRBlock(expand_ratio=t, out_channels=make_divisible(c * width), kernel=3,
                stride=s if i == 0 else 1)
        for t, c, n, s in _MOBILENETV2_STAGES
        for i in range(n)
    )
    return inverted_residual_net(
        blocks,
        name="mobilenetv2",
        batch=batch,
        resolution=resolution,
        stem_channels=make_divisible(32 * width),
        head_channels=make_divisible(1280 * (width if scale_head else max(1.0, width))),
        num_classes=num_classes,
        description=f"MobileNetV2 ({'head scaled' if scale_head else 'torchvision'}) width {width:g}, {resolution}x{resolution}, "
        f"batch {batch}, {num_classes} classes",
    )


# TF-slim MobileNetV2 checkpoint table (tensorflow/models research/slim/nets/mobilenet README,
# reproduced in the tf.keras.applications.mobilenet_v2 docs, r2.4), "MACs (M)" by
# (width multiplier, resolution). The paper (arXiv 1801.04381) quotes 300M MAdds for 1.0/224 and
# 585M for 1.4/224; the table has 582. Its figures are truncated, not rounded, to whole millions
# (1.0/224 is 300.77M by count), so the check is floor(ours) == published. The TF checkpoints have
# 1001 classes, 1280 MACs more than ours, which moves no entry across a whole million.
TF_SLIM_MOBILENETV2_MMACS = {
    (1.4, 224): 582, (1.3, 224): 509,
    (1.0, 224): 300, (1.0, 192): 221, (1.0, 160): 154, (1.0, 128): 99, (1.0, 96): 56,
    (0.75, 224): 209, (0.75, 192): 153, (0.75, 160): 107, (0.75, 128): 69, (0.75, 96): 39,
    (0.5, 224): 97, (0.5, 192): 71, (0.5, 160): 50, (0.5, 128): 32, (0.5, 96): 18,
    (0.35, 224): 59, (0.35, 192): 43, (0.35, 160): 30, (0.35, 128): 20, (0.35, 96): 11,
}
"""(width, resolution) -> M MACs as the table prints them, truncated to whole millions."""
