"""`--set KEY=VALUE` overrides: dotted keys (list items by index or `name`), values read as
YAML, the whole spec validated again."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from sim.spec.base import Spec
from sim.spec.validation import validate
from workloads import SpecError, yamlio
from workloads.errors import suggest

S = TypeVar("S", bound=Spec)


def parse_assignment(text: str) -> tuple[str, Any]:
    """'gpu.freq_hz=700e6' -> ('gpu.freq_hz', 700000000.0); the value is read as YAML."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise SpecError(f"--set {text!r}: expected KEY=VALUE, e.g. --set dram_bytes_per_s=30e9")
    try:
        parsed = yamlio.safe_load(value, yaml12_floats=True) if value.strip() else None
    except yamlio.YamlError as err:
        raise SpecError(f"--set {text!r}: the value is not valid YAML ({err})") from None
    if value.strip() and parsed is None and value.strip() not in ("null", "~", "Null", "NULL"):
        parsed = value
    return key, parsed


def override(spec: S, overrides: Mapping[str, Any], *, where: str = "--set") -> S:
    """A copy of `spec` with dotted-key overrides applied and the whole validated again."""
    if not overrides:
        return spec
    data = spec.model_dump(mode="json")
    problems = []
    for key, value in overrides.items():
        try:
            _assign(data, key, _plain(value))
        except KeyError as err:
            problems.append(f"{where}: {key}: {err.args[0]}")
    try:
        result = validate(type(spec), data, where=where)
    except SpecError as err:
        problems += str(err).splitlines()
    if problems:
        raise SpecError("\n".join(problems))
    return result


def _plain(value: Any) -> Any:
    """Python override values as the JSON-able data a file would hold."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _assign(data: Any, key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, dict):
            if part not in node:
                allowed = sorted(node)
                raise KeyError(f"unknown key{suggest(part, allowed)}; allowed here: "
                               f"{', '.join(allowed)}")
            slot: str | int = part
        elif isinstance(node, list):
            names = [item.get("name") for item in node if isinstance(item, dict)]
            if part.isdigit() and int(part) < len(node):
                slot = int(part)
            elif part in names:
                slot = names.index(part)
            else:
                raise KeyError(f"no item {part!r}{suggest(part, [n for n in names if n])}; "
                               f"items: {', '.join(map(str, names)) or f'0..{len(node) - 1}'}")
        else:
            raise KeyError(f"{'.'.join(parts[:depth])} is a value, not a mapping")
        if last:
            node[slot] = value
        else:
            node = node[slot]
