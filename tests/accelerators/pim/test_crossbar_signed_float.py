"""Signed inputs, float weights mapped to conductances, the ADC's bound, clipping and rounding, and
bound management in the crossbar product: hand-computed small cases, a numpy reference on seeded
random cases, and IBM aihwkit's documented one-pass forward."""

from __future__ import annotations

import math

import numpy as np
import pytest

from accelerators.pim.adc import AdcSpec
from accelerators.pim.crossbar import (
    CrossbarSpec,
    InputEncoding,
    WeightFormat,
    column_sum_quantile,
    crossbar_matmul,
    program,
)
from workloads import SpecError

SIGNED = ["differential_rows", "bipolar", "two_phase_analog", "two_phase_digital"]


# --- signed inputs, by hand -----------------------------------------------------------------------


@pytest.mark.parametrize("encoding", SIGNED)
def test_signed_inputs_with_enough_adc_bits_are_exact_by_hand(encoding):
    # 3-bit signed inputs (+-3, 2 magnitude bits, bit-serial), 2-bit differential weights (+-1)
    # on 1-bit cells, 4 rows; a 4-bit bipolar ADC: codes +-7 over a full scale of 7 -> lsb 1
    spec = CrossbarSpec(rows=4, cell_bits=1, dac_bits=1, input_bits=3, weight_bits=2,
                        input_encoding=encoding, adc=AdcSpec(resolution_bits=4))
    x = np.array([[3, -2, 1, 0]])
    w = np.array([[1, -1], [1, 1], [0, 1], [-1, 1]])
    # 3 - 2 + 0 + 0 = 1; -3 - 2 + 1 + 0 = -4
    np.testing.assert_array_equal(crossbar_matmul(x, w, spec), [[1.0, -4.0]])


@pytest.mark.parametrize("encoding, expected", [
    # x = (1, 1, 1, -1), w = 1 everywhere, 4 rows, 3-bit bipolar ADC: codes -3..3 over a full
    # scale of max(4 / 3, 1) x 3 = 4 -> lsb 4/3; q(s) = 4/3 x rint(s / (4/3)); exact x @ w = 2
    ("bipolar", 8 / 3),  # one signed sum 1 + 1 + 1 - 1 = 2 -> 1.5 LSB -> code 2 -> 8/3
    ("two_phase_analog", 8 / 3),  # the integrator subtracts before converting: the same sum
    ("two_phase_digital", 4 / 3),  # q(3) - q(1) = 4/3 x (rint(2.25) - rint(0.75)) = 4/3 x 1
    # rows (x+, x-) interleaved on 8 rows = two 4-row tiles: (1,0,1,0)(1,0,0,1) on (1,-1,1,-1)
    # -> tile sums 2 and 0 -> q(2) + q(0) = 8/3
    ("differential_rows", 8 / 3),
])
def test_signed_encodings_round_differently_by_hand(encoding, expected):
    spec = CrossbarSpec(rows=4, cell_bits=1, dac_bits=1, input_bits=3, weight_bits=2,
                        input_encoding=encoding, adc=AdcSpec(resolution_bits=3))
    got = crossbar_matmul(np.array([[1, 1, 1, -1]]), np.ones((4, 1), int), spec)
    np.testing.assert_allclose(got, [[expected]], rtol=1e-6)


def test_bipolar_inputs_on_offset_weights_by_hand():
    # offset 2-bit weights stored as w + 2 in 2-bit cells; x = (3, -2) bit-serial: signed
    # slices (1, 0) and (1, -1); cells (0, 3). Sums 0 and -3 (a bipolar ADC: 4 bits, lsb 1);
    # shift-add 0 + 2 x (-3) = -6; minus the offset 2 x (3 - 2) = 2 -> -8 = 3 x -2 + -2 x 1
    spec = CrossbarSpec(rows=2, cell_bits=2, dac_bits=1, input_bits=3, weight_bits=2,
                        encoding="offset", input_encoding="bipolar", adc=AdcSpec(resolution_bits=4))
    assert spec.bipolar
    np.testing.assert_array_equal(crossbar_matmul(np.array([[3, -2]]), np.array([[-2], [1]]), spec),
                                  [[-8.0]])


