"""Registered FPGA devices: each part preset with the default design sized onto it.

Entry points (group `edgesim.devices`): `fpga-zcu102`, `fpga-xc7z020`, `fpga-xc7z045` (each
the mixed-scheme W4A8 design of presets/accel_mixed_w4a8.yaml, sized by `allocate` for the part)
and `fpga-zcu102-fp32` (the float32 baseline engine on the ZCU102).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from accelerators.fpga.accelerator import AcceleratorSpec, Datapath, LutPe, allocate
from accelerators.fpga.device import FpgaDevice
from accelerators.fpga.parts import PRESETS, FpgaPartSpec, load_part
from sim.spec_legacy import load_preset

DEFAULT_DESIGN = "accel_mixed_w4a8"


def load_design(name_or_path: str | Path = DEFAULT_DESIGN) -> AcceleratorSpec:
    """An accelerator spec from a preset name in presets/ or a YAML path."""
    return load_preset(AcceleratorSpec, PRESETS, name_or_path, what="FPGA accelerator design")


def build_device(part: str | FpgaPartSpec, spec: AcceleratorSpec | None = None,
                 *, name: str = "") -> FpgaDevice:
    """`spec` (default: the default design) allocated on `part` (a name or a spec).

    Raises UnknownNameError for an unknown part, DoesNotFitError when the design does not fit.
    """
    part_spec = part if isinstance(part, FpgaPartSpec) else load_part(part)
    spec = spec if spec is not None else load_design()
    if name:
        spec = dataclasses.replace(spec, name=name)
    return FpgaDevice(allocate(part_spec, spec))


def zcu102() -> FpgaDevice:
    """Entry point: the default mixed-scheme design on the ZCU102's XCZU9EG."""
    return build_device("xczu9eg", name="fpga-zcu102")


def xc7z020() -> FpgaDevice:
    """Entry point: the default mixed-scheme design on a Zynq-7000 XC7Z020 (ZedBoard)."""
    return build_device("xc7z020", name="fpga-xc7z020")


def xc7z045() -> FpgaDevice:
    """Entry point: the default mixed-scheme design on a Zynq-7000 XC7Z045 (ZC706)."""
    return build_device("xc7z045", name="fpga-xc7z045")


def float32_spec(base: AcceleratorSpec) -> AcceleratorSpec:
    """The float32 baseline engine of `base`: fp32 multiply-add lanes on DSPs (PG060 costs)."""
    return dataclasses.replace(base, name=f"{base.name or 'fpga'}-fp32", datapath=Datapath.FLOAT32,
                               lut_pe=LutPe.NONE, lut_row_ratio=0.0)


def zcu102_fp32() -> FpgaDevice:
    """Entry point: the float32 baseline engine (fp32 lanes on DSPs, PG060 costs) on the ZCU102."""
    return build_device("xczu9eg", float32_spec(load_design()), name="fpga-zcu102-fp32")
