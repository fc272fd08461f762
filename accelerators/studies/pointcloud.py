"""Study: PointAcc-style accelerator against an RTX 2080 Ti on point-cloud networks.

Reproduces the comparison of PointAcc (arXiv 2110.07600): speedup and energy saving per network
and their geometric mean beside the paper's 3.7x and 22x (over its 8 models), and where the
GPU's time goes (mapping, gather/scatter, MACs, other kernels). Every workload is built from a
seeded synthetic point set (`workloads.pointcloud.pointsets`), so the run is deterministic.

    python -m accelerators.studies.pointcloud --out results/pointcloud

`--gpu` names the baseline, a registered device (`edgesim list devices`; default
gpu-rtx2080ti), so this package imports no device. The accelerator is `--device NAME|FILE` (a
registered pointcloud device or a device file, default pointacc; `--set` overrides it). Writes CSV and JSON
tables (units in the column names), PNG plots (if matplotlib is installed) and a README.md with
the figures, all computed here.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from accelerators.pointcloud import cli as pointcloud_cli
from accelerators.pointcloud.device import FAMILY, PointAccDevice
from accelerators.pointcloud.spec import PointAccSpec
from sim import Device, Registry, simulate
from sim.cli import add_device_args, device_from_args
from sim.export import write_atomic
from sim import memory as sim_memory
from sim.energy import EnergyComponent
from sim.spec import override
from sim.study import add_common_arguments, study_main
from sim.study import write_study as land_study
from sim.tables import NO_PLOTS, output_dir, pyplot, save_figure, write_csv, write_json
from workloads import SpecError
from workloads.pointcloud import networks as wls
from workloads.pointcloud import pointsets as ps

PAPER = "arXiv 2110.07600 (PointAcc, MICRO'21), abstract and Sec. 6"
PAPER_SPEEDUP_X = 3.7
"""PointAcc over RTX 2080 Ti, geometric mean over its 8 models (abstract)."""
PAPER_ENERGY_SAVING_X = 22.0
"""PointAcc over RTX 2080 Ti, energy saving, geometric mean over its 8 models (abstract)."""
PAPER_POWER_RATIO = PAPER_ENERGY_SAVING_X / PAPER_SPEEDUP_X
"""GPU average power over PointAcc's that the abstract's two figures imply: energy saving =
speedup x power ratio, per model and so for their geometric means (22 / 3.7 = 5.95)."""
RTX2080TI_BOARD_POWER_W = 250.0
"""NVIDIA's board power for the RTX 2080 Ti (the GPU preset's tdp_w): the most a measured
GPU power can be, which bounds the accelerator power the paper's ratio implies."""
IN_PAPER = {"pointnet2-cls": "PointNet++(c)", "pointnet2-seg": "PointNet++(s)", "dgcnn-cls": "DGCNN",
            "minkunet-indoor": "MinkNet(i)", "minkunet-outdoor": "MinkNet(o)"}
"""Our networks that are among the paper's 8 benchmarks (its name for each)."""
GPU_CATEGORIES = ("mapping", "gather_scatter", "gemm", "elementwise")
"""Phase labels of the GPU device: mapping kernels, gather/scatter kernels, GEMMs (MACs), other."""


@dataclass(frozen=True)
class Case:
    """One network of the study and how to build it at a scale."""

    name: str
    build: Callable[[np.random.Generator], wls.PointCloudWorkload]


