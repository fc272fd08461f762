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
from workloads import Compression, Network, Op, OpKind, QuantScheme, SpecError


class _Vocabulary(str, enum.Enum):
    """A closed set of names a `Cost` may use, str-valued like `sim.energy.EnergyComponent`:
    a member equals (and hashes as) its value, so `bytes_moved["dram"]` finds
    `MemoryLevel.DRAM`, and CSV/JSON carry the value."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        # f"{member}" is its value on every Python version (3.11 would give the member name).
        return format(self.value, spec)

    @classmethod
    def parse(cls, key, where: str):
        """`key` (a member or its value) as a member; SpecError naming `where` and the members."""
        member = cls._value2member_map_.get(key) if isinstance(key, str) else None
        if member is None:
            raise SpecError(f"{where}: {key!r} is not a {cls.__name__}, one of "
                            f"{[m.value for m in cls]}; use a sim.{cls.__name__} member "
                            "(or add one there)")
        return member


class BoundBy(_Vocabulary):
    """What limits an op's time (`Cost.bound_by`), for reports and `edgesim compare`."""

    COMPUTE = "compute"
    """The datapath (MAC array, SIMD lanes, vector unit, mapping unit) is the longest phase."""
    MEMORY = "memory"
    """Data movement (DRAM or buffer bandwidth, a stalled array) outlasts compute."""
    FLASH = "flash"
    """An MCU's weight reads from flash (wait states) outlast compute: memory-bound on flash."""
    OVERHEAD = "overhead"
    """Fixed per-op costs (kernel launch, loop and call overhead) outlast compute and memory."""
    FREE = "free"
    """The op costs nothing here (a view: reshape, flatten); its cost has no stages."""
    FOLDED = "folded"
    """A priced op whose kernel takes zero cycles (folded into its neighbours' loops)."""
    FUSED = "fused"
    """Executed inside another op's kernel (a point-cloud op fused into its producer)."""


class MemoryLevel(_Vocabulary):
    """Where bytes move (`Cost.bytes_moved` keys): the levels devices report traffic at."""

    DRAM = "dram"
    """Off-chip DRAM (LPDDR, DDR, GDDR), through any on-chip cache."""
    CACHE = "cache"
    """A CPU/GPU cache hierarchy (last-level cache traffic that does not reach DRAM)."""
    SRAM = "sram"
    """On-chip SRAM: an accelerator's scratchpad, an MCU's main memory."""
    BRAM = "bram"
    """An FPGA's block RAM."""
    BUFFER = "buffer"
    """A PIM tile's activation buffer (eDRAM/SRAM beside the crossbars)."""
    FLASH = "flash"
    """An MCU's on-chip flash, read in place for weights."""
    INTERCONNECT = "interconnect"
    """Bytes carried by the on-chip network between tiles (traffic, not storage)."""


class PhaseLabel(_Vocabulary):
    """What a phase does (`Phase.label`); the timeline and the JSON export show its value."""

    COMPUTE = "compute"
    """The op's main compute on its unit."""
    ACTIVATIONS = "activations"
    """Moving the op's input and output activations (DMA, DDR stream, PIM buffer)."""
    WEIGHTS = "weights"
    """Loading (or writing into crossbars) the op's weights; usually a prefetch phase."""
    LOAD = "load"
    """Reading the op's inputs into the unit (a DMA load from memory)."""
    STORE = "store"
    """Writing the op's outputs back to memory."""
    LAUNCH = "launch"
    """Issuing the op (a kernel launch, a command to an accelerator) before its work starts."""
    DRAM = "dram"
    """DRAM traffic beside the compute phase, on a memory engine."""
    VECTOR = "vector"
    """Elementwise and reduction work on a vector unit."""
    POST_PROCESS = "post-process"
    """Vector work after an array's matrix product (bias, activation, requantization)."""
    GEMM = "gemm"
    """A matrix product (a GPU GEMM kernel, a point-cloud matrix unit)."""
    GEMV = "gemv"
    """A matrix-vector product (a linear layer on one row)."""
    CONV3X3 = "conv3x3"
    """A spatial (k > 1) convolution kernel."""
    CONV1X1 = "conv1x1"
    """A pointwise convolution kernel."""
    DEPTHWISE = "depthwise"
    """A depthwise convolution kernel."""
    ATTENTION = "attention"
    """An attention matrix product (q k^T, attention x v)."""
    ELEMENTWISE = "elementwise"
    """An elementwise kernel (activation, add, scale)."""
    SOFTMAX_NORM = "softmax_norm"
    """A reduction kernel (softmax, layer or batch norm)."""
    MEMORY = "memory"
    """A data-movement kernel (concat, transpose, copies, upsample)."""
    MAPPING = "mapping"
    """Point-cloud mapping: sampling, neighbour search, sorting."""
    DISTANCE = "distance"
    """Point-cloud pairwise distances on the matrix unit (neighbour search)."""
    KERNEL_MAP = "kernel_map"
    """Building a sparse convolution's kernel map (input-output pairs)."""
    GATHER = "gather"
    """Gathering rows by index (grouping, a sparse convolution's inputs)."""
    SCATTER = "scatter"
    """Scattering rows by index with a reduction."""
    GATHER_SCATTER = "gather_scatter"
    """A GPU kernel that gathers or scatters rows by index."""
    TRANSFER = "transfer"
    """Handing a tensor from one target to another (`Device.transfer`): a cache flush or
    invalidate, a queue synchronisation, or a copy, before the op that reads it."""


