"""Hardware as data, over every registered device family and each of its presets.

Families and presets come from the installed entry points at collection, so a family converted
to `sim.spec` is covered without editing this file:
- `edgesim device show` output loads back to an equal spec, also after random valid overrides;
- physics: doubling any bandwidth, clock or compute rate never makes a model slower, halving it
  never makes it faster (each key is found by its unit in its name, see `scaled_keys`); larger
  arrays are never slower, except in the families `NOT_MONOTONE_IN_ARRAY_SIZE` names, with why;
- a fuzz test over corrupted presets: every corruption loads and simulates, or gives the typed
  one-line error; never a traceback.
"""

from __future__ import annotations

import io
import re
from contextlib import redirect_stderr, redirect_stdout
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import Registry, simulate
from sim.cli import main
from sim.spec import DeviceSpec, dump_yaml, override, spec_from_file
from workloads import DoesNotFitError, EdgesimError, Network, UnsupportedOpError
from workloads.zoo import mcunet, mobilenetv2, resnet18

REGISTRY = Registry.from_entry_points()


def preset_devices() -> list[str]:
    """Registered device names whose spec is declarative."""
    names = []
    for name in sorted(REGISTRY.devices):
        try:
            spec = getattr(REGISTRY.device(name), "spec", None)
        except EdgesimError:
            continue
        if isinstance(spec, DeviceSpec):
            names.append(name)
    return names


DEVICES = preset_devices()


@lru_cache(maxsize=None)
def candidate_networks() -> tuple[Network, ...]:
    """Small to large, int8 first: an MCU fits only the first; a phone runs any."""
    return (
        mcunet().quantized("fixed", weight_bits=8),
        mobilenetv2(width=0.35, resolution=96).quantized("fixed", weight_bits=8),
        resnet18().quantized("fixed", weight_bits=8),
    )


def runnable_network(device) -> Network | None:
    """The largest candidate network the device runs on its default target, or None."""
    chosen = None
    for network in candidate_networks():
        try:
            simulate(network, device, seed=0)
        except (DoesNotFitError, UnsupportedOpError):
            continue
        chosen = network
    return chosen


SCALED_SUFFIXES = ("_bytes_per_s", "_hz", "_macs_per_s", "_ops_per_s", "_macs_per_cycle",
                   "_per_cycle")


def scaled_keys(data, prefix: str = "") -> list[str]:
    """Dotted keys of every bandwidth, clock and compute-rate field in a dumped spec."""
    keys = []
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{prefix}.{key}" if prefix else key
            if isinstance(value, (dict, list)):
                keys += scaled_keys(value, path)
            elif (key.endswith(SCALED_SUFFIXES) and isinstance(value, (int, float))
                  and not isinstance(value, bool) and value > 0):
                keys.append(path)
    elif isinstance(data, list):
        for i, item in enumerate(data):
            name = item.get("name") if isinstance(item, dict) else None
            keys += scaled_keys(item, f"{prefix}.{name if isinstance(name, str) else i}")
    return keys


def value_at(data, key: str):
    for part in key.split("."):
        if isinstance(data, list):
            names = [d.get("name") for d in data]
            data = data[names.index(part)] if part in names else data[int(part)]
        else:
            data = data[part]
    return data


@pytest.mark.parametrize("name", DEVICES)
def test_show_loads_back_equal(name, tmp_path):
    spec = REGISTRY.device_spec(name)
    path = tmp_path / "shown.yaml"
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["device", "show", name], registry=REGISTRY, commands=()) == 0
    path.write_text(out.getvalue(), encoding="utf-8")
    assert spec_from_file(path, family_of=REGISTRY.family) == spec
    assert REGISTRY.load_device(path).spec == spec


@pytest.mark.parametrize("name", DEVICES)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_overridden_specs_round_trip(name, tmp_path, data):
    spec = REGISTRY.device_spec(name)
    keys = scaled_keys(spec.model_dump(mode="json"))
    if not keys:
        pytest.skip(f"{name} has no rate fields")
    key = data.draw(st.sampled_from(keys))
    factor = data.draw(st.floats(0.25, 4.0))
    value = value_at(spec.model_dump(mode="json"), key)
    new_value = type(value)(max(1, round(value * factor))) if isinstance(value, int) else value * factor
    try:
        new = override(spec, {key: new_value})
    except EdgesimError:
        return  # outside the field's declared range: refused, which is right
    path = tmp_path / "o.yaml"
    path.write_text(dump_yaml(new), encoding="utf-8")
    assert spec_from_file(path, family_of=REGISTRY.family) == new


def latency_s(name: str, overrides: dict, network: Network) -> float:
    return simulate(network, REGISTRY.device(name, overrides=overrides), seed=0).latency_s


@pytest.mark.parametrize("name", DEVICES)
def test_faster_hardware_is_never_slower(name):
    device = REGISTRY.device(name)
    network = runnable_network(device)
    if network is None:
        pytest.skip(f"{name} runs none of the candidate zoo networks")
    data = device.spec.model_dump(mode="json")
    base = simulate(network, device, seed=0).latency_s
    checked = 0
    for key in scaled_keys(data):
        value = value_at(data, key)
        for factor in (2.0, 0.5):
            new = value * factor
            if isinstance(value, int):
                if new != int(new) or new < 1:
                    continue
                new = int(new)
            try:
                latency = latency_s(name, {key: new}, network)
            except (DoesNotFitError, UnsupportedOpError):
                continue  # e.g. a halved clock that misses a budget: not a latency answer
            except EdgesimError as err:
                if "--set on" in str(err):
                    continue  # outside the field's declared range
                raise
            checked += 1
            if factor > 1:
                assert latency <= base * (1 + 1e-9), f"{name}: doubling {key} slowed {network.name}"
            else:
                assert latency >= base * (1 - 1e-9), f"{name}: halving {key} sped up {network.name}"
    assert checked, f"{name}: no rate field could be scaled"


