"""A `Report` as aligned plain text: what ran (device, streams, compression, precision) and what
it cost (latency, energy by component, utilization, memory, the slowest ops).

`Report.summary()` and `edgesim run` print this; it reads only the report's public fields and
methods, so it imports nothing of `sim.report` at runtime (the report imports this module).
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from sim.device import EngineKind

if TYPE_CHECKING:
    from sim.report import Report

__all__ = ["binary_size", "summary_text"]


def _si(value: float, unit: str) -> str:
    for scale, prefix in ((1, ""), (1e-3, "m"), (1e-6, "u"), (1e-9, "n"), (1e-12, "p")):
        if abs(value) >= scale or scale == 1e-12:
            return f"{value / scale:.4g} {prefix}{unit}"
    return f"{value:.4g} {unit}"


def binary_size(n_bytes: float) -> str:
    """Binary sizes: B, KiB or MiB (1024-based, named so)."""
    if n_bytes >= 1024**2:
        return f"{n_bytes / 1024**2:.4g} MiB"
    if n_bytes >= 1024:
        return f"{n_bytes / 1024:.4g} KiB"
    return f"{n_bytes:.0f} B"


def _macs(n: float) -> str:
    """MAC counts in G or M (decimal)."""
    if n >= 1e9:
        return f"{n / 1e9:.4g} GMAC"
    return f"{n / 1e6:.4g} MMAC"


def _precision_text(info) -> str:
    text = f"requested {', '.join(info.requested_precisions) or '-'}; executed "
    text += ", ".join(info.executed_precisions) or "-"
    if info.substitutions:
        text += " (SUBSTITUTE: " + "; ".join(
            f"{n} ops ran {b} for {a}" for a, b, n in info.substitutions) + ")"
    return text


def _placed_rows(report: Report, info) -> list[tuple[str, str]]:
    """For a stream placed on several units (`Stream.placement`): the ops on each other unit
    and the hand-offs between units (`PhaseLabel.TRANSFER` phases), in its first frame."""
    ops = [r for r in report.ops if r.stream == info.stream and r.frame == 0]
    moved: dict[str, int] = {}
    for r in ops:
        if r.target != info.target:
            moved[r.target] = moved.get(r.target, 0) + 1
    if not moved:
        return []
    spans = [b - a for r in ops for engine, label, a, b in r.phases
             if label == "transfer" and report.engine_kinds.get(engine) is EngineKind.COMPUTE]
    text = ", ".join(f"{n} op{'s' if n > 1 else ''} on {report.units.get(t, t)}"
                     for t, n in moved.items())
    return [("  placed", text), ("  hand-offs", f"{len(spans)} per frame, "
                                 f"{_si(sum(spans), 's')} on the units")]


def summary_text(report: Report, *, top: int = 8) -> str:
    """What ran and what it cost, as aligned text.

    Device, its energy method, and per stream: network and model arguments, unit (with its
    clock), batch, requested compression, requested and executed precision, MACs, latency,
    achieved MAC/s and MAC utilization, dynamic energy per frame. Several streams are reported
    one by one, never averaged across networks. Then the run: energy by component, engine
    utilization, memory (KiB/MiB), per-stream latency percentiles, the slowest ops.
    """
    method = textwrap.wrap(report.energy_model or "not stated by the device", 82) or [""]
    lines = [f"{'device':<18}{report.device}", f"{'energy method':<18}{method[0]}"]
    lines += [f"{'':<18}{line}" for line in method[1:]]
    stats = {s.stream: s for s in report.stream_stats()}
    for info in report.streams:
        st = stats.get(info.stream)
        n_frames = st.n_frames if st else 1
        args = ", ".join(f"{k}={v}" for k, v in info.model_args.items())
        dynamic = sum(report.stream_energy_j(info.stream).values()) / max(1, n_frames)
        rows = [
            ("stream", info.stream),
            ("  network", info.network + (f"  (model arguments: {args})" if args else "")),
            ("  unit", report.units.get(info.target, info.target)),
            *_placed_rows(report, info),
            ("  batch", info.batch_text or str(info.batch)),
            ("  compression", "; ".join(info.compressions) or "none (no weighted ops)"),
            ("  precision", _precision_text(info)),
            ("  MACs", f"{_macs(info.macs_per_frame)} per frame ({info.n_ops} ops)"),
        ]
        if st is not None:
            rows.append(("  latency", f"{_si(st.mean_latency_s, 's')} mean over {n_frames} frame(s)"))
            if st.mean_latency_s > 0:
                achieved = info.macs_per_frame / st.mean_latency_s
                util = report.mac_utilization(info.stream)
                rows.append(("  achieved", f"{achieved / 1e9:.4g} GMAC/s" + (
                    f", {100 * util:.1f} % of peak MAC/s" if util is not None else
                    " (the device states no peak MAC/s)")))
        rows.append(("  energy/frame", f"{_si(dynamic, 'J')} dynamic"
                     + ("" if len(report.streams) > 1 else
                        f", {_si(report.energy_per_frame_j, 'J')} with static")))
        lines += [f"{k:<18}{v}" for k, v in rows]
    rows = [
        ("duration", _si(report.duration_s, "s")),
        ("throughput", f"{report.throughput_per_s:.4g} frames/s"),
        ("energy (run)", _si(report.energy_j, "J")),
        ("average power", _si(report.average_power_w, "W")),
        ("peak activations", binary_size(report.peak_activation_bytes)),
        ("weights", binary_size(report.weight_bytes)),
    ]
    lines += [f"{k:<18}{v}" for k, v in rows]
    util = report.utilization()
    lines.append("engine utilization: " + ", ".join(f"{e} {100 * u:.1f} %" for e, u in util.items()))
    total = report.energy_j or 1.0
    lines.append("energy by component (run):")
    for comp, e in report.energy_by_component_j.items():
        lines.append(f"  {comp.value:<14}{_si(e, 'J'):>12}  {100 * e / total:5.1f} %")
    if len(stats) > 1 or any(s.n_frames > 1 for s in stats.values()):
        lines.append(f"{'stream':<20}{'frames':>7}{'p50':>11}{'p99':>11}{'deadline':>11}{'missed':>8}")
        for s in stats.values():
            lines.append(
                f"{s.stream[:19]:<20}{s.n_frames:>7}{_si(s.p50_latency_s, 's'):>11}"
                f"{_si(s.p99_latency_s, 's'):>11}{_si(s.deadline_s, 's'):>11}{s.deadline_misses:>8}"
            )
    per_op: dict[tuple[str, str], list] = {}
    for r in report.ops:
        per_op.setdefault((r.stream, r.op), []).append(r)
    slow = sorted(per_op.values(), key=lambda rs: -sum(r.latency_s for r in rs) / len(rs))[:top]
    lines.append(f"slowest ops (mean over frames):{'':<15}{'engine':<12}{'time':>11}  bound by")
    for rs in slow:
        r, mean_s = rs[0], sum(x.latency_s for x in rs) / len(rs)
        lines.append(f"  {r.op[:42]:<44}{r.engines[:11]:<12}{_si(mean_s, 's'):>11}  {r.bound_by}")
    return "\n".join(lines)
