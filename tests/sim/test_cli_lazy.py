"""Plug-in commands are imported only when called, so a plain run does not pay for them."""

from __future__ import annotations

import subprocess
import sys

from sim.cli import plugin_commands


def test_only_the_called_plugin_command_is_loaded():
    assert plugin_commands(["run", "resnet18", "--device", "roofline-adreno650"]) == []
    assert plugin_commands(["sweep", "spec.yaml"]) == []
    (mcu,) = plugin_commands(["mcu", "plan", "mcunet", "--device", "stm32f746"])
    assert mcu.__module__ == "devices.mcu.cli"
    everything = {f.__module__ for f in plugin_commands(["--help"])}
    assert {"devices.mcu.cli", "accelerators.fpga.cli"} <= everything


def test_a_run_imports_neither_pyrtl_nor_scipy_spatial_nor_another_family():
    # The registry lists every family's presets by reading their files, not by importing the
    # families: a run on a mobile board imports no other device package.
    code = ("import sys, sim.cli; status = sim.cli.main(['run', 'resnet18', '--device', "
            "'snapdragon865']); heavy = [m for m in ('pyrtl', 'scipy.spatial') if m in sys.modules]; "
            "print(heavy); print(sorted({'.'.join(m.split('.')[:2]) for m in sys.modules "
            "if m.startswith(('devices.', 'accelerators.'))})); sys.exit(status)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-2:] == ["[]", "['devices.mobile']"]