def test_differential_rows_on_offset_weights_by_hand():
    # rows (w1, -w1, w2, -w2) = (-1, 1, 1, -1) stored + 2 = (1, 3, 3, 1); levels (3, 0, 0, 2);
    # unipolar 4-bit ADC, lsb 1. Slice 0 of the levels is (1, 0, 0, 0) -> 1 x 1 = 1; slice 1 is
    # (1, 0, 0, 1) -> 1 x 1 + 1 x 1 = 2. Shift-add 1 + 2 x 2 = 5; offset 2 x (3 + 2) = 10
    # -> -5 = 3 x -1 + -2 x 1
    spec = CrossbarSpec(rows=4, cell_bits=2, dac_bits=1, input_bits=3, weight_bits=2,
                        encoding="offset", input_encoding="differential_rows",
                        adc=AdcSpec(resolution_bits=4))
    assert not spec.bipolar and spec.weight_range == (-1, 1)  # it also stores -w
    np.testing.assert_array_equal(crossbar_matmul(np.array([[3, -2]]), np.array([[-1], [1]]), spec),
                                  [[-5.0]])
    with pytest.raises(SpecError, match=r"weights must be in \[-1, 1\]"):
        crossbar_matmul(np.array([[3, -2]]), np.array([[-2], [1]]), spec)


def test_unsigned_inputs_still_refuse_negative_codes_and_signed_ones_their_range():
    with pytest.raises(SpecError, match=r"inputs must be in \[0, 7\].*signed input_encoding"):
        crossbar_matmul(np.array([[-1]]), np.array([[1]]), CrossbarSpec(input_bits=3, dac_bits=1))
    signed = CrossbarSpec(input_bits=3, dac_bits=1, input_encoding="bipolar")
    assert signed.input_range == (-3, 3) and signed.n_input_slices == 2
    with pytest.raises(SpecError, match=r"inputs must be in \[-3, 3\] for 3-bit signed"):
        crossbar_matmul(np.array([[-4]]), np.array([[1]]), signed)


# --- float weights mapped to conductances, by hand -------------------------------------------------

W = np.array([[0.5, -1.0], [0.25, 0.0]])
X = np.array([[2, 1]])  # 2-bit unsigned inputs, one 2-bit DAC pulse
EXACT = X @ W  # (1.25, -2.0)


def float_spec(**changes) -> CrossbarSpec:
    base = dict(rows=2, input_bits=2, dac_bits=2, weight_format="float",
                adc=AdcSpec(resolution_bits=3))
    return CrossbarSpec(**{**base, **changes})


@pytest.mark.parametrize("changes, g_plus_us, g_minus_us", [
    # aihwkit's single-pair converter: |w| / w_max of (g_max - g_min) above g_min, g_max 25 uS
    ({}, [[12.5, 0], [6.25, 0]], [[0, 25], [0, 0]]),  # w_max = 1 for the matrix
    ({"weight_scaling": "per_column"}, [[25, 0], [12.5, 0]], [[0, 25], [0, 0]]),  # 0.5 and 1
    ({"g_min_siemens": 5e-6}, [[15, 5], [10, 5]], [[5, 25], [5, 5]]),  # 5 + 20 x |w|
    ({"weight_abs_max": 0.5}, [[25, 0], [12.5, 0]], [[0, 25], [0, 0]]),  # -1 clips at g_max
])
def test_differential_conductances_by_hand(changes, g_plus_us, g_minus_us):
    g_plus, g_minus = program(W, float_spec(**changes)).conductances_siemens
    np.testing.assert_allclose(g_plus * 1e6, g_plus_us, atol=1e-9)
    np.testing.assert_allclose(g_minus * 1e6, g_minus_us, atol=1e-9)


