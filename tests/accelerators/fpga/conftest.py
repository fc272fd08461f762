"""Shared fixtures of the FPGA tests: devices built once per session (they are immutable)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import installed_device


@pytest.fixture(scope="session")
def zcu102():
    return installed_device("fpga-zcu102")


@pytest.fixture(scope="session")
def fpga_devices():
    return {"fpga-zcu102": installed_device("fpga-zcu102"), "fpga-xc7z020": installed_device("fpga-xc7z020"),
            "fpga-xc7z045": installed_device("fpga-xc7z045")}


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
