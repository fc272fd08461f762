"""Shared fixtures of the MCU tests: presets and small hand-checkable networks."""

from __future__ import annotations

import pytest

from devices.mcu.device import FAMILY
from sim.spec import override
from workloads import NetworkBuilder


@pytest.fixture(scope="session")
def f746():
    return FAMILY.spec("stm32f746")


@pytest.fixture
def reserve_1000(f746):
    """The F746 preset with a round 1000-byte runtime reserve."""
    return override(f746, {"runtime_reserve_bytes": 1000})


def residual_block():
    """x(1,4,8,8) -> 1x1 conv 4->8 -> 3x3 depthwise -> 1x1 conv 8->4 -> + x (int8 = 1 B/elem)."""
    b = NetworkBuilder("res")
    x = b.input("x", (1, 4, 8, 8))
    y = b.conv2d(x, 8, 1, name="expand")
    y = b.conv2d(y, 8, 3, padding=1, groups=8, name="dw")
    y = b.conv2d(y, 4, 1, name="project")
    b.add(y, x, name="add")
    return b.build()


def two_conv_chain():
    """x(1,1,8,8) -> 3x3 conv pad 1 -> 3x3 conv pad 1 -> global avg pool -> flatten -> linear 1->2."""
    b = NetworkBuilder("chain")
    x = b.input("x", (1, 1, 8, 8))
    x = b.conv2d(x, 1, 3, padding=1, name="c1")
    x = b.conv2d(x, 1, 3, padding=1, name="c2")
    x = b.global_pool(x, "avg", name="gap")
    x = b.reshape(x, (1, 1), name="flat")
    b.linear(x, 2, name="fc")
    return b.build()
