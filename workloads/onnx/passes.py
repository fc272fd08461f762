"""Graph passes that run on an ONNX graph before its nodes become edgesim ops.

What torch's exporters write is not one node per layer: shape arithmetic (Shape, Gather,
Unsqueeze, Concat, ConstantOfShape, Where, Expand...) computes the arguments of views, GELU is
spelled with Erf, a layer norm before opset 17 is nine nodes, a linear layer is MatMul + Add, and
a quantized model wraps every tensor in QuantizeLinear / DequantizeLinear. These passes turn
that back into the layers the network has, without changing its MACs or parameters:

- `fold_constants`: every node whose inputs are all constants is evaluated (with
  `onnx.reference`, at the model's opset) and becomes a constant; `Shape` and `Size` of a tensor
  whose shape inference gave a static shape are constants too. A constant derived from a learned
  weight only by a layout op (Identity, Reshape, Transpose, Expand, ...) keeps the shape of that
  weight as `param_shape`, so a class token expanded over the batch still counts its own
  parameters once; any other computation on learned weights is left to the converters.
- `fuse_patterns`: Erf GELU -> Gelu, a decomposed layer norm -> LayerNormalization,
  MatMul(x, W) + Add(b) -> one linear layer with bias (node type ``edgesim.Linear``),
  x * Sigmoid(x) -> SiLU (``edgesim.Silu``), x * HardSigmoid(x) -> HardSwish, and attention's
  scalar scale dropped (folded into W_q).
- `strip_qdq`: QuantizeLinear / DequantizeLinear pairs are removed and their bit-widths recorded
  per tensor (activations) and per initializer (weights, per-tensor or per-channel).

Every pass works on a `Graph` and leaves nodes it does not recognise untouched.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

Shape = tuple[int, ...]
DEFAULT_DOMAINS = ("", "ai.onnx")
EDGESIM_DOMAIN = "edgesim"
"""Domain of the nodes the passes write (``edgesim.Linear``); never in a file."""

LAYOUT_OPS = frozenset({
    "Identity", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Expand", "Cast",
    "CastLike",
})
"""Ops that move a learned tensor's values without computing new ones."""
_MAX_FOLD_ELEMENTS = 1 << 24
"""Larger constant results are not materialised (16 M elements): a shape tensor never is."""


class PassError(Exception):
    """Internal: a node is malformed; the importer names the file and the node."""

    def __init__(self, node, message: str) -> None:
        super().__init__(message)
        self.node = node


@dataclass
class Const:
    """A constant tensor: an initializer, a Constant node, or folded from constants."""

    shape: Shape
    dtype: object
    """numpy dtype of the values."""
    load: Callable[[], np.ndarray] | None = None
    """Returns the values (read lazily: weights may sit in an external file); None if unknown."""
    param_shape: Shape | None = None
    """Shape of the learned weight this constant carries (None: not a learned weight)."""
    _value: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def of(cls, value: np.ndarray, param_shape: Shape | None = None) -> Const:
        value = np.asarray(value)
        return cls(tuple(value.shape), value.dtype, None, param_shape, value)

    @property
    def known(self) -> bool:
        return self._value is not None or self.load is not None

    @property
    def value(self) -> np.ndarray:
        if self._value is None:
            if self.load is None:
                raise LookupError("value not known")
            self._value = self.load()
        return self._value

    @property
    def size(self) -> int:
        return math.prod(self.shape)


@dataclass
class WeightQuant:
    """How an initializer is quantized (from the DequantizeLinear that reads it)."""

    bits: int
    per_channel: bool


@dataclass
class Graph:
    """The mutable state the passes work on: nodes in order, constants and static shapes."""

    nodes: list
    consts: dict[str, Const]
    shapes: dict[str, Shape]
    opset: int
    activation_bits: dict[str, int] = field(default_factory=dict)
    """Tensor name -> bit-width of a tensor that is integer itself (QLinear* inputs, outputs)."""
    alias_bits: dict[str, int] = field(default_factory=dict)
    """Quantized tensor (a QuantizeLinear's output...) -> its bits; readers are renamed to the
    float tensor it stands for and remember the bits in `input_bits`."""
    input_bits: dict[int, int] = field(default_factory=dict)
    """id(node) -> bits of the quantized input it reads (through a removed Q/DQ)."""
    quantized_after: dict[str, int] = field(default_factory=dict)
    """Float tensor -> the bits a QuantizeLinear after its producer stores it at."""
    weight_quant: dict[str, WeightQuant] = field(default_factory=dict)
    """Constant name (the dequantized weight) -> its quantization."""
    rename: dict[str, str] = field(default_factory=dict)
    """Tensor name -> the tensor it stands for after a pass removed the node between them."""

    def producers(self) -> dict[str, object]:
        return {out: node for node in self.nodes for out in node.output if out}

    def consumers(self) -> dict[str, list]:
        result: dict[str, list] = {}
        for node in self.nodes:
            for name in dict.fromkeys(node.input):
                if name:
                    result.setdefault(name, []).append(node)
        return result


