"""The column ADC of a PIM crossbar: resolution, full scale and clipping, and its non-idealities.

A crossbar column produces an analog sum (a current or a charge) of cell values times input
levels; here that sum is expressed in *unit-cell units*, the column sum an ideal crossbar would
produce with integer cell values and integer input levels. The ADC maps it to an integer code
and the digital side multiplies the code by the LSB size, so results stay in unit-cell units.

Conversion, in order (all vectorised, noise drawn from the `numpy.random.Generator` passed in):

1. gain error: v = s * (1 + gain_error_ratio);
2. offset: v += offset_lsb * lsb;
3. integral non-linearity: v += INL(t) * lsb, where t in [0, 1] is the position of v in the
   converter's input range (0 = bottom code, 1 = top code) and INL is the piecewise-linear curve
   through `inl_lsb` sampled at evenly spaced t;
4. thermal noise: v += N(0, sigma), sigma = noise_std * lsb (NoiseReference.LSB) or
   noise_std * full_scale (NoiseReference.FULL_SCALE); a fresh draw per conversion;
5. rounding to a code, `rounding`: nearest (half to even), floor (a current-controlled-oscillator
   ADC counts only whole periods), stochastic (round(v / lsb + U(-0.5, 0.5)), a fresh draw per
   conversion) or none (no discretisation: infinite resolution);
6. clipping at the output bound, `clipping`: saturate at the lowest and highest code (values
   beyond full scale clip) or none (no bound: the range still sets the LSB of steps 2-5).

Steps 5 and 6 are the ADC model of IBM aihwkit's analog tiles (its `IOParameters`): there the
output is discretised with `out_res` steps over [-out_bound, out_bound] (`out_res` <= 0: no
discretisation; `out_sto_round`: stochastic rounding), then clamped to +-`out_bound`
(`out_bound` <= 0: no bound), each switched on its own. A bipolar b-bit converter here is
aihwkit's `out_res` = 1 / (2**b - 2) with `out_bound` = the full scale (2**b - 2 steps of one
LSB over [-full_scale, full_scale]); aihwkit's floor rounding is the `adc_quantization` of its
IR-drop tile (a current-controlled oscillator counting whole pulses). Defaults (nearest,
saturate) are the converter this module always modelled.

Unipolar (offset-encoded weights): codes 0 .. 2**b - 1, lsb = full_scale / (2**b - 1).
Bipolar (differential pairs, the column pair's difference is converted): codes
-(2**(b-1) - 1) .. 2**(b-1) - 1, lsb = full_scale / (2**(b-1) - 1). With full_scale equal to the
largest possible column sum and enough bits for lsb <= 1, the conversion is exact on integers.

Energy per conversion follows the Walden figure of merit used by Murmann's ADC survey
(B. Murmann, "ADC Performance Survey 1997-2024", Stanford, online): E = FOM_W * 2**ENOB, so each
extra bit doubles the energy; `conversion_energy_j` applies it with ENOB = the nominal resolution.
"""

from __future__ import annotations

import enum
import math
from typing import Annotated

import numpy as np
from pydantic import Field, ValidationError

from sim.spec import Fraction, NonNegativeFloat, Spec
from workloads import SpecError

MAX_ADC_BITS = 16
"""Above 16 bits a column ADC is not a PIM design point (and 2**bits overflows int32 codes)."""

AdcBits = Annotated[int, Field(ge=1, le=MAX_ADC_BITS)]
"""An ADC resolution, 1..16 bits."""


class NoiseReference(enum.Enum):
    """What the thermal-noise standard deviation is relative to."""

    LSB = "lsb"
    """noise_std is in LSBs of the converter."""
    FULL_SCALE = "full_scale"
    """noise_std is a fraction of the full-scale range."""


