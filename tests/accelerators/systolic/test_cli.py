"""`edgesim systolic`: SCALE-Sim files read unchanged, its three reports written, and every bad
input one line naming the file, row and field, exit status 2, nothing written."""

from __future__ import annotations

import csv
import re

import pytest

from accelerators.studies import scalesim_validation as validation
from accelerators.systolic.cli import register
from accelerators.systolic.scalesim_files import read_topology
from sim.cli import main
from sim.registry import Registry

TOPOLOGY = """Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,
L1,10,10,3,3,4,12,1,
DP1,6,6,3,3,3,1,1,
"""


def run(args, tmp_path):
    return main(args, registry=Registry(devices={}, workloads={}), commands=[register])


@pytest.fixture
def files(tmp_path):
    cfg = tmp_path / "t.cfg"
    cfg.write_text(validation.CONFIG_TEMPLATE.format(run_name="t", rows=8, cols=8, sram_kb=64,
                                                     dataflow="os"))
    topo = tmp_path / "t.csv"
    topo.write_text(TOPOLOGY)
    return cfg, topo


def report(path):
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    header = [h.strip() for h in rows[0]]
    return [dict(zip(header, (v.strip() for v in row))) for row in rows[1:]]


def test_reports_carry_scalesims_columns_and_numbers(files, tmp_path, capsys):
    cfg, topo = files
    out = tmp_path / "out"
    assert run(["systolic", "--config", str(cfg), "--topology", str(topo), "--out", str(out)],
               tmp_path) == 0
    compute = report(out / "COMPUTE_REPORT.csv")
    # SCALE-Sim 3.0.0 on these files: 799 cycles, 54.0676 % util, 75 % mapping, 54 % compute
    # util for L1; the DP layer is one 45-cycle layer per channel.
    assert len(compute) == 4
    assert compute[0]["Total Cycles"] == "799" and compute[0]["Mapping Efficiency %"] == "75.0"
    assert float(compute[0]["Overall Util %"]) == pytest.approx(54.06758448060075)
    assert [r["Total Cycles"] for r in compute[1:]] == ["45"] * 3
    assert float(compute[0]["Total Energy (pJ)"]) > 0 and float(compute[0]["SRAM Area (mm2)"]) > 0
    detail = report(out / "DETAILED_ACCESS_REPORT.csv")
    assert (detail[0]["SRAM IFMAP Reads"], detail[0]["SRAM Filter Reads"],
            detail[0]["SRAM OFMAP Writes"]) == ("4608", "3456", "1024")
    assert (detail[0]["DRAM IFMAP Reads"], detail[0]["DRAM OFMAP Writes"]) == ("400", "768")
    assert "Avg IFMAP SRAM BW" in report(out / "BANDWIDTH_REPORT.csv")[0]
    assert (out / "COMPUTE_REPORT.csv").read_text().splitlines()[1].endswith(",")
    assert "DP1Channel_2" in capsys.readouterr().out


def test_gemm_topology_and_exact_counts(files, tmp_path):
    cfg, _ = files
    topo = tmp_path / "g.csv"
    topo.write_text("Layer Name, M, N, K,\nTest 1, 256, 128, 256\n")  # no trailing comma
    out = tmp_path / "g"
    assert run(["systolic", "--config", str(cfg), "--topology", str(topo), "--gemm",
                "--exact", "--out", str(out)], tmp_path) == 0
    # os 8x8: 32 x 16 folds of 256 + 14 cycles, physical count (no last-cycle index).
    assert report(out / "COMPUTE_REPORT.csv")[0]["Total Cycles"] == str(32 * 16 * 270)


def test_depthwise_expands_per_channel_like_scalesim(tmp_path):
    topo = tmp_path / "dw.csv"
    topo.write_text("h\nDP_a,8,8,3,3,4,1,1,\nconv,8,8,3,3,4,1,2,\n")
    layers = read_topology(topo)
    assert [l.name for l in layers] == [f"DP_aChannel_{i}" for i in range(4)] + ["conv"]
    assert (layers[0].gemm.m, layers[0].gemm.k, layers[0].gemm.n) == (36, 9, 1)
    assert (layers[-1].gemm.m, layers[-1].gemm.k) == (16, 36)  # ceil((8 - 3 + 2) / 2) = 4


