"""McuDevice: the sim.Device contract, hand-checked costs, fit errors, published latencies."""

from __future__ import annotations

import builtins
import io
import math
import os
from functools import partial

import pytest
import simpy

from devices.mcu.device import McuDevice
from devices.mcu.kernels import op_cycles
from devices.studies.mcu_patch import mbv2_mcunet_baseline
from sim import Cost, Device, Stream, simulate
from sim.spec import override
from tests.devices.mcu.conftest import residual_block
from tests.sim.test_contract import VARIANTS, ops_for, priced
from workloads import DoesNotFitError, NetworkBuilder, OpKind, UnsupportedOpError
from workloads.zoo import mcunet
from tests.helpers import installed_device

FACTORIES = [partial(installed_device, name) for name in ("stm32f746", "stm32h743", "stm32f412", "nrf52840")]


@pytest.mark.parametrize("factory", FACTORIES)
def test_contract(factory, monkeypatch):
    """The checks of tests/sim/test_contract.py on each preset (built directly, not registered)."""
    device = factory()
    assert isinstance(device, Device) and device.targets == ("cpu",)
    assert [e.name for e in device.engines] == ["cpu"]
    n_priced = 0
    for op, cost in priced(device, "cpu"):
        if cost is None:
            continue
        n_priced += 1
        assert isinstance(cost, Cost) and cost.bound_by
        assert all(p.engine == "cpu" and math.isfinite(p.duration_s) for p in cost.phases)
        assert device.cost(op, "cpu") == cost
    assert n_priced
    fresh = factory()
    for module, name in [(builtins, "open"), (io, "open"), (os, "open")]:
        monkeypatch.setattr(module, name, lambda *a, **k: pytest.fail("cost opened a file"))
    monkeypatch.setattr(simpy.Environment, "__init__", lambda *a, **k: pytest.fail("simpy"))
    for op in ops_for(fresh, "cpu"):
        try:
            fresh.cost(op, "cpu")
        except DoesNotFitError:
            pass


def test_point_cloud_kinds_are_refused_before_the_run():
    with pytest.raises(UnsupportedOpError, match=r"ball_query.*fps.*gather.*knn.*scatter.*sparse_conv3d"):
        simulate(Stream(network=VARIANTS["fused"], target="cpu"), installed_device("stm32f746"))


def test_cost_by_hand(f746):
    """expand (1x1 conv 4->8 on 8x8): (2048 MACs x 0.625 + 64 pixels x 4 channels expanded x
    0.625 + 512 outputs x 10 requant cycles) x the 1.77 calibration scale, a 2000-cycle call,
    and 128 B of params in four 32-byte flash lines x 8 cycles."""
    device = McuDevice(f746)
    op = residual_block()["expand"]
    cycles = op_cycles(op, f746)
    assert cycles.compute_cycles == pytest.approx((2048 * 0.625 + 256 * 0.625 + 512 * 10.0) * 1.77)
    assert cycles.flash_cycles == 4 * 8
    assert cycles.overhead_cycles == 2000
    cost = device.cost(op)
    assert cost.latency_s == pytest.approx(cycles.total_cycles / 216e6)
    assert cost.energy_j["board"] == pytest.approx(0.33 * cost.latency_s)
    assert cost.bound_by == "compute"


