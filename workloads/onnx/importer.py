"""The state of one ONNX import and its steps: initializers read lazily, the graph passes,
the check that every op type is supported (all at once), then each node converted in order by
its `workloads.onnx.convert` converter, nodes on constants folded, outputs checked against ONNX
shape inference, dead ops dropped, and the file's compression attached.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from workloads.errors import GraphError, ShapeError, SpecError, TraceError, UnsupportedOpError
from workloads.network import Network, NetworkBuilder
from workloads.onnx.compression import _with_compression
from workloads.onnx.convert import CONVERTERS, SHAPE_HINTS, SUPPORTED_OP_TYPES, NodeError
from workloads.onnx.names import name_by_modules
from workloads.onnx.packed import _Linear, _PackedLinears
from workloads.onnx.passes import (
    DEFAULT_DOMAINS,
    LAYOUT_OPS,
    Const,
    Graph,
    PassError,
    WeightQuant,
    dtype_bits,
    evaluate,
    fold_constants,
    fuse_patterns,
    strip_dynamic_quant,
    strip_qdq,
)
from workloads.onnx.read import _graph_inputs, _inferred_shapes, _one_line
from workloads.ops import Shape

GENERIC_GRAPH_NAMES = frozenset({"", "main_graph", "torch_jit", "torch-jit-export", "graph"})
"""Graph names exporters write for every model (torch: main_graph); the file stem names those."""


class _Importer(_PackedLinears):
    """The state of one import: tensors seen so far and the network being built."""

    def __init__(self, onnx, model, source: str, base_dir: str | None, *, name: str | None,
                 batch: int | None, read_weights: bool) -> None:
        self.onnx = onnx
        self.model = model
        self.source = source
        self.base_dir = base_dir
        self.batch = batch
        self.read_weights = read_weights
        self.opset = next(
            (o.version for o in model.opset_import if o.domain in DEFAULT_DOMAINS), 1
        )
        graph = model.graph
        default_name = graph.name
        if default_name in GENERIC_GRAPH_NAMES:
            default_name = Path(source).stem if not source.startswith("<") else (graph.name or "onnx")
            default_name = default_name.removesuffix(".onnx")
        producer = " ".join(p for p in (model.producer_name, model.producer_version) if p)
        self.builder = NetworkBuilder(
            name or default_name,
            description=f"imported from {source} (ONNX opset {self.opset}"
            + (f", {producer})" if producer else ")"),
        )
        self.consts: dict[str, Const] = {t.name: self._initializer(t) for t in graph.initializer}
        self.acts: dict[str, str] = {}
        """ONNX tensor name -> edgesim tensor name, for activations."""
        self.unavailable: dict[str, str] = {}
        """ONNX tensor name -> why it cannot be read (a Dropout mask, a pooling index output)."""
        self.used_names: set[str] = set()
        self.onnx_shapes: dict[str, Shape] = {}
        self.graph: Graph | None = None
        self.views: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] = {}
        """edgesim view/transpose tensor -> (its source, the same rearrangement on numpy)."""
        self.linears: dict[str, _Linear] = {}
        self.split_sources: dict[str, str] = {}
        """Linear ops split into row ranges -> the node that split them."""
        self.weights: dict[str, tuple[Const, str, Callable[[np.ndarray], np.ndarray]]] = {}
        """Weighted op -> (its weight constant, that constant's name, ONNX -> edgesim layout)."""
        self.act_inputs: dict[str, str] = {}
        """edgesim op -> the ONNX name of its first activation input (for its bit-width)."""
        self.act_outputs: dict[str, str] = {}
        """edgesim op -> the ONNX name of its output."""
        self.read_bits: dict[str, int] = {}
        """edgesim op -> bits of the quantized input it reads (through a removed Q/DQ)."""

    def _initializer(self, tensor) -> Const:
        from onnx import helper, numpy_helper

        try:
            dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tensor.data_type))
        except (KeyError, TypeError, ValueError):
            raise TraceError(
                f"{self.source}: initializer {tensor.name!r} has an unknown element type "
                f"{tensor.data_type}"
            ) from None
        shape = tuple(int(d) for d in tensor.dims)
        learned = dtype.kind == "f" and math.prod(shape) > 1
        if learned and not self.read_weights:
            return Const(shape, dtype, None, shape)

        def load() -> np.ndarray:
            if tensor.data_location == self.onnx.TensorProto.EXTERNAL and self.base_dir is None:
                raise NodeError(f"initializer {tensor.name!r} is in an external data file, and "
                                 "an in-memory model has no folder to read it from")
            try:
                return numpy_helper.to_array(tensor, self.base_dir or "")
            except (OSError, ValueError, self.onnx.checker.ValidationError) as err:
                raise NodeError(f"cannot read the values of initializer {tensor.name!r}: "
                                 f"{_one_line(err)}") from None

        return Const(shape, dtype, load, shape if learned else None)

    # --- the steps ------------------------------------------------------------------------------

    def run(self) -> Network:
        inputs = _graph_inputs(self.model, self.consts, self.source, self.batch)
        self.onnx_shapes = _inferred_shapes(self.onnx, self.model, inputs, self.source)
        graph = self.model.graph
        nodes = []
        self.node_names: dict[int, str] = {}
        for index, node in enumerate(graph.node):
            copy = type(node)()
            copy.CopyFrom(node)
            nodes.append(copy)
            self.node_names[id(copy)] = node.name or f"{node.op_type}_{index}"
        shapes = dict(self.onnx_shapes)
        shapes.update(inputs)
        g = Graph(nodes, self.consts, shapes, self.opset)
        outputs = {o.name for o in graph.output}
        try:
            strip_dynamic_quant(g)
            strip_qdq(g, lambda t: np.dtype(self.onnx.helper.tensor_dtype_to_np_dtype(t)).name)
            fold_constants(g, outputs)
            fuse_patterns(g, outputs)
        except PassError as err:
            label = self.node_names.get(id(err.node), err.node.name or err.node.op_type)
            raise TraceError(f"{self.source}: node {label!r} ({err.node.op_type}): {err}") from None
        except NodeError as err:
            raise TraceError(f"{self.source}: {err}") from None
        self.graph = g
        name_by_modules(g.nodes, self.node_names)
        self._check_supported(g.nodes)
        for onnx_name, shape in inputs.items():
            self.acts[onnx_name] = self.builder.input(onnx_name, shape)
            self.used_names.add(onnx_name)
        for node in g.nodes:
            self._convert(node)
        outs = [self._output(g.rename.get(o.name, o.name)) for o in graph.output]
        try:
            network = self.builder.build(outs)
        except (GraphError, ShapeError, SpecError) as err:
            raise TraceError(f"{self.source}: {err}") from None
        network = self._live(network)
        return _with_compression(network, self.graph, weights=self.weights,
                                 act_inputs=self.act_inputs, act_outputs=self.act_outputs,
                                 read_bits=self.read_bits, read_weights=self.read_weights,
                                 source=self.source)

    def _check_supported(self, nodes) -> None:
        """All unsupported op types at once; nodes computed from constants are evaluated later.

        Shapes the ONNX shape inference could not give are known once the ops before are
        built, so shape arithmetic on them (Shape, then Gather, Sqrt, Div...) is folded during
        the conversion: those nodes count as supported here.
        """
        missing: dict[str, list[str]] = {}
        known = {n for n, c in self.consts.items()}
        learned = {n for n, c in self.consts.items() if c.param_shape is not None}
        self.foldable: set[int] = set()
        for node in nodes:
            op_type = _qualified_type(node)
            ins = [i for i in node.input if i]
            if node.domain in DEFAULT_DOMAINS and op_type not in ("Constant",) and ins and (
                op_type in ("Shape", "Size")
                or (all(i in known for i in ins)
                    and (op_type in LAYOUT_OPS or not any(i in learned for i in ins)))
            ):
                if op_type not in ("Shape", "Size"):
                    self.foldable.add(id(node))
                known.update(o for o in node.output if o)
                if any(i in learned for i in ins) and op_type not in ("Shape", "Size"):
                    learned.update(o for o in node.output if o)
                continue
            if op_type not in CONVERTERS:
                label = self.node_names.get(id(node), node.name or node.op_type)
                missing.setdefault(op_type, []).append(label)
        if missing:
            parts = []
            for op_type, names in sorted(missing.items()):
                shown = ", ".join(repr(n) for n in names[:5])
                more = f" and {len(names) - 5} more" if len(names) > 5 else ""
                op_type = op_type if op_type.isprintable() else repr(op_type)  # one line
                parts.append(f"{op_type} (node{'s' if len(names) > 1 else ''} {shown}{more})")
            raise UnsupportedOpError(
                f"{self.source}: {len(missing)} ONNX op type(s) not supported: {'; '.join(parts)}. "
                f"Supported: {', '.join(SUPPORTED_OP_TYPES)}"
            )

    def _convert(self, node) -> None:
        label = self.node_names.get(id(node), node.name or node.op_type)
        name = self._unique(label)
        where = f"{self.source}: node {name!r} ({node.op_type})"
        try:
            ins = [self._resolve(t) for t in node.input]
            if id(node) in self.foldable and all(v is None or isinstance(v, Const) for v in ins):
                result = self._fold(node, ins)
            else:
                result = CONVERTERS[_qualified_type(node)](self, node, name, ins)
        except (NodeError, GraphError, ShapeError, SpecError) as err:
            raise TraceError(f"{where}: {err}") from None
        except (KeyError, IndexError) as err:  # a required attribute or input is absent
            raise TraceError(f"{where}: missing attribute or input {_one_line(err)}") from None
        results = result if isinstance(result, list) else [result]
        if name not in results:  # no op was made (skipped, folded, constant): the name stays free
            self.used_names.discard(name)
        else:
            first = next((t for t, v in zip(node.input, ins) if isinstance(v, str)), None)
            if first is not None:
                self.act_inputs[name] = first
            self.act_outputs[name] = node.output[0]
            if id(node) in self.graph.input_bits:
                self.read_bits[name] = self.graph.input_bits[id(node)]
        for out, value in zip(node.output, results):
            if not out:
                continue
            if isinstance(value, Const):
                self.consts[out] = value
                continue
            self.acts[out] = value
            expected = self.onnx_shapes.get(out)
            got = self.builder.shape(value)
            if expected is not None and expected != got:
                raise TraceError(
                    f"{where}: ONNX infers output shape {expected}, edgesim computes {got}"
                    + SHAPE_HINTS.get(node.op_type, "")
                )
        for extra in node.output[len(results):]:
            if extra:
                self.unavailable[extra] = f"output {extra!r} of {node.op_type} node {name!r}"

    def _fold(self, node, ins: list) -> list:
        """A node on constants only, evaluated (its constants became known during conversion)."""
        learned = next((c.param_shape for c in ins if c is not None and c.param_shape), None)
        if any(c is not None and not c.known for c in ins):
            # A layout op on a weight whose values are not read: only its shape is needed.
            if node.op_type == "Expand" and len(ins) > 1 and ins[1] is not None:
                target = tuple(int(v) for v in self.value(ins[1], "shape").reshape(-1))
                shape = tuple(int(d) for d in np.broadcast_shapes(ins[0].shape, target))
            elif node.op_type in ("Identity", "Cast"):
                shape = ins[0].shape
            else:
                shape = self.onnx_shape(node)
            return [Const(shape, ins[0].dtype, None, learned)]
        values = [None if c is None else self.value(c, f"input of {node.op_type}") for c in ins]
        try:
            outs = evaluate(node, values, self.opset)
        except Exception as err:  # noqa: BLE001 - onnx.reference raises anything on bad input
            raise NodeError(f"cannot evaluate it on its constant inputs: {_one_line(err)}") from None
        return [Const.of(v, learned if node.op_type in LAYOUT_OPS else None) for v in outs]

    def _output(self, onnx_name: str) -> str:
        try:
            value = self._resolve(onnx_name)
        except NodeError as err:
            raise TraceError(f"{self.source}: graph output {onnx_name!r}: {err}") from None
        if isinstance(value, Const):
            raise TraceError(
                f"{self.source}: graph output {onnx_name!r} is a constant, not computed"
            )
        return value

    def _live(self, network: Network) -> Network:
        """The network without ops no output depends on (the packed linears that were split)."""
        live: set[str] = set(network.outputs)
        for op in reversed(network.ops):
            if op.name in live:
                live.update(op.inputs)
        for linear, node in self.split_sources.items():
            if linear in live:
                raise TraceError(
                    f"{self.source}: node {node!r} takes part of the output of linear "
                    f"{linear!r}, which is also used whole; edgesim cannot model both"
                )
        if all(op.name in live for op in network.ops):
            return network
        return replace(network, ops=tuple(op for op in network.ops if op.name in live))

    # --- helpers for the converters -------------------------------------------------------------

    def _unique(self, base: str) -> str:
        name, n = base, 0
        while name in self.used_names:
            n += 1
            name = f"{base}_{n}"
        self.used_names.add(name)
        return name

    def _resolve(self, onnx_name: str) -> str | Const | None:
        """An input of a node: an edgesim tensor name, a constant, or None when omitted ('')."""
        if not onnx_name:
            return None
        if onnx_name in self.acts:
            return self.acts[onnx_name]
        if onnx_name in self.consts:
            return self.consts[onnx_name]
        if onnx_name in self.unavailable:
            raise NodeError(f"reads {self.unavailable[onnx_name]}, which edgesim does not model")
        raise NodeError(
            f"reads tensor {onnx_name!r}, which no earlier node produces (ONNX graphs are sorted)"
        )

    def value(self, const: Const, what: str):
        """The numpy value of a constant; NodeError when it is not known."""
        if not const.known:
            raise NodeError(f"{what} must be a constant with a known value")
        return const.value

    def shape_of(self, value) -> Shape:
        return value.shape if isinstance(value, Const) else self.builder.shape(value)

    def onnx_shape(self, node, index: int = 0) -> Shape:
        try:
            return self.onnx_shapes[node.output[index]]
        except KeyError:
            raise NodeError(
                f"ONNX shape inference gave no shape for output {node.output[index]!r}"
            ) from None

    def weighted(self, op_name: str, node, index: int, layout=None) -> None:
        """Remember op `op_name`'s weight (ONNX input `index` of `node`) for compression."""
        onnx_name = node.input[index]
        self.weights[op_name] = (self.consts[onnx_name], onnx_name, layout or (lambda a: a))

    def fresh(self, base: str) -> str:
        """A new op name from `base` (suffixed when taken)."""
        return self._unique(base)

    def quantized_weight(self, onnx_name: str, scale) -> None:
        """A QLinear* op's integer weight: its bits from its element type."""
        c = self.consts.get(onnx_name)
        bits = dtype_bits(c.dtype) if c is not None else None
        if bits is None:
            raise NodeError(f"weight {onnx_name!r} must be an integer initializer")
        per_channel = isinstance(scale, Const) and scale.size > 1
        self.graph.weight_quant[onnx_name] = WeightQuant(bits, per_channel)

    def quantized_activation(self, onnx_name: str, zero_point) -> None:
        """A QLinear* op's activation: its bits from the zero point's element type (uint8 if none)."""
        bits = dtype_bits(zero_point.dtype) if isinstance(zero_point, Const) else None
        self.graph.activation_bits[onnx_name] = bits or 8


def _qualified_type(node) -> str:
    return node.op_type if node.domain in DEFAULT_DOMAINS else f"{node.domain}.{node.op_type}"
