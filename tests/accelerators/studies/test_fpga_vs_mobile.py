"""A small FPGA-vs-mobile comparison, through the installed registry, so the study cannot rot."""

from __future__ import annotations

import pytest

from accelerators.studies import fpga_vs_mobile


def test_small_comparison_runs_every_device(tmp_path):
    rows = fpga_vs_mobile.run(tmp_path, models=("resnet18",), settings=("block:0.75+w8a8+fuse",),
                               devices=("fpga-zcu102", "snapdragon865:gpu"))
    assert [r["device"] for r in rows] == ["fpga-zcu102", "snapdragon865"]
    assert all(not r["error"] and r["energy_per_inference_mj"] > 0 for r in rows)
    text = (tmp_path / "README.md").read_text()
    assert "| resnet18 | block:0.75+w8a8+fuse |" in text
    assert "decided by" in text
    if fpga_vs_mobile.pyplot() is not None:
        assert (tmp_path / "energy_by_component.png").exists()
        assert (tmp_path / "energy_latency.png").exists()


def test_deciding_component_is_the_largest_difference():
    zero = {f"energy_{c}_mj": 0.0 for c in fpga_vs_mobile.COMPONENTS}
    fpga = {**zero, "energy_static_mj": 3.0, "energy_host_mj": 2.0, "energy_mac_mj": 1.0,
            "energy_per_inference_mj": 6.0}
    board = {**zero, "energy_mac_mj": 4.0, "energy_static_mj": 0.5, "energy_per_inference_mj": 4.5}
    # static differs by 2.5, mac by 3.0, host by 2.0: mac decides.
    assert fpga_vs_mobile.deciding_component(fpga, board) == ("mac", 1.0, 4.0)
    assert fpga_vs_mobile._assumed_share(fpga) == pytest.approx(5 / 6)
