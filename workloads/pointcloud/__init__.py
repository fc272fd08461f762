"""Point-cloud workloads: point sets, the mapping operations run on them, and the networks they size.

- `pointsets`: seeded synthetic point sets (objects, rooms, lidar sweeps) and a point-file loader;
- `mapping`: FPS, kNN, ball query, voxelisation and sparse-conv kernel maps on real points;
- `networks`: PointNet++, DGCNN, MinkUNet and the PointPillars front end built from mapping
  results, each a `PointCloudWorkload` whose `PointCloudNetwork` carries its index streams and
  kernel maps (so a device handed the network alone can replay them);
- `zoo`: the same networks as registered workloads (`edgesim run pointnet2-ssg`), from a point
  file or a synthetic set, with `points`, `size` and `seed` arguments.

Like the rest of `workloads`, this imports nothing of edgesim's outside `workloads` (numpy and
scipy only); the devices that run these networks live in `accelerators.pointcloud` and
`devices.gpu_pointcloud`.
"""

from workloads.pointcloud.networks import BUILDERS, PointCloudNetwork, PointCloudWorkload
from workloads.pointcloud.pointsets import PointFileError, load_points
from workloads.pointcloud.zoo import NAMES, workload

__all__ = ["BUILDERS", "NAMES", "PointCloudNetwork", "PointCloudWorkload", "PointFileError", "load_points", "workload"]
