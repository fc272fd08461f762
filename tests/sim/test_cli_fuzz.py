"""Fuzz tests (hypothesis) of the CLI flags (issue 13): any value of any flag either runs
(exit 0) or is refused with exit 2 and exactly one line on stderr, never a traceback, and
writes nothing when refused. Bounded in examples and time; deterministic."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.roofline import RooflineDevice
from sim import Registry
from sim.cli import main
from tests.helpers import chain, unit_spec
from workloads import SpecError


def tiny_model(*, layers: int = 3, features: int = 16, relu: bool = False):
    """A chain of linear layers (test model)."""
    if not 1 <= layers <= 50 or not 1 <= features <= 4096:
        raise SpecError(f"'layers' must be in [1, 50] and 'features' in [1, 4096] (got {layers}, {features})")
    return chain(layers, features, name="tiny")


REGISTRY = Registry(devices={"unit": lambda: RooflineDevice(unit_spec())},
                    workloads={"tiny": tiny_model})

numbers = st.one_of(
    st.integers(min_value=-10**30, max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "nan", "-0", "1e-7", "1e308", "0x10", "1_000", " 3", "3.0", "2**64"]),
    st.text(max_size=12),
)
flag_values = {
    "--seed": numbers, "--fps": numbers, "--frames": numbers, "--deadline-ms": numbers,
    "--target": st.text(max_size=8),
    "--quant": st.one_of(st.text(max_size=16), st.sampled_from(
        ["fp32", "w8a8", "mp:w4a8:nan:0.25", "mp:w4a8:8.7:0.25", "mixed:w4a8:2", "pot:w99a8",
         "w0a8", "mp:w4a8:8:-1", ""])),
    "--prune": st.one_of(st.text(max_size=16), st.sampled_from(
        ["block:0.5", "block:0.5:0x4", "channel:1", "pattern:nan", "unstructured:0.999999"])),
    "--arg": st.one_of(st.text(max_size=16), st.sampled_from(
        ["layers=3", "layers=0", "layers=1e9", "relu=false", "relu=3", "features=nan", "name=x",
         "=3", "features=99999999999999999999"])),
}


@settings(max_examples=150, deadline=3000, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(flags=st.dictionaries(st.sampled_from(sorted(flag_values)), st.none(), min_size=1, max_size=4)
       .flatmap(lambda keys: st.fixed_dictionaries({k: flag_values[k] for k in keys})))
def test_any_flag_value_runs_or_is_one_typed_line(flags, tmp_path_factory, capsys):
    out = tmp_path_factory.mktemp("out") / "run"
    argv = ["run", "tiny", "--device", "unit", "--out", str(out)]
    for flag, value in flags.items():
        argv.append(f"{flag}={value}")  # '=' so values starting with '-' stay values
    try:
        status = main(argv, registry=REGISTRY, commands=())
    except SystemExit as exit_:  # argparse refuses a value
        status = exit_.code
    captured = capsys.readouterr()
    assert status in (0, 2), (argv, captured.err)
    if status == 2:
        assert captured.err.count("\n") == 1 and "Traceback" not in captured.err, (argv, captured.err)
        assert not out.exists(), argv
    else:
        assert sorted(p.name for p in out.iterdir()) == ["tiny.csv", "tiny.json", "tiny.trace.json"]


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["list"], ["list", "devices"]])
def test_help_and_list_work(argv, capsys):
    try:
        status = main(argv, registry=REGISTRY, commands=())
    except SystemExit as exit_:
        status = exit_.code
    assert status == 0 and capsys.readouterr().out
