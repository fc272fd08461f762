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
import io
import math
import os
import re
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
import simpy

from sim import (Cost, Device, EnergyComponent, EnergyMethod, EnergyModel, EngineSpec, Phase,
                 Registry, Stream, simulate)
from sim.contract import ContractError, check_device, check_or_raise, every_kind_network, variants
from sim.device import bind_network, precision_label
from sim.export import breakdown_j
from workloads import (
    DoesNotFitError,
    EdgesimError,
    Network,
    NetworkBuilder,
    Op,
    OpKind,
    QuantScheme,
    SparsityScheme,
    SpecError,
    UnsupportedOpError,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_accelerator"


# --- representative work (shipped in sim.contract, so plug-in authors price the same ops) -------


EVERY = every_kind_network()
VARIANTS = variants(EVERY)
OPS: tuple[Op, ...] = tuple(op for net in VARIANTS.values() for op in net.ops)


def ops_for(device: Device, target: str) -> list[Op]:
    """The representative ops the device runs on `target`: like `sim.engine.check_supported`,
    a fused op needs its own kind and every member's."""
    kinds = device.supported_kinds(target)
    return [op for op in OPS if op.kind in kinds and all(m.kind in kinds for m in op.members)]


def bound_ops_for(device: Device, target: str) -> list[tuple[Device, Op]]:
    """`ops_for`, each op with the device bound to its network (`bind_network`), as the engine
    and `sim.contract` price it: a device that plans per network prices only what it planned."""
    runs = set(map(id, ops_for(device, target)))
    out = []
    for net in VARIANTS.values():
        bound = bind_network(device, net)
        out += [(bound, op) for op in net.ops if id(op) in runs]
    return out


def priced(device: Device, target: str) -> Iterator[tuple[Op, Cost | None]]:
    """(op, cost) for every representative op the device supports; None when it does not fit."""
    for bound, op in bound_ops_for(device, target):
        try:
            yield op, bound.cost(op, target)
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
    for bound, op in bound_ops_for(device, target):
        device_repr = repr(bound)
        before = copy.deepcopy(op)
        first = _cost_or_error(bound, op, target)
        assert _cost_or_error(bound, op, target) == first, f"{op.name}: second call differs"
        assert _cost_or_error(bound, before, target) == first, f"{op.name}: equal op differs"
        assert op == before, f"{op.name}: cost() changed the op"
        assert repr(bound) == device_repr, f"{op.name}: cost() changed the device"


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
    ops = bound_ops_for(device, target)
    for module, name in [(builtins, "open"), (io, "open"), (os, "open")]:
        monkeypatch.setattr(module, name, _forbidden(f"called {module.__name__}.{name}"))
    monkeypatch.setattr(simpy.Environment, "__init__", _forbidden("made a SimPy environment"))
    monkeypatch.setattr(simpy.Event, "__init__", _forbidden("made a SimPy event"))
    for bound, op in ops:  # bound before the patches: a plan is worked out once, not per cost
        _cost_or_error(bound, op, target)


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


# --- physics (sim.contract, shipped with the package) ----------------------------------------


@pytest.mark.parametrize("factory", [pytest.param(f, id=label) for label, f in SOURCES])
def test_every_device_meets_the_physics_contract(factory):
    found = check_device(factory())
    assert not found, "\n".join(map(str, found))


def _example_device_files() -> list[Path]:
    """Every YAML file under examples/ but the sweep specs of examples/sweeps (not device files;
    tests/sim/test_sweep.py loads them and every device they name)."""
    root = EXAMPLE.parent
    return sorted(p for p in root.rglob("*.y*ml") if p.suffix in (".yaml", ".yml")
                  and root / "sweeps" not in p.parents)


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in _example_device_files()])
def test_every_device_file_under_examples_meets_the_contract(path):
    found = check_device(Registry.from_entry_points().load_device(path))
    assert not found, "\n".join(map(str, found))


class _Toy:
    """A one-engine device priced by a function of the op (for contract self-tests)."""

    name, description, targets = "toy", "contract self-test", ("main",)
    engines = (EngineSpec(name="compute"),)

    def __init__(self, price):
        self.price = price

    def supported_kinds(self, target):
        return frozenset(OpKind) - {OpKind.FUSED}

    def cost(self, op, target):
        seconds, joules = self.price(op)
        return Cost.serial(Phase("compute", seconds), energy_j={"mac": joules})