@pytest.mark.parametrize("text, match", [
    ("h\nL1,10,10,3,3,4,12,\n", r"row 2: expected 8 fields"),
    ("h\nL1,10,ten,3,3,4,12,1,\n", r"row 2: IFMAP width: expected a whole number, got 'ten'"),
    ("h\nL1,10,10,3,3,4,12,1,\nL2,10,10,3,3,0,12,1,\n", r"row 3: Channels: expected 1 to"),
    ("h\nL1,10,10,3,3,-4,12,1,\n", r"row 2: Channels: expected 1 to \d+, got -4"),
    ("h\nL1,2,10,3,3,4,12,1,\n", r"row 2: Filter height: the filter \(3x3\) is larger"),
    ("h\nL1,10,10,3,3,4,12,1,2:4,\n", r"row 2: unexpected field"),
    ("h\n", r"no layers after the header row"),
    ("h\nDPx,10,10,3,3,200000,1,1,\n", r"row 2: Channels: the topology expands to more than"),
])
def test_bad_topology_is_one_line_naming_file_row_and_field(files, tmp_path, capsys, text, match):
    cfg, topo = files
    topo.write_text(text)
    out = tmp_path / "never"
    assert run(["systolic", "--config", str(cfg), "--topology", str(topo), "--out", str(out)],
               tmp_path) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"edgesim: error: {topo}: ")
    assert re.search(match, err), err
    assert not out.exists()


@pytest.mark.parametrize("old, new, match", [
    ("ArrayHeight:    8", "ArrayHeight:    5000", r"row 5: \[architecture_presets\] ArrayHeight: expected 1 to 4096, got 5000"),
    ("ArrayWidth:     8", "ArrayWidth:     0", r"ArrayWidth: expected 1 to 4096, got 0"),
    ("IfmapSramSzkB:   64", "IfmapSramSzkB:   -1", r"IfmapSramSzkB: expected 1 to \d+, got -1"),
    ("Dataflow : os", "Dataflow : rs", r"row 14: \[architecture_presets\] Dataflow: expected os, ws or is"),
    ("InterfaceBandwidth: CALC", "InterfaceBandwidth: FAST", r"InterfaceBandwidth: expected CALC or USER"),
    ("[architecture_presets]", "[arch]", r"\[architecture_presets\] ArrayHeight: required but missing"),
    ("[general]", "general", r"not an INI config"),
    ("SparsitySupport : false", "SparsitySupport : true", r"SparsitySupport: sparse SCALE-Sim"),
])
def test_bad_config_is_one_line_naming_file_row_and_field(files, tmp_path, capsys, old, new, match):
    cfg, topo = files
    text = cfg.read_text()
    assert old in text
    cfg.write_text(text.replace(old, new))
    assert run(["systolic", "--config", str(cfg), "--topology", str(topo)], tmp_path) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"edgesim: error: {cfg}")
    assert re.search(match, err), err


def test_user_bandwidth_mode_stalls(files, tmp_path):
    cfg, topo = files
    cfg.write_text(cfg.read_text().replace("InterfaceBandwidth: CALC", "InterfaceBandwidth: USER")
                   .replace("Bandwidth : 10", "Bandwidth : 1"))
    out = tmp_path / "u"
    assert run(["systolic", "--config", str(cfg), "--topology", str(topo), "--out", str(out)],
               tmp_path) == 0
    first = report(out / "COMPUTE_REPORT.csv")[0]
    # 400 + 432 + 768 DRAM words at 1 word/cycle against 799 compute cycles, double buffered.
    assert first["Stall Cycles"] == str(1600 - 799) and first["Total Cycles"] == "1600"


def test_flag_bounds(files, tmp_path, capsys):
    cfg, topo = files
    assert run(["systolic", "--config", str(cfg), "--topology", str(topo), "--bits", "0"],
               tmp_path) == 2
    assert "--bits must be 1 to 64" in capsys.readouterr().err