def attrs(node) -> dict:
    """A node's attributes as Python values (strings decoded)."""
    from onnx import helper

    values = {}
    for attr in node.attribute:
        value = helper.get_attribute_value(attr)
        values[attr.name] = value.decode(errors="replace") if isinstance(value, bytes) else value
    return values


def is_default_domain(node) -> bool:
    return node.domain in DEFAULT_DOMAINS


# --- constant folding ------------------------------------------------------------------------


def fold_constants(graph: Graph, graph_outputs: set[str]) -> None:
    """Replace every node computable from constants (and static shapes) by its value."""
    from onnx import numpy_helper

    kept = []
    for node in graph.nodes:
        if not is_default_domain(node) or not node.output or any(o in graph_outputs for o in node.output):
            kept.append(node)
            continue
        op = node.op_type
        if op == "Constant":
            graph.consts[node.output[0]] = constant_node(node, numpy_helper)
            continue
        if op in ("Shape", "Size") and node.input and node.input[0] in graph.shapes:
            shape = np.array(graph.shapes[node.input[0]], dtype=np.int64)
            if op == "Size":
                value = np.array(shape.prod(), dtype=np.int64)
            else:
                a = attrs(node)
                value = shape[a.get("start", 0): a.get("end", len(shape))]
            graph.consts[node.output[0]] = Const.of(value)
            continue
        ins = [graph.consts.get(name) if name else None for name in node.input]
        if not node.input or any(name and c is None for name, c in zip(node.input, ins)):
            kept.append(node)
            continue
        learned = [c for c in ins if c is not None and c.param_shape is not None]
        if learned and op not in LAYOUT_OPS:
            kept.append(node)  # a computation on weights: the converters decide what it is
            continue
        if any(c is not None and (not c.known or c.size > _MAX_FOLD_ELEMENTS) for c in ins):
            kept.append(node)
            continue
        try:
            values = evaluate(node, [None if c is None else c.value for c in ins], graph.opset)
        except Exception:  # noqa: BLE001 - onnx.reference raises anything; the converter reports
            kept.append(node)
            continue
        param_shape = learned[0].param_shape if learned else None
        for name, value in zip(node.output, values):
            if name:
                graph.consts[name] = Const.of(value, param_shape)
    graph.nodes = kept


def evaluate(node, inputs: list, opset: int) -> list:
    """The outputs of one node on numpy inputs, by onnx's reference implementation."""
    from onnx.reference import ReferenceEvaluator

    names = [name for name in node.input]
    feeds = {name: value for name, value in zip(names, inputs) if name}
    return ReferenceEvaluator(node, opsets={"": opset}).run(None, feeds)


def constant_node(node, numpy_helper) -> Const:
    """The value of a Constant node (one `value*` attribute). Raises PassError."""
    from onnx import helper

    if len(node.attribute) != 1:
        raise PassError(node, "a Constant node needs exactly one value attribute")
    (attr,) = node.attribute
    value = helper.get_attribute_value(attr)
    if attr.name == "value":
        return Const.of(numpy_helper.to_array(value))
    if attr.name in ("value_float", "value_int", "value_floats", "value_ints"):
        return Const.of(np.asarray(value, dtype=np.float32 if "float" in attr.name else np.int64))
    raise PassError(node, f"a Constant with a {attr.name!r} value is not supported")


# --- pattern fusion --------------------------------------------------------------------------


def _scalar(graph: Graph, name: str) -> float | None:
    c = graph.consts.get(name)
    if c is None or c.size != 1 or not c.known:
        return None
    return float(np.asarray(c.value).reshape(-1)[0])


