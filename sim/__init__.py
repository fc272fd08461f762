"""edgesim sim: how networks run. The Device protocol, the SimPy engine, reports, energy tables.

`sim` knows only the `Device` protocol, never a concrete device.
"""

from sim.device import Cost, Device, EngineKind, EngineSpec, Phase
from sim.energy import EnergyComponent, EnergyMethod, EnergyModel
from sim.engine import Stream, simulate
from sim.registry import Registry
from sim.report import FrameRecord, OpRecord, Report, StreamInfo, StreamStats

__all__ = [
    "Cost",
    "Device",
    "EnergyComponent",
    "EnergyMethod",
    "EnergyModel",
    "EngineKind",
    "EngineSpec",
    "FrameRecord",
    "OpRecord",
    "Phase",
    "Registry",
    "Report",
    "StreamInfo",
    "Stream",
    "StreamStats",
    "simulate",
]
