"""A network: a DAG of ops in topological order, its look-ups and totals, and `NetworkBuilder`.

`Network.pruned`, `Network.quantized` and `Network.fused` return new networks; nothing mutates.
They live in `workloads.transforms` (`Network`'s base class), tensor lifetimes and the
activation peak in `workloads.liveness`, the trace digest in `workloads.trace_encode`.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from workloads import liveness
from workloads.compression import Compression
from workloads.errors import GraphError, ShapeError, SpecError, suggest
from workloads.ops import (
    MAX_NAME_CHARS,
    ActivationAttrs,
    AxisAttrs,
    Conv2dAttrs,
    LinearAttrs,
    NoAttrs,
    NormAttrs,
    Op,
    OpKind,
    PixelShuffleAttrs,
    PoolAttrs,
    ReshapeAttrs,
    Shape,
    TransposeAttrs,
    UpsampleAttrs,
    check_tensor_size,
    infer_output_shape,
)
from workloads.trace_encode import digest
from workloads.transforms import NetworkTransforms


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """A network input: its name and shape."""

    name: str
    shape: Shape

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(int(d) for d in self.shape))
        if not (isinstance(self.name, str) and self.name and self.name.isprintable()
                and len(self.name) <= MAX_NAME_CHARS):
            shown = self.name if len(str(self.name)) <= 80 else f"{str(self.name)[:60]}..."
            raise GraphError(f"input {shown!r}: names must be non-empty printable text of at "
                             f"most MAX_NAME_CHARS = {MAX_NAME_CHARS} characters")
        check_tensor_size(self.shape, f"input {self.name!r}")


@dataclass(frozen=True, slots=True)
class Summary:
    """Totals of a network per inference."""

    n_ops: int
    macs: int
    effective_macs: int
    vector_ops: int
    params: int
    weight_bytes: int
    activation_peak_bytes: int
    """Peak bytes of live activations when ops run one at a time in topological order."""


@dataclass(frozen=True, kw_only=True)
class Network(NetworkTransforms):
    """A DAG of ops. `ops` must be in topological order (use `Network.build` to sort)."""

    name: str
    inputs: tuple[TensorSpec, ...]
    ops: tuple[Op, ...]
    outputs: tuple[str, ...]
    """Names of the tensors the network returns."""
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "ops", tuple(self.ops))
        object.__setattr__(self, "outputs", tuple(self.outputs))
        if not self.ops:
            raise GraphError(f"network {self.name!r} has no ops")
        shapes: dict[str, Shape] = {}
        for spec in self.inputs:
            if spec.name in shapes:
                raise GraphError(f"network {self.name!r}: duplicate input {spec.name!r}")
            shapes[spec.name] = tuple(spec.shape)
        for op in self.ops:
            if op.name in shapes:
                raise GraphError(f"network {self.name!r}: duplicate tensor name {op.name!r}")
            for src, shape in zip(op.inputs, op.input_shapes):
                if src not in shapes:
                    where = "is not defined" if src not in self._names else "comes later"
                    raise GraphError(
                        f"network {self.name!r}: op {op.name!r} reads {src!r}, which {where}"
                        + suggest(src, shapes)
                    )
                if shapes[src] != shape:
                    raise ShapeError(
                        f"network {self.name!r}: op {op.name!r} expects {src!r} of shape "
                        f"{shape}, but it is {shapes[src]}"
                    )
            shapes[op.name] = op.output_shape
        for out in self.outputs:
            if out not in shapes:
                raise GraphError(f"network {self.name!r}: output {out!r} is not defined")

    @cached_property
    def _names(self) -> frozenset[str]:
        return frozenset(op.name for op in self.ops) | {s.name for s in self.inputs}

    @classmethod
    def build(cls, *, name, inputs, ops, outputs, description="") -> Network:
        """A network from ops in any order, sorted topologically; GraphError on a cycle.

        The sort is stable: among ops whose inputs are ready, the one given first goes first,
        so ops already in a valid order keep it.
        """
        ops = tuple(ops)
        by_name = {op.name: op for op in ops}
        if len(by_name) != len(ops):
            raise GraphError(f"network {name!r}: duplicate op names")
        index = {op.name: i for i, op in enumerate(ops)}
        waiting = [len({s for s in op.inputs if s in by_name}) for op in ops]
        readers: dict[str, list[int]] = {}
        for i, op in enumerate(ops):
            for src in dict.fromkeys(op.inputs):
                if src in by_name:
                    readers.setdefault(src, []).append(i)
        ready = [i for i, n in enumerate(waiting) if n == 0]
        heapq.heapify(ready)
        ordered = []
        while ready:
            i = heapq.heappop(ready)
            ordered.append(ops[i])
            for j in readers.get(ops[i].name, ()):
                waiting[j] -= 1
                if waiting[j] == 0:
                    heapq.heappush(ready, j)
        if len(ordered) != len(ops):
            stuck = sorted((op.name for op in ops if op not in ordered), key=index.__getitem__)
            raise GraphError(f"network {name!r}: ops form a cycle among {stuck[:6]}")
        return cls(name=name, inputs=tuple(inputs), ops=tuple(ordered), outputs=tuple(outputs),
                   description=description)

    @property
    def batch(self) -> int:
        """Frames one run processes together: the first input's leading dimension (1 if none)."""
        return self.inputs[0].shape[0] if self.inputs and self.inputs[0].shape else 1

    @property
    def batch_text(self) -> str:
        """What a report's 'batch' line shows: the batch, or what a frame's input is where its
        leading dimension is not a batch (a point-cloud network's counts points)."""
        return str(self.batch)

    @cached_property
    def digest(self) -> str:
        """SHA-256 hex digest of the network's canonical trace (cached: networks are immutable)."""
        return digest(self)

    # --- look-ups --------------------------------------------------------------------------------

    @cached_property
    def _by_name(self) -> dict[str, Op]:
        return {op.name: op for op in self.ops}

    def __getitem__(self, name: str) -> Op:
        try:
            return self._by_name[name]
        except KeyError:
            raise GraphError(
                f"network {self.name!r} has no op {name!r}" + suggest(name, self._by_name)
            ) from None

    def __iter__(self):
        return iter(self.ops)

    def __len__(self) -> int:
        return len(self.ops)

    @cached_property
    def consumers(self) -> dict[str, tuple[str, ...]]:
        """Tensor name -> names of the ops reading it, in topological order."""
        result: dict[str, list[str]] = {s.name: [] for s in self.inputs}
        for op in self.ops:
            result[op.name] = []
            for src in op.inputs:
                if op.name not in result[src]:
                    result[src].append(op.name)
        return {k: tuple(v) for k, v in result.items()}

    # --- totals ----------------------------------------------------------------------------------

    @property
    def macs(self) -> int:
        return sum(op.macs for op in self.ops)

    @property
    def effective_macs(self) -> int:
        return sum(op.effective_macs for op in self.ops)

    @property
    def params(self) -> int:
        return sum(op.params for op in self.ops)

    @property
    def weight_bytes(self) -> int:
        return sum(op.weight_bytes for op in self.ops)

    def activation_peak_bytes(self) -> int:
        """Peak live activation bytes running ops one at a time in topological order
        (`workloads.liveness.activation_peak_bytes`)."""
        return liveness.activation_peak_bytes(self)

    @cached_property
    def storage_roots(self) -> dict[str, str]:
        """Tensor name -> the tensor whose memory holds it (a view's source, else itself); see
        `workloads.liveness.storage_roots`."""
        return liveness.storage_roots(self)

    @cached_property
    def lifetimes(self) -> liveness.Lifetimes:
        """Tensor lifetimes at the network's own sizes (`workloads.liveness.lifetimes`), computed
        once: the engine plans every run of this network from them."""
        return liveness.lifetimes(self)

    def summary(self) -> Summary:
        return Summary(
            n_ops=len(self.ops),
            macs=self.macs,
            effective_macs=self.effective_macs,
            vector_ops=sum(op.vector_ops for op in self.ops),
            params=self.params,
            weight_bytes=self.weight_bytes,
            activation_peak_bytes=self.activation_peak_bytes(),
        )



