"""One layer of a network: `Op`, its kind, its typed attributes, shape checks and counts.

Tensors are named by the op that produces them (or by a network input), so an op's `inputs` are
the names of its producers. Layouts: images NCHW, token sequences (N, L, D), point sets (P, C).
Counts are per inference: `macs` (dense multiply-accumulates), `effective_macs` (after weight
sparsity), `vector_ops` (non-MAC element operations: pooling, activations, norms, distances),
`params`, and bytes of weights, inputs and outputs at their bit-widths.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass, field
from functools import cached_property

from workloads.compression import DENSE_FP32, Compression, SparsityScheme, parse_enum
from workloads.errors import GraphError, ShapeError, SpecError

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


INDEX_BITS = 32
"""Bit-width of index tensors (gather/scatter indices, neighbour lists, token ids)."""


class OpKind(enum.Enum):
    """What an op computes."""

    CONV2D = "conv2d"
    LINEAR = "linear"
    MATMUL = "matmul"
    POOL = "pool"
    ADD = "add"
    MUL = "mul"
    ACTIVATION = "activation"
    SOFTMAX = "softmax"
    NORM = "norm"
    CONCAT = "concat"
    RESHAPE = "reshape"
    TRANSPOSE = "transpose"
    UPSAMPLE = "upsample"
    PIXEL_SHUFFLE = "pixel_shuffle"
    EMBEDDING = "embedding"
    SPARSE_CONV3D = "sparse_conv3d"
    FPS = "fps"
    KNN = "knn"
    BALL_QUERY = "ball_query"
    GATHER = "gather"
    SCATTER = "scatter"
    FUSED = "fused"


class Activation(enum.Enum):
    RELU = "relu"
    RELU6 = "relu6"
    GELU = "gelu"
    SILU = "silu"
    HARD_SWISH = "hard_swish"
    SIGMOID = "sigmoid"
    LEAKY_RELU = "leaky_relu"
    """max(x, a x) for a small slope a (Darknet's YOLO layers use a = 0.1)."""
    MISH = "mish"
    """x * tanh(softplus(x)) (Misra 2019, arXiv 1908.08681): YOLOv4's CSPDarknet53 backbone."""


class PoolMode(enum.Enum):
    MAX = "max"
    AVG = "avg"


class NormKind(enum.Enum):
    BATCH = "batch"
    LAYER = "layer"


class UpsampleMode(enum.Enum):
    NEAREST = "nearest"
    BILINEAR = "bilinear"


class ScatterReduce(enum.Enum):
    SUM = "sum"
    MAX = "max"


class NeighbourSearch(enum.Enum):
    """How a kNN or ball query finds its neighbours."""

    DISTANCE = "distance"
    """By distances between the queries and the points (brute force, a k-d tree, a ranker)."""
    GRID = "grid"
    """By cell membership: the points whose integer voxel/pillar key is the query's cell (a
    sort of keys, no distances), as PointPillars groups points into pillars."""


# --- typed attributes, one class per kind (kinds without attributes use NoAttrs) ---------------


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _pair(value, name: str) -> tuple[int, int]:
    if _is_int(value):
        value = (value, value)
    try:
        value = tuple(value)
    except TypeError:
        raise SpecError(f"{name!r} must be an int or two ints (got {value!r})") from None
    if len(value) != 2 or not all(_is_int(v) for v in value):
        raise SpecError(f"{name!r} must be an int or two ints (got {value!r})")
    return value


def _check_types(attrs, ints: tuple[str, ...] = (), floats: tuple[str, ...] = (),
                 bools: tuple[str, ...] = ()) -> None:
    for name in ints:
        if not _is_int(getattr(attrs, name)):
            raise SpecError(f"{name!r} must be an int (got {getattr(attrs, name)!r})")
    for name in floats:
        value = getattr(attrs, name)
        if not (isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(value)):
            raise SpecError(f"{name!r} must be a finite number (got {value!r})")
    for name in bools:
        if not isinstance(getattr(attrs, name), bool):
            raise SpecError(f"{name!r} must be true or false (got {getattr(attrs, name)!r})")


class _Attrs:
    """Base of the attribute classes: coerces pairs and enums, then calls `_check`."""

    _pairs: tuple[str, ...] = ()
    _enums: dict[str, type[enum.Enum]] = {}

    def __post_init__(self) -> None:
        for name in self._pairs:
            object.__setattr__(self, name, _pair(getattr(self, name), name))
        for name, enum_type in self._enums.items():
            object.__setattr__(self, name, parse_enum(enum_type, getattr(self, name), name))
        self._check()

    def _check(self) -> None:
        pass


@dataclass(frozen=True, kw_only=True)
class NoAttrs(_Attrs):
    """For kinds fully described by their shapes."""


@dataclass(frozen=True, kw_only=True)
class Conv2dAttrs(_Attrs):
    kernel: tuple[int, int]
    """(kh, kw) in pixels."""
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    """Zero padding on each side, (ph, pw)."""
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    """Channel groups; depthwise is groups = in_channels."""
    bias: bool = False
    _pairs = ("kernel", "stride", "padding", "dilation")

    def _check(self) -> None:
        _check_types(self, ints=("groups",), bools=("bias",))
        if min(self.kernel + self.stride + self.dilation) < 1 or min(self.padding) < 0:
            raise SpecError(f"conv kernel/stride/dilation must be >= 1 and padding >= 0 ({self})")
        if self.groups < 1:
            raise SpecError(f"'groups' must be >= 1 (got {self.groups})")


@dataclass(frozen=True, kw_only=True)
class LinearAttrs(_Attrs):
    bias: bool = True

    def _check(self) -> None:
        _check_types(self, bools=("bias",))


@dataclass(frozen=True, kw_only=True)
class PoolAttrs(_Attrs):
    mode: PoolMode
    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    _pairs = ("kernel", "stride", "padding")
    _enums = {"mode": PoolMode}

    def _check(self) -> None:
        if min(self.kernel + self.stride) < 1 or min(self.padding) < 0:
            raise SpecError(f"pool kernel/stride must be >= 1 and padding >= 0 ({self})")


@dataclass(frozen=True, kw_only=True)
class ActivationAttrs(_Attrs):
    function: Activation
    _enums = {"function": Activation}


@dataclass(frozen=True, kw_only=True)
class AxisAttrs(_Attrs):
    """Softmax and concat: the axis they work along (negative counts from the end)."""

    axis: int = -1

    def _check(self) -> None:
        _check_types(self, ints=("axis",))


@dataclass(frozen=True, kw_only=True)
class NormAttrs(_Attrs):
    kind: NormKind
    """BATCH normalises over channel dim 1 (inference: scale and shift); LAYER over the last."""
    _enums = {"kind": NormKind}


@dataclass(frozen=True, kw_only=True)
class ReshapeAttrs(_Attrs):
    copy: bool = False
    """True when the data is physically moved (costs memory traffic); False when free (a view)."""

    def _check(self) -> None:
        _check_types(self, bools=("copy",))


@dataclass(frozen=True, kw_only=True)
class TransposeAttrs(_Attrs):
    perm: tuple[int, ...]
    copy: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "perm", tuple(self.perm))
        super().__post_init__()

    def _check(self) -> None:
        _check_types(self, bools=("copy",))
        if not all(_is_int(p) for p in self.perm):
            raise SpecError(f"'perm' must be ints (got {self.perm!r})")


