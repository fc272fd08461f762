"""`edgesim mcu plan` through sim.cli.main with a registry built from dicts."""

from __future__ import annotations

import pytest

from devices.mcu.cli import register
from devices.mcu.device import FAMILY
from sim import Registry
from sim.cli import main
from tests.devices.mcu.conftest import residual_block
from workloads.zoo import mcunet, mobilenetv2


@pytest.fixture
def registry():
    devices = {name: (lambda name=name: FAMILY.device(name)) for name in FAMILY.preset_names()}
    return Registry(devices=devices, families={"mcu": FAMILY},
                    workloads={"mobilenetv2": mobilenetv2, "mcunet": mcunet,
                               "res": lambda: residual_block()})


def run(registry, *argv):
    return main(["mcu", "plan", *argv], registry=registry, commands=[register])


def test_a_model_that_fits(registry, capsys):
    assert run(registry, "mcunet", "--device", "stm32f746") == 0
    out = capsys.readouterr().out
    assert "peak SRAM      208.0 kB at 'features.2.conv.0.0+1+2'" in out
    # The network's own peak (what `edgesim run` reports at int8), before in-place kernels.
    assert "in place       saves 125.0 kB of the network's 325.0 kB activation peak" in out
    assert "flash          862.7 kB" in out
    assert "fits           yes, layer by layer" in out
    assert "patch plan     patch-based: split after" in out


def test_a_model_that_does_not_fit_says_where_and_what_patching_needs(registry, capsys):
    assert run(registry, "mobilenetv2", "--arg", "width=0.35", "--device", "stm32f412") == 1
    out = capsys.readouterr().out
    assert "fits           NO, layer by layer: SRAM overflows by 438.0 kB at op " \
           "'features.2.conv.0.0+1+2'" in out
    assert "largest tensor 'features.2.conv.0.0+1+2' (588.0 kB)" in out
    assert "patch-based: split after 'features.4.conv.2+3'" in out
    assert "SRAM fits with patch-based inference (96.2 kB <= 256.0 kB)" in out
    assert "flash overflows by" in out  # 1.68 M parameters: still no fit, so exit status 1


def test_every_layer_with_a_trace_file(registry, capsys, tmp_path):
    from workloads.trace import save

    path = tmp_path / "res.yaml"
    save(residual_block(), path)
    assert run(registry, str(path), "--device", "nrf52840", "--layers") == 0
    out = capsys.readouterr().out
    assert "project+add" in out and "depthwise" in out


@pytest.mark.parametrize("argv, message", [
    (["mcunet", "--device", "stm32f7"], "unknown device 'stm32f7' (did you mean 'stm32f746'?)"),
    (["mcunett", "--device", "stm32f746"], "unknown model 'mcunett'"),
    (["mcunet", "--device", "stm32f746", "--arg", "resolution=1"], "'resolution' must be an int"),
    (["mcunet", "--device", "stm32f746", "--max-latency-overhead", "-1"], "must be >= 0"),
])
def test_bad_input_is_one_line_and_exit_2(registry, capsys, argv, message):
    assert run(registry, *argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("edgesim: error: ") and message in err and err.count("\n") == 1
