"""Functional model of a PIM crossbar matrix product: what the hardware computes, bit for bit.

`crossbar_matmul(x, w, spec, rng)` returns the (B, N) outputs a crossbar accelerator produces for
unsigned integer inputs x (B, K) and signed integer weights w (K, N):

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

Cell conductance variation is multiplicative, drawn once per cell when the weights are programmed
(`program`); thermal noise is drawn per conversion. `ideal=True` skips every non-ideality and the
ADC quantisation but keeps the decomposition, so it returns exactly x @ w (int64).

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

from accelerators.pim.adc import AdcSpec, BuiltInPythonSpec, convert
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


class CrossbarSpec(BuiltInPythonSpec):
    """Array geometry, decomposition scheme, precision and non-idealities of a crossbar. Frozen."""

    rows: Annotated[int, Field(ge=1, le=65536)] = 128
    """Word lines (inputs) summed on each column, 1..65536."""
    cols: Annotated[int, Field(ge=1, le=65536)] = 128
    """Bit lines per crossbar, 1..65536 (sets how many crossbars a layer needs, not results)."""
    cell_bits: Annotated[int, Field(ge=1, le=8)] = 2
    """Bits stored per cell (conductance levels = 2**cell_bits), 1..8."""
    input_bits: Annotated[int, Field(ge=1, le=16)] = 8
    """Unsigned input (activation) bit-width, 1..16."""
    dac_bits: Annotated[int, Field(ge=1, le=16)] = 1
    """Input bits applied per read cycle, 1..input_bits; 1 is bit-serial, input_bits one pulse."""
    weight_bits: Annotated[int, Field(ge=2, le=16)] = 8
    """Signed weight bit-width, 2..16."""
    # strict=False: Python callers may name the scheme by its value, e.g. encoding="offset".
    encoding: Annotated[WeightEncoding, Field(strict=False)] = WeightEncoding.DIFFERENTIAL
    """How signed weights are stored: 'differential' pairs or an 'offset'."""
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

    @model_validator(mode="after")
    def _bipolar_adc_has_a_sign_bit(self) -> CrossbarSpec:
        if self.bipolar and not self.ideal and self.adc.resolution_bits < 2:
            raise ValueError("adc.resolution_bits: a bipolar (differential) ADC needs at least "
                             f"2 bits, got {self.adc.resolution_bits}")
        return self

    @property
    def bipolar(self) -> bool:
        """True when conversions are of signed column sums (differential pairs)."""
        return self.encoding is WeightEncoding.DIFFERENTIAL

    @property
    def magnitude_bits(self) -> int:
        """Bits sliced into cells: weight_bits - 1 (differential magnitude) or weight_bits."""
        return self.weight_bits - 1 if self.bipolar else self.weight_bits

    @property
    def n_weight_slices(self) -> int:
        """Cell slices per weight (per column of a differential pair)."""
        return math.ceil(self.magnitude_bits / self.cell_bits)

    @property
    def n_input_slices(self) -> int:
        """Read cycles per input vector: ceil(input_bits / dac_bits)."""
        return math.ceil(self.input_bits / self.dac_bits)

    @property
    def columns_per_weight(self) -> int:
        """Bit lines one weight occupies: its slices, twice for differential pairs."""
        return self.n_weight_slices * (2 if self.bipolar else 1)

    @property
    def column_max(self) -> float:
        """Largest column sum magnitude: rows x top input level x top cell level."""
        return float(self.rows * (2**self.dac_bits - 1) * (2**self.cell_bits - 1))

    @property
    def weight_range(self) -> tuple[int, int]:
        """(lowest, highest) storable weight: symmetric for differential, two's range for offset."""
        top = 2 ** (self.weight_bits - 1)
        return (-(top - 1), top - 1) if self.bipolar else (-top, top - 1)


@dataclass(frozen=True, eq=False)
class ProgrammedCrossbar:
    """Weights written into crossbar cells (with their conductance errors), ready to multiply."""

    spec: CrossbarSpec
    k: int
    """Rows of the weight matrix (inputs)."""
    n: int
    """Columns of the weight matrix (outputs)."""
    cells: np.ndarray = field(repr=False)
    """(row tiles, rows, weight slices * n) effective cell values (differential: w+ - w-)."""

    @property
    def n_row_tiles(self) -> int:
        return self.cells.shape[0]


