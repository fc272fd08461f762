"""The `sim.Device` contract, run over every registered device and each of its targets.

Devices come from `Registry.from_entry_points()` at collection, so a newly registered device is
covered without editing this file; the example plug-in (examples/custom_accelerator) is added
from its source folder. Each device is priced on representative ops of every `OpKind`, dense and
compressed (pruned block/unstructured/pattern/channel; int8, int4, power-of-two, mixed,
multi-precision, float16; fused), and must give well-formed, pure, side-effect-free costs.
A `DoesNotFitError` is an allowed answer; any other exception fails.
"""

from __future__ import annotations

import builtins
import copy
import dataclasses
import io
import math
import os
import re
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
import simpy

from sim import Cost, Device, EngineSpec, Registry, Stream, simulate
from workloads import (
    Compression,
    DoesNotFitError,
    EdgesimError,
    Network,
    NetworkBuilder,
    Op,
    OpKind,
    QuantScheme,
    SparsityScheme,
    UnsupportedOpError,
)
from workloads.ops import NeighbourAttrs, ScatterAttrs, SparseConv3dAttrs

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_accelerator"


# --- representative work ---------------------------------------------------------------------


def every_kind_network() -> Network:
    """Three independent branches (CNN, transformer, point cloud) using every `OpKind` but FUSED.

    Its `fused()` form keeps at least one standalone op of every fusible kind (they read
    tensors with two readers, which `Network.fused` never folds), so it has every kind.
    """
    b = NetworkBuilder("every-kind")
    # CNN: c0 and c1 are channel-prunable (they reach only convs through bn, relu, depthwise).
    x = b.input("image", (1, 8, 16, 16))
    x = b.conv2d(x, 16, 3, padding=1, name="c0")
    x = b.act(b.norm(x, "batch", name="bn0"), "relu", name="relu0")
    x = b.conv2d(x, 16, 3, padding=1, name="c1")
    x = b.act(x, "relu6", name="relu1")
    x = b.conv2d(x, 16, 3, padding=1, groups=16, name="dw")
    pw = b.conv2d(x, 16, 1, stride=1, bias=True, name="pw")  # two readers: ends its group
    skip = b.act(pw, "hard_swish", name="hswish")  # reads a two-reader tensor: stays unfused
    x = b.add(pw, b.conv2d(skip, 16, 1, name="c2"), name="residual")  # likewise
    x = b.pool(x, "max", 2, name="maxpool")
    x = b.pixel_shuffle(b.upsample(x, 2, mode="bilinear", name="up"), 2, name="shuffle")
    x = b.concat([x, b.upsample(b.pool(x, "avg", 2, name="avgpool"), 2, name="up2")], name="cat")
    x = b.global_pool(x, name="gap")
    cnn_out = b.linear(b.reshape(x, (1, 8), name="flatten"), 10, name="head")
    # Transformer block; embed, pos, scale and square each have two readers.
    ids = b.input("ids", (1, 8))
    e = b.embedding(ids, 100, 32, name="embed")
    pos = b.add(e, weight_shape=(1, 8, 32), name="pos")
    t = b.norm(pos, "layer", name="ln")
    q, k, v = (b.linear(t, 32, name=n) for n in ("q", "k", "v"))
    attn = b.softmax(b.matmul(q, b.transpose(k, (0, 2, 1), name="kT"), name="qk"), name="attn")
    scaled = b.mul(b.matmul(attn, v, name="av"), weight_shape=(32,), name="scale")
    square = b.mul(scaled, scaled, name="square")
    t = b.concat([b.act(square, "gelu", name="gelu"), square, scaled, e, pos], axis=2, name="cat2")
    t = b.reshape(t, (1, 1280), copy=True, name="pack")
    seq_out = b.linear(t, 4, name="cls")
    # Point cloud: sample, group, sparse conv, scatter.
    pts = b.input("points", (64, 3))
    feats = b.input("features", (64, 8))
    seg = b.input("segment", (64,))
    centres = b.op(OpKind.FPS, [pts], output_shape=(16, 3), name="fps")
    knn = b.op(OpKind.KNN, [centres, pts], NeighbourAttrs(k=4), output_shape=(16, 4), name="knn")
    ball = b.op(OpKind.BALL_QUERY, [centres, pts], NeighbourAttrs(k=4, radius=0.2, n_found=40),
                output_shape=(16, 4), name="ball")
    grouped = b.op(OpKind.GATHER, [feats, knn], name="group")
    grouped_ball = b.op(OpKind.GATHER, [feats, ball], name="group_ball")
    spconv = b.op(OpKind.SPARSE_CONV3D, [feats], SparseConv3dAttrs(kernel_volume=27, n_pairs=300),
                  weight_shape=(27, 8, 16), output_shape=(64, 16), name="spconv")
    pooled = b.op(OpKind.SCATTER, [spconv, seg], ScatterAttrs(reduce="max"),
                  output_shape=(16, 16), name="scatter")
    return b.build(outputs=[cnn_out, seq_out, grouped, grouped_ball, pooled])


