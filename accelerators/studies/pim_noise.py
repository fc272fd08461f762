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
from accelerators.studies import pim_classifier as pimnet
from sim import simulate
from sim.export import write_atomic
from sim.spec import override
from sim.study import study_main
from sim.tables import NO_PLOTS, output_dir, pyplot, save_figure, write_csv, write_json
from workloads import Activation, Network, NetworkBuilder, NormKind
from workloads.zoo import resnet18_cifar

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
QUANT = pimnet.QuantSpec(weight_bits=4, act_bits=4)
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


def mlp_network(sizes: tuple[int, ...], quant: pimnet.QuantSpec) -> Network:
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


@dataclasses.dataclass(frozen=True, kw_only=True)
class EnergyRow:
    """One network's energy per inference on a chip, from a simulation: the chip's own events
    (ADC apart from DAC, `PimDevice.network_energy_detail_j`), the static energy when the chip
    has any, the total and the latency."""

    detail_j: tuple[tuple[str, float], ...]
    """(event, J) in the order of the event names."""
    static_energy_j: float | None
    energy_per_inference_j: float
    latency_s: float

    def event_j(self, name: str) -> float:
        """The energy of one event (e.g. 'adc'), J."""
        return dict(self.detail_j)[name]

    def columns(self) -> dict:
        """The table columns: `<event>_energy_j` each, static_energy_j (when any), the total
        and the latency."""
        row = {f"{k}_energy_j": v for k, v in self.detail_j}
        if self.static_energy_j is not None:
            row["static_energy_j"] = self.static_energy_j
        row["energy_per_inference_j"] = self.energy_per_inference_j
        row["latency_s"] = self.latency_s
        return row


def energy_row(network: Network, device: PimDevice) -> EnergyRow:
    """Energy per inference by event (J) and latency (s) from a simulation."""
    report = simulate(network, device, seed=0)
    # The chip's own event detail (ADC apart from DAC) is what this study is about.
    return EnergyRow(
        detail_j=tuple(sorted(device.network_energy_detail_j(network).items())),
        static_energy_j=report.energy_by_component_j.get("static") or None,
        energy_per_inference_j=report.energy_j, latency_s=report.latency_s)


def table_row(row) -> dict:
    """A result row as its CSV writes it: each field in declaration order, a nested `EnergyRow`
    or `Remedies` spliced in as its own columns."""
    out: dict = {}
    for field in dataclasses.fields(row):
        value = getattr(row, field.name)
        if isinstance(value, (EnergyRow, Remedies)):
            out.update(value.columns())
        else:
            out[field.name] = value
    return out


# --- experiments ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class Remedies:
    """Test accuracy (0-1) of one deployment: naive, BN-calibrated, rescaled + BN-calibrated,
    and after PIM-aware fine-tuning with each crossbar model of the forward pass (by name)."""

    naive_accuracy_ratio: float
    bn_calibrated_accuracy_ratio: float
    rescaled_bn_calibrated_accuracy_ratio: float
    fine_tuned: tuple[tuple[str, float], ...]
    """(training crossbar name, accuracy) in the order they were trained."""

    def fine_tuned_ratio(self, name: str) -> float:
        """The accuracy after fine-tuning with the crossbar model `name`."""
        return dict(self.fine_tuned)[name]

    def columns(self) -> dict:
        """The table columns: the three remedies, then `<name>_accuracy_ratio` per fine-tune."""
        return {"naive_accuracy_ratio": self.naive_accuracy_ratio,
                "bn_calibrated_accuracy_ratio": self.bn_calibrated_accuracy_ratio,
                "rescaled_bn_calibrated_accuracy_ratio": self.rescaled_bn_calibrated_accuracy_ratio,
                **{f"{name}_accuracy_ratio": a for name, a in self.fine_tuned}}


