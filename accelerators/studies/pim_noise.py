"""The pim_noise study: accuracy and energy of PIM inference against ADC resolution and noise.

Run: python -m accelerators.studies.pim_noise --out results/pim_noise   (add --small for a quick check)

Writes CSV/JSON tables (units in column names), PNG plots (if matplotlib is installed) and a
README.md quoting the numbers from the tables:

- accuracy_vs_adc_bits.csv: a 4-bit digits classifier (scikit-learn's bundled 8x8 digits) trained
  with conventional QAT, deployed on crossbars of three decomposition schemes at ADC resolutions
  3..10 bits: naive, with BN calibration, with range rescaling + BN calibration, and PIM-aware
  fine-tuned at the adjusted precision (+ rescaling + BN calibration); with its energy per
  inference on an ISAAC-derived chip of the same scheme and ADC;
- accuracy_vs_noise.csv: the same at 8-bit ADCs against thermal noise (std in LSB);
- nonidealities.csv: each ADC / cell non-ideality alone, naive and BN-calibrated;
- resnet18_cifar_layers.csv, resnet18_cifar_summary.json, resnet18_energy_vs_adc_bits.csv:
  the CIFAR ResNet-18 (3x3 stem, no max-pool, 32x32) on the ISAAC preset: crossbars, energy per
  inference by component and latency (discrete-event simulation), and energy against ADC bits.

The reference is PIM-QAT (Jin et al., arXiv 2209.08617): naive deployment of conventionally
quantized networks fails; BN calibration and adjusted-precision training recover accuracy.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

from accelerators.pim.adc import AdcSpec, NoiseReference, bow_inl
from accelerators.pim.crossbar import CrossbarSpec, WeightEncoding
from accelerators.pim.device import FAMILY, PimDevice
from accelerators.pim.network import (
    QuantSpec,
    accuracy,
    calibrate_bn,
    deploy,
    effective_bits,
    finetune_pim,
    load_digits_split,
    rescale_ranges,
    train_qat,
)
from sim import simulate
from sim.export import write_atomic
from sim.spec import override
from sim.study import study_main
from sim.tables import NO_PLOTS, output_dir, pyplot, save_figure, write_csv, write_json
from workloads import Activation, Network, NetworkBuilder, NormKind, PoolMode

SCHEMES: dict[str, CrossbarSpec] = {
    "bit_serial_differential": CrossbarSpec(rows=128, cell_bits=2, dac_bits=1, input_bits=4,
                                            weight_bits=4, encoding=WeightEncoding.DIFFERENTIAL),
    "bit_serial_offset": CrossbarSpec(rows=128, cell_bits=2, dac_bits=1, input_bits=4,
                                      weight_bits=4, encoding=WeightEncoding.OFFSET),
    "multibit_full_precision": CrossbarSpec(rows=128, cell_bits=3, dac_bits=4, input_bits=4,
                                            weight_bits=4, encoding=WeightEncoding.DIFFERENTIAL),
}
"""PIM-QAT's decomposition schemes as (DAC bits, cell bits, encoding) points for the w4a4 model:
bit-serial 1-bit inputs on 2-bit cells (differential or offset), and one 4-bit DAC pulse per
input on cells holding a 4-bit weight's whole 3-bit magnitude (differential)."""
QUANT = QuantSpec(weight_bits=4, act_bits=4)
SIZES = (64, 128, 128, 10)


@dataclasses.dataclass(frozen=True, kw_only=True)
class StudyConfig:
    """Sizes of the study (the full run and the small CI version differ only here)."""

    seed: int = 0
    train_steps: int = 300
    finetune_steps: int = 150
    schemes: tuple[str, ...] = tuple(SCHEMES)
    adc_bits: tuple[int, ...] = (3, 4, 5, 6, 7, 8, 9, 10)
    noise_lsb: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0, 3.0, 4.0)
    noise_adc_bits: int = 8
    resnet_adc_bits: tuple[int, ...] = (4, 5, 6, 7, 8, 9, 10)
    plots: bool = True


