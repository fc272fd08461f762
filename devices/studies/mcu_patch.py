"""The `results/mcu_patch` study: layer-by-layer vs patch-based peak SRAM on microcontrollers.

    python -m devices.studies.mcu_patch --out results/mcu_patch

For MobileNetV2 (several widths and resolutions) and MCUNet-style models it writes
`peaks.csv` (peak SRAM layer by layer and with the best patch schedule, MAC and latency
overhead), `curves.csv` (per-layer SRAM of both schedules), `latency.csv` (modelled latency,
energy, peak SRAM and flash on every preset beside published measurements), `published.json`
(every published figure compared, with its source and error), PNG plots (if matplotlib is
installed) and the README, whose numbers all come from those tables. `--small` runs a reduced
version (for the test suite).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np

from devices.mcu.device import FAMILY, McuDevice
from devices.mcu.memory import plan
from devices.mcu.patch import patch_curve, patch_plan
from devices.mcu.spec import KB
from sim import simulate
from sim.export import write_atomic
from sim.study import study_main
from sim.tables import NO_PLOTS, output_dir, pyplot, save_figure, write_csv, write_json
from workloads import EdgesimError, Network
from workloads.zoo import mcunet, mobilenetv2


def mbv2_mcunet_baseline(width: float = 0.35, resolution: int = 144) -> Network:
    """MCUNet's MobileNetV2 baseline ("mbv2-320kB", w0.35 at 144x144): the head scaled by width
    (448 channels), which gives the 23.5 M MACs and 0.75 M parameters the mcunet README lists."""
    return dataclasses.replace(
        mobilenetv2(width=width, resolution=resolution, scale_head=True),
        name=f"mbv2-w{width:g}-r{resolution}-mcunet",
    )


def models(small: bool) -> dict[str, Network]:
    """The networks of the study, by label."""
    if small:
        return {"mbv2-w0.35-r96": mobilenetv2(width=0.35, resolution=96),
                "mcunet-in2": mcunet()}
    nets = {}
    for width, res in ((1.0, 224), (1.0, 160), (0.75, 224), (0.5, 224), (0.5, 160),
                       (0.35, 224), (0.35, 144)):
        nets[f"mbv2-w{width:g}-r{res}"] = mobilenetv2(width=width, resolution=res)
    nets["mbv2-w0.35-r144-mcunet"] = mbv2_mcunet_baseline()
    nets["mcunet-in2"] = mcunet()
    nets["mcunet-in2-r224"] = mcunet(resolution=224)
    return nets


# Published figures (all kB = 1024 B; latencies in ms).
PUBLISHED = {
    "mbv2_layer_peak_kB": (1372.0, "MCUNetV2 (arXiv 2110.15352) Fig. 1 / Sec. 2: MobileNetV2 "
                           "x1.0 224 int8 layer-by-layer peak, 112x112x(16+96) B"),
    "mbv2_first_conv_kB": (539.0, "MCUNetV2 Sec. 2: first conv input + output, 224^2x3 + 112^2x32 B"),
    "mbv2_patch_peak_kB": (172.0, "MCUNetV2 Fig. 1 (also its authors' summaries): 4x4 patches cut "
                           "MobileNetV2's peak 1372 kB -> 172 kB (8x)"),
    "patch_mac_overhead_range": ((0.10, 0.17), "MCUNetV2 Sec. 3.1: naive patch-based inference "
                                 "adds 10-17 % computation on existing networks"),
    "patch_reduction_range": ((4.0, 8.0), "MCUNetV2 abstract: patch-based inference cuts the "
                              "peak memory of existing networks 4-8x"),
    "h743_mcunet_in2_ms": (280.0, "TinyEngine README, Measured Results, STM32H743, TinyEngine "
                           "@0363956: mcunet-in2 latency (calibration point)"),
    "h743_mbv2_w035_ms": (124.0, "TinyEngine README, Measured Results, STM32H743: mbv2-w0.35 "
                          "latency (validation point)"),
    "h743_mcunet_in2_sram_kB": (215.0, "TinyEngine README, Measured Results, STM32H743: "
                                "mcunet-in2 peak SRAM"),
    "h743_mbv2_w035_sram_kB": (295.0, "TinyEngine README, Measured Results, STM32H743: "
                               "mbv2-w0.35 peak SRAM"),
    "h743_mcunet_in2_flash_kB": (830.0, "TinyEngine README, Measured Results, STM32H743: "
                                 "mcunet-in2 flash"),
    "f746_mcunet_in2_sram_kB": (242.0, "mcunet README model zoo (TinyEngine on STM32F746): "
                                "mcunet-256kB SRAM"),
    "f746_mcunet_in2_flash_kB": (878.0, "mcunet README model zoo: mcunet-256kB flash"),
    "f746_mbv2_w035_sram_kB": (308.0, "mcunet README model zoo: mbv2-320kB SRAM"),
    "f746_mbv2_w035_flash_kB": (862.0, "mcunet README model zoo: mbv2-320kB flash"),
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class PeakRow:
    """One network's SRAM peaks on the stm32f746 preset (a row of peaks.csv), kB = 1024 B:
    layer by layer, with the planner's best patch schedule (`patch_split_op` None and `patch_n`
    0 when no schedule helps), and with the 4x4 schedule of MCUNetV2's figures (None when the
    network has none)."""

    model: str
    macs_M: float
    layer_peak_kB: float
    layer_peak_activation_kB: float
    layer_peak_op: str
    patch_split_op: str | None
    patch_n: int
    patch_peak_kB: float
    patch_peak_activation_kB: float
    peak_reduction_x: float
    mac_overhead_ratio: float
    latency_overhead_ratio: float
    paper_4x4_split_op: str | None
    paper_4x4_peak_activation_kB: float | None
    paper_4x4_reduction_x: float | None
    paper_4x4_mac_overhead_ratio: float | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class CurveRow:
    """SRAM in use after one op of the deployed graph (a row of curves.csv), kB, under both
    schedules: everything (scratch and reserve included) and activations only."""

    model: str
    op_index: int
    op: str
    layer_total_kB: float
    patch_total_kB: float
    layer_activation_kB: float
    patch_activation_kB: float


@dataclasses.dataclass(frozen=True, kw_only=True)
class LatencyRow:
    """One network on one MCU preset (a row of latency.csv): simulated latency and energy of the
    fused int8 graph (NaN, with the reason in `note`, when it cannot run), and its SRAM peak,
    flash and whether it fits."""

    device: str
    model: str
    latency_ms: float
    energy_mJ: float
    peak_sram_kB: float
    flash_kB: float
    fits: bool
    note: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class FigureComparison:
    """A modelled figure beside the published one (`PUBLISHED[figure]`): a point, compared by
    its error ratio, or a range (low, high) the model must fall within."""

    figure: str
    published: float | tuple[float, float]
    model: float
    unit: str
    source: str

    @property
    def is_range(self) -> bool:
        return isinstance(self.published, tuple)

    @property
    def within_range(self) -> bool:
        """Whether a range figure holds the model's value (ranges only)."""
        low, high = self.published
        return low <= self.model <= high

    @property
    def error_ratio(self) -> float:
        """model / published - 1, to 4 decimals (point figures only)."""
        return round(self.model / self.published - 1.0, 4)

    def as_json(self) -> dict:
        """The entry of published.json's `comparisons`."""
        if self.is_range:
            return {"figure": self.figure, "published": list(self.published), "model": self.model,
                    "unit": self.unit, "within_range": self.within_range, "source": self.source}
        return {"figure": self.figure, "published": self.published, "model": self.model,
                "unit": self.unit, "error_ratio": self.error_ratio, "source": self.source}


