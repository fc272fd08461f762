"""A network: a DAG of ops in topological order, its summary, and pure transforms.

`Network.pruned`, `Network.quantized` and `Network.fused` return new networks; nothing mutates.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property

from workloads.compression import Compression, QuantScheme, SparsityScheme, parse_enum
from workloads.errors import GraphError, ShapeError, SpecError, suggest
from workloads.ops import (
    FUSIBLE_KINDS,
    MAX_NAME_CHARS,
    ActivationAttrs,
    AxisAttrs,
    Conv2dAttrs,
    LinearAttrs,
    NoAttrs,
    NormAttrs,
    NormKind,
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
class Network:
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

    @cached_property
    def digest(self) -> str:
        """SHA-256 hex digest of the network's canonical trace (cached: networks are immutable)."""
        from workloads.trace import digest  # trace builds on this module

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
        """Peak live activation bytes running ops one at a time in topological order.

        A tensor is live from the step that produces it (network inputs: from the start) to the
        last step that reads it; network outputs stay live to the end.
        """
        sizes, last_use = self._tensor_sizes_and_last_use()
        born = {s.name: 0 for s in self.inputs}
        born.update({op.name: i for i, op in enumerate(self.ops)})
        events = [0] * (len(self.ops) + 1)
        for name, size in sizes.items():
            events[born[name]] += size
            events[last_use[name] + 1] -= size
        peak = live = 0
        for delta in events[:-1]:
            live += delta
            peak = max(peak, live)
        return peak

    def _tensor_sizes_and_last_use(self) -> tuple[dict[str, int], dict[str, int]]:
        sizes: dict[str, int] = {}
        last_use: dict[str, int] = {}
        root = self.storage_roots
        end = len(self.ops) - 1
        for spec in self.inputs:
            sizes[spec.name] = 0
            last_use[spec.name] = 0
        for i, op in enumerate(self.ops):
            if not op.is_free:
                sizes[op.name] = op.output_bytes
                last_use[op.name] = i
            for j, src in enumerate(op.inputs):
                last_use[root[src]] = i
                if src not in self._by_name:  # network input: size at this op's precision
                    sizes[src] = max(sizes[src], op.input_bytes_of(j))
        for out in self.outputs:
            last_use[root[out]] = end
        return sizes, last_use

    @cached_property
    def storage_roots(self) -> dict[str, str]:
        """Tensor name -> the tensor whose memory holds it (a view's source, else itself).

        A free reshape is a view: reading it reads its source, which must stay alive.
        """
        root = {s.name: s.name for s in self.inputs}
        for op in self.ops:
            root[op.name] = root[op.inputs[0]] if op.is_free else op.name
        return root

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

    # --- transforms ------------------------------------------------------------------------------

    def _with_ops(self, ops: Iterable[Op], suffix: str) -> Network:
        return dataclasses.replace(self, ops=tuple(ops), name=f"{self.name}{suffix}")

    def _map_ops(self, fn: Callable[[Op], Op], suffix: str) -> Network:
        def apply(op: Op) -> Op:
            if op.kind is OpKind.FUSED:
                return op.replace(members=tuple(fn(m) for m in op.members))
            return fn(op)

        return self._with_ops((apply(op) for op in self.ops), suffix)

    def quantized(
        self,
        scheme: QuantScheme | str = QuantScheme.FIXED,
        *,
        weight_bits: int = 8,
        activation_bits: int | None = None,
        pot_ratio: float = 0.0,
        high_bits: int = 0,
        high_ratio: float = 0.0,
    ) -> Network:
        """Every op quantized with `scheme` (float schemes fix their own bit-widths).

        Sparsity settings are kept. `activation_bits` defaults to `weight_bits`. Ops without
        weights (attention matmuls, elementwise ops) get the same settings, so their
        activation bits and datapath are known; the weight-row fields (`pot_ratio`,
        `high_ratio`) mean nothing for them and devices ignore them there.
        """
        scheme = parse_enum(QuantScheme, scheme, "quant")
        if scheme is QuantScheme.FLOAT32:
            weight_bits = activation_bits = 32
        elif scheme is QuantScheme.FLOAT16:
            weight_bits = activation_bits = 16
        fields = dict(
            quant=scheme,
            weight_bits=weight_bits,
            activation_bits=weight_bits if activation_bits is None else activation_bits,
            pot_ratio=pot_ratio,
            high_bits=high_bits,
            high_ratio=high_ratio,
        )
        Compression(**fields)  # validate once, before touching every op
        return self._map_ops(
            lambda op: op.replace(compression=dataclasses.replace(op.compression, **fields)),
            f"/{Compression(**fields).label()}",
        )

    def pruned(
        self,
        scheme: SparsityScheme | str,
        ratio: float,
        *,
        block_shape: tuple[int, int] = (8, 8),
        names: Iterable[str] | None = None,
    ) -> Network:
        """Weights pruned with `scheme` at `ratio` (fraction removed) on the ops it applies to.

        UNSTRUCTURED: every conv, linear and sparse conv; BLOCK: non-grouped conv and linear
        (GRIM's block-based column-row pruning on the GEMM view, `block_shape` rows x cols);
        PATTERN: non-grouped 3x3 convs (kernel patterns plus connectivity pruning); CHANNEL:
        removes output channels of convs/linears whose output reaches only other convs/linears
        through batch norm, activations, pooling and depthwise convs, and shrinks the consumers,
        so shapes change. `names` restricts pruning to those ops. Depthwise convs stay dense
        except as CHANNEL followers.
        """
        scheme = parse_enum(SparsityScheme, scheme, "sparsity")
        if scheme is SparsityScheme.DENSE:
            raise SpecError("prune with a sparsity scheme other than 'dense'")
        if scheme is SparsityScheme.N_M:
            raise SpecError(
                "N:M sparsity is read from a model's weights (load_onnx); prune with "
                "'unstructured', 'pattern', 'block' or 'channel'"
            )
        if not 0.0 < ratio < 1.0:
            raise SpecError(f"pruning ratio must be in (0, 1) (got {ratio})")
        if any(op.kind is OpKind.FUSED for op in self.ops):
            raise SpecError(f"network {self.name!r} is fused; prune before fusing")
        chosen = None if names is None else set(names)
        if chosen is not None:
            for n in chosen:
                self[n]  # raises GraphError with a suggestion when unknown
        suffix = f"/{scheme.value}:{ratio:g}"
        if scheme is SparsityScheme.CHANNEL:
            return self._channel_pruned(ratio, chosen, suffix)

        def prune(op: Op) -> Op:
            if (chosen is not None and op.name not in chosen) or not _eligible(op, scheme):
                return op
            comp = dataclasses.replace(
                op.compression,
                sparsity=scheme,
                sparsity_ratio=ratio,
                block_shape=block_shape if scheme is SparsityScheme.BLOCK else (1, 1),
            )
            return op.replace(compression=comp)

        return self._with_ops(map(prune, self.ops), suffix)

    def _channel_pruned(self, ratio: float, chosen: set[str] | None, suffix: str) -> Network:
        prunable = {
            op.name
            for op in self.ops
            if (chosen is None or op.name in chosen) and self._channel_prunable(op)
        }
        shapes = {s.name: s.shape for s in self.inputs}
        new_ops = []
        for op in self.ops:
            ins = tuple(shapes[s] for s in op.inputs)
            if op.name in prunable:
                new = _shrink_output(op, ins, ratio)
            elif ins != op.input_shapes:
                new = _follow_inputs(op, ins)
            else:
                new = op
            shapes[op.name] = new.output_shape
            new_ops.append(new)
        return self._with_ops(new_ops, suffix)

    def _channel_prunable(self, op: Op) -> bool:
        if op.kind is OpKind.CONV2D:
            if op.attrs.groups != 1:
                return False
        elif op.kind is not OpKind.LINEAR:
            return False
        outputs = set(self.outputs)

        def reaches_only_sinks(name: str) -> bool:
            if name in outputs or not self.consumers[name]:
                return False
            for c in self.consumers[name]:
                cop = self[c]
                if _is_channel_sink(cop):
                    continue
                if _is_channel_transparent(cop, op.kind) and reaches_only_sinks(c):
                    continue
                return False
            return True

        return reaches_only_sinks(op.name)

    def fused(self) -> Network:
        """Each op folded together with the chain of add/mul/activation/norm ops after it.

        An op joins the group of one of its operands when it is the only reader of that group's
        current output (so the intermediate never needs to reach memory); any operand of the
        output's shape may be that producer, so a residual ``x + conv(x)`` fuses like
        ``conv(x) + x`` (the first operand that qualifies wins), while a squeeze-excite
        ``x * gate`` with a (N, C, 1, 1) gate does not join the gate. A group of one stays as
        it was. The fused op is named by joining its members' names with '+', and placed where its
        last member was, which keeps the order topological. Its name joins the members' names
        with '+', dropping the anchor's module prefix from the rest ('l1.conv+bn+relu').
        """
        groups: list[list[Op]] = []
        group_of: dict[str, int] = {}
        outputs = set(self.outputs)

        def joinable(src: str) -> bool:
            return (
                src in group_of
                and groups[group_of[src]][-1].name == src
                and len(self.consumers[src]) == 1
                and src not in outputs
                and groups[group_of[src]][0].kind is not OpKind.FUSED
            )

        for op in self.ops:
            src = None
            if op.kind in FUSIBLE_KINDS:
                # One-to-one only: an operand broadcast up to the output (a squeeze-excite gate)
                # is not a producer the op can run inside.
                src = next((s for s, shape in zip(op.inputs, op.input_shapes)
                            if shape == op.output_shape and joinable(s)), None)
            if src is not None:
                gid = group_of[src]
                groups[gid].append(op)
            else:
                gid = len(groups)
                groups.append([op])
            group_of[op.name] = gid
        renamed: dict[str, str] = {}
        fused_at: dict[str, Op] = {}
        for members in groups:
            if len(members) == 1:
                continue
            names = {m.name for m in members}
            ext = [(s, sh) for m in members for s, sh in zip(m.inputs, m.input_shapes) if s not in names]
            name = _group_name([m.name for m in members])
            fused_at[members[-1].name] = Op(
                name=name,
                kind=OpKind.FUSED,
                inputs=tuple(s for s, _ in ext),
                input_shapes=tuple(sh for _, sh in ext),
                output_shape=members[-1].output_shape,
                compression=members[0].compression,
                members=tuple(members),
            )
            renamed[members[-1].name] = name
        in_group = {m.name for g in groups if len(g) > 1 for m in g}
        new_ops = []
        for op in self.ops:
            if op.name in fused_at:
                op = fused_at[op.name]
            elif op.name in in_group:
                continue
            if any(s in renamed for s in op.inputs):
                op = op.replace(inputs=tuple(renamed.get(s, s) for s in op.inputs))
            new_ops.append(op)
        outputs = tuple(renamed.get(o, o) for o in self.outputs)
        if not fused_at:  # nothing left to fold: the same network
            return self
        return dataclasses.replace(
            self, ops=tuple(new_ops), outputs=outputs, name=f"{self.name}/fused"
        )