def _honest(op):
    return 1e-9 * (op.effective_macs + op.vector_ops + 1), 1e-12 * (op.effective_macs + op.vector_ops + 1)


def test_an_honest_toy_passes():
    assert check_device(_Toy(_honest)) == []
    check_or_raise(_Toy(_honest))


@pytest.mark.parametrize("price, rule", [
    (lambda op: (0.0, 0.0), "[positive]"),                             # prices every op at zero
    (lambda op: (1e-3, 0.0), "work takes energy"),                     # free energy
    (lambda op: (0.0, 0.0) if op.kind is OpKind.NORM else _honest(op),  # the old MCU norm
     "[positive] main/bn0: 8192 vector ops take 0.0 s"),
    (lambda op: (1.0 / (op.effective_macs + 1), 1e-9), "[monotone]"),  # faster when bigger
    (lambda op: (1e-6, 1.0 / (op.effective_macs + 1)), "[monotone]"),  # cheaper when bigger
])
def test_the_contract_catches_unphysical_costs(price, rule):
    found = check_device(_Toy(price))
    assert any(rule in str(v) for v in found), found
    with pytest.raises(ContractError, match="breaks the contract"):
        check_or_raise(_Toy(price))


def test_the_contract_catches_nondeterminism_and_raising_code():
    calls = iter(range(10**9))
    found = check_device(_Toy(lambda op: (1e-6 * (1 + next(calls)), 1e-9)))
    assert any("[deterministic]" in str(v) for v in found)

    def boom(op):
        raise ZeroDivisionError("bad")

    found = check_device(_Toy(boom))
    assert found and all("[raised]" in str(v) and "ZeroDivisionError" in str(v) for v in found)


class _Planned(_Toy):
    """A toy that, like the systolic family's `memory_policy: on_chip`, prices only the ops of
    the network it was bound to (`for_network`) and refuses any other op with a SpecError."""

    def __init__(self, price, names=frozenset()):
        super().__init__(price)
        self.names = names

    def for_network(self, network):
        return _Planned(self.price, frozenset(op.name for op in network.ops) | {network.name})

    def cost(self, op, target):
        if op.name not in self.names:
            raise SpecError(f"toy: not planned for op {op.name!r}; bind it with for_network")
        return super().cost(op, target)


def test_the_contract_binds_the_device_to_each_network_it_prices():
    assert check_device(_Planned(_honest)) == []
    # the binding is checked as the pricing is: the contract still catches a bigger-is-faster
    # device, now priced by the device bound to the wider network
    found = check_device(_Planned(lambda op: (1.0 / (op.effective_macs + 1), 1e-9)))
    assert any("[monotone]" in str(v) for v in found), found


def test_the_contract_reports_a_binding_that_raises():
    class Broken(_Toy):
        def for_network(self, network):
            raise ZeroDivisionError("bad plan")

    found = check_device(Broken(_honest))
    assert found and any("[raised]" in str(v) and "for_network" in str(v) for v in found), found


def test_check_device_command(capsys):
    from sim.cli import main

    registry = Registry(devices={"toy": lambda: _Toy(lambda op: (0.0, 0.0)),
                                 "honest": lambda: _Toy(_honest)}, workloads={})
    assert main(["check-device", "honest"], registry=registry, commands=()) == 0
    assert capsys.readouterr().out == "toy: meets the contract\n"
    assert main(["check-device", "toy"], registry=registry, commands=()) == 1
    out = capsys.readouterr().out
    assert "[positive] main/c0: 294912 MACs take 0.0 s; work takes time" in out
    assert out.splitlines()[-1].startswith("toy: breaks the contract:")


def test_check_device_takes_a_device_file(capsys):
    from sim.cli import main

    files = _example_device_files()
    assert files, "examples/devices/ holds device files"
    assert main(["check-device", str(files[0])], commands=()) == 0
    assert capsys.readouterr().out.endswith(": meets the contract\n")


# --- one energy account ------------------------------------------------------------------------


def small_cnn() -> Network:
    """A network every registered device can run: conv, norm, activation, pool, linear."""
    b = NetworkBuilder("small-cnn")
    x = b.input("image", (1, 3, 16, 16))
    x = b.act(b.norm(b.conv2d(x, 8, 3, padding=1, name="conv"), "batch", name="bn"), "relu",
              name="relu")
    x = b.global_pool(b.pool(x, "max", 2, name="pool"), name="gap")
    return b.build(outputs=[b.linear(b.reshape(x, (1, 8), name="flat"), 10, name="fc")])


