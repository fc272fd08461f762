"""Speed of the functional crossbar model: a 1024x1024 layer, a batch of 256, 8-bit operands.

Run: python benchmarks/bench_pim.py
Prints the median wall time (after a warm-up) of `crossbar_matmul`'s run step for the layer on
128x128 crossbars, for the decomposition schemes (bit-serial 1-bit DAC on 2-bit cells, and one
8-bit DAC pulse on full-precision cells), with an 8-bit ADC with and without thermal noise; plus
the time to program the weights, and the exact digital x @ w for scale.
"""

from __future__ import annotations


import numpy as np

from accelerators.pim.adc import AdcSpec
from accelerators.pim.crossbar import CrossbarSpec, program, run
from timing import median_s



def main() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (256, 1024))
    w = rng.integers(-127, 128, (1024, 1024))
    print("crossbar_matmul benchmark: x (256, 1024) uint8 @ w (1024, 1024) int8, 128x128 crossbars")
    print(f"{'scheme':<44}{'column sums':>13}{'program s':>11}{'run s':>9}")
    cases = [
        ("bit-serial, 2-bit cells, 8-bit ADC", dict(cell_bits=2, dac_bits=1), AdcSpec()),
        ("bit-serial, 2-bit cells, 8-bit ADC + noise", dict(cell_bits=2, dac_bits=1),
         AdcSpec(noise_std=0.5)),
        ("8-bit DAC, 7-bit cells, 8-bit ADC + noise", dict(cell_bits=7, dac_bits=8),
         AdcSpec(noise_std=0.5)),
    ]
    for label, geometry, adc in cases:
        spec = CrossbarSpec(rows=128, cols=128, input_bits=8, weight_bits=8, adc=adc, **geometry)
        prog_s = median_s(lambda: program(w, spec, rng), 3)
        prog = program(w, spec, rng)
        run_s = median_s(lambda: run(prog, x, rng), 3)
        sums = prog.n_row_tiles * spec.n_input_slices * spec.n_weight_slices * 1024 * 256
        print(f"{label:<44}{sums:>13,}{prog_s:>11.3f}{run_s:>9.3f}")
    digital_s = median_s(lambda: x @ w, 3)
    print(f"{'exact digital x @ w (int64)':<44}{'':>13}{'':>11}{digital_s:>9.3f}")


if __name__ == "__main__":
    main()