SMALL = StudyConfig(train_steps=80, finetune_steps=10, schemes=("bit_serial_differential",),
                    adc_bits=(4, 9), noise_lsb=(0.0, 2.0), resnet_adc_bits=(6, 8), plots=False)


# --- networks ------------------------------------------------------------------------------------


def cifar_resnet18(*, weight_bits: int = 8, act_bits: int = 8, num_classes: int = 10) -> Network:
    """ResNet-18 for CIFAR (He et al. 2016 as used on CIFAR: 3x3 stem, no max-pool, 32x32 input).

    Stages of 64/128/256/512 channels, two BasicBlocks each, 1x1 conv shortcuts when the shape
    changes, global average pool and a linear head; quantized fixed point at the given widths.
    """
    b = NetworkBuilder("resnet18-cifar", description="ResNet-18, CIFAR variant, 32x32")
    x = b.input("image", (1, 3, 32, 32))
    x = b.conv2d(x, 64, 3, padding=1, name="conv1")
    x = b.act(b.norm(x, NormKind.BATCH, name="bn1"), Activation.RELU, name="relu")
    for stage, width in enumerate((64, 128, 256, 512), start=1):
        for index in range(2):
            stride = 2 if stage > 1 and index == 0 else 1
            p = f"layer{stage}.{index}"
            out = b.conv2d(x, width, 3, stride=stride, padding=1, name=f"{p}.conv1")
            out = b.act(b.norm(out, NormKind.BATCH, name=f"{p}.bn1"), Activation.RELU, name=f"{p}.relu1")
            out = b.norm(b.conv2d(out, width, 3, padding=1, name=f"{p}.conv2"), NormKind.BATCH,
                         name=f"{p}.bn2")
            identity = x
            if stride != 1 or b.shape(x)[1] != width:
                identity = b.norm(b.conv2d(x, width, 1, stride=stride, name=f"{p}.downsample.0"),
                                  NormKind.BATCH, name=f"{p}.downsample.1")
            x = b.act(b.add(out, identity, name=f"{p}.add"), Activation.RELU, name=f"{p}.relu2")
    x = b.global_pool(x, PoolMode.AVG, name="avgpool")
    x = b.reshape(x, (1, 512), name="flatten")
    b.linear(x, num_classes, name="fc")
    return b.build().quantized("fixed", weight_bits=weight_bits, activation_bits=act_bits)


def mlp_network(sizes: tuple[int, ...], quant: QuantSpec) -> Network:
    """The digits MLP as an edgesim network (for its cost on the PIM device)."""
    b = NetworkBuilder("digits-mlp")
    x = b.input("pixels", (1, sizes[0]))
    for i, n in enumerate(sizes[1:]):
        x = b.linear(x, n, name=f"fc{i}")
        if i < len(sizes) - 2:
            x = b.act(b.norm(x, NormKind.BATCH, name=f"bn{i}"), Activation.RELU, name=f"relu{i}")
    return b.build().quantized("fixed", weight_bits=quant.weight_bits, activation_bits=quant.act_bits)


def chip_for(scheme: CrossbarSpec, adc_bits: int) -> PimDevice:
    """The ISAAC preset with the scheme's geometry and the given ADC resolution."""
    spec = FAMILY.spec("isaac")
    return PimDevice(override(spec, {
        "name": f"pim-isaac-{adc_bits}b", "cell_bits": scheme.cell_bits,
        "dac_bits": scheme.dac_bits, "encoding": scheme.encoding, "adc_bits": adc_bits}))


def energy_row(network: Network, device: PimDevice) -> dict:
    """Energy per inference by component (J) and latency (s) from a simulation."""
    report = simulate(network, device, seed=0)
    # The chip's own event detail (ADC apart from DAC) is what this study is about.
    row = {f"{k}_energy_j": v for k, v in sorted(device.network_energy_detail_j(network).items())}
    if report.energy_by_component_j.get("static"):
        row["static_energy_j"] = report.energy_by_component_j["static"]
    row["energy_per_inference_j"] = report.energy_j
    row["latency_s"] = report.latency_s
    return row


