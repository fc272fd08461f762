"""One layer of a network: `Op`, frozen, its shapes checked against its kind on construction.

Tensors are named by the op that produces them (or by a network input), so an op's `inputs` are
the names of its producers. Layouts: images NCHW, token sequences (N, L, D), point sets (P, C).
Counts are per inference: `macs` (dense multiply-accumulates), `effective_macs` (after weight
sparsity), `vector_ops` (non-MAC element operations: pooling, activations, norms, distances),
`params`, and bytes of weights, inputs and outputs at their bit-widths.

The pieces live beside it, each re-exported here so `from workloads.ops import ...` keeps
working: kinds, modes and typed attributes in `workloads.attrs`, size limits and shape inference
in `workloads.shapes`, the counts (`Op`'s base class) in `workloads.counts`, the GEMM view in
`workloads.gemm`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from workloads.attrs import (
    ATTRS_TYPE,
    FUSIBLE_KINDS,
    INDEX_BITS,
    WEIGHTED_KINDS,
    Activation,
    ActivationAttrs,
    AxisAttrs,
    Conv2dAttrs,
    LinearAttrs,
    NeighbourAttrs,
    NeighbourSearch,
    NoAttrs,
    NormAttrs,
    NormKind,
    OpKind,
    PixelShuffleAttrs,
    PoolAttrs,
    PoolMode,
    ReshapeAttrs,
    ScatterAttrs,
    ScatterReduce,
    SparseConv3dAttrs,
    TransposeAttrs,
    UpsampleAttrs,
    UpsampleMode,
)
from workloads.compression import DENSE_FP32, Compression, SparsityScheme, parse_enum
from workloads.counts import OpCounts
from workloads.errors import GraphError, ShapeError, SpecError
from workloads.gemm import Gemm, gemm_of
from workloads.shapes import (
    FREE_OUTPUT,
    MAX_DIM,
    MAX_NAME_CHARS,
    MAX_TENSOR_ELEMENTS,
    Shape,
    _check_free_output,
    check_tensor_size,
    count_text,
    infer_output_shape,
)

__all__ = [
    "ATTRS_TYPE", "FREE_OUTPUT", "FUSIBLE_KINDS", "INDEX_BITS", "MAX_DIM", "MAX_NAME_CHARS",
    "MAX_TENSOR_ELEMENTS", "WEIGHTED_KINDS", "Activation", "ActivationAttrs", "AxisAttrs",
    "Conv2dAttrs", "LinearAttrs", "NeighbourAttrs", "NeighbourSearch", "NoAttrs", "NormAttrs",
    "NormKind", "Op", "OpKind", "PixelShuffleAttrs", "PoolAttrs", "PoolMode", "ReshapeAttrs",
    "ScatterAttrs", "ScatterReduce", "Shape", "SparseConv3dAttrs", "TransposeAttrs", "UpsampleAttrs",
    "UpsampleMode", "check_tensor_size", "count_text", "infer_output_shape",
]


# --- the op ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Op(OpCounts):
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

    def __hash__(self) -> int:
        # Immutable, and hashed by every device's cost-memo look-up (a sweep makes millions of
        # them, each walking the shapes, attrs, compression and members): hash once. Equal ops
        # hash equally, as the dataclass hash over the same fields would.
        cached = self.__dict__.get("_hash")
        if cached is None:
            cached = self.__dict__["_hash"] = hash(
                tuple(getattr(self, f.name) for f in dataclasses.fields(self)))
        return cached

    def __getstate__(self) -> dict:
        # str hashes differ between processes (PYTHONHASHSEED): never ship a cached one.
        return {k: v for k, v in self.__dict__.items() if k != "_hash"}

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

    @property
    def is_free(self) -> bool:
        """True for ops that move no data and compute nothing (a reshape that is a view)."""
        return self.kind is OpKind.RESHAPE and not self.attrs.copy

    @property
    def gemm(self) -> Gemm | None:
        """The GEMM view (`workloads.gemm.gemm_of`) of a conv2d, linear or matmul op, or of a
        fused op by its anchor; None for other kinds."""
        return gemm_of(self)

    @property
    def anchor(self) -> Op:
        """The op a fused group is built around (itself when not fused)."""
        return self.members[0] if self.members else self

    def replace(self, **changes) -> Op:
        """A copy with `changes` applied (and re-validated)."""
        return dataclasses.replace(self, **changes)
