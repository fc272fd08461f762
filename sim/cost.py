"""What one op costs on a device: `Phase`s on engines, grouped in stages, with energy and bytes.

A `Cost` is a pure value a device returns from `cost(op, target)`: its stages run in order and
the phases of one stage concurrently; `prefetch` phases (weight loads) may start once every
producer of the op has started. Its energy is keyed by `sim.energy.EnergyComponent`, its bytes
by `sim.vocabulary.MemoryLevel`, what bounds it by `BoundBy`; every key and duration is checked
when the cost is made (SpecError), so the engine can trust it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from sim.energy import EnergyComponent, parse_component
from sim.vocabulary import BoundBy, MemoryLevel, PhaseLabel
from workloads import SpecError

_PHASE_LABELS = PhaseLabel._value2member_map_
_MEMORY_LEVELS = MemoryLevel._value2member_map_
_BOUNDS = BoundBy._value2member_map_
_set = object.__setattr__


@dataclass(frozen=True, slots=True)
class Phase:
    """One engine busy for `duration_s` seconds."""

    engine: str
    duration_s: float
    label: PhaseLabel = PhaseLabel.COMPUTE
    """What the phase does; a `PhaseLabel` member or its value (converted; anything else is a
    SpecError)."""
    variant: str | None = None
    """A device's finer name for the kernel (e.g. the sparse format 'block' of a mobile GEMM);
    None: none. Timelines show `name`."""
    name: str = field(init=False, repr=False, compare=False)
    """What timelines and exports show: the label's value, '/variant' appended when set."""

    def __post_init__(self) -> None:
        # Direct lookups, not PhaseLabel(label): a sweep builds every phase of every op afresh.
        label = _PHASE_LABELS.get(self.label) if isinstance(self.label, str) else None
        if label is None:
            label = PhaseLabel.parse(self.label, f"phase on {self.engine!r}")  # raises
        _set(self, "label", label)
        variant = self.variant
        if variant is None:
            _set(self, "name", label._value_)
        elif isinstance(variant, str) and variant:
            _set(self, "name", f"{label._value_}/{variant}")
        else:
            raise SpecError(f"phase on {self.engine!r}: variant must be a non-empty str or None "
                            f"(got {variant!r})")


def _frozen_levels(mapping: Mapping) -> Mapping[MemoryLevel, float]:
    levels: dict[MemoryLevel, float] = {}
    for key, value in mapping.items():
        level = _MEMORY_LEVELS.get(key) if isinstance(key, str) else None
        if level is None:
            level = MemoryLevel.parse(key, "cost bytes_moved")  # raises
        levels[level] = levels.get(level, 0) + value
    return _frozen_floats(levels, "bytes_moved")


def _frozen_floats(mapping: Mapping[str, float], what: str) -> Mapping[str, float]:
    for key, value in mapping.items():
        if not math.isfinite(value) or value < 0:
            raise SpecError(f"cost {what}[{key!r}] must be finite and >= 0 (got {value!r})")
    return MappingProxyType(dict(mapping))


def _frozen_energy(mapping: Mapping) -> Mapping[EnergyComponent, float]:
    energy: dict[EnergyComponent, float] = {}
    # A member (or its value) is looked up directly: EnergyComponent(key) costs ~1 us a key,
    # a quarter of pricing a cost from scratch as a sweep point does for every op.
    members = EnergyComponent._value2member_map_
    for key, value in mapping.items():
        comp = members.get(key) if isinstance(key, str) else None
        if comp is None:
            comp = parse_component(key, "cost energy_j")
        energy[comp] = energy.get(comp, 0.0) + value
    return _frozen_floats(energy, "energy_j")


@dataclass(frozen=True, kw_only=True, slots=True)
class Cost:
    """What one op costs on a device, independent of anything else running."""

    stages: tuple[tuple[Phase, ...], ...]
    """Run in order; the phases of one stage run concurrently on distinct engines."""
    prefetch: tuple[Phase, ...] = ()
    """Phases that may start once all producers have started (weight loads)."""
    energy_j: Mapping[EnergyComponent, float] = field(default_factory=dict)
    """Dynamic energy by component, J. Keys are `EnergyComponent` members (or their values,
    which are converted); anything else is a SpecError."""
    bytes_moved: Mapping[MemoryLevel, int] = field(default_factory=dict)
    """Bytes moved per memory level. Keys are `MemoryLevel` members (or their values, which
    are converted); anything else is a SpecError."""
    bound_by: BoundBy = BoundBy.COMPUTE
    """What limits the op (for reports); a `BoundBy` member or its value (converted)."""
    executed_precision: str | None = None
    """The format the device actually ran (a `precision_label`), when it is not the one the op
    asked for (e.g. 'w16a16' for fp32 on a fixed-point datapath); None: ran as requested."""
    peak_macs_per_s: float | None = None
    """Peak MAC rate of the unit the op's MACs ran on, at the executed precision (for
    utilization = MACs / (latency x peak)); None when the device does not say."""

    def __post_init__(self) -> None:
        stages = tuple(tuple(stage) for stage in self.stages)
        object.__setattr__(self, "stages", stages)
        object.__setattr__(self, "prefetch", tuple(self.prefetch))
        object.__setattr__(self, "energy_j", _frozen_energy(self.energy_j))
        if self.peak_macs_per_s is not None and not (
                math.isfinite(self.peak_macs_per_s) and self.peak_macs_per_s > 0):
            raise SpecError(f"cost peak_macs_per_s must be > 0 (got {self.peak_macs_per_s!r})")
        object.__setattr__(self, "bytes_moved", _frozen_levels(self.bytes_moved))
        bound = _BOUNDS.get(self.bound_by) if isinstance(self.bound_by, str) else None
        object.__setattr__(self, "bound_by", bound or BoundBy.parse(self.bound_by, "cost bound_by"))
        for stage in stages:
            if not stage:
                raise SpecError("cost has an empty stage")
            engines = [p.engine for p in stage]
            if len(set(engines)) != len(engines):
                raise SpecError(f"cost stage uses an engine twice: {engines}")
        for phase in self.phases:
            if not math.isfinite(phase.duration_s) or phase.duration_s < 0:
                raise SpecError(f"phase on {phase.engine!r} has duration {phase.duration_s!r} s")
            if not math.isfinite(phase.duration_s * 1e12):  # the engine's clock is integer ps
                raise SpecError(
                    f"phase on {phase.engine!r} lasts {phase.duration_s:.3g} s, beyond the "
                    "simulation clock; check the device's times and rates for a typo")

    @classmethod
    def serial(cls, *phases: Phase, **fields) -> Cost:
        """A cost whose phases run one after another."""
        return cls(stages=tuple((p,) for p in phases), **fields)

    @property
    def phases(self) -> tuple[Phase, ...]:
        """Every phase, prefetch first."""
        return self.prefetch + tuple(p for stage in self.stages for p in stage)

    @property
    def latency_s(self) -> float:
        """Time from inputs ready to done when nothing else runs (prefetch hidden)."""
        return sum(max(p.duration_s for p in stage) for stage in self.stages)

    @property
    def dynamic_energy_j(self) -> float:
        return sum(self.energy_j.values())