def test_offset_conductances_put_zero_at_mid_range_by_hand():
    # g = g_min + (g_max - g_min) x (w / w_max + 1) / 2: w = 0.5 -> 18.75, -1 -> 0, 0 -> 12.5
    (g,) = program(W, float_spec(encoding="offset")).conductances_siemens
    np.testing.assert_allclose(g * 1e6, [[18.75, 0.0], [15.625, 12.5]], atol=1e-9)


@pytest.mark.parametrize("changes", [
    {}, {"encoding": "offset"}, {"g_min_siemens": 5e-6}, {"encoding": "offset", "g_min_siemens": 5e-6},
    {"weight_scaling": "per_column"}, {"ideal": True},
])
def test_float_weights_without_rounding_or_clipping_give_x_at_w(changes):
    spec = float_spec(adc=AdcSpec(resolution_bits=3, rounding="none", clipping="none"), **changes)
    np.testing.assert_allclose(crossbar_matmul(X, W, spec), EXACT, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("adc, expected", [
    # column sums in units of one input level x (g_max - g_min): x . (w / w_max) = (1.25, -2);
    # the largest sum is 2 rows x 3 x 1 = 6; a 3-bit bipolar ADC has codes -3..3
    ({}, [2.0, -2.0]),  # bound 6, lsb 2: 0.625 -> 1 -> 2; -1 -> -2 (no one-step floor)
    ({"full_scale_ratio": 0.5}, [1.0, -2.0]),  # bound 3, lsb 1: 1.25 -> 1; -2 -> -2
    ({"full_scale_ratio": 0.25}, [1.0, -1.5]),  # bound 1.5, lsb 0.5: 2.5 -> 2; -4 -> clip -3
    ({"full_scale_ratio": 0.25, "clipping": "none"}, [1.0, -2.0]),  # rounded, not clipped
    ({"full_scale_ratio": 0.25, "rounding": "none"}, [1.25, -1.5]),  # clipped, not rounded
    ({"full_scale_ratio": 0.25, "rounding": "floor"}, [1.0, -1.5]),  # floor 2.5 = 2
])
def test_output_bound_clipping_and_rounding_are_separate_by_hand(adc, expected):
    spec = float_spec(adc=AdcSpec(resolution_bits=3, **adc))
    np.testing.assert_allclose(crossbar_matmul(X, W, spec), [expected], rtol=1e-12)


def test_a_stated_weight_scale_clips_larger_weights():
    spec = float_spec(weight_abs_max=0.5, adc=AdcSpec(rounding="none", clipping="none"))
    # w = -1 stands for -0.5 at g_max: (2 x 0.5 + 0.25, 2 x -0.5) = (1.25, -1.0)
    np.testing.assert_allclose(crossbar_matmul(X, W, spec), [[1.25, -1.0]], rtol=1e-12)


def test_g_min_carries_cell_variation_that_a_zero_g_min_does_not():
    # zero weights sit at g_min on both cells of a pair: with g_min = 0 nothing varies, with
    # g_min > 0 the two cells' independent errors no longer cancel
    zeros = np.zeros((64, 4))
    x = np.full((1, 64), 3)
    adc = AdcSpec(rounding="none", clipping="none")
    quiet = float_spec(rows=64, cell_variation_ratio=0.1, adc=adc)
    assert np.all(crossbar_matmul(x, zeros, quiet, np.random.default_rng(0)) == 0)
    noisy = quiet.replace(g_min_siemens=5e-6)
    assert np.all(crossbar_matmul(x, zeros, noisy, np.random.default_rng(0)) != 0)


def test_float_weights_occupy_one_slice():
    spec = CrossbarSpec(weight_format="float", cell_bits=2, weight_bits=8)
    assert spec.n_weight_slices == 1 and spec.columns_per_weight == 2
    assert spec.replace(encoding="offset").columns_per_weight == 1


# --- a numpy reference on seeded random cases -------------------------------------------------------


def reference(x, w, spec: CrossbarSpec) -> np.ndarray:
    """The crossbar pipeline written directly: phases, slices and tiles as loops of numpy dots,
    the ADC as rounding and clipping of s / lsb (no gain, offset, INL or noise), no variation;
    iterative bound management as a loop over vectors."""
    out, saturated = reference_pass(x, w, spec)
    if spec.bound_management.value == "iterative" and spec.adc.clipping.value == "saturate":
        for b in range(len(x)):
            r = 0
            while saturated[b] and r < spec.input_magnitude_bits - 2:
                r += 1
                row, sat = reference_pass(np.rint(x[b:b + 1] / 2**r).astype(np.int64), w, spec)
                out[b], saturated[b] = row[0] * 2**r, sat[0]
    return out


def reference_pass(x, w, spec: CrossbarSpec) -> tuple[np.ndarray, np.ndarray]:
    """One pass of `reference`: (outputs, whether any conversion of each vector saturated)."""
    d, c, rows = spec.dac_bits, spec.cell_bits, spec.rows
    k, n = w.shape
    enc = spec.input_encoding
    # physical weights per row and the row inputs of each separately converted phase
    w_rows = np.stack([w, -w], 1).reshape(2 * k, n) if enc is InputEncoding.DIFFERENTIAL_ROWS else w
    if enc is InputEncoding.DIFFERENTIAL_ROWS:
        phases = [(np.stack([np.maximum(x, 0), np.maximum(-x, 0)], 2).reshape(len(x), 2 * k), 1)]
    elif enc is InputEncoding.TWO_PHASE_DIGITAL:
        phases = [(np.maximum(x, 0), 1), (np.maximum(-x, 0), -1)]
    else:
        phases = [(x, 1)]
    if spec.weight_format is WeightFormat.FLOAT:
        w_max = np.abs(w).max(axis=0) if spec.weight_scaling.value == "per_column" else np.abs(w).max()
        m = w_rows / w_max
        r = spec.g_min_siemens / (spec.g_max_siemens - spec.g_min_siemens)
        if spec.encoding.value == "differential":
            slices = [(r + np.maximum(m, 0)) - (r + np.maximum(-m, 0))]
            offset, back = 0.0, w_max
        else:
            slices, offset, back = [r + (m + 1) / 2], r + 0.5, 2 * w_max
    else:
        if spec.encoding.value == "differential":
            mags = [np.maximum(w_rows, 0), np.maximum(-w_rows, 0)]
            slices = [((mags[0] >> (c * j)) & (2**c - 1)) - ((mags[1] >> (c * j)) & (2**c - 1))
                      for j in range(spec.n_weight_slices)]
            offset = 0.0
        else:
            biased = w_rows + 2 ** (spec.weight_bits - 1)
            slices = [(biased >> (c * j)) & (2**c - 1) for j in range(spec.n_weight_slices)]
            offset = 2.0 ** (spec.weight_bits - 1)
        back = 1.0
    top = 2 ** (spec.adc.resolution_bits - 1) - 1 if spec.bipolar else 2**spec.adc.resolution_bits - 1
    lo = -top if spec.bipolar else 0
    full_scale = spec.adc.full_scale_ratio * spec.column_max
    lsb = full_scale / top if spec.weight_format is WeightFormat.FLOAT else max(full_scale / top, 1)
    total = np.zeros((len(x), n))
    saturated = np.zeros(len(x), dtype=bool)
    for levels, sign in phases:
        part = np.zeros((len(x), n))
        for i in range(spec.n_input_slices):
            drive = np.sign(levels) * ((np.abs(levels) >> (d * i)) & (2**d - 1))
            for j, cells in enumerate(slices):
                for t in range(math.ceil(len(w_rows) / rows)):
                    s = drive[:, t * rows:(t + 1) * rows] @ cells[t * rows:(t + 1) * rows]
                    code = s / lsb
                    if spec.adc.rounding.value == "nearest":
                        code = np.rint(code)
                    elif spec.adc.rounding.value == "floor":
                        code = np.floor(code)
                    saturated |= ((code < lo) | (code > top)).any(axis=1)
                    if spec.adc.clipping.value == "saturate":
                        code = np.clip(code, lo, top)
                    part += code * lsb * 2.0 ** (d * i) * 2.0 ** (c * j)
        part -= offset * levels.sum(axis=1, keepdims=True)
        total += sign * part
    return total * back, saturated


CASES = [  # (input encoding, weight encoding, weight format, dac, cell, adc bits, rounding, clipping)
    ("unsigned", "differential", "integer", 1, 2, 5, "nearest", "saturate"),
    ("differential_rows", "differential", "integer", 2, 1, 4, "nearest", "saturate"),
    ("differential_rows", "offset", "integer", 1, 3, 5, "floor", "saturate"),
    ("bipolar", "offset", "integer", 3, 2, 5, "nearest", "none"),
    ("bipolar", "differential", "integer", 1, 2, 3, "floor", "none"),
    ("two_phase_analog", "differential", "integer", 2, 2, 6, "none", "saturate"),
    ("two_phase_digital", "offset", "integer", 1, 1, 4, "nearest", "saturate"),
    ("two_phase_digital", "differential", "integer", 4, 3, 4, "floor", "saturate"),
    ("unsigned", "offset", "float", 2, 2, 4, "nearest", "saturate"),
    ("bipolar", "differential", "float", 1, 2, 5, "nearest", "saturate"),
    ("differential_rows", "offset", "float", 3, 2, 3, "floor", "none"),
    ("two_phase_digital", "differential", "float", 2, 2, 4, "none", "saturate"),
    ("two_phase_analog", "offset", "float", 4, 2, 6, "nearest", "saturate"),
]
MANAGED = [  # the same with iterative bound management and a tighter bound, so vectors clip
    (*case[:-1], "saturate", "iterative") for case in CASES if case[-1] == "saturate"
]


@pytest.mark.parametrize("inputs, weights, fmt, dac, cell, bits, rounding, clipping, bm",
                         [(*case, "none") for case in CASES] + MANAGED)
def test_pipeline_matches_the_numpy_reference_on_random_cases(inputs, weights, fmt, dac, cell,
                                                              bits, rounding, clipping, bm):
    rng = np.random.default_rng(11)
    spec = CrossbarSpec(
        rows=8, cell_bits=cell, dac_bits=dac, input_bits=5, weight_bits=5, encoding=weights,
        input_encoding=inputs, weight_format=fmt, g_min_siemens=2e-6, bound_management=bm,
        weight_scaling="per_column" if weights == "offset" else "per_tensor",
        adc=AdcSpec(resolution_bits=bits, rounding=rounding, clipping=clipping,
                    full_scale_ratio=0.5 if bm == "none" else 0.15))
    lo, hi = spec.input_range
    x = rng.integers(lo, hi + 1, (6, 19))
    if fmt == "float":
        w = rng.standard_normal((19, 5))
    else:
        w_lo, w_hi = spec.weight_range
        w = rng.integers(w_lo, w_hi + 1, (19, 5))
    np.testing.assert_allclose(crossbar_matmul(x, w, spec), reference(x, w, spec),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("inputs", ["unsigned", *SIGNED])
@pytest.mark.parametrize("fmt", ["integer", "float"])
def test_ideal_mode_is_x_at_w_for_every_input_encoding(inputs, fmt):
    spec = CrossbarSpec(rows=16, input_bits=6, dac_bits=2, weight_bits=6, input_encoding=inputs,
                        weight_format=fmt, ideal=True)
    rng = np.random.default_rng(3)
    lo, hi = spec.input_range
    x = rng.integers(lo, hi + 1, (4, 40))
    w = rng.standard_normal((40, 7)) if fmt == "float" else rng.integers(-31, 32, (40, 7))
    got = crossbar_matmul(x, w, spec)
    if fmt == "integer":
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, x @ w)
    else:
        np.testing.assert_allclose(got, x @ w, rtol=1e-12, atol=1e-12)


# --- set up as aihwkit's analog tile ----------------------------------------------------------------


def aihwkit_one_pass(x, w, inp_res, out_res, out_bound):
    """IBM aihwkit's forward with noise and bound management off and no noise (AnalogMVM in
    src/aihwkit/simulator/tiles/analog_mvm.py, read for its steps): inputs in [-1, 1]
    quantised with step inp_res x 2 x inp_bound (inp_bound 1) and clamped; y = x @ w for
    weights with abs max 1; y quantised with step out_res x 2 x out_bound, clamped."""
    step = inp_res * 2.0
    xq = np.clip(np.round(x / step) * step, -1.0, 1.0)
    y = xq @ w
    out_step = out_res * 2.0 * out_bound
    return np.clip(np.round(y / out_step) * out_step, -out_bound, out_bound)


def test_a_bipolar_float_crossbar_is_aihwkits_one_pass_tile():
    # aihwkit's defaults: inp_res 1 / (2**7 - 2) -> 7-bit signed inputs (codes +-63 = 1 / step),
    # out_res 1 / (2**9 - 2) -> a 9-bit bipolar ADC, out_bound 12 in units of one full input
    # on one g_max weight. Here the sums are in input codes x normalised conductance, so
    # full scale = 12 x 63 = full_scale_ratio x (rows x 63 x 1): ratio = 12 / rows.
    rows = 128
    rng = np.random.default_rng(8)
    x = rng.uniform(-0.5, 1, (32, rows))  # positive on average, so some sums pass the bound
    w = rng.uniform(-0.5, 1, (rows, 10))
    w /= np.abs(w).max()  # aihwkit weight scaling omega = 1: abs max of the weights is 1
    expected = aihwkit_one_pass(x, w, 1 / (2**7 - 2), 1 / (2**9 - 2), 12.0)
    spec = CrossbarSpec(rows=rows, input_bits=7, dac_bits=7, input_encoding="bipolar",
                        weight_format="float", adc=AdcSpec(resolution_bits=9, full_scale_ratio=12 / rows))
    codes = np.rint(x * 63).astype(np.int64)
    got = crossbar_matmul(codes, w, spec) / 63
    assert 0.05 < np.mean(np.abs(expected) == 12.0) < 0.95  # some sums clip, others round
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)