def _remedies(model, base: CrossbarSpec, data, rng, cfg: StudyConfig,
              train: dict[str, CrossbarSpec]) -> Remedies:
    """Accuracy of one deployment on hardware `base`: naive, BN-calibrated, rescaled + BN
    calibrated, and PIM-aware fine-tuned with each crossbar model of `train` in the forward pass
    (then rescaled + BN calibrated on the hardware)."""
    xtr, ytr, xte, yte = data
    dep = pimnet.deploy(model, base, rng)
    naive = pimnet.accuracy(dep, xte, yte, rng)
    bn_calibrated = pimnet.accuracy(pimnet.calibrate_bn(dep, xtr, rng), xte, yte, rng)
    rescaled_dep = pimnet.rescale_ranges(dep, xtr, 0.999, rng)
    rescaled = pimnet.accuracy(pimnet.calibrate_bn(rescaled_dep, xtr, rng), xte, yte, rng)
    tuned_accuracy = []
    for name, spec in train.items():
        tuned = pimnet.finetune_pim(model, xtr, ytr, spec, rng, steps=cfg.finetune_steps,
                                    full_scales=rescaled_dep.full_scales)
        tuned_dep = pimnet.rescale_ranges(pimnet.deploy(tuned, base, rng), xtr, 0.999, rng)
        tuned_accuracy.append(
            (name, pimnet.accuracy(pimnet.calibrate_bn(tuned_dep, xtr, rng), xte, yte, rng)))
    return Remedies(naive_accuracy_ratio=naive, bn_calibrated_accuracy_ratio=bn_calibrated,
                    rescaled_bn_calibrated_accuracy_ratio=rescaled, fine_tuned=tuple(tuned_accuracy))


@dataclasses.dataclass(frozen=True, kw_only=True)
class AdcBitsRow:
    """One scheme at one ADC resolution (a row of accuracy_vs_adc_bits.csv): the digital and
    deployed accuracies, and the energy per inference (total and ADC) on an ISAAC-derived chip."""

    scheme: str
    adc_bits: int
    digital_accuracy_ratio: float
    remedies: Remedies
    energy_per_inference_j: float
    adc_energy_j: float


def accuracy_vs_adc_bits(model, data, cfg: StudyConfig, rng, digital: float) -> list[AdcBitsRow]:
    rows = []
    net = mlp_network(SIZES, QUANT)
    for scheme_name in cfg.schemes:
        scheme = SCHEMES[scheme_name]
        for bits in cfg.adc_bits:
            base = scheme.replace(adc=AdcSpec(resolution_bits=bits))
            remedies = _remedies(model, base, data, rng, cfg, {"pim_aware": base})
            energy = energy_row(net, chip_for(scheme, bits))
            rows.append(AdcBitsRow(scheme=scheme_name, adc_bits=bits,
                                   digital_accuracy_ratio=digital, remedies=remedies,
                                   energy_per_inference_j=energy.energy_per_inference_j,
                                   adc_energy_j=energy.event_j("adc")))
    return rows


@dataclasses.dataclass(frozen=True, kw_only=True)
class NoiseRow:
    """The bit-serial differential scheme at one thermal-noise level (a row of
    accuracy_vs_noise.csv): the ENOB it adjusts to, and the accuracies."""

    scheme: str
    adc_bits: int
    noise_std_lsb: float
    adjusted_bits: int
    digital_accuracy_ratio: float
    remedies: Remedies


def accuracy_vs_noise(model, data, cfg: StudyConfig, rng, digital: float) -> list[NoiseRow]:
    rows = []
    scheme = SCHEMES["bit_serial_differential"]
    for sigma in cfg.noise_lsb:
        hw = scheme.replace(adc=AdcSpec(resolution_bits=cfg.noise_adc_bits, noise_std=sigma))
        adjusted = pimnet.effective_bits(cfg.noise_adc_bits, sigma)
        train = {"pim_aware_adjusted_precision":
                 scheme.replace(adc=AdcSpec(resolution_bits=adjusted)),
                 "pim_aware_noisy": hw}
        rows.append(NoiseRow(scheme="bit_serial_differential", adc_bits=cfg.noise_adc_bits,
                             noise_std_lsb=sigma, adjusted_bits=adjusted,
                             digital_accuracy_ratio=digital,
                             remedies=_remedies(model, hw, data, rng, cfg, train)))
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