@dataclass(frozen=True, kw_only=True)
class UpsampleAttrs(_Attrs):
    scale: int
    mode: UpsampleMode = UpsampleMode.NEAREST
    _enums = {"mode": UpsampleMode}

    def _check(self) -> None:
        _check_types(self, ints=("scale",))
        if self.scale < 1:
            raise SpecError(f"'scale' must be >= 1 (got {self.scale})")


@dataclass(frozen=True, kw_only=True)
class PixelShuffleAttrs(_Attrs):
    factor: int

    def _check(self) -> None:
        _check_types(self, ints=("factor",))
        if self.factor < 1:
            raise SpecError(f"'factor' must be >= 1 (got {self.factor})")


@dataclass(frozen=True, kw_only=True)
class SparseConv3dAttrs(_Attrs):
    kernel_volume: int
    """Kernel offsets, e.g. 27 for 3x3x3."""
    n_pairs: int
    """Input-output point pairs summed over all kernel offsets (data dependent; from a kernel map)."""
    stride: int = 1
    reuses_kernel_map: bool = False
    """True when no kernel map is built for this conv: an earlier conv built it (the same
    coordinates and offsets, or the transpose of a strided conv's map), as torchsparse,
    MinkowskiEngine and PointAcc cache maps per coordinate set; a 1x1x1 conv's is the identity."""

    def _check(self) -> None:
        _check_types(self, ints=("kernel_volume", "n_pairs", "stride"), bools=("reuses_kernel_map",))
        if self.kernel_volume < 1 or self.n_pairs < 0 or self.stride < 1:
            raise SpecError(f"sparse conv needs kernel_volume >= 1, n_pairs >= 0 ({self})")


