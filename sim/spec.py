"""Hardware as data: the one declarative spec mechanism of every device family.

A spec is a frozen pydantic v2 model (`Spec`): each field declares its type and range in its
annotation and its one-line doc in the attribute docstring below it; its unit is in its name
(`freq_hz`, `sram_bytes`, see `unit_of`). One validator (pydantic's, in strict JSON mode) and one
loader (`spec_from_file`) read those declarations, so a file's every problem is reported at once,
each as `FILE: KEY: expected ..., got ...`, with suggestions for misspelt keys.

A device file is YAML: `family: NAME` (or `base: PRESET`, whose family it takes), then fields.
With `base:`, only the fields given override the preset's (mappings merge; lists of named
mappings merge by `name`). `--set KEY=VALUE` overrides use dotted keys (`units.gpu.launch_overhead_s`:
list items by index or by `name`) and the same validation. `dump_yaml` writes a resolved spec back
as commented YAML that loads to an equal spec; `json_schema` gives editors a schema.

A `Family` ties a spec type to the function that builds its device and the folder of its presets;
families register under the entry-point group `edgesim.families` (see `sim.registry`).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from workloads import SpecError, UnknownNameError, yamlio
from workloads.errors import suggest

S = TypeVar("S", bound="Spec")

SPEC_SUFFIXES = (".yaml", ".yml")
MAX_SPEC_INT = 2**53
"""Largest integer magnitude a spec value may have (exact in a float, fits numpy's int64)."""
MAX_SPEC_FILE_BYTES = 1 << 20
"""A device file larger than this (1 MiB) is refused before parsing."""

# --- field vocabulary -----------------------------------------------------------------------
PositiveFloat = Annotated[float, Field(gt=0)]
NonNegativeFloat = Annotated[float, Field(ge=0)]
PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]
Fraction = Annotated[float, Field(gt=0, le=1)]
"""A share of something, in (0, 1]: an efficiency, a fraction of bandwidth."""
Ratio = Annotated[float, Field(ge=0, le=1)]
"""A ratio in [0, 1]."""
RatePerS = Annotated[float, Field(ge=1.0, le=1e18)]
"""Events (MACs, ops, bytes) per second, 1 .. 1e18: beyond either end the clock cannot hold it."""
PowerW = Annotated[float, Field(ge=0, le=1e4)]
"""A power, 0 .. 10 kW."""
VoltageV = Annotated[float, Field(gt=0, le=5)]
"""A supply voltage, (0, 5] V."""
NodeNm = Annotated[float, Field(ge=1, le=1000)]
"""A process node, 1 .. 1000 nm."""
OverheadS = Annotated[float, Field(ge=0, le=1)]
"""A fixed per-op or per-kernel time, 0 .. 1 s."""
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")]
"""A registry or unit name: letters, digits and `_.+-`, at most 64 characters, no spaces."""
OneLine = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
"""One line of printable text (no newline or control character), at most 200 characters."""
Text = Annotated[str, StringConstraints(min_length=1, max_length=4000, pattern=r"^[^\x00-\x09\x0b-\x1f\x7f]*\S[^\x00-\x09\x0b-\x1f\x7f]*$")]
"""Non-blank text, newlines allowed, no other control character."""


class Spec(BaseModel):
    """Base of every spec: frozen, unknown keys refused, no type coercion, finite numbers."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", strict=True, allow_inf_nan=False,
        use_attribute_docstrings=True, validate_default=True,
    )


class DeviceSpec(Spec):
    """The top of a device file: what every family's spec has."""

    family: ClassVar[str]
    """The family's registered name (entry-point group `edgesim.families`)."""

    name: Name
    """Registry name of the device, e.g. 'snapdragon865'."""
    description: OneLine
    """One line for `edgesim list`."""
    source: Text
    """Where the numbers come from (datasheet, paper); says which numbers are guesses."""


@dataclass(frozen=True)
class Family:
    """A device family: its spec type, the device it builds, and its presets."""

    name: str
    spec_type: type[DeviceSpec]
    build: Callable[[Any], Any]
    """spec -> sim.Device. Cheap: expensive set-up belongs in the device's own factories."""
    presets: Path | None = None
    """Folder of `NAME.yaml` presets: the `presets/` folder beside the module declaring the
    family (the registry lists each as a device under its `name:`; here, in `preset`, the
    file stem names it)."""

    def preset_names(self) -> list[str]:
        if self.presets is None:
            return []
        return sorted(p.stem for p in Path(self.presets).glob("*.yaml"))

    def preset(self, name: str) -> DeviceSpec:
        """The spec of preset `name` (a file stem in `presets`). Raises UnknownNameError."""
        names = self.preset_names()
        if name not in names:
            raise UnknownNameError(
                f"unknown {self.name} preset {name!r}{suggest(name, names)}; presets: {names}"
            )
        return spec_from_file(Path(self.presets) / f"{name}.yaml", family=self)

    def spec(self, preset: str | Path) -> DeviceSpec:
        """The spec of a preset (a file stem in `presets`) or of a device file of this family.

        Raises UnknownNameError for an unknown preset, SpecError for a bad file. A file with
        `base:` needs the registry (`Registry.load_device`), which knows every family's presets.
        """
        if isinstance(preset, Path) or Path(preset).suffix in SPEC_SUFFIXES:
            return spec_from_file(Path(preset), family=self)
        return self.preset(str(preset))

    def device(self, preset: str | Path):
        """The device of a preset (a file stem in `presets`) or of a device file of this family."""
        return self.build(self.spec(preset))


