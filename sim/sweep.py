"""Design-space sweeps: models x compression settings x devices and their parameters.

A sweep spec (YAML, parsed once into `SweepSpec`) names the models (zoo names with builder
arguments, or trace / ONNX files), the compression settings (as in `edgesim compare`:
'+'-joined, e.g. `block:0.75+w8a8+fuse`), the devices (preset names or device files, with fixed
`set:` overrides), and `parameters`, more axes to vary:

- `model.ARG`: a builder argument (`model.resolution: [160, 224]`);
- `device.DOTTED.KEY`: a device-spec field, through the same override path as `--set`
  (`device.dram_bytes_per_s: {low: 10e9, high: 50e9, log: true}`);
- `prune.SCHEME`: a pruning ratio applied after the setting (`prune.block: [0, 0.5, 0.75]`;
  0 means no pruning);
- `quant`: a quantization spec applied after the setting (`quant: [fp16, w8a8, w4a8]`);
- `fuse`: true or false.

A list is a set of values; `{low, high[, log][, integer]}` is a range. `sampling` picks the
points: `grid` (every combination of the lists; ranges are refused), `random` (`n_points`
independent draws, seeded) or `lhs` (a Latin hypercube of `n_points`, scipy.stats.qmc, seeded);
lists are sampled uniformly by index. `constraints` are Python-like boolean expressions over the
axes (`prune.block < 0.8 or quant == 'w8a8'`; also `model`, `setting`, `device`), and a point
for which any is false is dropped before it runs.

Points run on a local process pool (`run(..., workers=N)`), on an existing Dask cluster
(`scheduler='tcp://HOST:PORT'`) or on a `distributed.LocalCluster` it starts
(`dask_local=N`); whichever runs them, the rows are the same and come in point order.
With an output folder, every finished point is committed to `sweep.sqlite` (SQLite, WAL)
under a hash of (model, setting, resolved device spec, edgesim version), so a re-run skips what
is done and an interrupted run loses no finished row; a point that does not fit or that the
device cannot run is a row with its reason. The folder then holds `results.csv`, `pareto.csv`
(the non-dominated points over the `pareto` metrics, all minimised), `summary.txt`, and, with
matplotlib (`pip install 'edgesim[plot]'`), `pareto.png` and `sensitivity.png`.
"""

from __future__ import annotations

import ast
import enum
import hashlib
import itertools
import json
import math
import operator
import os
import signal
import sqlite3
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Union

import numpy as np
from pydantic import Field

from sim.engine import Stream, simulate
from sim.export import OutputError, write_atomic
from sim.registry import Registry
from sim.report import edgesim_version
from sim.spec import DeviceSpec, Name, Spec, override, validate
from workloads import EdgesimError, Network, SparsityScheme, SpecError, yamlio
from workloads.errors import suggest

MAX_SPEC_BYTES = 1 << 20
"""A sweep spec larger than this (1 MiB) is refused before parsing."""
CONFIRM_POINTS = 1_000_000
"""A sweep of more points than this runs only when confirmed (`yes=True`, `--yes`)."""
STORE_NAME = "sweep.sqlite"

Scalar = Union[bool, int, float, str]

METRICS = ("latency_s", "energy_j", "average_power_w", "inferences_per_j", "edp_j_s",
           "peak_activation_bytes", "weight_bytes", "effective_macs", "area_mm2")
"""Columns every feasible row has (energy per inference; EDP = energy x latency); area_mm2 is
the device's `area_mm2` (a number, or the sum of a per-component mapping), None for a device
that states none. Infeasible rows have None for every metric."""


class SchedulerError(EdgesimError, ConnectionError):
    """A Dask scheduler that cannot be reached."""


class WorkerError(EdgesimError, RuntimeError):
    """A worker process died mid-sweep (killed, out of memory); finished points are kept."""


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


# --- reading and checking a spec ----------------------------------------------------------------

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


# --- constraints: a small, safe expression language ---------------------------------------------

_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
           ast.Pow: operator.pow}
_CMPOPS = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
           ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b,
           ast.NotIn: lambda a, b: a not in b}


def _dotted(node) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return f"{head}.{node.attr}" if head else None
    return None


