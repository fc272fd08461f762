"""FPGA vs mobile energy efficiency (after "Mobile or FPGA?", arXiv 2106.09166).

    python -m accelerators.fpga.study_vs_mobile --out results/fpga_vs_mobile

Runs ResNet-18, MobileNetV2 and DeiT-Tiny under four compression settings on the FPGA presets
and the phone / Jetson boards through `edgesim compare` (devices by registry name, so this
module imports no device), then adds to the generated README what drives the result, computed
from the same rows.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence
from pathlib import Path

from sim import Registry
from sim.compare import DeviceChoice, compare, write
from sim.export import write_atomic
from workloads.atomic import staged_directory

MODELS = ("resnet18", "mobilenetv2", "deit-tiny")
SETTINGS = ("w8a8+fuse", "block:0.75+w8a8+fuse", "channel:0.5+w8a8+fuse", "mixed:w4a8:0.5+fuse")
FPGAS = ("fpga-zcu102", "fpga-xc7z045", "fpga-xc7z020")
MOBILES = ("snapdragon865:gpu", "snapdragon865:cpu", "snapdragon888:gpu",
           "jetson-agx-xavier:gpu", "jetson-nano:gpu")
COMMAND = "python -m accelerators.fpga.study_vs_mobile --out results/fpga_vs_mobile"


def _energy(rows, model: str, device: str) -> float:
    """Geometric mean over settings of one model's energy per inference on one device, mJ."""
    values = [r["energy_per_inference_mj"] for r in rows
              if r["model"] == model and f"{r['device']}:{r['target']}".startswith(device)
              and not r["error"]]
    return statistics.geometric_mean(values)


def _static_share(rows, device: str) -> float:
    shares = [float(r["top_energy_component"].split("(")[1].split(" ")[0]) for r in rows
              if r["device"] == device and r["top_energy_component"].startswith("static")]
    return statistics.mean(shares) if shares else 0.0


def analysis(rows) -> str:
    """What drives the comparison, in numbers taken from `rows`."""
    zcu = {m: _energy(rows, m, "fpga-zcu102") for m in MODELS}
    s20 = {m: _energy(rows, m, "snapdragon865:gpu") for m in MODELS}
    ratio = {m: s20[m] / zcu[m] for m in MODELS}
    lines = [
        "## What drives the result", "",
        "Energy per inference, geometric mean over the four settings: ZCU102 vs the Galaxy S20 "
        "GPU (ratio > 1: the FPGA spends less):", "",
        "| model | ZCU102 mJ | S20 GPU mJ | S20 / ZCU102 |", "|---|---|---|---|",
        *[f"| {m} | {zcu[m]:.3g} | {s20[m]:.3g} | {ratio[m]:.2f} |" for m in MODELS], "",
        f"- Static power: on the FPGA boards the largest energy share is static and "
        f"processing-system power ({_static_share(rows, 'fpga-zcu102'):.0f} % on the ZCU102, "
        f"{_static_share(rows, 'fpga-xc7z020'):.0f} % on the XC7Z020, averaged where static "
        "leads). Those coefficients are assumed (accelerators/fpga/presets), so the FPGA's "
        "standing moves with them; a phone SoC idles far lower.",
        "- Depthwise convolutions: this FPGA engine maps a grouped convolution one group at a "
        f"time, so MobileNetV2 is where the FPGA loses most (S20 / ZCU102 = "
        f"{ratio['mobilenetv2']:.2f}); accelerators with a depthwise engine do not pay this.",
        "- Dense ResNet-style convolutions keep the DSP and LUT arrays full: there the ZCU102 "
        + ("spends less than" if ratio["resnet18"] > 1 else "comes closest to")
        + f" the S20 GPU (S20 / ZCU102 = {ratio['resnet18']:.2f}).",
        "- Transformers: the phone GPU model is optimistic for transformers by roughly 4x "
        "(results/mobile_validation), so for DeiT-Tiny the true phone energy is likely several "
        f"times the {s20['deit-tiny']:.3g} mJ shown, which would put the FPGA ahead.",
        "- The Jetson AGX Xavier's int8 Tensor Cores finish fastest; its 30 W-mode power makes "
        "its energy close to the phones' rather than far below.",
        "- The float32 FPGA baseline (device fpga-zcu102-fp32) is left out: quantized FPGA "
        "designs run float layers as 16-bit fixed point, so only compressed settings compare "
        "like for like.",
    ]
    return "\n".join(lines) + "\n"


def run(out: Path, *, registry: Registry | None = None, models: Sequence[str] = MODELS,
        settings: Sequence[str] = SETTINGS, devices: Sequence[str] = FPGAS + MOBILES) -> list[dict]:
    registry = registry or Registry.from_entry_points()
    rows = compare(registry, models, settings, [DeviceChoice.parse(d) for d in devices])
    write(rows, out, COMMAND)
    if set(models) == set(MODELS) and "fpga-zcu102" in devices and "snapdragon865:gpu" in devices:
        readme = out / "README.md"
        write_atomic(readme, readme.read_text() + "\n" + analysis(rows))
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m accelerators.fpga.study_vs_mobile")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    with staged_directory(args.out) as out:  # the folder lands whole or not at all
        rows = run(out)
    print(f"wrote {args.out} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
