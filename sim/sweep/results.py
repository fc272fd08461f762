"""The table of a finished sweep: rows in point order, the Pareto front, and the summary text."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sim.sweep.points import Point, _labels
from sim.sweep.spec import METRICS, SweepSpec

@dataclass(frozen=True)
class SweepResult:
    """The table of a sweep: one row per point in order, its Pareto front and a summary."""

    spec: SweepSpec
    rows: tuple[dict, ...]
    pareto: tuple[dict, ...]
    n_run: int
    """Points evaluated by this call (the rest came from the store)."""

    def summary(self, *, run_counts: bool = True) -> str:
        """A few lines: counts, the best point of each Pareto metric, the front's size.
        `run_counts` adds how many points this call ran and how many came from the store."""
        ok = [r for r in self.rows if r["status"] == "ok"]
        counts = (f"; {self.n_run} run now, {len(self.rows) - self.n_run} from the store"
                  if run_counts else "")
        lines = [f"sweep {self.spec.name}: {len(self.rows)} points ({len(ok)} feasible, "
                 f"{len(self.rows) - len(ok)} infeasible{counts})"]
        for metric in self.spec.pareto:
            have = [r for r in ok if _finite(r[metric])]
            if have:
                best = min(have, key=lambda r: r[metric])
                lines.append(f"  best {metric}: {best[metric]:.6g} at {_describe_row(best)}")
        lines.append(f"  Pareto front over {', '.join(self.spec.pareto)}: {len(self.pareto)} points")
        for r in self.pareto[:10]:
            values = ", ".join(f"{m}={r[m]:.4g}" for m in self.spec.pareto)
            lines.append(f"    {values}  {_describe_row(r)}")
        if len(self.pareto) > 10:
            lines.append(f"    ... {len(self.pareto) - 10} more in pareto.csv")
        reasons: dict[str, int] = {}
        for r in self.rows:
            if r["status"] != "ok":
                reasons[r["reason"].split(":")[0]] = reasons.get(r["reason"].split(":")[0], 0) + 1
        for reason, n in sorted(reasons.items()):
            lines.append(f"  infeasible ({reason}): {n}")
        return "\n".join(lines)


def _describe_row(row: Mapping) -> str:
    skip = {"index", "key", "status", "reason", *METRICS}
    return " ".join(f"{k}={v}" for k, v in row.items() if k not in skip)


def _table(spec: SweepSpec, keyed: list[tuple[str, Point]], results: Mapping[str, dict]) -> list[dict]:
    models, devices = _labels(spec)
    rows = []
    for key, p in keyed:
        row = {"index": p.index, "key": key, "model": models[p.model], "setting": p.setting,
               "device": devices[p.device], **dict(p.params)}
        result = results[key]
        row["status"], row["reason"] = result["status"], result.get("reason", "")
        for metric in METRICS:
            row[metric] = result.get(metric)
        rows.append(row)
    return rows


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def pareto_front(rows: Sequence[Mapping], metrics: Sequence[str]) -> list[dict]:
    """The feasible rows no other feasible row beats on every metric (all minimised), in
    order of the first metric. Ties (equal on every metric) are all kept; rows without a finite
    value of every metric (e.g. no area) are left out."""
    ok = [r for r in rows if r["status"] == "ok" and all(_finite(r[m]) for m in metrics)]
    if not ok:
        return []
    values = np.array([[r[m] for m in metrics] for r in ok], dtype=float)
    order = np.lexsort(values.T[::-1])
    front: list[int] = []
    kept = np.empty((0, len(metrics)))
    for i in order:
        v = values[i]
        dominated = np.any(np.all(kept <= v, axis=1) & np.any(kept < v, axis=1))
        if not dominated:
            front.append(i)
            kept = np.vstack([kept, v])
    return [dict(ok[i]) for i in front]
