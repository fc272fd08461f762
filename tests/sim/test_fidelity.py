"""The fidelity table (sim.fidelity): the row record by hand, contributor isolation, and every
registered family's fast rows held to their bands, with the open gaps listed explicitly."""

from __future__ import annotations

import csv
import json

import pytest

from sim import fidelity
from sim.fidelity import Collection, FidelityRow, Role, collect, write_study
from workloads import SpecError

FAMILIES = {"mobile", "mcu", "fpga", "pim", "pointcloud", "systolic", "zoo"}

KNOWN_OPEN_GAPS = {
    # MobileBERT on the Pixel 4 CPU: narrow GEMMs priced at BERT-base's rate per MAC (the
    # validation study's band is -25..+60 %; the table caps held-out bands at 25 %).
    "mobile/mobilebert-mobilebert-snapdragon855-cpu",
    # Auto-ViT-Acc's float32 baseline is above what the ZCU102's DSPs hold (test_fp32_bound.py).
    "fpga/autovitacc-deit-base-fp32-fps",
    "fpga/autovitacc-mixed-over-fp32",
    "fpga/autovitacc-deit-base-fp32-lean-fps",
    "fpga/autovitacc-mixed-over-fp32-lean",
    # One network, two boards' runtimes (215 kB on the H743, 242 kB on the F746).
    "mcu/f746-mcunet-in2-sram-kb",
    # PointAcc's energy saving: the model's power ratio is ~5x the abstract's (full run only).
    "pointcloud/pointacc-geomean-energy-saving",
    # YOLObile on the S20: with the Adreno CNN scale the GPU model is 1.9x faster than published
    # (it was 7.1x with the Nano's), so fewer branches gain on the CPU (1.06x against 1.124x);
    # the block-pruned kernels and the 3x3 convolutions are not constrained by the calibration
    # network (devices/studies/yolobile_coexec.py; its what-if GPU clock gives the speed-up).
    "mobile/yolobile-s20-gpu-fps",
    "mobile/yolobile-s20-gpu-cpu-fps",
    "mobile/yolobile-s20-coexec-speedup",
    "mobile/yolov4-s20-gpu-fps-derived",
    # SPViT's 26 ms is a token-pruned DeiT-T, a bound the dense network must not beat: 29 % above
    # it with the Adreno CNN scale (23 % before), inside the study's 0..+100 % bound, outside the
    # table's 25 % cap.
    "mobile/spvit-deit-tiny-fp16-snapdragon865-gpu",
    # ncnn's Vulkan benchmark on Adreno 640/660/540 (held out, another framework than the
    # calibration's TFLite): 3x3-heavy VGG-16/ResNets too slow (ncnn's Winograd 3x3), depthwise
    # MobileNets too fast, the Adreno 660 preset's assumed 512 ALUs at 840 MHz too fast on every
    # network (results/mobile_validation). With the Nano-derived scale all were 1.4-9x too fast.
    *(f"mobile/ncnn-benchmark-readme-md-{net}-224-{preset}-gpu" for preset, nets in (
        ("snapdragon855", ("mobilenet-v1", "mobilenetv2", "vgg-16")),
        ("snapdragon888", ("mobilenet-v1", "mobilenetv2", "resnet-18", "resnet-50", "vgg-16",
                           "efficientnet-b0")),
        ("snapdragon835", ("mobilenetv2", "resnet-18", "resnet-50"))) for net in nets),
}
"""Every gap the table may report as open. A new one must be added here, with its reason."""


def row(**changes) -> FidelityRow:
    base = dict(family="f", case="c", source="paper, Table 1", quantity="q", unit="ms",
                published_value=10.0, simulated_value=12.0, band_pct=(-25.0, 25.0),
                role=Role.HELD_OUT)
    return FidelityRow(**{**base, **changes})


# --- the record -------------------------------------------------------------------------------

def test_error_and_band_by_hand():
    r = row()
    assert r.error_pct == pytest.approx(20.0)  # (12 - 10) / 10
    assert r.in_band and r.band_text == "-25..+25 %"
    assert not row(simulated_value=7.4).in_band  # -26 %
    assert row(simulated_value=10.0, band_pct=(0.0, 0.0)).band_text == "exact"
    gap = row(simulated_value=3.0, open_gap=True)
    assert gap.error_pct == pytest.approx(-70.0) and not gap.in_band
    assert gap.band_text == "open gap (target -25..+25 %)"
    assert gap.record()["role"] == "held out" and gap.record()["open_gap"] is True


@pytest.mark.parametrize("changes, match", [
    ({"published_value": 0.0}, r"f/c: published_value must be non-zero"),
    ({"simulated_value": float("nan")}, r"f/c: simulated_value must be finite"),
    ({"band_pct": (5.0, -5.0)}, r"f/c: band_pct must be finite \(low, high\) with low <= high"),
])
def test_bad_rows_are_typed_errors(changes, match):
    with pytest.raises(SpecError, match=match):
        row(**changes)


# --- collection -------------------------------------------------------------------------------

