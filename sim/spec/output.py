"""A spec written out: units from field names, commented YAML that loads back equal
(`edgesim device show`), and JSON Schema for editors (`edgesim device schema`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from sim.spec.base import DeviceSpec

if TYPE_CHECKING:
    from sim.spec.family import Family


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
