"""`Family`: a device family's spec type, the function that builds its device, and its presets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.spec.base import SPEC_SUFFIXES, DeviceSpec
from sim.spec.files import spec_from_file
from workloads import UnknownNameError
from workloads.errors import suggest


@dataclass(frozen=True)
class Family:
    """A device family: its spec type, the device it builds, and its presets."""

    name: str
    spec_type: type[DeviceSpec]
    build: Callable[[Any], Any]
    """spec -> sim.Device. Cheap: expensive set-up belongs in the device's own factories."""
    presets: Path | None = None
    """Folder of `NAME.yaml` presets: the `presets/` folder beside the module declaring the
    family (the registry lists each as a device under its `name:`; here, in `preset`, the
    file stem names it)."""

    def preset_names(self) -> list[str]:
        if self.presets is None:
            return []
        return sorted(p.stem for p in Path(self.presets).glob("*.yaml"))

    def preset(self, name: str) -> DeviceSpec:
        """The spec of preset `name` (a file stem in `presets`). Raises UnknownNameError."""
        names = self.preset_names()
        if name not in names:
            raise UnknownNameError(
                f"unknown {self.name} preset {name!r}{suggest(name, names)}; presets: {names}"
            )
        return spec_from_file(Path(self.presets) / f"{name}.yaml", family=self)

    def spec(self, preset: str | Path) -> DeviceSpec:
        """The spec of a preset (a file stem in `presets`) or of a device file of this family.

        Raises UnknownNameError for an unknown preset, SpecError for a bad file. A file with
        `base:` needs the registry (`Registry.load_device`), which knows every family's presets.
        """
        if isinstance(preset, Path) or Path(preset).suffix in SPEC_SUFFIXES:
            return spec_from_file(Path(preset), family=self)
        return self.preset(str(preset))

    def device(self, preset: str | Path):
        """The device of a preset (a file stem in `presets`) or of a device file of this family."""
        return self.build(self.spec(preset))
