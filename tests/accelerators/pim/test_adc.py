"""ADC conversion against hand-computed codes, its non-idealities, noise statistics and energy."""

from __future__ import annotations

import numpy as np
import pytest

from accelerators.pim.adc import (
    AdcSpec,
    Clipping,
    NoiseReference,
    Rounding,
    bow_inl,
    conversion_energy_j,
    convert,
)
from workloads import SpecError


def test_unipolar_three_bit_codes_by_hand():
    # 3 bits unipolar, full scale 14: lsb = 14 / 7 = 2; codes round(s / 2), clipped to 0..7
    s = np.array([0.0, 0.9, 1.0, 3.2, 13.0, 14.0, 20.0, -3.0])
    got = convert(s, 14.0, False, AdcSpec(resolution_bits=3), None)
    np.testing.assert_array_equal(got, [0, 0, 0, 4, 12, 14, 14, 0])  # 1.0/2 = 0.5 rounds to even 0


def test_bipolar_three_bit_codes_by_hand():
    # 3 bits bipolar: codes -3..3, full scale 6 -> lsb 2
    s = np.array([-7.0, -5.0, -2.9, 0.4, 2.0, 5.1, 9.0])
    got = convert(s, 6.0, True, AdcSpec(resolution_bits=3), None)
    np.testing.assert_array_equal(got, [-6, -4, -2, 0, 2, 6, 6])


def test_gain_and_offset_by_hand():
    spec = AdcSpec(resolution_bits=4, gain_error_ratio=0.10, offset_lsb=1.0)
    # lsb = 15 / 15 = 1; v = s * 1.1 + 1
    # 0 -> 1; 5 -> 6.5 -> 6 (half to even); 10 -> 12; 14 -> 16.4 -> clipped to 15
    got = convert(np.array([0.0, 5.0, 10.0, 14.0]), 15.0, False, spec, None)
    np.testing.assert_array_equal(got, [1, 6, 12, 15])


def test_inl_curve_is_added_in_lsb_at_the_position_in_range():
    spec = AdcSpec(resolution_bits=4, inl_lsb=(0.0, 2.0, 0.0))  # +2 LSB at mid-range
    # lsb = 1, range 0..15: s = 7.5 -> t = 0.5 -> +2 -> 9.5 -> 10 (round half even); s = 0 -> 0
    got = convert(np.array([0.0, 7.5, 15.0, 3.75]), 15.0, False, spec, None)
    np.testing.assert_array_equal(got, [0, 10, 15, 5])  # 3.75 + 1.0 = 4.75 -> 5


def test_bow_inl_shape():
    curve = bow_inl(2.0, 5)
    np.testing.assert_allclose(curve, [0, 1.5, 2.0, 1.5, 0])


@pytest.mark.parametrize("reference, std, expected_sigma", [
    (NoiseReference.LSB, 2.0, 2.0),  # unipolar 8 bits, full scale 255: lsb = 1
    (NoiseReference.FULL_SCALE, 0.01, 0.01 * 255.0),
])
def test_thermal_noise_std_matches_the_spec(reference, std, expected_sigma):
    spec = AdcSpec(resolution_bits=8, noise_std=std, noise_reference=reference)
    rng = np.random.default_rng(1)
    s = np.full(200_000, 100.3)
    got = convert(s, 255.0, False, spec, rng)
    # noise >= 1 LSB dithers the quantiser, which then adds lsb^2 / 12 of variance
    expected = np.sqrt(expected_sigma**2 + 1.0 / 12)
    assert got.std() == pytest.approx(expected, rel=0.05)
    assert got.mean() == pytest.approx(100.3, abs=0.05)


def test_noise_is_deterministic_for_a_seed():
    spec = AdcSpec(resolution_bits=6, noise_std=1.0)
    s = np.linspace(0, 60, 50)
    a = convert(s, 63.0, False, spec, np.random.default_rng(7))
    b = convert(s, 63.0, False, spec, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)


def test_walden_energy_doubles_per_bit():
    # ISAAC's 8-bit ADC: 2 mW at 1.28 GS/s = 1.5625 pJ per conversion -> FOM 6.1 fJ/step
    fom = 1.5625e-12 / 256
    assert conversion_energy_j(8, fom) == pytest.approx(1.5625e-12)
    assert conversion_energy_j(4, fom) == pytest.approx(1.5625e-12 / 16)


@pytest.mark.parametrize("changes, match", [
    ({"resolution_bits": 0}, "resolution_bits"),
    ({"resolution_bits": 17}, "resolution_bits"),
    ({"full_scale_ratio": 0.0}, "full_scale_ratio"),
    ({"full_scale_ratio": 1.5}, "full_scale_ratio"),
    ({"gain_error_ratio": -1.0}, "gain_error_ratio"),
    ({"noise_std": -0.1}, "noise_std"),
    ({"inl_lsb": (1.0,)}, "inl_lsb"),
    ({"noise_reference": "volts"}, "noise_reference"),
    ({"rounding": "ceil"}, "rounding"),
    ({"clipping": "wrap"}, "clipping"),
])
def test_bad_specs_are_refused(changes, match):
    with pytest.raises(SpecError, match=match):
        AdcSpec(**changes)


