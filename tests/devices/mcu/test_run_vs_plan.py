"""`edgesim run` and `edgesim mcu plan` read one liveness analysis (`workloads.liveness`).

The run's activation peak is the network's tensor lifetimes; the plan adds, on the same
lifetimes at the same (int8) sizes, what TinyEngine's kernels save by writing an output over a
dying input (in-place depthwise, elementwise and residual ops): a fact of the device's kernels,
not of the network. So, op by op, plan activations + in-place saving = the lifetimes' live
bytes, and the largest of those is the run's peak.
"""

from __future__ import annotations

from importlib import metadata

import pytest

from devices.mcu import memory
from devices.mcu.device import FAMILY
from devices.mcu.spec import KB
from sim import Registry, simulate
from sim.registry import WORKLOAD_GROUP
from workloads import UnsupportedOpError
from workloads.liveness import lifetimes
from workloads.settings import parse_quant
from workloads.zoo import mcunet

REGISTRY = Registry.from_entry_points()


def _deployed_int8(network):
    """What `edgesim run --quant w8a8 --fuse` runs: int8 sizes, norms and clamps fused."""
    return network.quantized(**parse_quant("w8a8")).fused()


def _image_zoo_models() -> list[str]:
    """Registered models of the image zoo (`workloads.zoo`). The point-cloud networks
    (`workloads.pointcloud`) need mapping ops no MCU runtime has kernels for (checked below on
    one of them), and some take seconds to build, so they are left out here."""
    return sorted(ep.name for ep in metadata.entry_points(group=WORKLOAD_GROUP)
                  if ep.value.startswith("workloads.zoo:"))


def _mcu_cases():
    """(model, preset) for every zoo model whose int8 deployment fits an MCU preset."""
    devices = {name: FAMILY.device(name) for name in FAMILY.preset_names()}
    cases = []
    for model in _image_zoo_models():
        net = _deployed_int8(REGISTRY.workload(model))
        for name, device in devices.items():
            try:
                fits = memory.plan(net, device.spec).fits
            except UnsupportedOpError:  # point-cloud ops: no MCU kernels
                break
            if fits:
                cases.append((model, name))
    return cases


CASES = _mcu_cases()


def test_the_zoo_has_mcu_models_on_every_preset():
    models = {m for m, _ in CASES}
    assert {"mbv2-w0.35", "proxyless-w0.3", "mcunet-in0", "mcunet-vww1"} <= models
    assert {d for _, d in CASES} == set(FAMILY.preset_names())


def test_point_cloud_networks_have_no_mcu_kernels():
    spec = FAMILY.device("stm32h743").spec
    with pytest.raises(UnsupportedOpError, match="MCU runtimes have no kernels"):
        memory.plan(REGISTRY.workload("pointnet2-cls"), spec)


@pytest.mark.parametrize("model, preset", CASES)
def test_run_and_plan_agree_on_the_networks_lifetimes(model, preset):
    device = FAMILY.device(preset)
    net = _deployed_int8(REGISTRY.workload(model))
    p = memory.plan(net, device.spec)
    live = memory.liveness(memory.deployed(net, device.spec), device.spec)
    shared = lifetimes(memory.deployed(net, device.spec))  # the network's own (int8) sizes
    assert live.lifetimes == shared
    live_bytes = shared.live_bytes()
    assert [r.activation_bytes + r.in_place_saving_bytes for r in p.rows] == list(live_bytes)
    assert p.peak_activation_bytes == shared.peak_bytes(live.saving_bytes())
    assert simulate(net, device).peak_activation_bytes == shared.peak_bytes() \
        == net.activation_peak_bytes() == p.network_peak_activation_bytes


