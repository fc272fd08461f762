"""The fpga family as data: presets round-trip, device files re-size the design, errors name keys."""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

import pytest

from accelerators.fpga.accelerator import Datapath
from accelerators.fpga.factories import FAMILY, FpgaSpec, float32_spec, load_design
from accelerators.fpga.parts import load_part
from sim import Registry, simulate
from sim.cli import main
from sim.spec import dump_yaml, json_schema, override, spec_from_file
from workloads import NetworkBuilder
from workloads.zoo import resnet18
from tests.helpers import assert_device_file_error, installed_device

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "devices"
REGISTRY = Registry(devices={"fpga-zcu102": partial(FAMILY.device, "fpga_zcu102")}, workloads={"resnet18": resnet18},
                    families={"fpga": FAMILY})


@pytest.mark.parametrize("preset", FAMILY.preset_names())
def test_device_show_output_loads_back_to_an_equal_spec(preset, tmp_path):
    spec = FAMILY.preset(preset)
    path = tmp_path / "shown.yaml"
    path.write_text(dump_yaml(spec))
    assert spec_from_file(path, family=FAMILY) == spec
    # The part and design are written out in full, not as the preset names the file gave.
    text = path.read_text()
    assert re.search(r"^part:.*\n  name: ", text, re.M) and re.search(r"^design:.*\n  source: ", text, re.M)


def test_presets_are_registered_names_built_from_part_and_design_presets():
    names = {FAMILY.preset(p).name for p in FAMILY.preset_names()}
    assert names == {"fpga-zcu102", "fpga-xc7z045", "fpga-xc7z020", "fpga-zcu102-fp32",
                     "fpga-zcu102-fp32-lean"}
    zcu102 = FAMILY.preset("fpga_zcu102")
    assert zcu102.part == load_part("xczu9eg") and zcu102.design == load_design()
    assert installed_device("fpga-zcu102").spec == zcu102 and installed_device("fpga-zcu102").name == "fpga-zcu102"
    # The fp32 preset's design is exactly the float32 variant of the default design.
    fp32 = FAMILY.preset("fpga_zcu102_fp32").design
    assert fp32.datapath is Datapath.FLOAT32
    assert override(fp32, {"source": None}) == override(float32_spec(load_design()), {"source": None})


def _linear(n_in: int = 1024, n_out: int = 1024):
    b = NetworkBuilder("lin")
    b.linear(b.input("x", (1, n_in)), n_out, name="fc")
    return b.build().quantized("fixed", weight_bits=4, activation_bits=8)["fc"]


def test_a_base_file_lowering_the_clock_slows_compute_by_the_clock_ratio(tmp_path):
    path = tmp_path / "slow.yaml"
    # 100 MHz instead of the part's 150 MHz; the arrays are sized as before (clock is not a budget).
    path.write_text("base: fpga-zcu102\ndesign:\n  clock_hz: 1.0e+8\n")
    slow = REGISTRY.load_device(path)
    fast = installed_device("fpga-zcu102")
    assert slow.name == "slow" and slow.spec.design.clock_hz == 1e8
    assert (slow.design.dsp_rows, slow.design.lut_rows) == (fast.design.dsp_rows, fast.design.lut_rows)
    op = _linear()
    dsp = {p.engine: p.duration_s for p in slow.cost(op).stages[0]}["dsp_array"]
    ref = {p.engine: p.duration_s for p in fast.cost(op).stages[0]}["dsp_array"]
    assert dsp == pytest.approx(ref * 1.5, rel=1e-12)  # cycles / clock, same cycles
    net = resnet18(resolution=64).quantized("fixed", weight_bits=4, activation_bits=8).fused()
    assert simulate(net, slow).latency_s > simulate(net, fast).latency_s


def test_a_base_file_on_a_smaller_part_gets_the_allocator_s_smaller_arrays(tmp_path):
    path = tmp_path / "on-z020.yaml"
    path.write_text("base: fpga-zcu102\npart: xc7z020\n")
    moved = REGISTRY.load_device(path)
    preset = installed_device("fpga-xc7z020")
    assert moved.spec.part == preset.spec.part and moved.design.dsp_rows == preset.design.dsp_rows
    assert moved.design.dsp_rows < installed_device("fpga-zcu102").design.dsp_rows
    # The same through --set on the registered name.
    again = REGISTRY.device("fpga-zcu102", overrides={"part": "xc7z020"})
    assert again.design == moved.design


