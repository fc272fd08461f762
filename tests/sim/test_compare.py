"""`edgesim compare`: settings parse, every design point is a row, infeasible ones say why."""

from __future__ import annotations

import csv
import dataclasses
from dataclasses import dataclass

import pytest

from devices.roofline import RooflineDevice
from sim import Registry
from sim.cli import main
from sim.compare import ENERGY_COLUMNS, DeviceChoice, apply_setting, compare
from tests.helpers import chain, unit_spec
from workloads import DoesNotFitError, QuantScheme, SparsityScheme, SpecError


@dataclass(frozen=True)
class TinyMemoryDevice(RooflineDevice):
    """A roofline device whose memory holds at most 1 kB of weights per op."""

    def cost(self, op, target="compute"):
        if op.weight_bytes > 1024:
            raise DoesNotFitError(f"op {op.name!r}: {op.weight_bytes} B of weights exceed 1024 B")
        return super().cost(op, target)


@dataclass(frozen=True)
class Int8OnlyDevice(RooflineDevice):
    """A roofline device that runs float ops as int8 (a documented substitute) and says so."""

    def cost(self, op, target="compute"):
        cost = super().cost(op.replace(compression=dataclasses.replace(
            op.compression, quant=QuantScheme.FIXED, weight_bits=8, activation_bits=8)), target)
        if op.compression.is_float:
            return dataclasses.replace(cost, executed_precision="w8a8")
        return cost


@pytest.fixture
def registry():
    return Registry(
        devices={"fast": lambda: RooflineDevice(unit_spec(name="fast", fp32_macs_per_s=4e9)),
                 "slow": lambda: RooflineDevice(unit_spec(name="slow")),
                 "small": lambda: TinyMemoryDevice(unit_spec(name="small")),
                 "int8only": lambda: Int8OnlyDevice(unit_spec(name="int8only"))},
        workloads={"chain": lambda: chain(3, 16, name="chain")},
    )


def test_settings_apply_in_order():
    net = apply_setting(chain(2, 16), "block:0.75+w8a8+fuse")
    op = net.ops[0]
    assert op.compression.sparsity is SparsityScheme.BLOCK and op.compression.quant is QuantScheme.FIXED
    assert apply_setting(chain(2, 16), "fp32") == chain(2, 16)
    with pytest.raises(SpecError, match="--quant 'int3'"):
        apply_setting(chain(2, 16), "int3")
    assert DeviceChoice.parse("snapdragon865:gpu") == DeviceChoice("snapdragon865", "gpu")


def test_every_design_point_is_a_row_and_misfits_say_why(registry):
    rows = compare(registry, ["chain"], ["fp32", "w8a8"],
                   [DeviceChoice("fast", ""), DeviceChoice("slow", ""), DeviceChoice("small", "")])
    assert len(rows) == 6
    fp32_small = next(r for r in rows if r["device"] == "small" and r["setting"] == "fp32")
    assert "exceed 1024 B" in fp32_small["error"] and fp32_small["latency_ms"] == ""
    int8_small = next(r for r in rows if r["device"] == "small" and r["setting"] == "w8a8")
    # 16 x 16 weights + 16 biases: 1,088 B at fp32 (too big), 272 B at int8 (fits).
    assert int8_small["error"] == ""
    for r in rows:
        if not r["error"]:
            assert r["inferences_per_j"] == pytest.approx(1000 / r["energy_per_inference_mj"], rel=1e-3)


def test_cli_writes_table_and_readme(registry, tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", "--model", "chain", "--setting", "fp32", "--device", "fast",
                 "--device", "slow", "--out", str(out)], registry=registry, commands=()) == 0
    rows = list(csv.DictReader((out / "compare.csv").open()))
    assert [r["device"] for r in rows] == ["fast", "slow"]
    text = (out / "README.md").read_text()
    assert "edgesim compare --model chain --setting fp32 --device fast --device slow" in text
    assert "| chain | fp32 |" in text
    assert main(["compare", "--model", "chain", "--setting", "fp32", "--device", "nope"],
                registry=registry, commands=()) == 2


def test_a_substituted_precision_is_shown_and_never_ranked(registry, tmp_path, capsys):
    devices = [DeviceChoice("slow", ""), DeviceChoice("int8only", "")]
    rows = compare(registry, ["chain"], ["fp32", "w8a8"], devices)
    sub = next(r for r in rows if r["device"] == "int8only" and r["setting"] == "fp32")
    honest = next(r for r in rows if r["device"] == "slow" and r["setting"] == "fp32")
    assert (sub["requested_precision"], sub["executed_precision"], sub["substituted"]) == (
        "fp32", "w8a8", True)
    assert honest["executed_precision"] == "fp32" and honest["substituted"] is False
    # Running int8 for fp32 is cheaper: ranked silently, it would win the fp32 row.
    assert sub["energy_per_inference_mj"] < honest["energy_per_inference_mj"]
    out = tmp_path / "cmp"
    assert main(["compare", "--model", "chain", "--setting", "fp32", "--setting", "w8a8",
                 "--device", "slow", "--device", "int8only", "--out", str(out)],
                registry=registry, commands=()) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split()[:4] == ["model", "setting", "device:target", "latency"]
    assert "executed precision" in printed[0]
    assert any("int8only" in line and "SUBSTITUTE, not ranked" in line for line in printed)
    assert (out / "compare.png").exists() or any("pip install 'edgesim[plot]'" in line
                                                 for line in printed)
    text = (out / "README.md").read_text()
    assert "| chain | fp32 | slow:compute" in text  # the winner among what ran as asked
    assert "- chain, fp32 on int8only:compute: asked fp32, ran w8a8" in text
    assert "| chain | w8a8 |" in text and "w8a8 on int8only" not in text  # int8 run as asked
    header = next(csv.reader((out / "compare.csv").open()))
    assert "executed_precision" in header and "energy_off_chip_mj" in header


def test_energy_columns_line_up_and_sum_to_the_total(registry):
    rows = compare(registry, ["chain"], ["w8a8"], [DeviceChoice("fast", ""), DeviceChoice("slow", "")])
    for r in rows:
        parts = [r[c] for c in ENERGY_COLUMNS]
        assert sum(parts) == pytest.approx(r["energy_per_inference_mj"], rel=1e-4)