@dataclasses.dataclass(frozen=True)
class PatchStudy:
    """What the study wrote: the peaks, the latencies and the published-figure comparisons."""

    peaks: tuple[PeakRow, ...]
    latency: tuple[LatencyRow, ...]
    comparisons: tuple[FigureComparison, ...]
    small: bool


def _write_rows(path: Path, rows, row_type) -> None:
    write_csv(path, [dataclasses.asdict(r) for r in rows],
              [f.name for f in dataclasses.fields(row_type)])


def run(out: Path, *, small: bool = False, plots: bool = True,
        max_latency_overhead: float = 0.3) -> PatchStudy:
    """Run the study into `out` (tables, published.json, plots, README); return its rows."""
    out = output_dir(out)
    spec = FAMILY.spec("stm32f746")
    nets = models(small)
    peak_rows, curve_rows, curves = [], [], {}
    for label, net in nets.items():
        pp = patch_plan(net, spec, max_latency_overhead=max_latency_overhead)
        layer = pp.layer_plan
        # The schedule with the lowest activation peak at the paper's 4x4 (for the comparison).
        four = [c for c in pp.candidates if c.n_patches == 4]
        paper = min(four, key=lambda c: (c.peak_activation_bytes, c.mac_overhead_ratio)) if four else None
        b = pp.best
        peak_rows.append(PeakRow(
            model=label, macs_M=round(net.macs / 1e6, 3),
            layer_peak_kB=round(layer.peak_bytes / KB, 2),
            layer_peak_activation_kB=round(layer.peak_activation_bytes / KB, 2),
            layer_peak_op=layer.peak_op,
            patch_split_op=b.split_op if b else None, patch_n=b.n_patches if b else 0,
            patch_peak_kB=round(pp.peak_bytes / KB, 2),
            patch_peak_activation_kB=round(
                (b.peak_activation_bytes if b else layer.peak_activation_bytes) / KB, 2),
            peak_reduction_x=round(pp.peak_reduction, 3),
            mac_overhead_ratio=round(b.mac_overhead_ratio if b else 0.0, 4),
            latency_overhead_ratio=round(b.latency_overhead_ratio if b else 0.0, 4),
            paper_4x4_split_op=paper.split_op if paper else None,
            paper_4x4_peak_activation_kB=round(paper.peak_activation_bytes / KB, 2) if paper else None,
            paper_4x4_reduction_x=(round(layer.peak_activation_bytes / paper.peak_activation_bytes, 3)
                                   if paper else None),
            paper_4x4_mac_overhead_ratio=round(paper.mac_overhead_ratio, 4) if paper else None,
        ))
        if b is not None:
            curve = patch_curve(net, spec, b.split_op, b.n_patches)
            curves[label] = (layer.curve_bytes(), curve.total_bytes, b)
            for i, r in enumerate(layer.rows):
                curve_rows.append(CurveRow(
                    model=label, op_index=i, op=r.name, layer_total_kB=round(r.total_bytes / KB, 3),
                    patch_total_kB=round(curve.total_bytes[i] / KB, 3),
                    layer_activation_kB=round(r.activation_bytes / KB, 3),
                    patch_activation_kB=round(curve.activation_bytes[i] / KB, 3)))
    _write_rows(out / "peaks.csv", peak_rows, PeakRow)
    _write_rows(out / "curves.csv", curve_rows, CurveRow)

    latency_rows = []
    lat_nets = {"mcunet-in2": mcunet(), "mbv2-w0.35-r144-mcunet": mbv2_mcunet_baseline()}
    for dev_name in FAMILY.preset_names():
        device = McuDevice(FAMILY.spec(dev_name))
        for label, net in lat_nets.items():
            mem = plan(net, device.spec)
            try:
                # The deployed graph: batch norm and ReLU folded into the convs (TF-Lite).
                report = simulate(net.fused(), device)
                lat_ms, energy_mj = report.latency_s * 1e3, report.energy_j * 1e3
                note = ""
            except EdgesimError as err:
                lat_ms = energy_mj = float("nan")
                note = str(err).split(";")[0]
            latency_rows.append(LatencyRow(
                device=dev_name, model=label, latency_ms=round(lat_ms, 2),
                energy_mJ=round(energy_mj, 3), peak_sram_kB=round(mem.peak_bytes / KB, 2),
                flash_kB=round(mem.flash_bytes / KB, 2), fits=mem.fits, note=note))
    _write_rows(out / "latency.csv", latency_rows, LatencyRow)

    comparisons = _compare(peak_rows, latency_rows)
    write_json(out / "published.json", {"small": small, "device_for_peaks": "stm32f746",
                                        "comparisons": [c.as_json() for c in comparisons]})
    if plots:
        _plot(out, curves)
    _readme(out, comparisons, peak_rows, latency_rows, max_latency_overhead)
    return PatchStudy(tuple(peak_rows), tuple(latency_rows), tuple(comparisons), small)


