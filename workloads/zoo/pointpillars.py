"""PointPillars, end to end: pillar feature net, scatter to a pseudo-image, 2D backbone, SSD head.

Lang et al., "PointPillars: Fast Encoders for Object Detection from Point Clouds", CVPR 2019,
arXiv 1812.05784, Sections 2.1-2.3 and 3.1, KITTI car network:

- Pillar feature net: each of P pillars (at most 12000) holds N points (at most 100) of D = 9
  decorated features (x, y, z, reflectance, offsets to the pillar's point mean and to its
  centre); a linear layer (9 -> C = 64, no bias), batch norm and ReLU per point, then a max over
  the N points. The linear layer is a 1x1 conv over the (1, D, P, N) tensor, as the reference
  implementation writes it, so the batch norm sees channels in dim 1.
- Scatter: the P pillar vectors go to their cells of the H x W = 496 x 432 grid (0.16 m cells
  over x in [0, 69.12] m, y in [-39.68, 39.68] m, the reference KITTI configuration). The
  reference writes the canvas channel-major (``canvas[:, idx] = pillars.T``), so the (1, C, H, W)
  pseudo-image is a free view of it; the scatter op states its shapes as (cells, C).
- Backbone: Block(S, L, F) is L 3x3 convs with F filters (BN, ReLU), the first of stride 2:
  Block1(S, 4, C), Block2(2S, 6, 2C), Block3(4S, 6, 4C); Up(S_in, S, 2C) transposed convs bring
  each block's output back to stride S (kernel = stride, BN, ReLU), and the three are
  concatenated to 6C = 384 channels.
- SSD head: 1x1 convs (with bias) to class scores, 7 box residuals and 2 direction bins per
  anchor; the car network has 1 class and 2 anchors (0 and 90 degrees) per cell.

A transposed conv with kernel = stride = s is exactly a 1x1 conv to s*s*F channels followed by a
depth-to-space rearrangement (``pixel_shuffle``): the same MACs and weights, so it is built that
way (for s = 1 the 1x1 conv alone). Voxelisation (grouping points into pillars) and box decoding
are pre- and post-processing, not ops.
"""

from __future__ import annotations

from workloads.errors import SpecError
from workloads.network import Network, NetworkBuilder
from workloads.ops import Activation, NormKind, OpKind, PoolAttrs, PoolMode, ScatterAttrs
from workloads.zoo._common import check_int

_POINT_FEATURES = 9
_BOX_CODE = 7  # x, y, z, w, l, h, yaw
_DIRECTION_BINS = 2
_GRID_STRIDE = 8  # the pseudo-image is halved three times (Blocks 1-3)