def cases(scale: str) -> list[Case]:
    """The study's networks at 'full' scale (the paper's input sizes) or 'small' (for tests)."""
    if scale not in ("full", "small"):
        raise SpecError(f"scale must be 'full' or 'small' (got {scale!r})")
    if scale == "full":
        return [Case(name, lambda rng, f=f: f(rng=rng)) for name, f in wls.BUILDERS.items()]

    def sweep(rng):
        return ps.lidar_sweep(rng, n_beams=16, n_azimuth=512)

    return [
        Case("pointnet2-cls", lambda rng: wls.pointnet2_cls(ps.object_points(rng, 512))),
        Case("pointnet2-seg", lambda rng: wls.pointnet2_seg(
            ps.room_block(rng, ps.indoor_room(rng, 20_000), 1024))),
        Case("dgcnn-cls", lambda rng: wls.dgcnn_cls(ps.object_points(rng, 256), k=10)),
        Case("minkunet-indoor", lambda rng: wls.minkunet(
            ps.indoor_room(rng, 8_000, size_m=(3.0, 3.0, 2.5)), scene="indoor", voxel_size_m=0.05)),
        Case("minkunet-outdoor", lambda rng: wls.minkunet(sweep(rng), scene="outdoor")),
        Case("pointpillars", lambda rng: wls.pointpillars(sweep(rng))),
    ]


@dataclass(frozen=True, kw_only=True)
class Row:
    """Results of one network (units in the field names)."""

    network: str
    paper_name: str
    n_points: int
    n_ops: int
    gmacs: float
    accel_latency_ms: float
    gpu_latency_ms: float
    speedup_x: float
    accel_energy_mj: float
    gpu_energy_mj: float
    energy_saving_x: float
    accel_energy_table_dram_mj: float
    """Accelerator energy with the shared table's DRAM figure instead of the preset's."""
    energy_saving_table_dram_x: float
    gpu_ms: dict
    """GPU kernel time by category (GPU_CATEGORIES), ms."""
    accel_busy_ms: dict
    """Accelerator engine busy time (mapping, mmu, matrix), ms."""
    accel_energy_by_component_mj: dict
    """Accelerator energy by component, mJ."""
    cache_hit_ratio: float
    """Gather/scatter cache hit ratio over all the workload's index streams (rows weighted)."""

    @property
    def accel_power_w(self) -> float:
        """Accelerator average power over its run (energy / latency)."""
        return self.accel_energy_mj / self.accel_latency_ms

    @property
    def gpu_power_w(self) -> float:
        """GPU average board power over its run (energy / latency)."""
        return self.gpu_energy_mj / self.gpu_latency_ms

    @property
    def power_ratio(self) -> float:
        """GPU average power over the accelerator's: energy_saving_x / speedup_x."""
        return self.gpu_power_w / self.accel_power_w


def geomean(values: Sequence[float]) -> float:
    values = [v for v in values if v > 0]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def run_case(case: Case, accel_spec: PointAccSpec, gpu: Device, seed: int) -> Row:
    """Build one workload from a seeded point set and simulate it on both devices."""
    rng = np.random.default_rng(seed)
    workload = case.build(rng)
    net = workload.network
    accel = PointAccDevice.for_workload(workload, accel_spec)
    acc = simulate(net, accel, seed=seed)
    table_dram = override(accel_spec, {"memory.dram_pj_per_byte": None}, where="table DRAM")
    acc_table = simulate(net, dataclasses.replace(accel, spec=table_dram), seed=seed)
    gpu_report = simulate(net, gpu, seed=seed)
    gpu_ms = {c: 0.0 for c in GPU_CATEGORIES}
    for op in gpu_report.ops:
        for _, label, start, end in op.phases:
            key = label if label in gpu_ms else "elementwise"
            gpu_ms[key] += (end - start) * 1e3
    busy = {e.name: 0.0 for e in accel.engines}
    for op in acc.ops:
        for engine, _, start, end in op.phases:
            busy[engine] += (end - start) * 1e3
    streams = list(accel.plan.streams.values()) + [p.gather for p in accel.plan.sparse_convs.values()]
    lookups = sum(t.n_accesses * t.blocks_per_access for t in streams)
    hits = sum(t.n_accesses * t.blocks_per_access - t.n_misses for t in streams)
    return Row(
        network=case.name,
        paper_name=IN_PAPER.get(case.name, ""),
        n_points=int(workload.stats.get("points", 0)),
        n_ops=len(net),
        gmacs=net.macs / 1e9,
        accel_latency_ms=acc.latency_s * 1e3,
        gpu_latency_ms=gpu_report.latency_s * 1e3,
        speedup_x=gpu_report.latency_s / acc.latency_s,
        accel_energy_mj=acc.energy_j * 1e3,
        gpu_energy_mj=gpu_report.energy_j * 1e3,
        energy_saving_x=gpu_report.energy_j / acc.energy_j,
        accel_energy_table_dram_mj=acc_table.energy_j * 1e3,
        energy_saving_table_dram_x=gpu_report.energy_j / acc_table.energy_j,
        gpu_ms=gpu_ms,
        accel_busy_ms=busy,
        accel_energy_by_component_mj={k.value: v * 1e3 for k, v in acc.energy_by_component_j.items()},
        cache_hit_ratio=hits / lookups if lookups else float("nan"),
    )


