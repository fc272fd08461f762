"""A sweep gives the same rows on the process pool and on Dask, and survives Ctrl-C."""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.sweep import parse_spec, points, run

SPEC_200 = {
    "name": "pool-vs-dask",
    "models": ["resnet18", "mobilenetv2"],
    "settings": ["fp32", "w8a8", "block:0.5+w8a8+fuse", "fp16", "channel:0.5"],
    "devices": ["roofline-adreno650", "roofline-jetson-nano"],
    "parameters": {"device.dram_bytes_per_s": [10e9, 20e9, 40e9, 80e9, 160e9],
                   "device.n_compute_units": [1, 2]},
}


def test_200_points_identical_on_the_process_pool_and_a_local_dask_cluster():
    distributed = pytest.importorskip("distributed")
    spec = parse_spec(SPEC_200)
    assert len(points(spec)) == 200
    pool = run(spec, workers=2, progress=False)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=":0")
    try:
        dask = run(spec, scheduler=cluster.scheduler_address, progress=False)
    finally:
        cluster.close()
    assert len(pool.rows) == 200 and all(r["status"] == "ok" for r in pool.rows)
    assert dask.rows == pool.rows
    assert dask.pareto == pool.pareto


SPEC_SLOW = """\
name: interrupted
models: [resnet50]
settings: [fp32, w8a8, fp16, block:0.5+w8a8]
devices: [roofline-adreno650]
parameters:
  device.dram_bytes_per_s: [10.0e9, 20.0e9, 40.0e9, 80.0e9, 160.0e9]
  device.int8_macs_per_s: [1.0e12, 2.0e12, 4.0e12, 8.0e12]
"""


def _sweep(spec: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sim.cli", "sweep", str(spec), "--out", str(out),
                             "--workers", "2", "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _stored(out: Path) -> int:
    try:
        with sqlite3.connect(out / "sweep.sqlite", timeout=5) as db:
            return db.execute("SELECT count(*) FROM points").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def _table(path: Path) -> list[dict]:
    with path.open() as f:
        return list(csv.DictReader(f))


def test_sigint_keeps_finished_rows_and_a_rerun_completes_the_same_table(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC_SLOW)
    total = 80
    interrupted = tmp_path / "interrupted"
    proc = _sweep(spec, interrupted)
    deadline = time.monotonic() + 60
    while _stored(interrupted) == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    kept = _stored(interrupted)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "resume" in err
    assert 0 < kept < total
    assert not (interrupted / "results.csv").exists()
    resumed = _sweep(spec, interrupted)
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert f"{total - kept} run now, {kept} from the store" in out
    with sqlite3.connect(interrupted / "sweep.sqlite") as db:
        keys = [k for (k,) in db.execute("SELECT key FROM points")]
    assert len(keys) == len(set(keys)) == total
    clean = tmp_path / "clean"
    run(spec, out=clean, workers=1, progress=False)  # uninterrupted, in this process
    assert _table(interrupted / "results.csv") == _table(clean / "results.csv")


def _dies_on_later_chunks(task):
    """`evaluate`, except that a worker given a chunk past the first 8 points dies (after a
    pause that lets the chunks of points 0-7, a few ms each, finish and commit first)."""
    from sim import sweep

    if min(p.index for _, p in task.points) >= 8:
        time.sleep(2.0)
        os._exit(1)
    return sweep._real_evaluate(task)


def test_a_killed_worker_is_one_error_and_keeps_every_finished_row(tmp_path, monkeypatch):
    from sim import sweep

    spec = parse_spec({"models": ["resnet18"], "settings": ["fp32", "w8a8"],
                       "devices": ["roofline-adreno650"],
                       "parameters": {"device.dram_bytes_per_s": [10e9, 20e9, 40e9, 80e9,
                                                                  160e9, 320e9, 640e9, 1280e9]}})
    monkeypatch.setattr(sweep, "_real_evaluate", sweep.evaluate, raising=False)
    # The executors hand chunks to the `evaluate` they import: patch it there.
    monkeypatch.setattr(sweep.executors, "evaluate", _dies_on_later_chunks)
    with pytest.raises(sweep.WorkerError, match="worker process died.*run again to resume"):
        run(spec, out=tmp_path, workers=2, progress=False, chunk_size=4)
    kept = _stored(tmp_path)
    assert kept == 8  # the two chunks of points 0-7
    monkeypatch.undo()
    resumed = run(spec, out=tmp_path, workers=2, progress=False, chunk_size=4)
    assert resumed.n_run == 16 - kept and len(resumed.rows) == 16
    assert resumed.rows == run(spec, workers=1, progress=False).rows
