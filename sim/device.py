"""The plug-in contract: a `Device` declares its engines and prices each op with a pure `Cost`.

A device never touches time or SimPy. `cost(op, target)` says which engines an op occupies, in
which order, and for how long if it had them to itself; the engine (`sim.engine`) owns the clock,
queueing on shared engines and the overlap of independent work.

This module holds the contract itself: the engines a device declares (`EngineSpec`,
`EngineKind`), the `Device` protocol, its optional parts (`NetworkCheck`, `Transfer`,
`NetworkBinding`) with the defaults of `DeviceBase` and the helpers the engine calls them
through. The value a cost function returns (`Cost`, `Phase`) is in `sim.cost`, the names it may
use (`BoundBy`, `MemoryLevel`, `PhaseLabel`, `precision_label`) in `sim.vocabulary`; both are
importable from here too.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from sim.cost import Cost, Phase
from sim.energy import EnergyComponent, parse_component
from sim.vocabulary import BoundBy, MemoryLevel, PhaseLabel, Vocabulary, precision_label
from workloads import Network, Op, OpKind, SpecError
from workloads.liveness import Lifetimes, lifetimes

__all__ = ["FREE_TRANSFER", "BoundBy", "Cost", "Device", "DeviceBase", "EngineKind", "EngineSpec",
           "MemoryLevel", "NetworkBinding", "NetworkCheck", "Phase", "PhaseLabel", "SpecNamed",
           "Transfer", "Vocabulary", "bind_network", "check_network", "precision_label",
           "transfer_cost"]


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

    A device that stores activations at another width than the network states (an MCU runs an
    fp32 network as int8, `Cost.executed_precision`) may also define
    `executed_input_bytes(op, index) -> int` and `executed_output_bytes(op) -> int` (see
    `ExecutedSizes`): the engine then sizes every stored tensor by them (`executed_lifetimes`),
    so the report's peak activation memory is what the device holds; without them tensors
    have the network's own sizes. It may likewise define `executed_weight_bytes(op) -> int`
    (on its own): the report's weight total is then the sum of it over the ops
    (`executed_weight_bytes`), otherwise the network's `weight_bytes`.

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


class ExecutedSizes(Protocol):
    """The optional part of the `Device` contract: tensors and weights at the sizes the device
    stores them. The two activation methods go together (both, or neither);
    `executed_weight_bytes` may be defined with or without them."""

    def executed_input_bytes(self, op: Op, index: int) -> int:
        """Bytes of input `index` of `op` as the device stores it (pure)."""
        ...

    def executed_output_bytes(self, op: Op) -> int:
        """Bytes of `op`'s output as the device stores it, 0 for a view (pure)."""
        ...

    def executed_weight_bytes(self, op: Op) -> int:
        """Bytes of `op`'s parameters as the device stores them (with whatever the device
        keeps beside them, e.g. per-channel quantisation scales), 0 for an op without (pure)."""
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


def executed_lifetimes(device: Device, network: Network) -> Lifetimes:
    """The lifetimes of `network`'s tensors sized as `device` stores them: by its
    `executed_input_bytes` and `executed_output_bytes` when it defines both, otherwise the
    network's own (`network.lifetimes`, computed once per network)."""
    input_bytes = getattr(device, "executed_input_bytes", None)
    output_bytes = getattr(device, "executed_output_bytes", None)
    if input_bytes is None or output_bytes is None:
        return network.lifetimes
    return lifetimes(network, input_bytes, output_bytes)


def executed_weight_bytes(device: Device, network: Network) -> int:
    """Bytes of `network`'s parameters as `device` stores them: the sum of its
    `executed_weight_bytes(op)` over the ops when it defines it, otherwise the network's own
    `weight_bytes` (kept parameters at their declared bit-widths)."""
    weight_bytes = getattr(device, "executed_weight_bytes", None)
    if weight_bytes is None:
        return network.weight_bytes
    return sum(weight_bytes(op) for op in network.ops)


def bind_network(device: Device, network: Network) -> Device:
    """`device.for_network(network)` when the device defines it; otherwise `device` itself.

    Raises whatever the device's method raises."""
    bind = getattr(device, "for_network", None)
    return device if bind is None else bind(network)
