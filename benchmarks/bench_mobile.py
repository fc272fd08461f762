"""Speed of the mobile models: a full ResNet-50 and a DeiT-Base on each preset and unit.

Run: python benchmarks/bench_mobile.py
Prints the median wall time of one simulation (after warm-up; the board's cost memo is
cleared before each timed run, so pricing every op is included), and the simulated latency.
"""

from __future__ import annotations

import statistics
import time

from devices.mobile.device import FAMILY
from sim import Stream, simulate
from workloads.zoo import deit_base, resnet50

PRESETS = ("snapdragon865", "snapdragon888", "snapdragon835", "jetson_agx_xavier", "jetson_nano")


def main(repeats: int = 7) -> None:
    nets = {"resnet50": resnet50(), "deit-base": deit_base()}
    print(f"{'preset':<20}{'unit':<12}{'model':<11}{'ops':>5}{'ms/sim':>9}{'sim latency':>14}")
    for preset in PRESETS:
        board = FAMILY.device(preset)
        for unit in board.targets:
            for name, net in nets.items():
                stream = Stream(network=net, target=unit)
                report = simulate(stream, board)
                times = []
                for _ in range(repeats):
                    board._cache.clear()
                    start = time.perf_counter()
                    simulate(stream, board)
                    times.append(time.perf_counter() - start)
                print(f"{preset:<20}{unit:<12}{name:<11}{len(net):>5}"
                      f"{statistics.median(times) * 1e3:>9.2f}{report.latency_s * 1e3:>11.2f} ms")


if __name__ == "__main__":
    main()
