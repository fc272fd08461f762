"""ResNet-18 and ResNet-50 as torchvision builds them (He et al. 2016, arXiv 1512.03385), and
the CIFAR ResNet-18 (3x3 stem, no max-pool) that CIFAR papers use.

torchvision's Bottleneck puts the stride on the 3x3 conv ("ResNet v1.5"); the shortcut is a 1x1
conv plus batch norm whenever the shape changes. Convs have no bias. Op names are torchvision's
module names; a block's ReLU module is applied several times in torchvision, so here each use is
numbered (``layer1.0.relu1``, ``relu2``, ...), and the residual sum is ``layer1.0.add``.
"""

from __future__ import annotations

from collections.abc import Callable

from workloads.errors import SpecError
from workloads.network import Network, NetworkBuilder
from workloads.ops import Activation, NormKind, PoolMode
from workloads.zoo._common import check_int, check_positive, check_resolution, pooled_classifier

_STAGE_WIDTHS = (64, 128, 256, 512)
_MIN_RESOLUTION = 32  # total stride of the network: below it the last stage sees padding only


def _downsample(b: NetworkBuilder, x: str, prefix: str, out_channels: int, stride: int) -> str:
    x = b.conv2d(x, out_channels, 1, stride=stride, name=f"{prefix}.downsample.0")
    return b.norm(x, NormKind.BATCH, name=f"{prefix}.downsample.1")


def _basic_block(b: NetworkBuilder, x: str, prefix: str, width: int, stride: int) -> str:
    """torchvision BasicBlock: 3x3 conv (stride) - BN - ReLU - 3x3 conv - BN, + shortcut, ReLU."""
    out = b.conv2d(x, width, 3, stride=stride, padding=1, name=f"{prefix}.conv1")
    out = b.norm(out, NormKind.BATCH, name=f"{prefix}.bn1")
    out = b.act(out, Activation.RELU, name=f"{prefix}.relu1")
    out = b.conv2d(out, width, 3, padding=1, name=f"{prefix}.conv2")
    out = b.norm(out, NormKind.BATCH, name=f"{prefix}.bn2")
    identity = x
    if stride != 1 or b.shape(x)[1] != width:
        identity = _downsample(b, x, prefix, width, stride)
    out = b.add(out, identity, name=f"{prefix}.add")
    return b.act(out, Activation.RELU, name=f"{prefix}.relu2")


def _bottleneck(b: NetworkBuilder, x: str, prefix: str, width: int, stride: int) -> str:
    """torchvision Bottleneck (v1.5): 1x1 - 3x3 (stride) - 1x1 (x4 channels), + shortcut, ReLU."""
    out_channels = 4 * width
    out = b.conv2d(x, width, 1, name=f"{prefix}.conv1")
    out = b.norm(out, NormKind.BATCH, name=f"{prefix}.bn1")
    out = b.act(out, Activation.RELU, name=f"{prefix}.relu1")
    out = b.conv2d(out, width, 3, stride=stride, padding=1, name=f"{prefix}.conv2")
    out = b.norm(out, NormKind.BATCH, name=f"{prefix}.bn2")
    out = b.act(out, Activation.RELU, name=f"{prefix}.relu2")
    out = b.conv2d(out, out_channels, 1, name=f"{prefix}.conv3")
    out = b.norm(out, NormKind.BATCH, name=f"{prefix}.bn3")
    identity = x
    if stride != 1 or b.shape(x)[1] != out_channels:
        # After the main path, as in torchvision's forward (this order sets activation liveness).
        identity = _downsample(b, x, prefix, out_channels, stride)
    out = b.add(out, identity, name=f"{prefix}.add")
    return b.act(out, Activation.RELU, name=f"{prefix}.relu3")


