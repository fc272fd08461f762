"""What a simulation returns: frozen records of every op and frame, and the totals over them.

The engine builds a `Report`; it never touches the filesystem (see `sim.export` for files).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata

import numpy as np

from sim.device import BoundBy, EngineKind, MemoryLevel
from sim.energy import EnergyComponent
from sim.summary import summary_text


@dataclass(frozen=True, slots=True)
class OpRecord:
    """One op of one frame as it ran."""

    stream: str
    frame: int
    op: str
    kind: str
    target: str
    engines: str
    """Engines its stages used, joined by '+'."""
    ready_s: float
    """When all its inputs were ready."""
    start_s: float
    """When its first stage got its engine (ready_s + queueing)."""
    end_s: float
    bound_by: BoundBy
    macs: int
    """Effective MACs (after sparsity)."""
    bytes_moved: Mapping[MemoryLevel, int]
    energy_j: float
    """Dynamic energy of the op, J."""
    phases: tuple[tuple[str, str, float, float], ...]
    """(engine, label, start_s, end_s) of each phase as it ran, in order of finishing."""
    requested_precision: str
    """The numeric format the op asked for (`sim.device.precision_label`), e.g. 'fp32'."""
    executed_precision: str
    """The format the device ran; differs from requested_precision only for a substitute."""
    energy_by_component_j: Mapping[EnergyComponent, float] = field(default_factory=dict)
    """Dynamic energy of the op by component, J (sums to energy_j)."""
    peak_macs_per_s: float | None = None
    """Peak MAC rate of the unit it ran on at the executed precision; None if not stated."""

    @property
    def latency_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def substituted(self) -> bool:
        """True when the device ran another precision than the op asked for."""
        return self.executed_precision != self.requested_precision

    @property
    def mac_utilization(self) -> float | None:
        """MACs / (latency x peak MAC/s), 0-1; None without MACs, latency or a stated peak."""
        if not self.macs or self.peak_macs_per_s is None or self.latency_s <= 0:
            return None
        return self.macs / (self.latency_s * self.peak_macs_per_s)

    @property
    def wait_s(self) -> float:
        return self.start_s - self.ready_s


@dataclass(frozen=True, slots=True)
class FrameRecord:
    """One frame (one inference) of a stream."""

    stream: str
    frame: int
    release_s: float
    finish_s: float
    latency_s: float
    deadline_s: float
    missed: bool


@dataclass(frozen=True, slots=True)
class StreamStats:
    """Latency statistics of one stream over its frames."""

    stream: str
    n_frames: int
    mean_latency_s: float
    p50_latency_s: float
    p90_latency_s: float
    p99_latency_s: float
    max_latency_s: float
    deadline_s: float
    deadline_misses: int


@functools.cache  # the installed version cannot change in a process; the look-up takes ~0.15 ms
def edgesim_version() -> str:
    """The installed edgesim distribution's version ('unknown' when run from a bare checkout)."""
    try:
        return importlib_metadata.version("edgesim")
    except importlib_metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """What one stream ran: its network, unit and precision (for summaries and exports)."""

    stream: str
    network: str
    target: str
    batch: int
    """Frames the network processes together (`Network.batch`)."""
    n_ops: int
    macs_per_frame: int
    """Effective MACs of one frame (after sparsity)."""
    requested_precisions: tuple[str, ...]
    """Distinct formats the ops asked for, most MACs first."""
    executed_precisions: tuple[str, ...]
    """Distinct formats the device ran, most MACs first."""
    substitutions: tuple[tuple[str, str, int], ...]
    """(requested, executed, number of ops) for each substitution the device made."""
    compressions: tuple[str, ...] = ()
    """Distinct compressions of the weighted ops as requested (`Compression.label`), most MACs
    first, e.g. ('block:0.75 w8a8',)."""
    model_args: Mapping[str, object] = field(default_factory=dict)
    """Arguments the model was built with (e.g. {'width': 0.5}); empty when none were given."""
    batch_text: str = ""
    """The summary's 'batch' line (`Network.batch_text`, e.g. '1 point set (1,024 points)');
    empty: the batch number."""


