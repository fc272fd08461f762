"""`sim.sweep` and `edgesim sweep`: sampling, constraints, Pareto fronts, the store, bad input."""

from __future__ import annotations

import json
import math
import sqlite3

import numpy as np
import pytest

from sim.cli import main
from sim.sweep import Method, count_points, pareto_front, parse_spec, points, run
from workloads import SpecError

BASE = {"models": ["resnet18"], "settings": ["fp32", "w8a8"], "devices": ["roofline-adreno650"]}


def _spec(**changes):
    return parse_spec({**BASE, **changes})


def test_grid_enumerates_every_combination_in_axis_order():
    spec = _spec(parameters={"device.dram_bytes_per_s": [10e9, 20e9], "fuse": [False, True]})
    pts = points(spec)
    assert count_points(spec) == len(pts) == 1 * 2 * 1 * 2 * 2
    assert [(p.setting, dict(p.params)["device.dram_bytes_per_s"], dict(p.params)["fuse"])
            for p in pts[:3]] == [("fp32", 10e9, False), ("fp32", 10e9, True), ("fp32", 20e9, False)]
    assert [p.index for p in pts] == list(range(8))


def test_constraints_drop_points_before_they_run():
    spec = _spec(parameters={"prune.block": [0.0, 0.5, 0.9]},
                 constraints=["prune.block < 0.8 or setting == 'w8a8'"])
    kept = [(p.setting, dict(p.params)["prune.block"]) for p in points(spec)]
    assert kept == [("fp32", 0.0), ("fp32", 0.5), ("w8a8", 0.0), ("w8a8", 0.5), ("w8a8", 0.9)]
    assert [p.index for p in points(spec)] == [0, 1, 3, 4, 5]  # indices count dropped points


def test_random_sampling_is_seeded_and_lhs_is_stratified():
    ranges = {"device.dram_bytes_per_s": {"low": 1e9, "high": 1e11, "log": True},
              "model.resolution": {"low": 96, "high": 224, "integer": True}}
    rnd = _spec(parameters=ranges, sampling={"method": "random", "n_points": 50, "seed": 7})
    assert points(rnd) == points(rnd)
    other = _spec(parameters=ranges, sampling={"method": "random", "n_points": 50, "seed": 8})
    assert points(rnd) != points(other)
    lhs = _spec(parameters=ranges, sampling={"method": "lhs", "n_points": 40, "seed": 1})
    assert lhs.sampling.method is Method.LHS
    bw = np.array([dict(p.params)["device.dram_bytes_per_s"] for p in points(lhs)])
    # Latin hypercube: each of the 40 equal slices of log-bandwidth holds exactly one point.
    slices = np.floor((np.log(bw) - np.log(1e9)) / (np.log(1e11) - np.log(1e9)) * 40)
    assert sorted(slices.astype(int)) == list(range(40))
    res = [dict(p.params)["model.resolution"] for p in points(lhs)]
    assert all(isinstance(r, int) and 96 <= r <= 224 for r in res)


def test_pareto_front_by_hand():
    rows = [dict(status="ok", a=1.0, b=5.0), dict(status="ok", a=2.0, b=2.0),
            dict(status="ok", a=3.0, b=3.0),  # dominated by (2, 2)
            dict(status="ok", a=4.0, b=1.0), dict(status="infeasible", a=math.nan, b=math.nan),
            dict(status="ok", a=2.0, b=2.0)]  # a tie is kept
    front = pareto_front(rows, ["a", "b"])
    assert [(r["a"], r["b"]) for r in front] == [(1, 5), (2, 2), (2, 2), (4, 1)]
    rows3 = [dict(status="ok", a=1, b=1, c=9), dict(status="ok", a=1, b=1, c=1),
             dict(status="ok", a=0, b=5, c=5)]
    assert [r["c"] for r in pareto_front(rows3, ["a", "b", "c"])] == [5, 1]


def test_rows_are_ordered_with_infeasible_points_and_their_reasons(tmp_path):
    spec = parse_spec({"models": ["resnet18", "mcunet"], "settings": ["w8a8"], "devices": ["stm32f746"]})
    result = run(spec, out=tmp_path, workers=1, progress=False)
    assert [r["model"] for r in result.rows] == ["resnet18", "mcunet"]
    big, small = result.rows
    assert big["status"] == "infeasible" and big["reason"].startswith("DoesNotFitError")
    assert big["latency_s"] is None and big["energy_j"] is None
    assert small["status"] == "ok" and small["latency_s"] > 0 and small["energy_j"] > 0
    assert [r["model"] for r in result.pareto] == ["mcunet"]
    assert {p.name for p in tmp_path.iterdir()} >= {"results.csv", "pareto.csv", "summary.txt",
                                                    "sweep.sqlite"}


