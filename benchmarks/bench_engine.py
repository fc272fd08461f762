"""Speed of the engine: ResNet-50 on a roofline device, growth with op count and with frames.

Run: python benchmarks/bench_engine.py [--against REV]
Prints wall time per simulation after warm-up (median and minimum of repeats; the machines are
shared and noisy), warm (the device's cost memo primed, as in a sweep) and cold (a fresh
device, every op priced), for ResNet-50 at about 1x, 4x and 16x its op count; then a periodic
stream that falls behind (period shorter than its latency, so the engine's queues grow with
the frame count) at 25-200 frames (CPU time, min of 5), with the fitted exponent of time
against frames.
With --against REV (default e4f1a6a: main's engine when the heap-queue engine was merged, one
SimPy process per op with `simpy.PriorityResource`s, and the same records; an engine older than
main's energy account, such as 31f397b, cannot build today's `OpRecord`) the engine of that git
revision is loaded from `git show` and timed in the same run, interleaved, for a side-by-side
ratio (at a revision after sim/engine.py was split, its sibling modules `ENGINE_MODULES` are
loaded from that revision too; devices, costs and reports always come from the working tree). Deeper variants are ResNet-50 with k times as many bottleneck blocks in
every stage: still one serial chain of real layers, so the engine's work grows with depth alone.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

import sim.engine
from devices.roofline import FAMILY as ROOFLINE
from workloads import Network
from workloads.zoo import resnet18, resnet50
from workloads.zoo.resnet import _bottleneck, _resnet

ROOT = Path(__file__).resolve().parents[1]


def deeper_resnet50(factor: int) -> Network:
    """ResNet-50 with `factor` x (3, 4, 6, 3) bottleneck blocks per stage."""
    depths = tuple(factor * d for d in (3, 4, 6, 3))
    # _resnet is the zoo's own builder; the benchmark only changes the block counts.
    return _resnet(f"resnet50-depth{factor}x", "ResNet-50 deepened", _bottleneck, depths,
                   batch=1, resolution=224, num_classes=1000)


ENGINE_MODULES = ("clock", "stream", "checks", "plan", "queues", "execution", "report_assembly")
"""The modules sim/engine.py was split into: at a revision that has them, they are loaded from
that revision too (the rest of `sim`, the devices and workloads come from the working tree)."""


def _git_show(rev: str, path: str) -> str | None:
    shown = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, capture_output=True,
                           text=True)
    return shown.stdout if shown.returncode == 0 else None


def engine_at(rev: str):
    """The `sim.engine` module as it was at git revision `rev`, imported under another name,
    with the engine's own modules (`ENGINE_MODULES`) of that revision where it has them."""
    folder = Path(tempfile.mkdtemp())
    sources = {"engine": _git_show(rev, "sim/engine.py")}
    if sources["engine"] is None:
        raise SystemExit(f"no sim/engine.py at git revision {rev!r}")
    sources.update({m: _git_show(rev, f"sim/{m}.py") for m in ENGINE_MODULES})
    present = [m for m, text in sources.items() if text is not None]
    module = None
    # Leaves first, so each module's imports of its siblings find the revision's copies.
    for name in [m for m in ENGINE_MODULES if m in present] + ["engine"]:
        text = sources[name]
        for sibling in present:
            text = text.replace(f"from sim.{sibling} import", f"from {sibling}_before import")
        path = folder / f"{name}_before.py"
        path.write_text(text)
        spec = importlib.util.spec_from_file_location(f"{name}_before", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses and sibling imports look it up there
        spec.loader.exec_module(module)
    return module


def time_simulation(engines: dict, work, make_device, repeats: int) -> dict[str, dict]:
    """Per engine: warm/cold median and minimum wall time of one simulation, s. Engines are
    interleaved in every repeat so that machine noise hits them alike."""
    device = make_device()
    for engine in engines.values():
        engine.simulate(work, device)  # warm-up: imports, the device's cost memo
    times = {name: {"warm": [], "cold": []} for name in engines}
    for _ in range(repeats):
        for name, engine in engines.items():
            start = time.perf_counter()
            engine.simulate(work, device)
            times[name]["warm"].append(time.perf_counter() - start)
            fresh = make_device()
            start = time.perf_counter()
            engine.simulate(work, fresh)
            times[name]["cold"].append(time.perf_counter() - start)
    return {name: {"warm_median": statistics.median(t["warm"]), "warm_min": min(t["warm"]),
                   "cold_median": statistics.median(t["cold"])} for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="e4f1a6a", help="git revision to compare with ('' for none)")
    args = parser.parse_args()
    engines = {"now": sim.engine}
    if args.against:
        engines[args.against] = engine_at(args.against)
    base = resnet50()
    print(f"engine benchmark: {base.name} on {ROOFLINE.device('roofline_adreno650').name}, wall time per simulation, one core")
    print(f"{'variant':<22}{'engine':>9}{'ops':>7}{'warm ms':>9}{'(min)':>8}{'cold ms':>9}"
          f"{'warm us/op':>12}")
    for factor, repeats in ((1, 30), (4, 8), (16, 3)):
        net = base if factor == 1 else deeper_resnet50(factor)
        result = time_simulation(engines, net, partial(ROOFLINE.device, "roofline_adreno650"), repeats)
        for name, t in result.items():
            print(f"{net.name:<22}{name:>9}{len(net):>7}{t['warm_median'] * 1e3:>9.2f}"
                  f"{t['warm_min'] * 1e3:>8.2f}{t['cold_median'] * 1e3:>9.2f}"
                  f"{t['warm_median'] / len(net) * 1e6:>12.1f}")
        if len(result) == 2:
            now, before = result.values()
            print(f"{'':<22}{'ratio':>9}{'':>7}{before['warm_median'] / now['warm_median']:>8.2f}x"
                  f"{before['warm_min'] / now['warm_min']:>7.2f}x")

    # A stream that falls behind: ResNet-18 every 1 ms on a device where it takes ~4 ms.
    net = resnet18()
    frame_counts = (25, 50, 100, 200)
    print(f"\nfalling-behind stream: {net.name} every 1 ms on {ROOFLINE.device('roofline_adreno650').name} "
          f"(latency {sim.engine.simulate(net, ROOFLINE.device('roofline_adreno650')).latency_s * 1e3:.1f} ms), CPU s, min of 5")
    print(f"{'engine':>9}" + "".join(f"{n:>9}" for n in frame_counts) + f"{'exponent':>10}")
    for name, engine in engines.items():
        device = ROOFLINE.device("roofline_adreno650")
        row = []
        for n in frame_counts:
            stream = engine.Stream(network=net, period_s=1e-3, n_frames=n)
            if name != "now" and n > 100:
                row.append(math.nan)  # the old engine takes minutes here
                continue
            best = math.inf
            for _ in range(5):  # CPU time: less hit than wall time by other users' load
                start = time.process_time()
                engine.simulate(stream, device)
                best = min(best, time.process_time() - start)
            row.append(best)
        ok = [(n, t) for n, t in zip(frame_counts, row) if math.isfinite(t)]
        slope = np.polyfit(np.log([n for n, _ in ok]), np.log([t for _, t in ok]), 1)[0]
        print(f"{name:>9}" + "".join(f"{t:>9.3f}" if math.isfinite(t) else f"{'-':>9}" for t in row)
              + f"{slope:>10.2f}")


if __name__ == "__main__":
    sys.exit(main())