@dataclass(frozen=True)
class RunMetadata:
    """What makes a run reproducible: seed, version, and hashes of what ran where.

    The hashes are computed on first use (an export), not by every simulation: a sweep runs
    thousands of new networks whose trace digests it never reads.
    """

    seed: int
    edgesim_version: str
    device: str
    device_hash: str = field(init=False)
    """sha256 of the device's repr (its full spec for dataclass devices), first 16 hex digits."""
    streams: tuple[tuple[str, str], ...] = field(init=False)
    """(stream name, sha256 of the network's trace, first 16 hex digits)."""

    @classmethod
    def of(cls, seed: int, device, streams: Sequence) -> RunMetadata:
        meta = cls(seed=seed, edgesim_version=edgesim_version(), device=device.name)
        object.__setattr__(meta, "_hashed_from", (device, tuple(streams)))
        return meta

    def __getattr__(self, name: str):
        # Only reached for attributes not yet set: the two hashes, before their first use.
        sources = self.__dict__.get("_hashed_from")
        if name not in ("device_hash", "streams") or sources is None:
            raise AttributeError(name)
        device, streams = sources
        object.__setattr__(self, "device_hash", hashlib.sha256(repr(device).encode()).hexdigest()[:16])
        object.__setattr__(self, "streams", tuple((s.name, s.network.digest[:16]) for s in streams))
        return self.__dict__[name]

    def __getstate__(self) -> dict:
        self.device_hash  # noqa: B018 - hash now: the device and networks are not pickled
        return {k: v for k, v in self.__dict__.items() if k != "_hashed_from"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)


