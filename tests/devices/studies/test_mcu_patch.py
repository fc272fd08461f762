"""A small run of the results/mcu_patch study (no plots), so a broken study fails CI."""

from __future__ import annotations

import csv
import json

from devices.studies.mcu_patch import main


def test_small_study_writes_its_tables(tmp_path):
    out = tmp_path / "mcu_patch"
    assert main(["--out", str(out), "--small", "--no-plots"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["README.md", "curves.csv", "latency.csv", "peaks.csv", "published.json"]
    with (out / "peaks.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [r["model"] for r in rows] == ["mbv2-w0.35-r96", "mcunet-in2"]
    assert all(float(r["patch_peak_kB"]) < float(r["layer_peak_kB"]) for r in rows)
    summary = json.loads((out / "published.json").read_text())
    in2 = {c["figure"]: c for c in summary["comparisons"]}["h743_mcunet_in2_ms"]
    assert abs(in2["error_ratio"]) < 0.02
    assert "| mcunet-in2 |" in (out / "README.md").read_text()
