"""Point-cloud accelerator (PointAcc-style, arXiv 2110.07600) for edgesim.

- `spec`: the declarative spec (clock, node, datapath width, matrix, mapping and memory units);
- `cache`: vectorised set-associative LRU simulation of gather/scatter index streams;
- `matrix`: GEMM timing on the systolic matrix unit (the shared `sim.systolic` template);
- `plan`: per-workload plans made once: temporal fusion and the cache replay of index streams;
- `device`: the accelerator (mapping unit, memory management unit, systolic matrix unit);
- `study`, `cli`: the comparison against a GPU baseline and the `edgesim pointcloud` command.

The networks it runs, their point sets and mapping are workloads: `workloads.pointcloud`.
"""

from accelerators.pointcloud.device import FAMILY, PointAccDevice
from accelerators.pointcloud.spec import PointAccSpec

__all__ = ["FAMILY", "PointAccDevice", "PointAccSpec"]
