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
families register under the entry-point group `edgesim.families`, and the registry lists every
preset in that folder as a device under its `name:` (see `sim.registry`).

The modules: `base` (Spec, DeviceSpec, the bounded field types), `validation` (the validator and
its error lines), `files` (device files, `family:`/`base:`, merging), `overrides` (`--set`),
`family` (Family), `output` (units, `dump_yaml`, `json_schema`). Import from `sim.spec`.
"""

from sim.spec.base import (
    MAX_SPEC_FILE_BYTES,
    MAX_SPEC_INT,
    SPEC_SUFFIXES,
    DeviceSpec,
    Fraction,
    Name,
    NodeNm,
    NonNegativeFloat,
    NonNegativeInt,
    OneLine,
    OverheadS,
    PositiveFloat,
    PositiveInt,
    PowerW,
    RatePerS,
    Ratio,
    Spec,
    Text,
    VoltageV,
)
from sim.spec.family import Family
from sim.spec.files import merge, read_yaml_file, spec_from_file
from sim.spec.output import dump_yaml, json_schema, unit_of
from sim.spec.overrides import override, parse_assignment
from sim.spec.validation import validate

__all__ = [
    "MAX_SPEC_FILE_BYTES", "MAX_SPEC_INT", "SPEC_SUFFIXES", "DeviceSpec", "Family", "Fraction",
    "Name", "NodeNm", "NonNegativeFloat", "NonNegativeInt", "OneLine", "OverheadS",
    "PositiveFloat", "PositiveInt", "PowerW", "RatePerS", "Ratio", "Spec", "Text", "VoltageV",
    "dump_yaml", "json_schema", "merge", "override", "parse_assignment", "read_yaml_file",
    "spec_from_file", "unit_of", "validate",
]
