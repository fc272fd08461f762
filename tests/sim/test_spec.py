"""The declarative spec mechanism: strict validation, device files, overrides, show, schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devices.roofline import FAMILY as ROOFLINE
from devices.roofline import RooflineSpec
from sim import Registry
from tests.helpers import FixedCostDevice
from sim.spec import (
    DeviceSpec,
    Family,
    Fraction,
    Name,
    PositiveFloat,
    Spec,
    dump_yaml,
    json_schema,
    merge,
    override,
    parse_assignment,
    spec_from_file,
    unit_of,
    validate,
)
from workloads import SpecError, UnknownNameError


class Core(Spec):
    """A toy nested spec."""

    name: Name
    """Core name."""
    freq_hz: PositiveFloat
    """Clock."""


class Board(DeviceSpec):
    """A toy device spec with a tuple of named sub-specs."""

    family = "toy"  # type: ignore[assignment]

    cores: tuple[Core, ...]
    """Cores."""
    share: Fraction = 0.5
    """A fraction."""
    fast: bool = False
    """A flag."""
    limit_s: PositiveFloat | None = None
    """None: no limit."""


def board_data(**extra) -> dict:
    data = {"name": "toy", "description": "a toy board", "source": "made up (a guess)",
            "cores": [{"name": "big", "freq_hz": 2e9}, {"name": "little", "freq_hz": 1e9}]}
    data.update(extra)
    return data


TOY = Family(name="toy", spec_type=Board, build=lambda spec: spec)


def test_valid_data_gives_a_frozen_spec_with_tuples():
    spec = validate(Board, board_data(), where="t")
    assert spec.cores[1].freq_hz == 1e9 and isinstance(spec.cores, tuple)
    with pytest.raises(Exception):
        spec.share = 0.9  # frozen
    assert spec == validate(Board, spec.model_dump(mode="json"), where="t")
    assert hash(spec) == hash(validate(Board, board_data(), where="t"))


def test_every_problem_is_reported_at_once_with_key_and_suggestion():
    data = board_data(share=True, fast="false", shaer=0.3, limit_s=float("nan"))
    data["cores"][1]["freq_hz"] = -1
    with pytest.raises(SpecError) as err:
        validate(Board, data, where="f.yaml")
    lines = str(err.value).splitlines()
    assert all(line.startswith("f.yaml: ") for line in lines)
    text = str(err.value)
    assert "shaer: unknown key (did you mean 'share'?)" in text
    assert "share: expected a valid number, got true (a boolean)" in text
    assert "fast: expected a valid boolean, got 'false' (a string)" in text
    assert "cores.little.freq_hz: expected greater than 0, got -1" in text
    assert "limit_s: expected a finite number, got nan" in text


def test_missing_field_and_bad_names_are_refused():
    data = board_data(name="bad\nname")
    del data["description"]
    with pytest.raises(SpecError, match=r"description: required but missing") as err:
        validate(Board, data, where="f")
    assert "name: expected a name of letters" in str(err.value)


def test_yaml12_floats_non_utf8_and_mixed_keys(tmp_path):
    good = tmp_path / "toy.yaml"
    good.write_text("family: toy\nname: t\ndescription: d\nsource: s\n"
                    "cores: [{name: a, freq_hz: 117.9e9}]\n", encoding="utf-8")
    assert spec_from_file(good, family=TOY).cores[0].freq_hz == 117.9e9
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(SpecError, match=r"latin.yaml: not UTF-8 text"):
        spec_from_file(latin, family=TOY)
    mixed = tmp_path / "mixed.yaml"
    mixed.write_text("name: t\ndescription: d\nsource: s\ncores: []\n1: x\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"1: expected a string key"):
        spec_from_file(mixed, family=TOY)
    with pytest.raises(SpecError, match=r"no such device file"):
        spec_from_file(tmp_path / "absent.yaml", family=TOY)
    inf = tmp_path / "inf.yaml"
    inf.write_text("name: t\ndescription: d\nsource: s\ncores: [{name: a, freq_hz: .inf}]\n")
    with pytest.raises(SpecError, match=r"freq_hz: expected a finite number"):
        spec_from_file(inf, family=TOY)


def test_base_file_overrides_only_what_it_names(tmp_path):
    base = validate(Board, board_data(), where="base")
    path = tmp_path / "my-board.yaml"
    path.write_text("base: toy\ncores: [{name: little, freq_hz: 1.5e9}]\nfast: true\n")
    spec = spec_from_file(path, family_of=lambda n: TOY, base_of=lambda n: base)
    assert spec.name == "my-board" and spec.fast is True
    assert [c.freq_hz for c in spec.cores] == [2e9, 1.5e9]
    assert "Changed from preset 'toy' in my-board.yaml: cores, fast" in spec.source
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("base: toy\nfamily: other\n")
    with pytest.raises(SpecError, match=r"family: expected 'toy', got 'other'"):
        spec_from_file(wrong, family_of=lambda n: TOY, base_of=lambda n: base)


def test_merge_named_lists_by_name_and_other_lists_whole():
    assert merge({"a": [1, 2], "b": {"c": 1, "d": 2}}, {"a": [3], "b": {"d": 5}}) == {
        "a": [3], "b": {"c": 1, "d": 5}}
    merged = merge([{"name": "x", "v": 1}], [{"name": "y", "v": 2}, {"name": "x", "v": 3}])
    assert merged == [{"name": "x", "v": 3}, {"name": "y", "v": 2}]


def test_overrides_by_dotted_key_index_and_name():
    spec = validate(Board, board_data(), where="t")
    new = override(spec, {"cores.little.freq_hz": 1.2e9, "cores.0.freq_hz": 3e9, "limit_s": 1e-3})
    assert [c.freq_hz for c in new.cores] == [3e9, 1.2e9] and new.limit_s == 1e-3
    assert spec.cores[0].freq_hz == 2e9  # the original is untouched
    with pytest.raises(SpecError) as err:
        override(spec, {"cores.medium.freq_hz": 1.0, "share": 2.0, "fats": True})
    text = str(err.value)
    assert "no item 'medium'" in text and "items: big, little" in text
    assert "fats: unknown key (did you mean 'fast'?)" in text
    assert "share: expected less than or equal to 1, got 2.0" in text


@pytest.mark.parametrize("text, key, value", [
    ("dram_bytes_per_s=30e9", "dram_bytes_per_s", 30e9),
    ("units.gpu.launch_overhead_s=1e-5", "units.gpu.launch_overhead_s", 1e-5),
    ("separate_dma=true", "separate_dma", True),
    ("n=3", "n", 3),
    ("dataflow=os", "dataflow", "os"),
    ("shape=[8, 4]", "shape", [8, 4]),
    ("limit_s=null", "limit_s", None),
])
def test_parse_assignment(text, key, value):
    assert parse_assignment(text) == (key, value)


def test_parse_assignment_needs_key_and_value():
    with pytest.raises(SpecError, match=r"expected KEY=VALUE"):
        parse_assignment("dram_bytes_per_s")


def test_dump_yaml_loads_back_equal(tmp_path):
    spec = validate(Board, board_data(source="line one\nline two: with colon", limit_s=2.5e-7),
                    where="t")
    text = dump_yaml(spec)
    assert "freq_hz: 2.0e+9  # [Hz] Clock." in text
    path = tmp_path / "shown.yaml"
    path.write_text(text)
    assert spec_from_file(path, family=TOY) == spec


def test_units_from_names():
    assert unit_of("freq_hz") == "Hz" and unit_of("dram_bytes_per_s") == "B/s"
    assert unit_of("sram_bytes") == "B" and unit_of("launch_overhead_s") == "s"
    assert unit_of("n_cores") is None


def test_json_schema_of_a_family():
    schema = json_schema(ROOFLINE)
    assert schema["additionalProperties"] is False
    assert schema["properties"]["dram_bytes_per_s"]["description"].startswith("[B/s] ")
    assert schema["properties"]["family"] == {"const": "roofline", "description": "The device family."}
    json.dumps(schema)


def test_registry_overrides_files_and_names(tmp_path):
    registry = Registry.from_entry_points()
    base = registry.device("roofline-adreno650")
    faster = registry.device("roofline-adreno650", overrides={"dram_bytes_per_s": 88e9})
    assert faster.spec.dram_bytes_per_s == 88e9 and base.spec.dram_bytes_per_s == 44e9
    assert isinstance(faster.spec, RooflineSpec)
    path = tmp_path / "my.yaml"
    path.write_text(dump_yaml(base.spec))
    assert registry.load_device(path).spec == base.spec
    assert registry.resolve_device(str(path), {"node_nm": 5}).spec.node_nm == 5
    with pytest.raises(UnknownNameError, match=r"unknown device family 'rooflin'"):
        registry.family("rooflin")


def test_a_device_without_a_spec_cannot_be_overridden():
    registry = Registry(devices={"bare": lambda: FixedCostDevice(costs={})}, workloads={})
    with pytest.raises(SpecError, match=r"device 'bare' has no declarative spec"):
        registry.device("bare", overrides={"x": 1})


def test_roofline_presets_round_trip(tmp_path):
    for name in ROOFLINE.preset_names():
        spec = ROOFLINE.preset(name)
        path = tmp_path / f"{name}.yaml"
        path.write_text(dump_yaml(spec))
        assert spec_from_file(Path(path), family=ROOFLINE) == spec


def test_integers_beyond_2_53_are_refused_by_key():
    with pytest.raises(SpecError, match=r"cores.big.freq_hz: expected a number of magnitude at "
                                        r"most 2\*\*53, got a 20-digit integer"):
        validate(Board, board_data(cores=[{"name": "big", "freq_hz": 10**20 - 1}]), where="f")


def test_a_device_file_over_1_mib_is_refused_before_parsing(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("# padding\n" * 120_000, encoding="utf-8")
    with pytest.raises(SpecError, match=r"huge.yaml: 1,200,000 bytes; a device file is at most "
                                        r"1,048,576 bytes"):
        spec_from_file(path, family=TOY)
