"""The systolic family's `memory_policy`: `dram` (SCALE-Sim, the default) unchanged, `on_chip`
planned per network (`SystolicDevice.for_network`) with hand-computed DRAM traffic, refused
when unplanned, and planned by `edgesim run`."""

from __future__ import annotations

import pytest

from accelerators.systolic.device import FAMILY, SystolicDevice, SystolicSpec
from sim import simulate
from sim.cli import main
from sim.spec import validate
from sim.systolic import MemoryPolicy
from workloads import NetworkBuilder, SpecError

SMALL = dict(name="small", description="8x8 test array", source="hand-made test case", rows=8, cols=8, dataflow="ws",
             ifmap_sram_kib=4, filter_sram_kib=1, ofmap_sram_kib=4, dram_bytes_per_s=1e9,
             freq_hz=1e9, node_nm=28, vector_lanes=8)
"""9 KiB of SRAM, a 1 KiB parameter cache, 1 byte of DRAM per cycle."""


def device(**changes) -> SystolicDevice:
    return SystolicDevice(spec=validate(SystolicSpec, {**SMALL, **changes}, where="test"))


def conv_relu_conv():
    # x (1, 16, 8, 8) -> conv a (1x1, 16 -> 16) -> relu r -> conv b: 1024-byte tensors,
    # 256-byte weights.
    b = NetworkBuilder("crc")
    x = b.input("x", (1, 16, 8, 8))
    a = b.conv2d(x, 16, 1, name="a")
    r = b.act(a, "relu", name="r")
    b.conv2d(r, 16, 1, name="b")
    return b.build()


def test_the_default_policy_is_scalesims_dram_but_the_edge_tpu_caches_on_chip():
    # The spec's default and the SCALE-Sim-validated presets keep dram; the Edge TPU preset
    # caches parameters and keeps activations in its SRAM (its source), so it ships on_chip.
    policies = {name: FAMILY.preset(name).memory_policy for name in FAMILY.preset_names()}
    assert policies == {"edge_tpu": MemoryPolicy.ON_CHIP, "gemmini": MemoryPolicy.DRAM,
                        "tpu_v1": MemoryPolicy.DRAM}
    d = device()
    assert d.for_network(conv_relu_conv()) is d


def test_on_chip_keeps_intermediates_and_weights_off_dram():
    net = conv_relu_conv()
    dram, onchip = device(), device(memory_policy="on_chip").for_network(net)
    r = net.ops[1]
    # DRAM policy: a reads x (1024) and its weights (256), writes 1024; the relu reads and
    # writes 1024 each; b like a.
    assert [dram.cost(op).bytes_moved["dram"] for op in net.ops] == [2304, 2048, 2304]
    # On chip: both weight sets resident (512 of the 1024-byte cache), a's and r's outputs
    # in the 9216 - 512 bytes left; x from and b's output to the host.
    assert onchip.plan.resident_weights == {"a", "b"}
    assert onchip.plan.on_chip == {"a", "r"}
    assert [onchip.cost(op).bytes_moved["dram"] for op in net.ops] == [1024, 0, 1024]
    assert onchip.cost(r).bytes_moved["sram"] == 2048
    # The relu had been memory bound (2048 B at 1 B/ns), now the vector unit's 1024 / 8
    # lanes = 128 cycles.
    assert dram.cost(r).latency_s == pytest.approx(2048e-9)
    assert onchip.cost(r).latency_s == pytest.approx(128e-9)
    faster = simulate(net, onchip)
    assert faster.latency_s < simulate(net, dram).latency_s
    assert faster.energy_by_component_j["off_chip"] < simulate(
        net, dram).energy_by_component_j["off_chip"]


def test_a_tensor_too_big_for_what_the_weights_leave_spills():
    net = conv_relu_conv()
    # 1.5 KiB of SRAM, all three parts: 1536 - 512 resident = 1024 holds a's output, but not
    # a's and r's together (a is live until r ends), so r spills and b reads it from DRAM.
    d = device(memory_policy="on_chip", ifmap_sram_kib=0.25, filter_sram_kib=1,
               ofmap_sram_kib=0.25).for_network(net)
    assert d.plan.activation_budget_bytes == 1024
    assert d.plan.on_chip == {"a"}
    # a: x from the host, output on chip (1024); r: a from SRAM, its output to DRAM (1024);
    # b: r from DRAM, weights resident, its output to the host (2048). The 256-byte ifmap and
    # ofmap SRAMs hold neither tensor, but a planned layer is tiled so each crosses once.
    assert [d.cost(op).bytes_moved["dram"] for op in net.ops] == [1024, 1024, 2048]
    # Under the DRAM policy (SCALE-Sim's untiled schedule, 128 usable words per SRAM, double
    # buffered) a re-reads x once per column fold (2 x 1024), fetches its 256 weights and
    # drains each row fold's partial sums (2 x 1024).
    assert device(ifmap_sram_kib=0.25, ofmap_sram_kib=0.25).cost(
        net.ops[0]).bytes_moved["dram"] == 2048 + 256 + 2048


def test_an_unplanned_on_chip_device_is_refused_with_the_fix():
    net = conv_relu_conv()
    d = device(memory_policy="on_chip")
    with pytest.raises(SpecError, match=r"planned for no network.*for_network"):
        d.check(net, "accelerator")
    with pytest.raises(SpecError, match="for_network"):
        d.cost(net.ops[0])
    other = NetworkBuilder("other")
    other.conv2d(other.input("x", (1, 16, 8, 8)), 16, 1, name="a")
    with pytest.raises(SpecError, match="planned for 'other'"):
        d.for_network(other.build()).check(net, "accelerator")


def test_simulate_plans_the_network_it_is_given():
    # The engine binds each stream's device to its network (Device.for_network), so an
    # unplanned device, or one planned for another network, is re-planned for this one.
    net = conv_relu_conv()
    d = device(memory_policy="on_chip")
    other = NetworkBuilder("other")
    other.conv2d(other.input("x", (1, 16, 8, 8)), 16, 1, name="a")
    planned = simulate(net, d.for_network(net)).latency_s
    assert simulate(net, d).latency_s == planned
    assert simulate(net, d.for_network(other.build())).latency_s == planned


def test_edgesim_run_plans_the_network(capsys):
    args = ["run", "mobilenetv2", "--arg", "width=0.35", "--arg", "resolution=96",
            "--device", "systolic-edge-tpu", "--quant", "w8a8"]
    assert main(args) == 0  # the preset as shipped: memory_policy on_chip, planned by the run
    onchip = capsys.readouterr().out
    assert main(args + ["--set", "memory_policy=dram"]) == 0
    dram = capsys.readouterr().out

    def latency_ms(text: str) -> float:
        line = next(s for s in text.splitlines() if s.strip().startswith("latency"))
        value, unit = line.split()[1:3]
        return float(value) * {"ms": 1.0, "us": 1e-3}[unit]

    assert latency_ms(onchip) < latency_ms(dram) / 2


def test_compare_plans_the_on_chip_preset(tmp_path):
    from sim.compare import DeviceChoice, compare
    from sim.registry import Registry

    path = tmp_path / "etpu.yaml"
    path.write_text("base: systolic-edge-tpu\nname: etpu-dram\nmemory_policy: dram\n")
    small = ("tiny", conv_relu_conv())
    rows = compare(Registry.from_entry_points(), [small], ["w8a8"],  # the preset is on_chip
                   [DeviceChoice.parse("systolic-edge-tpu"), DeviceChoice.parse(str(path))])
    onchip, dram = (float(r["latency_ms"]) for r in rows)
    assert not any(r["error"] for r in rows)
    assert onchip < dram
