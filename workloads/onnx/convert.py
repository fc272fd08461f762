"""Converters: one per ONNX op type, each turning a node into edgesim ops.

A converter gets the importer, the node, the name its op should take and the node's resolved
inputs (an edgesim tensor name for an activation, a `Const`, or None for an omitted input), and
returns the edgesim tensor of each output (or a `Const` when the result is a constant). It
raises `NodeError` with what is wrong; the importer adds the file and the node.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np

from workloads.onnx.passes import EDGESIM_DOMAIN, Const, PassError, attrs, constant_node
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

_FLOAT32_MAX = 3.4028234663852886e38


class NodeError(Exception):
    """A node cannot be mapped; the importer adds the file and the node."""


Converter = Callable[[object, object, str, list], object]


def require(a: dict, key: str, node) -> object:
    """Attribute `key` of a node; NodeError naming it when absent."""
    if key not in a:
        raise NodeError(f"missing required attribute {key!r}")
    return a[key]


def act(value, role: str = "input") -> str:
    if value is None:
        raise NodeError(f"missing required {role}")
    if not isinstance(value, str):
        raise NodeError(f"its {role} must be computed by the network, not a constant")
    return value


def weight(value, role: str) -> Const:
    if value is None:
        raise NodeError(f"missing required {role}")
    if not isinstance(value, Const):
        raise NodeError(f"its {role} must be an initializer (a learned weight), not computed")
    return value


def _inputs(ins: list, n: int, names: str) -> list:
    if len(ins) < n or any(v is None for v in ins[:n]):
        raise NodeError(f"missing required input(s): needs {names}")
    return ins


def _operands(imp, node, ins: list) -> tuple[list[str], Const | None] | Const:
    """The activation operands of an elementwise op or a concat, and its one constant operand
    (its learned weight; None when there is none). When every operand is a constant the node
    is one too: a Const of its output shape is returned instead. NodeError when more than one
    operand is a constant."""
    acts = [v for v in ins if isinstance(v, str)]
    consts = [v for v in ins if isinstance(v, Const)]
    if not acts:
        return Const(imp.onnx_shape(node), np.dtype(np.float32))
    if len(consts) > 1:
        raise NodeError("more than one constant operand")
    return acts, (consts[0] if consts else None)


def learned_shape(c: Const) -> Shape:
    """The shape a constant operand counts parameters by (a scalar counts as (1,))."""
    if c.param_shape is not None:
        return c.param_shape
    return c.shape or (1,)


def _spatial_padding(a: dict, spatial: Shape, kernel, strides, dilations) -> tuple[int, int]:
    """Symmetric (top/left == bottom/right) padding per spatial axis; NodeError otherwise."""
    auto_pad = a.get("auto_pad", "NOTSET")
    if auto_pad == "VALID":
        return (0, 0)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        pads = []
        for size, k, s, d in zip(spatial, kernel, strides, dilations):
            out = -(-size // s)
            total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
            if total % 2:
                raise NodeError(
                    f"auto_pad {auto_pad} needs asymmetric padding ({total} pixels on an axis); "
                    "edgesim models symmetric padding only"
                )
            pads.append(total // 2)
        return tuple(pads)
    if auto_pad != "NOTSET":
        raise NodeError(f"unknown auto_pad {auto_pad!r}")
    pads = list(a.get("pads", [0] * 4))
    if len(pads) != 4:
        raise NodeError(f"pads {pads} must have 4 values for a 2-D window")
    begin, end = pads[:2], pads[2:]
    if begin != end:
        raise NodeError(
            f"asymmetric pads {pads} (begin {begin}, end {end}); edgesim models symmetric padding "
            "only; re-export the model with symmetric padding"
        )
    return tuple(begin)


def _pair_attr(a: dict, key: str, default) -> tuple[int, int]:
    value = tuple(a.get(key, default))
    if len(value) != 2:
        raise NodeError(f"{key} {list(value)} must have 2 values for a 2-D window")
    return value


def _conv(imp, node, name: str, ins: list):
    _inputs(ins, 2, "X and W")
    x = act(ins[0])
    w = weight(ins[1], "weight W")
    bias = ins[2] if len(ins) > 2 else None
    if bias is not None:
        weight(bias, "bias B")
    return _conv_op(imp, node, name, x, w, bias is not None, 1)


def _conv_op(imp, node, name: str, x: str, w: Const, bias: bool, w_index: int):
    if len(w.shape) != 4:
        raise NodeError(f"only 2-D convolutions are supported (weight shape {w.shape})")
    if len(imp.shape_of(x)) != 4:
        raise NodeError(f"only NCHW inputs are supported (got {imp.shape_of(x)})")
    a = attrs(node)
    kernel = _pair_attr(a, "kernel_shape", w.shape[2:])
    strides = _pair_attr(a, "strides", (1, 1))
    dilations = _pair_attr(a, "dilations", (1, 1))
    padding = _spatial_padding(a, imp.shape_of(x)[2:], kernel, strides, dilations)
    conv_attrs = Conv2dAttrs(
        kernel=kernel, stride=strides, padding=padding, dilation=dilations,
        groups=a.get("group", 1), bias=bias,
    )  # fmt: skip
    out = imp.builder.op(OpKind.CONV2D, [x], conv_attrs, weight_shape=w.shape, name=name)
    imp.weighted(out, node, w_index)
    return out


def _qlinear_conv(imp, node, name: str, ins: list):
    """QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, [B])."""
    _inputs(ins, 8, "x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point")
    x, w = act(ins[0]), weight(ins[3], "weight w")
    imp.quantized_weight(node.input[3], ins[4])
    imp.quantized_activation(node.input[0], ins[2])
    imp.quantized_activation(node.output[0], ins[7])
    return _conv_op(imp, node, name, x, w, len(ins) > 8 and ins[8] is not None, 3)


def _linear_op(imp, node, name: str, x: str, w: Const, transposed: bool, bias: bool,
               w_index: int) -> str:
    if len(w.shape) != 2:
        raise NodeError(f"a constant weight operand must be a matrix (got shape {w.shape})")
    shape = (w.shape[1], w.shape[0]) if transposed else w.shape  # edgesim: (out, in)
    out = imp.builder.op(OpKind.LINEAR, [x], LinearAttrs(bias=bias), weight_shape=shape,
                         name=name)
    imp.weighted(out, node, w_index, (lambda a: a.T) if transposed else None)
    imp.record_linear(out, x, w, transposed, bias, node.input[w_index])
    return out


def _gemm(imp, node, name: str, ins: list):
    _inputs(ins, 2, "A and B")
    a = attrs(node)
    if a.get("transA", 0):
        raise NodeError("transA=1 (a transposed activation) is not supported")
    x = act(ins[0], "input A")
    w = weight(ins[1], "input B")
    if len(w.shape) != 2:
        raise NodeError(f"B must be a matrix (got shape {w.shape})")
    out_features = w.shape[0] if a.get("transB", 0) else w.shape[1]
    c = ins[2] if len(ins) > 2 else None
    if c is not None and math.prod(weight(c, "bias C").shape) != out_features:
        raise NodeError(f"bias C of shape {c.shape} is not one value per output ({out_features})")
    # alpha and beta scale the result: no change in cost.
    return _linear_op(imp, node, name, x, w, not a.get("transB", 0), c is not None, 1)


def _linear(imp, node, name: str, ins: list):
    """edgesim.Linear(x, W (in, out), b): MatMul + Add fused by the passes."""
    return _linear_op(imp, node, name, act(ins[0]), weight(ins[1], "weight"), True, True, 1)


def _matmul(imp, node, name: str, ins: list):
    a, b = _inputs(ins, 2, "A and B")[:2]
    if isinstance(a, str) and isinstance(b, str):
        return imp.builder.op(OpKind.MATMUL, [a, b], name=name)
    if isinstance(a, Const) and isinstance(b, Const):
        return Const(imp.onnx_shape(node), np.dtype(np.float32))
    if isinstance(a, Const):
        raise NodeError("a constant left operand (W @ x) is not supported; only x @ W")
    return _linear_op(imp, node, name, a, b, True, False, 1)


def _qlinear_matmul(imp, node, name: str, ins: list):
    """QLinearMatMul(a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp)."""
    _inputs(ins, 8, "a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point")
    x = act(ins[0])
    imp.quantized_activation(node.input[0], ins[2])
    imp.quantized_activation(node.output[0], ins[7])
    if isinstance(ins[3], str):
        return imp.builder.op(OpKind.MATMUL, [x, ins[3]], name=name)
    imp.quantized_weight(node.input[3], ins[4])
    return _linear_op(imp, node, name, x, weight(ins[3], "b"), True, False, 3)


def _qlinear_binary(kind: OpKind) -> Converter:
    """com.microsoft QLinearAdd / QLinearMul(A, A_scale, A_zp, B, B_scale, B_zp, C_scale, C_zp)."""

    def convert(imp, node, name: str, ins: list):
        _inputs(ins, 7, "A, A_scale, A_zero_point, B, B_scale, B_zero_point, C_scale")
        imp.quantized_activation(node.input[0], ins[2])
        if len(ins) > 7:
            imp.quantized_activation(node.output[0], ins[7])
        operands = [ins[0], ins[3]]
        acts = [v for v in operands if isinstance(v, str)]
        consts = [v for v in operands if isinstance(v, Const)]
        if not acts:
            return Const(imp.onnx_shape(node), np.dtype(np.uint8))
        shape = learned_shape(consts[0]) if consts else ()
        return imp.builder.op(kind, acts, weight_shape=shape, name=name)

    return convert


def _qlinear_global_pool(imp, node, name: str, ins: list):
    """com.microsoft QLinearGlobalAveragePool(X, x_scale, x_zp, y_scale, y_zp), NCHW only."""
    _inputs(ins, 4, "X, x_scale, x_zero_point, y_scale")
    if attrs(node).get("channels_last", 0):
        raise NodeError("channels_last=1 (NHWC) is not supported; edgesim models NCHW")
    imp.quantized_activation(node.input[0], ins[2])
    return _global_pool(PoolMode.AVG)(imp, node, name, ins[:1])


def _qgemm(imp, node, name: str, ins: list):
    """com.microsoft QGemm(A, a_scale, a_zp, B, b_scale, b_zp, [C, y_scale, y_zp])."""
    _inputs(ins, 6, "A, a_scale, a_zero_point, B, b_scale, b_zero_point")
    a = attrs(node)
    if a.get("transA", 0):
        raise NodeError("transA=1 (a transposed activation) is not supported")
    x, w = act(ins[0], "input A"), weight(ins[3], "input B")
    imp.quantized_activation(node.input[0], ins[2])
    imp.quantized_weight(node.input[3], ins[4])
    bias = len(ins) > 6 and ins[6] is not None
    return _linear_op(imp, node, name, x, w, not a.get("transB", 0), bias, 3)


_EINSUM = re.compile(r"^([a-z]+),([a-z]+)->([a-z]+)$")


def _einsum(imp, node, name: str, ins: list):
    """Einsum of two operands that is a (batched) matmul: ...mk,...kn->...mn (or ...nk)."""
    equation = str(require(attrs(node), "equation", node)).replace(" ", "")
    m = _EINSUM.match(equation)
    if not m or len(ins) != 2:
        raise NodeError(f"equation {equation!r} is not a two-operand matmul")
    left, right, out = m.groups()
    contracted = [c for c in left if c in right and c not in out]
    if len(contracted) != 1 or len(set(left + right)) != len(set(left)) + len(set(right)) - \
            len(set(left) & set(right)):
        raise NodeError(f"equation {equation!r} is not a matmul (one contracted index)")
    (k,) = contracted
    batch = [c for c in out if c in left and c in right]
    rows = [c for c in out if c in left and c not in right]
    cols = [c for c in out if c in right and c not in left]
    a, b = ins
    if len(cols) != 1 or out != "".join(batch + rows + cols):
        raise NodeError(f"equation {equation!r} is not a matmul (output ...mn)")
    n_col = cols[0]
    if left != "".join(batch + rows) + k:
        raise NodeError(f"equation {equation!r}: the first operand must be laid out ...mk")
    if isinstance(b, Const):  # x @ W over any leading dims: a linear layer
        if batch or right not in (k + n_col, n_col + k):
            raise NodeError(f"equation {equation!r}: a constant operand must be a matrix")
        return _linear_op(imp, node, name, act(a), b, right == k + n_col, False, 1)
    if len(rows) != 1:
        raise NodeError(f"equation {equation!r} is not a matmul (one row index)")
    x, y = act(a), act(b, "second operand")
    if right == "".join(batch) + n_col + k:  # ...nk: contract last dims, as q @ k^T
        rank = len(right)
        perm = tuple(range(rank - 2)) + (rank - 1, rank - 2)
        y = imp.builder.op(OpKind.TRANSPOSE, [y], TransposeAttrs(perm=perm, copy=True),
                           name=imp.fresh(f"{name}.transpose"))
    elif right != "".join(batch) + k + n_col:
        raise NodeError(f"equation {equation!r}: the second operand must be ...kn or ...nk")
    return imp.builder.op(OpKind.MATMUL, [x, y], name=name)


def _elementwise(kind: OpKind) -> Converter:
    def convert(imp, node, name: str, ins: list):
        _inputs(ins, 2, "two operands")
        operands = _operands(imp, node, ins)
        if isinstance(operands, Const):
            return operands
        acts, const = operands
        shape = learned_shape(const) if const is not None else ()
        return imp.builder.op(kind, acts, weight_shape=shape, name=name)

    return convert


def _activation(function: Activation) -> Converter:
    def convert(imp, node, name: str, ins: list):
        return imp.builder.act(act(ins[0] if ins else None), function, name=name)

    return convert


def _clip(imp, node, name: str, ins: list):
    x = act(ins[0] if ins else None)
    if imp.opset < 11:
        a = attrs(node)
        low, high = a.get("min"), a.get("max")
    else:
        bounds = [ins[i] if len(ins) > i else None for i in (1, 2)]
        low, high = (
            None if b is None else float(imp.value(weight(b, "min/max"), "min/max").reshape(-1)[0])
            for b in bounds
        )
    if low == 0 and high == 6:
        function = Activation.RELU6
    elif low == 0 and (high is None or high >= _FLOAT32_MAX):  # exporters write "no max" so
        function = Activation.RELU
    else:
        raise NodeError(f"Clip(min={low}, max={high}) is neither relu (0, inf) nor relu6 (0, 6)")
    return imp.builder.act(x, function, name=name)


def _softmax(imp, node, name: str, ins: list):
    x = act(ins[0] if ins else None)
    # Before opset 13 the default axis was 1 (and the input was flattened from it: same cost).
    axis = attrs(node).get("axis", -1 if imp.opset >= 13 else 1)
    return imp.builder.op(OpKind.SOFTMAX, [x], AxisAttrs(axis=axis), name=name)


def _batch_norm(imp, node, name: str, ins: list):
    _inputs(ins, 5, "X, scale, B, input_mean and input_var")
    x = act(ins[0])
    return imp.builder.op(OpKind.NORM, [x], NormAttrs(kind=NormKind.BATCH), name=name)


def _layer_norm(imp, node, name: str, ins: list):
    x = act(ins[0] if ins else None)
    rank = len(imp.shape_of(x))
    axis = attrs(node).get("axis", -1)
    if axis % rank != rank - 1:
        raise NodeError(
            f"normalises over axes {axis}..{rank - 1}; edgesim's layer norm is over the last axis"
        )
    return imp.builder.op(OpKind.NORM, [x], NormAttrs(kind=NormKind.LAYER), name=name)


def _concat(imp, node, name: str, ins: list):
    if not ins:
        raise NodeError("missing required inputs")
    operands = _operands(imp, node, ins)
    if isinstance(operands, Const):
        return operands
    acts, const = operands
    if len(acts) == 1 and const is None:
        return acts[0]  # a concat of one tensor is that tensor
    axis = require(attrs(node), "axis", node)
    shape = learned_shape(const) if const is not None else ()
    return imp.builder.op(OpKind.CONCAT, acts, AxisAttrs(axis=axis), weight_shape=shape, name=name)


def _view_shape(imp, node, ins: list) -> Shape:
    """The output shape of Reshape, Flatten, Squeeze or Unsqueeze, from the input's shape."""
    shape = imp.shape_of(ins[0])
    a = attrs(node)
    op = node.op_type
    if op == "Flatten":
        axis = a.get("axis", 1) % (len(shape) + 1) if shape else 0
        return (math.prod(shape[:axis]), math.prod(shape[axis:]))
    if op == "Reshape" and imp.opset < 5:
        target = list(require(a, "shape", node))
    elif op == "Reshape":
        _inputs(ins, 2, "data and shape")
        target = [int(v) for v in imp.value(weight(ins[1], "shape"), "shape").reshape(-1)]
    else:
        if "axes" in a:
            axes = list(a["axes"])
        elif len(ins) > 1 and ins[1] is not None:
            axes = [int(v) for v in imp.value(weight(ins[1], "axes"), "axes").reshape(-1)]
        else:
            axes = None
        if op == "Squeeze":
            if axes is None:
                return tuple(d for d in shape if d != 1)
            drop = {v % len(shape) for v in axes}
            if any(shape[i] != 1 for i in drop):
                raise NodeError(f"squeezes axes {axes} of {shape}, which are not all of size 1")
            return tuple(d for i, d in enumerate(shape) if i not in drop)
        if axes is None:
            raise NodeError("missing required axes")
        rank = len(shape) + len(axes)
        add = {v % rank for v in axes}
        dims = iter(shape)
        return tuple(1 if i in add else next(dims) for i in range(rank))
    if not a.get("allowzero", 0):
        target = [shape[i] if v == 0 and i < len(shape) else v for i, v in enumerate(target)]
    if target.count(-1) > 1 or any(v < -1 for v in target):
        raise NodeError(f"shape {target} is not a valid reshape target")
    if -1 in target:
        known = math.prod(v for v in target if v != -1)
        if not known or math.prod(shape) % known:
            raise NodeError(f"cannot reshape {shape} to {target}")
        target[target.index(-1)] = math.prod(shape) // known
    if math.prod(target) != math.prod(shape):
        raise NodeError(f"cannot reshape {shape} ({math.prod(shape)} elements) to {tuple(target)}")
    return tuple(target)