@dataclass(frozen=True, kw_only=True)
class StudyResult:
    rows: tuple[Row, ...]
    accel: str
    gpu: str
    scale: str
    seed: int
    metadata: dict

    def paper_rows(self) -> list[Row]:
        return [r for r in self.rows if r.paper_name]

    @property
    def geomean_speedup_x(self) -> float:
        return geomean([r.speedup_x for r in self.paper_rows()])

    @property
    def geomean_energy_saving_x(self) -> float:
        return geomean([r.energy_saving_x for r in self.paper_rows()])

    @property
    def geomean_energy_saving_table_dram_x(self) -> float:
        return geomean([r.energy_saving_table_dram_x for r in self.paper_rows()])

    @property
    def geomean_power_ratio(self) -> float:
        return geomean([r.power_ratio for r in self.paper_rows()])

    @property
    def geomean_gpu_power_w(self) -> float:
        return geomean([r.gpu_power_w for r in self.paper_rows()])

    @property
    def geomean_accel_power_w(self) -> float:
        return geomean([r.accel_power_w for r in self.paper_rows()])


def run_study(gpu: Device, *, accel_spec: PointAccSpec | None = None, scale: str = "full",
              seed: int = 0, only: Sequence[str] | None = None) -> StudyResult:
    """Simulate every case on the accelerator and on `gpu`; `only` restricts to some networks."""
    spec = accel_spec or FAMILY.spec("pointacc")
    chosen = cases(scale)
    if only:
        unknown = sorted(set(only) - {c.name for c in chosen})
        if unknown:
            raise SpecError(f"unknown network(s) {unknown}; choose from {[c.name for c in chosen]}")
        chosen = [c for c in chosen if c.name in only]
    rows = tuple(run_case(c, spec, gpu, seed) for c in chosen)
    try:
        version = metadata.version("edgesim")
    except metadata.PackageNotFoundError:
        version = "unknown"
    meta = {
        "seed": seed, "scale": scale, "edgesim_version": version,
        "accel_spec_sha256": hashlib.sha256(repr(spec).encode()).hexdigest()[:16],
        "gpu_spec_sha256": hashlib.sha256(repr(getattr(gpu, "spec", gpu.name)).encode()).hexdigest()[:16],
    }
    return StudyResult(rows=rows, accel=spec.name, gpu=gpu.name, scale=scale, seed=seed, metadata=meta)


# --- output ----------------------------------------------------------------------------------


def _fmt(x: float, digits: int = 4) -> str:
    return f"{x:.{digits}g}"