class _Constraint:
    """One constraint, parsed once: comparisons, and/or/not, arithmetic, names of axes."""

    def __init__(self, text: str, names: set[str]) -> None:
        self.text = text
        try:
            self.tree = ast.parse(text, mode="eval").body
        except SyntaxError:
            raise SpecError(f"{text!r} is not an expression (e.g. \"prune.block < 0.8 or "
                            "quant == 'w8a8'\")") from None
        self._check(self.tree, names)

    def _check(self, node, names: set[str]) -> None:
        name = _dotted(node)
        if name is not None:
            if name not in names:
                raise SpecError(f"{self.text!r}: unknown name {name!r}{suggest(name, names)}; "
                                f"the axes are {sorted(names)}")
            return
        allowed = (ast.BoolOp, ast.UnaryOp, ast.Compare, ast.BinOp, ast.Constant, ast.Tuple,
                   ast.List, ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd, *_BINOPS, *_CMPOPS,
                   ast.Load)
        if not isinstance(node, allowed):
            raise SpecError(f"{self.text!r}: {type(node).__name__} is not allowed; use "
                            "comparisons, and/or/not, arithmetic and axis names")
        for child in ast.iter_child_nodes(node):
            self._check(child, names)

    def holds(self, values: Mapping[str, Any]) -> bool:
        try:
            return bool(self._eval(self.tree, values))
        except (TypeError, ValueError, ZeroDivisionError, ArithmeticError) as err:
            raise SpecError(f"constraint {self.text!r} cannot be evaluated at "
                            f"{dict(values)}: {err}") from None

    def _eval(self, node, values):
        name = _dotted(node)
        if name is not None:
            return values[name]
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.Tuple, ast.List)):
            return tuple(self._eval(e, values) for e in node.elts)
        if isinstance(node, ast.BoolOp):
            if isinstance(node.op, ast.And):
                return all(self._eval(v, values) for v in node.values)
            return any(self._eval(v, values) for v in node.values)
        if isinstance(node, ast.UnaryOp):
            v = self._eval(node.operand, values)
            return (not v) if isinstance(node.op, ast.Not) else (-v if isinstance(node.op, ast.USub) else +v)
        if isinstance(node, ast.BinOp):
            return _BINOPS[type(node.op)](self._eval(node.left, values), self._eval(node.right, values))
        left = self._eval(node.left, values)
        for op, comp in zip(node.ops, node.comparators):
            right = self._eval(comp, values)
            if not _CMPOPS[type(op)](left, right):
                return False
            left = right
        return True


# --- points ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Point:
    """One design point: an index into each of models/settings/devices, and parameter values."""

    index: int
    model: int
    setting: str
    device: int
    params: tuple[tuple[str, Scalar], ...]


def _labels(spec: SweepSpec) -> tuple[list[str], list[str]]:
    models = [m.name + "".join(f",{k}={v}" for k, v in m.args.items()) for m in spec.model_entries()]
    devices = [d.name + (f":{d.target}" if d.target else "") for d in spec.device_entries()]
    return models, devices


def count_points(spec: SweepSpec) -> int:
    """Points before constraints: the grid's size, or n_points."""
    if spec.sampling.method is not Method.GRID:
        return spec.sampling.n_points
    return math.prod([len(spec.models), len(spec.settings), len(spec.devices),
                      *(len(a) for a in spec.parameters.values())])


def points(spec: SweepSpec) -> list[Point]:
    """The sweep's points in order, constraints applied (indices count the dropped ones too)."""
    models, devices = _labels(spec)
    keys = list(spec.parameters)
    choices: list[Sequence] = [range(len(spec.models)), spec.settings, range(len(spec.devices))]
    choices += [spec.parameters[k] for k in keys]
    if spec.sampling.method is Method.GRID:
        combos: Iterable = itertools.product(*choices)
    else:
        combos = _sample(spec, choices)
    constraints = [_Constraint(t, set(axis_names(spec))) for t in spec.constraints]
    result = []
    for index, combo in enumerate(combos):
        m, setting, d, *values = combo
        point = Point(index=index, model=m, setting=setting, device=d,
                      params=tuple(zip(keys, values)))
        if constraints:
            env = {"model": models[m], "setting": setting, "device": devices[d], **dict(point.params)}
            if not all(c.holds(env) for c in constraints):
                continue
        result.append(point)
    return result


def _sample(spec: SweepSpec, choices: list[Sequence]) -> Iterator[tuple]:
    n, seed = spec.sampling.n_points, spec.sampling.seed
    dims = len(choices)
    if spec.sampling.method is Method.RANDOM:
        unit = np.random.default_rng(seed).random((n, dims))
    else:
        from scipy.stats import qmc  # only Latin-hypercube sweeps pay for scipy.stats

        unit = qmc.LatinHypercube(d=dims, seed=np.random.default_rng(seed)).random(n)
    for row in unit:
        yield tuple(_pick(c, u) for c, u in zip(choices, row))