def adc_full_scale(spec: CrossbarSpec, requested: float) -> float:
    """The ADC input range actually used for a `requested` full scale, in unit-cell units.

    The LSB is never made finer than one unit-cell step (a column sum of integers has no finer
    structure to resolve), so with enough bits the conversion of integer sums is exact:
    full_scale = max(requested / top_code, 1) x top_code.
    """
    if not (math.isfinite(requested) and requested > 0):
        raise SpecError(f"ADC full scale must be finite and > 0 (got {requested!r})")
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


def _work_dtype(spec: CrossbarSpec):
    exact32 = spec.column_max < _FLOAT32_EXACT
    return np.float32 if (exact32 or not spec.ideal) else np.float64


def program(w, spec: CrossbarSpec, rng: np.random.Generator | None = None) -> ProgrammedCrossbar:
    """Write signed integer weights w (K, N) into crossbar cells; draws the conductance errors.

    Raises SpecError when w is not an integer matrix within `spec.weight_range`, or when the
    spec has cell variation and no `rng` is given.
    """
    w = _as_int_matrix(w, "w")
    lo, hi = spec.weight_range
    if w.size and (w.min() < lo or w.max() > hi):
        raise SpecError(
            f"crossbar_matmul: weights must be in [{lo}, {hi}] for {spec.weight_bits}-bit "
            f"{spec.encoding.value} encoding (got [{w.min()}, {w.max()}])"
        )
    k, n = w.shape
    rows, c = spec.rows, spec.cell_bits
    n_tiles = max(1, math.ceil(k / rows))
    mask = 2**c - 1
    shifts = np.arange(spec.n_weight_slices, dtype=np.int64) * c
    dtype = _work_dtype(spec)
    vary = spec.cell_variation_ratio > 0 and not spec.ideal
    if vary and rng is None:
        raise SpecError("crossbar cell variation needs a numpy.random.Generator (got rng=None)")

    def sliced(mag: np.ndarray) -> np.ndarray:  # (K, N) >= 0 -> (K, S, N) cell levels
        levels = ((mag[:, None, :] >> shifts[None, :, None]) & mask).astype(dtype)
        if vary:
            levels *= 1.0 + spec.cell_variation_ratio * rng.standard_normal(levels.shape, dtype=dtype)
        return levels

    if spec.bipolar:
        cells = sliced(np.maximum(w, 0)) - sliced(np.maximum(-w, 0))
    else:
        cells = sliced(w + 2 ** (spec.weight_bits - 1))
    padded = np.zeros((n_tiles * rows, spec.n_weight_slices, n), dtype=dtype)
    padded[:k] = cells
    return ProgrammedCrossbar(
        spec=spec, k=k, n=n, cells=padded.reshape(n_tiles, rows, spec.n_weight_slices * n)
    )