def _group_name(names: list[str]) -> str:
    prefix = names[0].rpartition(".")[0] + "."
    rest = [n[len(prefix):] if prefix != "." and n.startswith(prefix) else n for n in names[1:]]
    return "+".join([names[0], *rest])


def _eligible(op: Op, scheme: SparsityScheme) -> bool:
    if op.kind is OpKind.CONV2D:
        if op.attrs.groups != 1:
            return False
        if scheme is SparsityScheme.PATTERN:
            return op.attrs.kernel == (3, 3)
        return True
    if op.kind is OpKind.LINEAR:
        return scheme is not SparsityScheme.PATTERN
    if op.kind is OpKind.SPARSE_CONV3D:
        return scheme is SparsityScheme.UNSTRUCTURED
    return False


def _is_depthwise(op: Op) -> bool:
    return (
        op.kind is OpKind.CONV2D
        and op.attrs.groups == op.input_shapes[0][1] == op.output_shape[1]
        and op.attrs.groups > 1
    )


def _is_channel_sink(op: Op) -> bool:
    """Ops that absorb a pruned channel dimension by shrinking their own weights."""
    return (op.kind is OpKind.CONV2D and op.attrs.groups == 1) or op.kind is OpKind.LINEAR


def _is_channel_transparent(op: Op, producer: OpKind) -> bool:
    """Single-input ops that carry the channel dimension through unchanged."""
    if len(op.inputs) != 1:
        return False
    if op.kind in (OpKind.ACTIVATION, OpKind.POOL, OpKind.UPSAMPLE):
        return True
    if op.kind is OpKind.NORM:
        # Batch norm normalises per channel (dim 1); layer norm over the linear's feature dim.
        return (op.attrs.kind is NormKind.BATCH) == (producer is OpKind.CONV2D)
    return _is_depthwise(op)


