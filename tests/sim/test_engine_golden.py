"""The engine reproduces, exactly, per-op timelines recorded from the previous engine.

The previous engine held `simpy.PriorityResource`s with one SimPy process per phase; the
recorded runs (see `golden_engine_cases.py`) cover periodic streams that fall behind, three
priorities, release jitter, weight prefetch, concurrent phases and a two-slot engine.
"""

from __future__ import annotations

import json

import pytest

from sim import simulate
from tests.sim.golden_engine_cases import DATA, cases, record

RECORDED = json.loads(DATA.read_text())
CASES = cases()


# The hand-made case ties to the picosecond everywhere (integer-microsecond costs on a shared
# DMA). At t = 10 us, c/0/l0's store and a/0/l1's load ask for the DMA at the same instant with
# the same priority; the old engine served the store first only because a stage of two phases
# finished through two extra SimPy events (a sub-process end, then an all_of), which let the
# store's request be made before the load's. The new engine orders same-instant requests by the
# order the events that caused them were due (here the load: its trigger was scheduled at 3 us,
# the store's at 8 us), so it serves the load first. The realistic runs above do not hit this.
TIE_ARTIFACT = {"fixed_capacity_two"}


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(strict=True, reason="old engine's event-hop tie order"))
    if n in TIE_ARTIFACT else n for n in sorted(RECORDED)])
def test_timelines_identical_to_recorded_engine(name):
    streams, device, seed = CASES[name]
    got = json.loads(json.dumps(record(simulate(streams, device, seed=seed))))
    want = RECORDED[name]
    assert got["frames"] == want["frames"]
    assert got["duration_s"] == want["duration_s"]
    assert got["peak_activation_bytes"] == want["peak_activation_bytes"]
    assert got["energy_by_component_j"] == want["energy_by_component_j"]
    assert len(got["ops"]) == len(want["ops"])
    for g, w in zip(got["ops"], want["ops"]):
        assert g == w
