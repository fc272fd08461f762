"""YOLOv4 (CSPDarknet53 + SPP + PANet + YOLOv3 heads) and its YOLObile compressed form.

YOLOv4: Bochkovskiy, Wang & Liao, "YOLOv4: Optimal Speed and Accuracy of Object Detection",
arXiv 2004.10934. The layer list is Darknet's ``yolov4.cfg`` (AlexeyAB/darknet), built here
layer by layer in the cfg's order so that op names carry the cfg's layer index (``L54.conv`` is
layer 54, the stride-8 backbone output the PANet routes back to). Darknet semantics kept:
every conv has ``pad=1`` (padding = size // 2); a conv with ``batch_normalize=1`` has no bias;
the three 1x1 output convs (255 = 3 anchors x (80 classes + 5)) have a bias and no norm;
``route`` concatenates channels in the order listed; ``shortcut`` adds. The backbone uses Mish,
the neck and heads leaky ReLU. The ``[yolo]`` layers only decode boxes (post-processing) and are
not ops; the network's outputs are the three 255-channel maps.

Published counts: Darknet's README lists yolov4.cfg at 128.5 / 91.1 / 60.1 / 35.5 BFLOPs for
608 / 512 / 416 / 320 inputs; Darknet counts 2 FLOPs per conv MAC (``l.bflops = 2 * nweights *
out_h * out_w``), so these are twice our MACs. PyTorch ports of yolov4.cfg report 64,363,101
parameters (BN scale and shift included, as here).

YOLObile: Cai et al., "YOLObile: Real-Time Object Detection on Mobile Devices via
Compression-Compilation Co-Design", AAAI 2021, arXiv 2009.05697: YOLOv4 at 320x320 with
block-punched pruning at a 14x compression rate, 49.0 mAP (abstract). The released code
(nightsnack/YOLObile) prunes ``csdarknet53s-panet-spp.cfg``, which its author describes as
YOLOv4 with the first CSP connections changed (issue #12): Darknet-53's plain first stage and
leaky ReLU throughout, the rest layer for layer yolov4.cfg. Block-punched pruning, as the
released ``admm.py`` implements it, cuts each conv's GEMM view (filters x in_channels*k*k) into
blocks of 8 filters x 4 input channels and removes, inside a block, the same kernel position of
all 4 channels in all 8 filters; edgesim's structured BLOCK scheme with a block shape of (8, 4)
describes that layout to devices. The per-layer ratios are those of the released 14x
configuration (``prune_config/config_csdarknet53pan_v14.yaml``): they remove all but 1/14.01 of
the conv weights, the abstract's 14x; ``check_compression.py`` computes the rate the same way,
over all conv weights.
"""

from __future__ import annotations

import dataclasses

from workloads.errors import SpecError
from workloads.network import Network, NetworkBuilder
from workloads.ops import Activation, NormKind, PoolMode
from workloads.zoo._common import check_int, check_resolution

_TOTAL_STRIDE = 32
_ANCHORS_PER_SCALE = 3
_BOX_FIELDS = 5  # x, y, w, h, objectness