class NetworkBuilder:
    """Builds a network op by op, inferring every output shape.

    Each method takes the names of its input tensors and returns the name of its output.
    Names default to ``{kind}{n}``; pass ``name=`` to choose.
    """

    def __init__(self, name: str, *, description: str = "", compression: Compression | None = None):
        self.name = name
        self.description = description
        self._compression = compression or Compression()
        self._inputs: list[TensorSpec] = []
        self._ops: list[Op] = []
        self._shapes: dict[str, Shape] = {}
        self._count: dict[str, int] = {}

    def shape(self, tensor: str) -> Shape:
        """Shape of a tensor built so far."""
        try:
            return self._shapes[tensor]
        except KeyError:
            raise GraphError(f"no tensor {tensor!r} in {self.name!r}" + suggest(tensor, self._shapes)) from None

    def input(self, name: str, shape: Iterable[int]) -> str:
        shape = tuple(int(d) for d in shape)
        if not shape or min(shape) < 1:
            raise ShapeError(f"input {name!r} needs positive dimensions (got {shape})")
        self._inputs.append(TensorSpec(name, shape))
        self._shapes[name] = shape
        return name

    def op(
        self,
        kind: OpKind,
        inputs: Iterable[str],
        attrs: object | None = None,
        *,
        weight_shape: Iterable[int] = (),
        output_shape: Iterable[int] | None = None,
        name: str | None = None,
    ) -> str:
        """Add any op; `output_shape` is needed only for data-dependent kinds."""
        inputs = tuple(inputs)
        in_shapes = tuple(self.shape(s) for s in inputs)
        attrs = NoAttrs() if attrs is None else attrs
        weight_shape = tuple(weight_shape)
        if name is None:
            n = self._count.get(kind.value, 0)
            self._count[kind.value] = n + 1
            name = f"{kind.value}{n}"
        if output_shape is None:
            try:
                output_shape = infer_output_shape(kind, in_shapes, weight_shape, attrs)
            except (ShapeError, SpecError) as err:
                raise type(err)(f"op {name!r} ({kind.value}): {err}") from None
            if output_shape is None:
                raise ShapeError(f"op {name!r} ({kind.value}): give output_shape (data dependent)")
        op = Op(
            name=name,
            kind=kind,
            inputs=inputs,
            input_shapes=in_shapes,
            output_shape=tuple(output_shape),
            weight_shape=weight_shape,
            attrs=attrs,
            compression=self._compression,
        )
        if name in self._shapes:
            raise GraphError(f"duplicate tensor name {name!r} in {self.name!r}")
        self._ops.append(op)
        self._shapes[name] = op.output_shape
        return name

    # --- conveniences for the common kinds -------------------------------------------------------

    def conv2d(self, x, out_channels, kernel, *, stride=1, padding=0, dilation=1, groups=1,
               bias=False, name=None) -> str:
        attrs = Conv2dAttrs(kernel=kernel, stride=stride, padding=padding, dilation=dilation,
                            groups=groups, bias=bias)
        cin = self.shape(x)[1] if len(self.shape(x)) == 4 else 0
        weight = (out_channels, cin // groups if groups else 0) + attrs.kernel
        return self.op(OpKind.CONV2D, [x], attrs, weight_shape=weight, name=name)

    def linear(self, x, out_features, *, bias=True, name=None) -> str:
        weight = (out_features, self.shape(x)[-1])
        return self.op(OpKind.LINEAR, [x], LinearAttrs(bias=bias), weight_shape=weight, name=name)

    def matmul(self, a, b, *, name=None) -> str:
        return self.op(OpKind.MATMUL, [a, b], name=name)

    def pool(self, x, mode, kernel, *, stride=None, padding=0, name=None) -> str:
        attrs = PoolAttrs(mode=mode, kernel=kernel, stride=kernel if stride is None else stride,
                          padding=padding)
        return self.op(OpKind.POOL, [x], attrs, name=name)

    def global_pool(self, x, mode="avg", *, name=None) -> str:
        shape = self.shape(x)
        return self.pool(x, mode, (shape[2], shape[3]), stride=1, name=name)

    def add(self, a, b=None, *, weight_shape=(), name=None) -> str:
        """a + b, or a + a learned tensor of `weight_shape` (e.g. a position embedding)."""
        return self.op(OpKind.ADD, [a] if b is None else [a, b], weight_shape=weight_shape, name=name)

    def mul(self, a, b=None, *, weight_shape=(), name=None) -> str:
        return self.op(OpKind.MUL, [a] if b is None else [a, b], weight_shape=weight_shape, name=name)

    def act(self, x, function, *, name=None) -> str:
        return self.op(OpKind.ACTIVATION, [x], ActivationAttrs(function=function), name=name)

    def softmax(self, x, *, axis=-1, name=None) -> str:
        return self.op(OpKind.SOFTMAX, [x], AxisAttrs(axis=axis), name=name)

    def norm(self, x, kind, *, name=None) -> str:
        return self.op(OpKind.NORM, [x], NormAttrs(kind=kind), name=name)

    def concat(self, xs, *, axis=1, weight_shape=(), name=None) -> str:
        """Concatenate tensors (and optionally a learned tensor, e.g. a class token)."""
        return self.op(OpKind.CONCAT, xs, AxisAttrs(axis=axis), weight_shape=weight_shape, name=name)

    def reshape(self, x, shape, *, copy=False, name=None) -> str:
        return self.op(OpKind.RESHAPE, [x], ReshapeAttrs(copy=copy), output_shape=shape, name=name)

    def transpose(self, x, perm, *, copy=True, name=None) -> str:
        return self.op(OpKind.TRANSPOSE, [x], TransposeAttrs(perm=perm, copy=copy), name=name)

    def upsample(self, x, scale, *, mode="nearest", name=None) -> str:
        return self.op(OpKind.UPSAMPLE, [x], UpsampleAttrs(scale=scale, mode=mode), name=name)

    def pixel_shuffle(self, x, factor, *, name=None) -> str:
        return self.op(OpKind.PIXEL_SHUFFLE, [x], PixelShuffleAttrs(factor=factor), name=name)

    def embedding(self, ids, vocab, dim, *, name=None) -> str:
        return self.op(OpKind.EMBEDDING, [ids], weight_shape=(vocab, dim), name=name)

    def build(self, outputs: Iterable[str] | None = None) -> Network:
        """The network; `outputs` defaults to the last op's tensor."""
        outs = tuple(outputs) if outputs is not None else (self._ops[-1].name,) if self._ops else ()
        return Network(
            name=self.name,
            inputs=tuple(self._inputs),
            ops=tuple(self._ops),
            outputs=outs,
            description=self.description,
        )
