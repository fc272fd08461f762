"""The pim_bound study: accuracy of float-weight (analog) crossbars against the ADC output bound.

Run: python -m accelerators.studies.pim_bound --out results/pim_bound   (--small for a quick check)

The digits MLP of the pim_noise study (64-128-128-10, 4-bit unsigned activations, trained with
conventional QAT) is deployed on crossbars set up as IBM aihwkit's analog tiles are: real weights
as one conductance pair each (no bit slicing; w_max per tensor or per column), one multi-bit
input pulse per vector, and a bipolar ADC whose output bound, clipping and rounding are set
apart. The bound is swept from 1/1024 to all of the largest column sum; the aihwkit out_bound it
corresponds to (one full input on one g_max weight = 1) is full_scale_ratio x rows. Three ADC
settings: rounding and clipping (a real b-bit converter), clipping only (infinite resolution),
rounding only (no bound). Writes accuracy_vs_output_bound.csv, a PNG plot (if matplotlib is
installed) and a README.md quoting the table.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

from accelerators.pim.adc import AdcSpec, Clipping, Rounding
from accelerators.pim.crossbar import CrossbarSpec, WeightFormat, WeightScaling
from accelerators.studies.pim_classifier import accuracy, calibrate_bn, deploy, load_digits_split, train_qat
from accelerators.studies.pim_noise import QUANT, SIZES, _single_blas_thread
from sim.export import write_atomic
from sim.study import study_main
from sim.tables import NO_PLOTS, output_dir, pyplot, write_csv

ROWS = 128
SETTINGS: dict[str, tuple[Rounding, Clipping]] = {
    "round_and_clip": (Rounding.NEAREST, Clipping.SATURATE),
    "clip_only": (Rounding.NONE, Clipping.SATURATE),
    "round_only": (Rounding.NEAREST, Clipping.NONE),
}
"""ADC settings: a real converter, an infinitely fine one with a bound, an unbounded one."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class BoundConfig:
    """Sizes of the study (the full run and the small CI version differ only here)."""

    seed: int = 0
    train_steps: int = 300
    adc_bits: int = 5
    bound_ratios: tuple[float, ...] = tuple(2.0**-e for e in range(10, -1, -1))  # 1/1024 .. 1
    scalings: tuple[WeightScaling, ...] = (WeightScaling.PER_TENSOR, WeightScaling.PER_COLUMN)
    plots: bool = True


SMALL = BoundConfig(train_steps=80, bound_ratios=(1 / 1024, 1 / 64, 1.0),
                    scalings=(WeightScaling.PER_TENSOR,), plots=False)


def crossbar(cfg: BoundConfig, ratio: float, setting: str, scaling: WeightScaling) -> CrossbarSpec:
    """A float-weight crossbar of ROWS rows, one 4-bit input pulse, a bipolar cfg.adc_bits ADC."""
    rounding, clipping = SETTINGS[setting]
    return CrossbarSpec(
        rows=ROWS, input_bits=QUANT.act_bits, dac_bits=QUANT.act_bits, weight_format=WeightFormat.FLOAT,
        weight_scaling=scaling,
        adc=AdcSpec(resolution_bits=cfg.adc_bits, full_scale_ratio=ratio, rounding=rounding,
                    clipping=clipping))


@dataclasses.dataclass(frozen=True, kw_only=True)
class BoundRow:
    """One point of the sweep: a weight scaling, an ADC setting and output bound, and the test
    accuracy (0-1) of the digital model, the naive deployment and the BN-calibrated one."""

    weight_scaling: str
    adc_setting: str
    adc_bits: int
    full_scale_ratio: float
    aihwkit_out_bound: float
    digital_accuracy_ratio: float
    naive_accuracy_ratio: float
    bn_calibrated_accuracy_ratio: float


def sweep(cfg: BoundConfig) -> list[BoundRow]:
    """One row per (weight scaling, ADC setting, output bound): naive and BN-calibrated accuracy."""
    rng = np.random.default_rng(cfg.seed)
    r_data, r_train, r_eval = rng.spawn(3)
    xtr, ytr, xte, yte = load_digits_split(r_data)
    model = train_qat(xtr, ytr, sizes=SIZES, quant=QUANT, rng=r_train, steps=cfg.train_steps)
    digital = accuracy(deploy(model, None), xte, yte)
    rows = []
    for scaling in cfg.scalings:
        for setting in SETTINGS:
            for ratio in cfg.bound_ratios:
                dep = deploy(model, crossbar(cfg, ratio, setting, scaling), r_eval)
                rows.append(BoundRow(
                    weight_scaling=scaling.value, adc_setting=setting,
                    adc_bits=cfg.adc_bits, full_scale_ratio=ratio,
                    aihwkit_out_bound=ratio * ROWS,
                    digital_accuracy_ratio=digital,
                    naive_accuracy_ratio=accuracy(dep, xte, yte),
                    bn_calibrated_accuracy_ratio=accuracy(calibrate_bn(dep, xtr), xte, yte),
                ))
    return rows


