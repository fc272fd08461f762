"""The `fpga` device family: a design (`AcceleratorSpec`) on a part (`FpgaPartSpec`), as data.

`FpgaSpec` is what a device file or preset holds: a name, a source, the part and the design.
`build` allocates the design on the part (`allocate` sizes any array left at None under the
part's budgets) and returns the `FpgaDevice`, so a changed part, clock or budget in a device
file or a `--set` re-sizes the arrays exactly as a new preset would. In a file, `part:` and
`design:` may name a stored preset (`part: xc7z020`, `design: accel_mixed_w4a8`) instead of
giving the fields; `edgesim device show` writes them out in full.

The presets in presets/ are devices (the registry lists them by their `name:`): `fpga-zcu102`,
`fpga-xc7z020`, `fpga-xc7z045` (the mixed-scheme W4A8 design of presets/designs/
accel_mixed_w4a8.yaml, sized for the part) and `fpga-zcu102-fp32` (the float32 baseline engine
of presets/designs/accel_float32.yaml on the ZCU102) and `fpga-zcu102-fp32-lean` (the leanest
float32 engine of presets/designs/accel_float32_lean.yaml, a bound on any float32 baseline).
The family is registered under `edgesim.families` as 'fpga'.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from accelerators.fpga.accelerator import AcceleratorSpec, Datapath, LutPe, allocate
from accelerators.fpga.device import FpgaDevice
from accelerators.fpga.parts import FpgaPartSpec, load_part, part_by_name
from sim.spec import DeviceSpec, Family, override, read_yaml_file, validate
from workloads import SpecError, UnknownNameError
from workloads.errors import suggest

PRESETS = Path(__file__).parent / "presets"
"""Device presets (`NAME.yaml`: a part and a design each); parts/ and designs/ below it."""
DESIGNS = PRESETS / "designs"
DEFAULT_DESIGN = "accel_mixed_w4a8"


def design_names() -> list[str]:
    """Names of the stored designs (file stems in presets/designs/)."""
    return sorted(p.stem for p in DESIGNS.glob("*.yaml"))


def load_design(name_or_path: str | Path = DEFAULT_DESIGN) -> AcceleratorSpec:
    """An accelerator design from a name in presets/designs/ or a YAML path.

    Raises UnknownNameError for an unknown name, SpecError for a bad file; a design file must
    say where its numbers come from (`source:`).
    """
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        names = design_names()
        if str(name_or_path) not in names:
            raise UnknownNameError(f"unknown FPGA accelerator design {str(name_or_path)!r}"
                                   f"{suggest(str(name_or_path), names)}; designs: {names}")
        path = DESIGNS / f"{name_or_path}.yaml"
    spec = validate(AcceleratorSpec, read_yaml_file(path), where=str(path))
    if spec.source is None:
        raise SpecError(f"{path}: source: required in a design file (where its numbers come from)")
    return spec


def _design_by_name(value: Any) -> Any:
    """A device file's `design:` given as a stored design's name, resolved (else unchanged)."""
    if not isinstance(value, str):
        return value
    names = design_names()
    if value not in names:
        raise PydanticCustomError("unknown_design", "a design name ({names}) or a mapping of "
                                  "design fields", {"names": ", ".join(names)})
    return load_design(value)


class FpgaSpec(DeviceSpec):
    """An FPGA accelerator device: a design placed on a part, sized by the allocator."""

    family: ClassVar[str] = "fpga"

    part: Annotated[FpgaPartSpec, BeforeValidator(part_by_name, json_schema_input_type=FpgaPartSpec | str)]
    """The FPGA part and its board (or a part preset's name: xc7z020, xc7z045, xczu9eg)."""
    design: Annotated[AcceleratorSpec, BeforeValidator(_design_by_name, json_schema_input_type=AcceleratorSpec | str)]
    """The accelerator design the allocator sizes on the part (or a stored design's name)."""


def build(spec: FpgaSpec) -> FpgaDevice:
    """The device of `spec`: its design allocated on its part.

    Raises DoesNotFitError when the design does not fit the part's budgets, SpecError when
    its clock exceeds the part's.
    """
    return FpgaDevice(design=allocate(spec.part, spec.design, name=spec.name), spec=spec)


FAMILY = Family(name="fpga", spec_type=FpgaSpec, build=build, presets=PRESETS)
"""Registered under `edgesim.families` as 'fpga'."""


def build_device(part: str | FpgaPartSpec, spec: AcceleratorSpec | None = None,
                 *, name: str | None = None) -> FpgaDevice:
    """`spec` (default: the default design) allocated on `part` (a name or a spec), in code.

    The device's `FpgaSpec` is named `name` (None: 'fpga-<part>'). Raises UnknownNameError for
    an unknown part, DoesNotFitError when the design does not fit.
    """
    part_spec = part if isinstance(part, FpgaPartSpec) else load_part(part)
    design = spec if spec is not None else load_design()
    name = name or f"fpga-{part_spec.name}"
    source = (f"Built in code: design ({design.source or 'made in code, no source'}) on part "
              f"{part_spec.name} ({part_spec.source.strip()})")
    return build(FpgaSpec(name=name, description=f"{design.datapath.value} design on "
                          f"{part_spec.board} {part_spec.name}", source=source,
                          part=part_spec, design=design))


def float32_spec(base: AcceleratorSpec) -> AcceleratorSpec:
    """The float32 baseline engine of `base`: fp32 multiply-add lanes on DSPs (PG060 costs)."""
    return override(base, {"datapath": Datapath.FLOAT32, "lut_pe": LutPe.NONE,
                           "lut_row_ratio": 0.0, "lut_rows": None}, where="float32_spec")