def _pick(choice, u: float):
    if isinstance(choice, Range):
        if choice.log:
            value = math.exp(math.log(choice.low) + u * (math.log(choice.high) - math.log(choice.low)))
        else:
            value = choice.low + u * (choice.high - choice.low)
        return int(round(value)) if choice.integer else float(value)
    return choice[min(int(u * len(choice)), len(choice) - 1)]


# --- evaluating points (in worker processes) -----------------------------------------------------

@dataclass(frozen=True)
class Task:
    """What a worker needs for one chunk of points: the spec, and (key, point) pairs."""

    spec: SweepSpec
    points: tuple[tuple[str, Point], ...]


def _split(point: Point) -> tuple[dict, dict, dict]:
    model_args, device_set, transform = {}, {}, {}
    for key, value in point.params:
        head, _, rest = key.partition(".")
        if head == "model":
            model_args[rest] = value
        elif head == "device":
            device_set[rest] = value
        else:
            transform[key] = value
    return model_args, device_set, transform


def _transformed(network: Network, setting: str, transform: Mapping[str, Scalar],
                 memo: dict | None = None) -> Network:
    """`network` with the setting, then the prune.* ratios, the quant spec and fuse applied.

    `memo` (per chunk) keeps every intermediate network, keyed by the steps that made it, so
    points that differ only in later steps share the earlier ones (a quantization of ResNet-18
    costs about as much as its simulation).
    """
    from workloads.settings import parse_quant
    from sim.compare import apply_setting

    memo = {} if memo is None else memo
    steps: list[tuple[str, Any]] = [("setting", setting)]
    steps += [(k, v) for k, v in transform.items() if k.startswith("prune.") and v]
    if "quant" in transform:
        steps.append(("quant", transform["quant"]))
    if transform.get("fuse"):
        steps.append(("fuse", True))
    key: tuple = (id(network),)
    for step, value in steps:
        key = (*key, step, value)
        cached = memo.get(key)
        if cached is None:
            if step == "setting":
                cached = apply_setting(network, value)
            elif step == "quant":
                cached = network.quantized(**parse_quant(str(value)))
            elif step == "fuse":
                cached = network.fused()
            else:
                cached = network.pruned(scheme=SparsityScheme(step.partition(".")[2]), ratio=float(value))
            memo[key] = cached
        network = cached
    return network


def _load_model(registry: Registry, entry: ModelEntry, args: Mapping[str, Scalar]) -> Network:
    from sim.networks import load_network

    return load_network(registry, entry.name, {**entry.args, **args})


def _resolve_device(registry: Registry, entry: DeviceEntry, overrides: Mapping[str, Scalar]):
    return registry.resolve_device(entry.name, {**entry.set, **overrides} or None)


def _ignore_sigint() -> None:
    # Workers leave Ctrl-C to the parent, which stops handing out work and keeps every
    # committed row; a worker killed by the signal would only lose its chunk.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def evaluate(task: Task) -> list[tuple[str, dict]]:
    """Run one chunk of points; (key, result) per point. Pure: same task, same results.

    A result is {'status': 'ok', metrics...} or {'status': 'infeasible', 'reason': ...} for a
    point that does not fit or cannot run (any EdgesimError raised while building or running it).
    Networks and devices are built once per chunk and shared by its points.
    """
    spec = task.spec
    registry = Registry.from_entry_points()
    models, devices = spec.model_entries(), spec.device_entries()
    bases: dict = {}
    networks: dict = {}
    steps: dict = {}  # intermediate networks (see _transformed)
    boards: dict = {}
    out = []
    for key, point in task.points:
        model_args, device_set, transform = _split(point)
        try:
            base_key = (point.model, tuple(sorted(model_args.items())))
            if base_key not in bases:
                bases[base_key] = _load_model(registry, models[point.model], model_args)
            net_key = (base_key, point.setting, tuple(sorted(transform.items())))
            if net_key not in networks:
                networks[net_key] = _transformed(bases[base_key], point.setting, transform, steps)
            dev_key = (point.device, tuple(sorted(device_set.items())))
            if dev_key not in boards:
                boards[dev_key] = _resolve_device(registry, devices[point.device], device_set)
            device, network = boards[dev_key], networks[net_key]
            report = simulate(Stream(network=network, target=devices[point.device].target or ""),
                              device)
            latency, energy = report.latency_s, report.energy_per_frame_j
            result = {
                "status": "ok", "reason": "",
                "latency_s": latency, "energy_j": energy,
                "average_power_w": report.average_power_w,
                "inferences_per_j": 1.0 / energy if energy > 0 else math.inf,
                "edp_j_s": energy * latency,
                "peak_activation_bytes": report.peak_activation_bytes,
                "weight_bytes": report.weight_bytes,
                "effective_macs": report.macs,
                "area_mm2": _area_mm2(device),
            }
        except EdgesimError as err:
            result = {"status": "infeasible",
                      "reason": f"{type(err).__name__}: {' '.join(str(err).split())}"}
        out.append((key, result))
    return out


