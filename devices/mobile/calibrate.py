"""Calibrate the kernel efficiencies of mobile presets on published latencies.

The relative efficiencies of the kernel classes (depthwise well below GEMM, and so on) are
assumed in the presets; one common scale per unit is solved here so that a published latency is
reproduced. Run `python -m devices.mobile.calibrate` to print the scales and the efficiency
blocks to paste into the presets (presets are inputs; they say which case calibrated them).

Cases (shared/references.md): TSM, arXiv 2109.13227 — online TSM with a MobileNetV2 backbone at
224x224 compiled by TVM runs in 13 ms on the Jetson Nano GPU and 35 ms on a Galaxy Note8
(Snapdragon 835 CPU). The temporal shift itself moves a fraction of the channels in memory and is
left out: the model is MobileNetV2 at fp32.

Transformer cases (`CLASS_CASES`) each solve one scale of the GEMM kernel classes only (gemm and
attention: linear and batched-matmul layers run on the same GEMM library), after the kernel
structure (devices/mobile/kernels.py: tiles, waves, per-tile overhead, reduction kernels,
transcendentals) has priced what it can:
- Arm CPU: MobileBERT (arXiv 2004.02984, abstract) is 62 ms on a Pixel 4 and 5.5x faster than
  BERT-base, so BERT-base (sequence 128, fp32, TensorFlow Lite, 4 threads) takes ~341 ms on the
  Snapdragon 855's big cores (derived);
- Adreno GPU: CANAO (arXiv 2009.06823 abstract: its model is 4.1x faster than BERT-base on the
  GPU; arXiv 2106.00526: latency as low as 45 ms) puts BERT-base at ~184 ms (derived, assuming the
  45 ms is that GPU figure, on the Galaxy S20 its authors use; sequence 128 assumed).
Every other transformer figure is held out (results/mobile_validation).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from devices.mobile.device import FAMILY, MobileBoard
from devices.mobile.spec import KernelEfficiency, UnitKind
from sim import Stream, simulate
from sim.spec import override
from workloads import Network
from workloads.zoo import bert_base, mobilenetv2


@dataclass(frozen=True)
class CalibrationCase:
    preset: str
    target: str
    model: str
    build: Callable[[], Network]
    latency_s: float
    source: str
    classes: tuple[str, ...] | None = None
    """Kernel classes (`KernelEfficiency` fields) whose scale this case solves; None: all."""


CASES = (
    CalibrationCase("jetson_nano", "gpu", "mobilenetv2 (TSM backbone), fp32", mobilenetv2, 13e-3,
                    "TSM arXiv 2109.13227: Jetson Nano GPU, 13 ms"),
    CalibrationCase("snapdragon835", "cpu", "mobilenetv2 (TSM backbone), fp32", mobilenetv2, 35e-3,
                    "TSM arXiv 2109.13227: Galaxy Note8, 35 ms"),
)
"""The published latencies the presets' common efficiency scales are solved on."""

GEMM_CLASSES = ("gemm", "attention")
"""The kernel classes a transformer case calibrates: linear layers and attention matmuls."""


def _bert_base_fp16() -> Network:
    return bert_base(seq_len=128).quantized("float16")


CLASS_CASES = (
    CalibrationCase("snapdragon855", "cpu", "BERT-base, seq 128, fp32", lambda: bert_base(seq_len=128),
                    62e-3 * 5.5, "MobileBERT arXiv 2004.02984 (derived): Pixel 4 CPU, 62 ms x 5.5",
                    GEMM_CLASSES),
    CalibrationCase("snapdragon865", "gpu", "BERT-base, seq 128, fp16", _bert_base_fp16,
                    45e-3 * 4.1, "CANAO arXiv 2106.00526 / 2009.06823 (derived): 45 ms x 4.1",
                    GEMM_CLASSES),
)
"""Transformer latencies, each solving one scale of the GEMM classes of its unit kind: the Arm
CPU one is pasted into every Arm CPU preset, the Adreno one into the Adreno presets (the Jetson
GPUs keep their CNN-derived values: no transformer measurement on them was found)."""


TRANSFORMER_SCALES = {"cpu": 1.873, "gpu": 0.1496}
"""The GEMM-class scales `main` solved on `CLASS_CASES` (Arm CPU, Adreno GPU), as pasted into
the presets: the presets' gemm and attention efficiencies are the CNN-era values times these.
Kept so the validation study can show the model before this calibration; a test re-solves them."""


def transformer_scale(preset: str, unit: UnitKind) -> float:
    """The GEMM-class scale a preset's unit carries: every Arm CPU the CPU one, the Adreno GPUs
    (Snapdragon presets) the GPU one, the Jetson GPUs none (1.0: no transformer case)."""
    if unit is UnitKind.CPU:
        return TRANSFORMER_SCALES["cpu"]
    return TRANSFORMER_SCALES["gpu"] if preset.startswith("snapdragon") else 1.0


def scaled(eff: KernelEfficiency, scale: float,
           classes: tuple[str, ...] | None = None) -> KernelEfficiency:
    """The efficiencies of `classes` (None: every class) times `scale`, capped at 1."""
    return KernelEfficiency(**{
        name: min(1.0, value * scale)
        if value is not None and (classes is None or name in classes) else value
        for name, value in eff})


def with_efficiency(board: MobileBoard, target: str, eff: KernelEfficiency) -> MobileBoard:
    """`board` with `target`'s kernel efficiencies replaced (the `--set` override path)."""
    index = board.spec.units.index(board.spec.unit(target))
    return MobileBoard(override(board.spec, {f"units.{index}.efficiency": eff},
                                where="calibration"))


def latency_s(board: MobileBoard, target: str, network: Network) -> float:
    return simulate(Stream(network=network, target=target), board).latency_s


def solve_scale(board: MobileBoard, target: str, network: Network, latency: float,
                *, classes: tuple[str, ...] | None = None, tolerance: float = 1e-4) -> float:
    """The scale of `target`'s efficiencies (of `classes` only, when given) at which `network`
    takes `latency` seconds.

    Latency falls monotonically as the scale grows, so bisection on [1e-3, 1/max efficiency]
    converges; a latency out of that range raises ValueError (the model cannot reach it).
    """
    base = board.spec.unit(target).efficiency
    high = 1.0 / max(value for name, value in base
                     if value is not None and (classes is None or name in classes))
    low = 1e-3

    def run(scale: float) -> float:
        return latency_s(with_efficiency(board, target, scaled(base, scale, classes)), target,
                         network)

    if not run(high) <= latency <= run(low):
        raise ValueError(f"{board.name}/{target}: {latency * 1e3:.3g} ms is out of the model's reach")
    while high - low > tolerance * high:
        mid = (low + high) / 2
        if run(mid) > latency:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def main() -> None:
    for case in CASES + CLASS_CASES:
        board = FAMILY.device(case.preset)
        scale = solve_scale(board, case.target, case.build(), case.latency_s, classes=case.classes)
        eff = scaled(board.spec.unit(case.target).efficiency, scale, case.classes)
        which = "all classes" if case.classes is None else "+".join(case.classes)
        print(f"{case.preset}/{case.target}: scale {scale:.4f} of {which} on {case.source}")
        print("  efficiency: {" + ", ".join(f"{k}: {v:.3g}" for k, v in eff) + "}")


if __name__ == "__main__":
    main()
