"""Compare platforms: the same compressed workloads on several devices, one table.

`edgesim compare --model resnet18 --model mobilenetv2 --setting fp32 --setting block:0.75+w8a8
--device snapdragon865:gpu --device fpga-zcu102 --out DIR` runs every model x setting x device,
and writes `compare.csv` (latency, energy per inference, inferences per joule, average power,
energy per inference by `sim.energy.EnergyComponent`, one column each so any two devices line
up, the largest component, the device's energy method, requested and executed precision),
`compare.png` when matplotlib is installed, and a README that names the winner of each
workload by energy and by latency, with the numbers that explain it.

Precision is honest: a device that ran a documented substitute (e.g. fp32 as 16-bit fixed
point) gets `substituted` = True and its executed precision in its own column; it is never
ranked against devices that ran what was asked: the README lists it apart, with its numbers.

A setting is a '+'-joined list of transforms applied in order: a pruning spec (`block:0.75`,
`channel:0.5`), a quantization spec (`w8a8`, `fp16`, `mixed:w4a8:0.5`, `mp:w4a8:8:0.25`), and
`fuse`; `fp32` (or `dense`) alone means no compression. A design point that does not fit its
device (DoesNotFitError) or that the device cannot run (UnsupportedOpError) is a row whose
`error` column says why, not a failure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sim.device import planned_for
from sim.energy import EnergyComponent
from sim.engine import Stream, simulate
from sim.export import write_atomic
from sim.tables import pyplot, save_figure, write_csv
from sim.registry import Registry
from workloads import DoesNotFitError, Network, SpecError, UnsupportedOpError
from workloads.atomic import staged_directory
from workloads.settings import apply_setting

ENERGY_COLUMNS = tuple(f"energy_{c.value}_mj" for c in EnergyComponent)
"""Energy per inference by component, mJ (static energy included, over the run)."""
COLUMNS = ("model", "setting", "device", "target", "requested_precision", "executed_precision",
           "substituted", "latency_ms", "energy_per_inference_mj", "inferences_per_j",
           "average_power_w") + ENERGY_COLUMNS + ("top_energy_component", "energy_method", "error")


@dataclass(frozen=True)
class DeviceChoice:
    name: str
    target: str
    """'' for the device's default target."""

    @classmethod
    def parse(cls, text: str) -> DeviceChoice:
        name, _, target = text.partition(":")
        if not name:
            raise SpecError(f"--device {text!r}: expected NAME or NAME:TARGET")
        return cls(name, target)

    @property
    def label(self) -> str:
        return f"{self.name}:{self.target}" if self.target else self.name


def compare(registry: Registry, models: Sequence[str | tuple[str, Network]],
            settings: Sequence[str], devices: Sequence[DeviceChoice], *,
            seed: int = 0) -> list[dict]:
    """One row per model x setting x device (see COLUMNS).

    A model is a registered name, or a (label, network) pair (a trace or ONNX file loaded by
    the caller); labels must differ.
    """
    boards = {d.name: registry.resolve_device(d.name) for d in devices}
    rows = []
    labels = [m[0] if isinstance(m, tuple) else m for m in models]
    if len(set(labels)) != len(labels):
        dup = next(label for label in labels if labels.count(label) > 1)
        raise SpecError(f"two models are labelled {dup!r}; give each its own name")
    for entry in models:
        model, base = entry if isinstance(entry, tuple) else (entry, registry.workload(entry))
        for setting in settings:
            network = apply_setting(base, setting)
            for choice in devices:
                row = dict.fromkeys(COLUMNS, "")
                row.update(model=model, setting=setting, device=choice.name,
                           target=choice.target or boards[choice.name].targets[0])
                try:
                    board = planned_for(boards[choice.name], network, row["target"])
                    report = simulate(Stream(network=network, target=choice.target), board,
                                      seed=seed)
                except (DoesNotFitError, UnsupportedOpError) as err:
                    row["error"] = str(err)
                    rows.append(row)
                    continue
                energy = report.energy_per_frame_j
                top = max(report.energy_by_component_j.items(), key=lambda kv: kv[1])
                (info,) = report.streams
                frames = len(report.frames)
                row.update(latency_ms=_sig(report.latency_s * 1e3),
                           requested_precision="+".join(info.requested_precisions),
                           executed_precision="+".join(info.executed_precisions),
                           substituted=bool(info.substitutions),
                           energy_per_inference_mj=_sig(energy * 1e3),
                           inferences_per_j=_sig(1.0 / energy),
                           average_power_w=_sig(report.average_power_w),
                           energy_method=report.energy_model or "not stated",
                           top_energy_component=f"{top[0].value} ({100 * top[1] / report.energy_j:.0f} %)")
                row.update({f"energy_{c.value}_mj": _sig(report.energy_by_component_j.get(c, 0.0)
                                                          * 1e3 / frames)
                            for c in EnergyComponent})
                rows.append(row)
    return rows


def _sig(value: float, digits: int = 5) -> float:
    """`value` rounded to `digits` significant figures (tables stay readable at any scale)."""
    return float(f"{value:.{digits}g}")


