"""edgesim sim: how networks run. The Device protocol, the SimPy engine, reports, energy tables.

`sim` knows only the `Device` protocol, never a concrete device.
"""

from sim.device import (BoundBy, Cost, Device, DeviceBase, EngineKind, EngineSpec, MemoryLevel,
                        NetworkBinding, NetworkCheck, Phase, PhaseLabel, bind_network,
                        check_network)
from sim.energy import EnergyComponent, EnergyMethod, EnergyModel
from sim.engine import Stream, simulate
from sim.registry import Registry
from sim.report import FrameRecord, OpRecord, Report, StreamInfo, StreamStats

__all__ = [
    "BoundBy",
    "Cost",
    "Device",
    "DeviceBase",
    "EnergyComponent",
    "EnergyMethod",
    "EnergyModel",
    "EngineKind",
    "EngineSpec",
    "FrameRecord",
    "MemoryLevel",
    "NetworkBinding",
    "NetworkCheck",
    "OpRecord",
    "Phase",
    "PhaseLabel",
    "Registry",
    "Report",
    "StreamInfo",
    "Stream",
    "StreamStats",
    "bind_network",
    "check_network",
    "simulate",
]
