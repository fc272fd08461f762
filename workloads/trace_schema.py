"""The trace schema: format version, encodings, and how each field of an op's attrs and
compression is checked, coerced and written (one `_Schema` per dataclass, derived from its
fields' annotations), plus the keys a network, an input and an op may carry.

`workloads.trace_encode` writes with these encoders, `workloads.trace_decode` reads with these
parsers; `_FieldError` is raised here and turned into a `TraceError` where the op and file are
known. The format itself is documented in `workloads.trace`.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from workloads.compression import Compression, QuantScheme, SparsityScheme
from workloads.errors import suggest
from workloads.ops import ATTRS_TYPE, MAX_DIM, OpKind, count_text

FORMAT_VERSION = 1
"""Version this module writes."""
SUPPORTED_VERSIONS = (1,)
"""Versions this module reads."""


class TraceFormat(enum.Enum):
    """Text encoding of a trace file."""

    JSON = "json"
    YAML = "yaml"


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