def _other(node, name: str) -> str | None:
    """The other input of a two-input node that reads `name` (None when it reads it twice)."""
    if len(node.input) != 2:
        return None
    a, b = node.input[0], node.input[1]
    if a == name and b != name:
        return b
    if b == name and a != name:
        return a
    return None


def _is(node, *types: str) -> bool:
    return (node is not None and is_default_domain(node) and node.op_type in types
            and len(node.output) >= 1 and len(node.input) >= 1)


def _reduce_axes(graph: Graph, node) -> tuple[int, ...] | None:
    a = attrs(node)
    if "axes" in a:
        return tuple(a["axes"])
    if len(node.input) > 1 and node.input[1]:
        c = graph.consts.get(node.input[1])
        return None if c is None or not c.known else tuple(int(v) for v in c.value.reshape(-1))
    return None


_VIEW_OPS = ("Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten")


def _fold_attention_scale(graph: Graph, graph_outputs: set[str]) -> None:
    """Drop the 1/sqrt(d) scaling of attention: a Mul or Div by a scalar constant of the scores
    (a MatMul of two activations) or of an operand of that MatMul, through views.

    At inference the scale folds into W_q, as the zoo's transformers model it (and as inference
    compilers do), so it is neither an op nor a parameter. Torch's scaled-dot-product attention
    scales q and k by sqrt(scale) each; both fold.
    """
    producers, consumers = graph.producers(), graph.consumers()

    def attention_matmul(node) -> bool:
        return _is(node, "MatMul") and not any(i in graph.consts for i in node.input)

    def feeds_attention(name: str, depth: int = 0) -> bool:
        for reader in consumers.get(name, []):
            if attention_matmul(reader):
                return True
            if depth < 6 and _is(reader, *_VIEW_OPS) and feeds_attention(reader.output[0], depth + 1):
                return True
        return False

    static: dict[str, bool] = {}

    def is_static(name: str, depth: int = 0) -> bool:
        """Computed from constants and shapes only (legacy exports compute the scale so)."""
        if name in graph.consts:
            return True
        if name not in static:
            node = producers.get(name)
            static[name] = node is not None and depth < 32 and is_default_domain(node) and (
                node.op_type in ("Shape", "Size")
                or all(not i or is_static(i, depth + 1) for i in node.input)
            ) and bool(node.input)
        return static[name]

    def is_scalar_constant(name: str) -> bool:
        if name in graph.consts:
            return _scalar(graph, name) is not None
        return is_static(name) and graph.shapes.get(name, ()) in ((), (1,))

    for node in graph.nodes:
        if not _is(node, "Mul", "Div") or len(node.input) != 2 or node.output[0] in graph_outputs:
            continue
        consts = [i for i in node.input if is_scalar_constant(i)]
        if len(consts) != 1:
            continue
        if node.op_type == "Div" and node.input[1] != consts[0]:
            continue  # c / x is not a scaling
        x = node.input[0] if node.input[1] == consts[0] else node.input[1]
        if attention_matmul(producers.get(x)) or feeds_attention(node.output[0]):
            node.op_type = "Identity"
            del node.input[:]
            node.input.append(x)


def fuse_patterns(graph: Graph, graph_outputs: set[str]) -> None:
    """Rewrite Erf GELU, decomposed layer norms and MatMul + bias into one node each, and drop
    attention's scalar scaling (`_fold_attention_scale`)."""
    _fold_attention_scale(graph, graph_outputs)
    for matcher in (_match_gelu, _match_layer_norm, _match_linear_bias, _match_gated):
        consumers = graph.consumers()
        producers = graph.producers()
        removed: set[int] = set()
        replacement: dict[int, object] = {}
        for node in graph.nodes:
            if id(node) in removed:
                continue
            found = matcher(graph, node, producers, consumers, graph_outputs)
            if found is None:
                continue
            group, new_node = found
            if any(id(n) in removed for n in group):
                continue
            # The module names a dynamo export records (the importer names ops by them).
            source = next((n for n in group if n.metadata_props), None)
            if source is not None:
                new_node.metadata_props.extend(source.metadata_props)
            bits = next((graph.input_bits[id(n)] for n in group if id(n) in graph.input_bits), None)
            if bits is not None:
                graph.input_bits[id(new_node)] = bits
            removed.update(id(n) for n in group)
            replacement[id(group[-1])] = new_node
        graph.nodes = [
            replacement.get(id(n), n) for n in graph.nodes
            if id(n) not in removed or id(n) in replacement
        ]