def test_mbv2_w035_by_hand():
    """MCUNet's MobileNetV2-w0.35 at 144 px (int8): block 2 expands 8 -> 48 channels at 72x72
    and its stride-2 depthwise writes 48 x 36 x 36. The run holds that depthwise's input and
    output, 48*72*72 + 48*36*36 = 311,040 B (303.75 kB); in place (TinyEngine), the depthwise
    needs max(input, output) + one 72x72 plane = 254,016 B, so the plan's peak moves to the
    expand conv: 8*72*72 + 48*72*72 = 290,304 B (283.5 kB)."""
    device = FAMILY.device("stm32f746")
    net = _deployed_int8(REGISTRY.workload("mbv2-w0.35"))
    p = memory.plan(net, device.spec)
    rows = {r.name: r for r in p.rows}
    dw = rows["features.2.conv.1.0+1+2"]
    assert dw.activation_bytes + dw.in_place_saving_bytes == 48 * 72 * 72 + 48 * 36 * 36
    assert dw.activation_bytes == 48 * 72 * 72 + 72 * 72
    assert (p.peak_op, p.peak_activation_bytes) == ("features.2.conv.0.0+1+2", 290_304)
    assert p.peak_activation_bytes == 283.5 * KB
    assert simulate(net, device).peak_activation_bytes == 311_040 == 303.75 * KB
    assert p.network_peak_activation_bytes == 311_040


def test_a_float_network_is_planned_at_its_int8_deployment():
    # The MCU kernels run int8 whatever the network declares, so the plan of the fp32 network
    # equals the plan of its w8a8 quantization.
    spec = FAMILY.device("stm32f746").spec
    float_rows = memory.plan(mcunet(), spec).rows
    int8_rows = memory.plan(mcunet().quantized(**parse_quant("w8a8")), spec).rows
    assert [r.activation_bytes for r in float_rows] == [r.activation_bytes for r in int8_rows]


def test_a_float_network_runs_at_its_int8_activation_peak():
    # The run sizes tensors as the device stores them (McuDevice.executed_*_bytes): an fp32
    # network executed as w8a8 (its SUBSTITUTE line) peaks where its int8 quantization does,
    # not at the 4 B per element it declares (before: mcunet-in2 1,331,200 B = 1.27 MiB).
    device = FAMILY.device("stm32f746")
    fp32, int8 = mcunet(), mcunet().quantized(**parse_quant("w8a8"))
    run = simulate(fp32, device)
    assert {o.executed_precision for o in run.ops if o.macs} == {"w8a8"}
    assert run.peak_activation_bytes == simulate(int8, device).peak_activation_bytes \
        == int8.activation_peak_bytes() == memory.plan(fp32, device.spec).network_peak_activation_bytes
    assert run.peak_activation_bytes == 325 * KB
    assert fp32.activation_peak_bytes() == 4 * 325 * KB  # what the network itself declares


def test_a_float_network_reports_the_flash_the_plan_counts():
    # MCUNet (fp32) has 729,392 parameters: 712,904 conv/linear weights, 1,000 linear biases and
    # 15,488 batch-norm scales and shifts (2 x 7,744 channels). Declared at 4 B that is
    # 2,917,568 B (2.782 MiB); its w8a8 quantization declares 729,392 B (712.3 KiB), norms
    # included. Deployed (kernels.flash_bytes): 712,904 int8 weights + 12 B (int32 bias,
    # multiplier, shift) for each of the 8,744 output channels of its 55 conv/linear layers,
    # norms folded = 817,832 B (798.7 KiB), which `run` and `mcu plan` now both report.
    device = FAMILY.device("stm32f746")
    fp32 = mcunet()
    assert fp32.weight_bytes == 4 * 729_392
    assert fp32.quantized(**parse_quant("w8a8")).weight_bytes == 729_392
    flash = memory.plan(fp32, device.spec).weight_flash_bytes
    assert flash == 712_904 + 12 * 8_744 == 817_832
    assert simulate(fp32, device).weight_bytes == flash
    # Deployed int8 (fused or not) the flash is the same: it never depended on the declared widths.
    assert simulate(_deployed_int8(fp32), device).weight_bytes == flash
