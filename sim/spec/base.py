"""The spec base types: `Spec` (frozen, strict, finite), `DeviceSpec` (the top of a device
file) and the bounded field types every family's spec declares its fields with."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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
