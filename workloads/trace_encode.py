"""Writing traces: a `Network` as plain data (`to_dict`), as JSON or YAML text (`dumps`), and
its content digest (`digest`, what `Network.digest` and report metadata use).

Reads only the network's public fields, so it does not import `workloads.network` at runtime
(the network imports it, for `Network.digest`).
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

import yaml

from workloads import yamlio
from workloads.compression import parse_enum
from workloads.errors import TraceError
from workloads.ops import Op
from workloads.trace_schema import (
    _ATTRS_SCHEMA,
    _COMPRESSION_SCHEMA,
    FORMAT_VERSION,
    TraceFormat,
)

if TYPE_CHECKING:
    from workloads.network import Network

def to_dict(network: Network) -> dict:
    """The trace of `network` as plain data (dicts, lists, str, int, float, bool).

    Attrs carry every field of their kind; compression only its non-default fields; keys with
    nothing to say (`weight_shape`, `attrs`, `compression`, `members`) are omitted. Raises
    TraceError for a float attribute that is not finite (JSON cannot hold it).
    """
    return {
        "format_version": FORMAT_VERSION,
        "name": network.name,
        "description": network.description,
        "inputs": [{"name": s.name, "shape": list(s.shape)} for s in network.inputs],
        "outputs": list(network.outputs),
        "ops": [_op_to_dict(op) for op in network.ops],
    }


def _op_to_dict(op: Op) -> dict:
    data: dict[str, Any] = {
        "name": op.name,
        "kind": op.kind.value,
        "inputs": list(op.inputs),
        "input_shapes": [list(s) for s in op.input_shapes],
        "output_shape": list(op.output_shape),
    }
    if op.weight_shape:
        data["weight_shape"] = list(op.weight_shape)
    try:
        schema = _ATTRS_SCHEMA[type(op.attrs)]
        attrs = {f.name: f.encode(getattr(op.attrs, f.name)) for f in schema.fields}
        comp = {
            f.name: f.encode(value)
            for f in _COMPRESSION_SCHEMA.fields
            if (value := getattr(op.compression, f.name)) != f.default
        }
    except ValueError as err:
        raise TraceError(f"op {op.name!r}: cannot be written: {err}") from None
    if attrs:
        data["attrs"] = attrs
    if comp:
        data["compression"] = comp
    if op.members:
        data["members"] = [_op_to_dict(m) for m in op.members]
    return data


def dumps(network: Network, fmt: TraceFormat | str = TraceFormat.JSON) -> str:
    """The trace of `network` as JSON or YAML text (JSON: one op per line, for readable diffs)."""
    fmt = parse_enum(TraceFormat, fmt, "fmt")
    data = to_dict(network)
    if fmt is TraceFormat.YAML:
        return yaml.dump(
            data, Dumper=yamlio.DUMPER, sort_keys=False, default_flow_style=None,
            allow_unicode=True, width=100,
        )  # fmt: skip
    ops = data.pop("ops")

    def enc(value: object) -> str:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)

    lines = ["{"] + [f"  {enc(k)}: {enc(v)}," for k, v in data.items()]
    lines.append('  "ops": [')
    lines.append(",\n".join(f"    {enc(op)}" for op in ops))
    lines += ["  ]", "}", ""]
    return "\n".join(lines)


def digest(network: Network) -> str:
    """SHA-256 hex digest of the canonical JSON of the trace (sorted keys, no spaces).

    Equal networks have equal digests, whatever file they were read from; for report metadata.
    """
    text = json.dumps(to_dict(network), sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
