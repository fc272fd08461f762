"""Speed of the FPGA models: the cycle-accurate 8x8 tile, and the analytic device in sweeps.

Run: python benchmarks/bench_fpga_rtl.py
Prints (1) simulated cycles per second of an 8x8 W4A8 tile (4 power-of-two rows) on PyRTL's
CompiledSimulation and FastSimulation, for a run of 256 tiles of 32 beats, with the one-off
netlist and simulator build times; (2) the analytic device: allocations per second (one per
design point of a sweep), costs per second over DeiT-Base's ops, and one DeiT-Base simulation.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from accelerators.fpga.accelerator import allocate
from accelerators.fpga.factories import build_device, load_design
from accelerators.fpga.parts import load_part
from accelerators.fpga.rtl.reference import random_case, reference_tile
from accelerators.fpga.rtl.simulate import SimulatorKind, make_simulator
from accelerators.fpga.rtl.tile import TileSpec, build_tile
from sim import simulate
from workloads.zoo import deit_base


def bench_tile() -> None:
    spec = TileSpec(rows=8, cols=8, weight_bits=4, act_bits=8, pot_rows=4, out_shift=5)
    start = time.perf_counter()
    circuit = build_tile(spec)
    print(f"tile {spec.label}: netlist built in {time.perf_counter() - start:.3f} s, "
          f"{len(circuit.block.logic)} nets")
    case = random_case(spec, k=8 * 32, n_tiles=256, rng=np.random.default_rng(0))
    expected = reference_tile(spec, case.acts, case.codes)
    for kind in (SimulatorKind.COMPILED, SimulatorKind.FAST):
        start = time.perf_counter()
        sim = make_simulator(circuit, kind)
        built = time.perf_counter() - start
        rates = []
        for _ in range(3):
            start = time.perf_counter()
            run = sim.run(case)
            rates.append(run.cycles / (time.perf_counter() - start))
            assert np.array_equal(run.outputs, expected)
        print(f"  {run.simulator:>8}: built in {built:.2f} s; {statistics.median(rates):,.0f} "
              f"simulated cycles/s ({run.cycles} cycles per run, median of 3, inputs included)")


def bench_device() -> None:
    part = load_part("xczu9eg")
    spec = load_design()
    n = 200
    start = time.perf_counter()
    for i in range(n):
        # model_copy skips validation, so the figure is the allocator's alone (the values are valid)
        allocate(part, spec.model_copy(update={"cols": 16 + (i % 4) * 16,
                                               "lut_row_ratio": 0.1 + (i % 8) / 10}))
    per_alloc = (time.perf_counter() - start) / n
    print(f"allocate: {per_alloc * 1e6:.0f} us per design point ({1 / per_alloc:,.0f}/s)")
    device = build_device(part, spec)
    net = deit_base().quantized("mixed", weight_bits=4, activation_bits=8, pot_ratio=0.5)
    start = time.perf_counter()
    for op in net.ops:
        device.cost(op, "fpga")
    per_cost = (time.perf_counter() - start) / len(net.ops)
    print(f"cost: {per_cost * 1e6:.1f} us per op ({len(net.ops)} DeiT-Base ops)")
    times = []
    for _ in range(3):
        start = time.perf_counter()
        simulate(net, device)
        times.append(time.perf_counter() - start)
    print(f"simulate DeiT-Base ({len(net.ops)} ops) on fpga-zcu102: "
          f"{statistics.median(times) * 1e3:.1f} ms (median of 3)")


if __name__ == "__main__":
    bench_tile()
    bench_device()
