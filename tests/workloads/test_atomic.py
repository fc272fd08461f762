"""The one atomic writer (workloads.atomic): output sets land whole or not at all (issue 13)."""

from __future__ import annotations

import os
import signal

import pytest

from workloads.atomic import OutputError, OutputSet, staged_directory, write_atomic


def listing(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def umask_027():
    previous = os.umask(0o027)
    yield
    os.umask(previous)


def test_files_get_the_users_umask(tmp_path, umask_027):
    path = write_atomic(tmp_path / "a.txt", "x")
    assert path.stat().st_mode & 0o777 == 0o640  # 0o666 & ~0o027
    with staged_directory(tmp_path / "study") as out:
        (out / "t.csv").write_text("1\n")  # a study writing by path
        write_atomic(out / "u.csv", "2\n")
    assert listing(tmp_path / "study") == ["t.csv", "u.csv"]
    assert (tmp_path / "study" / "u.csv").stat().st_mode & 0o777 == 0o640


def test_a_set_lands_only_at_the_end(tmp_path):
    with OutputSet() as out:
        out.write(tmp_path / "a.csv", "a")
        out.write(tmp_path / "b.png", b"\x89PNG")
        assert [n for n in listing(tmp_path) if not n.startswith(".")] == []  # staged, hidden
    assert listing(tmp_path) == ["a.csv", "b.png"]
    assert (tmp_path / "b.png").read_bytes() == b"\x89PNG"


def test_an_interrupt_while_staging_writes_nothing(tmp_path):
    (tmp_path / "a.csv").write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with OutputSet() as out:
            out.write(tmp_path / "a.csv", "new")
            raise KeyboardInterrupt
    assert listing(tmp_path) == ["a.csv"] and (tmp_path / "a.csv").read_text() == "old"


def test_a_rename_failing_midway_puts_back_what_it_replaced(tmp_path):
    (tmp_path / "a.csv").write_text("old a")
    out = OutputSet()
    out.write(tmp_path / "a.csv", "new a")
    out.write(tmp_path / "b.csv", "new b")
    (tmp_path / "b.csv").mkdir()  # appears after staging: its rename fails
    with pytest.raises(OutputError, match=r"b\.csv.*nothing was written"):
        out.commit()
    assert (tmp_path / "a.csv").read_text() == "old a"
    assert listing(tmp_path) == ["a.csv", "b.csv"] and (tmp_path / "b.csv").is_dir()


def test_sigint_during_the_renames_is_held_until_the_set_is_whole(tmp_path, monkeypatch):
    real_replace = os.replace
    calls = []

    def replace_then_interrupt(src, dst):
        calls.append(dst)
        if len(calls) == 1:
            signal.raise_signal(signal.SIGINT)  # Ctrl-C between the two renames
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        with OutputSet() as out:
            out.write(tmp_path / "a.csv", "a")
            out.write(tmp_path / "b.csv", "b")
    assert listing(tmp_path) == ["a.csv", "b.csv"]  # both landed, then the interrupt
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_failing_study_leaves_its_folder_untouched(tmp_path):
    out = tmp_path / "study"
    out.mkdir()
    (out / "old.csv").write_text("kept")
    with pytest.raises(ZeroDivisionError):
        with staged_directory(out) as staging:
            (staging / "new.csv").write_text("half")
            1 / 0
    assert listing(out) == ["old.csv"] and listing(tmp_path) == ["study"]


def test_bad_targets_are_output_errors(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(OutputError, match="it is a directory"):
        write_atomic(tmp_path / "d", "x")
    with pytest.raises(OutputError, match="does not exist"):
        write_atomic(tmp_path / "nope" / "x", "x")
    (tmp_path / "f").write_text("")
    with pytest.raises(OutputError, match="is a file; give a directory"):
        with staged_directory(tmp_path / "f"):
            pass


def test_pngs_are_written_atomically(tmp_path):
    from sim.tables import pyplot, save_figure

    plt = pyplot()
    if plt is None:
        pytest.skip("matplotlib is not installed")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    path = save_figure(fig, tmp_path / "p.png", dpi=40)
    plt.close(fig)
    assert listing(tmp_path) == ["p.png"] and path.read_bytes()[:4] == b"\x89PNG"