@dataclasses.dataclass(frozen=True, kw_only=True)
class NonidealityRow:
    """One ADC or cell non-ideality alone on 8-bit ADCs (a row of nonidealities.csv)."""

    nonideality: str
    adc_bits: int
    digital_accuracy_ratio: float
    naive_accuracy_ratio: float
    bn_calibrated_accuracy_ratio: float


def nonidealities(model, data, cfg: StudyConfig, rng, digital: float) -> list[NonidealityRow]:
    xtr, ytr, xte, yte = data
    rows = []
    scheme = SCHEMES["bit_serial_differential"]
    for name, change in NONIDEALITIES.items():
        adc = AdcSpec(resolution_bits=8, **change.get("adc", {}))
        spec = scheme.replace(adc=adc,
                              cell_variation_ratio=change.get("cell_variation_ratio", 0.0))
        dep = pimnet.deploy(model, spec, rng)
        rows.append(NonidealityRow(
            nonideality=name, adc_bits=8, digital_accuracy_ratio=digital,
            naive_accuracy_ratio=pimnet.accuracy(dep, xte, yte, rng),
            bn_calibrated_accuracy_ratio=pimnet.accuracy(
                pimnet.calibrate_bn(dep, xtr, rng), xte, yte, rng),
        ))
    return rows


@dataclasses.dataclass(frozen=True, kw_only=True)
class LayerRow:
    """One layer of the CIFAR ResNet-18 on the ISAAC preset (a row of resnet18_cifar_layers.csv):
    its GEMM view (k rows, n outputs, m input vectors), crossbars, ADC conversions, latency and
    dynamic energy (total and ADC)."""

    precision: str
    layer: str
    k_rows: int
    n_outputs: int
    m_vectors: int
    crossbars: int
    adc_conversions: int
    latency_s: float
    energy_j: float
    adc_energy_j: float


@dataclasses.dataclass(frozen=True, kw_only=True)
class AdcSweepRow:
    """The CIFAR ResNet-18 (w8a8) on ISAAC at one ADC resolution (a row of
    resnet18_energy_vs_adc_bits.csv)."""

    adc_bits: int
    energy: EnergyRow


def resnet18_report(cfg: StudyConfig) -> tuple[list[LayerRow], dict, list[AdcSweepRow]]:
    """The CIFAR ResNet-18 on the ISAAC preset: per-layer rows, the summary written to
    resnet18_cifar_summary.json (a JSON document by precision) and the ADC-bits sweep."""
    device = FAMILY.device("isaac")
    summary = {"device": device.name, "source": "ISAAC preset (accelerators/pim/presets/isaac.yaml)"}
    layers = []
    for label, (wb, ab) in {"w8a8": (8, 8), "w16a16": (16, 16)}.items():
        net = resnet18_cifar().quantized("fixed", weight_bits=wb, activation_bits=ab)
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
            layers.append(LayerRow(
                precision=label, layer=layer.name, k_rows=layer.gemm.k,
                n_outputs=layer.gemm.n, m_vectors=layer.gemm.m,
                crossbars=layer.n_crossbars, adc_conversions=layer.conversions,
                latency_s=cost.latency_s, energy_j=cost.dynamic_energy_j,
                adc_energy_j=device.energy_detail_j(op)["adc"],
            ))
    sweep = []
    net = resnet18_cifar().quantized("fixed", weight_bits=8, activation_bits=8)
    for bits in cfg.resnet_adc_bits:
        dev = PimDevice(override(device.spec, {"adc_bits": bits}))
        sweep.append(AdcSweepRow(adc_bits=bits, energy=energy_row(net, dev)))
    return layers, summary, sweep