# --- specs -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("changes, match", [
    ({"input_bits": 1, "dac_bits": 1, "input_encoding": "bipolar"}, "input_bits >= 2"),
    ({"input_encoding": "ternary"}, "input_encoding"),
    ({"weight_format": "posit"}, "weight_format"),
    ({"weight_scaling": "per_row"}, "weight_scaling"),
    ({"g_min_siemens": 25e-6}, r"g_min_siemens: expected below g_max_siemens"),
    ({"g_max_siemens": 0.0}, "g_max_siemens"),
    ({"weight_abs_max": 0.0}, "weight_abs_max"),
    ({"bound_management": "shift"}, "bound_management"),
    ({"encoding": "offset", "input_encoding": "bipolar", "adc": AdcSpec(resolution_bits=1)},
     "signed-input"),
])
def test_bad_signed_and_float_specs_are_refused(changes, match):
    with pytest.raises(SpecError, match=match):
        CrossbarSpec(**changes)


def test_float_weights_must_be_finite_and_quantiles_positive():
    spec = float_spec()
    with pytest.raises(SpecError, match="finite"):
        crossbar_matmul(X, np.array([[np.nan, 0.0], [0.0, 0.0]]), spec)
    assert column_sum_quantile(program(np.zeros((2, 2)), spec), X, 1.0) > 0
    # an all-zero matrix is all g_min: nothing to scale, zero outputs
    np.testing.assert_array_equal(crossbar_matmul(X, np.zeros((2, 2)), spec), [[0.0, 0.0]])