def _finite(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SpecError(f"ADC {name!r} must be a finite number (got {value!r})")
    return float(value)


class Rounding(enum.Enum):
    """How a converter turns its (scaled) input into a whole code."""

    NEAREST = "nearest"
    """Nearest code, ties to even (numpy.rint); a flash or SAR converter."""
    FLOOR = "floor"
    """The code below: a current-controlled-oscillator ADC counts only whole periods."""
    STOCHASTIC = "stochastic"
    """Nearest code after adding U(-0.5, 0.5) LSB drawn per conversion (needs a Generator)."""
    NONE = "none"
    """No discretisation (infinite resolution); offset, INL and noise are still in LSBs."""


class Clipping(enum.Enum):
    """What a converter does with inputs beyond its output bound (the full scale)."""

    SATURATE = "saturate"
    """Clamp to the lowest and highest code."""
    NONE = "none"
    """No bound: codes beyond the range pass (an ideal wide-range digitiser)."""


class BuiltInPythonSpec(Spec):
    """A `sim.Spec` that studies, benchmarks and tests also build in Python, field by field.

    Construction raises SpecError (an EdgesimError, one line per problem, `OWNER: KEY: expected
    ..., got ...`) rather than pydantic's ValidationError, so a bad value is a typed user error
    wherever it comes from; files and `--set` go through `sim.spec.validate` as for every spec.
    """

    def __init__(self, **fields) -> None:
        try:
            super().__init__(**fields)
        except ValidationError as err:
            raise SpecError("\n".join(_problem(type(self).__name__, e) for e in err.errors())) from None

    def replace(self, **changes):
        """A validated copy with `changes` applied (SpecError for a bad value)."""
        return type(self)(**{**dict(self), **changes})


def _problem(owner: str, error: dict) -> str:
    key = ".".join(str(part) for part in error["loc"])
    text = error["msg"]
    for prefix in ("Value error, ", "Input should be ", "Value should be "):
        text = text.removeprefix(prefix)
    if not key:  # a cross-field check: its message names the fields
        return f"{owner}: {text}"
    return f"{owner}: {key}: expected {text}, got {error.get('input')!r:.60}"


class AdcSpec(BuiltInPythonSpec):
    """Resolution, range and non-idealities of the column ADCs of a crossbar. Frozen."""

    resolution_bits: AdcBits = 8
    """Nominal resolution, 1..16 bits (bipolar conversion needs at least 2)."""
    full_scale_ratio: Fraction = 1.0
    """Full-scale input over the largest column sum the crossbar can produce; below 1 sums clip."""
    gain_error_ratio: Annotated[float, Field(gt=-1)] = 0.0
    """Relative gain error, e.g. 0.02 for +2 %; > -1."""
    offset_lsb: float = 0.0
    """Input-referred offset, in LSBs."""
    inl_lsb: Annotated[tuple[float, ...], Field(min_length=2)] | None = None
    """INL in LSBs at >= 2 evenly spaced points, bottom to top code; None (null): linear."""
    noise_std: NonNegativeFloat = 0.0
    """Thermal noise standard deviation per conversion (Gaussian), in units of `noise_reference`."""
    # strict=False: Python callers may name it by its value, e.g. noise_reference="full_scale".
    noise_reference: Annotated[NoiseReference, Field(strict=False)] = NoiseReference.LSB
    """Whether `noise_std` is in LSBs or a fraction of full scale."""
    rounding: Annotated[Rounding, Field(strict=False)] = Rounding.NEAREST
    """How codes are rounded: 'nearest' (ties to even), 'floor', 'stochastic' or 'none'."""
    clipping: Annotated[Clipping, Field(strict=False)] = Clipping.SATURATE
    """Beyond the output bound (full_scale_ratio of the largest sum): 'saturate' or 'none'."""

    @property
    def is_linear(self) -> bool:
        """True when the converter has no gain, offset or INL error and no noise."""
        return (self.gain_error_ratio == 0.0 and self.offset_lsb == 0.0 and not self.inl_lsb
                and self.noise_std == 0.0)

    def code_range(self, bipolar: bool) -> tuple[int, int]:
        """(lowest, highest) output code; bipolar needs resolution_bits >= 2."""
        if not bipolar:
            return 0, 2**self.resolution_bits - 1
        if self.resolution_bits < 2:
            raise SpecError("a bipolar (differential) ADC needs 'resolution_bits' >= 2 (got 1)")
        half = 2 ** (self.resolution_bits - 1) - 1
        return -half, half

    def lsb(self, full_scale: float, bipolar: bool) -> float:
        """Size of one code step in unit-cell units for an input range of +-`full_scale`."""
        return full_scale / self.code_range(bipolar)[1]


def bow_inl(peak_lsb: float, n_points: int = 17) -> tuple[float, ...]:
    """A bow-shaped INL curve, zero at both ends of the range and `peak_lsb` in the middle.

    The classic shape of a converter with a second-order transfer error (e.g. a capacitive DAC
    with a quadratic voltage coefficient): INL(t) = 4 * peak * t * (1 - t), t in [0, 1].
    """
    if isinstance(n_points, bool) or not isinstance(n_points, int) or n_points < 3:
        raise SpecError(f"bow_inl 'n_points' must be an int >= 3 (got {n_points!r})")
    t = np.linspace(0.0, 1.0, n_points)
    return tuple(float(v) for v in 4.0 * _finite("peak_lsb", peak_lsb) * t * (1.0 - t))


def convert(
    analog: np.ndarray,
    full_scale: float,
    bipolar: bool,
    spec: AdcSpec,
    rng: np.random.Generator | None,
    *,
    inplace: bool = False,
    saturated: np.ndarray | None = None,
) -> np.ndarray:
    """Digitise column sums: the ADC output code times the LSB, in unit-cell units.

    `analog` is any array of column sums; `full_scale` (> 0) is the input that maps to the top
    code. Works on a float copy of `analog` (on `analog` itself when `inplace` and it is a float
    array, to save memory in large sweeps) and returns it. `rng` is needed only when
    spec.noise_std > 0 or the rounding is stochastic (SpecError otherwise). `saturated`, a
    boolean array of analog's shape, is set where the rounded code lies beyond the code range
    (before any clipping: aihwkit's test for bound management).
    """
    if not (math.isfinite(full_scale) and full_scale > 0):
        raise SpecError(f"ADC full scale must be finite and > 0 (got {full_scale!r})")
    lo, hi = spec.code_range(bipolar)
    lsb = full_scale / hi
    is_float = np.issubdtype(analog.dtype, np.floating)
    v = analog if (inplace and is_float) else np.array(analog, dtype=analog.dtype if is_float else np.float64)
    if spec.gain_error_ratio:
        v *= 1.0 + spec.gain_error_ratio
    if spec.offset_lsb:
        v += spec.offset_lsb * lsb
    if spec.inl_lsb:
        bottom = lo * lsb
        t = (v - bottom) / (full_scale - bottom)
        grid = np.linspace(0.0, 1.0, len(spec.inl_lsb))
        v += np.interp(t, grid, np.asarray(spec.inl_lsb)).astype(v.dtype, copy=False) * lsb
    if spec.noise_std:
        if rng is None:
            raise SpecError("ADC thermal noise needs a numpy.random.Generator (got rng=None)")
        sigma = spec.noise_std * (lsb if spec.noise_reference is NoiseReference.LSB else full_scale)
        v += rng.standard_normal(v.shape, dtype=v.dtype) * sigma
    v /= lsb
    if spec.rounding is Rounding.NEAREST:
        np.rint(v, out=v)
    elif spec.rounding is Rounding.FLOOR:
        np.floor(v, out=v)
    elif spec.rounding is Rounding.STOCHASTIC:
        if rng is None:
            raise SpecError("ADC stochastic rounding needs a numpy.random.Generator (got rng=None)")
        v += rng.random(v.shape, dtype=v.dtype) - 0.5
        np.rint(v, out=v)
    if saturated is not None:
        np.logical_or(v < lo, v > hi, out=saturated)
    if spec.clipping is Clipping.SATURATE:
        np.clip(v, lo, hi, out=v)
    v *= lsb
    return v


def conversion_energy_j(resolution_bits: int, walden_fom_j: float) -> float:
    """Energy of one conversion, J: Walden FOM (J per conversion step) x 2**bits (Murmann)."""
    if isinstance(resolution_bits, bool) or not isinstance(resolution_bits, int) or resolution_bits < 1:
        raise SpecError(f"ADC resolution must be an int >= 1 (got {resolution_bits!r})")
    if not (math.isfinite(walden_fom_j) and walden_fom_j > 0):
        raise SpecError(f"Walden figure of merit must be > 0 J (got {walden_fom_j!r})")
    return walden_fom_j * 2.0**resolution_bits
