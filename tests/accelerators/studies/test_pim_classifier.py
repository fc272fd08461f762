"""The whole-network functional model: a seeded digits classifier, naive PIM failure, remedies."""

from __future__ import annotations

import numpy as np
import pytest

from accelerators.pim.adc import AdcSpec
from accelerators.pim.crossbar import CrossbarSpec
from accelerators.studies.pim_classifier import (
    QuantSpec,
    accuracy,
    calibrate_bn,
    deploy,
    effective_bits,
    finetune_pim,
    load_digits_split,
    logits,
    rescale_ranges,
    train_qat,
)
from workloads import SpecError

BIT_SERIAL = CrossbarSpec(rows=128, cell_bits=2, dac_bits=1, input_bits=4, weight_bits=4)


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    data = load_digits_split(rng)
    xtr, ytr, _, _ = data
    model = train_qat(xtr, ytr, sizes=(64, 64, 10), quant=QuantSpec(), rng=rng, steps=120)
    return model, data


def test_conventional_qat_learns_digits(trained):
    model, (_, _, xte, yte) = trained
    assert accuracy(deploy(model, None), xte, yte) > 0.9


def test_ideal_crossbars_reproduce_the_digital_logits_exactly(trained):
    model, (_, _, xte, _) = trained
    ideal = BIT_SERIAL.replace(ideal=True)
    np.testing.assert_allclose(logits(deploy(model, ideal), xte), logits(deploy(model, None), xte),
                               rtol=1e-12, atol=1e-12)


def test_naive_deployment_fails_at_low_adc_resolution_and_remedies_recover(trained):
    # PIM-QAT (arXiv 2209.08617): a conventionally quantized model deployed on PIM fails when
    # the ADC re-quantizes column sums coarsely. 4-bit bipolar ADC over the full 384-unit range.
    model, (xtr, ytr, xte, yte) = trained
    rng = np.random.default_rng(1)
    hw = BIT_SERIAL.replace(adc=AdcSpec(resolution_bits=4))
    dep = deploy(model, hw, rng)
    digital = accuracy(deploy(model, None), xte, yte)
    assert accuracy(dep, xte, yte, rng) < 0.3  # near chance (10 classes)
    rescaled = calibrate_bn(rescale_ranges(dep, xtr, 0.999, rng), xtr, rng)
    assert accuracy(rescaled, xte, yte, rng) > digital - 0.08
    # with enough bits the naive deployment is already digital-level
    dep10 = deploy(model, BIT_SERIAL.replace(adc=AdcSpec(resolution_bits=10)), rng)
    assert accuracy(dep10, xte, yte, rng) > digital - 0.02


def test_bn_calibration_matches_a_numpy_reference(trained):
    model, (xtr, _, _, _) = trained
    rng = np.random.default_rng(2)
    dep = deploy(model, BIT_SERIAL.replace(adc=AdcSpec(resolution_bits=6)), rng)
    cal = calibrate_bn(dep, xtr[:200], rng)
    # reference: the first layer's PIM pre-activations over the calibration set
    from accelerators.pim.crossbar import run

    q = model.quant
    xq = np.clip(np.rint(xtr[:200] / (q.input_clip / (2**q.act_bits - 1))), 0, 2**q.act_bits - 1)
    w_int, s_w = model.weight_int(0)
    z = (q.input_clip / (2**q.act_bits - 1)) * s_w * run(dep.crossbars[0], xq.astype(int)) + model.layers[0].b
    np.testing.assert_allclose(cal.model.layers[0].bn_mean, z.mean(0), rtol=1e-12)
    np.testing.assert_allclose(cal.model.layers[0].bn_var, z.var(0), rtol=1e-12)


def test_pim_aware_finetuning_runs_and_keeps_accuracy(trained):
    model, (xtr, ytr, xte, yte) = trained
    rng = np.random.default_rng(3)
    hw = BIT_SERIAL.replace(adc=AdcSpec(resolution_bits=5))
    tuned = finetune_pim(model, xtr, ytr, hw, rng, steps=15)
    dep = calibrate_bn(rescale_ranges(deploy(tuned, hw, rng), xtr, 0.999, rng), xtr, rng)
    assert accuracy(dep, xte, yte, rng) > 0.85


@pytest.mark.parametrize("bits, sigma, expected", [
    (8, 0.0, 8), (8, 0.5, 7), (8, 1.0, 6), (8, 2.0, 5), (4, 10.0, 2),
])
def test_effective_bits_by_hand(bits, sigma, expected):
    # ENOB = b - 0.5 log2(1 + 12 sigma^2): sigma 1 -> 8 - 1.85 = 6.15 -> 6
    assert effective_bits(bits, sigma) == expected


def test_training_is_deterministic_for_a_seed():
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    x = np.random.default_rng(0).random((50, 8))
    y = np.arange(50) % 3
    a = train_qat(x, y, sizes=(8, 4, 3), quant=QuantSpec(), rng=rng_a, steps=5)
    b = train_qat(x, y, sizes=(8, 4, 3), quant=QuantSpec(), rng=rng_b, steps=5)
    np.testing.assert_array_equal(a.layers[0].w, b.layers[0].w)


def test_bad_quant_spec_is_refused():
    with pytest.raises(SpecError, match="weight_bits"):
        QuantSpec(weight_bits=1)
    with pytest.raises(SpecError, match="act_clip"):
        QuantSpec(act_clip=0.0)