def test_defaults_are_unsigned_integer_inputs_and_weights():
    spec = CrossbarSpec()
    assert spec.input_encoding is InputEncoding.UNSIGNED and spec.weight_format is WeightFormat.INTEGER
    assert (spec.rows_per_input, spec.n_read_phases, spec.n_conversion_phases) == (1, 1, 1)


# --- out-of-bound handling: aihwkit's iterative bound management -----------------------------------


def bm_spec(**changes) -> CrossbarSpec:
    # 2 rows, 4-bit unsigned inputs in one pulse, weights +-1 on 1-bit cells, a 3-bit bipolar
    # ADC at full_scale_ratio 0.2 of 2 x 15 x 1 = 30: full scale 6, lsb 2, codes -3..3
    base = dict(rows=2, cell_bits=1, dac_bits=4, input_bits=4, weight_bits=2,
                bound_management="iterative",
                adc=AdcSpec(resolution_bits=3, full_scale_ratio=0.2))
    return CrossbarSpec(**{**base, **changes})


def test_iterative_bound_management_halves_saturating_inputs_by_hand():
    x = np.array([[12, 10], [2, 1]])
    w = np.ones((2, 1), int)
    # vector 0: 22 -> 11 LSB saturates; halved (6, 5): 11 -> 5.5 -> 6 saturates; quartered
    # (3, 2) (2.5 rounds to even): 5 -> 2.5 -> code 2 -> 4, times 4 = 16 (exact 22).
    # vector 1: 3 -> 1.5 -> code 2 -> 4, never saturates, never re-run.
    np.testing.assert_array_equal(crossbar_matmul(x, w, bm_spec()), [[16.0], [4.0]])
    clipped = bm_spec(bound_management="none")
    np.testing.assert_array_equal(crossbar_matmul(x, w, clipped), [[6.0], [4.0]])  # code 3