def test_halving_ddr_bandwidth_doubles_a_memory_bound_op(tmp_path):
    path = tmp_path / "slow-ddr.yaml"
    path.write_text("base: fpga-zcu102\npart:\n  ddr_bytes_per_s: 8.532e+9\n")
    half = REGISTRY.load_device(path)
    full = installed_device("fpga-zcu102")
    b = NetworkBuilder("add")
    x = b.input("x", (1, 64, 56, 56))
    op = b.build([b.add(x, x, name="sum")]).quantized("fixed", weight_bits=8,
                                                      activation_bits=8)["sum"]
    ddr = {p.engine: p.duration_s for p in half.cost(op).stages[0]}["ddr"]
    assert ddr == pytest.approx(2 * {p.engine: p.duration_s
                                     for p in full.cost(op).stages[0]}["ddr"], rel=1e-12)


@pytest.mark.parametrize("body, line", [
    ("design:\n  lut_pe: none\n  lut_rows: 3\n",
     "design.lut_rows: expected null without a LUT array (lut_pe 'none'), got 3"),
    ("design:\n  datapath: float32\n  lut_pe: none\n  fp32_mul_dsp: 0\n  fp32_add_dsp: 0\n",
     "design.fp32_add_dsp: expected an fp32 lane with DSP slices (fp32_mul_dsp + fp32_add_dsp "
     ">= 1), got 0"),
    ("part: xc7z999\n", "part: expected a part preset name (xc7z020, xc7z045, xczu9eg, zcu102) "
                        "or a mapping of part fields, got 'xc7z999' (a string)"),
    ("design: fancy\n", "design: expected a design name (accel_float32, accel_float32_lean, accel_mixed_w4a8) or a "
                        "mapping of design fields, got 'fancy' (a string)"),
    ("design:\n  clock_hz: 0\n", "design.clock_hz: expected greater than 0, got 0"),
])
def test_cross_field_and_reference_errors_are_one_line_naming_file_and_key(body, line, tmp_path,
                                                                          capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("base: fpga-zcu102\n" + body)
    assert_device_file_error(REGISTRY, path, line, capsys)


def test_schema_accepts_a_part_or_design_by_name():
    schema = json_schema(FAMILY)
    kinds = [alt.get("type", alt.get("$ref")) for alt in schema["properties"]["part"]["anyOf"]]
    assert kinds == ["#/$defs/FpgaPartSpec", "string"]
    assert schema["$defs"]["AcceleratorSpec"]["properties"]["clock_hz"]["description"].startswith("[Hz] ")


def test_a_spec_made_in_code_is_the_same_spec_a_file_gives():
    spec = FpgaSpec(name="mine", description="d", source="made in a test (a guess)",
                    part="xc7z045", design="accel_mixed_w4a8")
    assert spec.part == load_part("xc7z045") and FAMILY.build(spec).design == (
        installed_device("fpga-xc7z045").design)


def test_example_device_file_runs(capsys):
    path = EXAMPLES / "fpga_zcu102_fast.yaml"
    device = REGISTRY.load_device(path)
    assert device.spec.part.max_clock_hz == 2e8 and device.design.clock_hz == 2e8
    assert device.spec.design.lut_row_ratio == 0.67
    assert main(["run", "resnet18", "--arg", "resolution=64", "--device", str(path),
                 "--quant", "mixed:w4a8:0.67"], registry=REGISTRY) == 0
    assert "fpga_zcu102_fast" in capsys.readouterr().out


def test_rtl_export_takes_the_part_of_a_device_with_overrides(tmp_path, capsys):
    from accelerators.fpga.cli import register

    out = tmp_path / "tile.v"
    argv = ["rtl", "export", "--rows", "4", "--cols", "4", "-o", str(out), "--device",
            "fpga-zcu102"]
    assert main(argv + ["--set", "part=xc7z045"], registry=REGISTRY, commands=[register]) == 0
    assert "analytic (xc7z045): 16 DSP" in capsys.readouterr().out
    assert main(argv, registry=REGISTRY, commands=[register]) == 0
    assert "analytic (xczu9eg): 16 DSP" in capsys.readouterr().out
    assert main(argv + ["--part", "xc7z020"], registry=REGISTRY, commands=[register]) == 2
    assert capsys.readouterr().err == "edgesim: error: rtl export: give --part or --device, not both\n"
