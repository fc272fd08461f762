"""A stream: one network run once, or periodically with a deadline, on one target of a device.

`sim.simulate` plays a list of streams; each is checked here when it is made (frame count,
period, deadline, offset and jitter, the clock's range, the ops its placement names), so a bad
stream is a SpecError before anything is priced.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from sim.clock import MAX_CLOCK_PS, PS_PER_S
from workloads import Network, SpecError


@dataclass(frozen=True, kw_only=True)
class Stream:
    """A network run once, or periodically with a deadline, on one target of the device."""

    network: Network
    name: str = ""
    """Defaults to the network's name; must be unique in a run."""
    target: str = ""
    """Unit of the device to run on; '' means the device's default (first) target."""
    period_s: float = 0.0
    """Time between frame releases; 0 for a single frame."""
    n_frames: int = 1
    deadline_s: float = math.inf
    """Relative deadline of each frame (release to finish)."""
    offset_s: float = 0.0
    """Release time of the first frame."""
    jitter_s: float = 0.0
    """Each release is delayed by a uniform draw from [0, jitter_s) (seeded)."""
    priority: int = 0
    """Lower values win contended engines."""
    placement: Mapping[str, str] = field(default_factory=dict)
    """Op name -> target, overriding `target` for those ops (e.g. pin a layer to the CPU). An op
    that reads a tensor made on another target first pays the device's `transfer` for it
    (`sim.placement` chooses placements from the device's costs)."""
    model_args: Mapping[str, object] = field(default_factory=dict)
    """Arguments the network's model was built with (e.g. {'width': 0.5}), for the report."""

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.network.name)
        object.__setattr__(self, "placement", MappingProxyType(dict(self.placement)))
        object.__setattr__(self, "model_args", MappingProxyType(dict(self.model_args)))
        if self.n_frames < 1:
            raise SpecError(f"stream {self.name!r}: 'n_frames' must be >= 1 (got {self.n_frames})")
        if self.n_frames > 1 and not self.period_s > 0:
            raise SpecError(f"stream {self.name!r}: several frames need 'period_s' > 0")
        for field_name in ("period_s", "offset_s", "jitter_s"):
            value = getattr(self, field_name)
            if not math.isfinite(value) or value < 0:
                raise SpecError(f"stream {self.name!r}: {field_name!r} must be >= 0 (got {value})")
        if not self.deadline_s > 0:
            raise SpecError(f"stream {self.name!r}: 'deadline_s' must be > 0 (got {self.deadline_s})")
        horizon_s = self.offset_s + self.n_frames * self.period_s + self.jitter_s
        if horizon_s * PS_PER_S > MAX_CLOCK_PS:
            raise SpecError(
                f"stream {self.name!r}: its frames are released until {horizon_s:.4g} s, past the "
                f"clock's range (MAX_CLOCK_PS = {MAX_CLOCK_PS / PS_PER_S:.4g} s); use fewer frames "
                "or a shorter period"
            )
        unknown = set(self.placement) - {op.name for op in self.network.ops}
        if unknown:
            raise SpecError(f"stream {self.name!r}: placement names unknown ops {sorted(unknown)}")
