"""`edgesim systolic`: run SCALE-Sim v3 config and topology files on edgesim's systolic template.

    edgesim systolic --config FILE.cfg --topology FILE.csv [--gemm] [--out DIR]
                     [--exact] [--node-nm 45] [--bits 8]

Reads the files unchanged (`accelerators.systolic.scalesim_files`), prints one line per layer
and, with `--out`, writes COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv
into DIR with SCALE-Sim's column names and layout (", " separated, trailing comma), followed by
energy and area columns. Compute cycles and SRAM counts are SCALE-Sim's (its report conventions
on, `sim.systolic.SCALESIM_V3`; `--exact` gives the physical counts instead). DRAM counts come
from edgesim's capacity model; 'Total Cycles (incl. prefetch)' adds one fill of the ifmap and
filter SRAMs' active halves at the config's Bandwidth, and start/stop cycles are that schedule's,
not SCALE-Sim's trace-derived values; DRAM bandwidths divide by the layer's cycles.
Registered through the entry-point group `edgesim.commands` (`register`).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from accelerators.systolic.scalesim_files import read_config, read_topology
from sim.export import write_atomic
from sim.systolic import EXACT, SCALESIM_V3, Layers, area_mm2, energy_pj, simulate
from sim.tables import output_dir
from workloads import SpecError

COMPUTE_COLUMNS = ("LayerID", "Total Cycles (incl. prefetch)", "Total Cycles", "Stall Cycles",
                   "Overall Util %", "Mapping Efficiency %", "Compute Util %",
                   "Total Energy (pJ)", "MAC Energy (pJ)", "SRAM Energy (pJ)", "DRAM Energy (pJ)",
                   "Array Area (mm2)", "SRAM Area (mm2)")
BANDWIDTH_COLUMNS = ("LayerID", "Avg IFMAP SRAM BW", "Avg FILTER SRAM BW", "Avg OFMAP SRAM BW",
                     "Avg IFMAP DRAM BW", "Avg FILTER DRAM BW", "Avg OFMAP DRAM BW")
DETAIL_COLUMNS = ("LayerID",
                  "SRAM IFMAP Start Cycle", "SRAM IFMAP Stop Cycle", "SRAM IFMAP Reads",
                  "SRAM Filter Start Cycle", "SRAM Filter Stop Cycle", "SRAM Filter Reads",
                  "SRAM OFMAP Start Cycle", "SRAM OFMAP Stop Cycle", "SRAM OFMAP Writes",
                  "DRAM IFMAP Start Cycle", "DRAM IFMAP Stop Cycle", "DRAM IFMAP Reads",
                  "DRAM Filter Start Cycle", "DRAM Filter Stop Cycle", "DRAM Filter Reads",
                  "DRAM OFMAP Start Cycle", "DRAM OFMAP Stop Cycle", "DRAM OFMAP Writes",
                  "SRAM IFMAP Energy (pJ)", "SRAM Filter Energy (pJ)", "SRAM OFMAP Energy (pJ)",
                  "DRAM Energy (pJ)")
"""SCALE-Sim v3's report columns (scalesim/simulator.py), then edgesim's energy and area."""


def _format(rows: list[list], columns) -> str:
    # SCALE-Sim's own layout: ", " between fields and a trailing comma on every line.
    lines = [", ".join(columns) + ","]
    lines += [", ".join(str(v) for v in row) + "," for row in rows]
    return "\n".join(lines) + "\n"


def reports(config_path, topology_path, *, gemm: bool = False, exact: bool = False,
            node_nm: float = 45.0, bits: int = 8) -> dict[str, str]:
    """The three report files' text by file name. Pure apart from reading the two inputs."""
    if not (math.isfinite(node_nm) and 1 <= node_nm <= 1000):
        raise SpecError(f"--node-nm must be 1 to 1000 nm (got {node_nm})")
    if not 1 <= bits <= 64:
        raise SpecError(f"--bits must be 1 to 64 (got {bits})")
    config = read_config(config_path, quirks=EXACT if exact else SCALESIM_V3)
    topology = read_topology(topology_path, gemm=gemm)
    array = config.array
    layers = Layers.of(layer.gemm for layer in topology)
    s = simulate(array, layers)
    e = energy_pj(array, layers, s, bits=bits, node_nm=node_nm)
    area = area_mm2(array, bits=bits, node_nm=node_nm)
    sram_area = area["sram_ifmap"] + area["sram_filter"] + area["sram_ofmap"]
    bw = config.bandwidth_words_per_cycle
    half = 2 if array.double_buffered else 1
    fill = (np.minimum(s.dram_ifmap_reads, array.ifmap_sram_bytes // half)
            + np.minimum(s.dram_filter_reads, array.filter_sram_bytes // half))
    prefetch = np.ceil(fill / bw).astype(np.int64)
    cycles = np.maximum(s.total_cycles, 1)
    compute, bandwidth, detail = [], [], []
    for i in range(len(topology)):
        sram_j = e["sram_ifmap"][i] + e["sram_filter"][i] + e["sram_ofmap"][i]
        total = int(s.total_cycles[i])
        compute.append([i, int(prefetch[i]) + total, total, int(s.stall_cycles[i]),
                        100 * float(s.utilization_ratio[i]),
                        100 * float(s.mapping_efficiency_ratio[i]),
                        100 * float(s.compute_utilization_ratio[i]),
                        float(e["mac"][i] + sram_j + e["dram"][i]), float(e["mac"][i]),
                        float(sram_j), float(e["dram"][i]), area["array"], sram_area])
        bandwidth.append([i] + [float(x[i] / cycles[i]) for x in (
            s.sram_ifmap_reads, s.sram_filter_reads, s.sram_ofmap_writes,
            s.dram_ifmap_reads, s.dram_filter_reads, s.dram_ofmap_writes)])
        start = -int(prefetch[i])
        detail.append([i, 0, total, int(s.sram_ifmap_reads[i]),
                       0, total, int(s.sram_filter_reads[i]),
                       0, total, int(s.sram_ofmap_writes[i]),
                       start, total, int(s.dram_ifmap_reads[i]),
                       start, total, int(s.dram_filter_reads[i]),
                       0, total, int(s.dram_ofmap_writes[i]),
                       float(e["sram_ifmap"][i]), float(e["sram_filter"][i]),
                       float(e["sram_ofmap"][i]), float(e["dram"][i])])
    return {"COMPUTE_REPORT.csv": _format(compute, COMPUTE_COLUMNS),
            "BANDWIDTH_REPORT.csv": _format(bandwidth, BANDWIDTH_COLUMNS),
            "DETAILED_ACCESS_REPORT.csv": _format(detail, DETAIL_COLUMNS),
            "_summary": _summary(config, topology, s, e, area)}


def _summary(config, topology, s, e, area) -> str:
    a = config.array
    lines = [f"{config.run_name}: {a.rows}x{a.cols} {a.dataflow.value}, "
             f"{len(topology)} layers, {int(s.total_cycles.sum()):,} cycles, "
             f"{sum(float(v.sum()) for v in e.values()) * 1e-6:.4g} uJ, "
             f"{sum(area.values()):.4g} mm2",
             f"{'layer':<28}{'cycles':>12}{'stalls':>9}{'util %':>8}{'map eff %':>10}"]
    for i, layer in enumerate(topology):
        lines.append(f"{layer.name[:27]:<28}{int(s.total_cycles[i]):>12,}"
                     f"{int(s.stall_cycles[i]):>9,}{100 * s.utilization_ratio[i]:>8.1f}"
                     f"{100 * s.mapping_efficiency_ratio[i]:>10.1f}")
    return "\n".join(lines)


def _cmd_systolic(args: argparse.Namespace, registry) -> int:
    texts = reports(Path(args.config), Path(args.topology), gemm=args.gemm, exact=args.exact,
                    node_nm=args.node_nm, bits=args.bits)
    summary = texts.pop("_summary")
    if args.out:
        out = output_dir(args.out)
        for name, text in texts.items():
            write_atomic(out / name, text)
    print(summary)
    return 0


def register(subparsers) -> None:
    """Add `edgesim systolic --config FILE.cfg --topology FILE.csv [--gemm] [--out DIR]`."""
    p = subparsers.add_parser(
        "systolic", help="run SCALE-Sim config and topology files on the systolic template")
    p.add_argument("--config", required=True, help="SCALE-Sim .cfg file")
    p.add_argument("--topology", required=True, help="SCALE-Sim topology .csv file")
    p.add_argument("--gemm", action="store_true",
                   help="the topology is in GEMM form (name, M, N, K), as SCALE-Sim's -i gemm")
    p.add_argument("--out", help="directory for the three SCALE-Sim report files")
    p.add_argument("--exact", action="store_true",
                   help="physical counts instead of SCALE-Sim's report conventions")
    p.add_argument("--node-nm", type=float, default=45.0, help="process node for energy, area")
    p.add_argument("--bits", type=int, default=8, help="MAC operand bit-width (default 8)")
    p.set_defaults(handler=_cmd_systolic)
