"""The plug-in contract: a `Device` declares its engines and prices each op with a pure `Cost`.

A device never touches time or SimPy. `cost(op, target)` says which engines an op occupies, in
which order, and for how long if it had them to itself; the engine (`sim.engine`) owns the clock,
queueing on shared engines and the overlap of independent work.

An op's cost is a sequence of *stages*; the phases in one stage run concurrently (each on its own
engine) and the stage ends when the last of them ends. `prefetch` phases (weight loads) may start
before the op's inputs are ready: as soon as every producer of the op has started, which models a
double-buffered weight buffer one op deep.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol, runtime_checkable

from sim.energy import EnergyComponent, parse_component
from workloads import Compression, Op, OpKind, QuantScheme, SpecError


class EngineKind(enum.Enum):
    """What an engine is; used to group timeline tracks and for reporting."""

    COMPUTE = "compute"
    DMA = "dma"
    MEMORY = "memory"


@dataclass(frozen=True, kw_only=True, slots=True)
class EngineSpec:
    """A unit ops queue for: a compute array, a DMA channel, a memory port."""

    name: str
    kind: EngineKind = EngineKind.COMPUTE
    capacity: int = 1
    """Phases it can serve at once (e.g. identical cores)."""
    static_power_w: float = 0.0
    """Power drawn for the whole simulated time, busy or idle (leakage, clocks), W."""
    static_component: EnergyComponent = EnergyComponent.STATIC
    """Component the static power is booked to (HOST for a processing system kept on)."""

    def __post_init__(self) -> None:
        if not self.name:
            raise SpecError("engine needs a name")
        object.__setattr__(self, "static_component",
                           parse_component(self.static_component, f"engine {self.name!r}"))
        if self.capacity < 1:
            raise SpecError(f"engine {self.name!r}: 'capacity' must be >= 1 (got {self.capacity})")
        if not math.isfinite(self.static_power_w) or self.static_power_w < 0:
            raise SpecError(f"engine {self.name!r}: 'static_power_w' must be >= 0")


@dataclass(frozen=True, slots=True)
class Phase:
    """One engine busy for `duration_s` seconds."""

    engine: str
    duration_s: float
    label: str = "compute"
    """What the phase does: 'compute', 'load', 'store', 'weights', 'launch', ..."""


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


def precision_label(comp: Compression) -> str:
    """The numeric format of a compression, without its sparsity: 'fp32', 'fp16', 'w8a8',
    'pot:w4a8', 'mixed:w4a8:0.5', 'mp:w4a8:8:0.25' (the CLI's --quant spellings)."""
    if comp.quant is QuantScheme.FLOAT32:
        return "fp32"
    if comp.quant is QuantScheme.FLOAT16:
        return "fp16"
    bits = f"w{comp.weight_bits}a{comp.activation_bits}"
    if comp.quant is QuantScheme.POWER_OF_TWO:
        return f"pot:{bits}"
    if comp.quant is QuantScheme.MIXED:
        return f"mixed:{bits}:{comp.pot_ratio:g}"
    if comp.quant is QuantScheme.MULTI_PRECISION:
        return f"mp:{bits}:{comp.high_bits}:{comp.high_ratio:g}"
    return bits


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
    bytes_moved: Mapping[str, int] = field(default_factory=dict)
    """Bytes moved per memory level ('dram', 'sram', 'flash', ...)."""
    bound_by: str = "compute"
    """What limits the op: 'compute', 'memory', 'overhead', ... (for reports)."""
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
        object.__setattr__(self, "bytes_moved", _frozen_floats(self.bytes_moved, "bytes_moved"))
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


class SpecNamed:
    """Base of a device built from a declarative spec (`sim.spec.DeviceSpec`, in `.spec`): its
    registry `name` and one-line `description` are the spec's."""

    __slots__ = ()

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def description(self) -> str:
        return self.spec.description


@runtime_checkable
class Device(Protocol):
    """What the engine needs from a piece of hardware. Implementations are immutable."""

    name: str
    """Registry name, e.g. 'snapdragon865'."""
    description: str
    """One line for `edgesim list`."""
    engines: tuple[EngineSpec, ...]
    targets: tuple[str, ...]
    """Units a network can be placed on (e.g. ('gpu', 'cpu')); the first is the default."""

    def supported_kinds(self, target: str) -> frozenset[OpKind]:
        """Op kinds `cost` accepts on `target`."""
        ...

    def cost(self, op: Op, target: str) -> Cost:
        """The pure cost of `op` on `target`. Raises DoesNotFitError if it cannot fit."""
        ...


# Optional: a device may also define `check(network, target) -> None`, which `simulate` calls
# once per stream before any op is priced, to refuse a whole network that cannot be placed
# (e.g. a PIM chip whose crossbars cannot hold all stationary weights) with DoesNotFitError.
#
# Every built-in device also states, for its report summary (plug-ins should too):
# - `energy_model: sim.energy.EnergyModel`: its energy method, what it leaves out and assumes;
# - `unit_text(target) -> str`: the unit as simulated, with its clock (e.g. '512 ALUs at
#   587 MHz'), for the summary's 'unit' line.