def _n_m(net: Network) -> Network:
    """2:4 sparsity on every conv and linear (N:M is read from ONNX weights; no pruned() knob)."""
    comp = Compression(sparsity="n_m", sparsity_ratio=0.5, n_m=(2, 4))
    weighted = (OpKind.CONV2D, OpKind.LINEAR)
    return dataclasses.replace(net, ops=tuple(
        op.replace(compression=comp) if op.kind in weighted else op for op in net.ops))


def variants(net: Network) -> dict[str, Network]:
    """The network dense and under each compression scheme, and fused."""
    return {
        "fp32": net,
        "block": net.pruned("block", 0.5, block_shape=(4, 4)),
        "unstructured": net.pruned("unstructured", 0.7),
        "pattern": net.pruned("pattern", 0.5),
        "channel": net.pruned("channel", 0.5),
        "int8": net.quantized("fixed", weight_bits=8),
        "int4": net.quantized("fixed", weight_bits=4),
        "fp16": net.quantized("float16"),
        "pot": net.quantized("power_of_two", weight_bits=4, activation_bits=8),
        "mixed": net.quantized("mixed", weight_bits=4, activation_bits=8, pot_ratio=0.5),
        "multi_precision": net.quantized(
            "multi_precision", weight_bits=4, activation_bits=8, high_bits=8, high_ratio=0.25
        ),
        "n_m": _n_m(net),
        "fused": net.fused(),
        "block-int8-fused": net.pruned("block", 0.75).quantized("fixed", weight_bits=8).fused(),
    }


EVERY = every_kind_network()
VARIANTS = variants(EVERY)
OPS: tuple[Op, ...] = tuple(op for net in VARIANTS.values() for op in net.ops)


def ops_for(device: Device, target: str) -> list[Op]:
    kinds = device.supported_kinds(target)
    return [op for op in OPS if op.kind in kinds]


def priced(device: Device, target: str) -> Iterator[tuple[Op, Cost | None]]:
    """(op, cost) for every representative op the device supports; None when it does not fit."""
    for op in ops_for(device, target):
        try:
            yield op, device.cost(op, target)
        except DoesNotFitError as err:  # a typed, allowed answer for an infeasible op
            assert str(err), f"{op.name}: DoesNotFitError without a message"
            yield op, None


def test_representatives_cover_every_kind_and_scheme():
    assert {op.kind for op in OPS} == set(OpKind)
    assert {op.kind for op in VARIANTS["fused"].ops} == set(OpKind)
    schemes = {op.anchor.compression.sparsity for op in OPS}
    schemes |= {m.compression.sparsity for op in OPS for m in op.members}
    assert schemes == set(SparsityScheme)
    assert {op.compression.quant for op in OPS} == set(QuantScheme)
    for scheme in ("block", "unstructured", "pattern", "channel", "n_m"):  # each really prunes
        assert any(op.compression.sparsity.value == scheme for op in VARIANTS[scheme].ops), scheme


# --- the devices -------------------------------------------------------------------------------