def _compare(peak_rows: list[PeakRow], latency_rows: list[LatencyRow]) -> list[FigureComparison]:
    lat = {(r.device, r.model): r for r in latency_rows}
    peaks = {r.model: r for r in peak_rows}
    rows = []

    def add(key, model_value, unit):
        ref, source = PUBLISHED[key]
        rows.append(FigureComparison(figure=key, published=ref, model=model_value, unit=unit,
                                     source=source))

    if "mbv2-w1-r224" in peaks:
        full = mobilenetv2()
        mem = plan(full, FAMILY.spec("stm32f746"))
        add("mbv2_layer_peak_kB", mem.peak_activation_bytes / KB, "kB")
        add("mbv2_first_conv_kB", mem.rows[0].activation_bytes / KB, "kB")
        r = peaks["mbv2-w1-r224"]
        add("mbv2_patch_peak_kB", r.paper_4x4_peak_activation_kB, "kB")
        add("patch_mac_overhead_range", r.paper_4x4_mac_overhead_ratio, "ratio")
        add("patch_reduction_range", r.paper_4x4_reduction_x, "x")
    for dev, model, key_lat, key_sram, key_flash in (
            ("stm32h743", "mcunet-in2", "h743_mcunet_in2_ms", "h743_mcunet_in2_sram_kB",
             "h743_mcunet_in2_flash_kB"),
            ("stm32h743", "mbv2-w0.35-r144-mcunet", "h743_mbv2_w035_ms", "h743_mbv2_w035_sram_kB",
             None),
            ("stm32f746", "mcunet-in2", None, "f746_mcunet_in2_sram_kB", "f746_mcunet_in2_flash_kB"),
            ("stm32f746", "mbv2-w0.35-r144-mcunet", None, "f746_mbv2_w035_sram_kB",
             "f746_mbv2_w035_flash_kB")):
        r = lat[(dev, model)]
        if key_lat:
            add(key_lat, r.latency_ms, "ms")
        add(key_sram, r.peak_sram_kB, "kB")
        if key_flash:
            add(key_flash, r.flash_kB, "kB")
    return rows