@dataclass(frozen=True, kw_only=True)
class NeighbourAttrs(_Attrs):
    """kNN and ball query: up to `k` neighbours per query; ball query within `radius`."""

    k: int
    radius: float = 0.0
    """Ball query radius in the points' units; 0 for kNN."""
    n_found: int = -1
    """Neighbour pairs actually found (data dependent); -1 means queries x k."""
    search: NeighbourSearch = NeighbourSearch.DISTANCE
    """How the neighbours are found: by distances, or by voxel/pillar cell (a key sort)."""
    _enums = {"search": NeighbourSearch}

    def _check(self) -> None:
        _check_types(self, ints=("k", "n_found"), floats=("radius",))
        if self.k < 1 or self.radius < 0:
            raise SpecError(f"'k' must be >= 1 and 'radius' >= 0 ({self})")


@dataclass(frozen=True, kw_only=True)
class ScatterAttrs(_Attrs):
    reduce: ScatterReduce = ScatterReduce.SUM
    _enums = {"reduce": ScatterReduce}


ATTRS_TYPE: dict[OpKind, type] = {
    OpKind.CONV2D: Conv2dAttrs,
    OpKind.LINEAR: LinearAttrs,
    OpKind.MATMUL: NoAttrs,
    OpKind.POOL: PoolAttrs,
    OpKind.ADD: NoAttrs,
    OpKind.MUL: NoAttrs,
    OpKind.ACTIVATION: ActivationAttrs,
    OpKind.SOFTMAX: AxisAttrs,
    OpKind.NORM: NormAttrs,
    OpKind.CONCAT: AxisAttrs,
    OpKind.RESHAPE: ReshapeAttrs,
    OpKind.TRANSPOSE: TransposeAttrs,
    OpKind.UPSAMPLE: UpsampleAttrs,
    OpKind.PIXEL_SHUFFLE: PixelShuffleAttrs,
    OpKind.EMBEDDING: NoAttrs,
    OpKind.SPARSE_CONV3D: SparseConv3dAttrs,
    OpKind.FPS: NoAttrs,
    OpKind.KNN: NeighbourAttrs,
    OpKind.BALL_QUERY: NeighbourAttrs,
    OpKind.GATHER: NoAttrs,
    OpKind.SCATTER: ScatterAttrs,
    OpKind.FUSED: NoAttrs,
}
"""The attribute class each kind takes."""

WEIGHTED_KINDS = frozenset({OpKind.CONV2D, OpKind.LINEAR, OpKind.EMBEDDING, OpKind.SPARSE_CONV3D})
"""Kinds whose weight tensor is a layer's parameters (prunable, quantizable)."""
FUSIBLE_KINDS = frozenset({OpKind.ADD, OpKind.MUL, OpKind.ACTIVATION, OpKind.NORM})
"""Kinds `Network.fused` folds into the op before them: one-to-one elementwise (DNNFusion)."""
_INDEX_INPUTS = {OpKind.EMBEDDING: (0,), OpKind.GATHER: (1,), OpKind.SCATTER: (1,)}
_INDEX_OUTPUT = frozenset({OpKind.KNN, OpKind.BALL_QUERY})

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