def _area_mm2(device) -> float:
    area = getattr(device, "area_mm2", None)
    if callable(area):
        area = area()
    if isinstance(area, Mapping):
        return float(sum(area.values()))
    return float(area) if isinstance(area, (int, float)) else None


# --- point keys ----------------------------------------------------------------------------------

class _Keys:
    """Hash of (model, setting, resolved device spec, edgesim version) per point."""

    def __init__(self, spec: SweepSpec, registry: Registry) -> None:
        self.spec, self.registry = spec, registry
        self.version = edgesim_version()
        self._devices: dict = {}
        self._models: dict = {}

    def device_identity(self, index: int, overrides: Mapping[str, Scalar]) -> str:
        key = (index, tuple(sorted(overrides.items())))
        if key not in self._devices:
            entry = self.spec.device_entries()[index]
            merged = {**entry.set, **overrides}
            reg = self.registry
            if reg.names_file(entry.name):  # the same test resolve_device makes
                device, spec = None, reg.resolve_spec(entry.name, merged)
            else:
                device = reg.device(entry.name)
                spec = getattr(device, "spec", None)
                if isinstance(spec, DeviceSpec):
                    spec = override(spec, merged, where=f"--set on {entry.name}")
            if isinstance(spec, DeviceSpec):
                identity = spec.model_dump_json()
            elif merged:
                raise SpecError(f"device {entry.name!r} has no declarative spec yet, so its "
                                f"parameters {sorted(merged)} cannot be swept; sweep a "
                                "device of a family on sim.spec (e.g. a roofline preset)")
            else:
                identity = repr(device)
            self._devices[key] = json.dumps([identity, entry.target])
        return self._devices[key]

    def model_identity(self, index: int) -> str:
        if index not in self._models:
            entry = self.spec.model_entries()[index]
            path = Path(entry.name)
            if path.suffix.lower() in (".json", ".yaml", ".yml", ".onnx") and path.is_file():
                content = hashlib.sha256(path.read_bytes()).hexdigest()
                self._models[index] = json.dumps(["file", content])
            else:
                self._models[index] = json.dumps(["zoo", entry.name, sorted(entry.args.items())])
        return self._models[index]

    def of(self, point: Point) -> str:
        model_args, device_set, transform = _split(point)
        text = json.dumps([self.model_identity(point.model), sorted(model_args.items()),
                           point.setting, sorted(transform.items()),
                           self.device_identity(point.device, device_set), self.version])
        return hashlib.sha256(text.encode()).hexdigest()[:32]


# --- the result store ----------------------------------------------------------------------------

