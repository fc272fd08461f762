"""A small run of the results/yolobile_coexec study (no plots), so a broken study fails CI."""

from __future__ import annotations

import csv
import json

import pytest

from devices.studies.yolobile_coexec import PUBLISHED_COEXEC_FPS, PUBLISHED_GPU_FPS, main


def test_small_study_writes_its_tables(tmp_path):
    out = tmp_path / "yolobile_coexec"
    assert main(["--out", str(out), "--small", "--no-plots"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["README.md", "branches.csv", "coexec.csv", "coexec.json", "placement.csv"]
    with (out / "coexec.csv").open() as f:
        chosen, what_if = list(csv.DictReader(f))
    # The what-if's GPU clock is solved so GPU only takes exactly the published 1/17 s.
    assert float(what_if["gpu_only_fps"]) == pytest.approx(PUBLISHED_GPU_FPS, rel=1e-4)
    # Co-execution never loses: the rule moves a branch only when the frame ends sooner.
    for run in (chosen, what_if):
        assert float(run["coexec_ms"]) <= float(run["gpu_only_ms"])
    # With the GPU as slow as published, the rule's CPU branches give the paper's gain to 5 %.
    published = PUBLISHED_COEXEC_FPS / PUBLISHED_GPU_FPS
    assert float(what_if["speedup"]) == pytest.approx(published, rel=0.05)
    assert int(what_if["n_ops_on_cpu"]) > 0 and int(what_if["n_hand_offs"]) > 0
    summary = json.loads((out / "coexec.json").read_text())
    assert {r["case"] for r in summary["fidelity_rows"]} == {
        "yolobile-s20-gpu-fps", "yolobile-s20-gpu-cpu-fps", "yolobile-s20-coexec-speedup",
        "yolov4-s20-gpu-fps-derived"}
    assert "| yolobile |" in (out / "README.md").read_text()
