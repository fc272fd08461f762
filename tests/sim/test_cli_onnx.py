"""The command line with ONNX and trace files: --name, --batch, compare on files with --arg,
output names that never collide silently, the compression `trace show` reads from a file, and
malformed files as one line with exit status 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from devices.roofline import RooflineDevice  # noqa: E402
from sim import Registry  # noqa: E402
from sim.cli import main  # noqa: E402
from tests.helpers import chain, unit_spec  # noqa: E402
from workloads import trace  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data" / "onnx"
RESNET = DATA / "resnet18_w0.0625.legacy.onnx"


@pytest.fixture
def registry():
    return Registry(devices={"unit": lambda: RooflineDevice(unit_spec())},
                    workloads={"tiny": lambda *, layers=3, batch=1: chain(layers, 16, name="tiny")})


def run(registry, *argv):
    return main([str(a) for a in argv], registry=registry, commands=())


def block_pruned_file(tmp_path) -> Path:
    """A conv whose weights are 75 % zero in 4 x 4 tiles, as a block-pruned export holds."""
    w = np.random.default_rng(0).random((16, 16, 1, 1)).astype(np.float32) + 0.5
    # 12 of 16 tiles zero, 4, 3, 3 and 2 per tile row: neither whole filters nor N:M groups.
    tiles = np.array([[1, 1, 1, 1], [1, 1, 1, 0], [0, 1, 1, 1], [1, 0, 1, 0]], bool)
    w[np.kron(tiles, np.ones((4, 4), bool)).reshape(16, 16, 1, 1)] = 0
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv")
    graph = helper.make_graph([node], "main_graph",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              initializer=[numpy_helper.from_array(w, "w")])
    path = tmp_path / "pruned.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_trace_show_prints_the_compression_read_from_the_file(registry, tmp_path, capsys):
    path = block_pruned_file(tmp_path)
    assert run(registry, "trace", "show", path) == 0
    out = capsys.readouterr().out
    assert f"compression read from {path}: 1 ops block:0.75 fp32" in out
    assert "pruned: 1 ops" in out  # named by the file stem, not main_graph
    assert run(registry, "trace", "show", path, "--prune", "unstructured:0.5", "--quant", "w8a8") == 0
    out = capsys.readouterr().out
    assert "1 ops block:0.75 fp32; --prune/--quant override it below" in out
    assert "unstructured:0.5 w8a8" in out


def test_name_and_batch_for_onnx_and_zoo_models(registry, tmp_path, capsys):
    assert run(registry, "trace", "export", RESNET, "--batch", 2, "--name", "r18",
               "-o", tmp_path / "r18.json") == 0
    net = trace.load(tmp_path / "r18.json")
    assert net.name == "r18" and net.inputs[0].shape == (2, 3, 32, 32)
    assert run(registry, "run", "tiny", "--device", "unit", "--batch", 2, "--name", "t2",
               "--out", tmp_path / "out") == 0
    assert (tmp_path / "out" / "t2.json").exists()
    capsys.readouterr()
    assert run(registry, "trace", "show", tmp_path / "r18.json", "--batch", 2) == 2
    assert "--batch cannot apply to trace" in capsys.readouterr().err


def test_compare_takes_onnx_and_trace_files_and_model_args(registry, tmp_path, capsys):
    copy = tmp_path / "copy.onnx"
    shutil.copy(RESNET, copy)
    onnx_model = onnx.load(copy)
    onnx_model.graph.name = "resnet18_w0.0625.legacy"  # the same name as RESNET's stem
    onnx.save(onnx_model, copy)
    trace.save(chain(2, 16, name="chain2"), tmp_path / "chain2.yaml")
    code = run(registry, "compare", "--model", RESNET, "--model", copy,
               "--model", tmp_path / "chain2.yaml", "--model", "tiny", "--arg", "layers=5",
               "--setting", "fp32", "--device", "unit", "--out", tmp_path / "cmp")
    assert code == 0
    out = capsys.readouterr().out
    assert "its rows are labelled 'resnet18_w0.0625.legacy#2'" in out
    csv = (tmp_path / "cmp" / "compare.csv").read_text()
    assert "resnet18_w0.0625.legacy#2" in csv and "chain2" in csv and "tiny" in csv


def test_a_report_of_another_network_is_not_overwritten(registry, tmp_path, capsys):
    out = tmp_path / "out"
    a, b = tmp_path / "a" / "main_graph.onnx", tmp_path / "b" / "main_graph.onnx"
    for path, src in ((a, RESNET), (b, DATA / "mobilenetv2_w0.05.legacy.onnx")):
        path.parent.mkdir()
        shutil.copy(src, path)
    assert run(registry, "run", a, "--device", "unit", "--out", out) == 0
    before = (out / "main_graph.json").read_text()
    assert run(registry, "run", a, "--device", "unit", "--out", out) == 0  # the same run again
    capsys.readouterr()
    assert run(registry, "run", b, "--device", "unit", "--out", out) == 2
    err = capsys.readouterr().err.strip()
    assert "main_graph.json holds the report of another run" in err and "--name" in err
    assert "\n" not in err and (out / "main_graph.json").read_text() == before
    assert run(registry, "run", b, "--device", "unit", "--out", out, "--name", "mbv2") == 0


def test_malformed_files_are_one_line_and_exit_2(registry, tmp_path, capsys):
    node = helper.make_node("MaxPool", ["x"], ["y"], name="pool1")
    graph = helper.make_graph([node], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    bad = tmp_path / "bad.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), bad)
    flipped = tmp_path / "flipped.onnx"
    data = bytearray(RESNET.read_bytes())
    data[2] ^= 0xFF
    flipped.write_bytes(bytes(data))
    for path, message in ((bad, "node 'pool1' (MaxPool): missing required attribute 'kernel_shape'"),
                          (flipped, f"{flipped}: ")):
        for argv in (("trace", "show", path), ("run", path, "--device", "unit", "--out",
                                                tmp_path / "never")):
            assert run(registry, *argv) == 2
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and err.startswith("edgesim: error: ") and message in err
    assert not (tmp_path / "never").exists()
