"""MCUNet: TinyNAS-searched inverted-residual networks for microcontrollers.

Lin et al., "MCUNet: Tiny Deep Learning on IoT Devices", NeurIPS 2020, arXiv 2007.10319.
The default architecture is the published "mcunet-in2" model ("mcunet-256kb-1mb_imagenet":
fits 256 kB SRAM and 1 MB flash, ImageNet, 160x160 input). Block lists are carried over from
the released ProxylessNASNets configs (first_conv 3 -> stem stride 2, MBInvertedConvLayer
blocks, feature_mix_layer null, classifier, resolution), which the first commit of
mit-han-lab/tinyml ships as ``mcunet/assets/configs/{net_name}.json`` and the mit-han-lab/mcunet
model zoo downloads; every ImageNet list below equals its file block by block (expansion,
width, kernel, stride; ``mid_channels`` = ``in_channels * expand_ratio`` as `IRBlock` computes;
ReLU6 throughout; residuals exactly where the file has a shortcut). The mcunet README lists
mcunet-in2 at 67.3M MACs and 0.73M parameters.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from workloads.network import Network
from workloads.zoo.mobilenet import IRBlock, inverted_residual_net, mobilenetv2


def _blocks(*rows: tuple[int, int, int, int]) -> tuple[IRBlock, ...]:
    return tuple(IRBlock(expand_ratio=t, out_channels=c, kernel=k, stride=s) for t, c, k, s in rows)


MCUNET_IN2_BLOCKS: tuple[IRBlock, ...] = _blocks(
    # (expand_ratio, out_channels, kernel, stride), in network order
    (1, 8, 3, 1),
    (3, 16, 5, 2),
    (6, 16, 7, 1),
    (5, 16, 3, 1),
    (5, 16, 5, 1),
    (5, 24, 3, 2),
    (6, 24, 7, 1),
    (6, 24, 5, 1),
    (4, 40, 7, 2),
    (5, 40, 5, 1),
    (5, 48, 3, 1),
    (5, 48, 5, 1),
    (4, 48, 3, 1),
    (6, 96, 5, 2),
    (4, 96, 5, 1),
    (3, 96, 5, 1),
    (4, 96, 3, 1),
    (5, 160, 5, 1),
)
"""Blocks of mcunet-in2 ("mcunet-256kb-1mb_imagenet"); stem 16 channels, no head conv."""


def mcunet(
    *,
    batch: int = 1,
    resolution: int = 160,
    blocks: Iterable[IRBlock] = MCUNET_IN2_BLOCKS,
    stem_channels: int = 16,
    head_channels: int | None = None,
    num_classes: int = 1000,
    name: str = "mcunet",
) -> Network:
    """MCUNet inverted-residual net, default mcunet-in2 (Lin et al., "MCUNet", arXiv 2007.10319).

    `blocks` replaces the searched block list (e.g. another TinyNAS result); `head_channels`
    adds a 1x1 feature-mix conv before pooling (None: the MCUNet ImageNet models have none).
    Input "image" (batch, 3, resolution, resolution); output (batch, num_classes). Raises
    SpecError as `inverted_residual_net` does.
    """
    return inverted_residual_net(
        blocks,
        name=name,
        batch=batch,
        resolution=resolution,
        stem_channels=stem_channels,
        head_channels=head_channels,
        num_classes=num_classes,
        description=f"MCUNet inverted-residual net, {resolution}x{resolution}, batch {batch}, "
        f"{num_classes} classes",
    )


# --- the published model zoo ------------------------------------------------------------------
# mit-han-lab/mcunet `mcunet/model_zoo.py` maps each net_id to a released ProxylessNASNets config
# (`{net_name}.json`); the README's model lists give each model's MACs and parameters. The
# ImageNet configs are in mit-han-lab/tinyml's first commit (e899b1b, mcunet/assets/configs/);
# the VWW configs are not (mit-han-lab/mcunet's model_zoo.py downloads them from its release
# server; no commit of either repository holds them), and the block lists of vww1 and vww2 were
# carried over from public Keras transcriptions (Wake Vision challenge entries, layer by layer:
# expand width / input width, kernel, stride, projection width). mcunet-vww0's is read from the
# TinyEngine code generated for "1_MW10" in nycu-caslab/TinyTS (commit b6ba4fb,
# models/ts_gen/MCUNet_model_zoo/1_MW10/DF_1/gen_model/src/ctx.cc): its tensor table lists every
# weight (16x3x3x3 stem, each 1x1 conv's out x in, each depthwise kernel k x k x channels) and
# activation (64x64x3 in, 2 logits out); the same repository's "0_MW5" equals mcunet-vww1 below
# layer for layer, which fixes the naming (MW = MCUNet VWW, 5 / 10 fps). All are checked against
# the README figures in tests/workloads/test_zoo_published.py, every one within the README's
# rounding:
#   ImageNet (README "ImageNet model list"; 1000 classes)
#     mcunet-in0  mcunet-10fps_imagenet      48 px   6.4M MACs  0.75M params
#     mcunet-in1  mcunet-5fps_imagenet       96 px  12.8M MACs  0.64M params
#     mcunet-in2  mcunet-256kb-1mb_imagenet 160 px  67.3M MACs  0.73M params
#     mcunet-in3  mcunet-320kb-1mb_imagenet 176 px  81.8M MACs  0.74M params
#     mcunet-in4  mcunet-512kb-2mb_imagenet 160 px 125.9M MACs  1.73M params
#   Visual Wake Words (README "VWW model list"; 2 classes)
#     mcunet-vww0 mcunet-10fps_vww           64 px   6.0M MACs  0.37M params
#     mcunet-vww1 mcunet-5fps_vww            80 px  11.6M MACs  0.43M params
#     mcunet-vww2 mcunet-320kb-1mb_vww      144 px  55.8M MACs  0.64M params

MCUNET_IN0_BLOCKS: tuple[IRBlock, ...] = _blocks(
    (1, 16, 3, 1), (4, 16, 5, 2), (3, 16, 3, 1), (4, 16, 3, 1), (5, 24, 7, 2), (4, 24, 5, 1),
    (5, 24, 5, 1), (5, 48, 7, 2), (4, 48, 5, 1), (5, 56, 3, 1), (4, 56, 5, 1), (5, 56, 3, 1),
    (6, 112, 3, 2), (4, 112, 5, 1), (6, 192, 3, 1),
)
"""Blocks of mcunet-in0 ("mcunet-10fps_imagenet"); stem 24 channels."""

MCUNET_IN1_BLOCKS: tuple[IRBlock, ...] = _blocks(
    (1, 8, 3, 1), (4, 16, 3, 2), (3, 16, 3, 1), (3, 24, 7, 2), (5, 24, 3, 1), (5, 40, 3, 2),
    (4, 40, 7, 1), (4, 48, 5, 1), (3, 48, 3, 1), (4, 48, 3, 1), (5, 96, 7, 2), (4, 96, 5, 1),
    (4, 96, 5, 1), (6, 160, 3, 1),
)
"""Blocks of mcunet-in1 ("mcunet-5fps_imagenet"); stem 16 channels."""

MCUNET_IN3_BLOCKS: tuple[IRBlock, ...] = _blocks(
    (1, 8, 3, 1), (3, 16, 7, 2), (5, 16, 3, 1), (5, 16, 7, 1), (4, 16, 5, 1), (5, 24, 5, 2),
    (5, 24, 5, 1), (5, 24, 5, 1), (5, 40, 3, 2), (6, 40, 7, 1), (4, 40, 5, 1), (5, 48, 5, 1),
    (5, 48, 7, 1), (5, 48, 3, 1), (6, 96, 3, 2), (5, 96, 7, 1), (4, 96, 3, 1), (5, 160, 7, 1),
)
"""Blocks of mcunet-in3 ("mcunet-320kb-1mb_imagenet"); stem 16 channels."""

MCUNET_IN4_BLOCKS: tuple[IRBlock, ...] = _blocks(
    (1, 16, 3, 1), (3, 24, 7, 2), (5, 24, 3, 1), (4, 24, 5, 1), (5, 40, 7, 2), (4, 40, 3, 1),
    (4, 40, 7, 1), (3, 80, 7, 2), (3, 80, 3, 1), (3, 80, 7, 1), (4, 96, 3, 1), (3, 96, 5, 1),
    (3, 96, 5, 1), (4, 192, 7, 2), (3, 192, 7, 1), (3, 192, 5, 1), (4, 320, 5, 1),
)
"""Blocks of mcunet-in4 ("mcunet-512kb-2mb_imagenet"); stem 32 channels."""

MCUNET_VWW0_BLOCKS: tuple[IRBlock, ...] = _blocks(
    (1, 8, 3, 1), (6, 16, 5, 2), (4, 16, 3, 1), (5, 24, 3, 2), (4, 24, 3, 1), (4, 24, 3, 1),
    (5, 40, 3, 2), (4, 40, 3, 1), (3, 40, 7, 1), (3, 48, 3, 1), (4, 48, 3, 1), (5, 96, 7, 2),
    (5, 96, 5, 1), (4, 160, 7, 1),
)
"""Blocks of mcunet-vww0 ("mcunet-10fps_vww"); stem 16 channels."""

MCUNET_VWW1_BLOCKS: tuple[IRBlock, ...] = _blocks(
    (1, 8, 3, 1), (6, 16, 3, 2), (3, 16, 3, 1), (3, 16, 3, 1), (3, 24, 7, 2), (6, 24, 3, 1),
    (5, 24, 5, 1), (6, 40, 7, 2), (6, 40, 7, 1), (6, 48, 3, 1), (4, 48, 3, 1), (5, 96, 5, 2),
    (5, 96, 3, 1), (4, 96, 3, 1), (3, 160, 7, 1),
)
"""Blocks of mcunet-vww1 ("mcunet-5fps_vww"); stem 16 channels."""

MCUNET_VWW2_BLOCKS: tuple[IRBlock, ...] = _blocks(
    (1, 8, 3, 1), (3, 16, 3, 2), (5, 16, 3, 1), (6, 16, 5, 1), (3, 16, 3, 1), (5, 24, 7, 2),
    (4, 24, 5, 1), (4, 24, 3, 1), (6, 24, 7, 1), (6, 40, 3, 2), (6, 40, 7, 1), (4, 40, 5, 1),
    (5, 40, 3, 1), (5, 48, 5, 1), (3, 48, 5, 1), (4, 48, 3, 1), (3, 48, 5, 1), (4, 96, 3, 2),
    (5, 96, 5, 1), (4, 96, 5, 1), (4, 96, 3, 1), (5, 160, 3, 1),
)
"""Blocks of mcunet-vww2 ("mcunet-320kb-1mb_vww"); stem 16 channels."""


def _published(net_id: str, blocks, stem: int, *, batch: int, resolution: int,
               num_classes: int) -> Network:
    return mcunet(batch=batch, resolution=resolution, blocks=blocks, stem_channels=stem,
                  num_classes=num_classes, name=net_id)


def mcunet_in0(*, batch: int = 1, resolution: int = 48, num_classes: int = 1000) -> Network:
    """mcunet-in0, 10 fps on STM32F746, ImageNet (Lin et al., "MCUNet", arXiv 2007.10319).

    mit-han-lab/mcunet README: 6.4M MACs, 0.75M parameters at 48x48. Arguments and errors as
    `mcunet`.
    """
    return _published("mcunet-in0", MCUNET_IN0_BLOCKS, 24, batch=batch, resolution=resolution,
                      num_classes=num_classes)


def mcunet_in1(*, batch: int = 1, resolution: int = 96, num_classes: int = 1000) -> Network:
    """mcunet-in1, 5 fps on STM32F746, ImageNet (Lin et al., "MCUNet", arXiv 2007.10319).

    mit-han-lab/mcunet README: 12.8M MACs, 0.64M parameters at 96x96. Arguments and errors as
    `mcunet`.
    """
    return _published("mcunet-in1", MCUNET_IN1_BLOCKS, 16, batch=batch, resolution=resolution,
                      num_classes=num_classes)


def mcunet_in2(*, batch: int = 1, resolution: int = 160, num_classes: int = 1000) -> Network:
    """mcunet-in2, fits 256 kB SRAM / 1 MB flash, ImageNet (Lin et al., arXiv 2007.10319).

    mit-han-lab/mcunet README: 67.3M MACs, 0.73M parameters at 160x160; the same network as
    `mcunet()`, under its published name. Arguments and errors as `mcunet`.
    """
    return _published("mcunet-in2", MCUNET_IN2_BLOCKS, 16, batch=batch, resolution=resolution,
                      num_classes=num_classes)


def mcunet_in3(*, batch: int = 1, resolution: int = 176, num_classes: int = 1000) -> Network:
    """mcunet-in3, fits 320 kB SRAM / 1 MB flash, ImageNet (Lin et al., arXiv 2007.10319).

    mit-han-lab/mcunet README: 81.8M MACs, 0.74M parameters at 176x176. Arguments and errors as
    `mcunet`.
    """
    return _published("mcunet-in3", MCUNET_IN3_BLOCKS, 16, batch=batch, resolution=resolution,
                      num_classes=num_classes)


def mcunet_in4(*, batch: int = 1, resolution: int = 160, num_classes: int = 1000) -> Network:
    """mcunet-in4, fits 512 kB SRAM / 2 MB flash, ImageNet (Lin et al., arXiv 2007.10319).

    mit-han-lab/mcunet README: 125.9M MACs, 1.73M parameters at 160x160. Arguments and errors
    as `mcunet`.
    """
    return _published("mcunet-in4", MCUNET_IN4_BLOCKS, 32, batch=batch, resolution=resolution,
                      num_classes=num_classes)


def mcunet_vww0(*, batch: int = 1, resolution: int = 64, num_classes: int = 2) -> Network:
    """mcunet-vww0, 10 fps on STM32F746, Visual Wake Words (Lin et al., arXiv 2007.10319).

    mit-han-lab/mcunet README: 6.0M MACs, 0.37M parameters at 64x64, two classes (person, no
    person); the block list is TinyTS's generated "1_MW10" (see above). Arguments and errors as
    `mcunet`.
    """
    return _published("mcunet-vww0", MCUNET_VWW0_BLOCKS, 16, batch=batch,
                      resolution=resolution, num_classes=num_classes)


def mcunet_vww1(*, batch: int = 1, resolution: int = 80, num_classes: int = 2) -> Network:
    """mcunet-vww1, 5 fps on STM32F746, Visual Wake Words (Lin et al., arXiv 2007.10319).

    mit-han-lab/mcunet README: 11.6M MACs, 0.43M parameters at 80x80, two classes (person, no
    person). Arguments and errors as `mcunet`.
    """
    return _published("mcunet-vww1", MCUNET_VWW1_BLOCKS, 16, batch=batch,
                      resolution=resolution, num_classes=num_classes)


def mcunet_vww2(*, batch: int = 1, resolution: int = 144, num_classes: int = 2) -> Network:
    """mcunet-vww2, fits 320 kB SRAM / 1 MB flash, Visual Wake Words (arXiv 2007.10319).

    mit-han-lab/mcunet README: 55.8M MACs, 0.64M parameters at 144x144, two classes.
    Arguments and errors as `mcunet`.
    """
    return _published("mcunet-vww2", MCUNET_VWW2_BLOCKS, 16, batch=batch,
                      resolution=resolution, num_classes=num_classes)


def mbv2_w035(*, batch: int = 1, resolution: int = 144, num_classes: int = 1000) -> Network:
    """mbv2-w0.35: MCUNet's MobileNetV2 baseline for 320 kB SRAM (Lin et al., arXiv 2007.10319).

    MobileNetV2 at width 0.35 with the head scaled too (448 channels), 144x144: the README's
    "mbv2-w0.35-r144_imagenet", 23.5M MACs and 0.75M parameters. See `mobilenetv2`.
    """
    net = mobilenetv2(batch=batch, width=0.35, resolution=resolution, num_classes=num_classes,
                      scale_head=True)
    return dataclasses.replace(net, name="mbv2-w0.35")
