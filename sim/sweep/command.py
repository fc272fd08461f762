"""`edgesim sweep`: the command behind the CLI's sweep subcommand (its parser is in sim.cli)."""

from __future__ import annotations

import sys
from pathlib import Path

from sim.registry import Registry
from sim.sweep.runner import run
from sim.sweep.store import STORE_NAME

def command(args, registry: Registry) -> int:
    """`edgesim sweep`: run, print the summary; 130 after Ctrl-C (finished points kept)."""
    pareto = [m.strip() for m in args.pareto.split(",")] if args.pareto else None
    try:
        result = run(args.spec, out=args.out, workers=args.workers, scheduler=args.scheduler,
                     dask_local=args.dask_local, yes=args.yes, pareto=pareto,
                     progress=not args.no_progress, registry=registry)
    except KeyboardInterrupt:
        where = f" in {Path(args.out) / STORE_NAME}" if args.out else " (no --out: nothing kept)"
        print(f"edgesim: interrupted; finished points are kept{where}; run the same command "
              "again to resume", file=sys.stderr)
        return 130
    print(result.summary())
    if args.out:
        print(f"wrote {args.out}/results.csv, pareto.csv, summary.txt")
    return 0
