"""Speed of the MCU planners: python benchmarks/bench_mcu.py

Prints the time of the layer-by-layer memory plan and of the patch planner searching every
valid split point and n x n patch counts 2..8 for MobileNetV2 at 224x224 (the issue's
figure), best of several repeats on one core.
"""

from __future__ import annotations

import time

from devices.mcu.memory import plan
from devices.mcu.patch import patch_plan
from devices.mcu.device import FAMILY
from workloads.zoo import mcunet, mobilenetv2


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    spec = FAMILY.spec("stm32f746")
    for label, net in (("mobilenetv2 224", mobilenetv2()), ("mcunet-in2 160", mcunet())):
        t_plan = best_of(lambda: plan(net, spec), 5)
        pp = patch_plan(net, spec)
        t_patch = best_of(lambda: patch_plan(net, spec, patch_counts=range(2, 9)), 3)
        n_cuts = len({c.split_index for c in pp.candidates})
        print(f"{label:<18} layer plan {t_plan * 1e3:7.1f} ms | patch planner "
              f"{t_patch * 1e3:7.1f} ms for {len(pp.candidates)} schedules "
              f"({n_cuts} split points x n = 2..8), "
              f"{t_patch / max(1, len(pp.candidates)) * 1e3:.2f} ms per schedule")


if __name__ == "__main__":
    main()
