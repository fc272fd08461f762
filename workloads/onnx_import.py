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

This module is the entry point; the import itself is `workloads.onnx` (see its package doc for
which module holds what).
"""

from __future__ import annotations

from workloads.errors import EdgesimError, TraceError
from workloads.network import Network
from workloads.onnx.convert import SUPPORTED_OP_TYPES
from workloads.onnx.importer import GENERIC_GRAPH_NAMES, _Importer
from workloads.onnx.names import check_text
from workloads.onnx.read import _read_model

__all__ = ["GENERIC_GRAPH_NAMES", "SUPPORTED_OP_TYPES", "load_onnx"]

_INSTALL_HINT = "pip install edgesim[onnx]"


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
