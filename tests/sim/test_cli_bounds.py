"""Regression tests for issue 13: every flag a user can give is bounded or refused in one line.

Each case once gave a traceback, ran out of memory, or was silently dropped or truncated.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from devices.roofline import RooflineDevice
from sim import Registry
from sim.cli import main, one_line, output_stem, parse_model_args, parse_quant
from tests.helpers import chain, unit_spec
from workloads import SpecError


def tiny_model(*, layers: int = 3, features: int = 64, relu: bool = False, width: float = 1.0):
    """A chain of linear layers (test model)."""
    if layers < 1:
        raise SpecError(f"'layers' must be >= 1 (got {layers})")
    return chain(layers, features, name="tiny" if not relu else "tiny-relu")


def blank_name_model():
    """A network whose name is made only of dots."""
    return chain(1, 8, name="..")


@pytest.fixture
def registry():
    return Registry(devices={"unit": lambda: RooflineDevice(unit_spec())},
                    workloads={"tiny": tiny_model, "dots": blank_name_model})


def error_of(registry, capsys, *argv) -> str:
    """Run the CLI; assert exit 2 with exactly one stderr line; return that line."""
    with pytest.raises(SystemExit) as info:  # argparse errors exit through SystemExit
        raise SystemExit(main(list(argv), registry=registry, commands=()))
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


RUN = ("run", "tiny", "--device", "unit")


@pytest.mark.parametrize("argv, message", [
    (RUN + ("--seed", "-1"), "--seed: must be an integer in [0, 2**64)"),
    (RUN + ("--seed", str(2**64)), "--seed: must be an integer in [0, 2**64)"),
    (RUN + ("--fps", "1e-7", "--frames", "2"), "past the clock's range (MAX_CLOCK_PS"),
    (RUN + ("--fps", "nan"), "--fps must be > 0 and finite"),
    (RUN + ("--fps", "inf"), "--fps must be > 0 and finite"),
    (RUN + ("--fps", "1000", "--frames", "100000"), "exceed MAX_OP_INSTANCES"),
    (RUN + ("--quant", "mp:w4a8:nan:0.25"), "--quant mp high bits must be a whole number"),
    (RUN + ("--quant", "mp:w4a8:8.7:0.25"), "got '8.7'"),
    (RUN + ("--quant", "mp:w4a8:8:nan"), "--quant mp ratio must be a finite number"),
    (RUN + ("--quant", ""), "--quant '': expected"),
    (RUN + ("--deadline-ms", "0"), "--deadline-ms must be > 0"),
    (RUN + ("--deadline-ms", "-1"), "--deadline-ms must be > 0"),
    (("run", "tiny", "--device", "unit", "--arg", "name=foo"), "takes no argument(s) ['name']"),
    (("run", "tiny", "--device", "unit", "--arg", "relu=no"), "'relu' must be a bool"),
    (("run", "tiny", "--device", "unit", "--arg", "layers=2.5"), "'layers' must be a int"),
    (("run", "tiny", "--device", "unit", "--arg", "width=nan"), "the value must be finite"),
    (("run", "tiny", "--device", "unit", "--arg", "layers=2", "--arg", "layers=3"), "given twice"),
    (("run", "tiny"), "the following arguments are required: --device"),
    (("frobnicate",), "invalid choice: 'frobnicate'"),
])
def test_bad_flags_are_one_line_errors(registry, capsys, tmp_path, argv, message):
    out = tmp_path / "out"
    err = error_of(registry, capsys, *argv, "--out", str(out)) if argv[0] == "run" and len(argv) > 2 \
        else error_of(registry, capsys, *argv)
    assert message in err
    assert not out.exists()


def test_booleans_parse_as_booleans():
    assert parse_model_args(["relu=false", "a=TRUE", "n=3", "w=0.5", "s=x"]) == {
        "relu": False, "a": True, "n": 3, "w": 0.5, "s": "x"}


def test_booleans_reach_the_builder_as_booleans(registry):
    assert registry.workload("tiny", relu=False).name == "tiny"
    assert registry.workload("tiny", relu=True).name == "tiny-relu"
    assert registry.workload("tiny", width=1).name == "tiny"  # an int is a fine float


def test_mp_high_bits_are_kept_whole():
    assert parse_quant("mp:w4a8:8:0.25")["high_bits"] == 8


def test_argparse_errors_are_one_line(registry, capsys):
    err = error_of(registry, capsys, "run", "tiny", "--device", "unit", "--frames", "many")
    assert err.startswith("edgesim run: error: argument --frames: invalid int value: 'many'")
    assert "see `edgesim run --help`" in err


def test_newlines_in_names_cannot_forge_error_lines():
    forged = "x\nedgesim: error: everything is fine"
    assert "\n" not in one_line(forged) and "\\n" in one_line(forged)


@pytest.mark.parametrize("name, stem", [
    ("resnet18/w8a8", "resnet18"), ("", "report"), ("..", "report"), (".hidden", "hidden"),
    ("a b", "a_b"), ("x" * 300, "x" * 100),
])
def test_output_stems_are_never_hidden_or_empty(name, stem):
    assert output_stem(name) == stem


def test_dot_named_network_writes_visible_files(registry, tmp_path, capsys):
    assert main(["run", "dots", "--device", "unit", "--out", str(tmp_path)], registry=registry,
                commands=()) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.csv", "report.json",
                                                          "report.trace.json"]


def test_broken_pipe_is_quiet():
    """`edgesim list | head -1`: no BrokenPipeError traceback when the reader has gone. The
    pipe's read end is closed before the command starts, so its first write fails for sure."""
    import os

    read_fd, write_fd = os.pipe()
    os.close(read_fd)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", "import sys; from sim.cli import main; sys.exit(main(['list']))"],
            stdout=write_fd, stderr=subprocess.PIPE, text=True, timeout=60,
        )
    finally:
        os.close(write_fd)
    assert proc.returncode == 141, proc.stderr
    assert proc.stderr == ""


@pytest.mark.parametrize("failure", [KeyboardInterrupt, OSError])
def test_an_interrupted_report_set_writes_no_file(registry, tmp_path, monkeypatch, capsys, failure):
    """Ctrl-C (or a full disk) while the third report file is written: none of the three lands."""
    from workloads.atomic import OutputSet

    real_write, calls = OutputSet.write, []

    def write(self, path, data):
        calls.append(path)
        if len(calls) == 3:
            raise failure(28, "No space left on device") if failure is OSError else failure()
        return real_write(self, path, data)

    monkeypatch.setattr(OutputSet, "write", write)
    out = tmp_path / "out"
    argv = ["run", "tiny", "--device", "unit", "--out", str(out)]
    if failure is KeyboardInterrupt:  # the CLI reports Ctrl-C in one line, exit 130
        assert main(argv, registry=registry, commands=()) == 130
        assert capsys.readouterr().err == "edgesim: interrupted\n"
    else:
        with pytest.raises(failure):
            main(argv, registry=registry, commands=())
    assert list(out.iterdir()) == []