def write_study(result: StudyResult, out: str | Path, *, plots: bool = True) -> list[Path]:
    """Write the tables, plots and README of `result` into `out`; return the paths written."""
    out = output_dir(out)
    main_cols = ["network", "paper_name", "n_points", "n_ops", "gmacs", "accel_latency_ms",
                 "gpu_latency_ms", "speedup_x", "accel_energy_mj", "gpu_energy_mj", "energy_saving_x",
                 "accel_energy_table_dram_mj", "energy_saving_table_dram_x", "cache_hit_ratio",
                 "accel_power_w", "gpu_power_w", "power_ratio"]
    main_rows = [{c: getattr(r, c) if isinstance(getattr(r, c), str) else _fmt(getattr(r, c), 6)
                  for c in main_cols} for r in result.rows]
    main_rows.append({"network": "geomean (paper's networks)",
                      "speedup_x": _fmt(result.geomean_speedup_x, 6),
                      "energy_saving_x": _fmt(result.geomean_energy_saving_x, 6),
                      "energy_saving_table_dram_x": _fmt(result.geomean_energy_saving_table_dram_x, 6),
                      "accel_power_w": _fmt(result.geomean_accel_power_w, 6),
                      "gpu_power_w": _fmt(result.geomean_gpu_power_w, 6),
                      "power_ratio": _fmt(result.geomean_power_ratio, 6)})
    gpu_rows = []
    for r in result.rows:
        total = sum(r.gpu_ms.values()) or 1.0
        gpu_rows.append({"network": r.network,
                         **{f"{c}_ms": _fmt(r.gpu_ms[c], 6) for c in GPU_CATEGORIES},
                         **{f"{c}_ratio": _fmt(r.gpu_ms[c] / total, 4) for c in GPU_CATEGORIES}})
    components = sorted({k for r in result.rows for k in r.accel_energy_by_component_mj})
    engines = sorted({k for r in result.rows for k in r.accel_busy_ms})
    accel_rows = [{"network": r.network,
                   **{f"{e}_busy_ms": _fmt(r.accel_busy_ms.get(e, 0.0), 6) for e in engines},
                   **{f"{c}_energy_mj": _fmt(r.accel_energy_by_component_mj.get(c, 0.0), 6)
                      for c in components}} for r in result.rows]
    written = [write_csv(out / "speedup_energy.csv", main_rows, main_cols),
               write_csv(out / "gpu_breakdown.csv", gpu_rows),
               write_csv(out / "accel_breakdown.csv", accel_rows)]
    summary = {
        "paper": PAPER,
        "paper_speedup_x": PAPER_SPEEDUP_X,
        "paper_energy_saving_x": PAPER_ENERGY_SAVING_X,
        "networks_in_geomean": [r.network for r in result.paper_rows()],
        "geomean_speedup_x": result.geomean_speedup_x,
        "geomean_energy_saving_x": result.geomean_energy_saving_x,
        "geomean_energy_saving_table_dram_x": result.geomean_energy_saving_table_dram_x,
        "speedup_error_ratio": result.geomean_speedup_x / PAPER_SPEEDUP_X - 1,
        "energy_saving_error_ratio": result.geomean_energy_saving_x / PAPER_ENERGY_SAVING_X - 1,
        "paper_power_ratio": PAPER_POWER_RATIO,
        "geomean_power_ratio": result.geomean_power_ratio,
        "geomean_accel_power_w": result.geomean_accel_power_w,
        "geomean_gpu_power_w": result.geomean_gpu_power_w,
        "implied_accel_power_w": {"at_simulated_gpu_power": result.geomean_gpu_power_w / PAPER_POWER_RATIO,
                                  "at_board_power": RTX2080TI_BOARD_POWER_W / PAPER_POWER_RATIO},
        "accelerator": result.accel,
        "gpu": result.gpu,
        "metadata": result.metadata,
        "rows": [dataclasses.asdict(r) for r in result.rows],
    }
    written.append(write_json(out / "summary.json", summary))
    if plots:
        written += _plots(result, out)
    written.append(write_atomic(out / "README.md", _readme(result)))
    return written


