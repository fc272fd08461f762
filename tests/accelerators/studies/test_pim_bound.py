"""A small run of the pim_bound study (no plots): the output-bound trade-off it exists to show."""

from __future__ import annotations

import csv

from accelerators.studies.pim_bound import SMALL, main, run_study


def test_small_bound_study_shows_clipping_and_resolution_apart(tmp_path):
    rows = run_study(tmp_path, SMALL)
    with open(tmp_path / "accuracy_vs_output_bound.csv", newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    assert len(table) == len(rows) == 3 * 3  # three ADC settings x three bounds (1/1024, 1/64, 1)
    acc = {(r.adc_setting, r.full_scale_ratio): r.naive_accuracy_ratio for r in rows}
    smallest, largest = min(SMALL.bound_ratios), max(SMALL.bound_ratios)
    # a bound of 1/1024 of the largest sum clips the signal; without clipping it is harmless
    assert acc["clip_only", smallest] < 0.5 < acc["round_only", smallest]
    # the whole range on 5 bits is too coarse an LSB; without rounding it is harmless
    assert acc["round_only", largest] < 0.5 < acc["clip_only", largest]
    # a real converter suffers from both, and in between does as well as either
    assert acc["round_and_clip", smallest] < 0.5 and acc["round_and_clip", largest] < 0.5
    assert acc["round_and_clip", 1 / 64] > 0.9
    text = (tmp_path / "README.md").read_text()
    assert f"{100 * acc['round_and_clip', 1 / 64]:.1f} %" in text  # numbers come from the table
    assert not list(tmp_path.glob("*.png"))


def test_bound_study_cli_reports_an_unwritable_folder(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["--out", str(blocker / "sub"), "--small"]) == 2
    assert capsys.readouterr().err.startswith("edgesim: error: cannot create output directory")
