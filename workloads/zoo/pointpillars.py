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
    n_pillars: int = 12000,
    n_points: int = 100,
    n_cells_y: int = 496,
    n_cells_x: int = 432,
    channels: int = 64,
    num_classes: int = 1,
    n_rotations: int = 2,
) -> Network:
    """PointPillars, KITTI car network (Lang et al., "PointPillars", CVPR 2019, arXiv 1812.05784).

    `n_pillars` (P) pillars of `n_points` (N) points each; the pseudo-image is `n_cells_y` (H)
    by `n_cells_x` (W) cells, each a multiple of 8; `channels` is the paper's C; each cell has
    A = num_classes * n_rotations anchors. Inputs: "pillars", the decorated points
    (1, 9, P, N), and "pillar_cells", the grid cell of each pillar (P,), an index tensor.
    Outputs: class scores (1, A * num_classes, H/2, W/2), box residuals (1, 7A, H/2, W/2) and
    direction scores (1, 2A, H/2, W/2). Raises SpecError when a count is < 1, a grid side is
    not a multiple of 8, or there are more pillars than cells.
    """
    model = "pointpillars"
    for field, value in (("n_pillars", n_pillars), ("n_points", n_points),
                         ("n_cells_y", n_cells_y), ("n_cells_x", n_cells_x),
                         ("channels", channels), ("num_classes", num_classes),
                         ("n_rotations", n_rotations)):
        check_int(model, field, value, 1)
    for field, value in (("n_cells_y", n_cells_y), ("n_cells_x", n_cells_x)):
        if value % _GRID_STRIDE:
            raise SpecError(
                f"{model}: {field!r} must be a multiple of {_GRID_STRIDE} cells (three stride-2 "
                f"blocks), e.g. 496 x 432 (got {value})"
            )
    height, width = n_cells_y, n_cells_x
    if n_pillars > height * width:
        raise SpecError(
            f"{model}: 'n_pillars' {n_pillars} exceeds the {height * width} cells of the "
            f"{height}x{width} grid; use at most one pillar per cell"
        )
    anchors = num_classes * n_rotations
    b = NetworkBuilder(
        model,
        description=f"PointPillars, {n_pillars} pillars x {n_points} points, "
        f"{height}x{width} grid, C={channels}, {num_classes} class(es)",
    )
    points = b.input("pillars", (1, _POINT_FEATURES, n_pillars, n_points))
    cells = b.input("pillar_cells", (n_pillars,))

    # Pillar feature net: per-point linear + BN + ReLU, max over the points of each pillar.
    x = _conv_bn_relu(b, points, "pfn", channels, 1)
    x = b.op(OpKind.POOL, [x], PoolAttrs(mode=PoolMode.MAX, kernel=(1, n_points),
                                          stride=(1, n_points)), name="pfn.max")
    x = b.reshape(x, (1, channels, n_pillars), copy=False, name="pfn.flatten")
    x = b.transpose(x, (0, 2, 1), copy=True, name="pfn.to_rows")  # (1, P, C)
    x = b.reshape(x, (n_pillars, channels), copy=False, name="pfn.rows")

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
