"""Reading traces: trace text (`loads`) or parsed data (`from_dict`) to a `Network`, by one
strict loader that names the source, the op (by name and index) and the field of every problem.

JSON nesting is bounded and a repeated key is an error (both parsers would otherwise keep the
last one); YAML goes through `workloads.yamlio`, the project's one bounded YAML reader.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from workloads import yamlio
from workloads.compression import DENSE_FP32, Compression, parse_enum
from workloads.errors import GraphError, ShapeError, SpecError, TraceError, suggest
from workloads.network import Network, TensorSpec
from workloads.ops import ATTRS_TYPE, Op
from workloads.trace_schema import (
    _ATTRS_SCHEMA,
    _COMPRESSION_SCHEMA,
    _EMPTY,
    _INPUT_KEYS,
    _OP_KEYS,
    _OP_REQUIRED,
    _TOP_KEYS,
    _TOP_REQUIRED,
    FORMAT_VERSION,
    SUPPORTED_VERSIONS,
    TraceFormat,
    _FieldError,
    _got,
    _is_int,
    _list,
    _mapping,
    _name,
    _names,
    _parse_kind,
    _Schema,
    _shape,
    _shapes,
    _show,
    _str,
)

def loads(
    text: str, fmt: TraceFormat | str = TraceFormat.JSON, *, source: str = "<string>"
) -> Network:
    """The network in trace `text`; `source` names it in error messages. Raises TraceError."""
    fmt = parse_enum(TraceFormat, fmt, "fmt")
    if fmt is TraceFormat.JSON:
        _check_json_nesting(text, source)
        try:
            data = json.loads(text, object_pairs_hook=_json_object)
        except json.JSONDecodeError as err:
            raise TraceError(
                f"{source}: line {err.lineno} column {err.colno}: invalid JSON: {err.msg}"
            ) from None
        except _DuplicateKey as dup:
            raise TraceError(f"{source}: duplicate key {dup.key!r} in a JSON object") from None
        except ValueError as err:  # e.g. an integer of more than 4300 digits
            raise TraceError(f"{source}: invalid JSON: {err}") from None
    else:
        try:
            data = yamlio.safe_load(text)
        except yamlio.YamlError as err:
            raise TraceError(f"{source}: {err}") from None
    return from_dict(data, source=source)


MAX_JSON_NESTING = 64
"""Deepest nesting of JSON arrays and objects (a trace needs 5: ops, op, attrs, shape list,
shape); deeper input would exhaust the parser's recursion."""

_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _check_json_nesting(text: str, source: str) -> None:
    """TraceError naming MAX_JSON_NESTING when arrays/objects nest deeper (strings skipped)."""
    depth = 0
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_JSON_NESTING:
                line = text.count("\n", 0, match.start()) + 1
                raise TraceError(f"{source}: line {line}: JSON nested deeper than "
                                 f"MAX_JSON_NESTING = {MAX_JSON_NESTING}; a trace needs 5 levels")
        elif token in "]}":
            depth -= 1


class _DuplicateKey(Exception):
    def __init__(self, key: object) -> None:
        super().__init__(key)
        self.key = key


def _json_object(pairs: list[tuple[str, Any]]) -> dict:
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return data


def from_dict(data: object, *, source: str = "<dict>") -> Network:
    """The network described by trace `data` (as `to_dict` makes, or a parsed file).

    Checks strictly: unknown keys (listing the allowed ones), missing keys, wrong types, an
    unsupported `format_version`, duplicate op names; then op and network validation. Ops may
    come in any order. Every problem is a TraceError whose message starts with `source`.
    """
    if not isinstance(data, Mapping):
        raise TraceError(
            f"{source}: expected a mapping with keys {', '.join(_TOP_KEYS)} at the top level, "
            f"{_got(data)}"
        )
    where = f"{source}:"
    try:
        # The version first: a newer file may have keys this version does not know.
        if "format_version" not in data:
            raise _FieldError(
                "format_version", f"required but missing (this edgesim writes {FORMAT_VERSION})"
            )
        version = data["format_version"]
        if version not in SUPPORTED_VERSIONS or not _is_int(version):
            raise _FieldError(
                "format_version",
                f"unsupported version {_show(version)}; this edgesim reads version(s) "
                f"{', '.join(map(str, SUPPORTED_VERSIONS))}",
            )
        _check_keys(data, _TOP_KEYS, _TOP_REQUIRED, "")
        name = _str(data["name"], "name")
        description = _str(data.get("description", ""), "description")
        inputs = []
        for i, item in enumerate(_list(data["inputs"], "inputs")):
            field = f"inputs[{i}]"
            item = _mapping(item, field)
            _check_keys(item, _INPUT_KEYS, _INPUT_KEYS, f"{field}.")
            spec_name = _name(item["name"], f"{field}.name")
            inputs.append(TensorSpec(spec_name, _shape(item["shape"], f"{field}.shape")))
        outputs = _names(data["outputs"], "outputs")
        raw_ops = _list(data["ops"], "ops")
    except _FieldError as err:
        raise TraceError(f"{where} field {err.field!r}: {err.detail}") from None

    ops = []
    first_index: dict[str, int] = {}
    for i, raw in enumerate(raw_ops):
        op = _parse_op(raw, i, source)
        if op.name in first_index:
            raise TraceError(
                f"{source}: op {op.name!r} (#{i}) field 'name': "
                f"duplicate of op #{first_index[op.name]}"
            )
        first_index[op.name] = i
        ops.append(op)
    try:
        # The sort is stable, so a file already in topological order keeps its order.
        return Network.build(name=name, inputs=tuple(inputs), ops=tuple(ops), outputs=outputs,
                             description=description)
    except (GraphError, ShapeError, SpecError) as err:
        raise TraceError(f"{source}: {err}") from None