ARRAY_KEYS = ("rows", "cols")
"""Leaf names of array dimensions (PEs, crossbar cells)."""

NOT_MONOTONE_IN_ARRAY_SIZE = {
    "fpga": "the allocator holds the part's DSP and LUT budgets fixed, so more columns means "
            "fewer rows: a different shape of the same resources, not more of them",
    "systolic": "layers that already under-fill a large array gain no parallelism from a larger "
                "one but pay its longer fill and drain (R + C cycles a fold, as SCALE-Sim counts)",
    "pim": "with on_overflow: reprogram, a larger crossbar takes longer to rewrite (write time "
           "grows with the rows written), which can outweigh fewer crossbars",
}
"""Families whose latency is not monotone in array size, and why (the issue asks to state it)."""


def array_keys(data, prefix: str = "") -> list[str]:
    keys = []
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{prefix}.{key}" if prefix else key
            if isinstance(value, (dict, list)):
                keys += array_keys(value, path)
            elif key in ARRAY_KEYS and isinstance(value, int) and not isinstance(value, bool):
                keys.append(path)
    elif isinstance(data, list):
        for i, item in enumerate(data):
            name = item.get("name") if isinstance(item, dict) else None
            keys += array_keys(item, f"{prefix}.{name if isinstance(name, str) else i}")
    return keys


@pytest.mark.parametrize("name", DEVICES)
def test_larger_arrays_are_never_slower_except_where_stated(name):
    device = REGISTRY.device(name)
    keys = array_keys(device.spec.model_dump(mode="json"))
    if not keys or device.spec.family in NOT_MONOTONE_IN_ARRAY_SIZE:
        pytest.skip(f"{name}: no array dimension, or not monotone by design "
                    f"({NOT_MONOTONE_IN_ARRAY_SIZE.get(device.spec.family, 'none')})")
    network = runnable_network(device)
    base = simulate(network, device, seed=0).latency_s
    data = device.spec.model_dump(mode="json")
    for key in keys:
        value = value_at(data, key)
        assert latency_s(name, {key: value * 2}, network) <= base * (1 + 1e-9), key
        if value >= 2:
            assert latency_s(name, {key: value // 2}, network) >= base * (1 - 1e-9), key


# --- fuzz over corrupted presets --------------------------------------------------------------

BAD_VALUES = ("true", '"false"', "-1", "0", ".inf", ".nan", "abc", "[]", "{}", "1e308", "null",
              '"x\\ny"', "2020-01-01", "!!binary aGk=", "&a [*a]", "0x10", "1_000")


def preset_text(name: str) -> str:
    return dump_yaml(REGISTRY.device_spec(name))


def corrupt(text: str, data: st.DataObject) -> str:
    lines = text.splitlines()
    value_lines = [i for i, line in enumerate(lines) if re.match(r"^\s*(- )?\w+: \S", line)]
    how = data.draw(st.sampled_from(["value", "delete", "rename", "bytes", "indent"]))
    i = data.draw(st.sampled_from(value_lines))
    key, _, _ = lines[i].partition(":")
    if how == "value":
        lines[i] = f"{key}: {data.draw(st.sampled_from(BAD_VALUES))}"
    elif how == "delete":
        del lines[i]
    elif how == "rename":
        lines[i] = lines[i].replace(key.strip().lstrip("- "), key.strip().lstrip("- ")[:-1], 1)
    elif how == "indent":
        lines[i] = "   " + lines[i]
    else:
        pos = data.draw(st.integers(0, max(0, len(text) - 1)))
        return text[:pos] + data.draw(st.sampled_from(["\x00", "\xff", ":", "{", "\t", "'"])) + text[pos:]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("name", DEVICES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_corrupted_presets_give_one_line_errors(name, tmp_path, data):
    path = tmp_path / "bad.yaml"
    path.write_text(corrupt(preset_text(name), data), encoding="utf-8", errors="surrogateescape")
    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        status = main(["run", "mcunet", "--quant", "w8a8", "--device", str(path)],
                      registry=REGISTRY, commands=())
    assert status in (0, 2)
    if status == 2:
        lines = err.getvalue().splitlines()
        assert lines and all(line.startswith("edgesim: error: ") for line in lines), err.getvalue()


def test_a_base_file_edits_one_field(tmp_path):
    path = tmp_path / "slow-dram.yaml"
    path.write_text("base: roofline-adreno650\ndram_bytes_per_s: 11e9\n", encoding="utf-8")
    device = REGISTRY.resolve_device(str(path))
    assert device.name == "slow-dram" and device.spec.dram_bytes_per_s == 11e9
    network = resnet18().quantized("fixed", weight_bits=8)
    assert simulate(network, device).latency_s > simulate(
        network, REGISTRY.device("roofline-adreno650")).latency_s


def test_device_show_then_run_from_the_file(tmp_path):
    """The README's copy-edit-run loop."""
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["device", "show", "roofline-adreno650"], registry=REGISTRY, commands=()) == 0
    mine = Path(tmp_path / "my.yaml")
    mine.write_text(out.getvalue().replace("dram_bytes_per_s: 4.4e+10", "dram_bytes_per_s: 2.2e+10"))
    run = io.StringIO()
    with redirect_stdout(run):
        assert main(["run", "resnet18", "--device", str(mine)], registry=REGISTRY, commands=()) == 0
    assert "roofline-adreno650" in run.getvalue()
