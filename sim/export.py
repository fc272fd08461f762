"""Files from a `Report`: per-op CSV, JSON, Chrome/Perfetto trace (the summary table is
`sim.summary`, re-exported here).

A report's files are one `workloads.atomic.OutputSet`: all are written to temporaries and renamed
into place together at the end, so a failed or interrupted write leaves none of them (and no
half-written one). Paths are arguments; nothing here picks a location. `write_atomic` and
`OutputError` are re-exported from `workloads.atomic`, the project's one atomic writer.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import asdict, fields
from pathlib import Path

from sim.energy import EnergyComponent
from sim.report import Report
from sim.summary import binary_size, summary_text
from sim.tables import output_dir
from workloads.atomic import OutputError, OutputSet, write_atomic

__all__ = ["OP_COLUMNS", "OutputError", "binary_size", "chrome_trace", "ops_csv", "report_dict",
           "summary_text", "write_atomic", "write_report"]


OP_COLUMNS = (
    "stream", "frame", "op", "kind", "target", "engines", "ready_s", "start_s", "end_s",
    "latency_s", "wait_s", "bound_by", "macs", "requested_precision", "executed_precision",
    "mac_utilization_ratio", "energy_j",
) + tuple(f"energy_{c.value}_j" for c in EnergyComponent)
"""CSV columns before the per-memory-level byte columns (`bytes_<level>`): every energy
component has its column (0 when a device books nothing there), so two devices' files line up;
static energy belongs to the run (see the JSON), not to an op."""


def ops_csv(report: Report) -> str:
    levels = sorted({level for r in report.ops for level in r.bytes_moved})
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(OP_COLUMNS + tuple(f"bytes_{level}" for level in levels))
    for r in report.ops:
        util = r.mac_utilization
        writer.writerow(
            [r.stream, r.frame, r.op, r.kind, r.target, r.engines, f"{r.ready_s:.9g}",
             f"{r.start_s:.9g}", f"{r.end_s:.9g}", f"{r.latency_s:.9g}", f"{r.wait_s:.9g}",
             r.bound_by, r.macs, r.requested_precision, r.executed_precision,
             "" if util is None else f"{util:.6g}", f"{r.energy_j:.9g}"]
            + [f"{r.energy_by_component_j.get(c, 0.0):.9g}" for c in EnergyComponent]
            + [int(r.bytes_moved.get(level, 0)) for level in levels]
        )
    return buf.getvalue()


def report_dict(report: Report) -> dict:
    """The report as plain JSON-able data (totals, streams, frames, ops, metadata)."""
    return {
        "metadata": asdict(report.metadata),
        "device": report.device,
        "totals": {
            "duration_s": report.duration_s,
            "latency_s": report.latency_s,
            "throughput_per_s": report.throughput_per_s,
            "energy_j": report.energy_j,
            "energy_per_frame_j": report.energy_per_frame_j,
            "average_power_w": report.average_power_w,
            "macs": report.macs,
            "peak_activation_bytes": report.peak_activation_bytes,
            "weight_bytes": report.weight_bytes,
            "deadline_misses": report.deadline_misses,
        },
        "energy_model": report.energy_model,
        "units": dict(report.units),
        "energy_by_component_j": breakdown_j(report.energy_by_component_j),
        "bytes_by_level": dict(report.bytes_by_level),
        "busy_s": report.busy_s(),
        "utilization_ratio": report.utilization(),
        "mac_utilization_ratio": report.mac_utilization(),
        "stream_info": [
            {**{f.name: getattr(s, f.name) for f in fields(s)}, "model_args": dict(s.model_args),
             "energy_by_component_j": breakdown_j(report.stream_energy_j(s.stream)),
             "mac_utilization_ratio": report.mac_utilization(s.stream)}
            for s in report.streams
        ],
        "streams": [asdict(s) for s in report.stream_stats()],
        "frames": [asdict(f) for f in report.frames],
        "ops": [
            {**{f.name: getattr(r, f.name) for f in fields(r)},
             "energy_by_component_j": breakdown_j(r.energy_by_component_j),
             "mac_utilization_ratio": r.mac_utilization,
             "bytes_moved": dict(r.bytes_moved), "phases": [list(p) for p in r.phases]}
            for r in report.ops
        ],
    }


def breakdown_j(energy) -> dict[str, float]:
    """Energy by component as {component value: J} with every component present, in
    vocabulary order, so any two devices' breakdowns have the same keys."""
    return {c.value: float(energy.get(c, 0.0)) for c in EnergyComponent}


def chrome_trace(report: Report) -> dict:
    """Chrome trace-event JSON (open in ui.perfetto.dev): one track per engine slot."""
    events = [{"name": "process_name", "ph": "M", "pid": 0, "args": {"name": report.device}}]
    tids: dict[str, int] = {}
    busy_until: dict[tuple[str, int], float] = {}

    def track(engine: str, start_us: float, end_us: float) -> int:
        # Engines with capacity > 1 overlap; give each concurrent use its own lane.
        lane = 0
        while busy_until.get((engine, lane), -1.0) > start_us + 1e-9:
            lane += 1
        busy_until[(engine, lane)] = end_us
        key = engine if lane == 0 else f"{engine}#{lane}"
        if key not in tids:
            tids[key] = len(tids) + 1
            events.append({"name": "thread_name", "ph": "M", "pid": 0, "tid": tids[key],
                           "args": {"name": key}})
        return tids[key]

    for r in report.ops:
        for engine, label, start, end in r.phases:
            if end <= start:
                continue
            start_us, dur_us = start * 1e6, (end - start) * 1e6
            events.append({
                "name": f"{r.op} [{label}]", "cat": r.stream, "ph": "X", "pid": 0,
                "tid": track(engine, start_us, start_us + dur_us), "ts": start_us, "dur": dur_us,
                "args": {"stream": r.stream, "frame": r.frame, "kind": r.kind,
                         "bound_by": r.bound_by, "macs": r.macs},
            })
    for f in report.frames:
        events.append({"name": f"{f.stream} frame {f.frame}", "ph": "X", "pid": 1, "tid": 0,
                       "ts": f.release_s * 1e6, "dur": f.latency_s * 1e6,
                       "args": {"missed": f.missed}})
    events.append({"name": "process_name", "ph": "M", "pid": 1, "args": {"name": "frames"}})
    return {"traceEvents": events, "displayTimeUnit": "ms"}


def write_report(report: Report, out_dir: str | os.PathLike, stem: str = "report") -> list[Path]:
    """Write `<stem>.csv`, `<stem>.json` and `<stem>.trace.json` into `out_dir` (created)."""
    # Render everything first so an error in one format writes no file at all.
    texts = {
        f"{stem}.csv": ops_csv(report),
        f"{stem}.json": json.dumps(report_dict(report), indent=1, allow_nan=True),
        f"{stem}.trace.json": json.dumps(chrome_trace(report)),
    }
    out = output_dir(out_dir)
    with OutputSet() as files:
        return [files.write(out / name, text) for name, text in texts.items()]
