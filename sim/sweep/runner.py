"""Running a sweep: `run(spec_or_path, ...)` checks every input before anything runs or is
written, skips the points the store has, hands the rest to an executor, commits each finished
chunk, and returns (and with `out`, writes) the `SweepResult`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from sim.registry import Registry
from sim.sweep.evaluation import _load_model, _resolve_device
from sim.sweep.executors import WorkerError, _chunks, _dask_client, _execute, _n_workers, _progress
from sim.sweep.outputs import write_outputs
from sim.sweep.points import Point, _pick, count_points, points
from sim.sweep.results import SweepResult, _table, pareto_front
from sim.sweep.spec import CONFIRM_POINTS, Range, SweepSpec, load_spec, parse_spec
from sim.sweep.store import STORE_NAME, Store, _Keys
from workloads import EdgesimError, SpecError

def run(
    spec: SweepSpec | str | os.PathLike,
    *,
    out: str | os.PathLike | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    dask_local: int | None = None,
    yes: bool = False,
    pareto: Sequence[str] | None = None,
    progress: bool = True,
    registry: Registry | None = None,
    chunk_size: int | None = None,
) -> SweepResult:
    """Run a sweep (a `SweepSpec` or the path of its YAML file); see the module doc.

    Every user error (bad spec, unknown model or device, empty or over-large sweep without
    `yes`, unreachable scheduler) is raised before anything is written. KeyboardInterrupt stops
    the sweep with every finished point kept in the store (re-run to resume).
    """
    if not isinstance(spec, SweepSpec):
        spec = load_spec(spec)
    if pareto:
        spec = parse_spec({**spec.model_dump(mode="json"), "pareto": list(pareto)}, where="--pareto")
    registry = registry or Registry.from_entry_points()
    if sum(x is not None for x in (scheduler, dask_local)) > 1:
        raise SpecError("give either --scheduler or --dask-local, not both")
    if workers is not None and workers < 1:
        raise SpecError(f"--workers must be >= 1 (got {workers})")
    if dask_local is not None and not 1 <= dask_local <= 256:
        raise SpecError(f"--dask-local must be between 1 and 256 workers (got {dask_local})")
    total = count_points(spec)
    if total > CONFIRM_POINTS and not yes:
        raise SpecError(f"the sweep has {total:,} points (more than {CONFIRM_POINTS:,}); "
                        "narrow it, or confirm with --yes")
    todo = points(spec)
    if not todo:
        raise SpecError(f"the sweep has no points ({total} before constraints; every one was "
                        "dropped by the constraints)" if total else "the sweep has no points")
    _check_inputs(spec, registry)
    keys = _Keys(spec, registry)
    keyed = [(keys.of(p), p) for p in todo]
    client = cluster = None
    if scheduler is not None or dask_local is not None:
        client, cluster = _dask_client(scheduler, dask_local)
    store = None
    try:
        if out is not None:
            from sim.tables import output_dir

            folder = output_dir(out)
            store = Store(folder / STORE_NAME)
            done = store.done()
        else:
            done = {}
        pending = _unique_pending(keyed, done)
        results = dict(done)
        chunks = _chunks(spec, pending, chunk_size, _n_workers(workers, client, dask_local))
        bar = _progress(len(pending), progress)
        try:
            for rows in _execute(chunks, workers, client):
                if store is not None:
                    store.add(rows)
                results.update(rows)
                bar.update(len(rows))
        except BrokenProcessPool as err:
            kept = f"the {len(results)} finished points are in {store.path}; run again to resume" \
                if store is not None else "nothing is kept without --out"
            raise WorkerError(f"a worker process died ({err}); {kept}") from None
        finally:
            bar.close()
    finally:
        if store is not None:
            store.close()
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    table = _table(spec, keyed, results)
    front = pareto_front(table, spec.pareto)
    result = SweepResult(spec=spec, rows=tuple(table), pareto=tuple(front), n_run=len(pending))
    if out is not None:
        write_outputs(result, Path(out))
    return result


def _unique_pending(keyed, done) -> list[tuple[str, Point]]:
    seen = set(done)
    pending = []
    for key, point in keyed:
        if key not in seen:
            seen.add(key)
            pending.append((key, point))
    return pending


def _check_inputs(spec: SweepSpec, registry: Registry) -> None:
    """Unknown models or devices, bad arguments or overrides: one error, before any run."""
    problems = []
    for entry in spec.model_entries():
        args = {k.partition(".")[2]: v[0] if not isinstance(v, Range) else _pick(v, 0.0)
                for k, v in spec.parameters.items() if k.startswith("model.")}
        try:
            _load_model(registry, entry, args)
        except EdgesimError as err:
            problems.append(f"model {entry.name!r}: {' '.join(str(err).split())}")
    device_axes = {k.partition(".")[2]: v for k, v in spec.parameters.items() if k.startswith("device.")}
    for i, entry in enumerate(spec.device_entries()):
        try:
            keys = _Keys(spec, registry)
            keys.device_identity(i, {})
            for key, axis in device_axes.items():  # each value alone, against the base device
                for value in ((_pick(axis, 0.0), _pick(axis, 1.0)) if isinstance(axis, Range) else axis):
                    keys.device_identity(i, {key: value})
            device = _resolve_device(registry, entry, {})
            if entry.target is not None and entry.target not in device.targets:
                raise SpecError(f"has no target {entry.target!r}; choose one of {list(device.targets)}")
        except EdgesimError as err:
            problems.append(f"device {entry.name!r}: {' '.join(str(err).split())}")
    if problems:
        raise SpecError("sweep spec: " + "; ".join(problems))