def _resnet(
    name: str,
    title: str,
    block: Callable[[NetworkBuilder, str, str, int, int], str],
    depths: tuple[int, int, int, int],
    *,
    batch: int,
    resolution: int,
    num_classes: int,
    width: float = 1.0,
) -> Network:
    width = check_positive(name, "width", width)
    widths = tuple(int(w * width) for w in _STAGE_WIDTHS)
    if min(widths) < 1:
        raise SpecError(f"{name}: 'width' {width:g} leaves a stage with no channels; use >= 1/64")
    check_int(name, "batch", batch, 1)
    check_resolution(name, resolution, _MIN_RESOLUTION, "the network's total stride")
    check_int(name, "num_classes", num_classes, 1)
    b = NetworkBuilder(
        name,
        description=f"{title}{f' width {width:g}' if width != 1 else ''}, "
        f"{resolution}x{resolution}, batch {batch}, {num_classes} classes",
    )
    x = b.input("image", (batch, 3, resolution, resolution))
    x = b.conv2d(x, widths[0], 7, stride=2, padding=3, name="conv1")
    x = b.norm(x, NormKind.BATCH, name="bn1")
    x = b.act(x, Activation.RELU, name="relu")
    x = b.pool(x, PoolMode.MAX, 3, stride=2, padding=1, name="maxpool")
    for stage, (stage_width, depth) in enumerate(zip(widths, depths), start=1):
        for index in range(depth):
            stride = 2 if stage > 1 and index == 0 else 1
            x = block(b, x, f"layer{stage}.{index}", stage_width, stride)
    pooled_classifier(b, x, num_classes, linear_name="fc")
    return b.build()


def resnet18(
    *, batch: int = 1, resolution: int = 224, num_classes: int = 1000, width: float = 1.0
) -> Network:
    """ResNet-18, torchvision layout (He et al., "Deep Residual Learning", arXiv 1512.03385).

    `width` scales every channel count (stem and stage widths 64, 128, 256, 512 become
    ``int(c * width)``), for reduced models such as the committed small ONNX exports. Input
    "image" (batch, 3, resolution, resolution); output (batch, num_classes). Raises SpecError
    for batch < 1, resolution < 32, num_classes < 1, or a width leaving a stage empty.
    """
    return _resnet("resnet18", "ResNet-18 (torchvision)", _basic_block, (2, 2, 2, 2),
                   batch=batch, resolution=resolution, num_classes=num_classes, width=width)


def resnet50(
    *, batch: int = 1, resolution: int = 224, num_classes: int = 1000, width: float = 1.0
) -> Network:
    """ResNet-50 v1.5, torchvision layout (He et al., "Deep Residual Learning", arXiv 1512.03385).

    `width` scales every channel count (stem and stage widths 64, 128, 256, 512 become
    ``int(c * width)``), for reduced models such as the committed small ONNX exports. Input
    "image" (batch, 3, resolution, resolution); output (batch, num_classes). Raises SpecError
    for batch < 1, resolution < 32, num_classes < 1, or a width leaving a stage empty.
    """
    return _resnet("resnet50", "ResNet-50 v1.5 (torchvision)", _bottleneck, (3, 4, 6, 3),
                   batch=batch, resolution=resolution, num_classes=num_classes, width=width)


def resnet18_cifar(*, batch: int = 1, num_classes: int = 10) -> Network:
    """ResNet-18 for CIFAR-10, 32x32 (He et al., arXiv 1512.03385; kuangliu/pytorch-cifar's).

    The ResNet18 of kuangliu/pytorch-cifar (11,173,962 parameters): He et al.'s BasicBlocks in the stage widths 64, 128, 256, 512 of the ImageNet ResNet-18, with
    the stem CIFAR networks use: one 3x3 stride-1 conv and BN, no max-pool, so the stages see
    32, 16, 8 and 4 px; global average pool and a linear head. This is the network PIM-QAT
    (arXiv 2209.08617) and most CIFAR compression papers report as "ResNet-18". Input "image"
    (batch, 3, 32, 32); output (batch, num_classes). Raises SpecError for batch < 1 or
    num_classes < 1.
    """
    check_int("resnet18-cifar", "batch", batch, 1)
    check_int("resnet18-cifar", "num_classes", num_classes, 1)
    b = NetworkBuilder("resnet18-cifar", description="ResNet-18, CIFAR variant, 32x32")
    x = b.input("image", (batch, 3, 32, 32))
    x = b.conv2d(x, _STAGE_WIDTHS[0], 3, padding=1, name="conv1")
    x = b.act(b.norm(x, NormKind.BATCH, name="bn1"), Activation.RELU, name="relu")
    for stage, stage_width in enumerate(_STAGE_WIDTHS, start=1):
        for index in range(2):
            stride = 2 if stage > 1 and index == 0 else 1
            x = _basic_block(b, x, f"layer{stage}.{index}", stage_width, stride)
    pooled_classifier(b, x, num_classes, linear_name="fc")
    return b.build()
