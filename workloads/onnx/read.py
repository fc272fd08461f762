"""Reading an ONNX model: the file (or an in-memory `ModelProto`), the graph inputs with the
batch dim made concrete, and the static shapes ONNX shape inference gives every tensor.

Each raises `TraceError` naming the file and what is wrong (not an ONNX file, a symbolic dim
other than the batch, a batch that cannot apply, a node shape inference rejects).
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

from workloads.errors import TraceError
from workloads.ops import Shape


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


def _graph_inputs(model, consts, source: str, batch: int | None) -> dict[str, Shape]:
    """Graph inputs that are not initializers, with the batch dim made concrete.

    `batch` applies to the inputs whose first dim is symbolic; an input with a fixed first
    dim keeps it (Hugging Face's position ids are (1, L), broadcast over the batch), but when
    no input has a symbolic one, `batch` cannot apply and that is an error.
    """
    result = {}
    fixed_batch: list[tuple[str, int]] = []
    symbolic = False
    for value in model.graph.input:
        if value.name in consts:
            continue  # old exporters list initializers as inputs too
        where = f"{source}: input {value.name!r}"
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
                shape.append(batch or 1)
                symbolic = True
            elif fixed is None:
                raise TraceError(
                    f"{where}: dim {axis} is symbolic ({label!r}); only the batch dim (0) may "
                    "be; export with fixed sizes for the others"
                )
            elif axis == 0 and batch is not None and fixed != batch:
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
            f"{where}: the batch dim is fixed at {fixed}, so batch={batch} cannot "
            "apply; export with a symbolic batch dim (dynamic_axes)"
        )
    return result


def _inferred_shapes(onnx, original, inputs: dict[str, Shape], source: str) -> dict[str, Shape]:
    """Static shapes ONNX shape inference gives each tensor (all dims known and > 0), on a
    copy of `original` whose graph inputs take the concrete `inputs` shapes."""
    shapes: dict[str, Shape] = {}
    model = onnx.ModelProto()
    model.CopyFrom(original)  # the caller's model is left as it was
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
            raise TraceError(f"{source}: node {m[2]!r} ({m[1]}): {m[3]} (ONNX shape "
                             "inference)") from None
        raise TraceError(f"{source}: ONNX shape inference failed: {text}") from None
    graph = model.graph
    for value in (*graph.input, *graph.value_info, *graph.output):
        tensor = value.type.tensor_type
        if value.type.WhichOneof("value") == "tensor_type" and tensor.HasField("shape"):
            dims = tuple(
                d.dim_value if d.HasField("dim_value") else 0 for d in tensor.shape.dim
            )
            if all(d > 0 for d in dims):
                shapes[value.name] = dims
    return shapes


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split())
