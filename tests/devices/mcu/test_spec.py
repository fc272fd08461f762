"""MCU specs and presets: sourced numbers load; bad values and names are typed one-line errors;
device files, `base:` edits and `--set` overrides change what physics says they should."""

from __future__ import annotations

from pathlib import Path

import pytest

from devices.mcu import kernels
from devices.mcu.cli import register
from devices.mcu.device import FAMILY
from devices.mcu.spec import KB
from sim import Registry, simulate
from sim.cli import main
from sim.spec import dump_yaml, override, spec_from_file
from workloads import DoesNotFitError, SpecError, UnknownNameError
from workloads.zoo import mcunet


@pytest.mark.parametrize("name", FAMILY.preset_names())
def test_every_preset_loads_with_the_datasheet_memories(name):
    spec = FAMILY.spec(name)
    expected = {"stm32f746": (216e6, 320, 1024), "stm32h743": (480e6, 512, 2048),
                "stm32f412": (100e6, 256, 1024), "nrf52840": (64e6, 256, 1024)}[name]
    assert (spec.freq_hz, spec.sram_bytes // KB, spec.flash_bytes // KB) == expected
    assert spec.name == name and spec.source.strip()


def test_unknown_preset_suggests_the_closest():
    with pytest.raises(UnknownNameError, match=r"unknown mcu preset 'stm32f74' \(did you mean 'stm32f746'\?\)"):
        FAMILY.spec("stm32f74")


@pytest.mark.parametrize("change, message", [
    ({"freq_hz": -1.0}, "freq_hz: expected greater than or equal to 1000, got -1.0"),
    ({"freq_hz": 5e9}, "freq_hz: expected less than or equal to 2000000000, got 5000000000.0"),
    ({"sram_bytes": 0}, "sram_bytes: expected greater than or equal to 1, got 0"),
    ({"runtime_reserve_bytes": 400 * KB},
     r"runtime_reserve_bytes: expected below sram_bytes \(327680\), got 409600"),
    ({"code_flash_bytes": 2 << 20},
     r"code_flash_bytes: expected below flash_bytes \(1048576\), got 2097152"),
    ({"active_power_w": float("nan")}, "active_power_w: expected a finite number, got nan"),
    ({"in_place_depthwise": "yes"}, "in_place_depthwise: expected a valid boolean, got 'yes'"),
])
def test_absurd_values_are_spec_errors(change, message):
    with pytest.raises(SpecError, match=f"^--set: {message}"):
        override(FAMILY.spec("stm32f746"), change)


def test_unknown_yaml_field_lists_the_allowed_ones(tmp_path):
    text = (FAMILY.presets / "stm32f746.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text + "turbo: true\n")
    with pytest.raises(SpecError, match=r"bad.yaml: turbo: unknown key; allowed: active_power_w"):
        FAMILY.spec(bad)


# --- hardware as data: device files, overrides, show -------------------------------------------

REGISTRY = Registry.from_entry_points()
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "devices"


@pytest.mark.parametrize("name", FAMILY.preset_names())
def test_device_show_loads_back_to_an_equal_spec(name, tmp_path):
    spec = FAMILY.preset(name)
    path = tmp_path / f"{name}.yaml"
    path.write_text(dump_yaml(spec), encoding="utf-8")
    assert spec_from_file(path, family=FAMILY) == spec
    assert REGISTRY.load_device(path).spec == spec
    assert REGISTRY.device(spec.name).spec == spec  # the entry point builds the same preset


def test_every_preset_file_is_a_registered_device():
    # The presets are the family's folder, each a registered device under its file stem.
    assert FAMILY.preset_names() == ["nrf52840", "stm32f412", "stm32f746", "stm32h743"]
    assert all(name in REGISTRY.devices for name in FAMILY.preset_names())
    assert all(FAMILY.preset(name).name == name for name in FAMILY.preset_names())


def test_no_data_cache_is_none_and_zero_is_refused():
    assert FAMILY.preset("nrf52840").dcache_bytes is None
    with pytest.raises(SpecError, match=r"dcache_bytes: expected greater than or equal to 1, got 0"):
        override(FAMILY.preset("nrf52840"), {"dcache_bytes": 0})


def test_a_base_file_at_half_the_clock_takes_exactly_twice_as_long(tmp_path):
    # Kernel cycles and flash stalls are both counted in core clocks (the wait states scale with
    # the clock on a real part too, so this is the ideal case), so time = cycles / freq_hz; the
    # engine's clock counts integer picoseconds, so each of the 158 ops may round by 1 ps.
    path = tmp_path / "f746-108mhz.yaml"
    path.write_text("base: stm32f746\nfreq_hz: 108e6\n", encoding="utf-8")
    slow = REGISTRY.resolve_device(str(path))
    assert slow.name == "f746-108mhz" and slow.spec.sram_bytes == 320 * KB
    network = mcunet()
    fast_report = simulate(network, REGISTRY.device("stm32f746"))
    slow_report = simulate(network, slow)
    assert slow_report.latency_s == pytest.approx(2 * fast_report.latency_s, abs=158e-12)
    # energy = active power x time: twice the time at the same (file's unchanged) power
    assert slow_report.energy_j == pytest.approx(2 * fast_report.energy_j, rel=1e-9)


def test_a_bigger_data_cache_never_reads_more_flash():
    network = mcunet()
    small = simulate(network, REGISTRY.device("stm32f746"))
    roomy = simulate(network, REGISTRY.device("stm32f746", overrides={"dcache_bytes": 1 << 20}))
    assert roomy.latency_s < small.latency_s
    # every layer's weights fit 1 MiB: each is read from flash exactly once
    flash = sum(row.bytes_moved.get("flash", 0) for row in roomy.ops)
    assert flash == sum(kernels.flash_bytes(op) for op in network.ops)


def test_less_sram_than_the_peak_does_not_fit(tmp_path):
    # mcunet's layer-by-layer peak on the F746 is 208.0 kB (test_cli); 200 kB is too little
    path = tmp_path / "f746-200k.yaml"
    path.write_text("base: stm32f746\nsram_bytes: 204800\n", encoding="utf-8")
    with pytest.raises(DoesNotFitError, match=r"mcunet does not fit f746-200k: SRAM overflows"):
        simulate(mcunet(), REGISTRY.resolve_device(str(path)))


def test_cross_field_checks_are_one_line_errors_naming_file_and_key(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("base: stm32f746\nruntime_reserve_bytes: 400000\ncode_flash_bytes: 2000000\n",
                    encoding="utf-8")
    with pytest.raises(SpecError) as err:
        REGISTRY.load_device(path)
    assert str(err.value).splitlines() == [
        f"{path}: runtime_reserve_bytes: expected below sram_bytes (327680), got 400000",
        f"{path}: code_flash_bytes: expected below flash_bytes (1048576), got 2000000",
    ]
    assert main(["mcu", "plan", "mcunet", "--device", str(path)], registry=REGISTRY,
                commands=[register]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == (f"edgesim: error: {path}: runtime_reserve_bytes: expected below "
                        "sram_bytes (327680), got 400000")


def test_mcu_plan_takes_overrides_and_refuses_other_families(capsys):
    argv = ["mcu", "plan", "mcunet", "--device", "stm32f746", "--set", "sram_bytes=204800"]
    assert main(argv, registry=REGISTRY, commands=[register]) == 0  # fits with patches
    out = capsys.readouterr().out
    assert "of 200.0 kB" in out and "SRAM fits with patch-based inference" in out
    assert main(["mcu", "plan", "mcunet", "--device", "pim-isaac"], registry=REGISTRY,
                commands=[register]) == 2
    assert "is not a microcontroller" in capsys.readouterr().err


def test_the_example_device_file_runs(capsys):
    path = EXAMPLES / "stm32f767.yaml"
    device = REGISTRY.resolve_device(str(path))
    assert (device.spec.sram_bytes, device.spec.flash_bytes, device.spec.dcache_bytes) == (
        512 * KB, 2048 * KB, 16 * KB)
    assert device.spec.freq_hz == FAMILY.preset("stm32f746").freq_hz
    assert main(["run", "mcunet", "--device", str(path)], registry=REGISTRY, commands=()) == 0
    assert "stm32f767" in capsys.readouterr().out