def test_a_rerun_takes_every_point_from_the_store(tmp_path):
    spec = _spec(parameters={"device.dram_bytes_per_s": [10e9, 40e9]})
    first = run(spec, out=tmp_path, workers=1, progress=False)
    again = run(spec, out=tmp_path, workers=1, progress=False)
    assert first.n_run == 4 and again.n_run == 0
    assert again.rows == first.rows
    with sqlite3.connect(tmp_path / "sweep.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        stored = db.execute("SELECT result FROM points").fetchall()
    assert len(stored) == 4 and all(json.loads(r)["status"] == "ok" for (r,) in stored)
    # The key covers the resolved device spec: another bandwidth is a new point.
    more = run(_spec(parameters={"device.dram_bytes_per_s": [10e9, 80e9]}), out=tmp_path,
               workers=1, progress=False)
    assert more.n_run == 2


def _write(tmp_path, text):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, extra, message", [
    ("models: [resnet18]\ndevices: [roofline-adreno650]\nsetings: [fp32]\n", [], "setings"),
    ("models: [resnet99]\ndevices: [roofline-adreno650]\n", [], "unknown model 'resnet99'"),
    ("models: [resnet18]\ndevices: [roofline-adreno651]\n", [], "unknown device"),
    ("models: [resnet18]\ndevices: [roofline-adreno650]\nparameters: {device.dram_bytes_per_sec: [1.0e9]}\n",
     [], "dram_bytes_per_sec"),
    ("models: [resnet18]\ndevices: [roofline-adreno650]\nparameters: {device.dram_bytes_per_s: [-1.0]}\n",
     [], "dram_bytes_per_s"),
    ("models: [resnet18]\ndevices: [roofline-adreno650]\nparameters: {fuse: []}\n", [], "fuse"),
    ("models: [resnet18]\ndevices: [roofline-adreno650]\nparameters: {fuse: [true]}\n"
     "constraints: ['not fuse']\n", [], "no points"),
    ("models: [resnet18]\ndevices: [roofline-adreno650]\nparameters:\n"
     "  device.dram_bytes_per_s: {low: 1.0e9, high: 2.0e9}\n", [], "grid cannot"),
    ("models: [resnet18]\ndevices: [roofline-adreno650]\nconstraints: ['__import__(\"os\")']\n",
     [], "not allowed"),
    ("models: [resnet18]\ndevices: [roofline-adreno650]\nparameters:\n"
     "  model.resolution: [" + ", ".join(str(96 + i) for i in range(1001)) + "]\n"
     "  prune.block: [" + ", ".join(f"{i / 1000:.3f}" for i in range(1000)) + "]\n",
     [], "--yes"),
    ("models: [resnet18]\ndevices: [roofline-adreno650]\n", ["--scheduler", "tcp://127.0.0.1:9"],
     "cannot reach the Dask scheduler"),
    ("models: [resnet18]\ndevices: [roofline-adreno650]\npareto: [latency_s, speed]\n", [], "speed"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, text, extra, message):
    out = tmp_path / "out"
    status = main(["sweep", str(_write(tmp_path, text)), "--out", str(out), "--no-progress", *extra])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("edgesim: error: ") and message in err, err
    assert not out.exists()


def test_bad_spec_values_are_typed_errors():
    with pytest.raises(SpecError, match="unknown parameter"):
        _spec(parameters={"clock": [1, 2]})
    with pytest.raises(SpecError, match="pruning scheme"):
        _spec(parameters={"prune.blok": [0.5]})
    with pytest.raises(SpecError, match="needs n_points"):
        _spec(sampling={"method": "lhs"})


def test_a_small_version_of_the_systolic_dse_study(tmp_path):
    # examples/sweeps/systolic_dse.yaml (results/dse_systolic) with two values per axis.
    from pathlib import Path

    from sim.sweep import load_spec

    spec = load_spec(Path(__file__).parents[2] / "examples" / "sweeps" / "systolic_dse.yaml")
    small = {**spec.model_dump(mode="json"),
             "parameters": {k: list(v[:2]) for k, v in spec.parameters.items()}}
    result = run(parse_spec(small), out=tmp_path, workers=1, progress=False)
    assert len(result.rows) == 2 ** 6 and all(r["status"] == "ok" for r in result.rows)
    assert all(r["area_mm2"] > 0 for r in result.rows)
    # Bigger arrays are faster and larger: the corners of the front.
    fastest = min(r["latency_s"] for r in result.rows)
    smallest = min(r["area_mm2"] for r in result.rows)
    assert {(r["device.rows"], r["device.cols"]) for r in result.rows
            if r["latency_s"] == fastest} == {(16, 16)}
    assert {(r["device.rows"], r["device.cols"]) for r in result.rows
            if r["area_mm2"] == smallest} == {(8, 8)}
    assert fastest in [r["latency_s"] for r in result.pareto]
    assert smallest in [r["area_mm2"] for r in result.pareto]
    assert (tmp_path / "pareto.csv").read_text().count("\n") == len(result.pareto) + 1


def test_every_example_spec_parses_and_has_points():
    from pathlib import Path

    from sim.registry import Registry
    from sim.sweep import _check_inputs, load_spec

    registry = Registry.from_entry_points()
    examples = sorted((Path(__file__).parents[2] / "examples" / "sweeps").glob("*.yaml"))
    assert len(examples) >= 3
    for path in examples:
        spec = load_spec(path)
        assert points(spec), path
        _check_inputs(spec, registry)  # every model, device and parameter value is valid