# --- experiments ---------------------------------------------------------------------------------


def _remedies(model, base: CrossbarSpec, data, rng, cfg: StudyConfig,
              train: dict[str, CrossbarSpec]) -> dict:
    """Accuracy of one deployment on hardware `base`: naive, BN-calibrated, rescaled + BN
    calibrated, and PIM-aware fine-tuned with each crossbar model of `train` in the forward pass
    (then rescaled + BN calibrated on the hardware)."""
    xtr, ytr, xte, yte = data
    dep = deploy(model, base, rng)
    row = {"naive_accuracy_ratio": accuracy(dep, xte, yte, rng),
           "bn_calibrated_accuracy_ratio": accuracy(calibrate_bn(dep, xtr, rng), xte, yte, rng)}
    rescaled_dep = rescale_ranges(dep, xtr, 0.999, rng)
    row["rescaled_bn_calibrated_accuracy_ratio"] = accuracy(
        calibrate_bn(rescaled_dep, xtr, rng), xte, yte, rng)
    for name, spec in train.items():
        tuned = finetune_pim(model, xtr, ytr, spec, rng, steps=cfg.finetune_steps,
                             full_scales=rescaled_dep.full_scales)
        tuned_dep = rescale_ranges(deploy(tuned, base, rng), xtr, 0.999, rng)
        row[f"{name}_accuracy_ratio"] = accuracy(calibrate_bn(tuned_dep, xtr, rng), xte, yte, rng)
    return row


def accuracy_vs_adc_bits(model, data, cfg: StudyConfig, rng, digital: float) -> list[dict]:
    rows = []
    net = mlp_network(SIZES, QUANT)
    for scheme_name in cfg.schemes:
        scheme = SCHEMES[scheme_name]
        for bits in cfg.adc_bits:
            base = scheme.replace(adc=AdcSpec(resolution_bits=bits))
            row = {"scheme": scheme_name, "adc_bits": bits, "digital_accuracy_ratio": digital}
            row.update(_remedies(model, base, data, rng, cfg, {"pim_aware": base}))
            energy = energy_row(net, chip_for(scheme, bits))
            row["energy_per_inference_j"] = energy["energy_per_inference_j"]
            row["adc_energy_j"] = energy["adc_energy_j"]
            rows.append(row)
    return rows


def accuracy_vs_noise(model, data, cfg: StudyConfig, rng, digital: float) -> list[dict]:
    rows = []
    scheme = SCHEMES["bit_serial_differential"]
    for sigma in cfg.noise_lsb:
        hw = scheme.replace(adc=AdcSpec(resolution_bits=cfg.noise_adc_bits, noise_std=sigma))
        adjusted = effective_bits(cfg.noise_adc_bits, sigma)
        row = {"scheme": "bit_serial_differential", "adc_bits": cfg.noise_adc_bits,
               "noise_std_lsb": sigma, "adjusted_bits": adjusted, "digital_accuracy_ratio": digital}
        train = {"pim_aware_adjusted_precision":
                 scheme.replace(adc=AdcSpec(resolution_bits=adjusted)),
                 "pim_aware_noisy": hw}
        row.update(_remedies(model, hw, data, rng, cfg, train))
        rows.append(row)
    return rows


NONIDEALITIES = {
    "none": {},
    "gain_error_5pct": {"adc": {"gain_error_ratio": 0.05}},
    "offset_2lsb": {"adc": {"offset_lsb": 2.0}},
    "inl_bow_2lsb": {"adc": {"inl_lsb": bow_inl(2.0)}},
    "thermal_noise_1lsb": {"adc": {"noise_std": 1.0}},
    "noise_1pct_full_scale": {"adc": {"noise_std": 0.01, "noise_reference": NoiseReference.FULL_SCALE}},
    "clipping_quarter_scale": {"adc": {"full_scale_ratio": 0.25}},
    "cell_variation_5pct": {"cell_variation_ratio": 0.05},
    "cell_variation_20pct": {"cell_variation_ratio": 0.20},
}
"""Each non-ideality alone, on 8-bit ADCs of the bit-serial differential scheme."""


