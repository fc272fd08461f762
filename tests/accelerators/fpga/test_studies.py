"""Small runs of the ViT and ILMPQ FPGA studies (no plots): a broken study fails here."""

from __future__ import annotations

import csv
import json

from accelerators.studies import fpga_ilmpq as study_ilmpq, fpga_vit as study_vit


def _rows(path):
    with path.open() as f:
        return list(csv.DictReader(f))


def test_vit_study_small(tmp_path):
    result = study_vit.run(tmp_path, small=True, plots=False)
    rows = _rows(tmp_path / "configs.csv")
    assert [r["config"] for r in rows][:2] == ["float32 baseline", "float32 lean (bound)"] and len(rows) == 6
    assert {"fps_per_s", "gops_per_dsp", "energy_per_frame_j"} <= set(rows[0])
    data = json.loads((tmp_path / "comparisons.json").read_text())
    assert len(data["comparisons"]) == 7 and data["small"] is True
    assert "Small test run" in (tmp_path / "README.md").read_text()
    mixed, fp32 = result.rows[-1], result.rows[0]
    assert mixed.fps_per_s > fp32.fps_per_s


def test_ilmpq_study_small(tmp_path):
    result = study_ilmpq.run(tmp_path, small=True, plots=False)
    rows = _rows(tmp_path / "speedups.csv")
    assert {r["part"] for r in rows} == {"xc7z020", "xc7z045"}
    assert all(float(r["speedup_vs_fixed_w4a4"]) > 0 for r in rows)
    assert len(result.comparisons) == 2
