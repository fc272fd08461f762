"""PIM chip specs as data: presets round trip through `device show`, the reprogramming variant
is one spec field, `base:` files and `--set` change costs as the physics says, and the
cross-field checks are one-line `FILE: KEY: expected ..., got ...` errors."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from accelerators.pim.adc import AdcSpec
from accelerators.pim.cli import register
from accelerators.pim.crossbar import CrossbarSpec
from accelerators.pim.device import FAMILY, OverflowPolicy, PimChipSpec
from sim import Registry, simulate
from sim.cli import main
from sim.spec import dump_yaml, override, spec_from_file
from workloads import DoesNotFitError, SpecError
from workloads.zoo import resnet18_cifar


def cifar_w8a8():
    """The CIFAR ResNet-18 of the zoo at 8-bit fixed point (the pim_noise study's network)."""
    return resnet18_cifar().quantized("fixed", weight_bits=8, activation_bits=8)


REGISTRY = Registry.from_entry_points()
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "devices"


@pytest.mark.parametrize("preset", FAMILY.preset_names())
def test_device_show_loads_back_to_an_equal_spec(preset, tmp_path):
    spec = FAMILY.preset(preset)
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["device", "show", spec.name], registry=REGISTRY, commands=()) == 0
    assert out.getvalue() == dump_yaml(spec)
    path = tmp_path / "shown.yaml"
    path.write_text(out.getvalue(), encoding="utf-8")
    assert spec_from_file(path, family=FAMILY) == spec
    assert REGISTRY.load_device(path).spec == spec


def test_the_reprogramming_variant_is_the_isaac_preset_with_one_policy_field():
    isaac, variant = FAMILY.preset("isaac"), FAMILY.preset("isaac_reprogram")
    assert isaac.on_overflow is OverflowPolicy.RAISE
    assert variant.on_overflow is OverflowPolicy.REPROGRAM
    same = {"name": variant.name, "description": variant.description, "source": variant.source,
            "on_overflow": "reprogram"}
    assert override(isaac, same) == variant  # every number in step with the isaac preset
    assert REGISTRY.device("pim-isaac-reprogram").spec == variant


