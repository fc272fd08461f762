"""The shared energy table: the cited 45 nm values, and the stated width and node rules."""

from __future__ import annotations

import pytest

from sim.energy import HOROWITZ_45NM as T
from workloads import SpecError


def test_cited_points_are_exact():
    # Horowitz ISSCC 2014: int8 mul 0.2, int32 mul 3.1, int8 add 0.03, int32 add 0.1,
    # fp16 add 0.4 / mul 1.1, fp32 add 0.9 / mul 3.7 pJ; DRAM 1.3 nJ per 64 bits (low end).
    assert T.int_mul_pj(8) == pytest.approx(0.2)
    assert T.int_mul_pj(32) == pytest.approx(3.1)
    assert T.int_add_pj(8) == pytest.approx(0.03)
    assert T.int_add_pj(32) == pytest.approx(0.1)
    assert T.mac_pj(32, is_float=True) == pytest.approx(4.6)
    assert T.mac_pj(16, is_float=True) == pytest.approx(1.5)
    assert T.mac_pj(8, is_float=False) == pytest.approx(0.3)  # int8 mul + int32 accumulate
    assert T.dram_pj_per_byte == pytest.approx(162.5)


def test_width_rule_is_a_power_law_between_cited_widths():
    # Multiply: alpha = log(15.5)/log(4) = 1.977 -> 16 bits: 0.2 * 2**1.977 = 0.787 pJ.
    assert T.int_mul_pj(16) == pytest.approx(0.2 * 2 ** 1.97718, rel=1e-4)
    assert T.int_mul_pj(4) < T.int_mul_pj(8) < T.int_mul_pj(16) < T.int_mul_pj(32)


def test_node_rule_scales_logic_not_dram():
    t7 = T.scaled(7, 0.75)
    factor = (7 / 45) * (0.75 / 0.9) ** 2
    assert t7.fp32_mul_pj == pytest.approx(3.7 * factor)
    assert t7.sram_64bit_pj == pytest.approx(10 * factor)
    assert t7.dram_64bit_pj == T.dram_64bit_pj
    assert "scaled to 7 nm" in t7.source
    with pytest.raises(SpecError):
        T.scaled(0, 0.9)
    with pytest.raises(SpecError, match="float MACs"):
        T.mac_pj(8, is_float=True)


# --- the vocabulary ------------------------------------------------------------------------------


def test_cost_keys_become_components_and_anything_else_is_refused():
    from sim import Cost, EnergyComponent, EngineSpec, Phase
    from sim.energy import account

    cost = Cost.serial(Phase("compute", 1e-6), energy_j={"mac": 3e-9, "off_chip": 4e-9})
    assert cost.energy_j == {EnergyComponent.MAC: 3e-9, EnergyComponent.OFF_CHIP: 4e-9}
    assert all(isinstance(k, EnergyComponent) for k in cost.energy_j)
    assert cost.energy_j["off_chip"] == 4e-9  # a member hashes and compares as its value
    with pytest.raises(SpecError, match=r"energy component 'dram' is not one of \['mac'"):
        Cost.serial(Phase("compute", 1e-6), energy_j={"dram": 1e-9})
    with pytest.raises(SpecError, match="energy component 'leakage'"):
        EngineSpec(name="x", static_power_w=1.0, static_component="leakage")
    assert account({"adc": 1.0, "dac": 2.0}, {"adc": EnergyComponent.CONVERSION,
                                              "dac": EnergyComponent.CONVERSION}) == {
        EnergyComponent.CONVERSION: 3.0}
    with pytest.raises(SpecError, match="energy detail 'cell' has no component"):
        account({"cell": 1.0}, {})


def test_static_power_is_booked_to_the_engines_component():
    from sim import Cost, EnergyComponent, EngineSpec, Phase, simulate
    from tests.helpers import FixedCostDevice, chain

    engines = (EngineSpec(name="compute", static_power_w=0.5),
               EngineSpec(name="dma", static_power_w=0.25, static_component=EnergyComponent.HOST))
    device = FixedCostDevice(costs={"l0": Cost.serial(Phase("compute", 4e-6))}, engines=engines)
    report = simulate(chain(1), device)
    assert report.energy_by_component_j == pytest.approx({"static": 0.5 * 4e-6, "host": 0.25 * 4e-6})
    assert list(report.energy_by_component_j) == [EnergyComponent.STATIC, EnergyComponent.HOST]


def test_scaling_to_an_absurd_node_or_voltage_is_a_spec_error():
    with pytest.raises(SpecError, match="scale the energy table past a float"):
        T.scaled(7, 1e308)


def test_a_component_prints_as_its_value():
    from sim import EnergyComponent

    assert f"{EnergyComponent.OFF_CHIP}_energy_j" == "off_chip_energy_j"
    assert str(EnergyComponent.MAC) == "mac" and f"{EnergyComponent.MAC:>5}" == "  mac"
