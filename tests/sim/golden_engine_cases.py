"""Multi-stream runs whose per-op timelines were recorded from the SimPy-resource engine.

`python -m tests.sim.golden_engine_cases` rewrites `data/engine_golden.json`; it was run once,
on commit 31f397b (the engine with `simpy.PriorityResource` and one process per phase), before
the engine was rewritten, so `test_engine_golden.py` holds the new engine to the old timelines.
Only the energy totals were re-recorded since, when main's one energy account (issue 16: the
component vocabulary, the roofline's off-chip energy) was merged: from main's process-based engine
at e4f1a6a, whose timelines still equalled these; the new engine's totals equal them exactly.
`mobile_two_streams_behind` was re-recorded whole from main's engine at 65808af, when main's
re-fitted mobile costs (dd36da8: GEMM scales re-solved) moved its times; on the other cases that
engine still gives the 31f397b timelines, and on every case but the tie artifact the new engine
equals it exactly. Its board is the S20 with the GPU efficiencies it had then
(`RECORDED_S20_GPU_EFFICIENCY`) and the flat cache energy its units had then
(`RECORDED_S20_CACHE_PJ_PER_BYTE`), so a later re-calibration of the preset (the Adreno CNN
scale, cache energy from the shared SRAM table) does not move an engine test.
"""

from __future__ import annotations

import json
from pathlib import Path

from devices.mobile.device import MobileBoard
from devices.mobile.spec import KernelEfficiency
from devices.roofline import RooflineDevice
from sim import Cost, EngineSpec, Phase, Stream, simulate
from sim.spec import override
from tests.helpers import FixedCostDevice, chain, installed_device, unit_spec
from workloads.zoo import mobilenetv2, resnet18

DATA = Path(__file__).parent / "data" / "engine_golden.json"
US = 1e-6


RECORDED_S20_GPU_EFFICIENCY = KernelEfficiency(
    conv3x3=0.4, conv1x1=0.44, depthwise=0.128, gemm=0.0539, gemv=0.36, attention=0.0359,
    elementwise=0.32, softmax_norm=0.16)
"""snapdragon865's GPU efficiencies when `mobile_two_streams_behind` was recorded (65808af)."""
RECORDED_S20_CACHE_PJ_PER_BYTE = 1.0
"""snapdragon865's cache energy, every unit, when `mobile_two_streams_behind` was recorded."""


def _s20_as_recorded() -> MobileBoard:
    board = installed_device("snapdragon865")
    index = board.targets.index("gpu")
    changes = {f"units.{index}.efficiency": RECORDED_S20_GPU_EFFICIENCY}
    changes |= {f"units.{i}.cache_energy_pj_per_byte": RECORDED_S20_CACHE_PJ_PER_BYTE
                for i in range(len(board.targets))}
    return MobileBoard(override(board.spec, changes, where="golden engine case"))


def _fixed_capacity_two():
    """Two-slot compute engine, prefetch and concurrent stages: the arbitration corner cases."""
    load = Phase("dma", 2 * US, "load")
    cost = Cost(stages=((load,), (Phase("compute", 7 * US), Phase("dma", 3 * US, "store"))),
                prefetch=(Phase("dma", 1 * US, "weights"),))
    device = FixedCostDevice(
        costs={f"l{i}": cost for i in range(6)},
        engines=(EngineSpec(name="compute", capacity=2), EngineSpec(name="dma")),
    )
    streams = [
        Stream(network=chain(6, name="a"), period_s=20 * US, n_frames=6, priority=0),
        Stream(network=chain(6, name="b"), period_s=15 * US, n_frames=8, priority=1, offset_s=3 * US),
        Stream(network=chain(4, name="c"), period_s=10 * US, n_frames=5, priority=0, jitter_s=4 * US),
    ]
    return streams, device


def cases():
    """name -> (streams, device, seed)."""
    mnv2 = mobilenetv2(resolution=96)
    r18 = resnet18(resolution=64)
    return {
        "mobile_two_streams_behind": (
            [Stream(network=mnv2, period_s=1e-3, n_frames=4, deadline_s=2e-3),
             Stream(network=r18, period_s=2e-3, n_frames=3, priority=1, jitter_s=5e-4)],
            _s20_as_recorded(), 3),
        "roofline_separate_dma_three_priorities": (
            [Stream(network=chain(8, name="p0"), period_s=50 * US, n_frames=5, priority=0),
             Stream(network=chain(5, name="p1"), period_s=40 * US, n_frames=6, priority=1,
                    offset_s=7 * US),
             Stream(network=chain(3, name="p2"), period_s=30 * US, n_frames=7, priority=2,
                    jitter_s=10 * US)],
            RooflineDevice(unit_spec(separate_dma=True, n_compute_units=2)), 11),
        "roofline_equal_priorities_fifo": (
            [Stream(network=r18, period_s=1e-4, n_frames=3),
             Stream(network=mnv2, name="m", period_s=1e-4, n_frames=3, offset_s=1e-5)],
            installed_device("roofline-adreno650"), 0),
        "fixed_capacity_two": (*_fixed_capacity_two(), 5),
    }


def record(report) -> dict:
    """Everything timing-related of a report, exactly (floats round-trip through JSON)."""
    return {
        "ops": [[r.stream, r.frame, r.op, r.ready_s, r.start_s, r.end_s, [list(p) for p in r.phases]]
                for r in report.ops],
        "frames": [[f.stream, f.frame, f.release_s, f.finish_s] for f in report.frames],
        "duration_s": report.duration_s,
        "peak_activation_bytes": report.peak_activation_bytes,
        "energy_by_component_j": dict(report.energy_by_component_j),
    }


def main() -> None:
    out = {name: record(simulate(streams, device, seed=seed))
           for name, (streams, device, seed) in cases().items()}
    DATA.write_text(json.dumps(out, separators=(",", ":")))
    print(f"wrote {DATA} ({DATA.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