def test_bound_management_stops_with_two_input_bits_left():
    # 4 magnitude bits: at most 2 halvings (aihwkit max_bm_res 1/4). (15, 15): 30 -> 15 LSB;
    # (8, 8): 8 LSB; (4, 4): 4 LSB still beyond 3 -> stop, clipped code 3 -> 6, times 4 = 24
    assert bm_spec().max_input_halvings == 2
    got = crossbar_matmul(np.array([[15, 15]]), np.ones((2, 1), int), bm_spec())
    np.testing.assert_array_equal(got, [[24.0]])


def test_bound_management_needs_a_bound_to_manage():
    # without clipping nothing saturates: the unbounded converter's 11 x 2 = 22 stands
    spec = bm_spec(adc=AdcSpec(resolution_bits=3, full_scale_ratio=0.2, clipping="none"))
    np.testing.assert_array_equal(crossbar_matmul(np.array([[12, 10]]), np.ones((2, 1), int), spec),
                                  [[22.0]])


@pytest.mark.parametrize("inputs", ["bipolar", "two_phase_digital"])
def test_bound_management_on_signed_inputs_by_hand(inputs):
    # 5-bit signed inputs (+-15, 4 magnitude bits, one pulse), x = (-12, -10) on w = (1, 1):
    # bipolar: -22 -> -11 LSB saturates; (-6, -5): -5.5 -> -6; (-3, -2): -2.5 -> -2 -> -4 x 4.
    # two-phase digital: the negative phase (12, 10) saturates the same way -> the same -16
    spec = bm_spec(input_bits=5, input_encoding=inputs)
    np.testing.assert_array_equal(crossbar_matmul(np.array([[-12, -10]]), np.ones((2, 1), int), spec),
                                  [[-16.0]])