def _view(imp, node, name: str, ins: list):
    """Reshape, Flatten, Squeeze, Unsqueeze: a free view (the shape is checked against ONNX's)."""
    if not ins or ins[0] is None:
        raise NodeError("missing required input data")
    shape = _view_shape(imp, node, ins)
    if isinstance(ins[0], Const):
        return Const(shape, ins[0].dtype, param_shape=ins[0].param_shape)
    if shape == imp.shape_of(ins[0]):
        return ins[0]
    out = imp.builder.op(OpKind.RESHAPE, [ins[0]], ReshapeAttrs(copy=False), output_shape=shape,
                         name=name)
    imp.views[out] = (ins[0], lambda a, s=shape: a.reshape(s))
    return out


def _transpose(imp, node, name: str, ins: list):
    if not ins or ins[0] is None:
        raise NodeError("missing required input data")
    rank = len(imp.shape_of(ins[0]))
    perm = tuple(attrs(node).get("perm", range(rank - 1, -1, -1)))
    if sorted(perm) != list(range(rank)):
        raise NodeError(f"perm {list(perm)} is not a permutation of the {rank} axes of its input")
    if isinstance(ins[0], Const):
        return Const(tuple(ins[0].shape[i] for i in perm), ins[0].dtype,
                     param_shape=ins[0].param_shape)
    if perm == tuple(range(rank)):
        return ins[0]
    out = imp.builder.op(OpKind.TRANSPOSE, [ins[0]], TransposeAttrs(perm=perm, copy=True),
                         name=name)
    imp.views[out] = (ins[0], lambda a, p=perm: a.transpose(p))
    return out


