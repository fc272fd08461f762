"""`sim.study.write_study`: a study's folder lands whole or not at all; errors are one line, status 2."""

from __future__ import annotations

from sim.study import write_study
from workloads import SpecError


def test_a_study_lands_its_folder_and_says_so(tmp_path, capsys):
    out = tmp_path / "study"

    def run(folder):
        (folder / "table.csv").write_text("a,b\n1,2\n")
        return {"rows": 1}

    assert write_study(out, run) == 0
    assert (out / "table.csv").read_text() == "a,b\n1,2\n"
    assert capsys.readouterr().out == f"wrote {out}\n"
    assert write_study(out, run, lambda result: [f"rows: {result['rows']}", "done"]) == 0
    assert capsys.readouterr().out == "rows: 1\ndone\n"


def test_a_user_error_is_one_line_exit_2_and_leaves_the_folder_as_it_was(tmp_path, capsys):
    out = tmp_path / "study"
    out.mkdir()
    (out / "old.csv").write_text("kept\n")

    def run(folder):
        (folder / "half.csv").write_text("partial\n")
        raise SpecError("bad setting 'x'; use 'y'")

    assert write_study(out, run) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "edgesim: error: bad setting 'x'; use 'y'\n"
    assert sorted(p.name for p in out.iterdir()) == ["old.csv"]
    assert [p.name for p in tmp_path.iterdir()] == ["study"]  # no staging folder left behind
