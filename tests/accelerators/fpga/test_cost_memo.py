"""The FPGA device memoizes its pure costs, and a memoized cost equals a freshly computed one."""

from __future__ import annotations

from workloads.zoo import resnet18
from tests.helpers import installed_device


def test_costs_are_memoized_per_device_and_equal_fresh_ones():
    net = resnet18().quantized("fixed", weight_bits=4, activation_bits=8)
    device = installed_device("fpga-zcu102")
    first = [device.cost(op) for op in net.ops]
    assert all(device.cost(op) is c for op, c in zip(net.ops, first))
    fresh = installed_device("fpga-zcu102")
    assert [fresh._price_uncached(op)[0] for op in net.ops] == first
    conv = next(op for op in net.ops if op.macs)
    detail = device.energy_detail_j(conv)  # the per-resource split comes from the same memo
    assert detail == fresh._price_uncached(conv)[1]
    detail["dsp"] = -1.0  # a caller's copy: the memo keeps the priced value
    assert device.energy_detail_j(conv) == fresh._price_uncached(conv)[1]
    assert installed_device("fpga-zcu102") == device  # the memo is not part of the device's identity
    assert "_cache" not in repr(device)