def test_noise_without_generator_and_one_bit_bipolar_are_refused():
    with pytest.raises(SpecError, match="Generator"):
        convert(np.zeros(3), 1.0, False, AdcSpec(noise_std=1.0), None)
    with pytest.raises(SpecError, match="bipolar"):
        convert(np.zeros(3), 1.0, True, AdcSpec(resolution_bits=1), None)
    with pytest.raises(SpecError, match="full scale"):
        convert(np.zeros(3), 0.0, False, AdcSpec(), None)


# --- rounding and clipping: separate settings ------------------------------------------------------

S_HAND = np.array([0.9, 1.0, 3.2, 13.0, 20.0, -3.0])
"""Column sums for a 3-bit unipolar converter of full scale 14: lsb 2, codes 0..7."""


@pytest.mark.parametrize("rounding, clipping, expected", [
    # s / lsb = 0.45, 0.5, 1.6, 6.5, 10, -1.5
    ("nearest", "saturate", [0, 0, 4, 12, 14, 0]),  # today's converter: rint, then clip 0..7
    ("floor", "saturate", [0, 0, 2, 12, 14, 0]),  # floor 0, 0, 1, 6, 10, -2 -> clip
    ("none", "saturate", [0.9, 1.0, 3.2, 13.0, 14.0, 0.0]),  # no steps; the bound still clips
    ("nearest", "none", [0, 0, 4, 12, 20, -4]),  # rint 0, 0, 2, 6, 10, -2; nothing clips
    ("floor", "none", [0, 0, 2, 12, 20, -4]),
    ("none", "none", S_HAND),  # an ideal digitiser
])
def test_rounding_and_clipping_by_hand(rounding, clipping, expected):
    spec = AdcSpec(resolution_bits=3, rounding=rounding, clipping=clipping)
    np.testing.assert_array_equal(convert(S_HAND, 14.0, False, spec, None), expected)


def test_defaults_are_nearest_and_saturate():
    assert AdcSpec().rounding is Rounding.NEAREST and AdcSpec().clipping is Clipping.SATURATE


def test_stochastic_rounding_picks_the_two_neighbouring_codes_without_bias():
    # s = 3.2 with lsb 2 is 1.6 LSB: code 2 (-> 4) with probability 0.6, code 1 (-> 2) with 0.4
    spec = AdcSpec(resolution_bits=3, rounding="stochastic")
    got = convert(np.full(100_000, 3.2), 14.0, False, spec, np.random.default_rng(0))
    assert set(np.unique(got)) == {2.0, 4.0}
    assert np.mean(got == 4.0) == pytest.approx(0.6, abs=0.01)
    assert got.mean() == pytest.approx(3.2, abs=0.01)
    with pytest.raises(SpecError, match="stochastic rounding needs a numpy.random.Generator"):
        convert(np.zeros(2), 14.0, False, spec, None)


def aihwkit_output_stage(y, out_res, out_bound):
    """IBM aihwkit's torch tile ADC stage (AnalogMVM._finalize_output and UniformQuantize, read
    in src/aihwkit/simulator/tiles/): step = out_res x 2 x out_bound, y -> round(y / step) x step
    (out_res <= 0: skipped), then clamp to +-out_bound (out_bound <= 0: no bound)."""
    if out_res > 0:
        step = out_res * 2.0 * out_bound
        y = np.round(y / step) * step
    if out_bound > 0:
        y = np.clip(y, -out_bound, out_bound)
    return y


@pytest.mark.parametrize("bits", [3, 6, 9])
@pytest.mark.parametrize("rounding", ["nearest", "none"])
def test_bipolar_converter_is_aihwkits_output_bound_and_resolution(bits, rounding):
    # a bipolar b-bit ADC of full scale F = aihwkit out_res 1 / (2**b - 2), out_bound F;
    # rounding 'none' = out_res <= 0. (aihwkit has no "round but never clip": its step is
    # out_res x 2 x out_bound, so out_bound <= 0 leaves no step; here the hand cases above
    # cover clipping 'none'.)
    bound = 12.0  # aihwkit's default out_bound
    y = np.random.default_rng(5).uniform(-20, 20, 20_000)
    ours = convert(y, bound, True, AdcSpec(resolution_bits=bits, rounding=rounding), None)
    res = 1.0 / (2**bits - 2) if rounding == "nearest" else 0.0
    np.testing.assert_allclose(ours, aihwkit_output_stage(y, res, bound), rtol=1e-12, atol=1e-12)


def test_saturation_is_reported_before_clipping():
    # codes 0, 0, 2, 6 (6.5 to even), 10, -2 against the range 0..7; the exact top code is not
    # beyond it (aihwkit's test: out <= bound after rounding)
    hit = np.zeros(S_HAND.shape, dtype=bool)
    convert(S_HAND, 14.0, False, AdcSpec(resolution_bits=3), None, saturated=hit)
    np.testing.assert_array_equal(hit, [False, False, False, False, True, True])
    top = np.zeros(1, dtype=bool)
    convert(np.array([14.0]), 14.0, False, AdcSpec(resolution_bits=3), None, saturated=top)
    assert not top[0]