def _plot(out: Path, curves) -> None:
    plt = pyplot()
    if plt is None:
        print(NO_PLOTS, file=sys.stderr)
        return
    for label, (layer, patch, best) in curves.items():
        fig, ax = plt.subplots(figsize=(9, 4.2))
        x = np.arange(len(layer))
        ax.plot(x, layer / KB, label=f"layer by layer (peak {layer.max() / KB:.0f} kB)", lw=1.8)
        ax.plot(x, patch / KB, label=f"patch-based {best.n_patches}x{best.n_patches}, split after "
                f"op {best.split_index} (peak {patch.max() / KB:.0f} kB)", lw=1.8)
        ax.axvspan(-0.5, best.split_index + 0.5, color="tab:orange", alpha=0.08,
                   label="patch-based stage")
        ax.axhline(320, color="gray", ls="--", lw=1, label="STM32F746 SRAM (320 kB)")
        ax.set_yscale("log")
        ax.set_xlabel("op index (deployed graph, execution order)")
        ax.set_ylabel("SRAM incl. scratch + reserve (kB, log)")
        ax.set_title(f"{label}: per-layer SRAM, int8, STM32F746 "
                     f"(+{best.mac_overhead_ratio:.1%} MACs)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3, which="both")
        fig.tight_layout()
        save_figure(fig, out / f"curve_{label}.png", dpi=110)
        plt.close(fig)


def _readme(out: Path, comparisons: list[FigureComparison], peak_rows: list[PeakRow],
            latency_rows: list[LatencyRow], budget: float) -> None:
    lines = [
        "# mcu_patch: layer-by-layer vs patch-based peak SRAM on microcontrollers",
        "",
        "Generated by `python -m devices.studies.mcu_patch --out results/mcu_patch` (do not edit by hand).",
        "Every number below is read from the tables in this folder.",
        "",
        "Memory accounting: int8 activations of the deployed graph (BN, ReLU6 and the residual add",
        "fused into the convs); live tensors over the execution order with TinyEngine's in-place",
        "depthwise; *activation* columns count only those (MCUNetV2's convention), *peak* columns",
        "add CMSIS-NN im2col scratch and the preset's runtime reserve. Patch schedules stream the",
        "input image patch by patch. kB = 1024 B. Device for the peaks: stm32f746 preset.",
        f"Planner latency budget: +{budget:.0%}.",
        "",
        "## Peaks (peaks.csv)",
        "",
        "| model | MMACs | layer peak kB | patch peak kB | reduction | split, n | MAC overhead | latency overhead |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in peak_rows:
        lines.append(f"| {r.model} | {r.macs_M} | {r.layer_peak_kB} | {r.patch_peak_kB} | "
                     f"{r.peak_reduction_x}x | {r.patch_split_op or ''}, {r.patch_n}x{r.patch_n} | "
                     f"{r.mac_overhead_ratio:.1%} | {r.latency_overhead_ratio:.1%} |")
    lines += ["", "## Published figures (published.json)", "",
              "| figure | published | model | error / within | source |", "|---|---|---|---|---|"]
    for c in comparisons:
        err = ("within" if c.within_range else "outside") if c.is_range else f"{c.error_ratio:+.1%}"
        published = list(c.published) if c.is_range else c.published
        lines.append(f"| {c.figure} | {published} {c.unit} | {round(float(c.model), 3)} | {err} | "
                     f"{c.source} |")
    lines += ["", "## Latency, energy, fit on every preset (latency.csv)", "",
              "| device | model | latency ms | energy mJ | peak SRAM kB | flash kB | fits |",
              "|---|---|---|---|---|---|---|"]
    for r in latency_rows:
        lines.append(f"| {r.device} | {r.model} | {r.latency_ms} | {r.energy_mJ} | "
                     f"{r.peak_sram_kB} | {r.flash_kB} | {r.fits} |")
    lines += ["", "Plots: `curve_<model>.png` (per-layer SRAM, both schedules, log scale).", ""]
    write_atomic(out / "README.md", "\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    """`python -m devices.studies.mcu_patch --out DIR [--small] [--no-plots]`: exit status."""
    return study_main(argv, lambda out, args: run(out, small=args.small, plots=not args.no_plots),
                      prog="python -m devices.studies.mcu_patch", description=__doc__.splitlines()[0],
                      out_example="results/mcu_patch", seed=False, plots=True,
                      small_help="a reduced run (tests)")


if __name__ == "__main__":
    sys.exit(main())
