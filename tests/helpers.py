"""Shared test helpers: small hand-checkable networks and devices with hand-set costs."""

from __future__ import annotations

from dataclasses import dataclass, field

from devices.roofline import RooflineSpec
from sim import Cost, EngineSpec, Registry
from workloads import NetworkBuilder, OpKind


@dataclass(frozen=True)
class FixedCostDevice:
    """A device whose cost for each op is looked up by op name (for hand-made timelines)."""

    costs: dict
    engines: tuple = (EngineSpec(name="compute"), EngineSpec(name="dma"))
    name: str = "fixed"
    description: str = "test device with per-op costs"
    targets: tuple = ("main",)
    kinds: frozenset = field(default_factory=lambda: frozenset(OpKind))

    def supported_kinds(self, target):
        return self.kinds

    def cost(self, op, target):
        return self.costs.get(op.name, Cost(stages=()))


def chain(n: int, features: int = 100, name: str = "chain"):
    """x(1, features) -> n linear layers of `features` outputs, named l0..l{n-1}."""
    b = NetworkBuilder(name)
    x = b.input("x", (1, features))
    for i in range(n):
        x = b.linear(x, features, name=f"l{i}")
    return b.build()


def unit_spec(**changes) -> RooflineSpec:
    """A roofline with round numbers: 1 GMAC/s fp32, 1 GB/s, 45 nm (hand-computable)."""
    base = dict(
        name="unit", description="round numbers", source="test",
        fp32_macs_per_s=1e9, fp16_macs_per_s=2e9, int8_macs_per_s=4e9,
        vector_ops_per_s=1e9, dram_bytes_per_s=1e9, node_nm=45,
    )
    return RooflineSpec(**{**base, **changes})


def assert_device_file_error(registry, path, line: str, capsys) -> None:
    """Loading device file `path` raises exactly `PATH: line`, and `edgesim run` prints it as
    one error line, exits 2 and writes nothing to stdout."""
    import pytest

    from sim.cli import main
    from workloads import SpecError

    with pytest.raises(SpecError) as err:
        registry.load_device(path)
    assert str(err.value) == f"{path}: {line}"
    assert main(["run", "resnet18", "--device", str(path)], registry=registry) == 2
    out = capsys.readouterr()
    assert out.err == f"edgesim: error: {path}: {line}\n" and out.out == ""



INSTALLED = Registry.from_entry_points()
"""The installed registry (every family's presets and the plug-in devices), read once."""


def installed_device(name: str, overrides=None):
    """The device `edgesim run --device NAME` builds: `name` from the installed registry."""
    return INSTALLED.device(name, overrides)
