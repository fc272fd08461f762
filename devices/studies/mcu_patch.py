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
from devices.mcu.spec import KB, PRESET_NAMES
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


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    write_csv(path, [dict(zip(header, r)) for r in rows], header)


def run(out: Path, *, small: bool = False, plots: bool = True,
        max_latency_overhead: float = 0.3) -> dict:
    """Run the study into `out`; return the summary dict written to published.json."""
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
        peak_rows.append([
            label, round(net.macs / 1e6, 3), round(layer.peak_bytes / KB, 2),
            round(layer.peak_activation_bytes / KB, 2), layer.peak_op,
            b.split_op if b else "", b.n_patches if b else 0,
            round(pp.peak_bytes / KB, 2),
            round((b.peak_activation_bytes if b else layer.peak_activation_bytes) / KB, 2),
            round(pp.peak_reduction, 3),
            round(b.mac_overhead_ratio if b else 0.0, 4),
            round(b.latency_overhead_ratio if b else 0.0, 4),
            paper.split_op if paper else "",
            round(paper.peak_activation_bytes / KB, 2) if paper else "",
            round(layer.peak_activation_bytes / paper.peak_activation_bytes, 3) if paper else "",
            round(paper.mac_overhead_ratio, 4) if paper else "",
        ])
        if b is not None:
            curve = patch_curve(net, spec, b.split_op, b.n_patches)
            curves[label] = (layer.curve_bytes(), curve.total_bytes, b)
            for i, r in enumerate(layer.rows):
                curve_rows.append([label, i, r.name, round(r.total_bytes / KB, 3),
                                   round(curve.total_bytes[i] / KB, 3),
                                   round(r.activation_bytes / KB, 3),
                                   round(curve.activation_bytes[i] / KB, 3)])
    _write_csv(out / "peaks.csv", [
        "model", "macs_M", "layer_peak_kB", "layer_peak_activation_kB", "layer_peak_op",
        "patch_split_op", "patch_n", "patch_peak_kB", "patch_peak_activation_kB",
        "peak_reduction_x", "mac_overhead_ratio", "latency_overhead_ratio",
        "paper_4x4_split_op", "paper_4x4_peak_activation_kB", "paper_4x4_reduction_x",
        "paper_4x4_mac_overhead_ratio"], peak_rows)
    _write_csv(out / "curves.csv", ["model", "op_index", "op", "layer_total_kB",
                                    "patch_total_kB", "layer_activation_kB",
                                    "patch_activation_kB"], curve_rows)

    latency_rows = []
    lat_nets = {"mcunet-in2": mcunet(), "mbv2-w0.35-r144-mcunet": mbv2_mcunet_baseline()}
    for dev_name in PRESET_NAMES:
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
            latency_rows.append([dev_name, label, round(lat_ms, 2), round(energy_mj, 3),
                                 round(mem.peak_bytes / KB, 2), round(mem.flash_bytes / KB, 2),
                                 mem.fits, note])
    _write_csv(out / "latency.csv", ["device", "model", "latency_ms", "energy_mJ",
                                     "peak_sram_kB", "flash_kB", "fits", "note"], latency_rows)

    summary = _compare(out, peak_rows, latency_rows, small)
    write_json(out / "published.json", summary)
    if plots:
        _plot(out, curves)
    _readme(out, summary, peak_rows, latency_rows, max_latency_overhead)
    return summary


def _compare(out: Path, peak_rows, latency_rows, small: bool) -> dict:
    lat = {(r[0], r[1]): r for r in latency_rows}
    peaks = {r[0]: r for r in peak_rows}
    rows = []

    def add(key, model_value, unit):
        ref, source = PUBLISHED[key]
        if isinstance(ref, tuple):
            within = ref[0] <= model_value <= ref[1]
            rows.append({"figure": key, "published": list(ref), "model": model_value,
                         "unit": unit, "within_range": within, "source": source})
        else:
            rows.append({"figure": key, "published": ref, "model": model_value, "unit": unit,
                         "error_ratio": round(model_value / ref - 1.0, 4), "source": source})

    if "mbv2-w1-r224" in peaks:
        full = mobilenetv2()
        mem = plan(full, FAMILY.spec("stm32f746"))
        add("mbv2_layer_peak_kB", mem.peak_activation_bytes / KB, "kB")
        add("mbv2_first_conv_kB", mem.rows[0].activation_bytes / KB, "kB")
        r = peaks["mbv2-w1-r224"]
        add("mbv2_patch_peak_kB", r[13], "kB")
        add("patch_mac_overhead_range", r[15], "ratio")
        add("patch_reduction_range", r[14], "x")
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
            add(key_lat, r[2], "ms")
        add(key_sram, r[4], "kB")
        if key_flash:
            add(key_flash, r[5], "kB")
    return {"small": small, "device_for_peaks": "stm32f746", "comparisons": rows}


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


def _readme(out: Path, summary, peak_rows, latency_rows, budget: float) -> None:
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
        lines.append(f"| {r[0]} | {r[1]} | {r[2]} | {r[7]} | {r[9]}x | {r[5]}, {r[6]}x{r[6]} | "
                     f"{r[10]:.1%} | {r[11]:.1%} |")
    lines += ["", "## Published figures (published.json)", "",
              "| figure | published | model | error / within | source |", "|---|---|---|---|---|"]
    for c in summary["comparisons"]:
        model = c["model"] if isinstance(c["model"], str) else round(float(c["model"]), 3)
        err = (f"{c['error_ratio']:+.1%}" if "error_ratio" in c
               else ("within" if c["within_range"] else "outside"))
        lines.append(f"| {c['figure']} | {c['published']} {c['unit']} | {model} | {err} | {c['source']} |")
    lines += ["", "## Latency, energy, fit on every preset (latency.csv)", "",
              "| device | model | latency ms | energy mJ | peak SRAM kB | flash kB | fits |",
              "|---|---|---|---|---|---|---|"]
    for r in latency_rows:
        lines.append(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]} | {r[5]} | {r[6]} |")
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
