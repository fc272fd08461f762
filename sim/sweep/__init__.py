"""Design-space sweeps: models x compression settings x devices and their parameters.

A sweep spec (YAML, parsed once into `SweepSpec`) names the models (zoo names with builder
arguments, or trace / ONNX files), the compression settings (as in `edgesim compare`:
'+'-joined, e.g. `block:0.75+w8a8+fuse`), the devices (preset names or device files, with fixed
`set:` overrides), and `parameters`, more axes to vary:

- `model.ARG`: a builder argument (`model.resolution: [160, 224]`);
- `device.DOTTED.KEY`: a device-spec field, through the same override path as `--set`
  (`device.dram_bytes_per_s: {low: 10e9, high: 50e9, log: true}`);
- `prune.SCHEME`: a pruning ratio applied after the setting (`prune.block: [0, 0.5, 0.75]`;
  0 means no pruning);
- `quant`: a quantization spec applied after the setting (`quant: [fp16, w8a8, w4a8]`);
- `fuse`: true or false.

A list is a set of values; `{low, high[, log][, integer]}` is a range. `sampling` picks the
points: `grid` (every combination of the lists; ranges are refused), `random` (`n_points`
independent draws, seeded) or `lhs` (a Latin hypercube of `n_points`, scipy.stats.qmc, seeded);
lists are sampled uniformly by index. `constraints` are Python-like boolean expressions over the
axes (`prune.block < 0.8 or quant == 'w8a8'`; also `model`, `setting`, `device`), and a point
for which any is false is dropped before it runs.

Points run on a local process pool (`run(..., workers=N)`), on an existing Dask cluster
(`scheduler='tcp://HOST:PORT'`) or on a `distributed.LocalCluster` it starts
(`dask_local=N`); whichever runs them, the rows are the same and come in point order.
With an output folder, every finished point is committed to `sweep.sqlite` (SQLite, WAL)
under a hash of (model, setting, resolved device spec, edgesim version), so a re-run skips what
is done and an interrupted run loses no finished row; a point that does not fit or that the
device cannot run is a row with its reason. The folder then holds `results.csv`, `pareto.csv`
(the non-dominated points over the `pareto` metrics, all minimised), `summary.txt`, and, with

The package, by what each module holds: `spec` (the grammar: `SweepSpec`, `load_spec`,
`parse_spec`, `METRICS`), `constraints` (the expression language), `points` (the grid and the
sampled points), `evaluation` (one chunk of points, in a worker), `executors` (serial, process
pool, Dask), `store` (point keys and the SQLite store), `results` (`SweepResult`, the Pareto
front), `outputs` (the folder's files), `runner` (`run`) and `command` (`edgesim sweep`).
"""

from __future__ import annotations

from sim.sweep.command import command
from sim.sweep.evaluation import Task, evaluate
from sim.sweep.executors import SchedulerError, WorkerError
from sim.sweep.outputs import write_outputs
from sim.sweep.points import Point, count_points, points
from sim.sweep.results import SweepResult, pareto_front
from sim.sweep.runner import _check_inputs as _check_inputs  # tests check the examples with it
from sim.sweep.runner import run
from sim.sweep.spec import (
    CONFIRM_POINTS,
    MAX_SPEC_BYTES,
    METRICS,
    PARAMETER_SPACES,
    DeviceEntry,
    Method,
    ModelEntry,
    Range,
    Sampling,
    Scalar,
    SweepSpec,
    axis_names,
    load_spec,
    parse_spec,
)
from sim.sweep.store import STORE_NAME, Store

__all__ = [
    "CONFIRM_POINTS", "MAX_SPEC_BYTES", "METRICS", "PARAMETER_SPACES", "STORE_NAME",
    "DeviceEntry", "Method", "ModelEntry", "Point", "Range", "Sampling", "Scalar",
    "SchedulerError", "Store", "SweepResult", "SweepSpec", "Task", "WorkerError",
    "axis_names", "command", "count_points", "evaluate", "load_spec", "parse_spec",
    "pareto_front", "points", "run", "write_outputs",
]