def make_plot(out: Path, rows: list[BoundRow]) -> list[str]:
    """Accuracy against the output bound, one panel per weight scaling; the file names written."""
    plt = pyplot()
    if plt is None:
        print(NO_PLOTS)
        return []
    scalings = list(dict.fromkeys(r.weight_scaling for r in rows))
    fig, axes = plt.subplots(1, len(scalings), figsize=(5.5 * len(scalings), 4), squeeze=False)
    for ax, scaling in zip(axes[0], scalings):
        ax.axhline(rows[0].digital_accuracy_ratio * 100, color="k", ls="--", label="digital")
        styles = {"clip_only": dict(ls=":", marker="^", lw=2.5), "round_only": dict(ls="--", marker="v", lw=2.5),
                  "round_and_clip": dict(ls="-", marker="o", lw=1.2, color="C3")}
        for setting in ("clip_only", "round_only", "round_and_clip"):  # the real ADC on top
            sel = [r for r in rows if r.weight_scaling == scaling and r.adc_setting == setting]
            ax.semilogx([r.aihwkit_out_bound for r in sel],
                        [r.naive_accuracy_ratio * 100 for r in sel],
                        label=setting.replace("_", " "), **styles[setting])
        ax.set_xlabel("output bound (aihwkit out_bound = full_scale_ratio x 128 rows)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_ylim(0, 102)
        ax.set_title(f"float weights, {scaling.replace('_', ' ')} w_max")
        ax.grid(alpha=0.3, which="both")
    axes[0][0].legend(fontsize=8, loc="lower center")
    fig.suptitle(f"Digits MLP on analog crossbars: accuracy vs ADC output bound "
                 f"({rows[0].adc_bits}-bit ADC)")
    fig.tight_layout()
    fig.savefig(out / "accuracy_vs_output_bound.png", dpi=110)
    plt.close(fig)
    return ["accuracy_vs_output_bound.png"]


def readme(rows: list[BoundRow], cfg: BoundConfig, plots: list[str]) -> str:
    """The study's README.md, its table and figures quoted from `rows`."""
    lines = [
        "# pim_bound: analog (float-weight) crossbar accuracy vs ADC output bound",
        "",
        "Generated by `python -m accelerators.studies.pim_bound --out results/pim_bound` "
        f"(seed {cfg.seed}); nothing here is edited by hand.",
        "",
        "The digits MLP of `results/pim_noise` (64-128-128-10, w4a4 QAT) deployed with its real",
        "weights as conductance pairs (`weight_format: float`, no bit slicing), one 4-bit input",
        f"pulse per vector, {ROWS}-row crossbars and a {cfg.adc_bits}-bit bipolar ADC whose output",
        "bound (`full_scale_ratio` of the largest column sum), clipping and rounding are separate",
        "settings, as in IBM aihwkit's `IOParameters` (`out_bound`, `out_res`). The bound is given",
        "as aihwkit's out_bound (one full-scale input on one g_max weight = 1): full_scale_ratio x",
        f"{ROWS}.",
        "",
        "| w_max | ADC setting | out_bound | naive | + BN cal. |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r.weight_scaling} | {r.adc_setting} | {r.aihwkit_out_bound:g} | "
                     f"{100 * r.naive_accuracy_ratio:.1f} % | "
                     f"{100 * r.bn_calibrated_accuracy_ratio:.1f} % |")
    lines += ["", f"Digital accuracy of the same model (4-bit integer weights): "
              f"{100 * rows[0].digital_accuracy_ratio:.1f} %.", ""]
    if plots:
        lines += ["## Plot", ""] + [f"![{p}]({p})" for p in plots] + [""]
    lines += [
        "## Notes", "",
        "- round_and_clip is a real converter: a small bound clips large sums, a large one spends",
        "  the codes on sums that never occur (a coarse LSB); clip_only (no rounding, aihwkit",
        "  out_res <= 0) isolates the clipping, round_only (no bound) the resolution.",
        "- Naive = no calibration; BN cal. = batch-norm statistics re-estimated through the",
        "  crossbars on training data. No noise or cell variation: only the ADC's bound and steps.",
    ]
    return "\n".join(lines) + "\n"


def run_study(out: str | Path, cfg: BoundConfig = BoundConfig()) -> list[BoundRow]:
    """Sweep, then write the table (and plot, README) into `out`; return the rows."""
    out = output_dir(Path(out))
    rows = sweep(cfg)
    write_csv(out / "accuracy_vs_output_bound.csv", [dataclasses.asdict(r) for r in rows],
              float_format=".6g")
    plots = make_plot(out, rows) if cfg.plots else []
    write_atomic(out / "README.md", readme(rows, cfg, plots))
    return rows


def _run(out: Path, args: argparse.Namespace) -> list[BoundRow]:
    cfg = dataclasses.replace(SMALL if args.small else BoundConfig(), seed=args.seed)
    with _single_blas_thread():
        return run_study(out, cfg)


def main(argv=None) -> int:
    """`python -m accelerators.studies.pim_bound --out DIR [--seed N] [--small]`: exit status."""
    return study_main(argv, _run, prog="python -m accelerators.studies.pim_bound",
                      description=__doc__.split("\n")[0], out_example="results/pim_bound")


if __name__ == "__main__":
    sys.exit(main())