def _sole(consumers: dict, name: str, outputs: set[str]):
    readers = consumers.get(name, [])
    return readers[0] if len(readers) == 1 and name not in outputs else None


def _match_gelu(graph: Graph, erf, producers, consumers, outputs):
    """0.5 * x * (1 + erf(x / sqrt(2))), in the orders torch and Hugging Face write it."""
    from onnx import helper

    if not _is(erf, "Erf"):
        return None
    scaled = producers.get(erf.input[0])
    if not _is(scaled, "Div", "Mul") or _sole(consumers, erf.input[0], outputs) is None \
            or len(scaled.input) != 2:
        return None
    x, c = scaled.input[0], _scalar(graph, scaled.input[1])
    want = math.sqrt(2) if scaled.op_type == "Div" else 1 / math.sqrt(2)
    if c is None or not math.isclose(c, want, rel_tol=1e-3) or x in graph.consts:
        return None
    add = _sole(consumers, erf.output[0], outputs)
    if not _is(add, "Add") or _scalar(graph, _other(add, erf.output[0]) or "") != 1.0:
        return None
    m1 = _sole(consumers, add.output[0], outputs)
    if not _is(m1, "Mul"):
        return None
    other = _other(m1, add.output[0])
    group = [scaled, erf, add, m1]
    if other == x or _scalar(graph, other or "") == 0.5:
        m2 = _sole(consumers, m1.output[0], outputs)
        if not _is(m2, "Mul"):
            return None
        second = _other(m2, m1.output[0])
        if not ((other == x and _scalar(graph, second or "") == 0.5)
                or (second == x and _scalar(graph, other or "") == 0.5)):
            return None
        group.append(m2)
    else:
        half = producers.get(other or "")
        if not _is(half, "Mul") or _sole(consumers, half.output[0], outputs) is not m1:
            return None
        if _other(half, x) is None or _scalar(graph, _other(half, x)) != 0.5:
            return None
        group.insert(0, half)
    out = group[-1].output[0]
    label = next((g.name for g in group if g.name), out)
    return group, helper.make_node("Gelu", [x], [out], name=label)


def _match_layer_norm(graph: Graph, mean, producers, consumers, outputs):
    """(x - mean) / sqrt(var + eps) over the last axis, then optional scale and shift."""
    from onnx import helper

    if not _is(mean, "ReduceMean"):
        return None
    x = mean.input[0]
    rank = len(graph.shapes.get(x, ()))
    axes = _reduce_axes(graph, mean)
    if not rank or axes is None or [a % rank for a in axes] != [rank - 1]:
        return None
    sub = _sole(consumers, mean.output[0], outputs)
    if not _is(sub, "Sub") or tuple(sub.input) != (x, mean.output[0]):
        return None
    readers = consumers.get(sub.output[0], [])
    square = next((r for r in readers if _is(r, "Pow", "Mul")), None)
    div = next((r for r in readers if _is(r, "Div")), None)
    if len(readers) != 2 or square is None or div is None or div.input[0] != sub.output[0]:
        return None
    if len(square.input) != 2:
        return None
    if square.op_type == "Pow" and _scalar(graph, square.input[1]) != 2.0:
        return None
    if square.op_type == "Mul" and tuple(square.input) != (sub.output[0], sub.output[0]):
        return None
    var = _sole(consumers, square.output[0], outputs)
    if not _is(var, "ReduceMean") or [a % rank for a in (_reduce_axes(graph, var) or ())] != [rank - 1]:
        return None
    add = _sole(consumers, var.output[0], outputs)
    if not _is(add, "Add"):
        return None
    eps = _scalar(graph, _other(add, var.output[0]) or "")
    sqrt = _sole(consumers, add.output[0], outputs)
    if eps is None or not _is(sqrt, "Sqrt") or _sole(consumers, sqrt.output[0], outputs) is not div:
        return None
    group, out, inputs = [mean, sub, square, var, add, sqrt, div], div.output[0], [x]
    scale = _sole(consumers, out, outputs)
    if _is(scale, "Mul") and (gamma := _other(scale, out)) in graph.consts:
        group.append(scale)
        out, inputs = scale.output[0], [x, gamma]
        shift = _sole(consumers, out, outputs)
        if _is(shift, "Add") and (beta := _other(shift, out)) in graph.consts:
            group.append(shift)
            out, inputs = shift.output[0], [x, gamma, beta]
    node = helper.make_node("LayerNormalization", inputs, [out], name=mean.name or out, axis=-1,
                            epsilon=eps)
    return group, node


