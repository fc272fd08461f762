"""The optional `ExecutedSizes` part of the device contract: a device that stores activations at
another width than the network states (an MCU runs fp32 as int8) sizes the run's tensors,
so the report's peak activation memory is what it holds; hand-counted on a two-layer chain."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim import Cost, Phase, simulate
from sim.device import executed_lifetimes, executed_weight_bytes
from tests.helpers import FixedCostDevice, chain

US = 1e-6


@dataclass(frozen=True)
class Int8Storage(FixedCostDevice):
    """Stores every activation at one byte per element, whatever the network declares."""

    name: str = "int8-storage"

    def executed_input_bytes(self, op, index):
        return math.prod(op.input_shapes[index])

    def executed_output_bytes(self, op):
        return math.prod(op.output_shape)


COSTS = {"l0": Cost.serial(Phase("compute", 1 * US)), "l1": Cost.serial(Phase("compute", 1 * US))}


def test_peak_uses_the_sizes_the_device_stores():
    net = chain(2, features=100)  # x(1, 100) fp32 -> l0 -> l1: every tensor 100 elements
    # While l0 runs, x and l0's output are live: 2 x 100 x 4 B as declared, 2 x 100 B as stored.
    assert simulate(net, FixedCostDevice(costs=COSTS)).peak_activation_bytes == 800
    assert simulate(net, Int8Storage(costs=COSTS)).peak_activation_bytes == 200


def test_without_the_methods_the_network_sizes_stand():
    net = chain(2, features=100)
    assert executed_lifetimes(FixedCostDevice(costs=COSTS), net) is net.lifetimes
    stored = executed_lifetimes(Int8Storage(costs=COSTS), net)
    assert stored.size_bytes == (100, 100, 100)
    assert (stored.born, stored.last) == (net.lifetimes.born, net.lifetimes.last)


@dataclass(frozen=True)
class Int8Weights(FixedCostDevice):
    """Stores every parameter at one byte, plus 4 B of scale per op that has any."""

    name: str = "int8-weights"

    def executed_weight_bytes(self, op):
        return op.params + 4 if op.params else 0


def test_weight_total_uses_the_sizes_the_device_stores():
    net = chain(2, features=100)  # two fp32 linear layers 100 -> 100 with bias: 10,100 params each
    assert net.weight_bytes == 2 * 10_100 * 4
    assert simulate(net, FixedCostDevice(costs=COSTS)).weight_bytes == 80_800
    assert executed_weight_bytes(Int8Weights(costs=COSTS), net) == 2 * (10_100 + 4)
    assert simulate(net, Int8Weights(costs=COSTS)).weight_bytes == 20_208
