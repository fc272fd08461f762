"""How a model named on the command line (or in a sweep spec) becomes a `Network`.

A zoo name with builder arguments (`--arg KEY=VALUE`), a trace file (.json/.yaml) or an ONNX file.
`sim.cli` and `sim.sweep` both read models through here, so neither imports the other.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

from sim.registry import Registry
from workloads import Network, SpecError

TRACE_SUFFIXES = (".json", ".yaml", ".yml")


def parse_model_args(pairs: Sequence[str]) -> dict:
    """['width=0.5', 'resolution=160', 'head=true', 'name=x'] -> {'width': 0.5,
    'resolution': 160, 'head': True, 'name': 'x'}.

    'true'/'false' (any case) are booleans; the registry then checks each value against the
    type of the builder's default, so 'scale_head=no' is an error rather than a truthy string.
    """
    kwargs = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SpecError(f"--arg {pair!r}: expected KEY=VALUE, e.g. --arg resolution=160")
        if key in kwargs:
            raise SpecError(f"--arg {key!r} is given twice; give each argument once")
        if value.lower() in ("true", "false"):
            kwargs[key] = value.lower() == "true"
            continue
        for convert in (int, float):
            try:
                kwargs[key] = convert(value)
                break
            except ValueError:
                continue
        else:
            kwargs[key] = value
        if isinstance(kwargs[key], float) and not math.isfinite(kwargs[key]):
            raise SpecError(f"--arg {pair!r}: the value must be finite")
    return kwargs


def load_network(registry: Registry, what: str, model_args: dict, *, name: str | None = None,
                 batch: int | None = None) -> Network:
    """A model name from the registry, or a trace (.json/.yaml) or ONNX (.onnx) file.

    `name` renames the network (reports and output files take it); `batch` is the batch size of
    a zoo model or of an ONNX file's symbolic batch dim (a trace has fixed shapes).
    """
    import dataclasses

    if batch is not None and batch < 1:
        raise SpecError(f"--batch must be >= 1 (got {batch})")
    if name is not None and not re.fullmatch(r"[A-Za-z0-9_.+-]+", name):
        raise SpecError(f"--name {name!r}: use letters, digits and _ . + - only (it names files)")
    path = Path(what)
    if path.suffix.lower() in TRACE_SUFFIXES + (".onnx",):
        if model_args:
            raise SpecError("--arg applies to zoo models, not to trace or ONNX files")
        if path.suffix.lower() == ".onnx":
            from workloads.onnx_import import load_onnx

            return load_onnx(path, name=name, batch=batch)
        if batch is not None:
            raise SpecError(f"--batch cannot apply to trace {what}: its shapes are fixed")
        from workloads.trace import load

        network = load(path)
    elif path.exists() or "/" in what:
        raise SpecError(
            f"{what!r} is neither a model name nor a trace file; traces end in "
            f"{', '.join(TRACE_SUFFIXES + ('.onnx',))}"
        )
    else:
        if batch is not None:
            model_args = {**model_args, "batch": batch}
        network = registry.workload(what, **model_args)
    return network if name is None else dataclasses.replace(network, name=name)
