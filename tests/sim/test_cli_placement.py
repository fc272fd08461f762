"""`edgesim run --place OP=TARGET` and `--placement auto` on a hand-timed two-unit device."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import Registry
from sim.cli import main
from tests.sim.test_transfers import PerTarget, _fork_join

COSTS = {"f": 10.0, "x": 20.0, "y": 4.0, "z": 5.0}


@pytest.fixture
def registry():
    return Registry(devices={"two": lambda: PerTarget(costs=COSTS)},
                    workloads={"forkjoin": lambda: _fork_join()})


def run(registry, *argv):
    return main(list(argv), registry=registry, commands=())


def test_place_and_auto_run_the_branch_on_the_cpu(registry, tmp_path, capsys):
    for flags in (["--place", "y=cpu"], ["--placement", "auto"]):
        out = tmp_path / flags[0].strip("-")
        assert run(registry, "run", "forkjoin", "--device", "two", *flags, "--out", str(out)) == 0
        text = capsys.readouterr().out
        assert "placed          1 op on cpu" in text and "hand-offs       2 per frame" in text
        data = json.loads((out / "forkjoin.json").read_text())
        assert data["totals"]["latency_s"] == pytest.approx(38e-6)  # 39 us on the gpu alone


@pytest.mark.parametrize("flags, message", [
    (["--place", "yy=cpu"], "has no op 'yy' (did you mean 'y'?)"),
    (["--place", "y=cpuu"], "has no target 'cpuu' (did you mean 'cpu'?)"),
    (["--place", "y"], "expected OP=TARGET"),
])
def test_bad_place_is_one_line_exit_2_and_writes_nothing(registry, tmp_path, capsys, flags,
                                                         message):
    out = tmp_path / "out"
    assert run(registry, "run", "forkjoin", "--device", "two", *flags, "--out", str(out)) == 2
    err = capsys.readouterr().err
    assert err.startswith("edgesim: error: ") and message in err and err.count("\n") == 1
    assert not out.exists()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30))
def test_any_place_text_runs_or_is_one_line_exit_2(registry, tmp_path_factory, capsys, text):
    out = tmp_path_factory.mktemp("fuzz") / "out"
    status = run(registry, "run", "forkjoin", "--device", "two", "--place", text, "--out", str(out))
    err = capsys.readouterr().err
    if status == 0:
        assert (out / "forkjoin.json").exists()
    else:
        assert status == 2 and err.startswith("edgesim: error: ") and err.count("\n") == 1, err
        assert not out.exists()
