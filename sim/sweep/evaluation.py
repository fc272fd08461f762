"""Evaluating a chunk of sweep points (in a worker process): build each network and device once
per chunk, simulate, and turn the report, or the `EdgesimError` that made the point infeasible,
into a result row. Pure: the same `Task` gives the same rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sim.engine import Stream, simulate
from sim.registry import Registry
from sim.sweep.points import Point
from sim.sweep.spec import DeviceEntry, ModelEntry, Scalar, SweepSpec
from workloads import EdgesimError, Network, SparsityScheme

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
