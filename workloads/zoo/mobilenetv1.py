"""MobileNet v1 (Howard et al., arXiv 1704.04861), registered as `mobilenet-v1`: the network of
the Adreno GPU calibration point, TensorFlow Lite's own benchmark of `mobilenet_v1_1.0_224` on a
Pixel 4, and of benchncnn's `mobilenet` rows.

The layout is the paper's Table 1 as TF-slim's `mobilenet_v1.py` builds it. A 3x3
stem of 32 channels at stride 2, then 13 depthwise-separable blocks (3x3 depthwise + BN + ReLU6,
1x1 pointwise + BN + ReLU6), global average pool and a 1000-way linear layer (TF-slim's 1x1
conv on a 1x1 map, the same GEMV). The paper's Table 1 note: 569 million mult-adds and 4.2
million parameters at width 1.0 and 224 x 224 (`workloads.zoo.published`, checked by
tests/workloads/test_zoo.py and a row each of the fidelity table).
"""

from __future__ import annotations

from workloads.errors import SpecError
from workloads.network import Network, NetworkBuilder
from workloads.ops import Activation, NormKind, PoolMode

# Paper Table 1: (pointwise output channels, depthwise stride) of the 13 separable blocks.
_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
           (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))

def _check_int(field: str, value: object, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise SpecError(f"mobilenet-v1: {field!r} must be an int >= {minimum} (got {value!r})")


def _conv_bn_relu6(b: NetworkBuilder, x: str, name: str, channels: int, kernel: int, *,
                   stride: int = 1, groups: int = 1) -> str:
    """Conv (no bias, 'same' padding), batch norm, ReLU6: one layer of the paper's Table 1."""
    x = b.conv2d(x, channels, kernel, stride=stride, padding=(kernel - 1) // 2, groups=groups,
                 name=f"{name}.conv")
    x = b.norm(x, NormKind.BATCH, name=f"{name}.bn")
    return b.act(x, Activation.RELU6, name=f"{name}.relu6")


def mobilenet_v1(*, batch: int = 1, resolution: int = 224, num_classes: int = 1000) -> Network:
    """MobileNet v1 1.0, TF-slim layout (Howard et al., "MobileNets", arXiv 1704.04861).

    Width 1.0: input "image" (batch, 3, resolution, resolution), output (batch, num_classes).
    Raises SpecError for a batch or class count below 1 or a resolution below 32 (the
    network's total stride)."""
    _check_int("batch", batch, 1)
    _check_int("num_classes", num_classes, 1)
    _check_int("resolution", resolution, 32)
    b = NetworkBuilder("mobilenet-v1", description=f"MobileNet v1 1.0, {resolution}x{resolution}, "
                       f"batch {batch}, {num_classes} classes")
    x = b.input("image", (batch, 3, resolution, resolution))
    x = _conv_bn_relu6(b, x, "conv0", 32, 3, stride=2)
    for i, (channels, stride) in enumerate(_BLOCKS, start=1):
        depth = b.shape(x)[1]
        x = _conv_bn_relu6(b, x, f"block{i}.depthwise", depth, 3, stride=stride, groups=depth)
        x = _conv_bn_relu6(b, x, f"block{i}.pointwise", channels, 1)
    n, c = b.shape(x)[:2]
    x = b.global_pool(x, PoolMode.AVG, name="avgpool")
    x = b.reshape(x, (n, c), copy=False, name="flatten")
    b.linear(x, num_classes, name="logits")
    return b.build()
