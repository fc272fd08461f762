"""The committed SCALE-Sim v3 table (results/scalesim_validation) still holds: compute cycles
and per-operand SRAM counts exact, utilizations to 1e-9, DRAM counts within the stated bands."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from accelerators.studies import scalesim_validation as validation
from sim.tables import csv_text

COMMITTED = Path(__file__).resolve().parents[3] / "results" / "scalesim_validation"


def test_committed_scalesim_numbers_are_reproduced():
    reference = validation.read_reference(COMMITTED / "scalesim_reference.csv")
    rows = validation.edgesim_rows(reference)
    assert len(rows) == len(reference) == 108
    assert len(rows) - validation._expanded(rows) >= 30  # layer x dataflow x array cases
    assert validation.mismatches(rows) == []


def test_regeneration_without_scalesim_rechecks_the_committed_table(tmp_path, monkeypatch):
    monkeypatch.setattr(validation, "scalesim_python", lambda explicit: None)
    assert validation.main(["--out", str(tmp_path)]) == 0
    assert (tmp_path / "scalesim_reference.csv").read_text() == (
        COMMITTED / "scalesim_reference.csv").read_text()
    assert "108 of 108 rows exact" in (tmp_path / "README.md").read_text()


def test_a_broken_model_is_caught(monkeypatch):
    reference = validation.read_reference(COMMITTED / "scalesim_reference.csv")
    rows = validation.edgesim_rows(reference)
    rows[0] = dataclasses.replace(rows[0], edgesim=dataclasses.replace(
        rows[0].edgesim, total_cycles=rows[0].edgesim.total_cycles + 1))
    rows[1] = dataclasses.replace(rows[1], ratio_dram_ifmap_reads=3.0)
    problems = validation.mismatches(rows)
    assert len(problems) == 2 and "Total Cycles" in problems[0] and "outside" in problems[1]


def test_typed_reference_rows_write_back_the_committed_table():
    """Parsing scalesim_reference.csv into typed rows and writing them as a SCALE-Sim run would
    gives the committed file (whose lines end in CRLF) cell for cell."""
    path = COMMITTED / "scalesim_reference.csv"
    rows = validation.read_reference(path)
    text = csv_text([r.table_row() for r in rows], validation.REFERENCE_COLUMNS)
    assert text == path.read_bytes().decode("utf-8").replace("\r\n", "\n")


def test_a_disagreement_is_exit_status_1_with_the_folder_written(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(validation, "scalesim_python", lambda explicit: None)
    monkeypatch.setattr(validation, "mismatches", lambda rows: ["conv_os_8x8 conv3x3: planted"])
    assert validation.main(["--out", str(tmp_path)]) == 1
    assert "Disagreements: conv_os_8x8 conv3x3: planted" in (tmp_path / "README.md").read_text()
    assert capsys.readouterr().out.startswith("conv_os_8x8 conv3x3: planted\n")