def _pool(mode: PoolMode) -> Converter:
    def convert(imp, node, name: str, ins: list):
        x = act(ins[0] if ins else None)
        a = attrs(node)
        kernel = tuple(require(a, "kernel_shape", node))
        if len(kernel) != 2:
            raise NodeError(f"only 2-D pooling is supported (kernel_shape {list(kernel)})")
        if any(d != 1 for d in a.get("dilations", (1, 1))):
            raise NodeError(f"dilated pooling (dilations {a['dilations']}) is not supported")
        strides = _pair_attr(a, "strides", (1, 1))
        spatial = imp.shape_of(x)[2:]
        if len(spatial) != 2:
            raise NodeError(f"only NCHW inputs are supported (got {imp.shape_of(x)})")
        padding = _spatial_padding(a, spatial, kernel, strides, (1, 1))
        if a.get("ceil_mode", 0):
            padding = tuple(_ceil_padding(n, k, s, p)
                            for n, k, s, p in zip(spatial, kernel, strides, padding))
        attrs_ = PoolAttrs(mode=mode, kernel=kernel, stride=strides, padding=padding)
        return imp.builder.op(OpKind.POOL, [x], attrs_, name=name)

    return convert


def _ceil_padding(size: int, k: int, s: int, p: int) -> int:
    """Symmetric padding whose floor-mode output size equals ceil mode's with padding `p`.

    The ceil output is ceil((size + 2p - k) / s) + 1, as ONNX shape inference computes it. (torch
    also drops a last window that would start in the end padding, which needs p > 0; ONNX's
    shape inference does not, and edgesim follows the file.) The window count is what pooling
    costs, so matching it is exact for the op's vector ops; the extra padding only places the
    last window.
    """
    out = -(-(size + 2 * p - k) // s) + 1
    for q in range(p, p + k + s):
        if (size + 2 * q - k) // s + 1 == out:
            return q
    raise NodeError(f"ceil_mode output {out} has no symmetric-padding equivalent")


def _global_pool(mode: PoolMode) -> Converter:
    def convert(imp, node, name: str, ins: list):
        x = act(ins[0] if ins else None)
        if len(imp.shape_of(x)) != 4:
            raise NodeError(f"only NCHW inputs are supported (got {imp.shape_of(x)})")
        return imp.builder.global_pool(x, mode, name=name)

    return convert


def _reduce(mode: PoolMode) -> Converter:
    """ReduceMean / ReduceMax over the spatial axes of NCHW: a global pool."""

    def convert(imp, node, name: str, ins: list):
        x = act(ins[0] if ins else None)
        shape = imp.shape_of(x)
        a = attrs(node)
        if "axes" in a:
            axes = a["axes"]
        elif len(ins) > 1 and isinstance(ins[1], Const):
            axes = [int(v) for v in imp.value(ins[1], "axes").reshape(-1)]
        else:
            axes = None
        if len(shape) != 4 or axes is None or sorted(v % 4 for v in axes) != [2, 3]:
            raise NodeError(
                f"reduces axes {axes} of a {shape} tensor; edgesim models a reduction over the "
                "spatial axes of NCHW (a global pool), or one inside a layer norm"
            )
        out = imp.builder.global_pool(x, mode, name=name)
        if a.get("keepdims", 1):
            return out
        return imp.builder.reshape(out, shape[:2], copy=False, name=imp.fresh(f"{name}.squeeze"))

    return convert


def _gather(imp, node, name: str, ins: list):
    _inputs(ins, 2, "data and indices")
    data, indices = ins[0], ins[1]
    axis = attrs(node).get("axis", 0)
    if isinstance(data, Const) and isinstance(indices, str):
        if axis != 0 or len(data.shape) != 2:
            raise NodeError(f"a lookup in a constant of shape {data.shape} on axis {axis}; "
                            "edgesim models embedding tables (vocab, dim) looked up on axis 0")
        out = imp.builder.embedding(indices, data.shape[0], data.shape[1], name=name)
        imp.weighted(out, node, 0)
        if data.dtype.kind in "iu":  # a quantized table (onnxruntime dequantizes after the lookup)
            imp.quantized_weight(node.input[0], None)
        return out
    if isinstance(data, Const):
        raise NodeError("gathers from a constant with computed indices")
    if not isinstance(indices, Const) or not indices.known:
        raise NodeError("gathers with computed indices from a computed tensor")
    index = np.asarray(imp.value(indices, "indices"))
    shape = imp.shape_of(data)
    if index.ndim == 0 and len(shape) == 3 and axis % 3 == 1 and int(index) == 0:
        from workloads.zoo._common import first_token

        return first_token(imp.builder, data, name=name)
    return imp.select(node, name, data, lambda a: np.take(a, index, axis=axis))


def _slice(imp, node, name: str, ins: list):
    if not ins or ins[0] is None:
        raise NodeError("missing required input data")
    data = act(ins[0], "data")
    a = attrs(node)
    if imp.opset < 10:
        starts, ends = require(a, "starts", node), require(a, "ends", node)
        axes, steps = a.get("axes"), None
    else:
        _inputs(ins, 3, "data, starts and ends")
        values = [None if v is None else [int(x) for x in imp.value(weight(v, "slice bound"),
                                                                      "slice bound").reshape(-1)]
                  for v in (ins + [None, None])[1:5]]
        starts, ends, axes, steps = values
    rank = len(imp.shape_of(data))
    axes = list(range(len(starts))) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    index = [slice(None)] * rank
    for axis, start, end, step in zip(axes, starts, ends, steps):
        index[axis % rank] = slice(start, end, step)
    if all(s == slice(None) for s in index):
        return data
    return imp.select(node, name, data, lambda arr: arr[tuple(index)])


def _split(imp, node, name: str, ins: list):
    data = act(ins[0] if ins else None, "input")
    a = attrs(node)
    axis = a.get("axis", 0)
    shape = imp.shape_of(data)
    size = shape[axis % len(shape)]
    if len(ins) > 1 and ins[1] is not None:
        parts = [int(v) for v in imp.value(weight(ins[1], "split"), "split").reshape(-1)]
    elif "split" in a:
        parts = list(a["split"])
    else:
        n = a.get("num_outputs", len(node.output))
        parts = [-(-size // n)] * (n - 1)
        parts.append(size - sum(parts))
    if sum(parts) != size or len(parts) != len(node.output):
        raise NodeError(f"split sizes {parts} do not cover axis {axis} of size {size}")
    results, start = [], 0
    for i, part in enumerate(parts):
        lo, hi = start, start + part
        part_name = name if i == 0 else imp.fresh(f"{name}.{i}")
        results.append(imp.select(node, part_name, data,
                                  lambda arr, lo=lo, hi=hi: np.take(arr, range(lo, hi), axis=axis)))
        start = hi
    return results


def _shape(imp, node, name: str, ins: list):
    """Shape / Size of a tensor: a constant (edgesim knows every shape)."""
    if not ins or ins[0] is None:
        raise NodeError("missing required input data")
    shape = np.array(imp.shape_of(ins[0]), dtype=np.int64)
    if node.op_type == "Size":
        return Const.of(np.array(shape.prod(), dtype=np.int64))
    a = attrs(node)
    return Const.of(shape[a.get("start", 0): a.get("end", len(shape))])


def _skip(imp, node, name: str, ins: list):
    """Identity, Dropout (inference), Cast: the output is the input."""
    if not ins or ins[0] is None:
        raise NodeError("has no input")
    return ins[0]


def _expand(imp, node, name: str, ins: list):
    x = _inputs(ins, 2, "input and shape")[0]
    if isinstance(x, Const):
        return Const(imp.onnx_shape(node), x.dtype, param_shape=x.param_shape)
    if imp.onnx_shape(node) != imp.shape_of(x):
        raise NodeError(f"broadcasts {imp.shape_of(x)} to {imp.onnx_shape(node)}; edgesim models "
                        "Expand only where it is a no-op or of a constant")
    return x


def _constant(imp, node, name: str, ins: list):
    from onnx import numpy_helper

    try:
        return constant_node(node, numpy_helper)
    except PassError as err:
        raise NodeError(str(err)) from None


def view_layout(flat: np.ndarray, total: int):
    """How an array of positions in a (rows, k) tensor is a view + transpose of it, or None.

    Returns (order, perm): the axes of `flat` (those of size > 1) from the outermost to the
    innermost in memory, and the transpose that takes that order back to the axes' own order.
    """
    if flat.size != total or int(flat.reshape(-1)[0]) != 0:
        return None
    shape = flat.shape
    axes = [i for i, n in enumerate(shape) if n > 1]
    strides = {}
    for i in axes:
        step = [0] * len(shape)
        step[i] = 1
        strides[i] = int(flat[tuple(step)])
    grid = np.indices(shape)
    if not np.array_equal(flat, sum(grid[i] * strides[i] for i in axes) if axes else flat * 0):
        return None
    order = sorted(axes, key=lambda i: -strides[i])
    expected = 1
    for i in reversed(order):
        if strides[i] != expected:
            return None
        expected *= shape[i]
    target = sorted(order)
    perm = tuple(order.index(i) for i in target)
    return tuple(order), perm


CONVERTERS: dict[str, Converter] = {
    "Conv": _conv,
    "QLinearConv": _qlinear_conv,
    "Gemm": _gemm,
    "MatMul": _matmul,
    "QLinearMatMul": _qlinear_matmul,
    "Einsum": _einsum,
    "com.microsoft.QLinearAdd": _qlinear_binary(OpKind.ADD),
    "com.microsoft.QLinearMul": _qlinear_binary(OpKind.MUL),
    "com.microsoft.QLinearGlobalAveragePool": _qlinear_global_pool,
    "com.microsoft.QGemm": _qgemm,
    f"{EDGESIM_DOMAIN}.Linear": _linear,
    f"{EDGESIM_DOMAIN}.Silu": _activation(Activation.SILU),
    "MaxPool": _pool(PoolMode.MAX),
    "AveragePool": _pool(PoolMode.AVG),
    "GlobalAveragePool": _global_pool(PoolMode.AVG),
    "GlobalMaxPool": _global_pool(PoolMode.MAX),
    "ReduceMean": _reduce(PoolMode.AVG),
    "ReduceMax": _reduce(PoolMode.MAX),
    "Add": _elementwise(OpKind.ADD),
    "Sub": _elementwise(OpKind.ADD),
    "Mul": _elementwise(OpKind.MUL),
    "Div": _elementwise(OpKind.MUL),
    "Relu": _activation(Activation.RELU),
    "Clip": _clip,
    "Sigmoid": _activation(Activation.SIGMOID),
    "Tanh": _activation(Activation.SIGMOID),
    "HardSigmoid": _activation(Activation.SIGMOID),
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
    "Gather": _gather,
    "Slice": _slice,
    "Split": _split,
    "Shape": _shape,
    "Size": _shape,
    "Identity": _skip,
    "Dropout": _skip,
    "Cast": _skip,
    "Expand": _expand,
    "Constant": _constant,
}
SUPPORTED_OP_TYPES = tuple(sorted(k for k in CONVERTERS if not k.startswith(EDGESIM_DOMAIN + ".")))
"""ONNX op types (default domain) that `load_onnx` maps; shape arithmetic on constants, Erf
GELU, decomposed layer norms and QuantizeLinear / DequantizeLinear are handled before."""

SHAPE_HINTS = {
    "MatMul": " (edgesim's matmul needs equal batch dims, without broadcasting)",
}