class _Darknet:
    """Builds a network the way a Darknet cfg reads: one numbered layer after another.

    Every method appends one cfg layer and returns its index; ``route`` and ``shortcut`` take
    negative (relative) or absolute indices as the cfg does.
    """

    def __init__(self, b: NetworkBuilder, image: str) -> None:
        self.b = b
        self.layers: list[str] = []
        self.last = image

    def _push(self, tensor: str) -> int:
        self.layers.append(tensor)
        self.last = tensor
        return len(self.layers) - 1

    def _at(self, index: int) -> str:
        return self.layers[index if index >= 0 else len(self.layers) + index]

    def conv(self, filters: int, size: int, stride: int = 1, act: Activation | None = None,
             *, norm: bool = True) -> int:
        i = len(self.layers)
        x = self.b.conv2d(self.last, filters, size, stride=stride, padding=size // 2,
                          bias=not norm, name=f"L{i}.conv")
        if norm:
            x = self.b.norm(x, NormKind.BATCH, name=f"L{i}.bn")
        if act is not None:
            x = self.b.act(x, act, name=f"L{i}.{act.value}")
        return self._push(x)

    def route(self, *indices: int) -> int:
        i = len(self.layers)
        parts = [self._at(j) for j in indices]
        if len(parts) == 1:  # a route of one layer only re-points the input: no op
            return self._push(parts[0])
        return self._push(self.b.concat(parts, axis=1, name=f"L{i}.route"))

    def shortcut(self, source: int) -> int:
        i = len(self.layers)
        return self._push(self.b.add(self.last, self._at(source), name=f"L{i}.shortcut"))

    def maxpool(self, size: int) -> int:
        i = len(self.layers)
        return self._push(self.b.pool(self.last, PoolMode.MAX, size, stride=1,
                                      padding=size // 2, name=f"L{i}.maxpool"))

    def upsample(self) -> int:
        i = len(self.layers)
        return self._push(self.b.upsample(self.last, 2, name=f"L{i}.upsample"))


def _csp_stage(d: _Darknet, channels: int, n_blocks: int, act: Activation) -> int:
    """One CSPDarknet53 stage of yolov4.cfg: stride-2 conv, split, residual blocks, merge.

    The first stage (64 channels, one block) keeps full width in both paths and its blocks
    squeeze to half; the later stages halve both paths and their blocks keep the half width.
    """
    first = channels == 64
    half = channels if first else channels // 2
    d.conv(channels, 3, 2, act)  # downsample
    split = d.conv(half, 1, 1, act)  # the cross-stage path
    d.route(-2)
    d.conv(half, 1, 1, act)
    for _ in range(n_blocks):
        d.conv(half // 2 if first else half, 1, 1, act)
        d.conv(half, 3, 1, act)
        d.shortcut(-3)
    d.conv(half, 1, 1, act)
    d.route(-1, split)
    return d.conv(channels, 1, 1, act)


def _darknet53_first_stage(d: _Darknet, act: Activation) -> int:
    """Darknet-53's plain first stage (no cross-stage split): stride-2 conv, one residual block."""
    d.conv(64, 3, 2, act)
    d.conv(32, 1, 1, act)
    d.conv(64, 3, 1, act)
    return d.shortcut(-3)


def _conv_set(d: _Darknet, channels: int, n_pairs: int) -> int:
    """Alternating 1x1 (channels) and 3x3 (2 x channels) leaky convs, ending on a 1x1."""
    leaky = Activation.LEAKY_RELU
    last = d.conv(channels, 1, 1, leaky)
    for _ in range(n_pairs):
        d.conv(2 * channels, 3, 1, leaky)
        last = d.conv(channels, 1, 1, leaky)
    return last


def yolov4(*, batch: int = 1, resolution: int = 608, num_classes: int = 80) -> Network:
    """YOLOv4, Darknet yolov4.cfg layer by layer (Bochkovskiy et al., "YOLOv4", arXiv 2004.10934).

    CSPDarknet53 backbone (Mish), SPP (max pools 5, 9, 13), PANet neck and three YOLOv3 heads
    (leaky ReLU) at strides 8, 16 and 32. Input "image" (batch, 3, resolution, resolution),
    resolution a multiple of 32 (the paper's 416 and 608, or Darknet's 320 and 512). Outputs
    the three raw head maps (batch, 3 * (num_classes + 5), resolution / s, resolution / s) for
    s = 8, 16, 32. Raises SpecError for a resolution that is not a multiple of 32, batch < 1 or
    num_classes < 1.
    """
    _check_yolo_args("yolov4", batch, resolution, num_classes)
    b = NetworkBuilder(
        "yolov4",
        description=f"YOLOv4 (Darknet yolov4.cfg), {resolution}x{resolution}, batch {batch}, "
        f"{num_classes} classes",
    )
    image = b.input("image", (batch, 3, resolution, resolution))
    return b.build(_yolov4_graph(b, image, num_classes, csp_first_stage=True,
                                 backbone_act=Activation.MISH))


def _check_yolo_args(model: str, batch: object, resolution: object, num_classes: object) -> None:
    check_int(model, "batch", batch, 1)
    check_int(model, "num_classes", num_classes, 1)
    check_resolution(model, resolution, _TOTAL_STRIDE, "the network's total stride")
    if resolution % _TOTAL_STRIDE:
        raise SpecError(
            f"{model}: 'resolution' must be a multiple of {_TOTAL_STRIDE} pixels, e.g. 416 or "
            f"608 (got {resolution})"
        )


def _yolov4_graph(b: NetworkBuilder, image: str, num_classes: int, *, csp_first_stage: bool,
                  backbone_act: Activation) -> list[str]:
    """The layers of yolov4.cfg on `image`; returns the three head outputs (strides 8, 16, 32).

    `csp_first_stage=False` and `backbone_act=LEAKY_RELU` give YOLObile's
    csdarknet53s-panet-spp.cfg instead: the same network but for Darknet-53's plain first
    stage (6 layers fewer, so every later cfg index is 6 lower) and leaky ReLU throughout.
    """
    head_filters = _ANCHORS_PER_SCALE * (num_classes + _BOX_FIELDS)
    d = _Darknet(b, image)
    act, leaky = backbone_act, Activation.LEAKY_RELU

    # CSPDarknet53: layers 0-104 of yolov4.cfg.
    d.conv(32, 3, 1, act)
    if csp_first_stage:
        _csp_stage(d, 64, 1, act)
    else:
        _darknet53_first_stage(d, act)
    _csp_stage(d, 128, 2, act)
    p3 = _csp_stage(d, 256, 8, act)  # layer 54
    p4 = _csp_stage(d, 512, 8, act)  # layer 85
    _csp_stage(d, 1024, 4, act)  # layer 104

    # SPP: layers 105-116.
    d.conv(512, 1, 1, leaky)
    d.conv(1024, 3, 1, leaky)
    d.conv(512, 1, 1, leaky)
    d.maxpool(5)
    d.route(-2)
    d.maxpool(9)
    d.route(-4)
    d.maxpool(13)
    d.route(-1, -3, -5, -6)
    n5 = _conv_set(d, 512, 1)  # layer 116

    # PANet top-down: layers 117-136.
    d.conv(256, 1, 1, leaky)
    d.upsample()
    d.route(p4)
    d.conv(256, 1, 1, leaky)
    d.route(-1, -3)
    n4 = _conv_set(d, 256, 2)  # layer 126
    d.conv(128, 1, 1, leaky)
    d.upsample()
    d.route(p3)
    d.conv(128, 1, 1, leaky)
    d.route(-1, -3)
    n3 = _conv_set(d, 128, 2)  # layer 136

    # Heads and PANet bottom-up: layers 137-161 ([yolo] layers 139, 150, 161 decode only).
    outputs = []
    d.conv(256, 3, 1, leaky)
    outputs.append(d.layers[d.conv(head_filters, 1, 1, norm=False)])
    d.layers.append(d.layers[-1])  # 139 [yolo]: no op
    d.route(n3)
    d.conv(256, 3, 2, leaky)
    d.route(-1, n4)
    m4 = _conv_set(d, 256, 2)  # layer 147
    d.conv(512, 3, 1, leaky)
    outputs.append(d.layers[d.conv(head_filters, 1, 1, norm=False)])
    d.layers.append(d.layers[-1])  # 150 [yolo]
    d.route(m4)
    d.conv(512, 3, 2, leaky)
    d.route(-1, n5)
    _conv_set(d, 512, 2)  # layer 158
    d.conv(1024, 3, 1, leaky)
    outputs.append(d.layers[d.conv(head_filters, 1, 1, norm=False)])
    return outputs


# Released YOLObile 14x model (nightsnack/YOLObile prune_config/config_csdarknet53pan_v14.yaml,
# the configuration of the README's "14x" checkpoint): block-punched pruning ratio of each conv,
# keyed by its layer index in csdarknet53s-panet-spp.cfg. Convs 0 (3 input channels) and the
# three 255-filter outputs 132, 143 and 154 are not listed: they stay dense.
YOLOBILE_14X_RATIOS: dict[int, float] = {
    1: 0.6, 2: 0.8, 3: 0.7, 5: 0.8, 6: 0.7, 8: 0.8, 9: 0.6, 10: 0.7,
    12: 0.7, 13: 0.85, 15: 0.7, 17: 0.85, 18: 0.89, 19: 0.89, 21: 0.93, 22: 0.85,
    23: 0.89, 25: 0.85, 26: 0.93, 28: 0.85, 29: 0.93, 31: 0.85, 32: 0.9375, 34: 0.85,
    35: 0.9375, 37: 0.85, 38: 0.9375, 40: 0.85, 41: 0.9375, 43: 0.85, 44: 0.9375, 46: 0.85,
    48: 0.92, 49: 0.9375, 50: 0.92, 52: 0.92, 53: 0.87, 54: 0.92, 56: 0.87, 57: 0.9375,
    59: 0.87, 60: 0.9375, 62: 0.87, 63: 0.9375, 65: 0.89, 66: 0.94, 68: 0.92, 69: 0.94,
    71: 0.89, 72: 0.94, 74: 0.89, 75: 0.94, 77: 0.89, 79: 0.92, 80: 0.94, 81: 0.92,
    83: 0.94, 84: 0.92, 85: 0.94, 87: 0.92, 88: 0.94, 90: 0.92, 91: 0.94, 93: 0.92,
    94: 0.94, 96: 0.89, 98: 0.92, 99: 0.92, 100: 0.94, 101: 0.94, 108: 0.94, 109: 0.95,
    110: 0.92, 111: 0.89, 114: 0.89, 116: 0.89, 117: 0.96, 118: 0.89, 119: 0.95, 120: 0.92,
    121: 0.89, 124: 0.89, 126: 0.89, 127: 0.95, 128: 0.89, 129: 0.96, 130: 0.89, 131: 0.94,
    135: 0.9375, 137: 0.92, 138: 0.95, 139: 0.92, 140: 0.95, 141: 0.91, 142: 0.9375, 146: 0.9375,
    148: 0.9375, 149: 0.9375, 150: 0.91, 151: 0.9375, 152: 0.95, 153: 0.92,}
YOLOBILE_BLOCK_SHAPE = (8, 4)
"""Block-punched block: 8 filters x 4 input channels (released admm.py: `length_f = 8`,
`num_channel_in_every_block = 4`)."""


def yolobile(*, batch: int = 1, resolution: int = 320, num_classes: int = 80) -> Network:
    """YOLObile: YOLOv4 block-punched 14x (Cai et al., "YOLObile", AAAI 2021, arXiv 2009.05697).

    The released base network, csdarknet53s-panet-spp.cfg (YOLOv4's layers with Darknet-53's
    plain first stage and leaky ReLU throughout; op names carry that cfg's layer indices), at
    the 320x320 input YOLObile trains and tests at, with each conv pruned at its ratio in
    `YOLOBILE_14X_RATIOS` by the structured BLOCK scheme in (8, 4) blocks: 14.1x fewer conv
    weights than dense. Weights and activations stay float32: the abstract states no datatype
    and the paper's body was not available to check, so quantize explicitly
    (`Network.quantized`, or `--quant fp16` / `w8a8` on the command line). Outputs as `yolov4`.
    Raises SpecError as `yolov4` does.
    """
    _check_yolo_args("yolobile", batch, resolution, num_classes)
    b = NetworkBuilder(
        "yolobile",
        description=f"YOLObile (csdarknet53s-panet-spp, block-punched 8x4, released 14x "
        f"ratios), {resolution}x{resolution}, batch {batch}, {num_classes} classes",
    )
    image = b.input("image", (batch, 3, resolution, resolution))
    net = b.build(_yolov4_graph(b, image, num_classes, csp_first_stage=False,
                                backbone_act=Activation.LEAKY_RELU))
    for ratio in sorted(set(YOLOBILE_14X_RATIOS.values())):
        names = [f"L{i}.conv" for i, r in YOLOBILE_14X_RATIOS.items() if r == ratio]
        net = net.pruned("block", ratio, block_shape=YOLOBILE_BLOCK_SHAPE, names=names)
    return dataclasses.replace(net, name="yolobile")