def _match_linear_bias(graph: Graph, matmul, producers, consumers, outputs):
    """MatMul(x, W) + b with W a constant matrix and b one constant per output."""
    from onnx import helper

    if not _is(matmul, "MatMul") or len(matmul.input) != 2:
        return None
    w = graph.consts.get(matmul.input[1])
    if w is None or len(w.shape) != 2 or matmul.input[0] in graph.consts:
        return None
    add = _sole(consumers, matmul.output[0], outputs)
    if not _is(add, "Add"):
        return None
    bias = _other(add, matmul.output[0])
    b = graph.consts.get(bias or "")
    if b is None or b.size != w.shape[1] or b.size == 1 or any(d != 1 for d in b.shape[:-1]):
        return None
    node = helper.make_node("Linear", [matmul.input[0], matmul.input[1], bias], [add.output[0]],
                            name=matmul.name or add.output[0], domain=EDGESIM_DOMAIN)
    return [matmul, add], node


def _match_gated(graph: Graph, gate, producers, consumers, outputs):
    """x * sigmoid(x) -> SiLU (EfficientNet, RegNet-Y), x * hard_sigmoid(x) -> HardSwish."""
    from onnx import helper

    if not _is(gate, "Sigmoid", "HardSigmoid"):
        return None
    x = gate.input[0]
    mul = _sole(consumers, gate.output[0], outputs)
    if not _is(mul, "Mul") or _other(mul, gate.output[0]) != x:
        return None
    if gate.op_type == "HardSigmoid":
        a = attrs(gate)
        if not (math.isclose(a.get("alpha", 0.2), 1 / 6, rel_tol=1e-3)
                and math.isclose(a.get("beta", 0.5), 0.5)):
            return None  # HardSwish is x * max(0, min(1, x / 6 + 1 / 2)) only
        return [gate, mul], helper.make_node("HardSwish", [x], [mul.output[0]],
                                             name=gate.name or mul.output[0])
    return [gate, mul], helper.make_node("Silu", [x], [mul.output[0]],
                                         name=gate.name or mul.output[0], domain=EDGESIM_DOMAIN)


# --- quantize / dequantize -------------------------------------------------------------------

_INT_BITS = {"int8": 8, "uint8": 8, "int16": 16, "uint16": 16, "int4": 4, "uint4": 4,
             "int2": 2, "uint2": 2, "int32": 32}
"""Bit-width of each integer element type (onnx's int4/uint4 come as ml_dtypes names)."""


def dtype_bits(dtype) -> int | None:
    """Bits of an integer dtype, None for floats."""
    return _INT_BITS.get(np.dtype(dtype).name if not isinstance(dtype, str) else dtype)


def strip_dynamic_quant(graph: Graph) -> None:
    """onnxruntime's dynamic quantization: DynamicQuantizeLinear then MatMulInteger, Cast, Mul.

    DynamicQuantizeLinear passes its input on as uint8 (its scale and zero point, computed at
    run time, become scalar constants of unknown value); MatMulInteger(a, W) of an integer
    initializer, the Cast of its int32 result and the Mul by the scales become one MatMul of
    `W`, recorded as an 8-bit (W's type) weight, which the linear-bias pattern then completes.
    """
    producers, consumers = graph.producers(), graph.consumers()
    removed: set[int] = set()
    for node in graph.nodes:
        if not is_default_domain(node):
            continue
        if node.op_type == "DynamicQuantizeLinear" and node.input and len(node.output) == 3:
            src = graph.rename.get(node.input[0], node.input[0])
            graph.rename[node.output[0]] = src
            graph.alias_bits[node.output[0]] = 8  # the producer still writes float
            for out, dtype in zip(node.output[1:], (np.float32, np.uint8)):
                graph.consts[out] = Const((), np.dtype(dtype))
            removed.add(id(node))
        elif node.op_type == "MatMulInteger" and len(node.input) >= 2:
            w = graph.consts.get(node.input[1])
            cast = _sole(consumers, node.output[0], set())
            mul = _sole(consumers, cast.output[0], set()) if _is(cast, "Cast") else None
            if w is None or dtype_bits(w.dtype) is None or not _is(mul, "Mul"):
                continue
            graph.weight_quant[node.input[1]] = WeightQuant(dtype_bits(w.dtype), False)
            graph.consts[node.input[1]] = Const(w.shape, w.dtype, w.load, w.shape, w._value)
            matmul = _copy_as(node, "MatMul", node.input[:2], [mul.output[0]])
            graph.nodes[graph.nodes.index(mul)] = matmul
            removed.update((id(node), id(cast)))
    graph.nodes = [n for n in graph.nodes if id(n) not in removed]
    for node in graph.nodes:
        _rename_inputs(graph, node)
    del producers


