"""Import an ONNX model as a `Network`: `load_onnx(path_or_model, name=..., batch=...)`.

Shapes come from `onnx.shape_inference` on a copy of the model whose symbolic batch dims are set
to `batch`. Then the graph passes of `workloads.onnx.passes` fold shape arithmetic to constants,
recognise Erf GELU, decomposed layer norms and MatMul + bias, and strip QuantizeLinear /
DequantizeLinear (recording bit-widths). What is left maps node by node:

=========================================  ===================================================
ONNX                                       edgesim
=========================================  ===================================================
Conv (2-D; group, strides, dilations,      CONV2D (bias when B is given); asymmetric pads are
symmetric pads or auto_pad), QLinearConv   an error naming the node
Gemm (transB; C as bias), MatMul with an   LINEAR, weight (out, in); MatMul + Add of one
initializer as right operand, QLinear-     constant per output is one LINEAR with bias
MatMul, Einsum of that form
MatMul / Einsum of two activations         MATMUL (an Einsum contracting the last dims of both
                                           gets a TRANSPOSE of its second operand first)
MaxPool, AveragePool (2-D, ceil_mode),     POOL (max / avg); ceil_mode is modelled as the
GlobalAveragePool, GlobalMaxPool,          extra padding that gives ONNX's output size
ReduceMean / ReduceMax over H, W
Add, Sub / Mul, Div                        ADD / MUL; a constant operand is the op's learned
                                           weight (a scalar one counts as shape (1,))
Relu, Clip(0, 6) / Clip(0, inf), Sigmoid,  ACTIVATION relu6 / relu, sigmoid, hard_swish, gelu;
HardSwish, Gelu (or Erf GELU), Tanh,       tanh and hard sigmoid are SIGMOID, the activation of
HardSigmoid; x * Sigmoid(x),               the same exponential cost class (as the zoo's BERT);
x * HardSigmoid(x)                         silu; hard_swish
Softmax                                    SOFTMAX along the node's axis
BatchNormalization, LayerNormalization     NORM batch (inference: scale + shift) / layer (last
(or the decomposed ReduceMean pattern)     axis only)
Concat                                     CONCAT (one constant operand, e.g. a class token
                                           expanded over the batch, is its learned weight)
Gather of an initializer by activations    EMBEDDING (vocab, dim)
Gather of index 0 on axis 1 of (N, L, D)   the zoo's first-token pick (a free view, a 1x1
                                           strided pool, a free view)
Gather, Slice, Split of a linear layer's   a LINEAR of those output rows (a packed q/k/v
output (through views and transposes)      projection becomes three), then a free view and a
                                           copying TRANSPOSE when the layout needs one
Reshape, Flatten, Squeeze, Unsqueeze       RESHAPE, copy=False (a view)
Transpose                                  TRANSPOSE, copy=True
Identity, Dropout, Cast, Expand to the     skipped: readers are rewired to the input
same shape
QuantizeLinear, DequantizeLinear,          removed; their types give the bit-widths (weights:
DynamicQuantizeLinear; MatMulInteger +     the integer initializer's; activations: the zero
Cast + Mul; com.microsoft QLinearAdd,      point's) of the ops they feed; the com.microsoft
QLinearMul, QLinearGlobalAveragePool,      ops map as their float counterparts, with bits
QGemm
=========================================  ===================================================

Every node computed from constants only (shape arithmetic: Shape, Gather, Range, Slice,
ConstantOfShape, Where, Equal, Expand, ...) becomes a constant. Every other op type is an error:
all unsupported types are reported at once, with the nodes using them, in one
`UnsupportedOpError`. Ops are named by the ONNX node name (``{op_type}_{index}`` when it is
empty; ``_1``, ``_2``... appended on a clash), and each tensor by the op producing it.

Compression in the file lands in each op's `Compression`: the weight bit-width of a quantized
initializer (QDQ or QLinear*), the activation bit-width of its input, and the sparsity scheme and
ratio found in the zeros of its weights (`workloads.onnx.detect`). Weights in an external data
file (``model.onnx.data``) are read from beside the model when they are needed, which is for
that detection only; `read_weights=False` reads shapes alone.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from workloads.compression import QuantScheme, SparsityScheme
from workloads.errors import (
    EdgesimError,
    GraphError,
    ShapeError,
    SpecError,
    TraceError,
    UnsupportedOpError,
)
from workloads.network import Network, NetworkBuilder
from workloads.onnx import detect
from workloads.onnx.names import check_text, name_by_modules
from workloads.onnx.convert import (
    CONVERTERS,
    SHAPE_HINTS,
    SUPPORTED_OP_TYPES,
    NodeError,
    view_layout,
)
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
from workloads.ops import LinearAttrs, OpKind, Shape, TransposeAttrs

__all__ = ["GENERIC_GRAPH_NAMES", "SUPPORTED_OP_TYPES", "load_onnx"]

_INSTALL_HINT = "pip install edgesim[onnx]"
GENERIC_GRAPH_NAMES = frozenset({"", "main_graph", "torch_jit", "torch-jit-export", "graph"})
"""Graph names exporters write for every model (torch: main_graph); the file stem names those."""


def load_onnx(path_or_model, *, name: str | None = None, batch: int | None = None,
              read_weights: bool = True) -> Network:
    """The network of an ONNX model (a file path or an `onnx.ModelProto`, which is not modified).

    `name` defaults to the graph name, or the file stem when the graph name is one every export
    has (`GENERIC_GRAPH_NAMES`); `batch` replaces a symbolic first dimension of the graph inputs
    (default 1). `read_weights=False` skips reading weight values, and so the sparsity detection
    (bit-widths still come from the types). Raises TraceError when onnx is not installed, the
    file cannot be read, or a node cannot be mapped (naming the node and why), and
    UnsupportedOpError listing every unsupported op type with its nodes.
    """
    try:
        import onnx
    except ImportError:
        raise TraceError(f"importing ONNX models needs the onnx package: {_INSTALL_HINT}") from None
    if batch is not None and (type(batch) is not int or batch < 1):
        raise TraceError(f"load_onnx: 'batch' must be a positive int (got {batch!r})")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise TraceError(f"load_onnx: 'name' must be a non-empty string (got {name!r})")
    model, source, base_dir = _read_model(onnx, path_or_model)
    check_text(model, source)
    try:
        return _Importer(onnx, model, source, base_dir, name=name, batch=batch,
                         read_weights=read_weights).run()
    except EdgesimError:
        raise
    # A corrupted file can decode into a structurally odd model (an attribute of the wrong
    # type, a negative or absurd dimension) that fails deep inside onnx or the converters.
    except _MALFORMED as err:
        detail = " ".join(str(err).split())[:200]
        raise TraceError(f"{source}: malformed ONNX model ({type(err).__name__}: {detail}); "
                         "re-export it") from None


_MALFORMED = (TypeError, ValueError, KeyError, IndexError, AttributeError, ZeroDivisionError,
              OverflowError, RecursionError, MemoryError)
"""What a corrupted (but decodable) model makes the importer raise; reported as TraceError."""


def _read_model(onnx, path_or_model):
    if isinstance(path_or_model, onnx.ModelProto):
        return path_or_model, f"<onnx model {path_or_model.graph.name or 'unnamed'!r}>", None
    if not isinstance(path_or_model, (str, os.PathLike)):
        kind = type(path_or_model).__name__
        raise TraceError(f"load_onnx: expected a file path or an onnx.ModelProto, got {kind}")
    source = os.fspath(path_or_model)
    path = Path(source)
    if not path.exists():
        raise TraceError(f"{source}: no such ONNX file")
    if path.is_dir():
        raise TraceError(f"{source}: is a directory, expected an .onnx file")
    from google.protobuf.message import DecodeError  # a dependency of onnx

    try:
        # External weight files are read lazily, only when a value is needed.
        model = onnx.load(source, load_external_data=False)
    except DecodeError as err:
        raise TraceError(f"{source}: not a valid ONNX model ({_one_line(err)})") from None
    except OSError as err:
        raise TraceError(f"{source}: cannot read ONNX file: {err.strerror or err}") from None
    except (ValueError, RuntimeError) as err:  # protobuf's C parser on some corruptions
        raise TraceError(f"{source}: not a valid ONNX model ({_one_line(err)})") from None
    if not model.HasField("graph") or not model.graph.node:
        raise TraceError(f"{source}: not a valid ONNX model (it has no graph nodes)")
    return model, source, str(path.parent)


@dataclass(frozen=True)
class _Linear:
    """What a LINEAR op was made from: enough to split it into row ranges later."""

    x: str
    weight: Const
    transposed: bool
    """True when the ONNX weight is (in, out) (MatMul, Gemm without transB)."""
    bias: bool
    onnx_weight: str
    """Name of the weight constant (its quantization is looked up by it)."""


class _Importer:
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
        self.read_weights = read_weights
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
        inputs = self._inputs()
        self._infer_shapes(inputs)
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
        return self._with_compression(network)

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

    def _inputs(self) -> dict[str, Shape]:
        """Graph inputs that are not initializers, with the batch dim made concrete.

        `batch` applies to the inputs whose first dim is symbolic; an input with a fixed first
        dim keeps it (Hugging Face's position ids are (1, L), broadcast over the batch), but when
        no input has a symbolic one, `batch` cannot apply and that is an error.
        """
        result = {}
        fixed_batch: list[tuple[str, int]] = []
        symbolic = False
        for value in self.model.graph.input:
            if value.name in self.consts:
                continue  # old exporters list initializers as inputs too
            where = f"{self.source}: input {value.name!r}"
            kind = value.type.WhichOneof("value")
            if kind != "tensor_type":
                raise TraceError(f"{where}: expected a tensor, got a {kind}")
            if not value.type.tensor_type.HasField("shape"):
                raise TraceError(f"{where}: has no shape; export the model with input shapes")
            shape = []
            for axis, dim in enumerate(value.type.tensor_type.shape.dim):
                fixed = dim.dim_value if dim.HasField("dim_value") and dim.dim_value > 0 else None
                label = dim.dim_param or "?"
                if axis == 0 and fixed is None:
                    shape.append(self.batch or 1)
                    symbolic = True
                elif fixed is None:
                    raise TraceError(
                        f"{where}: dim {axis} is symbolic ({label!r}); only the batch dim (0) may "
                        "be; export with fixed sizes for the others"
                    )
                elif axis == 0 and self.batch is not None and fixed != self.batch:
                    fixed_batch.append((where, fixed))
                    shape.append(fixed)
                else:
                    shape.append(fixed)
            if not shape:
                raise TraceError(f"{where}: a scalar input; expected a tensor of rank >= 1")
            result[value.name] = tuple(shape)
        if fixed_batch and not symbolic:
            where, fixed = fixed_batch[0]
            raise TraceError(
                f"{where}: the batch dim is fixed at {fixed}, so batch={self.batch} cannot "
                "apply; export with a symbolic batch dim (dynamic_axes)"
            )
        return result

    def _infer_shapes(self, inputs: dict[str, Shape]) -> None:
        onnx = self.onnx
        model = onnx.ModelProto()
        model.CopyFrom(self.model)  # the caller's model is left as it was
        for tensor in model.graph.initializer:
            # Inference reads the values of small shape tensors only; large weights would just
            # be serialised to the C++ side and back (0.7 s for ResNet-50's 100 MB).
            if tensor.data_type == onnx.TensorProto.FLOAT and math.prod(tensor.dims) > 1024:
                tensor.ClearField("raw_data")
                tensor.ClearField("float_data")
        for value in model.graph.input:
            if value.name in inputs:
                for dim, size in zip(value.type.tensor_type.shape.dim, inputs[value.name]):
                    dim.Clear()
                    dim.dim_value = size
        try:
            model = onnx.shape_inference.infer_shapes(model, data_prop=True)
        except (onnx.shape_inference.InferenceError, onnx.checker.ValidationError,
                RuntimeError, ValueError) as err:
            text = _one_line(err)
            m = re.search(r"\(op_type:([\w.]+), node name: ([^)]*)\): (.*)", text)
            if m:  # say it as every other node error does
                raise TraceError(f"{self.source}: node {m[2]!r} ({m[1]}): {m[3]} (ONNX shape "
                                 "inference)") from None
            raise TraceError(f"{self.source}: ONNX shape inference failed: {text}") from None
        graph = model.graph
        for value in (*graph.input, *graph.value_info, *graph.output):
            tensor = value.type.tensor_type
            if value.type.WhichOneof("value") == "tensor_type" and tensor.HasField("shape"):
                dims = tuple(
                    d.dim_value if d.HasField("dim_value") else 0 for d in tensor.shape.dim
                )
                if all(d > 0 for d in dims):
                    self.onnx_shapes[value.name] = dims

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

    def _with_compression(self, network: Network) -> Network:
        """Each op's compression as the file has it: bit-widths and weight sparsity."""
        g = self.graph
        channel: dict[float, list[str]] = {}
        ops = []
        for op in network.ops:
            comp = op.compression
            weight = self.weights.get(op.name)
            # The bits of what the op reads, or else of what it writes (a ReLU between a conv
            # and a QuantizeLinear reads the conv's wide accumulator, and writes int8).
            out = self.act_outputs.get(op.name, "")
            act_bits = (self.read_bits.get(op.name)
                        or g.activation_bits.get(self.act_inputs.get(op.name, ""))
                        or g.activation_bits.get(out) or g.quantized_after.get(out))
            wq = g.weight_quant.get(weight[1]) if weight else None
            if wq is not None or act_bits is not None:
                w_bits = wq.bits if wq is not None else (act_bits if weight is None else 32)
                comp = replace(comp, quant=QuantScheme.FIXED, weight_bits=w_bits,
                               activation_bits=act_bits or 32)
            if weight is not None and self.read_weights:
                try:
                    value = weight[2](weight[0].value)
                except NodeError as err:
                    raise TraceError(f"{self.source}: op {op.name!r}: {err}") from None
                is_3x3 = op.kind is OpKind.CONV2D and op.attrs.groups == 1
                found = detect.detect_sparsity(value, kernel_3x3=is_3x3)
                if found is not None and found.scheme is SparsityScheme.CHANNEL:
                    channel.setdefault(found.ratio, []).append(op.name)
                elif found is not None:
                    comp = replace(comp, sparsity=found.scheme, sparsity_ratio=found.ratio,
                                   block_shape=found.block_shape, n_m=found.n_m)
            ops.append(op if comp is op.compression else op.replace(compression=comp))
        network = replace(network, ops=tuple(ops))
        for ratio, names in sorted(channel.items()):
            # Zeroed filters: the layer as channel pruning would leave it, fewer filters.
            pruned = network.pruned(SparsityScheme.CHANNEL, ratio, names=names)
            network = replace(pruned, name=network.name)
            for name in names:
                op = network[name]
                if op.compression.sparsity is not SparsityScheme.CHANNEL:
                    # Not prunable (its output reaches an add or an output): skip the zeros.
                    comp = replace(op.compression, sparsity=SparsityScheme.UNSTRUCTURED,
                                   sparsity_ratio=ratio)
                    network = replace(network, ops=tuple(
                        o.replace(compression=comp) if o.name == name else o for o in network.ops
                    ))
        return network

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

    def record_linear(self, op: str, x: str, w: Const, transposed: bool, bias: bool,
                      onnx_weight: str) -> None:
        self.linears[op] = _Linear(x, w, transposed, bias, onnx_weight)

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

    def select(self, node, name: str, data: str, pick: Callable[[np.ndarray], np.ndarray]) -> str:
        """The part `pick` takes of `data`, as a linear layer of just those output rows.

        `data` must be a linear layer's output, possibly through views and transposes (a packed
        q/k/v projection). The rows taken are found by running the same rearrangements and
        `pick` on an array of element positions; the part is then a LINEAR of those rows, a free
        view and, when the layout needs one, a copying TRANSPOSE. The packed linear is dropped
        once nothing else reads it.
        """
        chain, source = [], data
        while source in self.views:
            source, fn = self.views[source]
            chain.append(fn)
        linear = self.linears.get(source)
        if linear is None:
            raise NodeError(
                f"takes part of tensor {data!r}; edgesim models a slice only of a linear layer's "
                "output (a packed q/k/v projection), or the first token of a (N, L, D) sequence"
            )
        full = self.builder.shape(source)
        d_out = full[-1]
        positions = np.arange(math.prod(full)).reshape(full)
        for fn in reversed(chain):
            positions = fn(positions)
        try:
            picked = np.asarray(pick(positions))
        except (IndexError, ValueError) as err:
            raise NodeError(f"selection out of range: {_one_line(err)}") from None
        features, rows = picked % d_out, picked // d_out
        lo, hi = int(features.min()), int(features.max()) + 1
        k, n_rows = hi - lo, math.prod(full[:-1])
        flat = rows * k + (features - lo)
        layout = view_layout(flat, n_rows * k)
        if layout is None:
            raise NodeError(
                f"takes a part of linear {source!r}'s output that is not a block of its output "
                "features over all rows; edgesim cannot model it as a smaller linear layer"
            )
        self.split_sources.setdefault(source, self.node_names.get(id(node), name))
        part = self._part_linear(source, linear, lo, hi)
        order, perm = layout
        shape = picked.shape
        out = part
        kept = tuple(shape[i] for i in order)
        if kept != self.builder.shape(out):
            out = self.builder.reshape(out, kept, copy=False, name=self.fresh(f"{name}.view"))
        if perm != tuple(range(len(perm))):
            out = self.builder.op(OpKind.TRANSPOSE, [out], TransposeAttrs(perm=perm, copy=True),
                                  name=self.fresh(f"{name}.transpose"))
        if self.builder.shape(out) != shape:
            out = self.builder.reshape(out, shape, copy=False, name=self.fresh(f"{name}.shape"))
        return out

    def _part_linear(self, source: str, linear: _Linear, lo: int, hi: int) -> str:
        key = f"{source}[{lo}:{hi}]"
        if key in self.acts:
            return self.acts[key]
        k = hi - lo
        label = f"{source}.part{lo // k}" if lo % k == 0 else key
        d_in = self.builder.shape(linear.x)[-1]
        out = self.builder.op(OpKind.LINEAR, [linear.x], LinearAttrs(bias=linear.bias),
                              weight_shape=(k, d_in), name=self.fresh(label))
        layout = self.weights[source][2]
        self.weights[out] = (linear.weight, linear.onnx_weight,
                             lambda a, f=layout: f(a)[lo:hi])
        self.acts[key] = out  # a private key: ONNX names never hold brackets like this
        if source in self.act_inputs:
            self.act_inputs[out] = self.act_inputs[source]
        if source in self.read_bits:
            self.read_bits[out] = self.read_bits[source]
        return out


def _qualified_type(node) -> str:
    return node.op_type if node.domain in DEFAULT_DOMAINS else f"{node.domain}.{node.op_type}"


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split())