def _example_factory() -> Callable[[], Device]:
    """The example plug-in's factory, imported from its source folder (sys.path restored)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(EXAMPLE))
        import custom_accelerator
    return custom_accelerator.make_device


def _sources() -> list[tuple[str, Callable[[], Device]]]:
    registry = Registry.from_entry_points()
    sources = [(name, partial(registry.device, name)) for name in sorted(registry.devices)]
    return sources + [("example:toy-systolic", _example_factory())]


SOURCES = _sources()


def _cases() -> list:
    cases = []
    for label, factory in SOURCES:
        try:
            targets = factory().targets
        except EdgesimError:
            continue  # test_registered_device_builds_and_declares_itself fails on it
        cases += [pytest.param(factory, t, id=f"{label}:{t}") for t in targets]
    return cases


CASES = _cases()


@pytest.mark.parametrize("factory", [pytest.param(f, id=label) for label, f in SOURCES])
def test_registered_device_builds_and_declares_itself(factory):
    device = factory()
    assert isinstance(device, Device)
    assert isinstance(device.name, str) and device.name
    assert isinstance(device.description, str) and device.description
    assert isinstance(device.targets, tuple) and device.targets
    assert all(isinstance(t, str) and t for t in device.targets)
    assert isinstance(device.engines, tuple) and device.engines
    assert all(isinstance(e, EngineSpec) for e in device.engines)
    names = [e.name for e in device.engines]
    assert len(set(names)) == len(names), f"engine names repeat: {names}"


@pytest.mark.parametrize("factory, target", CASES)
def test_supported_kinds_is_a_frozenset_of_op_kinds(factory, target):
    kinds = factory().supported_kinds(target)
    assert isinstance(kinds, frozenset)
    assert kinds and all(isinstance(k, OpKind) for k in kinds)


@pytest.mark.parametrize("factory, target", CASES)
def test_cost_is_well_formed(factory, target):
    device = factory()
    engines = {e.name for e in device.engines}
    n_priced = 0
    for op, cost in priced(device, target):
        if cost is None:
            continue
        n_priced += 1
        assert isinstance(cost, Cost), f"{op.name}: cost is {type(cost).__name__}"
        for phase in cost.phases:
            assert phase.engine in engines, f"{op.name}: undeclared engine {phase.engine!r}"
            assert math.isfinite(phase.duration_s) and phase.duration_s >= 0, op.name
        for table in (cost.energy_j, cost.bytes_moved):
            for key, value in table.items():
                assert isinstance(key, str), f"{op.name}: key {key!r}"
                assert math.isfinite(value) and value >= 0, f"{op.name}: {key} = {value!r}"
        assert isinstance(cost.bound_by, str) and cost.bound_by
        assert math.isfinite(cost.latency_s) and cost.latency_s >= 0
    assert n_priced, "the device fits none of the representative ops"


@pytest.mark.parametrize("factory, target", CASES)
def test_cost_is_pure(factory, target):
    device = factory()
    device_repr = repr(device)
    for op in ops_for(device, target):
        before = copy.deepcopy(op)
        first = _cost_or_error(device, op, target)
        assert _cost_or_error(device, op, target) == first, f"{op.name}: second call differs"
        assert _cost_or_error(device, before, target) == first, f"{op.name}: equal op differs"
        assert op == before, f"{op.name}: cost() changed the op"
        assert repr(device) == device_repr, f"{op.name}: cost() changed the device"


def _cost_or_error(device: Device, op: Op, target: str) -> Cost | str:
    try:
        return device.cost(op, target)
    except DoesNotFitError as err:
        return f"DoesNotFitError: {err}"


def _forbidden(what: str):
    def fail(*args, **kwargs):
        raise AssertionError(f"Device.cost must be pure but it {what}")

    return fail


@pytest.mark.parametrize("factory, target", CASES)
def test_cost_touches_neither_files_nor_simpy(factory, target, monkeypatch):
    device = factory()  # a fresh device: building it may read a preset, pricing may not
    ops = ops_for(device, target)
    for module, name in [(builtins, "open"), (io, "open"), (os, "open")]:
        monkeypatch.setattr(module, name, _forbidden(f"called {module.__name__}.{name}"))
    monkeypatch.setattr(simpy.Environment, "__init__", _forbidden("made a SimPy environment"))
    monkeypatch.setattr(simpy.Event, "__init__", _forbidden("made a SimPy event"))
    for op in ops:
        _cost_or_error(device, op, target)


class _RefusesToPrice:
    """Wraps a device; fails the test if anything asks it for a cost."""

    def __init__(self, device: Device) -> None:
        self.name, self.description = device.name, device.description
        self.engines, self.targets = device.engines, device.targets
        self.supported_kinds = device.supported_kinds

    def cost(self, op, target):
        raise AssertionError(f"cost({op.name!r}) asked before the unsupported ops were refused")


@pytest.mark.parametrize("factory, target", CASES)
def test_unsupported_kinds_are_all_refused_at_once_before_the_run(factory, target):
    device = factory()
    unsupported = set(OpKind) - device.supported_kinds(target)
    if not unsupported:
        pytest.skip(f"{device.name} supports every op kind on {target!r}")
    stream = Stream(network=VARIANTS["fused"], target=target)
    with pytest.raises(UnsupportedOpError) as info:
        simulate(stream, _RefusesToPrice(device))
    message = str(info.value)
    missing = [k.value for k in unsupported if not re.search(rf"\b{k.value}\b", message)]
    assert not missing, f"error does not list {missing}: {message}"
