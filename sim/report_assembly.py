"""The assembly of a `Report` from one run: totals, energy, peak memory, per-stream facts.

The run (`sim.engine`) collects op and frame records and the activation allocations as it
goes; this module turns them, with the plans and the device, into the frozen `sim.Report`:
dynamic energy and bytes from every op's cost once per frame, the engines' static energy over
the simulated time, the peak of live activation bytes, and one `StreamInfo` per stream.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np

from sim.clock import PS_PER_S
from sim.device import Device
from sim.energy import EnergyComponent
from sim.plan import Plan
from sim.report import FrameRecord, OpRecord, Report, RunMetadata, StreamInfo


def assemble_report(device: Device, plans: Sequence[Plan], op_records: list[OpRecord],
                    frame_records: list[FrameRecord], memory_events: list[tuple[int, int]],
                    duration_ps: int, seed: int) -> Report:
    """The report of a run of `plans` on `device` that lasted `duration_ps` (its last finish
    or its streams' release horizon, whichever is later). Sorts `op_records` (by start, end,
    stream, frame) and `frame_records` (by stream, frame) in place; `memory_events` are
    (time_ps, +bytes allocated or -bytes freed) of activation tensors."""
    energy, moved = _totals(plans)
    duration_s = duration_ps / PS_PER_S
    for e in device.engines:
        if e.static_power_w:
            comp = e.static_component
            energy[comp] = energy.get(comp, 0.0) + e.static_power_w * duration_s
    energy = {c: energy[c] for c in EnergyComponent if c in energy}  # vocabulary order
    model = getattr(device, "energy_model", None)
    unit_text = getattr(device, "unit_text", None)
    used = dict.fromkeys(p.target for plan in plans for p in plan.ops)
    op_records.sort(key=lambda r: (r.start_s, r.end_s, r.stream, r.frame))
    frame_records.sort(key=lambda r: (r.stream, r.frame))
    return Report(
        device=device.name,
        duration_s=duration_s,
        ops=tuple(op_records),
        frames=tuple(frame_records),
        energy_by_component_j=MappingProxyType(energy),
        bytes_by_level=MappingProxyType(moved),
        peak_activation_bytes=_peak_bytes(memory_events),
        weight_bytes=sum(p.weight_bytes for p in plans),
        metadata=RunMetadata.of(seed, device, [p.stream for p in plans]),
        engines=tuple(e.name for e in device.engines),
        engine_capacity=MappingProxyType({e.name: e.capacity for e in device.engines}),
        engine_kinds=MappingProxyType({e.name: e.kind for e in device.engines}),
        streams=tuple(_stream_info(plan, device) for plan in plans),
        energy_model=model.text() if model is not None else None,
        units=MappingProxyType({t: unit_text(t) if unit_text else t for t in used}),
    )


def _peak_bytes(memory_events: list[tuple[int, int]]) -> int:
    """Peak of live activation bytes; at equal times, frees come before allocations."""
    if not memory_events:
        return 0
    events = np.array(sorted(memory_events), dtype=np.int64)
    return int(np.cumsum(events[:, 1]).max())


def _totals(plans: Sequence[Plan]) -> tuple[dict[EnergyComponent, float], dict[str, float]]:
    """Dynamic energy by component and bytes by level: every op's cost once per frame
    (costs are frame-invariant)."""
    energy: dict[EnergyComponent, float] = {}
    moved: dict[str, float] = {}
    for plan in plans:
        frames = plan.stream.n_frames
        for p in plan.ops:
            for comp, e in p.cost.energy_j.items():
                energy[comp] = energy.get(comp, 0.0) + e * frames
            for level, b in p.cost.bytes_moved.items():
                moved[level] = moved.get(level, 0) + b * frames
    return energy, moved


def _by_macs(weights: Mapping[str, int]) -> tuple[str, ...]:
    return tuple(k for k, _ in sorted(weights.items(), key=lambda kv: -kv[1]))


def _stream_info(plan: Plan, device: Device) -> StreamInfo:
    s, net = plan.stream, plan.stream.network
    requested: dict[str, int] = {}
    executed: dict[str, int] = {}
    subs: dict[tuple[str, str], int] = {}
    compressions: dict[str, int] = {}
    for p in plan.ops:
        if p.op.is_free:
            continue
        if p.op.weight_shape or p.op.macs:
            label = p.op.anchor.compression.label()
            compressions[label] = compressions.get(label, 0) + p.op.effective_macs
        requested[p.requested_precision] = requested.get(p.requested_precision, 0) + p.op.effective_macs
        executed[p.executed_precision] = executed.get(p.executed_precision, 0) + p.op.effective_macs
        if p.executed_precision != p.requested_precision:
            key = (p.requested_precision, p.executed_precision)
            subs[key] = subs.get(key, 0) + 1
    return StreamInfo(
        stream=s.name, network=net.name, target=s.target or device.targets[0],
        batch=net.batch, batch_text=net.batch_text,
        n_ops=len(net.ops), macs_per_frame=sum(p.op.effective_macs for p in plan.ops),
        requested_precisions=_by_macs(requested), executed_precisions=_by_macs(executed),
        substitutions=tuple((a, b, n) for (a, b), n in subs.items()),
        compressions=_by_macs(compressions),
        model_args=MappingProxyType(dict(s.model_args)),
    )