def _plots(result: StudyResult, out: Path) -> list[Path]:
    plt = pyplot()
    if plt is None:
        print(NO_PLOTS, file=sys.stderr)
        return []
    names = [r.network for r in result.rows] + ["geomean*"]
    x = np.arange(len(names))
    paths = []
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, attr, geo, paper, title in (
        (axes[0], "speedup_x", result.geomean_speedup_x, PAPER_SPEEDUP_X, "Speedup over RTX 2080 Ti"),
        (axes[1], "energy_saving_x", result.geomean_energy_saving_x, PAPER_ENERGY_SAVING_X,
         "Energy saving over RTX 2080 Ti"),
    ):
        vals = [getattr(r, attr) for r in result.rows] + [geo]
        colors = ["tab:blue" if r.paper_name else "tab:gray" for r in result.rows] + ["tab:orange"]
        ax.bar(x, vals, color=colors)
        ax.axhline(paper, color="tab:red", linestyle="--", label=f"paper geomean {paper:g}x")
        if attr == "energy_saving_x":
            table = [r.energy_saving_table_dram_x for r in result.rows] + [result.geomean_energy_saving_table_dram_x]
            ax.scatter(x, table, color="black", marker="_", s=200, zorder=3,
                       label="with the shared table's DRAM energy")
            ax.set_yscale("log")
            ax.set_ylim(top=max(vals) * 4)  # room for the legend above the bars
        else:
            ax.set_ylim(top=max(vals) * 1.3)
        for xi, v in zip(x, vals):
            ax.annotate(f"{v:.3g}", (xi, v), ha="center", va="bottom", fontsize=8)
        ax.set_xticks(x, names, rotation=30, ha="right")
        ax.set_ylabel("x (higher is better)")
        ax.set_title(title)
        ax.legend(fontsize=8, loc="upper left")
    fig.text(0.01, 0.01, "* geomean over the networks in the paper's set (blue); gray: not in the paper",
             fontsize=8)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    path = out / "speedup_energy.png"
    save_figure(fig, path, dpi=120)
    plt.close(fig)
    paths.append(path)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    bottom = np.zeros(len(result.rows))
    labels = {"mapping": "mapping", "gather_scatter": "gather/scatter", "gemm": "MACs (GEMM)",
              "elementwise": "other kernels"}
    for c in GPU_CATEGORIES:
        frac = np.array([r.gpu_ms[c] / (sum(r.gpu_ms.values()) or 1) for r in result.rows])
        ax.bar(np.arange(len(result.rows)), frac, bottom=bottom, label=labels[c])
        bottom += frac
    ax.set_xticks(np.arange(len(result.rows)), [r.network for r in result.rows], rotation=30, ha="right")
    ax.set_ylabel("fraction of GPU time")
    ax.set_title("Where the RTX 2080 Ti's time goes (launch overhead included per kernel)")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    path = out / "gpu_breakdown.png"
    save_figure(fig, path, dpi=120)
    plt.close(fig)
    paths.append(path)
    return paths


def gap_paragraphs(result: StudyResult) -> list[str]:
    """What sets the speedup and the energy saving, and what the paper's figures imply, from
    `result`'s numbers."""
    p_gpu, p_acc, ratio = result.geomean_gpu_power_w, result.geomean_accel_power_w, result.geomean_power_ratio
    sram = [r.accel_energy_by_component_mj.get(EnergyComponent.ON_CHIP, 0.0) / r.accel_energy_mj
            for r in result.paper_rows()]
    mac_w = 64 * 64 * 1e9 * sim_memory.mac_pj(16, node_nm=40) * 1e-12
    return [
        "What closes the energy gap, and what cannot. The speedup is set by the array (64x64 at "
        "1 GHz, weights double-buffered: an assumption) against the GPU's per-kernel launch costs "
        "and gather-GEMM-scatter. The energy saving is the speedup times the ratio of the two "
        f"average powers. The abstract's two figures imply that ratio: {PAPER_ENERGY_SAVING_X:g}x / "
        f"{PAPER_SPEEDUP_X}x = {PAPER_POWER_RATIO:.2f} (geometric means, over its 8 models). Here the "
        f"GPU model draws {p_gpu:.0f} W on average (55 W idle plus load-proportional power up to its "
        f"{RTX2080TI_BOARD_POWER_W:.0f} W board power, a model) and the accelerator {p_acc:.2f} W, a "
        f"ratio of {ratio:.1f} (geometric means over the paper's networks): {ratio / PAPER_POWER_RATIO:.1f}x "
        "the paper's, which is the whole of the energy gap. At the paper's ratio PointAcc would "
        f"draw {p_gpu / PAPER_POWER_RATIO:.0f} W beside our GPU power, or "
        f"{RTX2080TI_BOARD_POWER_W / PAPER_POWER_RATIO:.0f} W if the GPU drew its full board "
        "power: several times what a 64x64 16-bit array at 1 GHz and 40 nm spends by the Horowitz "
        f"table (its MACs, {sim_memory.mac_pj(16, node_nm=40):.2f} pJ each, draw {mac_w:.1f} W at full rate).",
        "",
        "The accelerator's power and the GPU's measured power that the paper reports could not be "
        "retrieved (the stored copies of arXiv 2110.07600 hold its abstract only), so the gap "
        "cannot be closed from the paper's own numbers yet. SRAM is already priced by each buffer's "
        "capacity (sim.memory, Horowitz ISSCC 2014 Fig. 1.1.9: a 64-bit access of the 128-256 kB "
        "buffers costs 34-47 pJ at 40 nm, not the 8.9 pJ of an 8 kB array); it is "
        f"{100 * min(sram):.0f}-{100 * max(sram):.0f} % of the accelerator's energy here. What would "
        "move the rest, in this model: the table's DRAM figure instead of HBM2's (the 'table DRAM' "
        f"column) gives {result.geomean_energy_saving_table_dram_x:.3g}x. Closing the rest needs "
        "the paper's power breakdown (clock tree, registers and control are not in the per-operation "
        "table). See accelerators/pointcloud/README.md for every assumption.",
        "",
    ]


