"""The pure transforms of a network: `quantized`, `pruned` (unstructured, pattern, block, N:M,
and channel pruning, which shrinks the shapes downstream) and `fused` (an op folded with the
one-to-one elementwise ops after it). Each returns a new network; nothing mutates.

`NetworkTransforms` is a base class of `workloads.network.Network` and holds these methods; it
reads the network's fields and look-ups (`ops`, `outputs`, `consumers`, `network[name]`) and
builds results with `dataclasses.replace`, so it imports nothing of `workloads.network`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from workloads.compression import Compression, QuantScheme, SparsityScheme, parse_enum
from workloads.errors import SpecError
from workloads.ops import FUSIBLE_KINDS, NormKind, Op, OpKind, Shape, infer_output_shape

if TYPE_CHECKING:
    from workloads.network import Network


class NetworkTransforms:
    """`Network.quantized`, `Network.pruned` and `Network.fused` (see the module doc)."""

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
