"""Small versions of the mobile studies, so a broken study fails CI."""

from __future__ import annotations

import csv

from devices.studies import mobile as studies


def test_validation_study_lists_calibration_rows(tmp_path):
    rows = studies.validation(tmp_path, small=True)
    # 3 CNN + 2 BERT-base + MobileBERT w/o OPT (the Arm CPU lowered layer norm and GELU)
    assert all(r.used_for_calibration for r in rows) and len(rows) == 6
    assert all(abs(r.error_pct) < 5 for r in rows)
    assert "do not edit by hand" in (tmp_path / "README.md").read_text()


def test_sparsity_study_shows_the_schemes_trade_offs(tmp_path):
    rows = studies.sparsity(tmp_path, small=True)
    table = list(csv.DictReader((tmp_path / "sparsity_schemes.csv").open()))
    assert len(table) == len(rows) == 2 * 2 * (1 + 4 * 2)  # targets x fusion x (dense + 4 x 2)
    speed = {(r.target, r.scheme, r.ratio, r.fused): r.speedup_vs_dense for r in rows}
    assert speed[("cpu", "unstructured", 0.5, False)] == 1.0  # falls back to dense
    assert speed[("cpu", "unstructured", 0.9, False)] > 1.2
    assert speed[("gpu", "pattern", 0.9, False)] < 1.1  # MobileNetV2 has almost no 3x3 convs


def test_driving_scenario_meets_deadlines_only_when_compressed(tmp_path):
    rows = studies.driving(tmp_path, small=True)
    misses = {(r.variant, r.stream): r.deadline_misses for r in rows}
    assert misses[("dense fp32", "lidar")] > 0
    assert all(misses[("block 75% + int8 + fused", s)] == 0 for s in ("camera", "lidar", "tracker"))