def nonidealities(model, data, cfg: StudyConfig, rng, digital: float) -> list[dict]:
    xtr, ytr, xte, yte = data
    rows = []
    scheme = SCHEMES["bit_serial_differential"]
    for name, change in NONIDEALITIES.items():
        adc = AdcSpec(resolution_bits=8, **change.get("adc", {}))
        spec = scheme.replace(adc=adc,
                              cell_variation_ratio=change.get("cell_variation_ratio", 0.0))
        dep = deploy(model, spec, rng)
        rows.append({
            "nonideality": name, "adc_bits": 8, "digital_accuracy_ratio": digital,
            "naive_accuracy_ratio": accuracy(dep, xte, yte, rng),
            "bn_calibrated_accuracy_ratio": accuracy(calibrate_bn(dep, xtr, rng), xte, yte, rng),
        })
    return rows


def resnet18_report(cfg: StudyConfig) -> tuple[list[dict], dict, list[dict]]:
    device = FAMILY.device("isaac")
    summary = {"device": device.name, "source": "ISAAC preset (accelerators/pim/presets/isaac.yaml)"}
    layers = []
    for label, (wb, ab) in {"w8a8": (8, 8), "w16a16": (16, 16)}.items():
        net = cifar_resnet18(weight_bits=wb, act_bits=ab)
        plan = device.plan(net)
        report = simulate(net, device, seed=cfg.seed)
        summary[label] = {
            "crossbars": plan.n_crossbars,
            "crossbar_utilization_ratio": plan.utilization_ratio,
            "macs": net.macs,
            "latency_s": report.latency_s,
            "energy_per_inference_j": report.energy_j,
            "energy_by_component_j": {c.value: e for c, e in report.energy_by_component_j.items()},
            "energy_detail_j": dict(sorted(device.network_energy_detail_j(net).items())),
            "energy_per_mac_j": report.energy_j / net.macs,
        }
        for layer in plan.layers:
            op = net[layer.name]
            cost = device.cost(op, "pim")
            layers.append({
                "precision": label, "layer": layer.name, "k_rows": layer.gemm.k,
                "n_outputs": layer.gemm.n, "m_vectors": layer.gemm.m,
                "crossbars": layer.n_crossbars, "adc_conversions": layer.conversions,
                "latency_s": cost.latency_s, "energy_j": cost.dynamic_energy_j,
                "adc_energy_j": device.energy_detail_j(op)["adc"],
            })
    sweep = []
    net = cifar_resnet18(weight_bits=8, act_bits=8)
    for bits in cfg.resnet_adc_bits:
        dev = PimDevice(override(device.spec, {"adc_bits": bits}))
        row = {"adc_bits": bits}
        row.update(energy_row(net, dev))
        sweep.append(row)
    return layers, summary, sweep


# --- output --------------------------------------------------------------------------------------


