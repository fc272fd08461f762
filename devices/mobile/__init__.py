"""Mobile and edge boards: phone SoCs (Snapdragon 835/865/888) and Jetson boards (Nano, AGX Xavier).

Each board's CPU clusters and GPU are targets and engines of one device sharing DRAM, so
scenarios can run networks on both at once. Costs are aware of kernel classes, sparsity schemes,
datatypes and fusion; see `devices.mobile.device`. The specs (`devices.mobile.spec`) are the
`mobile` family of `sim.spec`: presets, device files and `--set` overrides all validate there.
"""

from devices.mobile.device import FAMILY, MobileBoard, OpBreakdown
from devices.mobile.spec import (
    BoardSpec,
    ComputeUnitSpec,
    CoreGroup,
    KernelEfficiency,
    SparseExecution,
    UnitKind,
)

__all__ = ["FAMILY", "BoardSpec", "ComputeUnitSpec", "CoreGroup", "KernelEfficiency", "MobileBoard",
           "OpBreakdown", "SparseExecution", "UnitKind"]
