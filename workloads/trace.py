"""Trace files: a `Network` as JSON or YAML, written losslessly and read by one strict loader.

The format is chosen by the file suffix (``.json``, ``.yaml``, ``.yml``). Layout, version 1::

    format_version: 1
    name: tiny/w8a8
    description: ''
    inputs:
    - name: x
      shape: [1, 3, 32, 32]
    outputs: [relu0]
    ops:
    - name: conv0
      kind: conv2d
      inputs: [x]
      input_shapes:
      - [1, 3, 32, 32]
      output_shape: [1, 8, 32, 32]
      weight_shape: [8, 3, 3, 3]          # omitted when the op has no weights
      attrs:                              # all fields of the kind's attrs (omitted if none)
        kernel: [3, 3]
        stride: [1, 1]
        padding: [1, 1]
        dilation: [1, 1]
        groups: 1
        bias: false
      compression: {quant: fixed, weight_bits: 8, activation_bits: 8}  # non-default fields only
    - name: relu0
      kind: activation
      inputs: [conv0]
      input_shapes:
      - [1, 8, 32, 32]
      output_shape: [1, 8, 32, 32]
      attrs: {function: relu}
      compression: {quant: fixed, weight_bits: 8, activation_bits: 8}

A FUSED op has the same keys (no attrs) plus ``members``: the folded ops in this same layout,
anchor first. JSON files hold the same data, one op per line.

Enums are written as their ``.value`` strings, tuples as lists. Ops may appear in any order; the
loader sorts them topologically (an already sorted list is kept as it is). `from_dict(to_dict(n))
== n` for every network. YAML is read with the safe loader; a key repeated in a mapping is an
error in both formats (both parsers would otherwise silently keep the last one).

Every problem is a `TraceError` with a one-line message naming the file, the op (by name and
index) and the field, e.g. ``resnet.yaml: op 'conv1' (#0) field 'attrs.stride': expected an int
or two ints, got 'x'``. Errors of op and network validation (`SpecError`, `ShapeError`,
`GraphError`) are re-raised as `TraceError` with the file name prefixed.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import math
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from workloads.atomic import OutputError, write_atomic
from workloads.compression import (
    DENSE_FP32,
    Compression,
    QuantScheme,
    SparsityScheme,
    parse_enum,
)
from workloads import yamlio
from workloads.errors import GraphError, ShapeError, SpecError, TraceError, suggest
from workloads.network import Network, TensorSpec
from workloads.ops import ATTRS_TYPE, MAX_DIM, Op, OpKind, count_text

__all__ = [
    "FORMAT_VERSION",
    "SUPPORTED_VERSIONS",
    "TraceFormat",
    "digest",
    "dumps",
    "format_of",
    "from_dict",
    "load",
    "loads",
    "save",
    "to_dict",
]

FORMAT_VERSION = 1
"""Version this module writes."""
SUPPORTED_VERSIONS = (1,)
"""Versions this module reads."""


class TraceFormat(enum.Enum):
    """Text encoding of a trace file."""

    JSON = "json"
    YAML = "yaml"


_SUFFIXES = MappingProxyType(
    {".json": TraceFormat.JSON, ".yaml": TraceFormat.YAML, ".yml": TraceFormat.YAML}
)



def format_of(path: str | os.PathLike) -> TraceFormat:
    """The trace format for `path`'s suffix; TraceError for any other suffix."""
    suffix = Path(path).suffix.lower()
    try:
        return _SUFFIXES[suffix]
    except KeyError:
        raise TraceError(
            f"{os.fspath(path)}: unknown trace file suffix {suffix!r}; expected one of "
            f"{', '.join(_SUFFIXES)}"
        ) from None


# --- field schemas: how each attrs / compression field is checked, coerced and written ----------


class _FieldError(Exception):
    """Internal: a field failed its check. Caught where the op and file are known."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(field, detail)
        self.field = field
        self.detail = detail


def _show(value: object) -> str:
    """`repr` of a value as found in a file, shortened to keep messages on one line."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _got(value: object) -> str:
    text = f"got {_show(value)}"
    if isinstance(value, str) and any(c.isdigit() for c in value):
        try:
            float(value)
        except ValueError:
            return text
        text += " (a string, not a number"
        # YAML 1.1 reads 1e-3 (no dot) as a string: a classic trap, so say so.
        if "e" in value.lower() and "." not in value:
            text += "; YAML needs a dot in exponent notation, e.g. 1.0e-3"
        text += ")"
    return text


def _is_int(value: object) -> bool:
    return type(value) is int  # bool is an int subclass, and never a valid count


_LIST_TYPES = (list, tuple)
_ONLY_INT = frozenset({int})
_ONLY_STR = frozenset({str})


def _all_ints(values: list | tuple) -> bool:
    # map(type, ...) runs in C: this check is a third of the cost of loading a big trace.
    return _ONLY_INT.issuperset(map(type, values))


