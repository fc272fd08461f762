"""ProxylessNAS-Mobile, the searched inverted-residual net for phones, and its narrow versions.

Cai, Zhu & Han, "ProxylessNAS: Direct Neural Architecture Search on Target Task and Hardware",
ICLR 2019, arXiv 1812.00332. The mobile architecture is the released ``proxyless_mobile`` net
config (as shipped in mit-han-lab/tinyml's first commit, mcunet/assets/configs/): a 32-channel
stem, 20 MBConv blocks (the other 2 of the 22-block search space are zero layers, i.e.
skipped) with 3/5/7 depthwise kernels and expansion 1, 3 or 6, a 1x1 head to 1280 channels and
a 1000-way classifier. The block list below equals that file block by block; pytorchcv's
``proxylessnas_mobile`` test asserts 4,080,512 parameters, and we count the same.

Narrow versions: MCUNet's baseline "proxyless-w0.3" (``proxyless-w0.3-r176_imagenet``, same
commit; mcunet README: 38.3M MACs, 0.75M parameters at 176x176) scales every width by 0.3 and
rounds *up* to a multiple of 8 (192 * 0.3 = 57.6 -> 64 in the file, where TF-style
`make_divisible` would give 56), so `proxylessnas_mobile(width=...)` rounds up too.
"""

from __future__ import annotations

import math

from workloads.network import Network
from workloads.zoo._common import check_positive
from workloads.zoo.mobilenet import IRBlock, inverted_residual_net

# (expansion, out_channels, depthwise kernel, stride) of the blocks that exist, in order.
_PROXYLESS_MOBILE_BLOCKS = (
    (1, 16, 3, 1),
    (3, 32, 5, 2), (3, 32, 3, 1),
    (3, 40, 7, 2), (3, 40, 3, 1), (3, 40, 5, 1), (3, 40, 5, 1),
    (6, 80, 7, 2), (3, 80, 5, 1), (3, 80, 5, 1), (3, 80, 5, 1),
    (6, 96, 5, 1), (3, 96, 5, 1), (3, 96, 5, 1), (3, 96, 5, 1),
    (6, 192, 7, 2), (6, 192, 7, 1), (3, 192, 7, 1), (3, 192, 7, 1),
    (6, 320, 7, 1),
)
_STEM_CHANNELS = 32
_HEAD_CHANNELS = 1280
_CHANNEL_DIVISOR = 8


def _scaled(channels: int, width: float) -> int:
    """`channels * width` rounded up to a multiple of 8, as the released w0.3 config is."""
    return max(_CHANNEL_DIVISOR, math.ceil(channels * width / _CHANNEL_DIVISOR) * _CHANNEL_DIVISOR)


def proxylessnas_mobile(
    *, batch: int = 1, width: float = 1.0, resolution: int = 224, num_classes: int = 1000,
    name: str = "proxylessnas-mobile",
) -> Network:
    """ProxylessNAS-Mobile (Cai et al., "ProxylessNAS", ICLR 2019, arXiv 1812.00332).

    `width` scales every channel count, the head included, rounded up to a multiple of 8
    (width 1.0 is the released network: 4,080,512 parameters, 320.4M MACs at 224x224). ReLU6
    throughout, residual adds where a block keeps stride 1 and its width. Input "image"
    (batch, 3, resolution, resolution); output (batch, num_classes). Raises SpecError for
    width <= 0, resolution < 32, batch < 1 or num_classes < 1.
    """
    width = check_positive(name, "width", width)
    blocks = tuple(
        IRBlock(expand_ratio=t, out_channels=_scaled(c, width), kernel=k, stride=s)
        for t, c, k, s in _PROXYLESS_MOBILE_BLOCKS
    )
    return inverted_residual_net(
        blocks,
        name=name,
        batch=batch,
        resolution=resolution,
        stem_channels=_scaled(_STEM_CHANNELS, width),
        head_channels=_scaled(_HEAD_CHANNELS, width),
        num_classes=num_classes,
        description=f"ProxylessNAS-Mobile width {width:g}, {resolution}x{resolution}, "
        f"batch {batch}, {num_classes} classes",
    )


def proxyless_w03(*, batch: int = 1, resolution: int = 176, num_classes: int = 1000) -> Network:
    """proxyless-w0.3: MCUNet's ProxylessNAS baseline, 320 kB SRAM (Cai et al., arXiv 1812.00332).

    ProxylessNAS-Mobile at width 0.3, 176x176 (mit-han-lab/mcunet README: 38.3M MACs, 0.75M
    parameters). See `proxylessnas_mobile` for the layout and errors.
    """
    return proxylessnas_mobile(batch=batch, width=0.3, resolution=resolution,
                               num_classes=num_classes, name="proxyless-w0.3")