def test_a_failing_contributor_is_one_line_naming_it_and_the_rest_still_count():
    def good(*, fast):
        return [row(case="a"), row(case="b")]

    def broken(*, fast):
        raise ZeroDivisionError("division by zero")

    def wrong(*, fast):
        return [{"case": "x"}]

    def repeats(*, fast):
        return [row(family="r", case="a"), row(family="r", case="a")]

    got = collect({"good": good, "broken": broken, "wrong": wrong, "repeats": repeats})
    assert [r.case for r in got.rows] == ["a", "b"]
    assert len(got.failures) == 3 and all("\n" not in line for line in got.failures)
    assert "'broken'" in got.failures[0] and "ZeroDivisionError: division by zero" in got.failures[0]
    assert "'wrong'" in got.failures[1] and "returned dict, not FidelityRow" in got.failures[1]
    assert "'repeats'" in got.failures[2] and "repeats case(s) a" in got.failures[2]


def test_fast_is_passed_to_each_contributor():
    seen = []
    collect({"x": lambda *, fast: seen.append(fast) or []}, fast=True)
    assert seen == [True]


# --- the registered contributors --------------------------------------------------------------

@pytest.fixture(scope="module")
def fast_table() -> Collection:
    return collect(fast=True)


def test_every_family_contributes(fast_table):
    assert set(fidelity.contributors()) == FAMILIES
    assert fast_table.failures == ()
    assert {r.family for r in fast_table.rows} == FAMILIES
    cases = [(r.family, r.case) for r in fast_table.rows]
    assert len(cases) == len(set(cases))


def test_every_row_not_an_open_gap_is_in_its_band(fast_table):
    out = [f"{r.family}/{r.case}: {r.error_pct:+.2f} % outside {r.band_text}"
           for r in fast_table.out_of_band]
    assert out == []


def test_calibration_points_are_held_tightly(fast_table):
    calibration = [r for r in fast_table.rows if r.role is Role.CALIBRATION]
    assert {r.family for r in calibration} >= {"mobile", "mcu", "pim", "systolic"}
    for r in calibration:
        assert not r.open_gap and max(abs(b) for b in r.band_pct) <= 5.0, r.case
        assert abs(r.error_pct) <= 5.0, r.case


def test_open_gaps_are_listed_and_still_open(fast_table):
    gaps = {f"{r.family}/{r.case}" for r in fast_table.open_gaps}
    assert gaps <= KNOWN_OPEN_GAPS, f"new open gap(s): {sorted(gaps - KNOWN_OPEN_GAPS)}"
    for r in fast_table.open_gaps:
        # A gap that closed must lose its flag and be held to its band instead.
        assert not r.in_band, f"{r.family}/{r.case} is in band: drop open_gap"
        assert r.note, f"{r.family}/{r.case}: an open gap says what is known of it"
        assert r.role is Role.HELD_OUT


def test_zoo_counts_agree_with_the_zoo_tests(fast_table):
    zoo = {r.case: r for r in fast_table.rows if r.family == "zoo"}
    assert zoo["resnet18-params"].simulated_value == 11_689_512
    assert zoo["mobilenetv2-w1-r224-macs"].band_pct == pytest.approx((0.0, 100 / 300))
    assert zoo["yolobile-compression"].published_value == 14.0


# --- the study --------------------------------------------------------------------------------

def test_study_writes_table_readme_and_plot(fast_table, tmp_path):
    small = Collection(rows=fast_table.rows[:12] + fast_table.open_gaps,
                       failures=("fidelity contributor 'x' raised KeyError: 'y'",))
    paths = write_study(small, tmp_path, plots=True, fast=True)
    names = {p.name for p in paths}
    assert {"fidelity.csv", "fidelity.json", "README.md"} <= names
    with (tmp_path / "fidelity.csv").open() as f:
        table = list(csv.DictReader(f))
    assert len(table) == len(small.rows) and table[0]["case"] == small.rows[0].case
    assert set(table[0]) == set(fidelity.COLUMNS)
    data = json.loads((tmp_path / "fidelity.json").read_text())
    assert data["failures"] == list(small.failures) and data["fast"] is True
    text = (tmp_path / "README.md").read_text()
    assert "python -m sim.fidelity --out results/fidelity" in text
    assert "fidelity contributor 'x' raised KeyError" in text
    for gap in small.open_gaps:
        assert f"`{gap.family}/{gap.case}`" in text
    if fidelity.pyplot() is not None:
        assert "error.png" in names and (tmp_path / "error.png").stat().st_size > 0


def test_cli_reports_a_failed_contributor_and_exits_1(tmp_path, monkeypatch, capsys):
    def broken(*, fast):
        raise KeyError("units")

    monkeypatch.setattr(fidelity, "contributors", lambda: {"broken": broken})
    assert fidelity.main(["--out", str(tmp_path / "f"), "--no-plots"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'broken'" in err[0] and "KeyError" in err[0]
    assert (tmp_path / "f" / "README.md").exists()


def test_the_fast_study_runs_end_to_end(tmp_path, capsys):
    # The small version of `python -m sim.fidelity --out results/fidelity`.
    assert fidelity.main(["--out", str(tmp_path / "fidelity"), "--fast", "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "0 out of band, 0 failed contributors" in out
    text = (tmp_path / "fidelity" / "README.md").read_text()
    assert "**Fast subset**" in text and "| mcu/" not in text and "| mcu |" in text
