"""README.md stays true: two commands at the top, CI runs the second, the Python tour runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_readme_opens_with_exactly_two_commands():
    first = _blocks("")[0].strip().splitlines()
    assert len(first) == 2
    assert "edgesim run" in first[0] and "pytest" in first[1]
    assert README.index("```") < README.index("## ")  # before any section


def test_ci_runs_the_readme_test_command():
    test_command = _blocks("")[0].strip().splitlines()[1]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci


def test_python_tour_runs(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the tour writes a device file in the working directory
    code = _blocks("python")[0]
    exec(compile(code, "README.md", "exec"), {})
    assert "energy by component" in capsys.readouterr().out
