"""The grammar of a sweep: its spec file, parsed once into a `SweepSpec`, and the checks of its axes.

`load_spec(path)` reads a YAML file strictly, `parse_spec(data)` validates plain data; either
reports every problem (unknown keys, bad axes, an unknown Pareto metric, ranges on a grid, a
constraint naming no axis) in one one-line `SpecError`. `METRICS` are the columns every feasible
row has.
"""

from __future__ import annotations

import enum
import os
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import Field

from sim.spec import Name, Spec, validate
from sim.sweep.constraints import _Constraint
from workloads import SparsityScheme, SpecError, yamlio
from workloads.errors import suggest

MAX_SPEC_BYTES = 1 << 20
"""A sweep spec larger than this (1 MiB) is refused before parsing."""
CONFIRM_POINTS = 1_000_000
"""A sweep of more points than this runs only when confirmed (`yes=True`, `--yes`)."""

Scalar = Union[bool, int, float, str]

METRICS = ("latency_s", "energy_j", "average_power_w", "inferences_per_j", "edp_j_s",
           "peak_activation_bytes", "weight_bytes", "effective_macs", "area_mm2")
"""Columns every feasible row has (energy per inference; EDP = energy x latency); area_mm2 is
the device's `area_mm2` (a number, or the sum of a per-component mapping), None for a device
that states none. Infeasible rows have None for every metric."""


class Method(enum.Enum):
    """How points are drawn from the axes."""

    GRID = "grid"
    RANDOM = "random"
    LHS = "lhs"


class ModelEntry(Spec):
    """A model: a zoo name with builder arguments, or a trace (.json/.yaml) or ONNX file."""

    name: Annotated[str, Field(min_length=1, max_length=400)]
    """Zoo name (`edgesim list workloads`) or path of a trace / ONNX file."""
    args: dict[str, Scalar] = {}
    """Builder keyword arguments (zoo models only), e.g. {resolution: 160}."""


class DeviceEntry(Spec):
    """A device: a preset name or a YAML device file, with fixed overrides."""

    name: Annotated[str, Field(min_length=1, max_length=400)]
    """Preset name (`edgesim list devices`) or path of a YAML device file."""
    target: Name | None = None
    """Unit to run on; None: the device's default (first) target."""
    set: dict[str, Scalar] = {}
    """Dotted-key overrides applied to every point on this device (as `--set`)."""


class Range(Spec):
    """A continuous axis for random and Latin-hypercube sampling."""

    low: float
    high: float
    log: bool = False
    """Sample uniformly in log space (both bounds > 0)."""
    integer: bool = False
    """Round each draw to the nearest integer."""


class Sampling(Spec):
    """How points are drawn."""

    method: Method = Method.GRID
    n_points: Annotated[int, Field(ge=1, le=100_000_000)] | None = None
    """Points to draw (random and lhs); None for grid."""
    seed: int = 0
    """Seed of the numpy Generator (random) or of the scrambled LHS."""


class SweepSpec(Spec):
    """A whole sweep, as parsed from its YAML file."""

    name: Name = "sweep"
    models: Annotated[tuple[Union[str, ModelEntry], ...], Field(min_length=1)]
    settings: Annotated[tuple[Annotated[str, Field(min_length=1)], ...], Field(min_length=1)] = ("fp32",)
    """Compression settings, '+'-joined transforms as in `edgesim compare`."""
    devices: Annotated[tuple[Union[str, DeviceEntry], ...], Field(min_length=1)]
    parameters: dict[str, Union[Annotated[tuple[Scalar, ...], Field(min_length=1)], Range]] = {}
    """More axes: `model.ARG`, `device.KEY`, `prune.SCHEME`, `quant`, `fuse`; lists or ranges."""
    sampling: Sampling = Sampling()
    constraints: tuple[Annotated[str, Field(min_length=1, max_length=1000)], ...] = ()
    """Boolean expressions over the axes; a point where any is false is dropped."""
    pareto: Annotated[tuple[str, ...], Field(min_length=2, max_length=3)] = ("latency_s", "energy_j")
    """Two or three metrics (see METRICS) whose non-dominated points make the Pareto front."""

    def model_entries(self) -> tuple[ModelEntry, ...]:
        return tuple(m if isinstance(m, ModelEntry) else ModelEntry(name=m) for m in self.models)

    def device_entries(self) -> tuple[DeviceEntry, ...]:
        return tuple(d if isinstance(d, DeviceEntry) else DeviceEntry(name=d) for d in self.devices)


