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


@pytest.mark.parametrize("name", sorted(RECORDED))
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
