"""Device plug-ins: the example package registers through the same entry points as built-ins.

Nothing is installed. Each test writes a distribution's metadata folder (a `*.dist-info` with
`METADATA` and `entry_points.txt`, as pip leaves it) into `tmp_path` and puts it, and the
example's source folder, on `sys.path`; `importlib.metadata` then finds the entry point exactly
as it finds an installed one.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

from sim import Device, Registry, simulate
from sim.registry import PluginError
from tests.helpers import FixedCostDevice
from workloads import NetworkBuilder, SpecError, UnknownNameError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_accelerator"
MODULE = "custom_accelerator"


def fake_distribution(site: Path, name: str, entry_points: str) -> Path:
    """Write `<name>-0.1.dist-info/` with METADATA and entry_points.txt under `site`."""
    dist = site / f"{name.replace('-', '_')}-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n", encoding="utf-8"
    )
    (dist / "entry_points.txt").write_text(entry_points, encoding="utf-8")
    return dist


@pytest.fixture
def plugin_site(tmp_path, monkeypatch):
    """A site folder holding the example's metadata, with it and the example on sys.path.

    The example module is dropped from `sys.modules` for the test (and restored after), so the
    entry point really imports it from the path, as a fresh interpreter would.
    """
    site = tmp_path / "site"
    fake_distribution(
        site,
        "edgesim-custom-accelerator",
        "[edgesim.devices]\ntoy-systolic = custom_accelerator:make_device\n",
    )
    monkeypatch.syspath_prepend(str(EXAMPLE))
    monkeypatch.syspath_prepend(str(site))
    had_module = MODULE in sys.modules
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    yield site
    if not had_module:
        sys.modules.pop(MODULE, None)


def test_example_is_listed_and_builds_from_entry_points(plugin_site):
    registry = Registry.from_entry_points()
    assert "toy-systolic" in registry.devices
    assert registry.devices["toy-systolic"].entry_point.dist.name == "edgesim-custom-accelerator"
    device = registry.device("toy-systolic")
    assert isinstance(device, Device)
    assert device.name == "toy-systolic"
    assert type(device).__module__ == MODULE
    assert Path(sys.modules[MODULE].__file__).resolve().is_relative_to(EXAMPLE)
    assert ("toy-systolic", device.description) in registry.describe("devices")


def _conv_then_linear():
    # conv: K = 40 * 3 * 3 = 360 -> 12 folds of 32 rows; N = 48 -> 2 folds of 32 cols;
    # M = 8 * 8 = 64 output pixels. linear: K = 48 -> 2, N = 100 -> 4, M = 1 row.
    b = NetworkBuilder("conv-linear")
    x = b.input("x", (1, 40, 8, 8))
    x = b.conv2d(x, 48, 3, padding=1, name="conv")
    x = b.global_pool(x, name="pool")
    x = b.reshape(x, (1, 48), name="flatten")
    b.linear(x, 100, name="fc")
    return b.build().quantized("fixed", weight_bits=8)


def _ws_cycles(k: int, n: int, m: int, rows: int, cols: int) -> int:
    """SCALE-Sim (arXiv 1811.02883): ceil(K/R) * ceil(N/C) folds of 2R + C + M - 2 cycles."""
    return math.ceil(k / rows) * math.ceil(n / cols) * (2 * rows + cols + m - 2)


def test_example_simulates_with_hand_computed_array_cycles(plugin_site):
    device = Registry.from_entry_points().device("toy-systolic")
    rows, cols, freq_hz = device.spec.rows, device.spec.cols, device.spec.freq_hz
    assert (rows, cols) == (32, 32)
    expected = {
        "conv": _ws_cycles(360, 48, 64, rows, cols),
        "fc": _ws_cycles(48, 100, 1, rows, cols),
    }
    assert expected == {"conv": 12 * 2 * 158, "fc": 2 * 4 * 95}  # 3792 and 760 cycles

    report = simulate(_conv_then_linear(), device)

    by_op = {r.op: r for r in report.ops}
    for name, cycles in expected.items():
        (array,) = [(a, b) for engine, _, a, b in by_op[name].phases if engine == "array"]
        assert round((array[1] - array[0]) * freq_hz) == cycles, name
    assert by_op["conv"].engines == "array+dma"
    assert by_op["pool"].engines == "vector+dma"
    assert by_op["flatten"].engines == ""  # a view: free


def _tiny(*, width: int = 4):
    """One linear layer."""
    b = NetworkBuilder("tiny")
    b.linear(b.input("x", (1, width)), width, name="fc")
    return b.build()


def test_registry_from_plain_dicts():
    device = FixedCostDevice(costs={})
    devices = {"fixed": lambda: device}
    registry = Registry(devices=devices, workloads={"tiny": _tiny, "not-a-network": lambda: 42})
    devices["late"] = lambda: device  # the registry copied the dict: later edits do not leak in
    assert sorted(registry.devices) == ["fixed"]
    assert registry.device("fixed") is device
    assert registry.workload("tiny", width=8)["fc"].weight_shape == (8, 8)
    assert registry.describe("devices") == [("fixed", device.description)]
    assert registry.describe("workloads") == [("not-a-network", ""), ("tiny", "One linear layer.")]
    with pytest.raises(SpecError, match=r"no argument\(s\) \['depth'\]; allowed: \['width'\]"):
        registry.workload("tiny", depth=2)
    with pytest.raises(PluginError, match="'not-a-network' returned int, not a Network"):
        registry.workload("not-a-network")
    with pytest.raises(TypeError):
        registry.devices["other"] = lambda: device  # read-only view


def test_unknown_device_name_suggests_the_closest():
    registry = Registry(devices={"toy-systolic": lambda: None}, workloads={})
    with pytest.raises(UnknownNameError, match=r"'toy-systolik' \(did you mean 'toy-systolic'\?\)"):
        registry.device("toy-systolik")


def test_factory_returning_a_non_device_is_a_plugin_error():
    registry = Registry(devices={"not-a-device": lambda: object()}, workloads={})
    with pytest.raises(PluginError, match=r"'not-a-device' returned object.*sim\.Device"):
        registry.device("not-a-device")


@pytest.mark.parametrize(
    "value, missing",
    [("no_such_edgesim_plugin:make_device", "no_such_edgesim_plugin"),
     ("custom_accelerator:no_such_factory", "no_such_factory")],
)
def test_broken_entry_point_is_a_plugin_error_naming_it(plugin_site, value, missing):
    fake_distribution(plugin_site, "edgesim-broken-plugin", f"[edgesim.devices]\nghost = {value}\n")
    registry = Registry.from_entry_points()
    assert "ghost" in registry.devices  # listing never imports a plug-in
    with pytest.raises(PluginError, match=rf"entry point 'ghost' \({value}, distribution "
                       rf"'edgesim-broken-plugin', group edgesim.devices\) failed.*{missing}"):
        registry.device("ghost")
    # `edgesim list` keeps working and shows the broken plug-in on its row.
    rows = dict(registry.describe("devices"))
    assert rows["ghost"].startswith("(failed to load:")
    assert rows["toy-systolic"] == registry.device("toy-systolic").description


def test_plugin_module_that_fails_to_import_is_a_plugin_error(plugin_site):
    (plugin_site / "edgesim_syntax_error_plugin.py").write_text("def make_device(:\n")
    entry_points = "[edgesim.devices]\ntypo = edgesim_syntax_error_plugin:make_device\n"
    fake_distribution(plugin_site, "edgesim-syntax-error", entry_points)
    registry = Registry.from_entry_points()
    with pytest.raises(PluginError, match=r"entry point 'typo'"):
        registry.device("typo")
    assert dict(registry.describe("devices"))["typo"].startswith("(failed to load:")


def test_factory_needing_arguments_is_a_plugin_error(plugin_site):
    (plugin_site / "edgesim_args_plugin.py").write_text("def make_device(size):\n    return size\n")
    fake_distribution(plugin_site, "edgesim-args", "[edgesim.devices]\nneedy = edgesim_args_plugin:make_device\n")
    with pytest.raises(PluginError, match="'needy' must be callable with no arguments"):
        Registry.from_entry_points().device("needy")


def test_a_name_registered_twice_is_refused_not_shadowed(plugin_site):
    fake_distribution(plugin_site, "edgesim-shadow", "[edgesim.devices]\ntoy-systolic = custom_accelerator:make_device\n")
    registry = Registry.from_entry_points()
    with pytest.raises(PluginError, match="'toy-systolic' is registered twice"):
        registry.device("toy-systolic")
    assert dict(registry.describe("devices"))["toy-systolic"].startswith("(failed to load:")


def test_a_family_plugin_that_fails_to_load_lists_no_presets_and_breaks_no_other(plugin_site):
    fake_distribution(plugin_site, "edgesim-ghost-family", "[edgesim.families]\nghost = no_such_module:FAMILY\n")
    registry = Registry.from_entry_points()
    assert {"snapdragon865", "toy-systolic"} <= set(registry.devices)
    with pytest.raises(PluginError, match=r"entry point 'ghost' \(no_such_module:FAMILY.*failed to load"):
        registry.family("ghost")