def load_spec(path: str | os.PathLike) -> SweepSpec:
    """Parse a sweep spec file strictly; SpecError names the file and every problem."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_SPEC_BYTES:
            raise SpecError(f"{path}: larger than {MAX_SPEC_BYTES:,} bytes; not a sweep spec")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such sweep spec; see examples/sweeps/ for examples") from None
    except (OSError, UnicodeDecodeError) as err:
        raise SpecError(f"{path}: cannot read the sweep spec ({err})") from None
    try:
        data = yamlio.safe_load(text, yaml12_floats=True)
    except yamlio.YamlError as err:
        raise SpecError(f"{path}: {err}") from None
    return parse_spec(data, where=str(path))


def parse_spec(data: Any, *, where: str = "sweep spec") -> SweepSpec:
    """A `SweepSpec` from plain data; every problem in one one-line SpecError."""
    try:
        spec = validate(SweepSpec, data, where=where)
    except SpecError as err:
        raise SpecError("; ".join(str(err).splitlines())) from None
    problems = []
    for key, axis in spec.parameters.items():
        problem = _axis_problem(key, axis)
        if problem:
            problems.append(f"{where}: parameters: {key}: {problem}")
    for metric in spec.pareto:
        if metric not in METRICS:
            problems.append(f"{where}: pareto: unknown metric {metric!r}{suggest(metric, METRICS)}; "
                            f"choose from {list(METRICS)}")
    if spec.sampling.method is Method.GRID:
        ranges = [k for k, a in spec.parameters.items() if isinstance(a, Range)]
        if ranges:
            problems.append(f"{where}: parameters {ranges} are ranges, which a grid cannot "
                            "enumerate; give lists, or use sampling: {method: random} or lhs")
        if spec.sampling.n_points is not None:
            problems.append(f"{where}: sampling: a grid takes every point; drop n_points or "
                            "use method random or lhs")
    elif spec.sampling.n_points is None:
        problems.append(f"{where}: sampling: method {spec.sampling.method.value} needs n_points")
    names = set(axis_names(spec))
    for text in spec.constraints:
        try:
            _Constraint(text, names)
        except SpecError as err:
            problems.append(f"{where}: constraints: {err}")
    if problems:
        raise SpecError("; ".join(problems))
    return spec


PARAMETER_SPACES = ("model.ARG", "device.KEY", "prune.SCHEME", "quant", "fuse")


def _axis_problem(key: str, axis) -> str | None:
    head, _, rest = key.partition(".")
    if key in ("quant", "fuse"):
        values = axis if not isinstance(axis, Range) else None
        if values is None:
            return "takes a list of values, not a range"
        if key == "fuse" and not all(isinstance(v, bool) for v in values):
            return "takes true and/or false"
        if key == "quant":
            from workloads.settings import parse_quant

            for v in values:
                if not isinstance(v, str):
                    return f"takes quantization specs such as w8a8 (got {v!r})"
                parse_quant(v)
        return None
    if head == "prune":
        schemes = [s.value for s in SparsityScheme]
        if rest not in schemes:
            return f"unknown pruning scheme {rest!r}{suggest(rest, schemes)}; choose from {schemes}"
        values = (axis.low, axis.high) if isinstance(axis, Range) else axis
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 1 for v in values):
            return "ratios must be numbers in [0, 1)"
        return None
    if head in ("model", "device") and rest:
        if isinstance(axis, Range):
            if not axis.low <= axis.high or (axis.log and axis.low <= 0):
                return "a range needs low <= high (and low > 0 with log: true)"
        return None
    return f"unknown parameter; parameters are {', '.join(PARAMETER_SPACES)}"


def axis_names(spec: SweepSpec) -> list[str]:
    """Every axis of the sweep, in point order: model, setting, device, then the parameters."""
    return ["model", "setting", "device", *spec.parameters]