# --- validation -------------------------------------------------------------------------------
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


# --- files ----------------------------------------------------------------------------------
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


# --- overrides --------------------------------------------------------------------------------
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
            if last:
                node[part] = value
            else:
                node = node[part]
        elif isinstance(node, list):
            names = [item.get("name") for item in node if isinstance(item, dict)]
            if part.isdigit() and int(part) < len(node):
                index = int(part)
            elif part in names:
                index = names.index(part)
            else:
                raise KeyError(f"no item {part!r}{suggest(part, [n for n in names if n])}; "
                               f"items: {', '.join(map(str, names)) or f'0..{len(node) - 1}'}")
            if last:
                node[index] = value
            else:
                node = node[index]
        else:
            raise KeyError(f"{'.'.join(parts[:depth])} is a value, not a mapping")


# --- output -----------------------------------------------------------------------------------
_UNITS = (
    ("_bytes_per_s", "B/s"), ("_macs_per_s", "MAC/s"), ("_ops_per_s", "op/s"),
    ("_per_cycle", "per cycle"), ("_pj_per_byte", "pJ/B"), ("_pj_per_bit", "pJ/bit"),
    ("_uw_per_mhz", "uW/MHz"),
    ("_pj", "pJ"), ("_nj", "nJ"), ("_j", "J"), ("_hz", "Hz"), ("_mhz", "MHz"), ("_ms", "ms"),
    ("_us", "us"), ("_ns", "ns"), ("_s", "s"), ("_mw", "mW"), ("_w", "W"), ("_kib", "KiB"),
    ("_bytes", "B"), ("_bits", "bit"), ("_mm2", "mm2"), ("_um2", "um2"), ("_nm", "nm"),
    ("_v", "V"), ("_ratio", "0-1"), ("_cycles", "cycles"), ("_celsius", "degC"),
)


def unit_of(field_name: str) -> str | None:
    """The unit a field's name states by the house vocabulary, e.g. 'freq_hz' -> 'Hz'."""
    for suffix, unit in _UNITS:
        if field_name.endswith(suffix):
            return unit
    return None


def dump_yaml(spec: DeviceSpec) -> str:
    """`spec` as a device file: `family:` then every field, each with its unit and doc as a comment.

    Loading the text back (`spec_from_file`) gives a spec equal to `spec`.
    """
    lines = [f"# {spec.name}: {spec.description}", f"family: {spec.family}"]
    _emit(spec, spec.model_dump(mode="json"), lines, "")
    return "\n".join(lines) + "\n"


def _emit(model: BaseModel, data: dict, lines: list[str], indent: str, first: str = "") -> None:
    fields = type(model).model_fields
    for i, (name, value) in enumerate(data.items()):
        head = first if i == 0 and first else indent
        sub = getattr(model, name)
        comment = _comment(name, fields[name].description)
        if isinstance(sub, BaseModel):
            lines.append(f"{head}{name}:{comment}")
            _emit(sub, value, lines, indent + "  ")
        elif isinstance(sub, tuple) and sub and isinstance(sub[0], BaseModel):
            lines.append(f"{head}{name}:{comment}")
            for item, item_data in zip(sub, value):
                _emit(item, item_data, lines, indent + "  ", first=indent + "- ")
        elif isinstance(value, str) and "\n" in value.strip():
            lines.append(f"{head}{name}: |-{comment}")
            lines.extend(f"{indent}  {line}".rstrip() for line in value.strip().split("\n"))
        else:
            lines.append(f"{head}{name}: {_scalar(value)}{comment}")


def _scalar(value: Any) -> str:
    """One YAML scalar (or flow list) that reads back as `value`; big and small floats as 6.14e+11."""
    if isinstance(value, float) and value != 0 and not 1e-3 <= abs(value) < 1e6:
        mantissa, exponent = f"{value:.15e}".split("e")
        text = f"{mantissa.rstrip('0').rstrip('.')}e{exponent[0]}{exponent[1:].lstrip('0') or '0'}"
        if "." not in text.split("e")[0]:
            text = text.replace("e", ".0e", 1)
        if float(text) == value:
            return text
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    return json.dumps(value)


def _comment(name: str, doc: str | None) -> str:
    unit = unit_of(name)
    text = (doc or "").strip().split("\n")[0]
    parts = [p for p in (f"[{unit}]" if unit else "", text) if p]
    return f"  # {' '.join(parts)}" if parts else ""


def json_schema(family: Family) -> dict:
    """A JSON Schema (draft 2020-12) for `family`'s device files, with units in descriptions."""
    schema = family.spec_type.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"edgesim {family.name} device"
    props = schema.setdefault("properties", {})
    props["family"] = {"const": family.name, "description": "The device family."}
    props["base"] = {"type": "string", "description": "A preset to start from; the other "
                     "fields override it (then none is required)."}
    for block in [schema, *schema.get("$defs", {}).values()]:
        for name, prop in block.get("properties", {}).items():
            unit = unit_of(name)
            if unit:
                prop["description"] = f"[{unit}] {prop.get('description', '')}".strip()
    return schema
