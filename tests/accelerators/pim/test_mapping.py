"""Crossbar mapping of signed-input encodings and float weights: counts, energy and time by hand
on one linear layer of the ISAAC chip, and the chip fields in device files and --set."""

from __future__ import annotations

import pytest

from accelerators.pim.crossbar import InputEncoding, WeightFormat
from accelerators.pim.device import PimDevice
from sim import Registry
from sim.spec import override
from workloads import NetworkBuilder, SpecError
from tests.helpers import installed_device

REGISTRY = Registry.from_entry_points()
FOM_J = 6.1035e-15  # the ISAAC preset's Walden figure of merit; E_conv = FOM x 2**8


def linear_op(k=200, n=10):
    b = NetworkBuilder("one")
    x = b.input("x", (1, k))
    b.linear(x, n, name="fc")
    return b.build().quantized("fixed", weight_bits=8, activation_bits=8)["fc"]


# ISAAC: 128 x 128 crossbars, offset weights on 2-bit cells (8-bit weights: 4 columns each),
# bit-serial 1-bit DACs, 100 ns cycle. A 200 -> 10 linear layer, one input vector.
# 8-bit signed inputs have 7 magnitude bits: 7 input slices instead of 8.
@pytest.mark.parametrize("encoding, row_tiles, read_cycles, conversions, dac_drives, cells", [
    # row tiles ceil(K x rows per input / 128); conversions = slices x phases converted x
    # row tiles x 10 outputs x 4 weight slices; DAC pulses = read cycles x rows used
    ("unsigned", 2, 8, 8 * 2 * 10 * 4, 8 * 200, 200 * 40),
    ("differential_rows", 4, 7, 7 * 4 * 10 * 4, 7 * 400, 400 * 40),
    ("bipolar", 2, 7, 7 * 2 * 10 * 4, 7 * 200, 200 * 40),
    ("two_phase_analog", 2, 14, 7 * 2 * 10 * 4, 14 * 200, 200 * 40),  # two reads, one conversion
    ("two_phase_digital", 2, 14, 14 * 2 * 10 * 4, 14 * 200, 200 * 40),
])
def test_signed_input_mapping_by_hand(encoding, row_tiles, read_cycles, conversions, dac_drives,
                                      cells):
    chip = PimDevice(override(installed_device("pim-isaac").spec, {"input_encoding": encoding}))
    op = linear_op()
    layer = chip.mapping(op)
    assert (layer.row_tiles, layer.col_tiles) == (row_tiles, 1)
    assert (layer.read_cycles, layer.conversions) == (read_cycles, conversions)
    assert (layer.dac_drives, layer.cells) == (dac_drives, cells)
    cost = chip.cost(op, "pim")
    assert chip.energy_detail_j(op)["adc"] == pytest.approx(conversions * FOM_J * 256)
    assert cost.latency_s == pytest.approx(read_cycles * 100e-9)


def test_float_weights_take_one_cell_per_weight_by_hand():
    chip = PimDevice(override(installed_device("pim-isaac").spec, {"weight_format": "float"}))
    layer = chip.mapping(linear_op())
    # offset encoding: one column per weight, no slices -> 10 columns, 8 x 2 x 10 conversions
    assert layer.spec.columns_per_weight == 1
    assert (layer.conversions, layer.cells) == (8 * 2 * 10, 200 * 10)


def test_defaults_keep_the_isaac_mapping():
    spec = installed_device("pim-isaac").spec
    assert spec.input_encoding is InputEncoding.UNSIGNED and spec.weight_format is WeightFormat.INTEGER


def test_chip_fields_come_from_files_and_set(tmp_path):
    path = tmp_path / "signed.yaml"
    path.write_text("base: pim-isaac\ninput_encoding: two_phase_digital\nweight_format: float\n",
                    encoding="utf-8")
    spec = REGISTRY.load_device(path).spec
    assert spec.input_encoding is InputEncoding.TWO_PHASE_DIGITAL
    assert spec.weight_format is WeightFormat.FLOAT
    via_set = REGISTRY.device("pim-isaac", overrides={"input_encoding": "two_phase_digital",
                                                      "weight_format": "float"})
    assert via_set.spec == spec.model_copy(update={"name": via_set.spec.name,
                                                   "description": via_set.spec.description,
                                                   "source": via_set.spec.source})


def test_a_bipolar_input_encoding_needs_a_sign_bit_in_the_adc(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("base: pim-isaac\ninput_encoding: bipolar\nadc_bits: 1\n", encoding="utf-8")
    with pytest.raises(SpecError) as err:
        REGISTRY.load_device(path)
    assert str(err.value) == (f"{path}: adc_bits: expected at least 2 with signed-input encoding "
                              "'bipolar', got 1")
    bad = tmp_path / "typo.yaml"
    bad.write_text("base: pim-isaac\ninput_encoding: signed\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"input_encoding: expected 'unsigned', 'differential_rows'"):
        REGISTRY.load_device(bad)


@pytest.mark.parametrize("encoding, rows_written", [("unsigned", 100), ("differential_rows", 128)])
def test_reprogramming_writes_the_rows_differential_inputs_use(encoding, rows_written):
    # a 100-input layer on 128-row crossbars: 100 rows, or 2 x 100 = 200 rows over two row
    # tiles written in parallel (128 rows each) at the preset's 1 us per row
    chip = PimDevice(override(installed_device("pim-isaac-reprogram").spec, {"input_encoding": encoding}))
    (write,) = chip.cost(linear_op(k=100), "pim").prefetch
    assert write.duration_s == pytest.approx(rows_written * 1e-6)
