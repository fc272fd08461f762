"""Speed of the systolic template: a full ResNet-18 (21 conv/fc layers) in os, ws and is.

Run: python benchmarks/bench_systolic.py [--scalesim-python /tmp/scalesim-venv/bin/python]
Prints the median in-process time (after a warm-up) of `sim.systolic.simulate` plus energy over
the 21 layers on a 32x32 array with 64 kB SRAMs, per dataflow (goal: under 5 ms), and, when a
Python with scalesim==3.0.0 is given, the whole-process wall time of SCALE-Sim and of
`edgesim systolic` on the same one-layer config and topology files, and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from accelerators.studies import scalesim_validation as validation
from sim.systolic import Dataflow, Layers, SystolicArray, energy_pj, simulate
from workloads.zoo import resnet18
from timing import median_s

ONE_LAYER = """Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,
Conv2_1a,56,56,3,3,64,64,1,
"""
"""ResNet-18's first 3x3 layer in SCALE-Sim's form (no padding field: 54x54 outputs)."""



def wall_s(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scalesim-python", help="a Python interpreter with scalesim==3.0.0")
    args = parser.parse_args(argv)
    gemms = [op.gemm for op in resnet18().ops if op.gemm is not None]
    print(f"ResNet-18: {len(gemms)} conv/fc layers, 32x32 array, 64 kB SRAMs per operand")
    print(f"{'dataflow':<10}{'median ms':>11}{'total cycles':>15}{'per layer us':>14}")
    for df in Dataflow:
        array = SystolicArray(rows=32, cols=32, dataflow=df, ifmap_sram_bytes=65536,
                              filter_sram_bytes=65536, ofmap_sram_bytes=65536)

        def run():
            layers = Layers.of(gemms)
            return energy_pj(array, layers, simulate(array, layers))

        seconds = median_s(run, 200)
        cycles = int(simulate(array, Layers.of(gemms)).total_cycles.sum())
        print(f"{df.value:<10}{seconds * 1e3:>11.3f}{cycles:>15,}{seconds / len(gemms) * 1e6:>14.1f}")
    if not args.scalesim_python:
        print("SCALE-Sim comparison skipped (give --scalesim-python PATH)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        run = validation.Run("conv", "ws", 32, 32)
        cfg, topo = validation.write_inputs(run, work)
        cfg.write_text(cfg.read_text().replace("Sram" "SzkB:   2", "SramSzkB:   64"))
        topo.write_text(ONE_LAYER)
        layout = work / "layout.csv"
        layout.write_text(validation.LAYOUT)
        edgesim = [sys.executable, "-m", "sim.cli", "systolic", "--config", str(cfg),
                   "--topology", str(topo), "--out", str(work / "edgesim")]
        scalesim = [args.scalesim_python, "-m", "scalesim.scale", "-c", str(cfg), "-t", str(topo),
                    "-l", str(layout), "-p", str(work / "scalesim"), "-s", "N"]
        ours = statistics.median(wall_s(edgesim, work) for _ in range(3))
        theirs = wall_s(scalesim, work)
        print(f"one layer (56x56x64, 3x3, 64 filters; ws 32x32), whole process: "
              f"SCALE-Sim {theirs:.2f} s, edgesim {ours:.2f} s, ratio {theirs / ours:.0f}x")
        start = time.perf_counter()
        array = SystolicArray(rows=32, cols=32, dataflow=Dataflow.WEIGHT_STATIONARY,
                              ifmap_sram_bytes=65536, filter_sram_bytes=65536,
                              ofmap_sram_bytes=65536)
        from accelerators.systolic.scalesim_files import read_topology

        one = Layers.of(layer.gemm for layer in read_topology(topo))
        in_process = median_s(lambda: simulate(array, one), 200)
        print(f"  in-process edgesim for that layer: {in_process * 1e6:.1f} us "
              f"(ratio to SCALE-Sim's whole process {theirs / in_process:,.0f}x); "
              f"{time.perf_counter() - start:.2f} s to measure")


if __name__ == "__main__":
    main()
