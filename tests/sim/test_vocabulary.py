"""The typed cost vocabulary: what bounds an op, memory levels, phase labels, engine kinds and
the protocol's whole-network check."""

from __future__ import annotations

import csv
import io
import json

import pytest

from sim import (BoundBy, Cost, DeviceBase, EngineKind, EngineSpec, MemoryLevel, Phase,
                 PhaseLabel, Stream, check_network, simulate)
from sim.contract import check_device
from sim.export import chrome_trace, ops_csv, report_dict
from tests.helpers import FixedCostDevice, chain
from workloads import DoesNotFitError, OpKind, SpecError

US = 1e-6


@pytest.mark.parametrize("vocabulary", [BoundBy, MemoryLevel, PhaseLabel])
def test_members_equal_and_print_as_their_values(vocabulary):
    for member in vocabulary:
        assert member == member.value and hash(member) == hash(member.value)
        assert f"{member}" == str(member) == member.value
        assert json.dumps({member: member}) == f'{{"{member.value}": "{member.value}"}}'


def test_cost_converts_values_to_members():
    cost = Cost.serial(Phase("dma", 1 * US, "load"), bytes_moved={"dram": 64, "sram": 8},
                       bound_by="memory")
    assert cost.bound_by is BoundBy.MEMORY
    assert set(cost.bytes_moved) == {MemoryLevel.DRAM, MemoryLevel.SRAM}
    assert all(type(k) is MemoryLevel for k in cost.bytes_moved)
    assert cost.bytes_moved["dram"] == 64  # a value still finds its member
    assert cost.phases[0].label is PhaseLabel.LOAD


@pytest.mark.parametrize("build, match", [
    (lambda: Cost(stages=(), bound_by="speed"), r"cost bound_by: 'speed' is not a BoundBy"),
    (lambda: Cost(stages=(), bytes_moved={"l4": 1}), r"cost bytes_moved: 'l4' is not a MemoryLevel"),
    (lambda: Phase("dma", 1e-6, "shuffle"), r"phase on 'dma': 'shuffle' is not a PhaseLabel"),
    (lambda: Phase("dma", 1e-6, "load", ""), r"variant must be a non-empty str or None"),
])
def test_words_outside_the_vocabulary_are_refused_by_name(build, match):
    with pytest.raises(SpecError, match=match):
        build()


def test_a_variant_refines_the_label_the_timeline_shows():
    phase = Phase("gpu", 2 * US, PhaseLabel.CONV3X3, "block")
    assert phase.label is PhaseLabel.CONV3X3 and phase.name == "conv3x3/block"
    assert Phase("gpu", 2 * US).name == "compute"
    report = simulate(chain(1), FixedCostDevice(costs={"l0": Cost.serial(phase)},
                                                engines=(EngineSpec(name="gpu"),)))
    assert [lb for _, lb, *_ in report.ops[0].phases] == ["conv3x3/block"]
    spans = [e["name"] for e in chrome_trace(report)["traceEvents"] if e["ph"] == "X" and e["pid"] == 0]
    assert spans == ["l0 [conv3x3/block]"]


def test_exports_carry_the_plain_strings():
    cost = Cost.serial(Phase("dma", 1 * US, PhaseLabel.LOAD), Phase("compute", 2 * US),
                       bytes_moved={MemoryLevel.DRAM: 100, MemoryLevel.SRAM: 40},
                       bound_by=BoundBy.MEMORY, energy_j={"mac": 1e-9})
    report = simulate(chain(1), FixedCostDevice(costs={"l0": cost}))
    row = next(csv.DictReader(io.StringIO(ops_csv(report))))
    assert row["bound_by"] == "memory"
    assert row["bytes_dram"] == "100" and row["bytes_sram"] == "40"
    op = json.loads(json.dumps(report_dict(report)))["ops"][0]
    assert op["bound_by"] == "memory" and op["bytes_moved"] == {"dram": 100, "sram": 40}
    assert [p[:2] for p in op["phases"]] == [["dma", "load"], ["compute", "compute"]]


def test_utilization_by_kind_sums_engines_of_a_kind():
    # compute 10 us on 'compute' (COMPUTE); 'dma' (DMA) 3 us load + 4 us store; 'port' (MEMORY)
    # idle. The run lasts 3 + 10 = 13 us (the store overlaps compute).
    cost = Cost(stages=((Phase("dma", 3 * US, "load"),),
                        (Phase("compute", 10 * US), Phase("dma", 4 * US, "store"))))
    engines = (EngineSpec(name="compute", capacity=2), EngineSpec(name="dma", kind=EngineKind.DMA),
               EngineSpec(name="port", kind=EngineKind.MEMORY))
    report = simulate(chain(1), FixedCostDevice(costs={"l0": cost}, engines=engines))
    assert report.duration_s == pytest.approx(13 * US)
    assert report.utilization_by_kind() == pytest.approx({
        EngineKind.COMPUTE: 10 / (13 * 2), EngineKind.DMA: 7 / 13, EngineKind.MEMORY: 0.0})


class _Small(DeviceBase):
    name, description, targets = "small", "refuses networks of more than two ops", ("main",)
    engines = (EngineSpec(name="compute"),)

    def supported_kinds(self, target):
        return frozenset(OpKind)

    def cost(self, op, target):
        return Cost.serial(Phase("compute", 1 * US), energy_j={"mac": 1e-12})


class _AtMostTwoOps(_Small):
    def check(self, network, target):
        if len(network.ops) > 2:
            raise DoesNotFitError(f"{network.name!r} has {len(network.ops)} ops; this device holds 2")


def test_check_defaults_to_accepting_and_a_device_check_refuses_before_the_run():
    check_network(_Small(), chain(5), "main")  # DeviceBase: no-op
    check_network(FixedCostDevice(costs={}), chain(5), "main")  # no check at all: no-op
    assert simulate(Stream(network=chain(5)), _Small()).latency_s == pytest.approx(5 * US)
    with pytest.raises(DoesNotFitError, match="'chain' has 3 ops; this device holds 2"):
        simulate(Stream(network=chain(3)), _AtMostTwoOps())


class _Sloppy(_Small):
    """Builds costs past Cost's validation, as a careless plug-in could."""

    def __init__(self, field, value):
        self.field, self.value = field, value

    def cost(self, op, target):
        cost = super().cost(op, target)
        if self.field == "free":
            object.__setattr__(cost, "bound_by", BoundBy.FREE)
        else:
            object.__setattr__(cost, self.field, self.value)
        return cost


@pytest.mark.parametrize("field, value, found", [
    ("bound_by", "speed", "bound_by 'speed' is not a sim.BoundBy"),
    ("bytes_moved", {"l4": 1}, "keys ['l4'] are not sim.MemoryLevel members"),
    ("free", None, "bound by 'free' yet occupies an engine or takes energy"),
])
def test_the_contract_checks_the_vocabulary(field, value, found):
    assert check_device(_Small()) == []
    violations = [str(v) for v in check_device(_Sloppy(field, value))]
    assert violations and all(v.startswith("[vocabulary]") for v in violations)
    assert any(found in v for v in violations), violations[:3]


def test_the_contract_checks_engine_kinds_and_check():
    device = _Small()
    device.engines = (EngineSpec(name="compute"),)
    object.__setattr__(device.engines[0], "kind", "compute")
    device.check = "yes"
    found = [str(v) for v in check_device(device)]
    assert "[vocabulary] engine 'compute' has kind 'compute', not a sim.EngineKind" in found
    assert any("check must be a method" in v for v in found)
