"""Report exports: CSV columns with units, JSON totals, a Chrome trace that matches the run."""

from __future__ import annotations

import csv
import io
import json

import pytest

from sim import Cost, Phase, Stream, simulate
from sim.export import OP_COLUMNS, OutputError, chrome_trace, ops_csv, report_dict, write_atomic
from tests.helpers import FixedCostDevice, chain

US = 1e-6


@pytest.fixture
def report():
    cost = Cost(
        stages=((Phase("dma", 2 * US, "load"),), (Phase("compute", 5 * US),)),
        energy_j={"mac": 1e-6, "off_chip": 2e-6},
        bytes_moved={"dram": 1000},
        bound_by="compute",
    )
    device = FixedCostDevice(costs={"l0": cost, "l1": cost})
    return simulate(Stream(network=chain(2), period_s=20 * US, n_frames=2), device, seed=3)


def test_csv_has_one_row_per_op_and_frame_with_unit_columns(report):
    rows = list(csv.DictReader(io.StringIO(ops_csv(report))))
    assert len(rows) == 4
    assert tuple(rows[0])[: len(OP_COLUMNS)] == OP_COLUMNS
    assert rows[0]["bytes_dram"] == "1000"
    # l0: load 0-2 us, compute 2-7; l1 starts with its load at 7 us and ends at 14.
    assert float(rows[1]["start_s"]) == pytest.approx(7 * US)
    assert float(rows[1]["end_s"]) == pytest.approx(14 * US)


def test_json_totals_match_the_report(report):
    data = json.loads(json.dumps(report_dict(report)))
    assert data["totals"]["energy_j"] == pytest.approx(4 * 3e-6)
    assert data["totals"]["latency_s"] == pytest.approx(14 * US)
    assert data["metadata"]["seed"] == 3 and len(data["metadata"]["streams"]) == 1
    assert data["busy_s"] == pytest.approx({"dma": 8 * US, "compute": 20 * US})
    assert len(data["frames"]) == 2 and data["streams"][0]["n_frames"] == 2


def test_chrome_trace_spans_are_the_simulated_phases(report):
    events = [e for e in chrome_trace(report)["traceEvents"] if e["ph"] == "X" and e["pid"] == 0]
    assert len(events) == 8  # 2 frames x 2 ops x 2 phases
    l1 = [e for e in events if e["name"].startswith("l1") and e["args"]["frame"] == 0]
    assert [v for e in l1 for v in (e["ts"], e["dur"])] == pytest.approx([7, 2, 9, 5])
    names = {e["args"]["name"] for e in chrome_trace(report)["traceEvents"] if e["ph"] == "M"}
    assert {"compute", "dma", "frames"} <= names


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    with pytest.raises(OutputError, match="choose a writable directory"):
        write_atomic(tmp_path / "missing" / "x.json", "{}")
    path = write_atomic(tmp_path / "x.json", "{}")
    assert path.read_text() == "{}" and [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_summary_says_what_ran():
    from devices.roofline import RooflineDevice
    from tests.helpers import unit_spec

    device = RooflineDevice(unit_spec())
    net = chain(3, 64).quantized("fixed", weight_bits=8)
    report = simulate(Stream(network=net, model_args={"features": 64}), device)
    text = report.summary()
    for expected in ("device            unit", "energy method     per-action: MACs",
                     "  unit            compute: peak 4 int8", "  batch           1",
                     "  compression     w8a8", "  precision       requested w8a8; executed w8a8",
                     "(model arguments: features=64)", "  MACs            0.01229 MMAC per frame",
                     "  achieved", "% of peak MAC/s", "engine utilization: compute",
                     "weights           12.19 KiB"):
        assert expected in text, expected
    assert " kB" not in text
    # 3 x 64 x 64 int8 MACs in the op latencies at a 4 GMAC/s peak:
    mac_s = sum(r.latency_s for r in report.ops)
    assert report.mac_utilization() == pytest.approx(3 * 64 * 64 / (mac_s * 4e9))


def test_two_networks_are_reported_stream_by_stream_not_averaged():
    from devices.roofline import RooflineDevice
    from tests.helpers import unit_spec

    device = RooflineDevice(unit_spec())
    small, big = chain(1, 16, name="small"), chain(4, 128, name="big")
    report = simulate([small, big], device)
    text = report.summary()
    assert "stream            small" in text and "stream            big" in text
    stats = {s.stream: s for s in report.stream_stats()}
    for name in ("small", "big"):
        assert f"{stats[name].mean_latency_s * 1e6:.4g} us mean over 1 frame" in text
    mean = report.latency_s  # the cross-network average is never printed
    assert f"{mean * 1e6:.4g} us" not in text
    energies = {s: sum(report.stream_energy_j(s).values()) for s in ("small", "big")}
    assert energies["big"] > 10 * energies["small"] > 0
    data = report_dict(report)
    assert [s["stream"] for s in data["stream_info"]] == ["small", "big"]
    assert set(data["utilization_ratio"]) == {"compute"}
    assert data["ops"][0]["mac_utilization_ratio"] is not None
    rows = list(csv.DictReader(io.StringIO(ops_csv(report))))
    assert {"requested_precision", "executed_precision", "mac_utilization_ratio",
            "energy_off_chip_j"} <= set(rows[0])
