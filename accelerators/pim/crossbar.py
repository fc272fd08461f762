"""Functional model of a PIM crossbar matrix product: what the hardware computes, bit for bit.

`crossbar_matmul(x, w, spec, rng)` returns the (B, N) outputs a crossbar accelerator produces for
integer inputs x (B, K) (DAC codes: unsigned, or signed under a signed `input_encoding`) and
weights w (K, N), signed integers (`weight_format` 'integer') or real numbers mapped to
conductances (`weight_format` 'float'):

- weights are *bit-sliced*: each weight's bits are cut into slices of `cell_bits` (a cell stores
  one slice as its conductance level), least significant first, on adjacent columns;
- signed weights are stored either as *differential pairs* (w = w+ - w-, each magnitude sliced on
  its own column, the pair's currents subtracted before the ADC, so conversions are bipolar) or
  with an *offset* (w + 2**(wb-1) >= 0 sliced on one column, unipolar conversions; the offset
  term 2**(wb-1) * sum(x) is removed digitally from the exact digital sum of the inputs);
- inputs are applied in slices of `dac_bits` per read cycle (dac_bits = 1: bit-serial with 1-bit
  DACs; dac_bits = input_bits: one multi-bit DAC pulse per input, i.e. no input slicing);
- the K rows are cut into row tiles of `rows` (each its own crossbar, columns summed separately);
- every (input slice, weight slice, row tile) column sum goes through its own ADC conversion
  (`accelerators.pim.adc`), then digital shift-and-add combines input slices (x 2**(d*i)),
  weight slices (x 2**(c*j)) and row tiles (x 1).

PIM-QAT (Jin et al., arXiv 2209.08617) names three mainstream decomposition schemes; here they are
points of (dac_bits, cell_bits, encoding): multi-bit inputs with full-precision cells (dac_bits =
input_bits, cell_bits = weight magnitude bits), bit-serial inputs with bit-sliced weights
(dac_bits = 1, cell_bits < weight bits), each with differential or offset encoding.

Signed inputs (`input_encoding`, sign-magnitude codes in [-(2**(b-1) - 1), 2**(b-1) - 1], their
magnitude bits sliced as above), as analog-AI simulators (IBM aihwkit's `AnalogMVType`) and
crossbar designs apply them:

- 'differential_rows': every input drives two rows, |x| on the row holding w when x > 0 and on a
  second row holding -w when x < 0; one read, one conversion, twice the rows;
- 'bipolar': +V or -V pulses in one read (aihwkit ONE_PASS); column sums are signed;
- 'two_phase_analog': positive parts in a first read, negative magnitudes in a second; the
  column integrator subtracts the second charge before one conversion (aihwkit
  POS_NEG_SEPARATE): two reads, one conversion;
- 'two_phase_digital': each phase converted on its own, the codes subtracted digitally (aihwkit
  POS_NEG_SEPARATE_DIGITAL_SUM): two reads, two conversions.

The last three need a bipolar ADC even for offset-encoded weights. With no input-polarity
asymmetry modelled (aihwkit's `inp_asymmetry`), 'bipolar' and 'two_phase_analog' compute the
same numbers and differ in cost (read cycles, `accelerators.pim.mapping`).

Float weights (`weight_format` 'float') are not sliced: each weight is one conductance (a pair
for differential encoding) between g_min and g_max, as aihwkit's single-pair conductance
converter maps them: |w| / w_max of the range g_max - g_min above g_min (w_max = the largest |w|
of the tensor or of each column, `weight_scaling`, or the stated `weight_abs_max`; larger
weights clip at g_max); offset encoding puts w = 0 at mid-range, g_min + (w / w_max + 1) / 2 of
the range. Column sums are then in units of one input level x (g_max - g_min): continuous, so
the ADC's LSB is not floored at one cell step; the digital side multiplies codes by w_max (twice
that, after removing the mid-range offset, for offset encoding). g_min cancels in a differential
pair but still carries its share of cell variation.

Out-of-bound handling: the ADC clips (`adc.clipping`) conversions beyond its output bound
(`adc.full_scale_ratio`); with `bound_management` 'iterative' (aihwkit's ITERATIVE bound
management) an input vector any of whose conversions saturated is run again with its input codes
halved (rounded half to even: aihwkit re-quantises x / 2**r on the DAC grid) and its outputs
doubled, until nothing saturates or 2 magnitude bits of input are left (aihwkit's max_bm_res =
1/4). aihwkit's torch tile re-runs the whole batch when any output clips; here only the vectors
that clipped are re-run, as a per-vector controller would.

Cell conductance variation is multiplicative, drawn once per cell when the weights are programmed
(`program`); thermal noise is drawn per conversion. `ideal=True` skips every non-ideality and the
ADC quantisation but keeps the decomposition, so it returns exactly x @ w (int64; float64 equal
to x @ w up to float rounding for float weights, whose clipping at w_max is kept).

Vectorised over bits, tiles and columns: one batched matmul per batch chunk computes every
column sum of every input slice, weight slice and row tile at once.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Annotated

import numpy as np
from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from accelerators.pim.adc import AdcSpec, BuiltInPythonSpec, Clipping, convert
from sim.spec import NonNegativeFloat
from workloads import SpecError

_CHUNK_ELEMENTS = 4_000_000
"""Column sums held at once (float32: 16 MB); bounds memory for large batches."""
_FLOAT32_EXACT = 2**24
"""Integers below this are exact in float32 (24-bit significand)."""


class WeightEncoding(enum.Enum):
    """How signed weights are stored in non-negative conductances."""

    DIFFERENTIAL = "differential"
    """Two columns per slice (w+ and w-); their currents are subtracted before the ADC."""
    OFFSET = "offset"
    """One column per slice holding w + 2**(weight_bits-1); the offset is removed digitally."""


class InputEncoding(enum.Enum):
    """How inputs reach the rows: unsigned codes, or signed ones in one of four schemes."""

    UNSIGNED = "unsigned"
    """Codes in [0, 2**input_bits - 1] on one row each (ReLU outputs, pixels)."""
    DIFFERENTIAL_ROWS = "differential_rows"
    """Signed: |x| on the row holding w (x > 0) or on a second row holding -w (x < 0); one read."""
    BIPOLAR = "bipolar"
    """Signed: +V or -V row pulses in one read (aihwkit ONE_PASS); signed column sums."""
    TWO_PHASE_ANALOG = "two_phase_analog"
    """Signed: positive parts read, then negative magnitudes, charges subtracted before one
    conversion (aihwkit POS_NEG_SEPARATE)."""
    TWO_PHASE_DIGITAL = "two_phase_digital"
    """Signed: each polarity read and converted on its own, codes subtracted digitally (aihwkit
    POS_NEG_SEPARATE_DIGITAL_SUM)."""


class WeightFormat(enum.Enum):
    """What the crossbar stores: bit-sliced integers or analog conductances of real weights."""

    INTEGER = "integer"
    """Signed integers of weight_bits, cut into cell_bits slices on adjacent columns."""
    FLOAT = "float"
    """Real weights, each one conductance (pair) in [g_min, g_max] scaled by w_max; not sliced."""


class WeightScaling(enum.Enum):
    """Which weights share the weight-to-conductance scale of float weights (aihwkit's
    `weight_scaling_columnwise`)."""

    PER_TENSOR = "per_tensor"
    """One w_max, the largest |w| of the matrix."""
    PER_COLUMN = "per_column"
    """One w_max per output column, its largest |w| (the digital side rescales each column)."""


class BoundManagement(enum.Enum):
    """What happens to an input vector whose conversions pass the ADC's output bound (aihwkit's
    `bound_management`)."""

    NONE = "none"
    """Its saturated conversions stay clipped."""
    ITERATIVE = "iterative"
    """It is run again with its inputs halved (codes rounded half to even) and its outputs
    doubled, until no conversion saturates or 2 magnitude bits of input are left (aihwkit's
    ITERATIVE with max_bm_res = 1/4)."""


_SIGNED_INPUTS = frozenset(InputEncoding) - {InputEncoding.UNSIGNED}
_BIPOLAR_INPUTS = frozenset({InputEncoding.BIPOLAR, InputEncoding.TWO_PHASE_ANALOG})


class CrossbarSpec(BuiltInPythonSpec):
    """Array geometry, decomposition scheme, precision and non-idealities of a crossbar. Frozen."""

    rows: Annotated[int, Field(ge=1, le=65536)] = 128
    """Word lines (inputs) summed on each column, 1..65536."""
    cols: Annotated[int, Field(ge=1, le=65536)] = 128
    """Bit lines per crossbar, 1..65536 (sets how many crossbars a layer needs, not results)."""
    cell_bits: Annotated[int, Field(ge=1, le=8)] = 2
    """Bits stored per cell (conductance levels = 2**cell_bits), 1..8."""
    input_bits: Annotated[int, Field(ge=1, le=16)] = 8
    """Input (activation) bit-width, 1..16; for signed inputs it counts the sign (at least 2)."""
    dac_bits: Annotated[int, Field(ge=1, le=16)] = 1
    """Input bits applied per read cycle, 1..input_bits; 1 is bit-serial, input_bits one pulse."""
    weight_bits: Annotated[int, Field(ge=2, le=16)] = 8
    """Signed integer weight bit-width, 2..16 (unused by float weights)."""
    # strict=False: Python callers may name the scheme by its value, e.g. encoding="offset".
    encoding: Annotated[WeightEncoding, Field(strict=False)] = WeightEncoding.DIFFERENTIAL
    """How signed weights are stored: 'differential' pairs or an 'offset'."""
    input_encoding: Annotated[InputEncoding, Field(strict=False)] = InputEncoding.UNSIGNED
    """How inputs drive rows: 'unsigned' or one of the four signed schemes (module doc).

    Signed: 'differential_rows', 'bipolar', 'two_phase_analog' or 'two_phase_digital'."""
    weight_format: Annotated[WeightFormat, Field(strict=False)] = WeightFormat.INTEGER
    """'integer' (bit-sliced) or 'float' (one conductance per weight, scaled by w_max)."""
    g_max_siemens: Annotated[float, Field(gt=0, le=1.0)] = 25e-6
    """Float weights: conductance of |w| = w_max, S (aihwkit's default 25 uS); at most 1 S."""
    g_min_siemens: Annotated[float, Field(ge=0, le=1.0)] = 0.0
    """Float weights: conductance of w = 0 (a pair) or w = -w_max (offset), S; below g_max."""
    weight_scaling: Annotated[WeightScaling, Field(strict=False)] = WeightScaling.PER_TENSOR
    """Float weights: w_max of the whole matrix ('per_tensor') or of each column ('per_column')."""
    weight_abs_max: Annotated[float, Field(gt=0)] | None = None
    """Float weights: the |w| mapped to g_max; None (null): the largest |w| per weight_scaling."""
    # strict=False: Python callers may name it by its value, e.g. bound_management="iterative".
    bound_management: Annotated[BoundManagement, Field(strict=False)] = BoundManagement.NONE
    """Input vectors whose conversions saturate: 'none' (stay clipped) or 'iterative' (re-run
    with halved inputs); no effect with adc.clipping 'none'."""
    adc: AdcSpec = AdcSpec()
    """The column ADCs."""
    cell_variation_ratio: NonNegativeFloat = 0.0
    """Standard deviation of each cell's multiplicative conductance error, drawn at programming."""
    ideal: bool = False
    """True: no ADC quantisation and no non-ideality; the result equals x @ w exactly."""

    @field_validator("dac_bits")
    @classmethod
    def _dac_within_input(cls, dac_bits: int, info: ValidationInfo) -> int:
        input_bits = info.data.get("input_bits")
        if input_bits is not None and dac_bits > input_bits:
            raise PydanticCustomError("dac_above_input", "at most input_bits ({input_bits})",
                                      {"input_bits": input_bits})
        return dac_bits

    @field_validator("input_encoding")
    @classmethod
    def _signed_inputs_have_a_sign_bit(cls, encoding: InputEncoding, info: ValidationInfo):
        input_bits = info.data.get("input_bits")
        if encoding in _SIGNED_INPUTS and input_bits is not None and input_bits < 2:
            raise PydanticCustomError("signed_input_bits",
                                      "'unsigned' for 1-bit inputs (signed inputs need input_bits >= 2)")
        return encoding

    @field_validator("g_min_siemens")
    @classmethod
    def _g_min_below_g_max(cls, g_min: float, info: ValidationInfo) -> float:
        g_max = info.data.get("g_max_siemens")
        if g_max is not None and g_min >= g_max:
            raise PydanticCustomError("g_min_above_g_max", "below g_max_siemens ({g_max})",
                                      {"g_max": g_max})
        return g_min

    @model_validator(mode="after")
    def _bipolar_adc_has_a_sign_bit(self) -> CrossbarSpec:
        if self.bipolar and not self.ideal and self.adc.resolution_bits < 2:
            raise ValueError("adc.resolution_bits: a bipolar (differential or signed-input) ADC "
                             f"needs at least 2 bits, got {self.adc.resolution_bits}")
        return self

    @property
    def signed_inputs(self) -> bool:
        """True when inputs are signed codes (any encoding but 'unsigned')."""
        return self.input_encoding in _SIGNED_INPUTS

    @property
    def float_weights(self) -> bool:
        """True when weights are real numbers mapped to conductances."""
        return self.weight_format is WeightFormat.FLOAT

    @property
    def input_magnitude_bits(self) -> int:
        """Bits of an input's magnitude: input_bits, or input_bits - 1 for signed inputs."""
        return self.input_bits - 1 if self.signed_inputs else self.input_bits

    @property
    def input_range(self) -> tuple[int, int]:
        """(lowest, highest) input code: [0, 2**b - 1], or +-(2**(b-1) - 1) for signed inputs."""
        top = 2**self.input_magnitude_bits - 1
        return (-top, top) if self.signed_inputs else (0, top)

    @property
    def rows_per_input(self) -> int:
        """Word lines one input occupies: 2 for differential rows, else 1."""
        return 2 if self.input_encoding is InputEncoding.DIFFERENTIAL_ROWS else 1

    @property
    def n_read_phases(self) -> int:
        """Reads per input slice: 2 for the two-phase encodings, else 1."""
        return 2 if self.input_encoding in (InputEncoding.TWO_PHASE_ANALOG,
                                            InputEncoding.TWO_PHASE_DIGITAL) else 1

    @property
    def n_conversion_phases(self) -> int:
        """Conversions per column per input slice: 2 for 'two_phase_digital', else 1."""
        return 2 if self.input_encoding is InputEncoding.TWO_PHASE_DIGITAL else 1

    @property
    def max_input_halvings(self) -> int:
        """Iterative bound management halves inputs at most this often: until 2 magnitude bits
        remain (aihwkit's max_bm_res = 1/4: at least 4 input levels)."""
        return max(0, self.input_magnitude_bits - 2)

    @property
    def g_min_ratio(self) -> float:
        """Float weights: g_min / (g_max - g_min), the cell value of the lowest conductance."""
        return self.g_min_siemens / (self.g_max_siemens - self.g_min_siemens)

    @property
    def differential_weights(self) -> bool:
        """True when weights are stored as differential pairs."""
        return self.encoding is WeightEncoding.DIFFERENTIAL

    @property
    def bipolar(self) -> bool:
        """True when conversions are of signed column sums (differential pairs, or inputs that
        are signed within one conversion: 'bipolar' and 'two_phase_analog')."""
        return self.differential_weights or self.input_encoding in _BIPOLAR_INPUTS

    @property
    def magnitude_bits(self) -> int:
        """Bits sliced into cells: weight_bits - 1 (differential magnitude) or weight_bits."""
        return self.weight_bits - 1 if self.differential_weights else self.weight_bits

    @property
    def n_weight_slices(self) -> int:
        """Cell slices per weight (per column of a differential pair); 1 for float weights."""
        if self.float_weights:
            return 1
        return math.ceil(self.magnitude_bits / self.cell_bits)

    @property
    def n_input_slices(self) -> int:
        """Input slices per input vector: ceil(input magnitude bits / dac_bits)."""
        return math.ceil(self.input_magnitude_bits / self.dac_bits)

    @property
    def columns_per_weight(self) -> int:
        """Bit lines one weight occupies: its slices, twice for differential pairs."""
        return self.n_weight_slices * (2 if self.differential_weights else 1)

    @property
    def input_level_max(self) -> int:
        """Largest input level one read applies: 2**dac_bits - 1, or the top input code if less."""
        return min(2**self.dac_bits - 1, 2**self.input_magnitude_bits - 1)

    @property
    def cell_max(self) -> float:
        """Largest cell value: the top level 2**cell_bits - 1 (integer), or for float weights
        1 (a pair's difference) or 1 + g_min_ratio (offset: g_max / (g_max - g_min))."""
        if not self.float_weights:
            return float(2**self.cell_bits - 1)
        return 1.0 if self.differential_weights else 1.0 + self.g_min_ratio

    @property
    def column_max(self) -> float:
        """Largest column sum magnitude: rows x top input level x largest cell value."""
        return float(self.rows * self.input_level_max * self.cell_max)

    @property
    def weight_range(self) -> tuple[int, int]:
        """(lowest, highest) storable integer weight: symmetric for differential pairs (and for
        offset weights on differential rows, which also store -w), two's range for offset."""
        top = 2 ** (self.weight_bits - 1)
        symmetric = self.differential_weights or self.rows_per_input == 2
        return (-(top - 1), top - 1) if symmetric else (-top, top - 1)


@dataclass(frozen=True, eq=False)
class ProgrammedCrossbar:
    """Weights written into crossbar cells (with their conductance errors), ready to multiply."""

    spec: CrossbarSpec
    k: int
    """Rows of the weight matrix (inputs)."""
    n: int
    """Columns of the weight matrix (outputs)."""
    cells: np.ndarray = field(repr=False)
    """(row tiles, rows, weight slices * n) effective cell values (differential: w+ - w-);
    rows hold K inputs, or 2K interleaved (w, -w) rows for differential-row inputs."""
    weight_abs_max: np.ndarray | None = field(default=None, repr=False)
    """Float weights: (n,) the |w| each column's g_max stands for; None for integer weights."""
    conductances_siemens: tuple[np.ndarray, ...] = field(default=(), repr=False)
    """Float weights: the programmed (rows used, n) conductances, S, with their variation: (g+,
    g-) for differential pairs, (g,) for offset encoding; () for integer weights."""

    @property
    def n_row_tiles(self) -> int:
        return self.cells.shape[0]

    @property
    def rows_used(self) -> int:
        """Word lines the weights occupy: K, or 2K for differential-row inputs."""
        return self.k * self.spec.rows_per_input


def adc_full_scale(spec: CrossbarSpec, requested: float) -> float:
    """The ADC input range actually used for a `requested` full scale, in unit-cell units.

    The LSB is never made finer than one unit-cell step (a column sum of integers has no finer
    structure to resolve), so with enough bits the conversion of integer sums is exact:
    full_scale = max(requested / top_code, 1) x top_code. Float weights give continuous sums:
    their full scale is `requested` as it is.
    """
    if not (math.isfinite(requested) and requested > 0):
        raise SpecError(f"ADC full scale must be finite and > 0 (got {requested!r})")
    if spec.float_weights:
        return float(requested)
    top = spec.adc.code_range(spec.bipolar)[1]
    return max(requested / top, 1.0) * top


def _as_int_matrix(a, name: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != 2:
        raise SpecError(f"crossbar_matmul: {name} must be a 2-D matrix (got shape {arr.shape})")
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.issubdtype(arr.dtype, np.floating) or not np.all(arr == np.rint(arr)):
            raise SpecError(f"crossbar_matmul: {name} must hold integers (got dtype {arr.dtype})")
        arr = arr.astype(np.int64)
    return arr.astype(np.int64, copy=False)


def _as_real_matrix(a, name: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != 2:
        raise SpecError(f"crossbar_matmul: {name} must be a 2-D matrix (got shape {arr.shape})")
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise SpecError(f"crossbar_matmul: {name} must hold real numbers (got dtype {arr.dtype})")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise SpecError(f"crossbar_matmul: {name} must be finite (got NaN or inf)")
    return arr


def _work_dtype(spec: CrossbarSpec):
    if spec.float_weights:  # continuous sums: float32 rounding would be an error of its own
        return np.float64
    exact32 = spec.column_max < _FLOAT32_EXACT
    return np.float32 if (exact32 or not spec.ideal) else np.float64


def _with_negated_rows(a: np.ndarray) -> np.ndarray:
    """(K, N) -> (2K, N): each row followed by its negation (differential-row inputs)."""
    return np.stack([a, -a], axis=1).reshape(2 * a.shape[0], a.shape[1])


def float_weight_abs_max(w, spec: CrossbarSpec) -> np.ndarray:
    """(N,) the |w| mapped to g_max for each column of real weights w (K, N).

    `spec.weight_abs_max` when set; else the largest |w| of the matrix (per_tensor) or of each
    column (per_column); an all-zero matrix or column gets 1 (its cells sit at g_min anyway).
    """
    w = _as_real_matrix(w, "w")
    n = w.shape[1]
    if spec.weight_abs_max is not None:
        return np.full(n, float(spec.weight_abs_max))
    if spec.weight_scaling is WeightScaling.PER_COLUMN:
        top = np.abs(w).max(axis=0) if w.size else np.zeros(n)
    else:
        top = np.full(n, float(np.abs(w).max()) if w.size else 0.0)
    return np.where(top > 0, top, 1.0)


def _program_float(w: np.ndarray, spec: CrossbarSpec, rng, vary: bool):
    """Cell values (rows used, N) of real weights, in units of g_max - g_min; see module doc."""
    w_max = float_weight_abs_max(w, spec)
    rows_w = _with_negated_rows(w) if spec.rows_per_input == 2 else w
    m = np.clip(rows_w / w_max, -1.0, 1.0)
    r = spec.g_min_ratio
    span_siemens = spec.g_max_siemens - spec.g_min_siemens

    def varied(u: np.ndarray) -> np.ndarray:
        if vary:
            u = u * (1.0 + spec.cell_variation_ratio * rng.standard_normal(u.shape))
        return u

    if spec.differential_weights:
        plus, minus = varied(r + np.maximum(m, 0.0)), varied(r + np.maximum(-m, 0.0))
        return plus - minus, w_max, (plus * span_siemens, minus * span_siemens)
    u = varied(r + 0.5 * (m + 1.0))
    return u, w_max, (u * span_siemens,)


def program(w, spec: CrossbarSpec, rng: np.random.Generator | None = None) -> ProgrammedCrossbar:
    """Write weights w (K, N) into crossbar cells; draws the conductance errors.

    Integer weights must lie in `spec.weight_range`; float weights are any finite reals, mapped
    to conductances (module doc). Raises SpecError for a bad matrix or out-of-range integer
    weights, or when the spec has cell variation and no `rng` is given.
    """
    vary = spec.cell_variation_ratio > 0 and not spec.ideal
    if vary and rng is None:
        raise SpecError("crossbar cell variation needs a numpy.random.Generator (got rng=None)")
    dtype = _work_dtype(spec)
    if spec.float_weights:
        w = _as_real_matrix(w, "w")
        k, n = w.shape
        cells, w_max, conductances = _program_float(w, spec, rng, vary)
        cells = cells[:, None, :]
    else:
        w = _as_int_matrix(w, "w")
        lo, hi = spec.weight_range
        if w.size and (w.min() < lo or w.max() > hi):
            raise SpecError(
                f"crossbar_matmul: weights must be in [{lo}, {hi}] for {spec.weight_bits}-bit "
                f"{spec.encoding.value} encoding (got [{w.min()}, {w.max()}])"
            )
        k, n = w.shape
        w_max, conductances = None, ()
        cells = _program_integer(_with_negated_rows(w) if spec.rows_per_input == 2 else w,
                                 spec, rng, vary, dtype)
    rows = spec.rows
    used = k * spec.rows_per_input
    n_tiles = max(1, math.ceil(used / rows))
    padded = np.zeros((n_tiles * rows, spec.n_weight_slices, n), dtype=dtype)
    padded[:used] = cells
    return ProgrammedCrossbar(
        spec=spec, k=k, n=n, cells=padded.reshape(n_tiles, rows, spec.n_weight_slices * n),
        weight_abs_max=w_max, conductances_siemens=conductances,
    )


def _program_integer(w: np.ndarray, spec: CrossbarSpec, rng, vary: bool, dtype) -> np.ndarray:
    """(rows used, slices, N) cell levels of integer weights, with their variation."""
    c = spec.cell_bits
    mask = 2**c - 1
    shifts = np.arange(spec.n_weight_slices, dtype=np.int64) * c

    def sliced(mag: np.ndarray) -> np.ndarray:  # (K, N) >= 0 -> (K, S, N) cell levels
        levels = ((mag[:, None, :] >> shifts[None, :, None]) & mask).astype(dtype)
        if vary:
            levels *= 1.0 + spec.cell_variation_ratio * rng.standard_normal(levels.shape, dtype=dtype)
        return levels

    if spec.differential_weights:
        return sliced(np.maximum(w, 0)) - sliced(np.maximum(-w, 0))
    return sliced(w + 2 ** (spec.weight_bits - 1))


def _phases(spec: CrossbarSpec, x: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """(row levels (B, rows used), sign) of each separately converted input phase.

    Unsigned, bipolar and two-phase-analog inputs are one phase of levels as they are (signed
    levels: the analog subtraction of the second read is linear, so it is the signed sum);
    differential rows interleave (x+, x-) on the row pairs; two-phase-digital is x+ then x-,
    the second subtracted after its own conversion.
    """
    enc = spec.input_encoding
    if enc is InputEncoding.DIFFERENTIAL_ROWS:
        pos, neg = np.maximum(x, 0), np.maximum(-x, 0)
        return [(np.stack([pos, neg], axis=2).reshape(x.shape[0], 2 * x.shape[1]), 1.0)]
    if enc is InputEncoding.TWO_PHASE_DIGITAL:
        return [(np.maximum(x, 0), 1.0), (np.maximum(-x, 0), -1.0)]
    return [(x, 1.0)]


def _column_sums(prog: ProgrammedCrossbar, levels: np.ndarray):
    """Yield (first row of chunk, column sums (T, S_in * chunk, S_w * N)) over batch chunks.

    `levels` (B, rows used) are the row inputs of one phase (signed for bipolar drives: each
    slice carries the input's sign). One batched matmul per chunk computes every column sum of
    every input slice, weight slice and row tile; the loop is over batch chunks (to bound
    memory), never over columns or bits.
    """
    spec = prog.spec
    b = levels.shape[0]
    t, rows, sn = prog.cells.shape
    s_in, d = spec.n_input_slices, spec.dac_bits
    xp = np.zeros((b, t * rows), dtype=np.int64)
    xp[:, : levels.shape[1]] = levels
    signed = bool(xp.size) and xp.min() < 0
    in_shifts = np.arange(s_in, dtype=np.int64) * d
    chunk = max(1, _CHUNK_ELEMENTS // max(1, t * s_in * sn))
    for start in range(0, b, chunk):
        xc = xp[start : start + chunk]
        bc = xc.shape[0]
        mag = np.abs(xc) if signed else xc
        slices = ((mag[None, :, :] >> in_shifts[:, None, None]) & (2**d - 1)).astype(prog.cells.dtype)
        if signed:
            slices *= np.sign(xc).astype(prog.cells.dtype)[None]
        slices = slices.reshape(s_in, bc, t, rows).transpose(2, 0, 1, 3).reshape(t, s_in * bc, rows)
        yield start, np.matmul(slices, prog.cells)


def _check_inputs(prog: ProgrammedCrossbar, x) -> np.ndarray:
    spec = prog.spec
    x = _as_int_matrix(x, "x")
    if x.shape[1] != prog.k:
        raise SpecError(f"crossbar_matmul: x has {x.shape[1]} columns but w has {prog.k} rows")
    lo, hi = spec.input_range
    if x.size and (x.min() < lo or x.max() > hi):
        kind = "signed" if spec.signed_inputs else "unsigned"
        raise SpecError(
            f"crossbar_matmul: inputs must be in [{lo}, {hi}] for {spec.input_bits}-bit {kind} "
            f"inputs (got [{x.min()}, {x.max()}]); signed inputs need a signed input_encoding"
        )
    return x


def column_sum_quantile(prog: ProgrammedCrossbar, x, quantile: float) -> float:
    """The `quantile` (0..1] of |column sums| the ADCs see for inputs x (unit-cell units).

    Used to set an ADC full scale from calibration data (range rescaling); at least 1 (one
    cell step) for integer weights, above 0 for float weights.
    """
    if not 0.0 < quantile <= 1.0:
        raise SpecError(f"quantile must be in (0, 1] (got {quantile!r})")
    x = _check_inputs(prog, x)
    parts = [np.abs(sums).ravel() for levels, _ in _phases(prog.spec, x)
             for _, sums in _column_sums(prog, levels)]
    values = np.concatenate(parts) if parts else np.zeros(1)
    q = float(np.quantile(values, quantile))
    if prog.spec.float_weights:
        return q if q > 0 else 1e-12 * prog.spec.column_max
    return max(1.0, q)


def _offset_per_level(spec: CrossbarSpec) -> float:
    """Offset encoding: the cell value of w = 0 that every input level adds to its column."""
    if spec.float_weights:
        return spec.g_min_ratio + 0.5
    return float(2 ** (spec.weight_bits - 1))


def _run_phase(prog: ProgrammedCrossbar, levels: np.ndarray, spec_adc, rng,
               saturated: np.ndarray | None = None) -> np.ndarray:
    """(B, N) shift-added codes of one input phase, with the offset of offset weights removed.

    `saturated` (B,), when given, is or-ed with whether any conversion of each vector saturated.
    """
    spec = prog.spec
    b = levels.shape[0]
    n, s_w = prog.n, spec.n_weight_slices
    s_in, d = spec.n_input_slices, spec.dac_bits
    in_coef = np.ldexp(1.0, (np.arange(s_in) * d).astype(np.int32))  # 2**(d*i)
    w_coef = np.ldexp(1.0, (np.arange(s_w) * spec.cell_bits).astype(np.int32))  # 2**(c*j)
    out = np.empty((b, n), dtype=np.float64)
    for start, sums in _column_sums(prog, levels):
        bc = sums.shape[1] // s_in
        if spec_adc is not None:
            hit = None if saturated is None else np.zeros(sums.shape, dtype=bool)
            sums = convert(sums, *spec_adc, rng, inplace=True, saturated=hit)
            if hit is not None:  # (tiles, input slices x vectors, columns) -> per vector
                saturated[start : start + bc] |= hit.reshape(hit.shape[0], s_in, bc, -1).any(axis=(0, 1, 3))
        # shift-and-add: row tiles (x1), input slices (x 2**(d*i)), weight slices (x 2**(c*j))
        acc = sums.sum(axis=0, dtype=np.float64).reshape(s_in, bc, s_w, n)
        acc = np.tensordot(in_coef, acc, axes=(0, 0))  # (bc, S_w, N)
        out[start : start + bc] = np.tensordot(acc, w_coef, axes=(1, 0))
    if not spec.differential_weights:  # remove the offset digitally: offset x sum of levels
        out -= _offset_per_level(spec) * levels.sum(axis=1, dtype=np.int64)[:, None]
    return out


def _run_phases(prog: ProgrammedCrossbar, x: np.ndarray, spec_adc, rng, saturated) -> np.ndarray:
    """(B, N) output of inputs x in cell units: every phase converted, signed, summed."""
    out = None
    for levels, sign in _phases(prog.spec, x):
        part = _run_phase(prog, levels, spec_adc, rng, saturated)
        out = part if out is None else out + sign * part
    return out


def run(
    prog: ProgrammedCrossbar,
    x,
    rng: np.random.Generator | None = None,
    *,
    full_scale: float | None = None,
) -> np.ndarray:
    """Multiply integer inputs x (B, K) by programmed weights: the (B, N) hardware output.

    `full_scale` overrides the ADC input range (default: adc.full_scale_ratio x column_max), in
    unit-cell units. Returns float64 (int64 equal to x @ w in ideal mode with integer weights).
    Raises SpecError for inputs that are not integers in `spec.input_range` or do not have K
    columns.
    """
    spec = prog.spec
    x = _check_inputs(prog, x)
    if full_scale is None:
        full_scale = spec.adc.full_scale_ratio * spec.column_max
    if not spec.ideal:
        full_scale = adc_full_scale(spec, full_scale)
    spec_adc = None if spec.ideal else (full_scale, spec.bipolar, spec.adc)
    managed = (spec.bound_management is BoundManagement.ITERATIVE and spec_adc is not None
               and spec.adc.clipping is Clipping.SATURATE)
    saturated = np.zeros(x.shape[0], dtype=bool) if managed else None
    out = _run_phases(prog, x, spec_adc, rng, saturated)
    if managed:
        for halvings in range(1, spec.max_input_halvings + 1):
            again = np.flatnonzero(saturated)
            if not again.size:
                break
            # aihwkit scales the input by 1 / 2**r and re-quantises it on the DAC's grid
            smaller = np.rint(x[again] / 2.0**halvings).astype(np.int64)
            still = np.zeros(again.size, dtype=bool)
            out[again] = _run_phases(prog, smaller, spec_adc, rng, still) * 2.0**halvings
            saturated[:] = False
            saturated[again] = still
    if spec.float_weights:  # cell units -> weight units: x w_max (twice: offset spans 2 w_max)
        return out * (prog.weight_abs_max * (1.0 if spec.differential_weights else 2.0))
    if spec.ideal:
        return np.rint(out).astype(np.int64)
    return out


def crossbar_matmul(x, w, spec: CrossbarSpec, rng: np.random.Generator | None = None) -> np.ndarray:
    """The outputs a crossbar accelerator produces for x (B, K) @ w (K, N); see module doc.

    x: integers in `spec.input_range` (unsigned, or signed for a signed input_encoding); w:
    signed integers in `spec.weight_range`, or finite reals for float weights. Programs w
    (drawing cell variation from `rng`) and runs x through it (drawing thermal noise and
    stochastic rounding from `rng`). `rng` may be None only for a spec without random
    non-idealities. Returns float64 (B, N), or int64 equal to x @ w when `spec.ideal` with
    integer weights. Raises SpecError on bad inputs.
    """
    return run(program(w, spec, rng), x, rng)
