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
block-punched pruning at a 14x compression rate of the conv weights (abstract; the released
``check_compression.py`` computes the rate over all conv weights). Block-punched pruning, as
the released ``admm.py`` implements it, cuts each conv's GEMM view (filters x in_channels*k*k)
into blocks of 8 filters x 4 input channels and removes, inside a block, the same kernel
position of all 4 channels in all 8 filters; edgesim's structured BLOCK scheme with a block
shape of (8, 4) describes that layout to devices. The released 14x configuration keeps the
first conv (3 input channels) and the three 255-filter output convs (255 is not a multiple of
8) dense; the per-layer ratios of that configuration index a modified CSPDarknet53
(``csdarknet53s-panet-spp.cfg``) whose layers do not map one to one onto yolov4.cfg, so here
one uniform ratio on the other convs gives the 14x overall.
"""

from __future__ import annotations

from workloads.errors import SpecError
from workloads.network import Network, NetworkBuilder
from workloads.ops import Activation, NormKind, PoolMode
from workloads.zoo._common import check_int, check_positive, check_resolution

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


def _csp_stage(d: _Darknet, channels: int, n_blocks: int) -> int:
    """One CSPDarknet53 stage of yolov4.cfg: stride-2 conv, split, residual blocks, merge.

    The first stage (64 channels, one block) keeps full width in both paths and its blocks
    squeeze to half; the later stages halve both paths and their blocks keep the half width.
    """
    mish = Activation.MISH
    first = channels == 64
    half = channels if first else channels // 2
    d.conv(channels, 3, 2, mish)  # downsample
    split = d.conv(half, 1, 1, mish)  # the cross-stage path
    d.route(-2)
    d.conv(half, 1, 1, mish)
    for _ in range(n_blocks):
        d.conv(half // 2 if first else half, 1, 1, mish)
        d.conv(half, 3, 1, mish)
        d.shortcut(-3)
    d.conv(half, 1, 1, mish)
    d.route(-1, split)
    return d.conv(channels, 1, 1, mish)


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
    check_int("yolov4", "batch", batch, 1)
    check_int("yolov4", "num_classes", num_classes, 1)
    check_resolution("yolov4", resolution, _TOTAL_STRIDE, "the network's total stride")
    if resolution % _TOTAL_STRIDE:
        raise SpecError(
            f"yolov4: 'resolution' must be a multiple of {_TOTAL_STRIDE} pixels, e.g. 416 or "
            f"608 (got {resolution})"
        )
    head_filters = _ANCHORS_PER_SCALE * (num_classes + _BOX_FIELDS)
    b = NetworkBuilder(
        "yolov4",
        description=f"YOLOv4 (Darknet yolov4.cfg), {resolution}x{resolution}, batch {batch}, "
        f"{num_classes} classes",
    )
    d = _Darknet(b, b.input("image", (batch, 3, resolution, resolution)))
    mish, leaky = Activation.MISH, Activation.LEAKY_RELU

    # CSPDarknet53: layers 0-104.
    d.conv(32, 3, 1, mish)
    _csp_stage(d, 64, 1)
    _csp_stage(d, 128, 2)
    p3 = _csp_stage(d, 256, 8)  # layer 54
    p4 = _csp_stage(d, 512, 8)  # layer 85
    _csp_stage(d, 1024, 4)  # layer 104

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
    return b.build(outputs)


YOLOBILE_COMPRESSION_RATE = 14.0
"""Conv-weight compression rate of YOLObile's reported model (arXiv 2009.05697, abstract)."""
YOLOBILE_BLOCK_SHAPE = (8, 4)
"""Block-punched block: 8 filters x 4 input channels (released admm.py, `length_f`,
`num_channel_in_every_block`)."""


def yolobile_dense_convs(net: Network) -> tuple[str, ...]:
    """Convs YOLObile's released 14x configuration leaves dense: the first conv (3 input
    channels) and every conv whose filter count is not a multiple of the 8-filter block."""
    convs = [op for op in net if op.weight_shape and len(op.weight_shape) == 4]
    first = convs[0].name
    return tuple(op.name for op in convs
                 if op.name == first or op.weight_shape[0] % YOLOBILE_BLOCK_SHAPE[0])


def yolobile(*, batch: int = 1, resolution: int = 320, num_classes: int = 80,
             compression_rate: float = YOLOBILE_COMPRESSION_RATE) -> Network:
    """YOLObile: YOLOv4 block-punched-pruned 14x (Cai et al., "YOLObile", AAAI 2021, arXiv 2009.05697).

    `yolov4` at 320x320 (the input YOLObile trains and tests at) with every conv but those of
    `yolobile_dense_convs` pruned by the structured BLOCK scheme in (8, 4) blocks, at the one
    ratio that leaves 1 / `compression_rate` of all conv weights (14x: 92.9 % of the pruned
    convs' weights removed). Weights and activations stay float32: the paper's abstract states
    no datatype, so quantize explicitly (`Network.quantized`, or `--quant fp16` / `w8a8` on the
    command line). Raises SpecError as `yolov4` does, or when the rate cannot be reached by
    pruning the prunable convs below a ratio of 1.
    """
    rate = check_positive("yolobile", "compression_rate", compression_rate)
    net = yolov4(batch=batch, resolution=resolution, num_classes=num_classes)
    dense = set(yolobile_dense_convs(net))
    weights = {op.name: op.weight_shape[0] * op.weight_shape[1] * op.weight_shape[2]
               * op.weight_shape[3] for op in net if op.weight_shape and len(op.weight_shape) == 4}
    total = sum(weights.values())
    kept_dense = sum(n for name, n in weights.items() if name in dense)
    prunable = total - kept_dense
    ratio = 1.0 - (total / rate - kept_dense) / prunable
    if not 0.0 < ratio < 1.0:
        raise SpecError(
            f"yolobile: 'compression_rate' {rate:g} needs a pruning ratio of {ratio:.4f} on the "
            f"prunable convs; choose a rate between 1 and {total / kept_dense:.1f}"
        )
    pruned = net.pruned("block", ratio, block_shape=YOLOBILE_BLOCK_SHAPE,
                        names=[name for name in weights if name not in dense])
    return Network(name="yolobile", inputs=pruned.inputs, ops=pruned.ops, outputs=pruned.outputs,
                   description=f"YOLObile: YOLOv4 {resolution}x{resolution}, block-punched "
                   f"(8x4) pruning {rate:g}x on conv weights, batch {batch}")