class Store:
    """Finished points in SQLite (WAL), keyed by point hash; each chunk commits atomically."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        try:
            self.db = sqlite3.connect(self.path)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("CREATE TABLE IF NOT EXISTS points (key TEXT PRIMARY KEY, result TEXT NOT NULL)")
            self.db.commit()
        except sqlite3.Error as err:
            raise OutputError(f"cannot open the sweep store {self.path!r}: {err}; choose another --out") from None

    def done(self) -> dict[str, dict]:
        return {k: json.loads(v) for k, v in self.db.execute("SELECT key, result FROM points")}

    def add(self, rows: Sequence[tuple[str, dict]]) -> None:
        with self.db:  # one transaction: all of the chunk or none of it
            self.db.executemany("INSERT OR REPLACE INTO points (key, result) VALUES (?, ?)",
                                [(k, json.dumps(r)) for k, r in rows])

    def close(self) -> None:
        self.db.close()


# --- running -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SweepResult:
    """The table of a sweep: one row per point in order, its Pareto front and a summary."""

    spec: SweepSpec
    rows: tuple[dict, ...]
    pareto: tuple[dict, ...]
    n_run: int
    """Points evaluated by this call (the rest came from the store)."""

    def summary(self, *, run_counts: bool = True) -> str:
        """A few lines: counts, the best point of each Pareto metric, the front's size.
        `run_counts` adds how many points this call ran and how many came from the store."""
        ok = [r for r in self.rows if r["status"] == "ok"]
        counts = (f"; {self.n_run} run now, {len(self.rows) - self.n_run} from the store"
                  if run_counts else "")
        lines = [f"sweep {self.spec.name}: {len(self.rows)} points ({len(ok)} feasible, "
                 f"{len(self.rows) - len(ok)} infeasible{counts})"]
        for metric in self.spec.pareto:
            have = [r for r in ok if _finite(r[metric])]
            if have:
                best = min(have, key=lambda r: r[metric])
                lines.append(f"  best {metric}: {best[metric]:.6g} at {_describe_row(best)}")
        lines.append(f"  Pareto front over {', '.join(self.spec.pareto)}: {len(self.pareto)} points")
        for r in self.pareto[:10]:
            values = ", ".join(f"{m}={r[m]:.4g}" for m in self.spec.pareto)
            lines.append(f"    {values}  {_describe_row(r)}")
        if len(self.pareto) > 10:
            lines.append(f"    ... {len(self.pareto) - 10} more in pareto.csv")
        reasons: dict[str, int] = {}
        for r in self.rows:
            if r["status"] != "ok":
                reasons[r["reason"].split(":")[0]] = reasons.get(r["reason"].split(":")[0], 0) + 1
        for reason, n in sorted(reasons.items()):
            lines.append(f"  infeasible ({reason}): {n}")
        return "\n".join(lines)


def _describe_row(row: Mapping) -> str:
    skip = {"index", "key", "status", "reason", *METRICS}
    return " ".join(f"{k}={v}" for k, v in row.items() if k not in skip)


def run(
    spec: SweepSpec | str | os.PathLike,
    *,
    out: str | os.PathLike | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    dask_local: int | None = None,
    yes: bool = False,
    pareto: Sequence[str] | None = None,
    progress: bool = True,
    registry: Registry | None = None,
    chunk_size: int | None = None,
) -> SweepResult:
    """Run a sweep (a `SweepSpec` or the path of its YAML file); see the module doc.

    Every user error (bad spec, unknown model or device, empty or over-large sweep without
    `yes`, unreachable scheduler) is raised before anything is written. KeyboardInterrupt stops
    the sweep with every finished point kept in the store (re-run to resume).
    """
    if not isinstance(spec, SweepSpec):
        spec = load_spec(spec)
    if pareto:
        spec = parse_spec({**spec.model_dump(mode="json"), "pareto": list(pareto)}, where="--pareto")
    registry = registry or Registry.from_entry_points()
    if sum(x is not None for x in (scheduler, dask_local)) > 1:
        raise SpecError("give either --scheduler or --dask-local, not both")
    if workers is not None and workers < 1:
        raise SpecError(f"--workers must be >= 1 (got {workers})")
    if dask_local is not None and not 1 <= dask_local <= 256:
        raise SpecError(f"--dask-local must be between 1 and 256 workers (got {dask_local})")
    total = count_points(spec)
    if total > CONFIRM_POINTS and not yes:
        raise SpecError(f"the sweep has {total:,} points (more than {CONFIRM_POINTS:,}); "
                        "narrow it, or confirm with --yes")
    todo = points(spec)
    if not todo:
        raise SpecError(f"the sweep has no points ({total} before constraints; every one was "
                        "dropped by the constraints)" if total else "the sweep has no points")
    _check_inputs(spec, registry)
    keys = _Keys(spec, registry)
    keyed = [(keys.of(p), p) for p in todo]
    client = cluster = None
    if scheduler is not None or dask_local is not None:
        client, cluster = _dask_client(scheduler, dask_local)
    store = None
    try:
        if out is not None:
            from sim.tables import output_dir

            folder = output_dir(out)
            store = Store(folder / STORE_NAME)
            done = store.done()
        else:
            done = {}
        pending = _unique_pending(keyed, done)
        results = dict(done)
        chunks = _chunks(spec, pending, chunk_size, _n_workers(workers, client, dask_local))
        bar = _progress(len(pending), progress)
        try:
            for rows in _execute(chunks, workers, client):
                if store is not None:
                    store.add(rows)
                results.update(rows)
                bar.update(len(rows))
        except BrokenProcessPool as err:
            kept = f"the {len(results)} finished points are in {store.path}; run again to resume" \
                if store is not None else "nothing is kept without --out"
            raise WorkerError(f"a worker process died ({err}); {kept}") from None
        finally:
            bar.close()
    finally:
        if store is not None:
            store.close()
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    table = _table(spec, keyed, results)
    front = pareto_front(table, spec.pareto)
    result = SweepResult(spec=spec, rows=tuple(table), pareto=tuple(front), n_run=len(pending))
    if out is not None:
        write_outputs(result, Path(out))
    return result


def _unique_pending(keyed, done) -> list[tuple[str, Point]]:
    seen = set(done)
    pending = []
    for key, point in keyed:
        if key not in seen:
            seen.add(key)
            pending.append((key, point))
    return pending


def _check_inputs(spec: SweepSpec, registry: Registry) -> None:
    """Unknown models or devices, bad arguments or overrides: one error, before any run."""
    problems = []
    for entry in spec.model_entries():
        args = {k.partition(".")[2]: v[0] if not isinstance(v, Range) else _pick(v, 0.0)
                for k, v in spec.parameters.items() if k.startswith("model.")}
        try:
            _load_model(registry, entry, args)
        except EdgesimError as err:
            problems.append(f"model {entry.name!r}: {' '.join(str(err).split())}")
    device_axes = {k.partition(".")[2]: v for k, v in spec.parameters.items() if k.startswith("device.")}
    for i, entry in enumerate(spec.device_entries()):
        try:
            keys = _Keys(spec, registry)
            keys.device_identity(i, {})
            for key, axis in device_axes.items():  # each value alone, against the base device
                for value in ((_pick(axis, 0.0), _pick(axis, 1.0)) if isinstance(axis, Range) else axis):
                    keys.device_identity(i, {key: value})
            device = _resolve_device(registry, entry, {})
            if entry.target is not None and entry.target not in device.targets:
                raise SpecError(f"has no target {entry.target!r}; choose one of {list(device.targets)}")
        except EdgesimError as err:
            problems.append(f"device {entry.name!r}: {' '.join(str(err).split())}")
    if problems:
        raise SpecError("sweep spec: " + "; ".join(problems))


def _dask_client(scheduler: str | None, dask_local: int | None):
    try:
        import distributed
    except ImportError:
        raise SpecError("Dask is not installed; pip install 'edgesim[dask]' (or run on the "
                        "local process pool: drop --scheduler/--dask-local)") from None
    import logging

    # distributed logs a retry per failed connection attempt at WARNING; the error says it all.
    logging.getLogger("distributed").setLevel(logging.ERROR)
    if dask_local is not None:
        cluster = distributed.LocalCluster(n_workers=dask_local, threads_per_worker=1,
                                           processes=True, host="127.0.0.1",
                                           dashboard_address=None, silence_logs=logging.ERROR)
        return distributed.Client(cluster), cluster
    if not scheduler.startswith(("tcp://", "tls://", "ucx://", "inproc://")):
        raise SpecError(f"--scheduler {scheduler!r}: expected an address such as tcp://HOST:PORT")
    try:
        return distributed.Client(scheduler, timeout="3s"), None
    except (OSError, TimeoutError) as err:
        raise SchedulerError(f"cannot reach the Dask scheduler at {scheduler} "
                             f"({type(err).__name__}); start one (dask scheduler) or use "
                             "--dask-local N") from None


def _n_workers(workers: int | None, client, dask_local: int | None) -> int:
    if client is not None:
        return max(1, len(client.scheduler_info().get("workers", {})) or dask_local or 1)
    return workers or os.cpu_count() or 1


def _chunks(spec: SweepSpec, pending: list, chunk_size: int | None, n_workers: int) -> list[Task]:
    if not pending:
        return []
    # Chunks long enough that a worker re-uses its networks and devices, short enough that
    # every worker gets several (progress, balance) and an interrupt loses little. Points of
    # one network go together (its transforms are built once per chunk, and a device's cost
    # memo serves its ops); the table is put back in point order afterwards.
    pending = sorted(pending, key=lambda kp: _network_order(kp[1]))
    size = chunk_size or max(1, min(256, math.ceil(len(pending) / (4 * n_workers))))
    return [Task(spec=spec, points=tuple(pending[i:i + size])) for i in range(0, len(pending), size)]


def _network_order(point: Point) -> tuple:
    model_args, device_set, transform = _split(point)
    return (point.model, repr(sorted(model_args.items())), point.setting,
            repr(sorted(transform.items())), point.device, repr(sorted(device_set.items())))


def _execute(tasks: list[Task], workers: int | None, client) -> Iterator[list[tuple[str, dict]]]:
    """Results of every task, as they finish (the table is ordered afterwards)."""
    if not tasks:
        return
    if client is not None:
        import distributed

        futures = client.map(evaluate, tasks, pure=False)
        try:
            for future in distributed.as_completed(futures):
                yield future.result()
        finally:
            client.cancel(futures)
        return
    n = min(workers or os.cpu_count() or 1, len(tasks))
    if n == 1:
        for task in tasks:
            yield evaluate(task)
        return
    pool = ProcessPoolExecutor(max_workers=n, initializer=_ignore_sigint)
    try:
        # Keep a bounded number of tasks in flight, so an interrupt has little to cancel.
        queue = iter(tasks)
        running: set[Future] = set()
        for task in itertools.islice(queue, 2 * n):
            running.add(pool.submit(evaluate, task))
        while running:
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                rows = future.result()
                nxt = next(queue, None)
                if nxt is not None:
                    running.add(pool.submit(evaluate, nxt))
                yield rows
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="pt", file=sys.stderr, disable=not enabled or total == 0,
                dynamic_ncols=True, smoothing=0.1, desc="sweep")


def _table(spec: SweepSpec, keyed: list[tuple[str, Point]], results: Mapping[str, dict]) -> list[dict]:
    models, devices = _labels(spec)
    rows = []
    for key, p in keyed:
        row = {"index": p.index, "key": key, "model": models[p.model], "setting": p.setting,
               "device": devices[p.device], **dict(p.params)}
        result = results[key]
        row["status"], row["reason"] = result["status"], result.get("reason", "")
        for metric in METRICS:
            row[metric] = result.get(metric)
        rows.append(row)
    return rows


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def pareto_front(rows: Sequence[Mapping], metrics: Sequence[str]) -> list[dict]:
    """The feasible rows no other feasible row beats on every metric (all minimised), in
    order of the first metric. Ties (equal on every metric) are all kept; rows without a finite
    value of every metric (e.g. no area) are left out."""
    ok = [r for r in rows if r["status"] == "ok" and all(_finite(r[m]) for m in metrics)]
    if not ok:
        return []
    values = np.array([[r[m] for m in metrics] for r in ok], dtype=float)
    order = np.lexsort(values.T[::-1])
    front: list[int] = []
    kept = np.empty((0, len(metrics)))
    for i in order:
        v = values[i]
        dominated = np.any(np.all(kept <= v, axis=1) & np.any(kept < v, axis=1))
        if not dominated:
            front.append(i)
            kept = np.vstack([kept, v])
    return [dict(ok[i]) for i in front]


# --- outputs -------------------------------------------------------------------------------------

def write_outputs(result: SweepResult, folder: Path) -> list[Path]:
    """results.csv, pareto.csv, summary.txt and (with matplotlib) pareto.png, sensitivity.png."""
    from sim.tables import NO_PLOTS, pyplot, write_csv

    written = [write_csv(folder / "results.csv", result.rows, float_format=".9g"),
               write_csv(folder / "pareto.csv", result.pareto, list(result.rows[0]),
                         float_format=".9g")]
    text = result.summary(run_counts=False)  # the file is the same however the run went
    plt = pyplot()
    if plt is None:
        text += f"\n  {NO_PLOTS}"
    else:
        written += [_plot_pareto(plt, result, folder), _plot_sensitivity(plt, result, folder)]
    parquet = _write_parquet(result.rows, folder / "results.parquet")
    if parquet is None:
        text += "\n  results.parquet skipped: pip install 'edgesim[parquet]' (pyarrow)"
    else:
        written.append(parquet)
    written.append(write_atomic(folder / "summary.txt", text + "\n"))
    return written


def _write_parquet(rows: Sequence[Mapping], path: Path) -> Path | None:
    """The table as Parquet, when pyarrow (the optional `parquet` extra) is installed."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return None
    columns = list(rows[0])
    # Parameter columns may mix types across points (e.g. an int and a float); keep each
    # column one type: numbers as float64 when mixed, anything else as text.
    data = {}
    for c in columns:
        values = [r.get(c) for r in rows]
        kinds = {type(v) for v in values}
        if kinds <= {int, float} and len(kinds) > 1:
            values = [float(v) for v in values]
        elif len(kinds) > 1:
            values = [str(v) for v in values]
        data[c] = values
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        pq.write_table(pa.table(data), tmp)
        os.replace(tmp, path)
    except OSError as err:
        raise OutputError(f"cannot write {str(path)!r}: {err}; choose a writable --out") from None
    return path