def _check_keys(
    data: Mapping, allowed: tuple[str, ...], required: tuple[str, ...], prefix: str
) -> None:
    unknown = [k for k in data if k not in allowed]
    if unknown:
        key = unknown[0]
        hint = suggest(key, allowed) if isinstance(key, str) else ""
        listed = ", ".join(allowed) if allowed else "none"
        raise _FieldError(f"{prefix}{key}", f"unknown field{hint}; allowed: {listed}")
    for key in required:
        if key not in data:
            raise _FieldError(f"{prefix}{key}", "required but missing")


def _parse_op(raw: object, index: int, source: str, parent: str | None = None) -> Op:
    """One op from trace data: entry `index` of the ops, or of the members of op `parent`."""
    try:
        raw = _mapping(raw, "")
        _check_keys(raw, _OP_KEYS, _OP_REQUIRED, "")
        name = _name(raw["name"], "name")
        kind = _parse_kind(raw["kind"], "kind")
        inputs = _names(raw["inputs"], "inputs")
        input_shapes = _shapes(raw["input_shapes"], "input_shapes")
        output_shape = _shape(raw["output_shape"], "output_shape")
        weight_shape = _shape(raw.get("weight_shape", ()), "weight_shape")
        attrs_type = ATTRS_TYPE[kind]
        attrs_kw = _parse_fields(raw.get("attrs", _EMPTY), _ATTRS_SCHEMA[attrs_type], "attrs")
        comp_kw = _parse_fields(raw.get("compression", _EMPTY), _COMPRESSION_SCHEMA, "compression")
        raw_members = _list(raw.get("members", ()), "members")
    except _FieldError as err:
        field = f" field {err.field!r}" if err.field else ""
        raise TraceError(f"{_op_where(raw, index, source, parent)}{field}: {err.detail}") from None
    try:
        attrs = attrs_type(**attrs_kw)
    except (SpecError, TypeError) as err:  # TypeError: a field type unknown to _BY_ANNOTATION
        raise TraceError(f"{_op_where(raw, index, source, parent)} field 'attrs': {err}") from None
    try:
        compression = Compression(**comp_kw) if comp_kw else DENSE_FP32
    except SpecError as err:
        where = _op_where(raw, index, source, parent)
        raise TraceError(f"{where} field 'compression': {err}") from None
    members = ()
    if raw_members:
        where = _op_where(raw, index, source, parent)
        members = tuple(_parse_op(m, i, source, where) for i, m in enumerate(raw_members))
    try:
        return Op(
            name=name,
            kind=kind,
            inputs=inputs,
            input_shapes=input_shapes,
            output_shape=output_shape,
            weight_shape=weight_shape,
            attrs=attrs,
            compression=compression,
            members=members,
        )
    except (SpecError, ShapeError, GraphError) as err:
        # The message names the op already; a member's also needs the fused op it sits in.
        where = source if parent is None else _op_where(raw, index, source, parent)
        raise TraceError(f"{where}: {err}") from None


def _op_where(raw: object, index: int, source: str, parent: str | None) -> str:
    """``file: op 'name' (#i)`` or ``file: op 'f' (#3) member 'name' (#i)``; built on error only."""
    prefix = f"{source}: op" if parent is None else f"{parent} member"
    name = raw.get("name") if isinstance(raw, Mapping) else None
    if isinstance(name, str) and name:
        return f"{prefix} {name!r} (#{index})"
    return f"{prefix} #{index}"


def _parse_fields(raw: object, schema: _Schema, label: str) -> dict[str, Any]:
    if raw is _EMPTY and not schema.required:
        return {}
    raw = _mapping(raw, label)
    _check_keys(raw, schema.names, schema.required, f"{label}.")
    return {
        f.name: f.parse(raw[f.name], f"{label}.{f.name}") for f in schema.fields if f.name in raw
    }
