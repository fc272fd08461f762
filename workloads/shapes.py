"""Tensor shapes: the size limits every user-given shape is held to, and the output shape of
each op kind from its inputs, weight and attributes (`infer_output_shape`), or the check of a
given one for kinds whose output size is data dependent.
"""

from __future__ import annotations

import math

from workloads.attrs import (
    AxisAttrs,
    Conv2dAttrs,
    NormAttrs,
    NormKind,
    OpKind,
    PixelShuffleAttrs,
    PoolAttrs,
    TransposeAttrs,
    UpsampleAttrs,
)
from workloads.errors import ShapeError

Shape = tuple[int, ...]
MAX_TENSOR_ELEMENTS = 2**40
"""Larger tensors (4 TB at fp32) are certainly a typo, not an edge workload."""
MAX_DIM = 2**31 - 1
"""Largest single dimension (int32, what every runtime indexes with)."""
MAX_NAME_CHARS = 1000
"""Longest op or tensor name; generated names (fused groups) stay far below it."""


def count_text(n: int) -> str:
    """`n` in 3 significant digits, even when it is too large for a float (2**1100)."""
    return f"{n:.3g}" if n < 10**300 else f"~1e{len(str(n)) - 1}"


def check_tensor_size(shape: Shape, what: str = "tensor") -> None:
    """ShapeError unless every dimension is in [1, MAX_DIM] and the element count is at most
    MAX_TENSOR_ELEMENTS (user inputs control shapes, so they bound memory and float ranges)."""
    if any(d < 1 for d in shape):
        raise ShapeError(f"dimensions must be >= 1 (got {shape})")
    if any(d > MAX_DIM for d in shape):
        dims = tuple(d if d <= MAX_DIM else count_text(d) for d in shape)
        raise ShapeError(f"{what} dimension over MAX_DIM = {MAX_DIM} (got {dims}); check the sizes")
    n = math.prod(shape)
    if n > MAX_TENSOR_ELEMENTS:
        raise ShapeError(
            f"{what} of shape {shape} has {count_text(n)} elements, more than "
            f"MAX_TENSOR_ELEMENTS = {MAX_TENSOR_ELEMENTS:.3g}; check the sizes (resolution, "
            "batch, sequence)"
        )


# --- shape inference: one function per kind, returning the output shape ----------------------
# Each raises ShapeError (without the op's name; Op adds it) when the inputs disagree.


