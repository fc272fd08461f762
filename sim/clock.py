"""The simulation clock: integer picoseconds, so simultaneous events tie exactly.

Every time on the SimPy clock (`sim.engine`) is an integer number of picoseconds; streams are
checked against its range (`sim.stream.Stream`) and reports convert back to seconds.
"""

from __future__ import annotations

PS_PER_S = 10**12

MAX_CLOCK_PS = 2**63 - 1
"""Latest simulated time, ps (int64: about 106 days). Reports keep times in int64 arrays, so a
stream whose releases or deadline reach past it (e.g. `--fps 1e-7`) is refused up front."""


def to_ps(seconds: float) -> int:
    """Seconds to integer picoseconds on the simulation clock."""
    return int(round(seconds * PS_PER_S))