def _conv_bn_relu(b: NetworkBuilder, x: str, prefix: str, filters: int, kernel: int,
                  stride: int = 1) -> str:
    x = b.conv2d(x, filters, kernel, stride=stride, padding=kernel // 2, name=f"{prefix}.conv")
    x = b.norm(x, NormKind.BATCH, name=f"{prefix}.bn")
    return b.act(x, Activation.RELU, name=f"{prefix}.relu")


def _up(b: NetworkBuilder, x: str, prefix: str, filters: int, stride: int) -> str:
    """Transposed conv, kernel = stride: 1x1 conv to stride^2 * filters, then depth-to-space."""
    x = b.conv2d(x, filters * stride * stride, 1, name=f"{prefix}.deconv")
    if stride > 1:
        x = b.pixel_shuffle(x, stride, name=f"{prefix}.depth_to_space")
    x = b.norm(x, NormKind.BATCH, name=f"{prefix}.bn")
    return b.act(x, Activation.RELU, name=f"{prefix}.relu")


def pointpillars(
    *,
    max_pillars: int = 12000,
    max_points: int = 100,
    grid: tuple[int, int] = (496, 432),
    channels: int = 64,
    num_classes: int = 1,
    anchors_per_class: int = 2,
) -> Network:
    """PointPillars, KITTI car network (Lang et al., "PointPillars", CVPR 2019, arXiv 1812.05784).

    Inputs: "pillars", the decorated points (1, 9, max_pillars, max_points), and
    "pillar_cells", the grid cell of each pillar (max_pillars,), an index tensor. `grid` is the
    pseudo-image's (H, W) in cells, each a multiple of 8; `channels` is the paper's C. Outputs:
    class scores (1, A * num_classes, H/2, W/2), box residuals (1, 7A, H/2, W/2) and direction
    scores (1, 2A, H/2, W/2) for A = num_classes * anchors_per_class anchors per cell. Raises
    SpecError when a count is < 1, the grid is not a multiple of 8, or there are more pillars
    than cells.
    """
    model = "pointpillars"
    for field, value in (("max_pillars", max_pillars), ("max_points", max_points),
                         ("channels", channels), ("num_classes", num_classes),
                         ("anchors_per_class", anchors_per_class)):
        check_int(model, field, value, 1)
    grid = tuple(grid)
    if (len(grid) != 2 or not all(isinstance(g, int) and not isinstance(g, bool) for g in grid)
            or min(grid) < _GRID_STRIDE or any(g % _GRID_STRIDE for g in grid)):
        raise SpecError(
            f"{model}: 'grid' must be two ints (H, W), each a positive multiple of "
            f"{_GRID_STRIDE} cells, e.g. (496, 432) (got {grid!r})"
        )
    height, width = grid
    if max_pillars > height * width:
        raise SpecError(
            f"{model}: 'max_pillars' {max_pillars} exceeds the {height * width} cells of the "
            f"{height}x{width} grid; use at most one pillar per cell"
        )
    anchors = num_classes * anchors_per_class
    b = NetworkBuilder(
        model,
        description=f"PointPillars, {max_pillars} pillars x {max_points} points, "
        f"{height}x{width} grid, C={channels}, {num_classes} class(es)",
    )
    points = b.input("pillars", (1, _POINT_FEATURES, max_pillars, max_points))
    cells = b.input("pillar_cells", (max_pillars,))

    # Pillar feature net: per-point linear + BN + ReLU, max over the points of each pillar.
    x = _conv_bn_relu(b, points, "pfn", channels, 1)
    x = b.op(OpKind.POOL, [x], PoolAttrs(mode=PoolMode.MAX, kernel=(1, max_points),
                                          stride=(1, max_points)), name="pfn.max")
    x = b.reshape(x, (1, channels, max_pillars), copy=False, name="pfn.flatten")
    x = b.transpose(x, (0, 2, 1), copy=True, name="pfn.to_rows")  # (1, P, C)
    x = b.reshape(x, (max_pillars, channels), copy=False, name="pfn.rows")

    # Scatter to the pseudo-image.
    canvas = b.op(OpKind.SCATTER, [x, cells], ScatterAttrs(),
                  output_shape=(height * width, channels), name="scatter")
    x = b.reshape(canvas, (1, channels, height, width), copy=False, name="pseudo_image")

    # Backbone: three blocks, each stride 2, and their upsampled outputs concatenated.
    ups = []
    for index, (layers, factor) in enumerate(((4, 1), (6, 2), (6, 4)), start=1):
        filters = channels * factor
        for layer in range(layers):
            x = _conv_bn_relu(b, x, f"backbone.block{index}.{layer}", filters, 3,
                              stride=2 if layer == 0 else 1)
        ups.append(_up(b, x, f"backbone.up{index}", 2 * channels, factor))
    x = b.concat(ups, axis=1, name="backbone.concat")

    # SSD head.
    scores = b.conv2d(x, anchors * num_classes, 1, bias=True, name="head.cls")
    boxes = b.conv2d(x, anchors * _BOX_CODE, 1, bias=True, name="head.box")
    directions = b.conv2d(x, anchors * _DIRECTION_BINS, 1, bias=True, name="head.dir")
    return b.build([scores, boxes, directions])