def _int(value: object, field: str) -> int:
    if not _is_int(value):
        raise _FieldError(field, f"expected an int, {_got(value)}")
    return value


def _bool(value: object, field: str) -> bool:
    if type(value) is not bool:
        raise _FieldError(field, f"expected true or false, {_got(value)}")
    return value


def _float(value: object, field: str) -> float:
    if type(value) in (int, float):
        try:
            number = float(value)
        except OverflowError:  # an int beyond the float range
            number = math.inf
        if math.isfinite(number):
            return number
    raise _FieldError(field, f"expected a finite number, {_got(value)}")


def _str(value: object, field: str) -> str:
    if type(value) is not str:
        raise _FieldError(field, f"expected a string, {_got(value)}")
    return value


def _name(value: object, field: str) -> str:
    if type(value) is not str or not value:
        raise _FieldError(field, f"expected a non-empty string, {_got(value)}")
    if not value.isprintable():
        raise _FieldError(field, f"names must be printable (no newlines or control characters), "
                          f"{_got(value)}")
    return value


def _int_pair(value: object, field: str) -> tuple[int, int]:
    if _is_int(value):
        return (value, value)
    if type(value) in _LIST_TYPES and len(value) == 2 and _all_ints(value):
        return tuple(value)
    raise _FieldError(field, f"expected an int or two ints, {_got(value)}")


def _two_ints(value: object, field: str) -> tuple[int, int]:
    if type(value) in _LIST_TYPES and len(value) == 2 and _all_ints(value):
        return tuple(value)
    raise _FieldError(field, f"expected two ints, {_got(value)}")


def _ints(value: object, field: str) -> tuple[int, ...]:
    if type(value) in _LIST_TYPES and _all_ints(value):
        return tuple(value)
    raise _FieldError(field, f"expected a list of ints, {_got(value)}")


def _shape(value: object, field: str) -> tuple[int, ...]:
    if (type(value) in _LIST_TYPES and _all_ints(value)
            and (not value or (min(value) >= 1 and max(value) <= MAX_DIM))):
        return tuple(value)
    if type(value) in _LIST_TYPES and _all_ints(value) and value and max(value) > MAX_DIM:
        raise _FieldError(field, f"a dimension is over MAX_DIM = {MAX_DIM} "
                          f"(got {count_text(max(value))})")
    raise _FieldError(field, f"expected a list of positive ints, {_got(value)}")


def _names(value: object, field: str) -> tuple[str, ...]:
    value = _list(value, field)
    if not (_ONLY_STR.issuperset(map(type, value)) and all(value)):
        for i, item in enumerate(value):  # find and name the bad item
            _name(item, f"{field}[{i}]")
    return tuple(value)


def _shapes(value: object, field: str) -> tuple[tuple[int, ...], ...]:
    value = _list(value, field)
    try:
        return tuple(_shape(item, field) for item in value)
    except _FieldError:  # name the item only on error (building the labels costs on big traces)
        for i, item in enumerate(value):
            _shape(item, f"{field}[{i}]")
        raise


def _list(value: object, field: str) -> list | tuple:
    if type(value) not in _LIST_TYPES:
        raise _FieldError(field, f"expected a list, {_got(value)}")
    return value


def _mapping(value: object, field: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise _FieldError(field, f"expected a mapping, {_got(value)}")
    return value


def _enum_parser(enum_type: type[enum.Enum]) -> Callable[[object, str], enum.Enum]:
    by_value = {m.value: m for m in enum_type}

    def parse(value: object, field: str) -> enum.Enum:
        try:
            return by_value[value]
        except (KeyError, TypeError):  # TypeError: unhashable (a list or mapping)
            hint = suggest(value, by_value) if isinstance(value, str) else ""
            raise _FieldError(
                field, f"expected one of {list(by_value)}, {_got(value)}{hint}"
            ) from None

    return parse


def _enum_encoder(value: enum.Enum) -> str:
    return value.value


def _float_encoder(value: float) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"non-finite number {value!r} has no JSON form")
    return value


def _as_is(value: object, field: str) -> object:
    return value


