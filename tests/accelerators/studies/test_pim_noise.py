"""A small run of the pim_noise study (no plots), so a broken study fails CI."""

from __future__ import annotations

import csv
import json

import pytest

from accelerators.studies.pim_noise import SMALL, main, run_study


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_small_study_writes_its_tables(tmp_path):
    tables = run_study(tmp_path, SMALL)
    for name in ("accuracy_vs_adc_bits", "accuracy_vs_noise", "nonidealities",
                 "resnet18_cifar_layers", "resnet18_energy_vs_adc_bits"):
        rows = read(tmp_path / f"{name}.csv")
        assert rows and len(rows) == len(getattr(tables, name))
    acc = read(tmp_path / "accuracy_vs_adc_bits.csv")
    assert {"naive_accuracy_ratio", "bn_calibrated_accuracy_ratio",
            "rescaled_bn_calibrated_accuracy_ratio", "pim_aware_accuracy_ratio",
            "energy_per_inference_j", "adc_energy_j"} <= set(acc[0])
    low, high = (r for r in acc)  # SMALL sweeps 4 and 9 bits
    assert float(low["naive_accuracy_ratio"]) < 0.3 < float(low["rescaled_bn_calibrated_accuracy_ratio"])
    assert float(high["adc_energy_j"]) == pytest.approx(32 * float(low["adc_energy_j"]))
    summary = json.loads((tmp_path / "resnet18_cifar_summary.json").read_text())
    assert summary["w8a8"]["energy_detail_j"]["adc"] > 0
    assert summary["w8a8"]["energy_by_component_j"]["conversion"] >= summary["w8a8"]["energy_detail_j"]["adc"]
    text = (tmp_path / "README.md").read_text()
    assert f"{100 * float(low['naive_accuracy_ratio']):.1f} %" in text  # numbers come from tables
    assert not list(tmp_path.glob("*.png"))


def test_study_cli_reports_an_unwritable_folder(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["--out", str(blocker / "sub"), "--small"]) == 2
    assert capsys.readouterr().err.startswith("edgesim: error: cannot create output directory")
