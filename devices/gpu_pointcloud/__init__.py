"""A discrete GPU (NVIDIA RTX 2080 Ti preset) running point-cloud networks' kernels: the
baseline the PointAcc study compares against. See `devices.gpu_pointcloud.device`; its spec is
the `gpu` family of `sim.spec`."""

from devices.gpu_pointcloud.device import FAMILY, GpuPointCloudDevice, GpuSpec

__all__ = ["FAMILY", "GpuPointCloudDevice", "GpuSpec"]
