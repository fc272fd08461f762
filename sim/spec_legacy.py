"""The old strict loader (dataclass specs), kept until every family is on `sim.spec.Spec`.

Unknown keys are an error listing the allowed ones; lists become tuples; nested dataclass
fields are loaded recursively; every error names the file and the field. Everything past this
loader gets typed specs, never dicts.
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from workloads import SpecError, UnknownNameError
from workloads.errors import suggest

T = TypeVar("T")


def from_mapping(spec_type: type[T], data: Any, *, where: str) -> T:
    """Build `spec_type` from a mapping, strictly. `where` prefixes every error message."""
    if not isinstance(data, dict):
        raise SpecError(f"{where}: expected a mapping of fields (got {type(data).__name__})")
    fields = {f.name: f for f in dataclasses.fields(spec_type) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise SpecError(f"{where}: unknown field(s) {unknown}; allowed: {sorted(fields)}")
    missing = sorted(
        name for name, f in fields.items()
        if name not in data
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    )
    if missing:
        raise SpecError(f"{where}: missing field(s) {missing}")
    hints = typing.get_type_hints(spec_type)
    values = {}
    for name, value in data.items():
        hint = hints.get(name)
        item = _tuple_item_type(hint)
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            value = from_mapping(hint, value, where=f"{where}: {name}")
        elif item is not None and isinstance(value, list):
            value = tuple(
                from_mapping(item, v, where=f"{where}: {name}[{i}]") for i, v in enumerate(value)
            )
        elif isinstance(value, list):
            value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        elif hint is float and isinstance(value, (int, str)) and not isinstance(value, bool):
            # YAML 1.1 reads 117.9e9 (no exponent sign) as a string; accept it as a number.
            try:
                value = float(value)
            except ValueError:
                raise SpecError(f"{where}: {name!r} must be a number (got {value!r})") from None
        values[name] = value
    try:
        return spec_type(**values)
    except (SpecError, TypeError, ValueError) as err:
        raise SpecError(f"{where}: {err}") from None


def _tuple_item_type(hint) -> type | None:
    """X for a `tuple[X, ...]` hint whose X is a dataclass, else None."""
    if typing.get_origin(hint) is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis and dataclasses.is_dataclass(args[0]):
            return args[0]
    return None


def load_yaml(spec_type: type[T], path: str | Path) -> T:
    """Load a YAML preset into `spec_type`; the file must carry a `source:` line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise SpecError(f"cannot read preset {str(path)!r}: {err.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise SpecError(f"{path.name}:{line} invalid YAML ({getattr(err, 'problem', err)})") from None
    if not isinstance(data, dict) or not str(data.get("source", "")).strip():
        raise SpecError(f"{path.name}: a preset needs a 'source:' line saying where its numbers come from")
    return from_mapping(spec_type, data, where=path.name)


def load_preset(spec_type: type[T], directory: Path, preset: str | Path, *, what: str) -> T:
    """Load a preset given as a file path, or as the name of a YAML file in `directory`.

    An unknown name raises UnknownNameError listing the presets (with a suggestion); `what`
    names the family in messages, e.g. 'mobile preset'.
    """
    path = Path(preset)
    if not path.suffix:
        path = Path(directory) / f"{preset}.yaml"
        if not path.exists():
            names = sorted(p.stem for p in Path(directory).glob("*.yaml"))
            raise UnknownNameError(
                f"unknown {what} {str(preset)!r}{suggest(str(preset), names)}; presets: {names}"
            )
    return load_yaml(spec_type, path)