def _shrink_output(op: Op, ins: tuple[Shape, ...], ratio: float) -> Op:
    kept = max(1, round(op.weight_shape[0] * (1 - ratio)))
    comp = dataclasses.replace(
        op.compression, sparsity=SparsityScheme.CHANNEL, sparsity_ratio=ratio, block_shape=(1, 1)
    )
    cin = ins[0][1] if op.kind is OpKind.CONV2D else ins[0][-1]
    weight = (kept, cin) + op.weight_shape[2:]
    out = infer_output_shape(op.kind, ins, weight, op.attrs)
    return op.replace(input_shapes=ins, weight_shape=weight, output_shape=out, compression=comp)


def _follow_inputs(op: Op, ins: tuple[Shape, ...]) -> Op:
    """Re-derive an op's weight and output shapes after its inputs lost channels."""
    weight, attrs = op.weight_shape, op.attrs
    if _is_depthwise(op):
        c = ins[0][1]
        attrs = dataclasses.replace(attrs, groups=c)
        weight = (c,) + op.weight_shape[1:]
    elif op.kind is OpKind.CONV2D:
        weight = (op.weight_shape[0], ins[0][1]) + op.weight_shape[2:]
    elif op.kind is OpKind.LINEAR:
        weight = (op.weight_shape[0], ins[0][-1])
    out = infer_output_shape(op.kind, ins, weight, attrs)
    if out is None:
        raise SpecError(f"op {op.name!r} ({op.kind.value}) cannot follow a channel change")
    return op.replace(input_shapes=ins, weight_shape=weight, attrs=attrs, output_shape=out)


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
