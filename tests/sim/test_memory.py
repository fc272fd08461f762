"""Capacity-aware SRAM energy and area: the cited points are reproduced and interpolation is
log-log between them (Horowitz, ISSCC 2014, Fig. 1.1.9; Intel 45 nm bit cell)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim import memory
from workloads import SpecError


@pytest.mark.parametrize("capacity, pj", [(8 * 1024, 10.0), (32 * 1024, 20.0), (1 << 20, 100.0)])
def test_cited_points_are_exact(capacity, pj):
    assert memory.sram_access_pj(capacity, 64) == pytest.approx(pj)


def test_log_log_interpolation_between_and_beyond_the_points():
    # 16 kB is the geometric middle of 8 and 32 kB: sqrt(10 * 20) pJ.
    assert memory.sram_access_pj(16 * 1024, 64) == pytest.approx(math.sqrt(200))
    # Below 8 kB the 8-32 kB slope (0.5) continues: 2 kB is 10 / 2.
    assert memory.sram_access_pj(2 * 1024, 64) == pytest.approx(5.0)
    # Above 1 MB the 32 kB-1 MB slope continues: log(5) / log(32) per doubling of capacity.
    alpha = math.log(5) / math.log(32)
    assert memory.sram_access_pj(4 << 20, 64) == pytest.approx(100 * 4 ** alpha)
    many = memory.sram_access_pj(np.array([8 * 1024, 32 * 1024]), 64)
    assert many == pytest.approx([10.0, 20.0])


def test_width_ports_and_node_scaling():
    assert memory.sram_access_pj(8 * 1024, 8) == pytest.approx(10.0 / 8)
    assert memory.sram_access_pj(8 * 1024, 64, ports=2) == pytest.approx(15.0)
    assert memory.sram_access_pj(8 * 1024, 64, node_nm=22.5) == pytest.approx(5.0)



def test_per_byte_energy_is_the_64_bit_access_over_8_bytes():
    # 8 kB at 45 nm: 10 pJ per 64 bits = 1.25 pJ/B; 32 kB at 28 nm, 1.0 V: 20 x 28/45 x
    # (1.0/0.9)^2 / 8 = 1.920 pJ/B; any word width gives the same figure per byte.
    assert memory.sram_pj_per_byte(8 * 1024) == pytest.approx(1.25)
    assert memory.sram_pj_per_byte(32 * 1024, node_nm=28, voltage_v=1.0) == pytest.approx(1.9204, abs=1e-4)
    assert memory.sram_access_pj(32 * 1024, 16) / 2 == pytest.approx(memory.sram_pj_per_byte(32 * 1024))

def test_area_from_the_45nm_bit_cell():
    # 64 kB = 524,288 cells x 0.346 um^2 / 0.7 = 0.259 mm^2 at 45 nm; a quarter at 22.5 nm.
    assert memory.sram_area_mm2(64 * 1024) == pytest.approx(524288 * 0.346 / 0.7 * 1e-6)
    assert memory.sram_area_mm2(64 * 1024, node_nm=22.5) == pytest.approx(
        memory.sram_area_mm2(64 * 1024) / 4)


def test_mac_area_and_energy_follow_horowitz():
    assert memory.mac_area_um2(8) == pytest.approx((282 + 137) * 1.5)
    assert memory.mac_area_um2(32, accumulator_bits=32) == pytest.approx((3495 + 137) * 1.5)
    assert memory.mac_area_um2(16, is_float=True) == pytest.approx((1640 + 1360) * 1.5)
    assert memory.mac_pj(8) == pytest.approx(0.2 + 0.1)


def test_bad_sizes_raise():
    with pytest.raises(SpecError, match="capacity"):
        memory.sram_access_pj(0, 64)
    with pytest.raises(SpecError, match="word_bits"):
        memory.sram_access_pj(1024, -8)
    with pytest.raises(SpecError, match="float MACs"):
        memory.mac_area_um2(8, is_float=True)
