"""The FPGA device memoizes its pure costs, and a memoized cost equals a freshly computed one."""

from __future__ import annotations

from accelerators.fpga.factories import zcu102
from workloads.zoo import resnet18


def test_costs_are_memoized_per_device_and_equal_fresh_ones():
    net = resnet18().quantized("fixed", weight_bits=4, activation_bits=8)
    device = zcu102()
    first = [device.cost(op) for op in net.ops]
    assert all(device.cost(op) is c for op, c in zip(net.ops, first))
    fresh = zcu102()
    assert [fresh._cost(op) for op in net.ops] == first
    assert zcu102() == device  # the memo is not part of the device's identity
    assert "_cache" not in repr(device)
