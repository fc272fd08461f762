"""Where sweep points run: in this process, on a local process pool, or on a Dask cluster.

`_chunks` groups pending points into `Task`s (points of one network together); `_execute`
yields each task's rows as it finishes, whichever executor runs it. A worker that dies is a
`BrokenProcessPool` the runner turns into `WorkerError`; a scheduler that cannot be reached is
`SchedulerError`.
"""

from __future__ import annotations

import itertools
import math
import os
import signal
import sys
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from sim.sweep.evaluation import Task, _split, evaluate
from sim.sweep.points import Point
from sim.sweep.spec import SweepSpec
from workloads import EdgesimError, SpecError

class SchedulerError(EdgesimError, ConnectionError):
    """A Dask scheduler that cannot be reached."""


class WorkerError(EdgesimError, RuntimeError):
    """A worker process died mid-sweep (killed, out of memory); finished points are kept."""


def _ignore_sigint() -> None:
    # Workers leave Ctrl-C to the parent, which stops handing out work and keeps every
    # committed row; a worker killed by the signal would only lose its chunk.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _dask_client(scheduler: str | None, dask_local: int | None):
    try:
        import distributed
    except ImportError:
        raise SpecError("Dask is not installed; pip install 'edgesim[dask]' (or run on the "
                        "local process pool: drop --scheduler/--dask-local)") from None
    import logging

    # distributed logs a retry per failed connection attempt at WARNING; the error says it all.
    logging.getLogger("distributed").setLevel(logging.ERROR)
    if dask_local is not None:
        cluster = distributed.LocalCluster(n_workers=dask_local, threads_per_worker=1,
                                           processes=True, host="127.0.0.1",
                                           dashboard_address=":0", silence_logs=logging.ERROR)
        return distributed.Client(cluster), cluster
    if not scheduler.startswith(("tcp://", "tls://", "ucx://", "inproc://")):
        raise SpecError(f"--scheduler {scheduler!r}: expected an address such as tcp://HOST:PORT")
    try:
        return distributed.Client(scheduler, timeout="3s"), None
    except (OSError, TimeoutError) as err:
        raise SchedulerError(f"cannot reach the Dask scheduler at {scheduler} "
                             f"({type(err).__name__}); start one (dask scheduler) or use "
                             "--dask-local N") from None


def _n_workers(workers: int | None, client, dask_local: int | None) -> int:
    if client is not None:
        return max(1, len(client.scheduler_info().get("workers", {})) or dask_local or 1)
    return workers or os.cpu_count() or 1


def _chunks(spec: SweepSpec, pending: list, chunk_size: int | None, n_workers: int) -> list[Task]:
    if not pending:
        return []
    # Chunks long enough that a worker re-uses its networks and devices, short enough that
    # every worker gets several (progress, balance) and an interrupt loses little. Points of
    # one network go together (its transforms are built once per chunk, and a device's cost
    # memo serves its ops); the table is put back in point order afterwards.
    pending = sorted(pending, key=lambda kp: _network_order(kp[1]))
    size = chunk_size or max(1, min(256, math.ceil(len(pending) / (4 * n_workers))))
    return [Task(spec=spec, points=tuple(pending[i:i + size])) for i in range(0, len(pending), size)]


def _network_order(point: Point) -> tuple:
    model_args, device_set, transform = _split(point)
    return (point.model, repr(sorted(model_args.items())), point.setting,
            repr(sorted(transform.items())), point.device, repr(sorted(device_set.items())))


def _execute(tasks: list[Task], workers: int | None, client) -> Iterator[list[tuple[str, dict]]]:
    """Results of every task, as they finish (the table is ordered afterwards)."""
    if not tasks:
        return
    if client is not None:
        import distributed

        futures = client.map(evaluate, tasks, pure=False)
        try:
            for future in distributed.as_completed(futures):
                yield future.result()
        finally:
            client.cancel(futures)
        return
    n = min(workers or os.cpu_count() or 1, len(tasks))
    if n == 1:
        for task in tasks:
            yield evaluate(task)
        return
    pool = ProcessPoolExecutor(max_workers=n, initializer=_ignore_sigint)
    try:
        # Keep a bounded number of tasks in flight, so an interrupt has little to cancel.
        queue = iter(tasks)
        running: set[Future] = set()
        for task in itertools.islice(queue, 2 * n):
            running.add(pool.submit(evaluate, task))
        while running:
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                rows = future.result()
                nxt = next(queue, None)
                if nxt is not None:
                    running.add(pool.submit(evaluate, nxt))
                yield rows
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="pt", file=sys.stderr, disable=not enabled or total == 0,
                dynamic_ncols=True, smoothing=0.1, desc="sweep")