@pytest.mark.parametrize("factory", [pytest.param(f, id=label) for label, f in SOURCES])
def test_device_states_its_energy_method_and_units(factory):
    device = factory()
    model = device.energy_model
    assert isinstance(model, EnergyModel) and isinstance(model.method, EnergyMethod)
    assert model.detail and model.text().startswith(model.method.value)
    for target in device.targets:
        text = device.unit_text(target)
        assert isinstance(text, str) and text.startswith(target)


def test_component_breakdowns_of_one_network_line_up_on_every_registered_device():
    net = small_cnn().quantized("fixed", weight_bits=8)
    breakdowns = {}
    for label, factory in SOURCES:
        device = factory()
        report = simulate(net, device)
        assert set(report.energy_by_component_j) <= set(EnergyComponent), label
        assert sum(report.energy_by_component_j.values()) == pytest.approx(report.energy_j)
        for r in report.ops:  # per-op components sum to the op's energy
            assert sum(r.energy_by_component_j.values()) == pytest.approx(r.energy_j)
        static_w = {c: sum(e.static_power_w for e in device.engines if e.static_component is c)
                    for c in EnergyComponent}
        for comp, watts in static_w.items():
            if watts:  # static power is booked where the engine says, over the whole run
                assert report.energy_by_component_j[comp] >= watts * report.duration_s * (1 - 1e-9)
        breakdowns[label] = breakdown_j(report.energy_by_component_j)
    columns = {tuple(b) for b in breakdowns.values()}
    assert columns == {tuple(c.value for c in EnergyComponent)}  # the same columns, same order
    assert all(sum(b.values()) > 0 for b in breakdowns.values())
    # Each family books its energy where its hardware spends it.
    assert breakdowns["pim-isaac"]["conversion"] > 0
    assert breakdowns["fpga-zcu102"]["host"] > 0 and breakdowns["fpga-zcu102"]["on_chip"] > 0
    assert breakdowns["snapdragon865"]["mac"] > 0 and breakdowns["snapdragon865"]["off_chip"] > 0
    assert breakdowns["stm32f746"]["board"] > 0


@pytest.mark.parametrize("factory, target", CASES)
def test_executed_precision_is_stated_only_for_a_real_substitute(factory, target):
    device = factory()
    for op, cost in priced(device, target):
        if cost is not None and cost.executed_precision is not None:
            assert cost.executed_precision != precision_label(op.anchor.compression), op.name


def embedding_network() -> Network:
    """8 token ids into a 5000 x 64 table, then a gather of 16 rows from 4096 points."""
    b = NetworkBuilder("lookups")
    ids = b.input("ids", (1, 8))
    e = b.embedding(ids, 5000, 64, name="embed")
    feats = b.input("features", (4096, 32))
    idx = b.input("idx", (16,))
    g = b.op(OpKind.GATHER, [feats, idx], name="gather")
    return b.build(outputs=[e, g])


def test_embedding_and_gather_are_priced_by_the_rows_they_read():
    net = embedding_network().quantized("fixed", weight_bits=8)
    embed, gather = net["embed"], net["gather"]
    assert (embed.weight_bytes, embed.weight_bytes_read) == (5000 * 64, 8 * 64)
    assert gather.input_bytes_read == 16 * 4 + 16 * 32  # indices + the 16 rows, not 4096
    checked = set()
    for label, factory in SOURCES:
        device = bind_network(factory(), net)  # as the engine prices the network's ops
        for op in (embed, gather):
            target = device.targets[0]
            if op.kind not in device.supported_kinds(target):
                continue
            cost = device.cost(op, target)
            off_chip = sum(b for level, b in cost.bytes_moved.items() if level in ("dram", "flash"))
            # Whole-tensor reads would be 320,000 B (table) or 131,072 B (features).
            assert off_chip <= 4 * (op.weight_bytes_read + op.input_bytes_read + op.output_bytes), (
                label, op.name, off_chip)
            checked.add((label, op.kind))
    for label in ("roofline-adreno650", "snapdragon865", "stm32f746", "fpga-zcu102", "pointacc",
                  "gpu-rtx2080ti"):  # every built-in family that runs embeddings
        assert (label, OpKind.EMBEDDING) in checked, label
    for label in ("roofline-adreno650", "snapdragon865", "pointacc", "gpu-rtx2080ti"):
        assert (label, OpKind.GATHER) in checked, label
