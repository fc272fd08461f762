"""The registry lists every family's presets itself, under the `name:` each preset declares."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from devices.roofline import FAMILY as ROOFLINE
from sim.registry import (
    DEVICE_GROUP,
    FAMILY_GROUP,
    PluginError,
    Registry,
    device_table,
    load_family,
    presets_folder,
)
from sim.spec import Family
from tests.helpers import INSTALLED
from workloads import SpecError

# The 25 device names the per-preset `edgesim.devices` entry points gave before the registry
# listed presets itself (pyproject.toml at f83989f): the same names, now from the presets.
NAMES_BEFORE = {
    "roofline-jetson-nano", "roofline-adreno650", "snapdragon865", "snapdragon888",
    "snapdragon835", "snapdragon855", "jetson-agx-xavier", "jetson-nano", "stm32f746",
    "stm32h743", "stm32f412", "nrf52840", "fpga-zcu102", "fpga-xc7z020", "fpga-xc7z045",
    "fpga-zcu102-fp32", "fpga-zcu102-fp32-lean", "pim-isaac", "pim-isaac-reprogram", "pointacc",
    "pointacc-edge", "gpu-rtx2080ti", "systolic-tpu-v1", "systolic-gemmini", "systolic-edge-tpu",
}


def test_every_preset_of_every_family_is_a_device_under_its_declared_name():
    listed = {}
    for family_name in sorted(INSTALLED.families):
        family = INSTALLED.family(family_name)
        for stem in family.preset_names():
            spec = family.preset(stem)
            listed[spec.name] = spec
            assert INSTALLED.device(spec.name).spec == spec
    assert set(listed) == NAMES_BEFORE <= set(INSTALLED.devices)


def test_presets_folder_is_found_beside_the_family_module():
    assert presets_folder("devices.roofline") == Path(ROOFLINE.presets)
    assert presets_folder("devices") == Path(ROOFLINE.presets)  # a package: its own folder
    assert presets_folder("no_such_package.module") is None


def _family(tmp_path: Path, name: str, presets: dict[str, str]) -> Family:
    folder = tmp_path / name
    folder.mkdir()
    base = (Path(ROOFLINE.presets) / "roofline_adreno650.yaml").read_text(encoding="utf-8")
    for stem, device_name in presets.items():
        text = base.replace("name: roofline-adreno650", f"name: {device_name}")
        (folder / f"{stem}.yaml").write_text(text, encoding="utf-8")
    return Family(name=name, spec_type=ROOFLINE.spec_type, build=ROOFLINE.build, presets=folder)


def test_a_name_two_families_give_is_refused_in_one_line_naming_both(tmp_path):
    a = _family(tmp_path, "fam-a", {"one": "twin", "solo": "only-a"})
    b = _family(tmp_path, "fam-b", {"two": "twin"})
    registry = Registry.of_families({"fam-a": a, "fam-b": b})
    assert sorted(registry.devices) == ["only-a", "twin"]
    assert registry.device("only-a").name == "only-a"
    with pytest.raises(PluginError) as err:
        registry.device("twin")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("device name 'twin' is given twice (fam-a preset ")
    assert f"{tmp_path / 'fam-a' / 'one.yaml'}" in message and f"{tmp_path / 'fam-b' / 'two.yaml'}" in message
    assert dict(registry.describe("devices"))["twin"].startswith("(failed to load: device name 'twin'")


def test_a_preset_and_a_plugin_of_one_name_are_refused_naming_both(tmp_path):
    a = _family(tmp_path, "fam-a", {"one": "clash"})
    plugin = metadata.EntryPoint(name="clash", value="someone_elses:make_device", group=DEVICE_GROUP)
    table = device_table({"fam-a": a.presets}, {"fam-a": a}.__getitem__, [plugin])
    with pytest.raises(PluginError, match=r"^device name 'clash' is given twice \(fam-a preset '.*one\.yaml' "
                                          r"and plug-in 'clash' \(someone_elses:make_device, group "
                                          r"edgesim\.devices\)\); rename one"):
        table["clash"]()


def test_a_broken_preset_is_listed_by_its_file_stem_and_reports_its_error(tmp_path):
    a = _family(tmp_path, "fam-a", {"good": "fine"})
    (Path(a.presets) / "broken.yaml").write_text("name: [not, a, name]\n", encoding="utf-8")
    registry = Registry.of_families({"fam-a": a})
    assert sorted(registry.devices) == ["broken", "fine"]
    with pytest.raises(SpecError, match=r"broken\.yaml: name: expected a valid string"):
        registry.device("broken")


def test_a_name_not_on_one_plain_line_is_read_from_the_whole_file(tmp_path):
    # Listing reads the one `name:` line alone; a block scalar there makes it parse the file.
    a = _family(tmp_path, "fam-a", {"folded": "folded-name"})
    path = Path(a.presets) / "folded.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "name: folded-name", "name: >-\n  folded-name"), encoding="utf-8")
    registry = Registry.of_families({"fam-a": a})
    assert list(registry.devices) == ["folded-name"]
    assert registry.device("folded-name").name == "folded-name"


def test_a_family_keeping_its_presets_elsewhere_is_refused(tmp_path):
    elsewhere = _family(tmp_path, "roofline", {})

    def entry():
        return elsewhere

    entry.entry_point = metadata.EntryPoint(name="roofline", value="devices.roofline:FAMILY",
                                            group=FAMILY_GROUP)
    with pytest.raises(PluginError, match=r"keeps its presets in .*roofline, but the registry "
                                          r"lists those in .*devices/presets .*move them there"):
        load_family({"roofline": entry}, "roofline")
