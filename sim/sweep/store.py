"""What a sweep has done: the hash that names a point, and the SQLite store of finished points.

A point's key hashes (model identity, model arguments, setting, transforms, resolved device
spec, target, edgesim version), so a re-run with an output folder skips what is stored, and a
change of any of those runs the point again.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path

from sim.export import OutputError
from sim.registry import Registry
from sim.report import edgesim_version
from sim.spec import DeviceSpec, override
from sim.sweep.evaluation import _split
from sim.sweep.points import Point
from sim.sweep.spec import Scalar, SweepSpec
from workloads import SpecError

STORE_NAME = "sweep.sqlite"

class _Keys:
    """Hash of (model, setting, resolved device spec, edgesim version) per point."""

    def __init__(self, spec: SweepSpec, registry: Registry) -> None:
        self.spec, self.registry = spec, registry
        self.version = edgesim_version()
        self._devices: dict = {}
        self._models: dict = {}

    def device_identity(self, index: int, overrides: Mapping[str, Scalar]) -> str:
        key = (index, tuple(sorted(overrides.items())))
        if key not in self._devices:
            entry = self.spec.device_entries()[index]
            merged = {**entry.set, **overrides}
            reg = self.registry
            if reg.names_file(entry.name):  # the same test resolve_device makes
                device, spec = None, reg.resolve_spec(entry.name, merged)
            else:
                device = reg.device(entry.name)
                spec = getattr(device, "spec", None)
                if isinstance(spec, DeviceSpec):
                    spec = override(spec, merged, where=f"--set on {entry.name}")
            if isinstance(spec, DeviceSpec):
                identity = spec.model_dump_json()
            elif merged:
                raise SpecError(f"device {entry.name!r} has no declarative spec yet, so its "
                                f"parameters {sorted(merged)} cannot be swept; sweep a "
                                "device of a family on sim.spec (e.g. a roofline preset)")
            else:
                identity = repr(device)
            self._devices[key] = json.dumps([identity, entry.target])
        return self._devices[key]

    def model_identity(self, index: int) -> str:
        if index not in self._models:
            entry = self.spec.model_entries()[index]
            path = Path(entry.name)
            if path.suffix.lower() in (".json", ".yaml", ".yml", ".onnx") and path.is_file():
                content = hashlib.sha256(path.read_bytes()).hexdigest()
                self._models[index] = json.dumps(["file", content])
            else:
                self._models[index] = json.dumps(["zoo", entry.name, sorted(entry.args.items())])
        return self._models[index]

    def of(self, point: Point) -> str:
        model_args, device_set, transform = _split(point)
        text = json.dumps([self.model_identity(point.model), sorted(model_args.items()),
                           point.setting, sorted(transform.items()),
                           self.device_identity(point.device, device_set), self.version])
        return hashlib.sha256(text.encode()).hexdigest()[:32]


# --- the result store ----------------------------------------------------------------------------

class Store:
    """Finished points in SQLite (WAL), keyed by point hash; each chunk commits atomically."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        try:
            self.db = sqlite3.connect(self.path)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("CREATE TABLE IF NOT EXISTS points (key TEXT PRIMARY KEY, result TEXT NOT NULL)")
            self.db.commit()
        except sqlite3.Error as err:
            raise OutputError(f"cannot open the sweep store {self.path!r}: {err}; choose another --out") from None

    def done(self) -> dict[str, dict]:
        return {k: json.loads(v) for k, v in self.db.execute("SELECT key, result FROM points")}

    def add(self, rows: Sequence[tuple[str, dict]]) -> None:
        with self.db:  # one transaction: all of the chunk or none of it
            self.db.executemany("INSERT OR REPLACE INTO points (key, result) VALUES (?, ?)",
                                [(k, json.dumps(r)) for k, r in rows])

    def close(self) -> None:
        self.db.close()
