"""The PIM cost model: mapping counts and energies by hand, the ISAAC preset against its Table I,
fit checks, reprogramming, the device contract, and the `edgesim pim map` command."""

from __future__ import annotations

import os
from functools import partial

import pytest

import tests.sim.test_contract as contract
from accelerators.pim.cli import register
from accelerators.pim.device import (
    FAMILY,
    OverflowPolicy,
    PimDevice,
)
from tests.helpers import installed_device
from sim import Registry, simulate
from sim.cli import main
from sim.spec import override
from workloads import DoesNotFitError, NetworkBuilder, SpecError, UnknownNameError, UnsupportedOpError
from workloads.gemm import gemm_of
from workloads.zoo import resnet18_cifar, resnet50


def cifar_w8a8():
    """The CIFAR ResNet-18 of the zoo at 8-bit fixed point (the pim_noise study's network)."""
    return resnet18_cifar().quantized("fixed", weight_bits=8, activation_bits=8)


PRESET = installed_device("pim-isaac").spec


def conv_op(cin=20, cout=30, k=3, hw=8, bits=8, groups=1):
    b = NetworkBuilder("one")
    x = b.input("x", (1, cin, hw, hw))
    b.conv2d(x, cout, k, padding=k // 2, groups=groups, name="conv")
    return b.build().quantized("fixed", weight_bits=bits)["conv"]


def test_gemm_views():
    def view(op):
        g = gemm_of(op)
        return g.groups, g.m, g.k, g.n

    assert view(conv_op()) == (1, 64, 180, 30)
    assert view(conv_op(cin=16, cout=16, groups=16)) == (16, 64, 9, 1)


def test_mapping_counts_by_hand():
    # 8-bit offset weights on 2-bit cells: 4 columns per weight; 8 input slices (bit-serial)
    layer = installed_device("pim-isaac").mapping(conv_op())
    assert (layer.row_tiles, layer.col_tiles) == (2, 1)  # ceil(180/128), ceil(30*4/128)
    assert layer.n_crossbars == 2
    assert layer.read_cycles == 64 * 8
    assert layer.conversions == 64 * 8 * 2 * 30 * 4
    assert layer.dac_drives == 64 * 8 * 180 * 1
    assert layer.cell_reads == 64 * 8 * 180 * 120


def test_energy_and_latency_by_hand():
    op = conv_op()
    cost = installed_device("pim-isaac").cost(op, "pim")
    detail = installed_device("pim-isaac").energy_detail_j(op)
    s = PRESET
    conversions = 64 * 8 * 2 * 30 * 4
    assert detail["adc"] == pytest.approx(conversions * 6.1035e-15 * 256)
    assert detail["dac"] == pytest.approx(64 * 8 * 180 * s.dac_energy_j)
    assert detail["cell"] == pytest.approx(64 * 8 * 180 * 120 * s.cell_read_energy_j)
    assert detail["shift_add"] == pytest.approx(conversions * s.shift_add_energy_j)
    unrolled = 64 * 180  # one byte per 8-bit input, per input vector
    assert detail["buffer"] == pytest.approx((unrolled + op.output_bytes) * s.buffer_energy_j_per_byte)
    assert cost.latency_s == pytest.approx(64 * 8 * 100e-9)  # vectors x input bits x 100 ns
    assert cost.energy_j["conversion"] == pytest.approx(detail["adc"] + detail["dac"])
    assert cost.energy_j["mac"] == pytest.approx(detail["cell"] + detail["shift_add"])


def test_isaac_per_event_energies_reproduce_table_one_powers():
    # ISAAC Table I (per IMA of 8 crossbars at full utilisation, one read per 100 ns):
    # ADC 16 mW, DAC 4 mW, memristor arrays 2.4 mW, shift-and-add 0.2 mW.
    s, cycle = PRESET, 100e-9
    per_cycle_conversions = 8 * 128  # every column of the 8 crossbars, one ADC per crossbar
    assert s.cycle_s == pytest.approx(cycle)
    assert per_cycle_conversions * s.adc_conversion_energy_j / cycle == pytest.approx(16e-3, rel=1e-3)
    assert 8 * 128 * s.dac_energy_j / cycle == pytest.approx(4e-3, rel=1e-3)
    assert 8 * 128 * 128 * s.cell_read_energy_j / cycle == pytest.approx(2.4e-3, rel=1e-3)
    assert per_cycle_conversions * s.shift_add_energy_j / cycle == pytest.approx(0.2e-3, rel=1e-3)
    assert s.n_crossbars == 168 * 12 * 8


def test_adc_dominates_and_scales_with_resolution():
    net = cifar_w8a8()
    energies = {}
    for bits in (6, 8, 10):
        dev = PimDevice(override(PRESET, {"adc_bits": bits}))
        energies[bits] = dev.network_energy_detail_j(net)["adc"]
    assert energies[8] / energies[6] == pytest.approx(4.0)
    assert energies[10] / energies[8] == pytest.approx(4.0)
    report = simulate(net, installed_device("pim-isaac"))
    assert installed_device("pim-isaac").network_energy_detail_j(net)["adc"] / report.energy_j > 0.5
    assert report.energy_by_component_j["conversion"] / report.energy_j > 0.5


def test_resnet18_cifar_fits_and_its_mapping_is_exact():
    net = cifar_w8a8()
    plan = installed_device("pim-isaac").plan(net)
    assert len(plan.layers) == 21  # stem + 16 block convs + 3 shortcuts + fc
    assert plan.n_crossbars == sum(l.n_crossbars for l in plan.layers)
    # by hand: stem 32*32*64*27; layer1 4 x 32*32*64*576; each later stage: a strided conv,
    # 3 convs and a 1x1 shortcut, 134,217,728 MACs; fc 512*10
    stage = 18_874_368 + 3 * 37_748_736 + 2_097_152
    assert net.macs == 1_769_472 + 4 * 37_748_736 + 3 * stage + 5_120 == 555_422_720
    # stationary 8-bit weights: 4 cells per weight on 2-bit cells, per-layer tiling rounded up
    assert plan.n_crossbars >= net.params * 4 / (128 * 128)


def test_network_that_does_not_fit_names_layer_and_shortfall():
    chip = PimDevice(override(PRESET, {"n_crossbars": 100}))
    with pytest.raises(DoesNotFitError, match=r"run out at layer '.*' \(short by \d+\)"):
        chip.plan(cifar_w8a8())
    with pytest.raises(DoesNotFitError, match=r"layer 'layer4.0.conv2' needs \d+ crossbars"):
        chip.cost(cifar_w8a8()["layer4.0.conv2"], "pim")


def test_reprogramming_costs_writes_instead_of_failing():
    small = override(PRESET, {"n_crossbars": 100, "on_overflow": OverflowPolicy.REPROGRAM})
    op = cifar_w8a8()["layer4.0.conv2"]
    cost = PimDevice(small).cost(op, "pim")
    layer = PimDevice(small).mapping(op)
    assert PimDevice(small).energy_detail_j(op)["write"] == pytest.approx(layer.cells * small.write_energy_j_per_cell)
    rounds = -(-layer.n_crossbars // 100)
    assert cost.prefetch[0].engine == "writer"
    assert cost.prefetch[0].duration_s == pytest.approx(rounds * 128 * small.write_time_s_per_row)
    assert PimDevice(small).plan(cifar_w8a8()).n_crossbars > 100


def test_float_layers_deploy_at_sixteen_bits_and_wide_integers_do_not_fit():
    b = NetworkBuilder("f")
    b.linear(b.input("x", (1, 64)), 64, name="fc")
    fp = b.build()
    assert installed_device("pim-isaac").operand_bits(fp["fc"]) == (16, 16)
    with pytest.raises(DoesNotFitError, match="at most 16-bit"):
        installed_device("pim-isaac").cost(fp.quantized("fixed", weight_bits=24)["fc"], "pim")


def test_unsupported_fused_combination_is_a_typed_error():
    b = NetworkBuilder("f")
    x = b.softmax(b.input("x", (1, 8)), name="sm")
    b.act(x, "relu", name="r")
    fused = b.build().fused()
    with pytest.raises(UnsupportedOpError, match="unfuse"):
        installed_device("pim-isaac").cost(fused.ops[0], "pim")


@pytest.mark.parametrize("name", ["pim-isaac", "pim-isaac-reprogram"])
def test_device_contract(name, monkeypatch):
    factory = partial(installed_device, name)
    target = factory().targets[0]
    contract.test_registered_device_builds_and_declares_itself(factory)
    contract.test_supported_kinds_is_a_frozenset_of_op_kinds(factory, target)
    contract.test_cost_is_well_formed(factory, target)
    contract.test_cost_is_pure(factory, target)
    contract.test_unsupported_kinds_are_all_refused_at_once_before_the_run(factory, target)
    contract.test_cost_touches_neither_files_nor_simpy(factory, target, monkeypatch)


def test_bad_preset_is_a_spec_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("source: test\nname: x\n")
    with pytest.raises(SpecError, match="bad.yaml: adc_bits: required but missing"):
        FAMILY.device(path)
    with pytest.raises(UnknownNameError, match="unknown pim preset 'no-such-chip'.*presets: \\['isaac'"):
        FAMILY.device("no-such-chip")
    with pytest.raises(SpecError, match="adc_walden_fom_j: expected greater than 0, got 0.0"):
        override(PRESET, {"adc_walden_fom_j": 0.0})


def registry():
    return Registry.of_families({"pim": FAMILY}, workloads={"resnet50": resnet50})


def test_cli_map_prints_layers(capsys):
    assert main(["pim", "map", "resnet50", "--quant", "w8a8", "--arg", "resolution=32"],
                registry=registry(), commands=[register]) == 0
    out = capsys.readouterr().out
    assert "crossbars" in out and "layer4.2.conv3" in out


def test_cli_map_reports_a_network_that_does_not_fit(capsys, tmp_path):
    preset = tmp_path / "tiny.yaml"
    text = (os.path.dirname(__import__("accelerators.pim.device", fromlist=["x"]).__file__)
            + "/presets/isaac.yaml")
    with open(text, encoding="utf-8") as f:
        preset.write_text(f.read().replace("n_crossbars: 16128", "n_crossbars: 10"))
    status = main(["pim", "map", "resnet50", "--device", str(preset)], registry=registry(),
                  commands=[register])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("edgesim: error: network 'resnet50") and "short by" in err