def test_weights_past_the_data_cache_are_refetched_per_output_pair(f746):
    b = NetworkBuilder("big")
    x = b.input("x", (1, 128, 4, 4))
    b.conv2d(x, 128, 1, name="pw")  # 16 kB of weights > the F746's 4 kB D-cache
    op = b.build()["pw"]
    lines = math.ceil((128 * 128 + 12 * 128) / 32)
    assert op_cycles(op, f746).flash_cycles == lines * 8 * (16 // 2)
    roomy = override(f746, {"dcache_bytes": 1 << 20})
    assert op_cycles(op, roomy).flash_cycles == lines * 8


def test_an_op_that_cannot_fit_names_tensor_and_overflow(f746):
    b = NetworkBuilder("wide")
    x = b.input("x", (1, 3, 320, 320))
    b.conv2d(x, 16, 3, padding=1, name="stem")
    with pytest.raises(DoesNotFitError, match=(
            r"op 'stem' on stm32f746: its working set needs 1908\.1 kB of SRAM, 1588\.1 kB over "
            r"320\.0 kB \(largest tensor: output, 1600\.0 kB\)")):
        McuDevice(f746).cost(b.build()["stem"])


def test_weights_that_cannot_fit_flash(f746):
    b = NetworkBuilder("fat")
    x = b.input("x", (1, 2048))
    b.linear(x, 1024, name="fc")
    with pytest.raises(DoesNotFitError, match=r"op 'fc' on stm32f746: its parameters need 2060\.0 kB of flash"):
        McuDevice(f746).cost(b.build()["fc"])


def test_unknown_target(f746):
    with pytest.raises(ValueError, match="has no target 'gpu'"):
        McuDevice(f746).supported_kinds("gpu")


def test_latency_against_tinyengine_on_stm32h743():
    """TinyEngine README, Measured Results (STM32H743 @ 480 MHz): mcunet-in2 280 ms (the
    calibration point, so within 2 %) and mbv2-w0.35 (MCUNet's 144x144 baseline) 124 ms, an
    independent point: within the +-25 % a device model is held to (we are 9 % fast; every
    other row of that table is held to its band in test_latency.py)."""
    device = installed_device("stm32h743")
    # The deployed graphs (batch norm and ReLU folded into the convs, as TinyEngine runs them).
    assert simulate(mcunet().fused(), device).latency_s == pytest.approx(0.280, rel=0.02)
    mbv2 = mbv2_mcunet_baseline()
    assert mbv2.macs == pytest.approx(23.5e6, rel=0.005)  # mcunet README: 23.5M MACs
    assert simulate(mbv2.fused(), device).latency_s == pytest.approx(0.124, rel=0.25)


def test_folded_batch_norm_costs_nothing(f746):
    """Folded into the conv (a member of the fused op), a batch norm adds no time."""
    b = NetworkBuilder("bn")
    x = b.input("x", (1, 4, 8, 8))
    b.norm(b.conv2d(x, 4, 1, name="c"), "batch", name="bn")
    net = b.build()
    (fused,) = net.fused().ops
    device = McuDevice(f746)
    assert device.cost(fused).latency_s == device.cost(net["c"]).latency_s
    assert OpKind.NORM in device.supported_kinds("cpu")


def test_standalone_batch_norm_and_relu_cost_an_elementwise_pass(f746):
    """Issue 13: with nothing to fold into (priced on its own) a norm or ReLU was 0 s and 0 J,
    so a network of one gave 'inf frames/s'. Standalone, it is an elementwise kernel: its
    elements at the kernel's cycles per element plus the call overhead."""
    b = NetworkBuilder("bn")
    x = b.input("x", (1, 4, 8, 8))
    b.act(b.norm(x, "batch", name="bn"), "relu", name="relu")
    net = b.build()
    device = McuDevice(f746)
    k = f746.kernels
    for name in ("bn", "relu"):
        op = net[name]
        cycles = max(op.vector_ops, 4 * 8 * 8) * k.elementwise_cycles_per_element + k.op_overhead_cycles
        cost = device.cost(op)
        assert cost.latency_s == pytest.approx(cycles / f746.freq_hz)
        assert cost.dynamic_energy_j > 0
    assert simulate(net, device).throughput_per_s < float("inf")


def test_simulate_refuses_a_network_whose_schedule_does_not_fit():
    # Every op's own working set may fit while the whole schedule does not: the device's
    # check runs the memory plan before the engine prices any op.
    from sim import simulate
    from workloads import DoesNotFitError
    from workloads.zoo import mobilenetv2

    with pytest.raises(DoesNotFitError, match="SRAM overflows by 1060.0 kB at op 'features.2.conv.0.0"):
        simulate(mobilenetv2(), installed_device("stm32f746"))