def _plain(value: object) -> object:
    """Enums as their values, tuples as lists (for field types without their own encoder)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _list_encoder(value: tuple) -> list:
    return [int(v) for v in value]


# Annotation text (the core modules use `from __future__ import annotations`) -> parse, encode.
_BY_ANNOTATION: Mapping[str, tuple[Callable, Callable]] = MappingProxyType({
    "int": (_int, int),
    "bool": (_bool, bool),
    "float": (_float, _float_encoder),
    "tuple[int, int]": (_int_pair, _list_encoder),
    "tuple[int, ...]": (_ints, _list_encoder),
})


@dataclasses.dataclass(frozen=True, slots=True)
class _Field:
    """How one dataclass field is read from and written to a trace."""

    name: str
    parse: Callable[[object, str], Any]
    encode: Callable[[Any], Any]
    required: bool
    default: Any


@dataclasses.dataclass(frozen=True, slots=True)
class _Schema:
    """The fields of one dataclass as a trace holds them."""

    fields: tuple[_Field, ...]
    names: tuple[str, ...] = ()
    required: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(f.name for f in self.fields))
        object.__setattr__(self, "required", tuple(f.name for f in self.fields if f.required))


def _schema(cls: type, enums: Mapping[str, type[enum.Enum]]) -> _Schema:
    fields = []
    for f in dataclasses.fields(cls):
        if f.name in enums:
            parse, encode = _enum_parser(enums[f.name]), _enum_encoder
        elif f.type in _BY_ANNOTATION:
            parse, encode = _BY_ANNOTATION[f.type]
        else:
            # A field type this module does not know yet: hand the raw value to the class's own
            # validation. tests/workloads/test_trace.py fails until a parser is added here.
            parse, encode = _as_is, _plain
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        fields.append(_Field(f.name, parse, encode, required, None if required else f.default))
    return _Schema(tuple(fields))


_ATTRS_SCHEMA: Mapping[type, _Schema] = MappingProxyType({
    cls: _schema(cls, getattr(cls, "_enums", {})) for cls in set(ATTRS_TYPE.values())
})
def _two_ints_or_none(value: object, field: str) -> tuple[int, int] | None:
    return None if value is None else _two_ints(value, field)


def _list_or_none(value: tuple | None) -> list | None:
    return None if value is None else _list_encoder(value)


_COMPRESSION_SCHEMA = _Schema(tuple(
    dataclasses.replace(f, parse=_two_ints) if f.name == "block_shape"  # no int shorthand
    else dataclasses.replace(f, parse=_two_ints_or_none, encode=_list_or_none) if f.name == "n_m"
    else f
    for f in _schema(Compression, {"sparsity": SparsityScheme, "quant": QuantScheme}).fields
))
_EMPTY: Mapping = MappingProxyType({})

_TOP_KEYS = ("format_version", "name", "description", "inputs", "outputs", "ops")
_TOP_REQUIRED = ("format_version", "name", "inputs", "outputs", "ops")
_INPUT_KEYS = ("name", "shape")
_OP_KEYS = (
    "name", "kind", "inputs", "input_shapes", "output_shape", "weight_shape", "attrs",
    "compression", "members",
)  # fmt: skip
_OP_REQUIRED = ("name", "kind", "inputs", "input_shapes", "output_shape")
_parse_kind = _enum_parser(OpKind)


# --- writing -------------------------------------------------------------------------------------


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


def save(network: Network, path: str | os.PathLike) -> None:
    """Write `network`'s trace to `path` (format from the suffix), atomically.

    The text goes to a temporary file in the same directory, which then replaces `path`, so a
    failed write leaves `path` as it was. Raises TraceError when `path` cannot be written.
    """
    path = Path(path)
    fmt = format_of(path)
    try:
        text = dumps(network, fmt)
    except TraceError as err:
        raise TraceError(f"{path}: {err}") from None
    if path.is_dir():
        raise TraceError(f"{path}: cannot write trace: is a directory")
    if not path.parent.is_dir():
        raise TraceError(
            f"{path}: cannot write trace: directory {str(path.parent)!r} does not exist"
        )
    try:
        write_atomic(path, text)
    except OutputError as err:
        raise TraceError(f"{path}: cannot write trace: {getattr(err, 'reason', err)}") from None


# --- reading -------------------------------------------------------------------------------------


def load(path: str | os.PathLike) -> Network:
    """The network in the trace file `path` (format from the suffix).

    Raises TraceError for an unknown suffix, a missing or unreadable file, bad JSON/YAML syntax
    (with its line number) and every problem `from_dict` finds, each naming the file.
    """
    source = os.fspath(path)
    fmt = format_of(path)
    try:
        n_bytes = Path(path).stat().st_size
    except OSError:
        n_bytes = 0  # reading below names the problem
    if n_bytes > MAX_TRACE_BYTES:
        raise TraceError(f"{source}: {n_bytes:,} bytes, more than MAX_TRACE_BYTES = "
                         f"{MAX_TRACE_BYTES:,}; a trace of 10,000 ops is about 5 MB")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TraceError(f"{source}: no such trace file") from None
    except IsADirectoryError:
        raise TraceError(f"{source}: is a directory, expected a trace file") from None
    except PermissionError:
        raise TraceError(f"{source}: cannot read trace file: permission denied") from None
    except UnicodeDecodeError as err:
        raise TraceError(f"{source}: not UTF-8 text (bad byte at offset {err.start})") from None
    except OSError as err:
        raise TraceError(f"{source}: cannot read trace file: {err.strerror or err}") from None
    return loads(text, fmt, source=source)


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


MAX_TRACE_BYTES = 256 * 2**20
"""Largest trace file read, bytes (a 10,000-op trace is about 5 MB)."""
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