def make_plots(out: Path, tables: dict) -> list[str]:
    """PNG plots of the tables; skipped with a message when matplotlib is missing."""
    plt = pyplot()
    if plt is None:
        print(NO_PLOTS)
        return []
    written = []
    acc = tables["accuracy_vs_adc_bits"]
    schemes = list(dict.fromkeys(r["scheme"] for r in acc))
    series = [("naive_accuracy_ratio", "naive (conventional QAT)"),
              ("bn_calibrated_accuracy_ratio", "+ BN calibration"),
              ("rescaled_bn_calibrated_accuracy_ratio", "+ range rescaling + BN cal."),
              ("pim_aware_accuracy_ratio", "PIM-aware fine-tune")]
    fig, axes = plt.subplots(1, len(schemes), figsize=(5 * len(schemes), 4), squeeze=False)
    for ax, scheme in zip(axes[0], schemes):
        rows = [r for r in acc if r["scheme"] == scheme]
        bits = [r["adc_bits"] for r in rows]
        ax.axhline(rows[0]["digital_accuracy_ratio"] * 100, color="k", ls="--", label="digital 4-bit")
        for key, label in series:
            ax.plot(bits, [r[key] * 100 for r in rows], marker="o", label=label)
        ax.set_title(scheme.replace("_", " "))
        ax.set_xlabel("ADC resolution (bits)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_ylim(0, 102)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8, loc="lower right")
    fig.suptitle("Digits MLP (w4a4) on PIM crossbars: accuracy vs ADC resolution")
    fig.tight_layout()
    save_figure(fig, out / "accuracy_vs_adc_bits.png", dpi=110)
    plt.close(fig)
    written.append("accuracy_vs_adc_bits.png")

    fig, ax = plt.subplots(figsize=(6, 4))
    for index, scheme in enumerate(schemes):
        rows = [r for r in acc if r["scheme"] == scheme]
        color = f"C{index}"
        ax.semilogy([r["adc_bits"] for r in rows], [r["energy_per_inference_j"] * 1e9 for r in rows],
                    marker="o", color=color, label=f"{scheme.replace('_', ' ')} (total)")
        ax.semilogy([r["adc_bits"] for r in rows], [r["adc_energy_j"] * 1e9 for r in rows],
                    ls=":", marker=".", color=color, label=f"{scheme.replace('_', ' ')} (ADC)")
    ax.set_xlabel("ADC resolution (bits)")
    ax.set_ylabel("energy per inference (nJ)")
    ax.set_title("Digits MLP on an ISAAC-derived chip")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, out / "energy_vs_adc_bits.png", dpi=110)
    plt.close(fig)
    written.append("energy_vs_adc_bits.png")

    noise = tables["accuracy_vs_noise"]
    fig, ax = plt.subplots(figsize=(6, 4))
    sig = [r["noise_std_lsb"] for r in noise]
    ax.axhline(noise[0]["digital_accuracy_ratio"] * 100, color="k", ls="--", label="digital 4-bit")
    noise_series = series[:3] + [
        ("pim_aware_adjusted_precision_accuracy_ratio", "PIM-aware, adjusted precision (ENOB)"),
        ("pim_aware_noisy_accuracy_ratio", "PIM-aware, noise in the forward pass")]
    for key, label in noise_series:
        ax.plot(sig, [r[key] * 100 for r in noise], marker="o", label=label)
    ax.set_xlabel("thermal noise std (LSB)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 102)
    ax.set_title(f"Accuracy vs ADC thermal noise ({noise[0]['adc_bits']}-bit ADC, bit-serial)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    save_figure(fig, out / "accuracy_vs_noise.png", dpi=110)
    plt.close(fig)
    written.append("accuracy_vs_noise.png")

    sweep = tables["resnet18_energy_vs_adc_bits"]
    comps = [k for k in sweep[0] if k.endswith("_energy_j") and k != "energy_per_inference_j"]
    fig, ax = plt.subplots(figsize=(7, 4))
    bottom = np.zeros(len(sweep))
    x = [str(r["adc_bits"]) for r in sweep]
    for comp in comps:
        vals = np.array([r[comp] * 1e6 for r in sweep])
        ax.bar(x, vals, bottom=bottom, label=comp.removesuffix("_energy_j"))
        bottom += vals
    ax.set_xlabel("ADC resolution (bits)")
    ax.set_ylabel("energy per inference (uJ)")
    ax.set_title("CIFAR ResNet-18 (w8a8) on ISAAC: energy by component")
    ax.legend(fontsize=8, ncol=2)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    save_figure(fig, out / "resnet18_energy_vs_adc_bits.png", dpi=110)
    plt.close(fig)
    written.append("resnet18_energy_vs_adc_bits.png")
    return written


def _pct(v: float) -> str:
    return f"{100 * v:.1f} %"


def readme(tables: dict, summary: dict, cfg: StudyConfig, plots: list[str]) -> str:
    acc = tables["accuracy_vs_adc_bits"]
    lines = [
        "# pim_noise: accuracy and energy of PIM crossbar inference vs ADC resolution and noise",
        "",
        "Generated by `python -m accelerators.studies.pim_noise --out results/pim_noise` "
        f"(seed {cfg.seed}); nothing here is edited by hand.",
        "",
        "Reference: PIM-QAT (Jin et al., arXiv 2209.08617): deploying a conventionally quantized",
        "network on PIM, whose ADC re-quantizes every column sum with limited resolution, fails;",
        "BN calibration and adjusted-precision (PIM-aware) training recover digital-level accuracy.",
        "Here: a w4a4 MLP (64-128-128-10, batch norm) on scikit-learn's 8x8 digits, trained with",
        "conventional QAT, every product run bit-exactly through the crossbar model "
        "(`accelerators.pim.crossbar`), 128-row crossbars.",
        "",
        "## Accuracy vs ADC resolution (`accuracy_vs_adc_bits.csv`)",
        "",
        "| scheme | ADC bits | naive | + BN cal. | + rescaling + BN cal. | PIM-aware | energy/inference |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in acc:
        lines.append(
            f"| {r['scheme']} | {r['adc_bits']} | {_pct(r['naive_accuracy_ratio'])} | "
            f"{_pct(r['bn_calibrated_accuracy_ratio'])} | "
            f"{_pct(r['rescaled_bn_calibrated_accuracy_ratio'])} | "
            f"{_pct(r['pim_aware_accuracy_ratio'])} | {r['energy_per_inference_j'] * 1e9:.3g} nJ |"
        )
    lines += ["", f"Digital (exact integer) accuracy of the same model: "
              f"{_pct(acc[0]['digital_accuracy_ratio'])}.", ""]
    noise = tables["accuracy_vs_noise"]
    lines += ["## Accuracy vs thermal noise (`accuracy_vs_noise.csv`)", "",
              "| noise std (LSB) | adjusted bits | naive | + BN cal. | + rescaling + BN cal. | "
              "PIM-aware at adjusted precision | PIM-aware with noise |",
              "|---|---|---|---|---|---|---|"]
    for r in noise:
        lines.append(f"| {r['noise_std_lsb']:g} | {r['adjusted_bits']} | {_pct(r['naive_accuracy_ratio'])} | "
                     f"{_pct(r['bn_calibrated_accuracy_ratio'])} | "
                     f"{_pct(r['rescaled_bn_calibrated_accuracy_ratio'])} | "
                     f"{_pct(r['pim_aware_adjusted_precision_accuracy_ratio'])} | "
                     f"{_pct(r['pim_aware_noisy_accuracy_ratio'])} |")
    lines += ["", "## Each non-ideality alone, 8-bit ADC (`nonidealities.csv`)", "",
              "| non-ideality | naive | + BN cal. |", "|---|---|---|"]
    for r in tables["nonidealities"]:
        lines.append(f"| {r['nonideality']} | {_pct(r['naive_accuracy_ratio'])} | "
                     f"{_pct(r['bn_calibrated_accuracy_ratio'])} |")
    lines += ["", "## CIFAR ResNet-18 on the ISAAC preset (`resnet18_cifar_summary.json`)", "",
              "| precision | crossbars | latency | energy/inference | of which ADC | energy/MAC |",
              "|---|---|---|---|---|---|"]
    for label in ("w8a8", "w16a16"):
        s = summary[label]
        e = s["energy_detail_j"]
        lines.append(f"| {label} | {s['crossbars']} ({_pct(s['crossbar_utilization_ratio'])}) | "
                     f"{s['latency_s'] * 1e3:.3g} ms | {s['energy_per_inference_j'] * 1e6:.3g} uJ | "
                     f"{_pct(e['adc'] / s['energy_per_inference_j'])} | "
                     f"{s['energy_per_mac_j'] * 1e12:.3g} pJ |")
    lines += ["", "Energy by component (w8a8, uJ): " + ", ".join(
        f"{k} {v * 1e6:.3g}" for k, v in summary["w8a8"]["energy_by_component_j"].items()),
        "", "Energy by event (w8a8, uJ): " + ", ".join(
        f"{k} {v * 1e6:.3g}" for k, v in summary["w8a8"]["energy_detail_j"].items()), ""]
    if plots:
        lines += ["## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    lines += [
        "## Notes", "",
        "- Naive = the conventionally quantized model with the ADC full scale at the largest",
        "  possible column sum; rescaling = full scale at the 99.9th percentile of the column sums",
        "  seen on training data; BN calibration = batch-norm statistics re-estimated through the",
        f"  PIM pipeline; PIM-aware = {cfg.finetune_steps} steps of fine-tuning (straight-through",
        "  gradients) with the PIM products in the forward pass, then rescaling + BN calibration;",
        "  against noise either at the adjusted precision ENOB = b - log2(sqrt(1 + 12 sigma^2))",
        "  without noise, or with the noisy ADC itself in the forward pass.",
        "- Latency is one image with no layer pipelining or replication (ISAAC pipelines layers",
        "  across images and replicates early layers for throughput; not modelled).",
        "- Energies are ISAAC Table I powers turned into per-event energies (see the preset).",
    ]
    return "\n".join(lines) + "\n"


def run_study(out: str | Path, cfg: StudyConfig = StudyConfig()) -> dict:
    """Run every experiment, write the tables (and plots, README) into `out`; return the tables."""
    out = Path(out)
    out = output_dir(out)
    rng = np.random.default_rng(cfg.seed)
    r_data, r_train, r_bits, r_noise, r_non = rng.spawn(5)
    data = load_digits_split(r_data)
    xtr, ytr, xte, yte = data
    model = train_qat(xtr, ytr, sizes=SIZES, quant=QUANT, rng=r_train, steps=cfg.train_steps)
    digital = accuracy(deploy(model, None), xte, yte)
    tables = {
        "accuracy_vs_adc_bits": accuracy_vs_adc_bits(model, data, cfg, r_bits, digital),
        "accuracy_vs_noise": accuracy_vs_noise(model, data, cfg, r_noise, digital),
        "nonidealities": nonidealities(model, data, cfg, r_non, digital),
    }
    layers, summary, sweep = resnet18_report(cfg)
    tables["resnet18_cifar_layers"] = layers
    tables["resnet18_energy_vs_adc_bits"] = sweep
    for name, rows in tables.items():
        write_csv(out / f"{name}.csv", rows, float_format=".6g")
    summary["seed"] = cfg.seed
    write_json(out / "resnet18_cifar_summary.json", summary)
    plots = make_plots(out, tables) if cfg.plots else []
    write_atomic(out / "README.md", readme(tables, summary, cfg, plots))
    tables["resnet18_cifar_summary"] = summary
    return tables


def _single_blas_thread():
    """One BLAS thread for the run (small matrices: threads only add synchronisation)."""
    import contextlib

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _run(out: Path, args: argparse.Namespace) -> dict:
    cfg = dataclasses.replace(SMALL if args.small else StudyConfig(), seed=args.seed)
    with _single_blas_thread():
        return run_study(out, cfg)


def main(argv=None) -> int:
    """`python -m accelerators.studies.pim_noise --out DIR [--seed N] [--small]`: exit status."""
    return study_main(argv, _run, prog="python -m accelerators.studies.pim_noise",
                      description=__doc__.split("\n")[0], out_example="results/pim_noise")


if __name__ == "__main__":
    sys.exit(main())
