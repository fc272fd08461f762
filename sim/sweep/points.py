"""The points of a sweep: the grid, or random / Latin-hypercube draws (seeded), constraints applied."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from sim.sweep.constraints import _Constraint
from sim.sweep.spec import Method, Range, Scalar, SweepSpec, axis_names

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
