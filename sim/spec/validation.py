"""One validator: plain data (a parsed file) to a spec, strictly, every problem in one SpecError
whose lines read `WHERE: KEY: expected ..., got ...` (unknown keys with the allowed ones)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from sim.spec.base import MAX_SPEC_INT, Spec
from workloads import SpecError
from workloads.errors import suggest

S = TypeVar("S", bound=Spec)


def validate(spec_type: type[S], data: Any, *, where: str) -> S:
    """`spec_type` from plain data (a parsed file), strictly; every problem in one SpecError.

    The message has one line per problem, `WHERE: KEY: expected ..., got ...`, unknown keys with
    the allowed ones and the closest match.
    """
    problems: list[str] = []
    clean = _jsonable(data, (), problems)
    spec = None
    try:
        # JSON mode: lists are accepted for tuples and strings for enums, but an int is never
        # a bool, "1" is never a number and "false" is never False; NaN and inf are refused.
        spec = spec_type.model_validate_json(json.dumps(clean))
    except ValidationError as err:
        found = [_describe(spec_type, clean, e) for e in err.errors()]
        keys = {line.split(": ", 1)[0] for line in found}
        problems = [p for p in problems if p.split(": ", 1)[0] not in keys] + found
    if problems:
        raise SpecError("\n".join(f"{where}: {p}" for p in problems))
    return spec


def _jsonable(data: Any, path: tuple, problems: list[str]) -> Any:
    """YAML-parsed data as JSON can carry it: a non-string key is a problem (and dropped);
    a date, set or other YAML type becomes its text, for the validator to refuse by field."""
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            if isinstance(key, str):
                out[key] = _jsonable(value, path + (key,), problems)
            else:
                problems.append(f"{_key(path + (str(key),))}: expected a string key, got "
                                f"{key!r:.40}")
        return out
    if isinstance(data, (list, tuple)):
        return [_jsonable(v, path + (_item_name(v, i),), problems) for i, v in enumerate(data)]
    if isinstance(data, int) and not isinstance(data, bool) and abs(data) > MAX_SPEC_INT:
        # Unbounded in Python, but no hardware count needs it and numpy cannot hold it.
        problems.append(f"{_key(path)}: expected a number of magnitude at most 2**53, got a "
                        f"{len(str(abs(data)))}-digit integer")
        return data
    if data is None or isinstance(data, (str, int, float, bool)):
        return data
    return str(data)


def _item_name(item: Any, index: int) -> str | int:
    """How a list item is named in a key: by its `name` where it has one, else its index."""
    name = item.get("name") if isinstance(item, dict) else None
    return name if isinstance(name, str) else index


def _key(path: Sequence) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _describe(spec_type: type[Spec], data: Any, error: dict) -> str:
    loc = tuple(p for p in error["loc"] if not _is_tag(p))
    kind, got = error["type"], error.get("input")
    key = _key(_named_path(data, loc))
    if kind == "extra_forbidden":
        allowed = sorted(_model_at(spec_type, loc[:-1]).model_fields)
        return f"{key}: unknown key{suggest(str(loc[-1]), allowed)}; allowed: {', '.join(allowed)}"
    if kind == "missing":
        return f"{key}: required but missing"
    if kind in ("value_error", "assertion_error"):
        # A cross-field check (model or field validator) phrases its own message.
        return f"{key}: {error['msg'].split(', ', 1)[-1]}"
    expected = error["msg"]
    for prefix in ("Input should be ", "Value should be ", "String should "):
        if expected.startswith(prefix):
            expected = expected[len(prefix):]
    if kind == "string_pattern_mismatch":
        expected = "a name of letters, digits and _.+- (no spaces)" if "A-Za-z0-9" in str(
            error.get("ctx", {}).get("pattern")) else "one line of printable text"
    return f"{key}: expected {expected}, got {_show(got)}"


def _is_tag(part: Any) -> bool:
    # pydantic adds the member type's name to a location for unions, e.g. 'float' or 'function-after'
    return isinstance(part, str) and (part in ("float", "int", "str", "bool", "none", "list")
                                      or "[" in part or part.startswith("function-"))


def _named_path(data: Any, loc: tuple) -> tuple:
    """`loc` with list indices replaced by the item's `name` where it has one."""
    out, node = [], data
    for part in loc:
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            node = node[part]
            name = node.get("name") if isinstance(node, dict) else None
            out.append(name if isinstance(name, str) else part)
            continue
        out.append(part)
        node = node.get(part) if isinstance(node, dict) else None
    return tuple(out)


def _model_at(spec_type: type[Spec], loc: tuple) -> type[Spec]:
    model: Any = spec_type
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            break
        model = _inner_model(field.annotation) or model
    return model


def _inner_model(annotation: Any) -> type[Spec] | None:
    """The Spec type inside `X`, `tuple[X, ...]`, `X | None`, else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _show(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return f"a {'mapping' if isinstance(value, dict) else 'list'} {json.dumps(value)[:50]}"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, str):
        return f"{value[:60]!r} (a string)"
    return repr(value)[:60]