def readme(rows: Sequence[dict], command: str) -> str:
    """A README naming, per model and setting, the winner by energy and by latency, and why."""
    lines = [
        "# Platform comparison", "",
        f"Generated by `{command}`; do not edit by hand. Table: `compare.csv`; plot: `compare.png`.",
        "", "| model | setting | most inferences per J | fastest | energy ratio (best / runner-up) |",
        "|---|---|---|---|---|",
    ]
    explanations = []
    wins: dict[str, int] = {}
    for model in dict.fromkeys(r["model"] for r in rows):
        for setting in dict.fromkeys(r["setting"] for r in rows):
            ok = [r for r in rows if r["model"] == model and r["setting"] == setting
                  and not r["error"] and not r["substituted"]]
            if not ok:
                continue
            by_energy = sorted(ok, key=lambda r: r["energy_per_inference_mj"])
            fastest = min(ok, key=lambda r: r["latency_ms"])
            ratio = (by_energy[1]["energy_per_inference_mj"] / by_energy[0]["energy_per_inference_mj"]
                     if len(by_energy) > 1 else math.nan)
            best = by_energy[0]
            winner = f"{best['device']}:{best['target']}"
            wins[winner] = wins.get(winner, 0) + 1
            lines.append(f"| {model} | {setting} | {best['device']}:{best['target']} "
                         f"({best['inferences_per_j']:g}/J) | {fastest['device']}:{fastest['target']} "
                         f"({fastest['latency_ms']:g} ms) | {ratio:.2f}x |")
            if len(by_energy) > 1:
                second = by_energy[1]
                explanations.append(
                    f"- {model}, {setting}: {best['device']}:{best['target']} spends "
                    f"{best['energy_per_inference_mj']:g} mJ ({best['latency_ms']:g} ms at "
                    f"{best['average_power_w']:g} W; largest share {best['top_energy_component']}) "
                    f"against {second['device']}:{second['target']}'s {second['energy_per_inference_mj']:g} mJ "
                    f"({second['latency_ms']:g} ms at {second['average_power_w']:g} W; "
                    f"{second['top_energy_component']}).")
    failed = [r for r in rows if r["error"]]
    substituted = [r for r in rows if not r["error"] and r["substituted"]]
    lines += ["", "Most energy-efficient platform, counted over the workloads: "
              + ", ".join(f"{dev} {n}" for dev, n in sorted(wins.items(), key=lambda kv: -kv[1])) + "."]
    lines += ["", "Why, in numbers (energy = latency x average power):", "", *explanations]
    if substituted:
        lines += ["", "Ran a substitute precision, so not ranked above (executed precision in "
                  "its own column of `compare.csv`):", ""]
        lines += [f"- {r['model']}, {r['setting']} on {r['device']}:{r['target']}: asked "
                  f"{r['requested_precision']}, ran {r['executed_precision']}; "
                  f"{r['energy_per_inference_mj']:g} mJ, {r['latency_ms']:g} ms" for r in substituted]
    if failed:
        lines += ["", "Design points that did not run:", ""]
        lines += [f"- {r['model']}, {r['setting']} on {r['device']}: {r['error']}" for r in failed]
    return "\n".join(lines) + "\n"


def plot(rows: Sequence[dict], path: Path) -> bool:
    """Inferences per joule per workload and device (log scale); False without matplotlib."""
    plt = pyplot()
    if plt is None:
        return False
    ok = [r for r in rows if not r["error"]]
    workloads = list(dict.fromkeys((r["model"], r["setting"]) for r in ok))
    devices = list(dict.fromkeys(f"{r['device']}:{r['target']}" for r in ok))
    if not ok:
        return False
    width = 0.8 / max(1, len(devices))
    fig, ax = plt.subplots(figsize=(max(8, 0.9 * len(workloads)), 5))
    for i, dev in enumerate(devices):
        vals = []
        for model, setting in workloads:
            match = [r for r in ok if r["model"] == model and r["setting"] == setting
                     and f"{r['device']}:{r['target']}" == dev]
            vals.append(match[0]["inferences_per_j"] if match else 0)
        hatches = ["//" if m and m[0]["substituted"] else "" for m in (
            [r for r in ok if r["model"] == model and r["setting"] == setting
             and f"{r['device']}:{r['target']}" == dev] for model, setting in workloads)]
        bars = ax.bar([k + i * width for k in range(len(workloads))], vals, width, label=dev)
        for bar, hatch in zip(bars, hatches):
            bar.set_hatch(hatch)
    ax.set_xticks([k + 0.4 - width / 2 for k in range(len(workloads))])
    ax.set_xticklabels([f"{m}\n{s}" for m, s in workloads], fontsize=7, rotation=30, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("inferences per joule (hatched: substitute precision)")
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    return True


PLOT_MISSING = "compare.png not written: matplotlib is not installed; pip install 'edgesim[plot]'"
"""What `edgesim compare` prints when it cannot draw the plot it promises."""


def write(rows: Sequence[dict], out: Path, command: str) -> list[Path]:
    """Write compare.csv, README.md and (with matplotlib) compare.png into `out`."""
    out = Path(out)
    with staged_directory(out) as staging:  # all files land together or none do
        names = [write_csv(staging / "compare.csv", rows, COLUMNS).name,
                 write_atomic(staging / "README.md", readme(rows, command)).name]
        if plot(rows, staging / "compare.png"):
            names.append("compare.png")
    return [out / name for name in names]