def _conv_out(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _shape_conv2d(ins, w, a: Conv2dAttrs) -> Shape:
    (x,) = _arity(ins, 1)
    if len(x) != 4:
        raise ShapeError(f"conv2d input must be NCHW (got {x})")
    n, c, h, wd = x
    if c % a.groups:
        raise ShapeError(f"input channels {c} not divisible by groups {a.groups}")
    if len(w) != 4 or w[1] * a.groups != c or tuple(w[2:]) != a.kernel or w[0] % a.groups:
        raise ShapeError(
            f"weight must be (out, {c // a.groups}, {a.kernel[0]}, {a.kernel[1]}) "
            f"with out divisible by groups {a.groups} (got {w})"
        )
    ho = _conv_out(h, a.kernel[0], a.stride[0], a.padding[0], a.dilation[0])
    wo = _conv_out(wd, a.kernel[1], a.stride[1], a.padding[1], a.dilation[1])
    if ho < 1 or wo < 1:
        raise ShapeError(f"kernel {a.kernel} with dilation {a.dilation} exceeds padded input {x}")
    return (n, w[0], ho, wo)


def _shape_linear(ins, w, a) -> Shape:
    (x,) = _arity(ins, 1)
    if len(w) != 2 or x[-1] != w[1]:
        raise ShapeError(f"weight must be (out, {x[-1]}) for input {x} (got {w})")
    return x[:-1] + (w[0],)


def _shape_matmul(ins, w, a) -> Shape:
    x, y = _arity(ins, 2)
    if len(x) < 2 or len(y) < 2 or x[-1] != y[-2] or x[:-2] != y[:-2]:
        raise ShapeError(f"matmul needs (..., M, K) @ (..., K, N) with equal batch dims (got {x}, {y})")
    return x[:-1] + (y[-1],)


def _shape_pool(ins, w, a: PoolAttrs) -> Shape:
    (x,) = _arity(ins, 1)
    if len(x) != 4:
        raise ShapeError(f"pool input must be NCHW (got {x})")
    ho = _conv_out(x[2], a.kernel[0], a.stride[0], a.padding[0], 1)
    wo = _conv_out(x[3], a.kernel[1], a.stride[1], a.padding[1], 1)
    if ho < 1 or wo < 1:
        raise ShapeError(f"pool kernel {a.kernel} exceeds padded input {x}")
    return (x[0], x[1], ho, wo)


def _broadcast(shapes) -> Shape:
    try:
        return tuple(int(d) for d in _np_broadcast(shapes))
    except ValueError:
        raise ShapeError(f"shapes {list(shapes)} do not broadcast") from None


def _np_broadcast(shapes):
    import numpy as np

    return np.broadcast_shapes(*shapes)


def _shape_elementwise(ins, w, a) -> Shape:
    shapes = list(ins) + ([w] if w else [])
    if len(shapes) < 2:
        raise ShapeError(f"needs two operands (inputs or a learned weight), got {len(shapes)}")
    return _broadcast(shapes)


def _shape_same(ins, w, a) -> Shape:
    (x,) = _arity(ins, 1)
    return x


def _shape_norm(ins, w, a: NormAttrs) -> Shape:
    (x,) = _arity(ins, 1)
    if a.kind is NormKind.BATCH and len(x) < 2:
        raise ShapeError(f"batch norm needs a channel dim 1 (got {x})")
    return x


def _shape_softmax(ins, w, a: AxisAttrs) -> Shape:
    (x,) = _arity(ins, 1)
    _axis(a.axis, len(x))
    return x


def _axis(axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise ShapeError(f"axis {axis} out of range for rank {rank}")
    return axis % rank


def _shape_concat(ins, w, a: AxisAttrs) -> Shape:
    if not ins:
        raise ShapeError("concat needs at least one input")
    rank = len(ins[0])
    ax = _axis(a.axis, rank)
    parts = list(ins)
    if w:
        # A learned operand (e.g. a class token of shape (1, 1, D)) is expanded over the other
        # dims of size 1, as implementations do with `expand` before concatenating.
        if len(w) != rank:
            raise ShapeError(f"learned concat operand {w} must have rank {rank}")
        parts.append(tuple(ins[0][i] if i != ax and w[i] == 1 else w[i] for i in range(rank)))
    if len(parts) < 2:
        raise ShapeError("concat needs at least two operands (inputs or a learned weight)")
    for p in parts:
        if len(p) != rank or p[:ax] + p[ax + 1 :] != parts[0][:ax] + parts[0][ax + 1 :]:
            raise ShapeError(f"concat operands {parts} differ outside axis {a.axis}")
    return parts[0][:ax] + (sum(p[ax] for p in parts),) + parts[0][ax + 1 :]


def _shape_transpose(ins, w, a: TransposeAttrs) -> Shape:
    (x,) = _arity(ins, 1)
    if sorted(a.perm) != list(range(len(x))):
        raise ShapeError(f"perm {a.perm} is not a permutation of {len(x)} axes")
    return tuple(x[i] for i in a.perm)


def _shape_upsample(ins, w, a: UpsampleAttrs) -> Shape:
    (x,) = _arity(ins, 1)
    if len(x) != 4:
        raise ShapeError(f"upsample input must be NCHW (got {x})")
    return (x[0], x[1], x[2] * a.scale, x[3] * a.scale)


def _shape_pixel_shuffle(ins, w, a: PixelShuffleAttrs) -> Shape:
    (x,) = _arity(ins, 1)
    r = a.factor
    if len(x) != 4 or x[1] % (r * r):
        raise ShapeError(f"pixel shuffle needs NCHW with C divisible by {r * r} (got {x})")
    return (x[0], x[1] // (r * r), x[2] * r, x[3] * r)


def _shape_embedding(ins, w, a) -> Shape:
    (ids,) = _arity(ins, 1)
    if len(w) != 2:
        raise ShapeError(f"embedding weight must be (vocab, dim) (got {w})")
    return ids + (w[1],)


def _shape_gather(ins, w, a) -> Shape:
    feats, idx = _arity(ins, 2)
    if len(feats) != 2:
        raise ShapeError(f"gather features must be (points, channels) (got {feats})")
    return idx + (feats[1],)


FREE_OUTPUT = None
"""Marker: the kind's output shape is data dependent; its checker validates it instead."""

_SHAPE_FUNCS = {
    OpKind.CONV2D: _shape_conv2d,
    OpKind.LINEAR: _shape_linear,
    OpKind.MATMUL: _shape_matmul,
    OpKind.POOL: _shape_pool,
    OpKind.ADD: _shape_elementwise,
    OpKind.MUL: _shape_elementwise,
    OpKind.ACTIVATION: _shape_same,
    OpKind.SOFTMAX: _shape_softmax,
    OpKind.NORM: _shape_norm,
    OpKind.CONCAT: _shape_concat,
    OpKind.TRANSPOSE: _shape_transpose,
    OpKind.UPSAMPLE: _shape_upsample,
    OpKind.PIXEL_SHUFFLE: _shape_pixel_shuffle,
    OpKind.EMBEDDING: _shape_embedding,
    OpKind.GATHER: _shape_gather,
}


def _check_free_output(kind: OpKind, ins, w, a, out: Shape) -> None:
    """Validate kinds whose output size is data dependent (given, not inferred)."""
    if kind is OpKind.RESHAPE:
        (x,) = _arity(ins, 1)
        if math.prod(x) != math.prod(out):
            raise ShapeError(f"reshape from {x} to {out} changes the element count")
    elif kind is OpKind.SPARSE_CONV3D:
        (x,) = _arity(ins, 1)
        if len(x) != 2 or len(out) != 2 or tuple(w) != (a.kernel_volume, x[1], out[1]):
            raise ShapeError(
                f"sparse conv needs input (points, Cin), output (points, Cout) and weight "
                f"(kernel_volume, Cin, Cout) (got {x}, {out}, {w})"
            )
        if a.n_pairs > a.kernel_volume * x[0]:
            raise ShapeError(f"n_pairs {a.n_pairs} exceeds kernel_volume x input points")
    elif kind is OpKind.FPS:
        (x,) = _arity(ins, 1)
        if len(x) != 2 or len(out) != 2 or out[1] != x[1] or out[0] > x[0]:
            raise ShapeError(f"fps samples (n <= {x[0]}, {x[1]}) from {x} (got {out})")
    elif kind in (OpKind.KNN, OpKind.BALL_QUERY):
        queries, points = _arity(ins, 2)
        if len(queries) != 2 or len(points) != 2 or queries[1] != points[1]:
            raise ShapeError(f"queries and points must be (n, dims) alike (got {queries}, {points})")
        if out != (queries[0], a.k):
            raise ShapeError(f"neighbour list must be ({queries[0]}, {a.k}) (got {out})")
        if a.n_found > queries[0] * a.k:
            raise ShapeError(f"n_found {a.n_found} exceeds queries x k")
        if kind is OpKind.KNN and a.k > points[0]:
            raise ShapeError(f"k = {a.k} exceeds the {points[0]} points")
    elif kind is OpKind.SCATTER:
        values, idx = _arity(ins, 2)
        if len(values) != 2 or idx != values[:1] or len(out) != 2 or out[1] != values[1]:
            raise ShapeError(
                f"scatter needs values (m, C), indices (m,), output (n, C) (got {ins}, {out})"
            )


def _arity(ins, n: int):
    if len(ins) != n:
        raise ShapeError(f"expects {n} input(s) (got {len(ins)})")
    return ins


def infer_output_shape(kind: OpKind, input_shapes, weight_shape: Shape, attrs) -> Shape | None:
    """Output shape of an op, or None for data-dependent kinds; raises ShapeError."""
    func = _SHAPE_FUNCS.get(kind)
    return None if func is None else func(tuple(input_shapes), tuple(weight_shape), attrs)