_PHASE_LABELS = PhaseLabel._value2member_map_
_MEMORY_LEVELS = MemoryLevel._value2member_map_
_BOUNDS = BoundBy._value2member_map_
_set = object.__setattr__


class EngineKind(enum.Enum):
    """What an engine is. `Report.utilization_by_kind()` sums busy time by it."""

    COMPUTE = "compute"
    DMA = "dma"
    MEMORY = "memory"


@dataclass(frozen=True, kw_only=True, slots=True)
class EngineSpec:
    """A unit ops queue for: a compute array, a DMA channel, a memory port.

    Internal, not a user-facing spec: no device file or `--set` reaches it. Each device builds
    its engines in code (`Device.engines`) from its own `sim.spec.DeviceSpec`, whose fields are
    what files and `--set` change, so it stays a frozen dataclass; `__post_init__` guards a
    plug-in author's call (SpecError on an empty name, capacity < 1 or a negative or
    non-finite static power).
    """

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


def cost_memo() -> dict:
    """A device's per-instance memo of pure costs, as a dataclass field: not part of the
    device's identity (equality, repr). Read it through `memoized`."""
    return field(default_factory=dict, compare=False, repr=False)


def memoized(memo: dict, key, price):
    """`memo[key]`, computed once by `price()`: costs are pure and ops frozen and hashable, so a
    device prices each (op, target) once however often a sweep or a stream asks."""
    value = memo.get(key)
    if value is None:
        value = memo[key] = price()
    return value


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
    """What the engine needs from a piece of hardware. Implementations are immutable.

    Besides the members below, a device may define `check(network, target) -> None` (see
    `NetworkCheck`): `simulate` calls it once per stream, through `check_network`, before any
    op is priced, so a whole network that cannot be placed (a PIM chip whose crossbars cannot
    hold all stationary weights) is refused at once with DoesNotFitError. A device without it
    accepts every network whose op kinds it supports; `DeviceBase` gives that no-op default.

    A device may also define `transfer(n_bytes, source, dest) -> Cost` (see `Transfer`): what
    handing `n_bytes` produced on target `source` to an op on target `dest` costs. The engine
    runs it before every op that reads a tensor made on another target; a device without it
    (or `DeviceBase`'s default) hands tensors over for free.

    A device may also define `for_network(network) -> Device` (see `NetworkBinding`):
    `simulate` calls it once per stream, through `bind_network`, and prices that stream's ops
    on the device it returns, so a device can work out whole-network facts once (the
    point-cloud accelerator replays the index streams a `PointCloudNetwork` carries through its
    cache). The result must declare the same engines and targets; without the method (or with
    `DeviceBase`'s default) the device prices every network as it is.

    Every built-in device also states, for its report summary (plug-ins should too):
    `energy_model: sim.energy.EnergyModel` (its energy method, what it leaves out and assumes)
    and `unit_text(target) -> str` (the unit as simulated, with its clock, e.g. '512 ALUs at
    587 MHz', for the summary's 'unit' line).
    """

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


@runtime_checkable
class NetworkCheck(Protocol):
    """The optional part of the `Device` contract: a whole-network check before pricing."""

    def check(self, network: Network, target: str) -> None:
        """Raise DoesNotFitError if `network` cannot be placed on `target` as a whole; pure."""
        ...


@runtime_checkable
class Transfer(Protocol):
    """The optional part of the `Device` contract: the cost of a tensor crossing targets."""

    def transfer(self, n_bytes: int, source: str, dest: str) -> Cost:
        """The pure cost of handing `n_bytes` written on target `source` to an op on `dest`
        (source != dest): its stages run before that op's own, on whichever engines the
        device names; an empty Cost (no stages, no energy) when the hand-off is free."""
        ...


FREE_TRANSFER = Cost(stages=())
"""A hand-off that costs nothing (`DeviceBase.transfer`)."""


class NetworkBinding(Protocol):
    """The optional part of the `Device` contract: a device specialised to one network."""

    def for_network(self, network: Network) -> Device:
        """This device with whatever it works out once for `network` (pure; same engines and
        targets); the device itself when there is nothing to work out."""
        ...


class DeviceBase:
    """A base class a device may inherit for the protocol's defaults: `check` accepts all,
    `transfer` is free, `for_network` returns the device unchanged."""

    __slots__ = ()

    def check(self, network: Network, target: str) -> None:
        """Accept every network: no whole-network limit beyond each op's own cost."""

    def transfer(self, n_bytes: int, source: str, dest: str) -> Cost:
        """Hand every tensor between targets for free (a device with one target, or one whose
        units share their memory at no cost)."""
        return FREE_TRANSFER

    def for_network(self, network: Network) -> Device:
        """The device itself: it prices every network's ops the same way."""
        return self


def transfer_cost(device: Device, n_bytes: int, source: str, dest: str) -> Cost:
    """`device.transfer(n_bytes, source, dest)` when the device defines it; otherwise free.

    Raises whatever the device's transfer raises."""
    transfer = getattr(device, "transfer", None)
    if transfer is None or source == dest:
        return FREE_TRANSFER
    return transfer(n_bytes, source, dest)


def check_network(device: Device, network: Network, target: str) -> None:
    """Run `device.check(network, target)` when the device defines it; otherwise do nothing.

    Raises whatever the device's check raises (DoesNotFitError for a network that cannot be
    placed)."""
    check = getattr(device, "check", None)
    if check is not None:
        check(network, target)


def bind_network(device: Device, network: Network) -> Device:
    """`device.for_network(network)` when the device defines it; otherwise `device` itself.

    Raises whatever the device's method raises."""
    bind = getattr(device, "for_network", None)
    return device if bind is None else bind(network)
