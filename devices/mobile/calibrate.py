"""Calibrate the kernel efficiencies of mobile presets on published latencies.

The relative efficiencies of the kernel classes (depthwise well below GEMM, and so on) are
assumed in the presets; one common scale per unit is solved here so that a published latency is
reproduced. Run `python -m devices.mobile.calibrate` to print the scales and the efficiency
blocks to paste into the presets (presets are inputs; they say which case calibrated them).

Cases (shared/references.md): TSM, arXiv 2109.13227 — online TSM with a MobileNetV2 backbone at
224x224 compiled by TVM runs in 13 ms on the Jetson Nano GPU and 35 ms on a Galaxy Note8
(Snapdragon 835 CPU). The temporal shift itself moves a fraction of the channels in memory and is
left out: the model is MobileNetV2 at fp32.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from devices.mobile.device import MobileBoard, from_preset
from devices.mobile.spec import KernelEfficiency
from sim import Stream, simulate
from sim.spec import override
from workloads import Network
from workloads.zoo import mobilenetv2


@dataclass(frozen=True)
class CalibrationCase:
    preset: str
    target: str
    model: str
    build: Callable[[], Network]
    latency_s: float
    source: str


CASES = (
    CalibrationCase("jetson_nano", "gpu", "mobilenetv2 (TSM backbone), fp32", mobilenetv2, 13e-3,
                    "TSM arXiv 2109.13227: Jetson Nano GPU, 13 ms"),
    CalibrationCase("snapdragon835", "cpu", "mobilenetv2 (TSM backbone), fp32", mobilenetv2, 35e-3,
                    "TSM arXiv 2109.13227: Galaxy Note8, 35 ms"),
)
"""The published latencies the presets' efficiency scales are solved on."""


def scaled(eff: KernelEfficiency, scale: float) -> KernelEfficiency:
    """Every efficiency times `scale`, capped at 1."""
    return KernelEfficiency(**{name: min(1.0, value * scale) for name, value in eff})


def with_efficiency(board: MobileBoard, target: str, eff: KernelEfficiency) -> MobileBoard:
    """`board` with `target`'s kernel efficiencies replaced (the `--set` override path)."""
    index = board.spec.units.index(board.spec.unit(target))
    return MobileBoard(override(board.spec, {f"units.{index}.efficiency": eff},
                                where="calibration"))


def latency_s(board: MobileBoard, target: str, network: Network) -> float:
    return simulate(Stream(network=network, target=target), board).latency_s


def solve_scale(board: MobileBoard, target: str, network: Network, latency: float,
                *, tolerance: float = 1e-4) -> float:
    """The scale of `target`'s efficiencies at which `network` takes `latency` seconds.

    Latency falls monotonically as the scale grows, so bisection on [1e-3, 1/max efficiency]
    converges; a latency out of that range raises ValueError (the model cannot reach it).
    """
    base = board.spec.unit(target).efficiency
    high = 1.0 / max(value for _, value in base)
    low = 1e-3

    def run(scale: float) -> float:
        return latency_s(with_efficiency(board, target, scaled(base, scale)), target, network)

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
    for case in CASES:
        board = from_preset(case.preset)
        scale = solve_scale(board, case.target, case.build(), case.latency_s)
        eff = scaled(board.spec.unit(case.target).efficiency, scale)
        print(f"{case.preset}/{case.target}: scale {scale:.4f} on {case.source}")
        print("  efficiency: {" + ", ".join(f"{k}: {v:.3g}" for k, v in eff) + "}")


if __name__ == "__main__":
    main()
