"""A small run of the FPGA RTL study (two 4x4 tiles, no plots, no synthesis): every tile bit
exact against numpy and its cycles equal to `tile_cycles`."""

from __future__ import annotations

import csv

from accelerators.studies import fpga_rtl as study_rtl


def test_rtl_study_small(tmp_path):
    result = study_rtl.run(tmp_path, small=True, plots=False)
    with (tmp_path / "verification.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert rows and all(r["bit_exact"] == "True" and r["cycles_match"] == "True" for r in rows)
    assert (tmp_path / "resources.csv").exists()
    assert any("synthesis skipped" in m for m in result.messages)