@dataclasses.dataclass(frozen=True)
class NoiseStudy:
    """Every table of the study (the names are its CSV files) and the ResNet-18 summary."""

    accuracy_vs_adc_bits: tuple[AdcBitsRow, ...]
    accuracy_vs_noise: tuple[NoiseRow, ...]
    nonidealities: tuple[NonidealityRow, ...]
    resnet18_cifar_layers: tuple[LayerRow, ...]
    resnet18_energy_vs_adc_bits: tuple[AdcSweepRow, ...]
    resnet18_cifar_summary: dict

    def tables(self) -> dict[str, list[dict]]:
        """CSV file stem -> its rows as written."""
        return {name: [table_row(r) for r in getattr(self, name)] for name in (
            "accuracy_vs_adc_bits", "accuracy_vs_noise", "nonidealities",
            "resnet18_cifar_layers", "resnet18_energy_vs_adc_bits")}


# --- output --------------------------------------------------------------------------------------


def make_plots(out: Path, study: NoiseStudy) -> list[str]:
    """PNG plots of the tables; skipped with a message when matplotlib is missing."""
    plt = pyplot()
    if plt is None:
        print(NO_PLOTS)
        return []
    written = []
    acc = study.accuracy_vs_adc_bits
    schemes = list(dict.fromkeys(r.scheme for r in acc))
    series = [(lambda r: r.remedies.naive_accuracy_ratio, "naive (conventional QAT)"),
              (lambda r: r.remedies.bn_calibrated_accuracy_ratio, "+ BN calibration"),
              (lambda r: r.remedies.rescaled_bn_calibrated_accuracy_ratio,
               "+ range rescaling + BN cal."),
              (lambda r: r.remedies.fine_tuned_ratio("pim_aware"), "PIM-aware fine-tune")]
    fig, axes = plt.subplots(1, len(schemes), figsize=(5 * len(schemes), 4), squeeze=False)
    for ax, scheme in zip(axes[0], schemes):
        rows = [r for r in acc if r.scheme == scheme]
        bits = [r.adc_bits for r in rows]
        ax.axhline(rows[0].digital_accuracy_ratio * 100, color="k", ls="--", label="digital 4-bit")
        for value, label in series:
            ax.plot(bits, [value(r) * 100 for r in rows], marker="o", label=label)
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
        rows = [r for r in acc if r.scheme == scheme]
        color = f"C{index}"
        ax.semilogy([r.adc_bits for r in rows], [r.energy_per_inference_j * 1e9 for r in rows],
                    marker="o", color=color, label=f"{scheme.replace('_', ' ')} (total)")
        ax.semilogy([r.adc_bits for r in rows], [r.adc_energy_j * 1e9 for r in rows],
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

    noise = study.accuracy_vs_noise
    fig, ax = plt.subplots(figsize=(6, 4))
    sig = [r.noise_std_lsb for r in noise]
    ax.axhline(noise[0].digital_accuracy_ratio * 100, color="k", ls="--", label="digital 4-bit")
    noise_series = series[:3] + [
        (lambda r: r.remedies.fine_tuned_ratio("pim_aware_adjusted_precision"),
         "PIM-aware, adjusted precision (ENOB)"),
        (lambda r: r.remedies.fine_tuned_ratio("pim_aware_noisy"),
         "PIM-aware, noise in the forward pass")]
    for value, label in noise_series:
        ax.plot(sig, [value(r) * 100 for r in noise], marker="o", label=label)
    ax.set_xlabel("thermal noise std (LSB)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 102)
    ax.set_title(f"Accuracy vs ADC thermal noise ({noise[0].adc_bits}-bit ADC, bit-serial)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    save_figure(fig, out / "accuracy_vs_noise.png", dpi=110)
    plt.close(fig)
    written.append("accuracy_vs_noise.png")

    sweep = [table_row(r) for r in study.resnet18_energy_vs_adc_bits]
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


def readme(study: NoiseStudy, cfg: StudyConfig, plots: list[str]) -> str:
    """The study's README.md, every number quoted from the tables."""
    acc = study.accuracy_vs_adc_bits
    summary = study.resnet18_cifar_summary
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
        m = r.remedies
        lines.append(
            f"| {r.scheme} | {r.adc_bits} | {_pct(m.naive_accuracy_ratio)} | "
            f"{_pct(m.bn_calibrated_accuracy_ratio)} | "
            f"{_pct(m.rescaled_bn_calibrated_accuracy_ratio)} | "
            f"{_pct(m.fine_tuned_ratio('pim_aware'))} | {r.energy_per_inference_j * 1e9:.3g} nJ |"
        )
    lines += ["", f"Digital (exact integer) accuracy of the same model: "
              f"{_pct(acc[0].digital_accuracy_ratio)}.", ""]
    noise = study.accuracy_vs_noise
    lines += ["## Accuracy vs thermal noise (`accuracy_vs_noise.csv`)", "",
              "| noise std (LSB) | adjusted bits | naive | + BN cal. | + rescaling + BN cal. | "
              "PIM-aware at adjusted precision | PIM-aware with noise |",
              "|---|---|---|---|---|---|---|"]
    for r in noise:
        m = r.remedies
        lines.append(f"| {r.noise_std_lsb:g} | {r.adjusted_bits} | {_pct(m.naive_accuracy_ratio)} | "
                     f"{_pct(m.bn_calibrated_accuracy_ratio)} | "
                     f"{_pct(m.rescaled_bn_calibrated_accuracy_ratio)} | "
                     f"{_pct(m.fine_tuned_ratio('pim_aware_adjusted_precision'))} | "
                     f"{_pct(m.fine_tuned_ratio('pim_aware_noisy'))} |")
    lines += ["", "## Each non-ideality alone, 8-bit ADC (`nonidealities.csv`)", "",
              "| non-ideality | naive | + BN cal. |", "|---|---|---|"]
    for r in study.nonidealities:
        lines.append(f"| {r.nonideality} | {_pct(r.naive_accuracy_ratio)} | "
                     f"{_pct(r.bn_calibrated_accuracy_ratio)} |")
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


def run_study(out: str | Path, cfg: StudyConfig = StudyConfig()) -> NoiseStudy:
    """Run every experiment, write the tables (and plots, README) into `out`; return them."""
    out = Path(out)
    out = output_dir(out)
    rng = np.random.default_rng(cfg.seed)
    r_data, r_train, r_bits, r_noise, r_non = rng.spawn(5)
    data = pimnet.load_digits_split(r_data)
    xtr, ytr, xte, yte = data
    model = pimnet.train_qat(xtr, ytr, sizes=SIZES, quant=QUANT, rng=r_train, steps=cfg.train_steps)
    digital = pimnet.accuracy(pimnet.deploy(model, None), xte, yte)
    by_bits = accuracy_vs_adc_bits(model, data, cfg, r_bits, digital)
    by_noise = accuracy_vs_noise(model, data, cfg, r_noise, digital)
    alone = nonidealities(model, data, cfg, r_non, digital)
    layers, summary, sweep = resnet18_report(cfg)
    summary["seed"] = cfg.seed
    study = NoiseStudy(tuple(by_bits), tuple(by_noise), tuple(alone), tuple(layers), tuple(sweep),
                       summary)
    for name, rows in study.tables().items():
        write_csv(out / f"{name}.csv", rows, float_format=".6g")
    write_json(out / "resnet18_cifar_summary.json", summary)
    plots = make_plots(out, study) if cfg.plots else []
    write_atomic(out / "README.md", readme(study, cfg, plots))
    return study


def _single_blas_thread():
    """One BLAS thread for the run (small matrices: threads only add synchronisation)."""
    import contextlib

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _run(out: Path, args: argparse.Namespace) -> NoiseStudy:
    cfg = dataclasses.replace(SMALL if args.small else StudyConfig(), seed=args.seed)
    with _single_blas_thread():
        return run_study(out, cfg)


def main(argv=None) -> int:
    """`python -m accelerators.studies.pim_noise --out DIR [--seed N] [--small]`: exit status."""
    return study_main(argv, _run, prog="python -m accelerators.studies.pim_noise",
                      description=__doc__.split("\n")[0], out_example="results/pim_noise")


if __name__ == "__main__":
    sys.exit(main())