def _readme(result: StudyResult) -> str:
    lines = [
        "# PointAcc-style accelerator vs RTX 2080 Ti on point-cloud networks",
        "",
        "Generated by `python -m accelerators.studies.pointcloud --out results/pointcloud` (or "
        "`edgesim pointcloud study --out results/pointcloud`). Nothing here is edited by hand.",
        "",
        f"Accelerator `{result.accel}` (accelerators/pointcloud/presets), GPU `{result.gpu}` "
        f"(devices/gpu_pointcloud/presets), scale `{result.scale}`, seed {result.seed}. Point sets "
        "are seeded synthetic ones (object, room, 64-beam lidar sweep); mapping runs on them and "
        "sizes every layer.",
        "",
        "| network | paper's name | points | GMACs | accel ms | GPU ms | speedup | accel mJ | GPU mJ "
        "| energy saving | saving, table DRAM | cache hit |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result.rows:
        lines.append(
            f"| {r.network} | {r.paper_name or '-'} | {r.n_points} | {r.gmacs:.3g} | {r.accel_latency_ms:.3g} "
            f"| {r.gpu_latency_ms:.3g} | {r.speedup_x:.2f}x | {r.accel_energy_mj:.3g} | {r.gpu_energy_mj:.3g} "
            f"| {r.energy_saving_x:.3g}x | {r.energy_saving_table_dram_x:.3g}x | {r.cache_hit_ratio:.2f} |"
        )
    sp, es = result.geomean_speedup_x, result.geomean_energy_saving_x
    lines += [
        "",
        f"**Geometric mean over the {len(result.paper_rows())} networks in the paper's set** "
        f"({', '.join(r.network for r in result.paper_rows())}): speedup **{sp:.2f}x** "
        f"(paper: {PAPER_SPEEDUP_X}x over its 8 models, {100 * (sp / PAPER_SPEEDUP_X - 1):+.0f} %), "
        f"energy saving **{es:.3g}x** (paper: {PAPER_ENERGY_SAVING_X:g}x, "
        f"{100 * (es / PAPER_ENERGY_SAVING_X - 1):+.0f} %); with the shared energy table's DRAM figure "
        f"(Horowitz, ~20 pJ/bit) instead of HBM2's 3.9 pJ/bit the saving is "
        f"{result.geomean_energy_saving_table_dram_x:.3g}x. Source of the paper's figures: {PAPER}.",
        "",
        "Where the GPU's time goes (kernel time including each kernel's launch overhead):",
        "",
        "| network | mapping | gather/scatter | MACs (GEMM) | other kernels |",
        "|---|---|---|---|---|",
    ]
    for r in result.rows:
        total = sum(r.gpu_ms.values()) or 1.0
        lines.append(f"| {r.network} | " + " | ".join(
            f"{100 * r.gpu_ms[c] / total:.0f} % ({r.gpu_ms[c]:.3g} ms)" for c in GPU_CATEGORIES) + " |")
    lines += [
        "",
        "Files: `speedup_energy.csv` (per network and geomean), `gpu_breakdown.csv`, "
        "`accel_breakdown.csv` (engine busy time, energy by component), `summary.json` (all of it, "
        "with run metadata), `speedup_energy.png`, `gpu_breakdown.png`.",
        "",
        *gap_paragraphs(result),
    ]
    return "\n".join(lines)


# --- command line ----------------------------------------------------------------------------


def resolve_device(name: str, registry: Registry | None = None) -> Device:
    """The baseline device registered as `name` (UnknownNameError with a suggestion if none)."""
    return (registry or Registry.from_entry_points()).device(name)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Every argument of the study (`python -m` and `edgesim pointcloud study` alike)."""
    add_common_arguments(p, out_example="results/pointcloud", small=False, plots=True)
    add_options(p)


def add_options(p: argparse.ArgumentParser) -> None:
    """The study's own arguments, beside the common --out, --seed and --no-plots."""
    p.add_argument("--gpu", default="gpu-rtx2080ti",
                   help="baseline GPU: a registered device name (default gpu-rtx2080ti)")
    add_device_args(p, required=False)
    p.add_argument("--accelerator", dest="device", metavar="NAME|FILE",
                   help="the accelerator, as --device: a registered pointcloud device or a device "
                        "file (default pointacc)")
    p.add_argument("--scale", choices=["full", "small"], default="full",
                   help="full: the paper's input sizes; small: a quick run")
    p.add_argument("--only", action="append", metavar="NETWORK", help="run only these networks")


def _run(staging: Path, args: argparse.Namespace,
         registry: Registry | None = None) -> tuple[StudyResult, list[Path]]:
    registry = registry or Registry.from_entry_points()
    gpu = resolve_device(args.gpu, registry)
    args.device = args.device or "pointacc"
    spec = getattr(device_from_args(registry, args), "spec", None)
    if not isinstance(spec, PointAccSpec):
        raise SpecError(f"--device {args.device!r} is not a pointcloud accelerator (its spec is "
                        f"{type(spec).__name__}); use pointacc, pointacc-edge or a pointcloud file")
    result = run_study(gpu, accel_spec=spec, scale=args.scale, seed=args.seed, only=args.only)
    paths = write_study(result, staging, plots=not args.no_plots)
    return result, [Path(path).relative_to(staging) for path in paths]


def _report(done: tuple[StudyResult, list[Path]], args: argparse.Namespace) -> list[str]:
    result, names = done
    return [*(f"wrote {Path(args.out) / name}" for name in names),
            f"geomean speedup {result.geomean_speedup_x:.2f}x (paper {PAPER_SPEEDUP_X}x), "
            f"energy saving {result.geomean_energy_saving_x:.3g}x (paper {PAPER_ENERGY_SAVING_X:g}x)"]


def run_from_args(args: argparse.Namespace, registry: Registry | None = None) -> int:
    """`edgesim pointcloud study`: the study into `args.out`, whole or not at all; exit status."""
    return land_study(args.out, lambda staging: _run(staging, args, registry),
                      lambda done: _report(done, args))


def register_command(subparsers) -> None:
    """`edgesim pointcloud`: the family's own sub-commands (`accelerators.pointcloud.cli`) and
    `study`, this study (the entry point of `pointcloud` in `edgesim.commands`)."""
    commands = pointcloud_cli.register(subparsers)
    s = commands.add_parser("study", help="PointAcc-style accelerator vs RTX 2080 Ti, tables and plots")
    add_arguments(s)
    s.set_defaults(handler=run_from_args)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m accelerators.studies.pointcloud --out DIR [options]`: exit status."""
    return study_main(argv, _run, prog="python -m accelerators.studies.pointcloud",
                      description=__doc__.split("\n")[0], out_example="results/pointcloud",
                      small=False, plots=True, add_options=add_options, report=_report)


if __name__ == "__main__":
    sys.exit(main())
