"""What an op computes: `OpKind`, the enums of its modes, and one frozen attribute class per
kind (`ATTRS_TYPE`), each checking its own fields on construction (a `SpecError` naming the field).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from workloads.compression import parse_enum
from workloads.errors import SpecError

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
