"""Plug-in isolation (issue 13): a failing plug-in is one line naming it, and breaks nothing else.

Command plug-ins are handed to `main(commands=...)`, or found through a fake distribution (a
`*.dist-info` folder on `sys.path`, as tests/sim/test_plugins.py does); device code that raises
is driven through `simulate` with hand-made devices.
"""

from __future__ import annotations

import math

import pytest

from sim import Cost, Phase, Registry, simulate
from sim.cli import main, plugin_commands
from sim.registry import PluginError
from tests.helpers import FixedCostDevice, chain
from tests.sim.test_plugins import fake_distribution


@pytest.fixture
def registry():
    return Registry(devices={"fixed": lambda: FixedCostDevice(costs={})},
                    workloads={"tiny": lambda: chain(2, 8, name="tiny")})


def broken_register(sub):
    raise ZeroDivisionError("oops")


def test_a_command_plugin_that_fails_to_register_breaks_only_itself(registry, capsys):
    broken_register.entry_point_name = "broken"
    assert main(["list"], registry=registry, commands=[broken_register]) == 0
    assert "fixed" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        main(["--help"], registry=registry, commands=[broken_register])
    assert info.value.code == 0
    assert "broken" in capsys.readouterr().out
    assert main(["broken", "x"], registry=registry, commands=[broken_register]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "command plug-in 'broken_register' failed to register: ZeroDivisionError: oops" in err


def test_a_command_plugin_that_fails_to_import_is_named_by_distribution(tmp_path, monkeypatch, capsys):
    site = tmp_path / "site"
    fake_distribution(site, "edgesim-bad-cmd", "[edgesim.commands]\nghost = no_such_edgesim_cmd:register\n")
    monkeypatch.syspath_prepend(str(site))
    registers = [r for r in plugin_commands() if r.entry_point_name == "ghost"]
    assert len(registers) == 1
    reg = Registry(devices={}, workloads={})
    assert main(["list"], registry=reg, commands=registers) == 0
    assert main(["ghost"], registry=reg, commands=registers) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert ("'ghost' (no_such_edgesim_cmd:register, distribution 'edgesim-bad-cmd', "
            "group edgesim.commands) failed to load: ModuleNotFoundError") in err


def test_a_device_factory_that_raises_is_a_plugin_error_and_list_survives(capsys):
    def factory():
        return {}["missing"]

    registry = Registry(devices={"flaky": factory, "fixed": lambda: FixedCostDevice(costs={})},
                        workloads={})
    with pytest.raises(PluginError, match="device factory 'flaky' raised KeyError"):
        registry.device("flaky")
    assert main(["list", "devices"], registry=registry, commands=()) == 0
    out = capsys.readouterr().out
    assert "flaky  (failed to load: device factory 'flaky' raised KeyError" in out
    assert "fixed  test device" in out


class RaisingDevice(FixedCostDevice):
    """A device whose `cost`, `supported_kinds` or `check` fails in plug-in code."""

    def __init__(self, where: str):
        super().__init__(costs={})
        object.__setattr__(self, "where", where)

    def supported_kinds(self, target):
        if self.where == "supported_kinds":
            raise IndexError("bad table")
        return super().supported_kinds(target)

    def check(self, network, target):
        if self.where == "check":
            raise AttributeError("no such field")

    def cost(self, op, target):
        if self.where == "cost":
            raise ZeroDivisionError("division by zero")
        if self.where == "type":
            return 1.5
        if self.where == "nan":
            return Cost.serial(Phase("compute", math.nan))
        return super().cost(op, target)


@pytest.mark.parametrize("where, message", [
    ("cost", r"device 'fixed' \(module 'tests'\) pricing op 'l0' on 'main' raised ZeroDivisionError"),
    ("type", r"device 'fixed' \(module 'tests'\) pricing op 'l0' on 'main': cost\(\) returned float"),
    ("nan", r"device 'fixed' \(module 'tests'\) pricing op 'l0' on 'main': phase on 'compute' has "
            r"duration nan"),
    ("supported_kinds", r"device 'fixed' \(module 'tests'\) supported_kinds\('main'\) raised IndexError"),
    ("check", r"device 'fixed' \(module 'tests'\) check\(\) raised AttributeError"),
])
def test_device_code_failures_name_the_device_its_origin_and_the_op(where, message):
    with pytest.raises((PluginError, ValueError), match=message):
        simulate(chain(2, 8), RaisingDevice(where))


def test_run_with_a_raising_device_is_one_line(capsys):
    registry = Registry(devices={"bad": lambda: RaisingDevice("cost")},
                        workloads={"tiny": lambda: chain(2, 8, name="tiny")})
    assert main(["run", "tiny", "--device", "bad"], registry=registry, commands=()) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ZeroDivisionError" in err


def test_a_family_whose_build_raises_is_a_plugin_error():
    from sim.spec import Family

    registry = Registry.from_entry_points()
    name = sorted(registry.families)[0]
    real = registry.family(name)

    def broken_build(spec):
        raise RuntimeError("no such unit")

    broken = Family(**{**{f: getattr(real, f) for f in real.__dataclass_fields__}, "build": broken_build}) \
        if hasattr(real, "__dataclass_fields__") else None
    if broken is None:
        pytest.skip("Family is not a dataclass here")
    families = dict(registry.families)
    families[name] = broken
    patched = Registry(devices=registry.devices, workloads=registry.workloads, families=families)
    device_name = next(n for n in sorted(registry.devices)
                       if getattr(getattr(registry.device(n), "spec", None), "family", None) == name)
    with pytest.raises(PluginError, match=rf"device family '{name}'.*raised RuntimeError: no such unit"):
        patched.device(device_name, {"description": "changed"})