def _plot_pareto(plt, result: SweepResult, folder: Path) -> Path:
    metrics = result.spec.pareto
    ok = [r for r in result.rows if r["status"] == "ok" and all(_finite(r[m]) for m in metrics)]
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    x = [r[metrics[0]] for r in ok]
    y = [r[metrics[1]] for r in ok]
    if len(metrics) == 3:
        sc = ax.scatter(x, y, c=[r[metrics[2]] for r in ok], s=8, cmap="viridis", alpha=0.6)
        fig.colorbar(sc, ax=ax, label=metrics[2])
    else:
        ax.scatter(x, y, s=8, color="0.6", alpha=0.6, label=f"{len(ok)} feasible points")
    fx = [r[metrics[0]] for r in result.pareto]
    fy = [r[metrics[1]] for r in result.pareto]
    ax.plot(fx, fy, "o-" if len(metrics) == 2 else "o", color="tab:red", ms=4,
            label=f"Pareto front ({len(result.pareto)})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(metrics[0])
    ax.set_ylabel(metrics[1])
    ax.set_title(f"{result.spec.name}: {len(result.rows)} points")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = folder / "pareto.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _plot_sensitivity(plt, result: SweepResult, folder: Path) -> Path:
    """Median of each Pareto metric against each axis that takes several values."""
    metrics = result.spec.pareto
    ok = [r for r in result.rows if r["status"] == "ok" and all(_finite(r[m]) for m in metrics)]
    axes_ = [a for a in axis_names(result.spec) if len({r[a] for r in ok}) > 1]
    fig, grid = plt.subplots(max(1, len(axes_)), len(metrics), squeeze=False,
                             figsize=(4 * len(metrics), 2.6 * max(1, len(axes_))))
    for i, axis in enumerate(axes_):
        values = sorted({r[axis] for r in ok}, key=lambda v: (isinstance(v, str), v))
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        if numeric and len(values) > 12:  # a sampled range: bin it
            edges = np.quantile([r[axis] for r in ok], np.linspace(0, 1, 11))
            centres = (edges[1:] + edges[:-1]) / 2
            bins = np.clip(np.searchsorted(edges, [r[axis] for r in ok], side="right") - 1, 0, 9)
        for j, metric in enumerate(metrics):
            ax = grid[i][j]
            if numeric and len(values) > 12:
                med = [np.median([r[metric] for r, b in zip(ok, bins) if b == k] or [np.nan])
                       for k in range(10)]
                ax.plot(centres, med, "o-")
            elif numeric:
                ax.plot(values, [np.median([r[metric] for r in ok if r[axis] == v]) for v in values], "o-")
            else:
                med = [np.median([r[metric] for r in ok if r[axis] == v]) for v in values]
                ax.bar(range(len(values)), med)
                ax.set_xticks(range(len(values)), [str(v)[:18] for v in values], rotation=30,
                              ha="right", fontsize=7)
            ax.set_yscale("log")
            ax.set_xlabel(axis)
            ax.set_ylabel(f"median {metric}")
    fig.tight_layout()
    path = folder / "sensitivity.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# --- command line (the parser is in sim.cli) -------------------------------------------------------

def command(args, registry: Registry) -> int:
    """`edgesim sweep`: run, print the summary; 130 after Ctrl-C (finished points kept)."""
    pareto = [m.strip() for m in args.pareto.split(",")] if args.pareto else None
    try:
        result = run(args.spec, out=args.out, workers=args.workers, scheduler=args.scheduler,
                     dask_local=args.dask_local, yes=args.yes, pareto=pareto,
                     progress=not args.no_progress, registry=registry)
    except KeyboardInterrupt:
        where = f" in {Path(args.out) / STORE_NAME}" if args.out else " (no --out: nothing kept)"
        print(f"edgesim: interrupted; finished points are kept{where}; run the same command "
              "again to resume", file=sys.stderr)
        return 130
    print(result.summary())
    if args.out:
        print(f"wrote {args.out}/results.csv, pareto.csv, summary.txt")
    return 0
