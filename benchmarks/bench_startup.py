"""Start-up of a whole `edgesim run` process, this tree beside an older git revision.

Run: python benchmarks/bench_startup.py [--against REV] [--repeats N] [DEVICE[=MODEL] ...]
Each repeat runs `python -m sim.cli run MODEL --device DEVICE` (default model resnet18) once in
this tree and once in REV's (interleaved, so machine noise hits both alike) and prints the
median and minimum wall time of the whole process: interpreter start, imports, the registry's
look-up of the device, the simulation and the summary. REV's tree is `git archive`d into a
temporary folder with its own package metadata (`setup.py egg_info` from its pyproject.toml), so
its entry points are its own; run from that folder, its modules shadow the installed ones.
Default REV f83989f: the last revision whose presets were each an `edgesim.devices` entry point.
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CASES = ("snapdragon865", "roofline-adreno650", "pointacc", "fpga-zcu102", "stm32f746=mcunet")


def tree_at(rev: str, folder: Path) -> Path:
    """The files of git revision `rev` in `folder`, with package metadata for its entry points."""
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data") if sys.version_info >= (3, 12) else tar.extractall(folder)
    subprocess.run([sys.executable, "-c", "from setuptools import setup; setup()", "-q", "egg_info"],
                   cwd=folder, check=True, capture_output=True)
    return folder


def run_s(cwd: Path, model: str, device: str) -> float:
    """Wall time of one `python -m sim.cli run MODEL --device DEVICE` process started in `cwd`, s."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sim.cli", "run", model, "--device", device], cwd=cwd,
                   check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="f83989f", help="git revision to compare with")
    parser.add_argument("--repeats", type=int, default=11, help="processes per tree and case")
    parser.add_argument("cases", nargs="*", default=DEFAULT_CASES, metavar="DEVICE[=MODEL]")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"now": ROOT, args.against: tree_at(args.against, Path(tmp))}
        print(f"whole-process `python -m sim.cli run`, wall ms, {args.repeats} processes per tree, "
              "interleaved")
        print(f"{'model on device':<30}{'tree':>10}{'median':>9}{'min':>9}")
        for case in args.cases:
            device, _, model = case.partition("=")
            model = model or "resnet18"
            times: dict[str, list[float]] = {name: [] for name in trees}
            for _ in range(args.repeats):
                for name, cwd in trees.items():
                    times[name].append(run_s(cwd, model, device))
            for name, ts in times.items():
                print(f"{model + ' on ' + device:<30}{name:>10}{statistics.median(ts) * 1e3:>9.1f}"
                      f"{min(ts) * 1e3:>9.1f}")


if __name__ == "__main__":
    main()