def _column_sums(prog: ProgrammedCrossbar, x: np.ndarray):
    """Yield (first row of chunk, column sums (T, S_in * chunk, S_w * N)) over batch chunks.

    One batched matmul per chunk computes every column sum of every input slice, weight slice
    and row tile; the loop is over batch chunks (to bound memory), never over columns or bits.
    """
    spec = prog.spec
    b = x.shape[0]
    t, rows, sn = prog.cells.shape
    s_in, d = spec.n_input_slices, spec.dac_bits
    xp = np.zeros((b, t * rows), dtype=np.int64)
    xp[:, : prog.k] = x
    in_shifts = np.arange(s_in, dtype=np.int64) * d
    chunk = max(1, _CHUNK_ELEMENTS // max(1, t * s_in * sn))
    for start in range(0, b, chunk):
        xc = xp[start : start + chunk]
        bc = xc.shape[0]
        slices = ((xc[None, :, :] >> in_shifts[:, None, None]) & (2**d - 1)).astype(prog.cells.dtype)
        slices = slices.reshape(s_in, bc, t, rows).transpose(2, 0, 1, 3).reshape(t, s_in * bc, rows)
        yield start, np.matmul(slices, prog.cells)


def _check_inputs(prog: ProgrammedCrossbar, x) -> np.ndarray:
    spec = prog.spec
    x = _as_int_matrix(x, "x")
    if x.shape[1] != prog.k:
        raise SpecError(f"crossbar_matmul: x has {x.shape[1]} columns but w has {prog.k} rows")
    top = 2**spec.input_bits - 1
    if x.size and (x.min() < 0 or x.max() > top):
        raise SpecError(
            f"crossbar_matmul: inputs must be in [0, {top}] for {spec.input_bits}-bit unsigned "
            f"inputs (got [{x.min()}, {x.max()}])"
        )
    return x


def column_sum_quantile(prog: ProgrammedCrossbar, x, quantile: float) -> float:
    """The `quantile` (0..1] of |column sums| the ADCs see for inputs x (unit-cell units).

    Used to set an ADC full scale from calibration data (range rescaling); at least 1.
    """
    if not 0.0 < quantile <= 1.0:
        raise SpecError(f"quantile must be in (0, 1] (got {quantile!r})")
    x = _check_inputs(prog, x)
    parts = [np.abs(sums).ravel() for _, sums in _column_sums(prog, x)]
    values = np.concatenate(parts) if parts else np.zeros(1)
    return max(1.0, float(np.quantile(values, quantile)))


def run(
    prog: ProgrammedCrossbar,
    x,
    rng: np.random.Generator | None = None,
    *,
    full_scale: float | None = None,
) -> np.ndarray:
    """Multiply unsigned integer inputs x (B, K) by programmed weights: the (B, N) hardware output.

    `full_scale` overrides the ADC input range (default: adc.full_scale_ratio x column_max), in
    unit-cell units. Returns float64 (int64 equal to x @ w in ideal mode). Raises SpecError for
    inputs that are not integers in [0, 2**input_bits - 1] or do not have K columns.
    """
    spec = prog.spec
    x = _check_inputs(prog, x)
    if full_scale is None:
        full_scale = spec.adc.full_scale_ratio * spec.column_max
    if not spec.ideal:
        full_scale = adc_full_scale(spec, full_scale)
    spec_adc = None if spec.ideal else (full_scale, spec.bipolar, spec.adc)
    b = x.shape[0]
    n, s_w = prog.n, spec.n_weight_slices
    s_in, d = spec.n_input_slices, spec.dac_bits
    in_coef = np.ldexp(1.0, (np.arange(s_in) * d).astype(np.int32))  # 2**(d*i)
    w_coef = np.ldexp(1.0, (np.arange(s_w) * spec.cell_bits).astype(np.int32))  # 2**(c*j)
    out = np.empty((b, n), dtype=np.float64)
    for start, sums in _column_sums(prog, x):
        bc = sums.shape[1] // s_in
        if spec_adc is not None:
            sums = convert(sums, *spec_adc, rng, inplace=True)
        # shift-and-add: row tiles (x1), input slices (x 2**(d*i)), weight slices (x 2**(c*j))
        acc = sums.sum(axis=0, dtype=np.float64).reshape(s_in, bc, s_w, n)
        acc = np.tensordot(in_coef, acc, axes=(0, 0))  # (bc, S_w, N)
        out[start : start + bc] = np.tensordot(acc, w_coef, axes=(1, 0))
    if not spec.bipolar:  # remove the offset digitally: 2**(wb-1) * sum(x)
        out -= float(2 ** (spec.weight_bits - 1)) * x.sum(axis=1, dtype=np.int64)[:, None]
    if spec.ideal:
        return np.rint(out).astype(np.int64)
    return out


def crossbar_matmul(x, w, spec: CrossbarSpec, rng: np.random.Generator | None = None) -> np.ndarray:
    """The outputs a crossbar accelerator produces for x (B, K) @ w (K, N); see module doc.

    x: unsigned integers in [0, 2**input_bits - 1]; w: signed integers in `spec.weight_range`.
    Programs w (drawing cell variation from `rng`) and runs x through it (drawing thermal noise
    from `rng`). `rng` may be None only for a spec without random non-idealities. Returns float64
    (B, N), or int64 equal to x @ w when `spec.ideal`. Raises SpecError on bad inputs.
    """
    return run(program(w, spec, rng), x, rng)