def test_a_base_file_with_reprogram_equals_the_reprogram_preset(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("base: pim-isaac\non_overflow: reprogram\nn_crossbars: 100\n", encoding="utf-8")
    net = cifar_w8a8()
    small = REGISTRY.resolve_device(str(path))
    with pytest.raises(DoesNotFitError, match=r"short by"):  # the same chip without reprogramming
        simulate(net, REGISTRY.device("pim-isaac", overrides={"n_crossbars": 100}))
    same = REGISTRY.device("pim-isaac-reprogram", overrides={"n_crossbars": 100})
    assert simulate(net, small).latency_s == simulate(net, same).latency_s
    # time-multiplexing 100 crossbars costs writes the resident chip never pays
    resident = simulate(net, REGISTRY.device("pim-isaac"))
    # (the chip's own event detail: the shared account books writes as on_chip)
    assert small.network_energy_detail_j(net)["write"] > 0
    assert "write" not in REGISTRY.device("pim-isaac").network_energy_detail_j(net)
    assert simulate(net, small).energy_by_component_j["on_chip"] > resident.energy_by_component_j["on_chip"]


def test_fewer_adc_bits_in_a_base_file_cut_adc_energy_by_the_walden_law(tmp_path):
    # E_conv = FOM x 2**bits: two bits fewer is a quarter of the ADC energy; the conversion count
    # and every other component are unchanged.
    path = tmp_path / "isaac-6b.yaml"
    path.write_text("base: pim-isaac\nadc_bits: 6\n", encoding="utf-8")
    net = cifar_w8a8()
    base_chip, six_chip = REGISTRY.device("pim-isaac"), REGISTRY.resolve_device(str(path))
    base, six = base_chip.network_energy_detail_j(net), six_chip.network_energy_detail_j(net)
    assert six["adc"] == pytest.approx(base["adc"] / 4, rel=1e-12)
    assert {k: v for k, v in six.items() if k != "adc"} == pytest.approx(
        {k: v for k, v in base.items() if k != "adc"}, rel=1e-12)
    # In the shared account only 'conversion' (ADC + DAC) moves, by exactly the ADC's saving.
    base_r = simulate(net, base_chip).energy_by_component_j
    six_r = simulate(net, six_chip).energy_by_component_j
    assert base_r["conversion"] - six_r["conversion"] == pytest.approx(0.75 * base["adc"], rel=1e-9)
    assert {k: v for k, v in six_r.items() if k != "conversion"} == pytest.approx(
        {k: v for k, v in base_r.items() if k != "conversion"}, rel=1e-12)


def test_the_cycle_is_the_slower_of_the_crossbar_read_and_the_adcs():
    # cycle = max(read_cycle_s, cols_per_adc / adc_conversions_per_s) = max(100 ns, 100 ns)
    net = cifar_w8a8()
    base = simulate(net, REGISTRY.device("pim-isaac")).latency_s
    faster_read = REGISTRY.device("pim-isaac", overrides={"read_cycle_s": 50e-9})
    assert simulate(net, faster_read).latency_s == base  # the ADCs still need 100 ns
    slower_read = REGISTRY.device("pim-isaac", overrides={"read_cycle_s": 200e-9})
    assert simulate(net, slower_read).latency_s > base
    # ...and the other way round: faster ADCs wait for the 100 ns read, slower ones set the cycle
    faster_adc = REGISTRY.device("pim-isaac", overrides={"adc_conversions_per_s": 2.56e9})
    assert simulate(net, faster_adc).latency_s == base
    slower_adc = REGISTRY.device("pim-isaac", overrides={"adc_conversions_per_s": 0.64e9})
    assert simulate(net, slower_adc).latency_s > base


def test_cross_field_check_is_a_one_line_error_naming_file_and_key(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("base: pim-isaac\nencoding: differential\nadc_bits: 1\n", encoding="utf-8")
    with pytest.raises(SpecError) as err:
        REGISTRY.load_device(path)
    assert str(err.value) == (f"{path}: adc_bits: expected at least 2 with differential "
                              "encoding, got 1")
    assert main(["pim", "map", "resnet18", "--device", str(path)], registry=REGISTRY,
                commands=[register]) == 2
    assert capsys.readouterr().err == f"edgesim: error: {err.value}\n"
    # offset encoding converts unipolar sums: one bit is a (poor) valid ADC
    ok = override(FAMILY.preset("isaac"), {"adc_bits": 1})
    assert isinstance(ok, PimChipSpec) and ok.adc_bits == 1


def test_python_built_crossbar_specs_raise_typed_errors_naming_the_field():
    with pytest.raises(SpecError, match=r"^CrossbarSpec: dac_bits: expected at most input_bits "
                                        r"\(4\), got 8$"):
        CrossbarSpec(input_bits=4, dac_bits=8)
    with pytest.raises(SpecError, match=r"^AdcSpec: noise_std: expected greater than or equal "
                                        r"to 0, got -1.0$"):
        AdcSpec(noise_std=-1.0)
    assert CrossbarSpec(rows=64).replace(ideal=True).ideal is True
    with pytest.raises(SpecError, match="bipolar"):
        CrossbarSpec().replace(adc=AdcSpec(resolution_bits=1))


def test_pim_map_takes_set_overrides(capsys):
    argv = ["pim", "map", "resnet18", "--quant", "w8a8", "--set", "n_crossbars=10"]
    assert main(argv, registry=REGISTRY, commands=[register]) == 2
    assert "short by" in capsys.readouterr().err
    argv = ["pim", "map", "resnet18", "--quant", "w8a8", "--device", "pim-isaac-reprogram",
            "--set", "n_crossbars=10"]
    assert main(argv, registry=REGISTRY, commands=[register]) == 0
    assert "of 10 crossbars" in capsys.readouterr().out


def test_the_example_device_file_runs(capsys):
    path = EXAMPLES / "isaac-edge.yaml"
    device = REGISTRY.resolve_device(str(path))
    assert device.spec.n_crossbars == 14 * 12 * 8
    assert device.spec.on_overflow is OverflowPolicy.REPROGRAM
    assert device.spec.adc_walden_fom_j == FAMILY.preset("isaac").adc_walden_fom_j
    assert main(["run", "resnet18", "--quant", "w8a8", "--device", str(path)],
                registry=REGISTRY, commands=()) == 0
    assert "pim-isaac-edge" in capsys.readouterr().out
