"""Device files: reading one (bounded, UTF-8, the one YAML reader), resolving `family:` and
`base: PRESET`, and merging a file's fields onto its base preset."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.spec.base import MAX_SPEC_FILE_BYTES, DeviceSpec
from sim.spec.validation import _show, validate
from workloads import SpecError, yamlio

if TYPE_CHECKING:  # a Family reads its presets through this module; it is only a type here
    from sim.spec.family import Family


def read_yaml_file(path: Path) -> dict:
    """The top-level mapping of a YAML device file. Raises SpecError naming the file."""
    try:
        size = path.stat().st_size
        if size > MAX_SPEC_FILE_BYTES:
            raise SpecError(f"{path}: {size:,} bytes; a device file is at most "
                            f"{MAX_SPEC_FILE_BYTES:,} bytes")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SpecError(f"{path}: no such device file; give a preset name (`edgesim list "
                        "devices`) or the path of a YAML device file") from None
    except IsADirectoryError:
        raise SpecError(f"{path}: is a directory, not a YAML device file") from None
    except OSError as err:
        raise SpecError(f"{path}: cannot read ({err.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SpecError(f"{path}: not UTF-8 text (byte {err.start}); save the file as UTF-8") from None
    try:
        data = yamlio.safe_load(text, yaml12_floats=True)
    except yamlio.YamlError as err:
        raise SpecError(f"{path}: {err}") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a mapping of fields at the top level, got "
                        f"{type(data).__name__}")
    return data


def spec_from_file(
    path: Path,
    *,
    family: Family | None = None,
    family_of: Callable[[str], Family] | None = None,
    base_of: Callable[[str], DeviceSpec] | None = None,
) -> DeviceSpec:
    """The spec in a device file.

    The file's `family:` picks the family through `family_of` (or must equal `family` when one is
    given); `base: NAME` starts from the spec `base_of(NAME)` returns. Raises SpecError.
    """
    path = Path(path)
    data = read_yaml_file(path)
    named = data.pop("family", None)
    base_name = data.pop("base", None)
    base = None
    if base_name is not None:
        if base_of is None or not isinstance(base_name, str):
            raise SpecError(f"{path}: base: expected a device name, got {_show(base_name)}")
        base = base_of(base_name)
    if named is not None and not isinstance(named, str):
        raise SpecError(f"{path}: family: expected a family name, got {_show(named)}")
    if family is None:
        name = named if named is not None else (base.family if base is not None else None)
        if name is None:
            raise SpecError(f"{path}: a device file needs `family: NAME` or `base: PRESET` "
                            "(`edgesim device schema` lists the families)")
        if family_of is None:
            raise SpecError(f"{path}: cannot resolve family {name!r} here")
        family = family_of(name)
    if named is not None and named != family.name:
        raise SpecError(f"{path}: family: expected {family.name!r}, got {named!r}")
    if base is not None:
        if base.family != family.name:
            raise SpecError(f"{path}: base {base_name!r} is a {base.family} device, not "
                            f"{family.name}")
        given = sorted(data)
        data = merge(base.model_dump(mode="json"), data)
        if "name" not in given:
            data["name"] = _stem_name(path)
        if "source" not in given:
            data["source"] = (f"{base.source.rstrip()}\nChanged from preset {base_name!r} in "
                              f"{path.name}: {', '.join(given) or 'nothing'}.")
    return validate(family.spec_type, data, where=str(path))


def _stem_name(path: Path) -> str:
    name = "".join(c if c.isalnum() or c in "_.+-" else "-" for c in path.stem).strip("-.")
    return name[:64] or "device"


def merge(base: Any, over: Any) -> Any:
    """`over` on top of `base`: mappings merge by key, lists of named mappings by `name`."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = merge(base[key], value) if key in base else value
        return out
    if _named_list(base) and _named_list(over):
        out = list(base)
        index = {item["name"]: i for i, item in enumerate(base)}
        for item in over:
            if item["name"] in index:
                out[index[item["name"]]] = merge(base[index[item["name"]]], item)
            else:
                out.append(item)
        return out
    return over


def _named_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(v, dict) and isinstance(v.get("name"), str) for v in value)