def _rename_inputs(graph: Graph, node) -> None:
    """Point a node's inputs past removed quantize nodes, remembering the bits it reads."""
    bits = [graph.alias_bits[i] for i in node.input if i in graph.alias_bits]
    if bits:
        graph.input_bits[id(node)] = bits[0]
    renamed = [graph.rename.get(i, i) for i in node.input]
    if renamed != list(node.input):
        del node.input[:]
        node.input.extend(renamed)


def _copy_as(node, op_type: str, inputs, outputs):
    from onnx import helper

    new = helper.make_node(op_type, list(inputs), list(outputs), name=node.name)
    new.metadata_props.extend(node.metadata_props)
    return new


def strip_qdq(graph: Graph, onnx_dtype_name: Callable[[int], str]) -> None:
    """Remove QuantizeLinear / DequantizeLinear, recording the bit-widths they carry.

    A DequantizeLinear of an integer initializer is a quantized weight: its output becomes that
    initializer (as a learned weight of the same shape) with `WeightQuant` (bits, per-channel when
    its scale has more than one value). A QuantizeLinear on an activation records the bits of
    its output type on the tensor, and the DequantizeLinear after it passes the tensor on.
    """
    rename = graph.rename
    kept = []
    for node in graph.nodes:
        _rename_inputs(graph, node)
        if not is_default_domain(node) or node.op_type not in ("QuantizeLinear", "DequantizeLinear"):
            kept.append(node)
            continue
        if len(node.input) < 2 or not node.input[1]:
            raise PassError(node, f"{node.op_type} needs a scale input")
        src, out = node.input[0], node.output[0]
        scale = graph.consts.get(node.input[1])
        per_channel = scale is not None and scale.size > 1
        if node.op_type == "DequantizeLinear":
            c = graph.consts.get(src)
            if c is not None and src in graph.weight_quant:  # QuantizeLinear of a float weight
                graph.consts[out] = c
                graph.weight_quant[out] = graph.weight_quant[src]
            elif c is not None:  # a quantized weight
                bits = dtype_bits(c.dtype)
                if bits is None:
                    raise PassError(node, f"dequantizes a {np.dtype(c.dtype).name} tensor, "
                                          "expected an integer one")
                graph.consts[out] = Const(c.shape, c.dtype, c.load, c.shape, c._value)
                graph.weight_quant[out] = WeightQuant(bits, per_channel)
            else:
                rename[out] = src
                bits = graph.input_bits.get(id(node)) or graph.activation_bits.get(src)
                if bits is None and len(node.input) > 2 and node.input[2] in graph.consts:
                    bits = dtype_bits(graph.consts[node.input[2]].dtype)
                graph.alias_bits[out] = bits or 8
            continue
        # QuantizeLinear: the output type is the zero point's, or output_dtype, or uint8.
        bits = 8
        a = attrs(node)
        if a.get("output_dtype"):
            bits = dtype_bits(onnx_dtype_name(a["output_dtype"])) or 8
        elif len(node.input) > 2 and node.input[2] in graph.consts:
            bits = dtype_bits(graph.consts[node.input[2]].dtype) or 8
        if src in graph.consts:  # a float weight quantized in the graph itself
            graph.consts[out] = graph.consts[src]
            graph.weight_quant[out] = WeightQuant(bits, per_channel)
            continue
        rename[out] = src
        graph.alias_bits[out] = bits
        graph.quantized_after[src] = bits
    graph.nodes = kept
