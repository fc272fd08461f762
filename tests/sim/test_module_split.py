"""sim/engine.py and sim/device.py were split along their seams; every public name they held is
still importable from them (and from `sim` where it was), as the very object of its new home."""

from __future__ import annotations

import importlib

import pytest

import sim
import sim.device
import sim.engine

ENGINE_NAMES = {
    "PS_PER_S": "sim.clock",
    "MAX_CLOCK_PS": "sim.clock",
    "to_ps": "sim.clock",
    "Stream": "sim.stream",
    "MAX_OP_INSTANCES": "sim.checks",
    "check_supported": "sim.checks",
    "simulate": "sim.engine",
}
"""Every public name sim/engine.py defined before the split -> the module that defines it now."""

DEVICE_NAMES = {
    "BoundBy": "sim.vocabulary",
    "MemoryLevel": "sim.vocabulary",
    "PhaseLabel": "sim.vocabulary",
    "precision_label": "sim.vocabulary",
    "Phase": "sim.cost",
    "Cost": "sim.cost",
    "EngineKind": "sim.device",
    "EngineSpec": "sim.device",
    "SpecNamed": "sim.device",
    "Device": "sim.device",
    "NetworkCheck": "sim.device",
    "Transfer": "sim.device",
    "NetworkBinding": "sim.device",
    "FREE_TRANSFER": "sim.device",
    "DeviceBase": "sim.device",
    "transfer_cost": "sim.device",
    "check_network": "sim.device",
    "bind_network": "sim.device",
}
"""Every public name sim/device.py defined before the split -> the module that defines it now."""


@pytest.mark.parametrize("old, names", [(sim.engine, ENGINE_NAMES), (sim.device, DEVICE_NAMES)],
                         ids=["sim.engine", "sim.device"])
def test_old_paths_give_the_new_homes_objects(old, names):
    for name, home in names.items():
        assert getattr(old, name) is getattr(importlib.import_module(home), name), name


def test_package_exports_unchanged():
    for name in sim.__all__:
        assert getattr(sim, name) is not None
    assert sim.Stream is sim.engine.Stream
    assert sim.Cost is sim.device.Cost


def test_energy_component_keeps_its_str_behaviour():
    """EnergyComponent now takes __str__/__format__ from the shared Vocabulary base."""
    from sim.energy import EnergyComponent
    from sim.vocabulary import Vocabulary

    assert issubclass(EnergyComponent, Vocabulary)
    assert str(EnergyComponent.OFF_CHIP) == "off_chip"
    assert f"{EnergyComponent.MAC:>5}" == "  mac"
    assert EnergyComponent.MAC == "mac" and hash(EnergyComponent.MAC) == hash("mac")
