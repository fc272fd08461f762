"""`sim.study.write_study`: a study's folder lands whole or not at all; errors are one line, status 2."""

from __future__ import annotations

import pytest

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


def test_study_main_owns_the_common_arguments_and_passes_the_study_its_own(tmp_path, capsys):
    from sim.study import study_main

    seen = []

    def run(folder, args):
        seen.append((args.seed, args.small, args.no_plots, args.width))
        (folder / "t.csv").write_text("x\n")
        return 3

    def options(parser):
        parser.add_argument("--width", type=int, default=1)

    out = tmp_path / "s"
    status = study_main(["--out", str(out), "--seed", "7", "--small", "--width", "4"], run,
                        prog="python -m x", description="x", out_example="results/x",
                        plots=True, add_options=options, report=lambda n, args: [f"rows: {n}, width {args.width}"])
    assert status == 0 and seen == [(7, True, False, 4)]
    assert (out / "t.csv").read_text() == "x\n"
    assert capsys.readouterr().out == "rows: 3, width 4\n"


def test_study_main_reports_a_user_error_on_one_line(tmp_path, capsys):
    from sim.study import study_main

    def run(folder, args):
        raise SpecError("bad setting 'x'; use 'y'")

    out = tmp_path / "s"
    assert study_main(["--out", str(out)], run, prog="p", description="d", out_example="r") == 2
    assert capsys.readouterr().err == "edgesim: error: bad setting 'x'; use 'y'\n"
    assert not out.exists()
    with pytest.raises(SystemExit) as exit_:  # no --no-plots on a study without plots
        study_main(["--out", str(out), "--no-plots"], run, prog="p", description="d", out_example="r")
    assert exit_.value.code == 2
    with pytest.raises(SystemExit) as exit_:  # a seed numpy would refuse is a usage error
        study_main(["--out", str(out), "--seed", "-1"], run, prog="p", description="d", out_example="r")
    assert exit_.value.code == 2


def test_a_study_that_checks_a_peer_tool_returns_its_own_status(tmp_path, capsys):
    """`status(result)` is the exit status (the SCALE-Sim validation returns 1 on a
    disagreement), and the folder lands either way so the disagreement can be read."""
    out = tmp_path / "s"

    def run(folder):
        (folder / "comparison.csv").write_text("run,ok\nconv,False\n")
        return ["conv: Total Cycles 800 != 799"]

    assert write_study(out, run, lambda problems: problems,
                       lambda problems: 1 if problems else 0) == 1
    assert (out / "comparison.csv").exists()
    assert capsys.readouterr().out == "conv: Total Cycles 800 != 799\n"
    assert write_study(out, lambda folder: [], None, lambda problems: 1 if problems else 0) == 0