@dataclass(frozen=True)
class Report:
    """Everything one simulation measured. Totals in SI units."""

    device: str
    duration_s: float
    """Simulated time: until the last op ends, or the end of the last stream period."""
    ops: tuple[OpRecord, ...]
    frames: tuple[FrameRecord, ...]
    energy_by_component_j: Mapping[str, float]
    """Dynamic energy per component summed over ops, plus 'static' (static power x duration)."""
    bytes_by_level: Mapping[MemoryLevel, float]
    peak_activation_bytes: int
    """Peak bytes of live activation tensors over the simulated schedule."""
    weight_bytes: int
    """Bytes of the weights of all streams' networks as the device stores them
    (`sim.device.executed_weight_bytes`: an MCU's int8 parameters and scales)."""
    metadata: RunMetadata
    engines: tuple[str, ...] = ()
    """Names of the device's engines (busy or not)."""
    engine_capacity: Mapping[str, int] = field(default_factory=dict)
    """Slots of each engine (identical cores), for utilization."""
    engine_kinds: Mapping[str, EngineKind] = field(default_factory=dict)
    """What each engine is (compute, DMA, memory), for `utilization_by_kind`."""
    streams: tuple[StreamInfo, ...] = ()
    """What each stream ran, in the order given."""
    energy_model: str | None = None
    """The device's statement of its energy method (`EnergyModel.text()`); None if unstated."""
    units: Mapping[str, str] = field(default_factory=dict)
    """Target -> the unit as simulated, with its clock (`unit_text`), for the targets used."""

    @property
    def latency_s(self) -> float:
        """Mean frame latency over all frames. For one network that is its latency; for several
        networks it mixes them: use `stream_stats()` (the summary never prints this then)."""
        return float(np.mean([f.latency_s for f in self.frames]))

    @property
    def substituted(self) -> bool:
        """True when any op ran at another precision than it asked for."""
        return any(s.substitutions for s in self.streams)

    def stream_energy_j(self, stream: str) -> dict[EnergyComponent, float]:
        """Dynamic energy of one stream's ops by component, over all its frames, J (static
        energy belongs to the run, not to a stream)."""
        out: dict[EnergyComponent, float] = {}
        for r in self.ops:
            if r.stream == stream:
                for comp, e in r.energy_by_component_j.items():
                    out[comp] = out.get(comp, 0.0) + e
        return out

    def utilization(self) -> dict[str, float]:
        """Busy fraction of each engine over the simulated time (busy_s / (duration x slots))."""
        if self.duration_s <= 0:
            return dict.fromkeys(self.busy_s(), 0.0)
        return {e: b / (self.duration_s * self.engine_capacity.get(e, 1))
                for e, b in self.busy_s().items()}

    def utilization_by_kind(self) -> dict[EngineKind, float]:
        """Busy fraction of each kind of engine over the simulated time: the busy time of its
        engines / (duration x their slots); only kinds the device has. An engine missing from
        `engine_kinds` counts as COMPUTE (the `EngineSpec` default)."""
        busy: dict[EngineKind, float] = {}
        slots: dict[EngineKind, int] = {}
        for e, b in self.busy_s().items():
            kind = self.engine_kinds.get(e, EngineKind.COMPUTE)
            busy[kind] = busy.get(kind, 0.0) + b
            slots[kind] = slots.get(kind, 0) + self.engine_capacity.get(e, 1)
        if self.duration_s <= 0:
            return dict.fromkeys(busy, 0.0)
        return {k: b / (self.duration_s * slots[k]) for k, b in busy.items()}

    def mac_utilization(self, stream: str | None = None) -> float | None:
        """Achieved / peak MAC rate over the ops that state a peak (of `stream`, or all):
        sum of MACs / sum of latency x peak; None when no op states one."""
        macs = capacity = 0.0
        for r in self.ops:
            if (stream is None or r.stream == stream) and r.macs and r.peak_macs_per_s:
                macs += r.macs
                capacity += r.latency_s * r.peak_macs_per_s
        return macs / capacity if capacity > 0 else None

    @property
    def energy_j(self) -> float:
        return sum(self.energy_by_component_j.values())

    @property
    def energy_per_frame_j(self) -> float:
        return self.energy_j / len(self.frames)

    @property
    def average_power_w(self) -> float:
        return self.energy_j / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def throughput_per_s(self) -> float:
        """Frames finished per second of simulated time."""
        return len(self.frames) / self.duration_s if self.duration_s > 0 else float("inf")

    @property
    def macs(self) -> int:
        """Effective MACs executed."""
        return sum(r.macs for r in self.ops)

    @property
    def deadline_misses(self) -> int:
        return sum(f.missed for f in self.frames)

    def stream_stats(self) -> tuple[StreamStats, ...]:
        """Latency percentiles and deadline misses per stream."""
        stats = []
        for name in dict.fromkeys(f.stream for f in self.frames):
            frames = [f for f in self.frames if f.stream == name]
            lat = np.array([f.latency_s for f in frames])
            p50, p90, p99 = np.percentile(lat, [50, 90, 99])
            stats.append(
                StreamStats(
                    stream=name,
                    n_frames=len(frames),
                    mean_latency_s=float(lat.mean()),
                    p50_latency_s=float(p50),
                    p90_latency_s=float(p90),
                    p99_latency_s=float(p99),
                    max_latency_s=float(lat.max()),
                    deadline_s=frames[0].deadline_s,
                    deadline_misses=sum(f.missed for f in frames),
                )
            )
        return tuple(stats)

    def busy_s(self) -> dict[str, float]:
        """Busy time per engine (sum of its phases' spans; 0 for idle engines), s."""
        busy: dict[str, float] = dict.fromkeys(self.engines, 0.0)
        for r in self.ops:
            for engine, _, start, end in r.phases:
                busy[engine] = busy.get(engine, 0.0) + (end - start)
        return busy

    def summary(self) -> str:
        """A plain-text summary table."""
        return summary_text(self)