# --- the op ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Op:
    """One layer. Frozen; its shapes are checked against its kind on construction."""

    name: str
    """Unique within a network; also the name of the tensor the op produces."""
    kind: OpKind
    inputs: tuple[str, ...]
    """Names of the producing ops or network inputs, in operand order."""
    input_shapes: tuple[Shape, ...]
    output_shape: Shape
    weight_shape: Shape = ()
    """Shape of the learned tensor; () when the op has none."""
    attrs: object = field(default_factory=NoAttrs)
    """Instance of ATTRS_TYPE[kind]."""
    compression: Compression = DENSE_FP32
    members: tuple[Op, ...] = ()
    """FUSED only: the ops folded together, anchor first."""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "kind", parse_enum(OpKind, self.kind, "kind"))
        set_(self, "inputs", tuple(self.inputs))
        set_(self, "input_shapes", tuple(tuple(int(d) for d in s) for s in self.input_shapes))
        set_(self, "output_shape", tuple(int(d) for d in self.output_shape))
        set_(self, "weight_shape", tuple(int(d) for d in self.weight_shape))
        set_(self, "members", tuple(self.members))
        try:
            self._validate()
        except (ShapeError, SpecError, GraphError) as err:
            shown = self.name if len(str(self.name)) <= 80 else f"{self.name[:60]}..."
            raise type(err)(f"op {shown!r} ({self.kind.value}): {err}") from None

    def _validate(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise SpecError("needs a non-empty name")
        if not self.name.isprintable():
            raise SpecError("names must be printable text (no newlines or control characters)")
        if len(self.name) > MAX_NAME_CHARS:
            raise SpecError(f"names are at most MAX_NAME_CHARS = {MAX_NAME_CHARS} characters "
                            f"(got {len(self.name)})")
        attrs_type = ATTRS_TYPE[self.kind]
        if not isinstance(self.attrs, attrs_type):
            raise SpecError(f"attrs must be {attrs_type.__name__} (got {type(self.attrs).__name__})")
        if len(self.inputs) != len(self.input_shapes):
            raise ShapeError(f"{len(self.inputs)} inputs but {len(self.input_shapes)} input shapes")
        for shape in self.input_shapes + (self.output_shape, self.weight_shape):
            if any(d < 1 for d in shape):
                raise ShapeError(f"dimensions must be >= 1 (got {shape})")
            check_tensor_size(shape)
        if self.kind is OpKind.FUSED:
            if len(self.members) < 2:
                raise SpecError("a fused op needs at least two members")
            if self.output_shape != self.members[-1].output_shape:
                raise ShapeError("fused output shape must be its last member's")
            self._check_member_inputs()
            return
        if self.members:
            raise SpecError("only fused ops have members")
        comp = self.compression
        if comp.sparsity is not SparsityScheme.DENSE and self.kind not in WEIGHTED_KINDS:
            raise SpecError(f"sparsity {comp.sparsity.value} needs a weighted op")
        expected = infer_output_shape(self.kind, self.input_shapes, self.weight_shape, self.attrs)
        if expected is None:
            _check_free_output(
                self.kind, self.input_shapes, self.weight_shape, self.attrs, self.output_shape
            )
        elif expected != self.output_shape:
            raise ShapeError(f"output shape should be {expected} (got {self.output_shape})")
        if self.kind in WEIGHTED_KINDS and not self.weight_shape:
            raise ShapeError("needs a weight shape")

    def _check_member_inputs(self) -> None:
        """Each member reads an earlier member, or the fused op's next input (same shape), in
        order; so a member can never read a tensor the network does not have."""
        names = [m.name for m in self.members]
        seen: set[str] = set()
        k = 0
        for m in self.members:
            for src, shape in zip(m.inputs, m.input_shapes):
                if src in seen:
                    continue
                if src in names:
                    raise GraphError(f"member {m.name!r} reads {src!r}, a later member")
                if k >= len(self.inputs):
                    raise GraphError(
                        f"member {m.name!r} reads {src!r}, which is neither an earlier member nor "
                        f"one of the fused op's inputs {list(self.inputs)}"
                    )
                if shape != self.input_shapes[k]:
                    raise ShapeError(f"member {m.name!r} reads {src!r} as {shape}, but the fused "
                                     f"op's input {self.inputs[k]!r} is {self.input_shapes[k]}")
                k += 1
            seen.add(m.name)
        if k != len(self.inputs):
            raise GraphError(f"fused inputs {list(self.inputs[k:])} are read by no member")

    # --- counts (cached: ops are immutable) ----------------------------------------------------

    @cached_property
    def macs(self) -> int:
        """Dense multiply-accumulates per inference."""
        k, out, w = self.kind, self.output_shape, self.weight_shape
        if k is OpKind.CONV2D:
            return math.prod(out) * w[1] * w[2] * w[3]
        if k is OpKind.LINEAR:
            return math.prod(out) * w[1]
        if k is OpKind.MATMUL:
            return math.prod(out) * self.input_shapes[0][-1]
        if k is OpKind.SPARSE_CONV3D:
            return self.attrs.n_pairs * w[1] * w[2]
        if k is OpKind.FUSED:
            return sum(m.macs for m in self.members)
        return 0

    @cached_property
    def effective_macs(self) -> int:
        """MACs left after weight sparsity (channel pruning already shrank the shapes)."""
        if self.kind is OpKind.FUSED:
            return sum(m.effective_macs for m in self.members)
        comp = self.compression
        if comp.sparsity in (SparsityScheme.DENSE, SparsityScheme.CHANNEL):
            return self.macs
        return round(self.macs * comp.density)

    @cached_property
    def vector_ops(self) -> int:
        """Non-MAC element operations per inference (approximate op counts per element).

        Pool: one per window element; add/mul/activation: one per output; batch norm
        (inference, scale + shift): two; layer norm: five (mean, variance, normalise, scale,
        shift); softmax: three (exp, sum, divide); point mapping: one per coordinate of every
        distance evaluated (a 128-dimensional feature-space kNN costs 128 per pair, not 1).
        """
        k, n_out = self.kind, math.prod(self.output_shape)
        if k is OpKind.POOL:
            return n_out * self.attrs.kernel[0] * self.attrs.kernel[1]
        if k in (OpKind.ADD, OpKind.MUL, OpKind.ACTIVATION):
            return n_out
        if k is OpKind.NORM:
            return n_out * (2 if self.attrs.kind is NormKind.BATCH else 5)
        if k is OpKind.SOFTMAX:
            return 3 * n_out
        if k is OpKind.FPS:  # each sample updates every point's distance: D ops each
            return self.input_shapes[0][0] * self.output_shape[0] * self.input_shapes[0][1]
        if k in (OpKind.KNN, OpKind.BALL_QUERY):  # every query-point distance, D dims each
            return self.input_shapes[0][0] * self.input_shapes[1][0] * self.input_shapes[0][1]
        if k is OpKind.SCATTER:
            return math.prod(self.input_shapes[0])
        if k is OpKind.UPSAMPLE and self.attrs.mode is UpsampleMode.BILINEAR:
            return 4 * n_out
        if k is OpKind.FUSED:
            return sum(m.vector_ops for m in self.members)
        return 0

    @cached_property
    def params(self) -> int:
        """Learned parameters (weights, bias, norm scale and shift), dense."""
        k = self.kind
        if k is OpKind.FUSED:
            return sum(m.params for m in self.members)
        n = math.prod(self.weight_shape) if self.weight_shape else 0
        if k is OpKind.CONV2D and self.attrs.bias:
            n += self.weight_shape[0]
        elif k is OpKind.LINEAR and self.attrs.bias:
            n += self.weight_shape[0]
        elif k is OpKind.NORM:
            shape = self.output_shape
            n += 2 * (shape[1] if self.attrs.kind is NormKind.BATCH else shape[-1])
        return n

    @cached_property
    def nonzero_params(self) -> int:
        """Parameters kept after sparsity (biases and norm parameters are never pruned)."""
        if self.kind is OpKind.FUSED:
            return sum(m.nonzero_params for m in self.members)
        comp = self.compression
        if comp.sparsity in (SparsityScheme.DENSE, SparsityScheme.CHANNEL):
            return self.params
        weights = math.prod(self.weight_shape)
        return self.params - weights + round(weights * comp.density)

    @cached_property
    def weight_bytes(self) -> int:
        """Bytes of kept parameters at their bit-widths (no sparse-format index overhead)."""
        if self.kind is OpKind.FUSED:
            return sum(m.weight_bytes for m in self.members)
        return math.ceil(self.nonzero_params * self.compression.mean_weight_bits / 8)

    def input_bytes_of(self, index: int) -> int:
        """Bytes of input `index` (index tensors at INDEX_BITS, others at activation bits)."""
        bits = INDEX_BITS if index in _INDEX_INPUTS.get(self.kind, ()) else self._act_bits
        return math.ceil(math.prod(self.input_shapes[index]) * bits / 8)

    @cached_property
    def input_bytes(self) -> int:
        """Bytes of all inputs read from outside the op."""
        return sum(self.input_bytes_of(i) for i in range(len(self.input_shapes)))

    @cached_property
    def output_bytes(self) -> int:
        """Bytes of the output tensor."""
        if self.kind is OpKind.FUSED:
            return self.members[-1].output_bytes
        bits = INDEX_BITS if self.kind in _INDEX_OUTPUT else self._act_bits
        return math.ceil(math.prod(self.output_shape) * bits / 8)

    @cached_property
    def weight_bytes_read(self) -> int:
        """Bytes of weights one inference reads: an embedding reads only the rows it looks up
        (one row per index at the weight bits, at most the whole table); every other op all
        its kept weights."""
        if self.kind is OpKind.FUSED:
            return sum(m.weight_bytes_read for m in self.members)
        if self.kind is OpKind.EMBEDDING:
            return min(self.weight_bytes,
                       math.ceil(math.prod(self.output_shape) * self.compression.mean_weight_bits / 8))
        return self.weight_bytes

    @cached_property
    def input_bytes_read(self) -> int:
        """Bytes of inputs one inference reads: a gather reads its indices and one feature row
        per index (at most the whole
        feature tensor); every other op all of its inputs."""
        if self.kind is OpKind.GATHER:
            rows = math.ceil(math.prod(self.output_shape) * self._act_bits / 8)
            return self.input_bytes_of(1) + min(rows, self.input_bytes_of(0))
        return self.input_bytes

    @cached_property
    def intermediate_bytes(self) -> int:
        """FUSED only: bytes of the tensors passed between members (kept on chip)."""
        return sum(m.output_bytes for m in self.members[:-1])

    @property
    def _act_bits(self) -> int:
        return self.compression.activation_bits

    @property
    def is_free(self) -> bool:
        """True for ops that move no data and compute nothing (a reshape that is a view)."""
        return self.kind is OpKind.RESHAPE and not self.attrs.copy

    @property
    def gemm(self):
        """The GEMM view (`workloads.gemm.Gemm`) of a conv2d, linear or matmul op, or of a fused
        op by its anchor; None for other kinds."""
        from workloads.gemm import gemm_of  # workloads.gemm imports this module

        return gemm_of(self)

    @property
    def anchor(self) -> Op:
        """The op a fused group is built around (itself when not fused)."""
        return self.members[0] if self.members else self

    def replace(self, **changes) -> Op:
        """A copy with `changes` applied (and re-validated)."""
        return dataclasses.replace(self, **changes)
