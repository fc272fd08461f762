"""Import an ONNX model as a `Network`: `load_onnx(path_or_model, name=..., batch=...)`.

Shapes come from `onnx.shape_inference` on a copy of the model whose symbolic batch dims are set
to `batch`; initializers (and `Constant` nodes) are weights, of which only the shapes are read
(external weight data is never loaded). Every ONNX node maps to at most one op:

=========================================  ===================================================
ONNX                                       edgesim
=========================================  ===================================================
Conv (2-D; group, strides, dilations,      CONV2D (bias when B is given); asymmetric pads are
symmetric pads or auto_pad)                an error naming the node
Gemm (transB; C as bias), MatMul with an   LINEAR, weight (out, in)
initializer as right operand
MatMul of two activations                  MATMUL
MaxPool, AveragePool (2-D),                POOL (max / avg)
GlobalAveragePool, GlobalMaxPool
Add, Sub / Mul, Div                        ADD / MUL; an initializer operand is the op's learned
                                           weight (a scalar one counts as shape (1,))
Relu, Clip(0, 6) / Clip(0, inf), Sigmoid,  ACTIVATION relu6 / relu, sigmoid, hard_swish, gelu
HardSwish, Gelu
Softmax                                    SOFTMAX along the node's axis
BatchNormalization, LayerNormalization     NORM batch (inference: scale + shift) / layer (last
                                           axis only)
Concat                                     CONCAT (one initializer operand, e.g. a class token,
                                           is its learned weight)
Reshape, Flatten, Squeeze, Unsqueeze       RESHAPE, copy=False (a view)
Transpose                                  TRANSPOSE, copy=True
Identity, Dropout                          skipped: readers are rewired to the input
Constant                                   a weight, like an initializer
=========================================  ===================================================

Shape-only ops on constants (a Reshape of an initializer) and elementwise ops of two constants
yield constants, not ops. Every other op type is an error: all unsupported types are reported at
once, with the nodes using them, in one `UnsupportedOpError`. Ops are named by the ONNX node name
(``{op_type}_{index}`` when it is empty; ``_1``, ``_2``... appended on a clash), and each tensor
by the op producing it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from workloads.errors import (
    EdgesimError,
    GraphError,
    ShapeError,
    SpecError,
    TraceError,
    UnsupportedOpError,
)
from workloads.network import Network, NetworkBuilder
from workloads.ops import (
    Activation,
    AxisAttrs,
    Conv2dAttrs,
    LinearAttrs,
    NormAttrs,
    NormKind,
    OpKind,
    PoolAttrs,
    PoolMode,
    ReshapeAttrs,
    Shape,
    TransposeAttrs,
)

__all__ = ["SUPPORTED_OP_TYPES", "load_onnx"]

_INSTALL_HINT = "pip install edgesim[onnx]"
_FLOAT32_MAX = 3.4028234663852886e38
_DEFAULT_DOMAINS = ("", "ai.onnx")


def load_onnx(path_or_model, *, name: str | None = None, batch: int | None = None) -> Network:
    """The network of an ONNX model (a file path or an `onnx.ModelProto`, which is not modified).

    `name` defaults to the graph name (or the file stem); `batch` replaces a symbolic first
    dimension of the graph inputs (default 1). Raises TraceError when onnx is not installed, the
    file cannot be read, or a node cannot be mapped (naming the node and why), and
    UnsupportedOpError listing every unsupported op type with its nodes.
    """
    try:
        import onnx
    except ImportError:
        raise TraceError(f"importing ONNX models needs the onnx package: {_INSTALL_HINT}") from None
    if batch is not None and (type(batch) is not int or batch < 1):
        raise TraceError(f"load_onnx: 'batch' must be a positive int (got {batch!r})")
    model, source = _read_model(onnx, path_or_model)
    try:
        return _Importer(onnx, model, source, name=name, batch=batch).run()
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
        return path_or_model, f"<onnx model {path_or_model.graph.name or 'unnamed'!r}>"
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
        # Only shapes are needed: external weight files are never read.
        return onnx.load(source, load_external_data=False), source
    except DecodeError as err:
        raise TraceError(f"{source}: not a valid ONNX model ({err})") from None
    except OSError as err:
        raise TraceError(f"{source}: cannot read ONNX file: {err.strerror or err}") from None


@dataclass(frozen=True)
class _Const:
    """A constant tensor (initializer, Constant node, or folded from constants)."""

    shape: Shape
    proto: object = None
    """The onnx TensorProto when the value is known; read only when a value is needed."""


class _NodeError(Exception):
    """Internal: a node cannot be mapped; the importer adds the file and the node."""


Converter = Callable[["_Importer", object, str, list], object]


class _Importer:
    """The state of one import: tensors seen so far and the network being built."""

    def __init__(self, onnx, model, source: str, *, name: str | None, batch: int | None) -> None:
        self.onnx = onnx
        self.model = model
        self.source = source
        self.batch = batch
        self.opset = next(
            (o.version for o in model.opset_import if o.domain in _DEFAULT_DOMAINS), 1
        )
        graph = model.graph
        default_name = graph.name or (Path(source).stem if not source.startswith("<") else "onnx")
        producer = " ".join(p for p in (model.producer_name, model.producer_version) if p)
        self.builder = NetworkBuilder(
            name or default_name,
            description=f"imported from {source} (ONNX opset {self.opset}"
            + (f", {producer})" if producer else ")"),
        )
        self.consts: dict[str, _Const] = {
            t.name: _Const(tuple(t.dims), t) for t in graph.initializer
        }
        self.acts: dict[str, str] = {}
        """ONNX tensor name -> edgesim tensor name, for activations."""
        self.unavailable: dict[str, str] = {}
        """ONNX tensor name -> why it cannot be read (a Dropout mask, a pooling index output)."""
        self.used_names: set[str] = set()
        self.onnx_shapes: dict[str, Shape] = {}

    # --- the steps ------------------------------------------------------------------------------

    def run(self) -> Network:
        graph = self.model.graph
        self._check_supported()
        inputs = self._inputs()
        self._infer_shapes(inputs)
        for onnx_name, shape in inputs.items():
            self.acts[onnx_name] = self.builder.input(onnx_name, shape)
            self.used_names.add(onnx_name)
        for index, node in enumerate(graph.node):
            self._convert(index, node)
        outputs = [self._output(o.name) for o in graph.output]
        try:
            return self.builder.build(outputs)
        except (GraphError, ShapeError, SpecError) as err:
            raise TraceError(f"{self.source}: {err}") from None

    def _check_supported(self) -> None:
        missing: dict[str, list[str]] = {}
        for index, node in enumerate(self.model.graph.node):
            op_type = _qualified_type(node)
            if op_type not in _CONVERTERS:
                missing.setdefault(op_type, []).append(node.name or f"{node.op_type}_{index}")
        if missing:
            parts = []
            for op_type, nodes in sorted(missing.items()):
                shown = ", ".join(repr(n) for n in nodes[:5])
                more = f" and {len(nodes) - 5} more" if len(nodes) > 5 else ""
                op_type = op_type if op_type.isprintable() else repr(op_type)  # one line
                parts.append(f"{op_type} (node{'s' if len(nodes) > 1 else ''} {shown}{more})")
            raise UnsupportedOpError(
                f"{self.source}: {len(missing)} ONNX op type(s) not supported: {'; '.join(parts)}. "
                f"Supported: {', '.join(SUPPORTED_OP_TYPES)}"
            )

    def _inputs(self) -> dict[str, Shape]:
        """Graph inputs that are not initializers, with the batch dim made concrete."""
        result = {}
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
                elif fixed is None:
                    raise TraceError(
                        f"{where}: dim {axis} is symbolic ({label!r}); only the batch dim (0) may "
                        "be; export with fixed sizes for the others"
                    )
                elif axis == 0 and self.batch is not None and fixed != self.batch:
                    raise TraceError(
                        f"{where}: the batch dim is fixed at {fixed}, so batch={self.batch} cannot "
                        "apply; export with a symbolic batch dim (dynamic_axes)"
                    )
                else:
                    shape.append(fixed)
            if not shape:
                raise TraceError(f"{where}: a scalar input; expected a tensor of rank >= 1")
            result[value.name] = tuple(shape)
        return result

    def _infer_shapes(self, inputs: dict[str, Shape]) -> None:
        onnx = self.onnx
        model = onnx.ModelProto()
        model.CopyFrom(self.model)  # the caller's model is left as it was
        for value in model.graph.input:
            if value.name in inputs:
                for dim, size in zip(value.type.tensor_type.shape.dim, inputs[value.name]):
                    dim.Clear()
                    dim.dim_value = size
        try:
            model = onnx.shape_inference.infer_shapes(model)
        except (onnx.shape_inference.InferenceError, onnx.checker.ValidationError) as err:
            raise TraceError(
                f"{self.source}: ONNX shape inference failed: {_one_line(err)}"
            ) from None
        graph = model.graph
        for value in (*graph.input, *graph.value_info, *graph.output):
            tensor = value.type.tensor_type
            if value.type.WhichOneof("value") == "tensor_type" and tensor.HasField("shape"):
                dims = tuple(
                    d.dim_value if d.HasField("dim_value") else 0 for d in tensor.shape.dim
                )
                if all(d > 0 for d in dims):
                    self.onnx_shapes[value.name] = dims

    def _convert(self, index: int, node) -> None:
        name = self._unique(node.name or f"{node.op_type}_{index}")
        try:
            ins = [self._resolve(t) for t in node.input]
            result = _CONVERTERS[_qualified_type(node)](self, node, name, ins)
        except _NodeError as err:
            raise TraceError(f"{self.source}: node {name!r} ({node.op_type}): {err}") from None
        except (GraphError, ShapeError, SpecError) as err:
            raise TraceError(f"{self.source}: node {name!r} ({node.op_type}): {err}") from None
        if result != name:  # no op was made (skipped, folded, constant): the name stays free
            self.used_names.discard(name)
        if not node.output:
            return
        out = node.output[0]
        if isinstance(result, _Const):
            self.consts[out] = result
        else:
            self.acts[out] = result
            expected = self.onnx_shapes.get(out)
            got = self.builder.shape(result)
            if expected is not None and expected != got:
                raise TraceError(
                    f"{self.source}: node {name!r} ({node.op_type}): ONNX infers output shape "
                    f"{expected}, edgesim computes {got}" + _SHAPE_HINTS.get(node.op_type, "")
                )
        for extra in node.output[1:]:
            if extra:
                self.unavailable[extra] = f"output {extra!r} of {node.op_type} node {name!r}"

    def _output(self, onnx_name: str) -> str:
        try:
            value = self._resolve(onnx_name)
        except _NodeError as err:
            raise TraceError(f"{self.source}: graph output {onnx_name!r}: {err}") from None
        if isinstance(value, _Const):
            raise TraceError(
                f"{self.source}: graph output {onnx_name!r} is a constant, not computed"
            )
        return value

    # --- helpers for the converters -------------------------------------------------------------

    def _unique(self, base: str) -> str:
        name, n = base, 0
        while name in self.used_names:
            n += 1
            name = f"{base}_{n}"
        self.used_names.add(name)
        return name

    def _resolve(self, onnx_name: str) -> str | _Const | None:
        """An input of a node: an edgesim tensor name, a constant, or None when omitted ('')."""
        if not onnx_name:
            return None
        if onnx_name in self.acts:
            return self.acts[onnx_name]
        if onnx_name in self.consts:
            return self.consts[onnx_name]
        if onnx_name in self.unavailable:
            raise _NodeError(f"reads {self.unavailable[onnx_name]}, which edgesim does not model")
        raise _NodeError(
            f"reads tensor {onnx_name!r}, which no earlier node produces (ONNX graphs are sorted)"
        )

    def value(self, const: _Const, what: str):
        """The numpy value of a constant; _NodeError when it is not known (folded or external)."""
        from onnx import numpy_helper

        if const.proto is None:
            raise _NodeError(f"{what} must be a constant with a known value")
        tensor = const.proto
        if tensor.data_location == self.onnx.TensorProto.EXTERNAL:
            raise _NodeError(f"{what} is stored in an external data file, which is not read")
        return numpy_helper.to_array(tensor)

    def shape_of(self, value) -> Shape:
        return value.shape if isinstance(value, _Const) else self.builder.shape(value)

    def onnx_shape(self, node) -> Shape:
        try:
            return self.onnx_shapes[node.output[0]]
        except KeyError:
            raise _NodeError(
                f"ONNX shape inference gave no shape for output {node.output[0]!r}"
            ) from None


# --- converters: one per ONNX op type; each returns the edgesim tensor name (or a _Const) ------


def _attrs(node) -> dict:
    from onnx import helper

    values = {}
    for attr in node.attribute:
        value = helper.get_attribute_value(attr)
        values[attr.name] = value.decode() if isinstance(value, bytes) else value
    return values


def _activation_input(value, role: str = "input") -> str:
    if not isinstance(value, str):
        raise _NodeError(f"its {role} must be computed by the network, not a constant")
    return value


def _weight(value, role: str) -> _Const:
    if not isinstance(value, _Const):
        raise _NodeError(f"its {role} must be an initializer (a learned weight), not computed")
    return value


def _spatial_padding(attrs: dict, spatial: Shape, kernel, strides, dilations) -> tuple[int, int]:
    """Symmetric (top/left == bottom/right) padding per spatial axis; _NodeError otherwise."""
    auto_pad = attrs.get("auto_pad", "NOTSET")
    if auto_pad == "VALID":
        return (0, 0)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        pads = []
        for size, k, s, d in zip(spatial, kernel, strides, dilations):
            out = -(-size // s)
            total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
            if total % 2:
                raise _NodeError(
                    f"auto_pad {auto_pad} needs asymmetric padding ({total} pixels on an axis); "
                    "edgesim models symmetric padding only"
                )
            pads.append(total // 2)
        return tuple(pads)
    if auto_pad != "NOTSET":
        raise _NodeError(f"unknown auto_pad {auto_pad!r}")
    pads = list(attrs.get("pads", [0] * 4))
    begin, end = pads[: len(pads) // 2], pads[len(pads) // 2 :]
    if begin != end:
        raise _NodeError(
            f"asymmetric pads {pads} (begin {begin}, end {end}); edgesim models symmetric padding "
            "only; re-export the model with symmetric padding"
        )
    return tuple(begin)


def _conv(imp: _Importer, node, name: str, ins: list):
    x = _activation_input(ins[0])
    w = _weight(ins[1], "weight W")
    bias = ins[2] if len(ins) > 2 else None
    if bias is not None:
        _weight(bias, "bias B")
    if len(w.shape) != 4:
        raise _NodeError(f"only 2-D convolutions are supported (weight shape {w.shape})")
    a = _attrs(node)
    kernel = tuple(a.get("kernel_shape", w.shape[2:]))
    strides = tuple(a.get("strides", (1, 1)))
    dilations = tuple(a.get("dilations", (1, 1)))
    padding = _spatial_padding(a, imp.shape_of(x)[2:], kernel, strides, dilations)
    attrs = Conv2dAttrs(
        kernel=kernel, stride=strides, padding=padding, dilation=dilations,
        groups=a.get("group", 1), bias=bias is not None,
    )  # fmt: skip
    return imp.builder.op(OpKind.CONV2D, [x], attrs, weight_shape=w.shape, name=name)


def _gemm(imp: _Importer, node, name: str, ins: list):
    a = _attrs(node)
    if a.get("transA", 0):
        raise _NodeError("transA=1 (a transposed activation) is not supported")
    x = _activation_input(ins[0], "input A")
    w = _weight(ins[1], "input B")
    if len(w.shape) != 2:
        raise _NodeError(f"B must be a matrix (got shape {w.shape})")
    weight = w.shape if a.get("transB", 0) else (w.shape[1], w.shape[0])  # (out, in)
    c = ins[2] if len(ins) > 2 else None
    if c is not None and math.prod(_weight(c, "bias C").shape) != weight[0]:
        raise _NodeError(f"bias C of shape {c.shape} is not one value per output ({weight[0]})")
    # alpha and beta scale the result: no change in cost.
    attrs = LinearAttrs(bias=c is not None)
    return imp.builder.op(OpKind.LINEAR, [x], attrs, weight_shape=weight, name=name)


def _matmul(imp: _Importer, node, name: str, ins: list):
    a, b = ins
    if isinstance(a, str) and isinstance(b, str):
        return imp.builder.op(OpKind.MATMUL, [a, b], name=name)
    if isinstance(a, _Const) and isinstance(b, _Const):
        return _Const(imp.onnx_shape(node))
    if isinstance(a, _Const):
        raise _NodeError("a constant left operand (W @ x) is not supported; only x @ W")
    if len(b.shape) != 2:
        raise _NodeError(f"a constant right operand must be a matrix (got shape {b.shape})")
    weight = (b.shape[1], b.shape[0])  # ONNX stores (in, out); edgesim (out, in)
    attrs = LinearAttrs(bias=False)
    return imp.builder.op(OpKind.LINEAR, [a], attrs, weight_shape=weight, name=name)


def _elementwise(kind: OpKind) -> Converter:
    def convert(imp: _Importer, node, name: str, ins: list):
        acts = [v for v in ins if isinstance(v, str)]
        consts = [v for v in ins if isinstance(v, _Const)]
        if not acts:
            return _Const(imp.onnx_shape(node))  # folded: both operands constant
        if len(consts) > 1:
            raise _NodeError("more than one constant operand")
        weight = (consts[0].shape or (1,)) if consts else ()  # a scalar weight counts as (1,)
        return imp.builder.op(kind, acts, weight_shape=weight, name=name)

    return convert


def _activation(function: Activation) -> Converter:
    def convert(imp: _Importer, node, name: str, ins: list):
        x = _activation_input(ins[0])
        return imp.builder.act(x, function, name=name)

    return convert


def _clip(imp: _Importer, node, name: str, ins: list):
    x = _activation_input(ins[0])
    if imp.opset < 11:
        a = _attrs(node)
        low, high = a.get("min"), a.get("max")
    else:
        bounds = [ins[i] if len(ins) > i else None for i in (1, 2)]
        low, high = (
            None if b is None else float(imp.value(_weight(b, "min/max"), "min/max").reshape(-1)[0])
            for b in bounds
        )
    if low == 0 and high == 6:
        function = Activation.RELU6
    elif low == 0 and (high is None or high >= _FLOAT32_MAX):  # exporters write "no max" so
        function = Activation.RELU
    else:
        raise _NodeError(f"Clip(min={low}, max={high}) is neither relu (0, inf) nor relu6 (0, 6)")
    return imp.builder.act(x, function, name=name)


def _softmax(imp: _Importer, node, name: str, ins: list):
    x = _activation_input(ins[0])
    # Before opset 13 the default axis was 1 (and the input was flattened from it: same cost).
    axis = _attrs(node).get("axis", -1 if imp.opset >= 13 else 1)
    return imp.builder.op(OpKind.SOFTMAX, [x], AxisAttrs(axis=axis), name=name)


def _batch_norm(imp: _Importer, node, name: str, ins: list):
    x = _activation_input(ins[0])
    return imp.builder.op(OpKind.NORM, [x], NormAttrs(kind=NormKind.BATCH), name=name)


def _layer_norm(imp: _Importer, node, name: str, ins: list):
    x = _activation_input(ins[0])
    rank = len(imp.shape_of(x))
    axis = _attrs(node).get("axis", -1)
    if axis % rank != rank - 1:
        raise _NodeError(
            f"normalises over axes {axis}..{rank - 1}; edgesim's layer norm is over the last axis"
        )
    return imp.builder.op(OpKind.NORM, [x], NormAttrs(kind=NormKind.LAYER), name=name)


def _concat(imp: _Importer, node, name: str, ins: list):
    acts = [v for v in ins if isinstance(v, str)]
    consts = [v for v in ins if isinstance(v, _Const)]
    if not acts:
        return _Const(imp.onnx_shape(node))
    if len(consts) > 1:
        raise _NodeError("more than one constant operand")
    if len(acts) == 1 and not consts:
        return acts[0]  # a concat of one tensor is that tensor
    axis = _attrs(node)["axis"]
    weight = consts[0].shape if consts else ()
    return imp.builder.op(OpKind.CONCAT, acts, AxisAttrs(axis=axis), weight_shape=weight, name=name)


def _view(imp: _Importer, node, name: str, ins: list):
    """Reshape, Flatten, Squeeze, Unsqueeze: the output shape from ONNX shape inference."""
    shape = imp.onnx_shape(node)
    if isinstance(ins[0], _Const):
        return _Const(shape)
    return imp.builder.op(
        OpKind.RESHAPE, [ins[0]], ReshapeAttrs(copy=False), output_shape=shape, name=name
    )


def _transpose(imp: _Importer, node, name: str, ins: list):
    rank = len(imp.shape_of(ins[0]))
    perm = tuple(_attrs(node).get("perm", range(rank - 1, -1, -1)))
    if isinstance(ins[0], _Const):
        return _Const(tuple(ins[0].shape[i] for i in perm))
    attrs = TransposeAttrs(perm=perm, copy=True)
    return imp.builder.op(OpKind.TRANSPOSE, [ins[0]], attrs, name=name)


def _pool(mode: PoolMode) -> Converter:
    def convert(imp: _Importer, node, name: str, ins: list):
        x = _activation_input(ins[0])
        a = _attrs(node)
        kernel = tuple(a["kernel_shape"])
        if len(kernel) != 2:
            raise _NodeError(f"only 2-D pooling is supported (kernel_shape {list(kernel)})")
        if any(d != 1 for d in a.get("dilations", (1, 1))):
            raise _NodeError(f"dilated pooling (dilations {a['dilations']}) is not supported")
        strides = tuple(a.get("strides", (1, 1)))
        padding = _spatial_padding(a, imp.shape_of(x)[2:], kernel, strides, (1, 1))
        attrs = PoolAttrs(mode=mode, kernel=kernel, stride=strides, padding=padding)
        return imp.builder.op(OpKind.POOL, [x], attrs, name=name)

    return convert


def _global_pool(mode: PoolMode) -> Converter:
    def convert(imp: _Importer, node, name: str, ins: list):
        x = _activation_input(ins[0])
        if len(imp.shape_of(x)) != 4:
            raise _NodeError(f"only NCHW inputs are supported (got {imp.shape_of(x)})")
        return imp.builder.global_pool(x, mode, name=name)

    return convert


def _skip(imp: _Importer, node, name: str, ins: list):
    """Identity and Dropout (inference): the output is the input."""
    if ins[0] is None:
        raise _NodeError("has no input")
    return ins[0]


def _constant(imp: _Importer, node, name: str, ins: list):
    from onnx import helper, numpy_helper

    (attr,) = node.attribute
    value = helper.get_attribute_value(attr)
    if attr.name == "value":
        return _Const(tuple(value.dims), value)
    if attr.name in ("value_float", "value_int", "value_floats", "value_ints"):
        import numpy as np

        array = np.asarray(value, dtype=np.float32 if "float" in attr.name else np.int64)
        return _Const(array.shape, numpy_helper.from_array(array))
    raise _NodeError(f"a {attr.name} Constant is not supported")


_CONVERTERS: dict[str, Converter] = {
    "Conv": _conv,
    "Gemm": _gemm,
    "MatMul": _matmul,
    "MaxPool": _pool(PoolMode.MAX),
    "AveragePool": _pool(PoolMode.AVG),
    "GlobalAveragePool": _global_pool(PoolMode.AVG),
    "GlobalMaxPool": _global_pool(PoolMode.MAX),
    "Add": _elementwise(OpKind.ADD),
    "Sub": _elementwise(OpKind.ADD),
    "Mul": _elementwise(OpKind.MUL),
    "Div": _elementwise(OpKind.MUL),
    "Relu": _activation(Activation.RELU),
    "Clip": _clip,
    "Sigmoid": _activation(Activation.SIGMOID),
    "HardSwish": _activation(Activation.HARD_SWISH),
    "Gelu": _activation(Activation.GELU),
    "Softmax": _softmax,
    "BatchNormalization": _batch_norm,
    "LayerNormalization": _layer_norm,
    "Concat": _concat,
    "Reshape": _view,
    "Flatten": _view,
    "Squeeze": _view,
    "Unsqueeze": _view,
    "Transpose": _transpose,
    "Identity": _skip,
    "Dropout": _skip,
    "Constant": _constant,
}
SUPPORTED_OP_TYPES = tuple(sorted(_CONVERTERS))
"""ONNX op types (default domain) that `load_onnx` maps."""

_SHAPE_HINTS = {
    "MaxPool": " (ceil_mode=1 is not modelled: edgesim rounds output sizes down)",
    "AveragePool": " (ceil_mode=1 is not modelled: edgesim rounds output sizes down)",
    "MatMul": " (edgesim's matmul needs equal batch dims, without broadcasting)",
}


def _qualified_type(node) -> str:
    return node.op_type if node.domain in _DEFAULT_DOMAINS else f"{node.domain}.{node.op_type}"


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split())
