"""The two Adreno 650 models, roofline and board, against each other on the zoo.

`roofline-adreno650` prices bare MACs (Horowitz, scaled to 7 nm) and DRAM bytes at peak rate;
`snapdragon865`'s gpu prices the same chip's compute as active power x busy time. They cannot
agree: a programmable GPU spends most of each MAC's energy on instruction issue and register
files, which the roofline leaves out. So the roofline's report names the board model and the
band measured here, and this test keeps that statement true.
"""

from __future__ import annotations

import pytest

from sim import Registry, simulate
from sim.compare import apply_setting

BAND = (5.0, 70.0)
"""board / roofline energy per inference over the CNNs of the zoo and settings below, as the
roofline preset's `energy_note` states it ('5-70 x'; 6.3-68 x measured). It was 2-16 x while
the board's GPU carried the Jetson Nano's CNN efficiencies; the Adreno GPUs' own scale (0.207 of
those, devices/mobile/calibrate.py) makes its busy time, and so its power x time energy, about
4.8x longer on compute-bound CNNs."""
TRANSFORMER_BAND = (30.0, 110.0)
"""The same over the transformers ('30-110 x'; 37-106 x measured): the board's GPU GEMM
efficiency is calibrated on a BERT-base latency (184 ms derived from CANAO,
results/mobile_validation), 0.055 of peak with the Adreno CNN scale as with the Nano one before
(0.054), so the transformers' band did not move."""
MODELS = ("resnet18", "resnet50", "mobilenetv2", "vgg16", "deit-tiny", "deit-small", "vit",
          "bert-base", "mcunet")
TRANSFORMERS = ("deit-tiny", "deit-small", "vit", "bert-base")
SETTINGS = ("fp32", "fp16", "w8a8", "block:0.75+w8a8+fuse")


@pytest.fixture(scope="module")
def pair():
    registry = Registry.from_entry_points()
    return registry, registry.device("roofline-adreno650"), registry.device("snapdragon865")


def test_board_over_roofline_energy_stays_in_the_stated_band(pair):
    registry, roofline, board = pair
    ratios = {}
    for model in MODELS:
        base = registry.workload(model)
        for setting in SETTINGS:
            net = apply_setting(base, setting)
            ratios[model, setting] = simulate(net, board).energy_j / simulate(net, roofline).energy_j
    band = lambda model: TRANSFORMER_BAND if model in TRANSFORMERS else BAND  # noqa: E731
    outside = {k: round(v, 2) for k, v in ratios.items()
               if not band(k[0])[0] <= v <= band(k[0])[1]}
    assert not outside, f"outside {BAND} (CNNs) or {TRANSFORMER_BAND}: {outside}"


def test_both_price_dram_alike_so_the_gap_is_compute(pair):
    registry, roofline, board = pair
    net = apply_setting(registry.workload("resnet18"), "w8a8+fuse")
    r, b = simulate(net, roofline), simulate(net, board)
    assert roofline.dram_pj_per_byte == board.spec.dram_energy_pj_per_byte == 32.0
    compute = lambda rep: rep.energy_by_component_j.get("mac", 0) + rep.energy_by_component_j.get("vector", 0)
    assert compute(b) / compute(r) > 50  # bare arithmetic vs power x time
    assert b.energy_by_component_j["off_chip"] / r.energy_by_component_j["off_chip"] == pytest.approx(1, abs=0.8)


def test_roofline_summary_names_the_board_model_and_the_band(pair):
    registry, roofline, _ = pair
    text = " ".join(simulate(registry.workload("resnet18"), roofline).summary().split())  # unwrap
    assert "snapdragon865" in text and "5-70 x" in text and "30-110 x" in text
    assert "leaves out instruction, register-file" in text
