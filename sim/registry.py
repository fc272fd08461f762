"""The one registry of devices and workload builders: Python entry points and family presets.

Built-in families and models register through the same entry-point groups as third-party ones
(`edgesim.families`, `edgesim.workloads` in pyproject.toml), so a user's model is a first-class
citizen. Every registered family's presets are devices: each `NAME.yaml` in the family's
`presets/` folder is listed under the `name:` it declares. The group `edgesim.devices` is for
plug-in devices that are not a family preset (a factory taking no arguments). One name given
twice (two presets, a preset and a plug-in, two plug-ins) is listed, and asking for it raises a
one-line PluginError naming both places, so nothing silently shadows anything.

A `Registry` is an ordinary object passed to whoever needs it; tests build one from dicts, and
`Registry.from_entry_points()` builds the installed one. Listing presets imports no family:
a family's `presets/` folder is found beside the module its entry point names without running
that module (`presets_folder`), so `edgesim run --device NAME` imports only NAME's family.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import inspect
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import MappingProxyType

from sim.device import Device
from sim.spec import SPEC_SUFFIXES, DeviceSpec, Family, override, read_yaml_file, spec_from_file
from workloads import EdgesimError, Network, SpecError, UnknownNameError, yamlio
from workloads.errors import suggest

DEVICE_GROUP = "edgesim.devices"
WORKLOAD_GROUP = "edgesim.workloads"
FAMILY_GROUP = "edgesim.families"


class PluginError(EdgesimError, RuntimeError):
    """A registered plug-in failed to load or returned the wrong type."""


@dataclass(frozen=True)
class Registry:
    """Names -> factories. Device factories take no arguments; model builders take keywords.

    `families` maps a family name to a `sim.spec.Family`, or to a no-argument callable returning
    one (entry points load lazily); device files and `--set` overrides go through it.
    """

    devices: Mapping[str, Callable[[], Device]]
    workloads: Mapping[str, Callable[..., Network]]
    families: Mapping[str, Family | Callable[[], Family]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.devices, _LazyTable):
            object.__setattr__(self, "devices", MappingProxyType(dict(self.devices)))
        object.__setattr__(self, "workloads", MappingProxyType(dict(self.workloads)))
        object.__setattr__(self, "families", MappingProxyType(dict(self.families)))

    @classmethod
    def from_entry_points(cls) -> Registry:
        """The installed registry: every family's presets and the plug-in devices, then models.

        Entry points are loaded lazily, when a name is asked for; preset files are listed (their
        `name:` read) on the first look at `devices`. A name given twice is kept, but asking for
        it raises PluginError naming both, so a plug-in can never silently shadow another (or a
        built-in).
        """
        family_eps = metadata.entry_points(group=FAMILY_GROUP)
        families = _by_name(family_eps, objects=True)
        plugins = metadata.entry_points(group=DEVICE_GROUP)

        def family_of(name: str) -> Family:
            return load_family(families, name)

        def folder_of(ep: metadata.EntryPoint) -> Path | None:
            # A family whose module cannot be found without importing it (a zipped plug-in,
            # say) is imported to read its presets folder; one that fails to load lists none
            # (its error shows where the family itself is asked for).
            folder = presets_folder(ep.module)
            try:
                return folder if folder is not None else family_of(ep.name).presets
            except EdgesimError:
                return None

        def table() -> dict[str, Callable[[], Device]]:
            folders = {ep.name: folder_of(ep) for ep in sorted(family_eps, key=lambda e: e.name)}
            return device_table(folders, family_of, plugins)

        return cls(devices=_LazyTable(table),
                   workloads=_by_name(metadata.entry_points(group=WORKLOAD_GROUP)),
                   families=families)

    @classmethod
    def of_families(cls, families: Mapping[str, Family],
                    workloads: Mapping[str, Callable[..., Network]] | None = None) -> Registry:
        """A registry whose devices are the presets of `families` (name -> Family), listed as
        `from_entry_points` lists the installed ones; for tests and embedding."""

        def family_of(name: str) -> Family:
            return load_family(families, name)

        return cls(devices=_LazyTable(lambda: device_table(
                       {name: family.presets for name, family in families.items()}, family_of)),
                   workloads=workloads or {}, families=families)

    def family(self, name: str) -> Family:
        """The device family registered as `name` (e.g. 'mobile')."""
        return load_family(self.families, name)

    def resolve_device(self, what: str, overrides: Mapping[str, object] | None = None) -> Device:
        """A registered device name or the path of a YAML device file, with `--set` overrides."""
        if self.names_file(what):
            return self.load_device(what, overrides)
        return self.device(what, overrides)

    def resolve_spec(self, what: str, overrides: Mapping[str, object] | None = None) -> DeviceSpec:
        """The declarative spec `resolve_device(what, overrides)` builds its device from."""
        if self.names_file(what):
            spec = spec_from_file(Path(what), family_of=self.family, base_of=self.device_spec)
        else:
            spec = self.device_spec(what)
        return override(spec, overrides or {}, where=f"--set on {what}")

    def names_file(self, what: str) -> bool:
        """True when `what` is a device file's path rather than a registered name."""
        path = Path(what)
        return path.suffix.lower() in SPEC_SUFFIXES or "/" in what or (
            what not in self.devices and path.exists())

    def load_device(self, path: str | Path, overrides: Mapping[str, object] | None = None) -> Device:
        """The device described by a YAML device file (`family:` or `base:`), then overrides."""
        spec = spec_from_file(Path(path), family_of=self.family, base_of=self.device_spec)
        return self._build(override(spec, overrides or {}, where=f"--set on {path}"))

    def _build(self, spec: DeviceSpec) -> Device:
        """`family.build(spec)`, a failure of the family's own code named as its plug-in's."""
        family = self.family(spec.family)
        entry = self.families.get(spec.family)
        return call_plugin(family.build, lambda: f"device family {describe_entry_point(entry, spec.family)} "
                           f"building {spec.name!r}", spec)

    def device_spec(self, name: str) -> DeviceSpec:
        """The declarative spec of registered device `name`."""
        device = self.device(name)
        spec = getattr(device, "spec", None)
        if not isinstance(spec, DeviceSpec):
            raise SpecError(f"device {name!r} has no declarative spec (its .spec is not a "
                            "sim.spec.DeviceSpec), so it cannot be shown, based on or overridden")
        return spec

    def device(self, name: str, overrides: Mapping[str, object] | None = None) -> Device:
        """Build the device registered as `name`, with dotted-key overrides of its spec.

        Raises UnknownNameError, the factory's own EdgesimError (e.g. a bad preset), or
        PluginError naming the distribution and entry point when the factory fails otherwise
        or returns something that is not a `sim.Device`.
        """
        if overrides:
            spec = override(self.device_spec(name), overrides, where=f"--set on {name}")
            return self._build(spec)
        factory = self._find(self.devices, name, "device")
        try:
            inspect.signature(_unwrap(factory)).bind()
        except TypeError:
            raise PluginError(
                f"device entry point {name!r} must be callable with no arguments"
            ) from None
        device = call_plugin(factory, f"device factory {describe_entry_point(factory, name)}")
        if not isinstance(device, Device):
            raise PluginError(
                f"device entry point {name!r} returned {type(device).__name__}, which lacks the "
                "sim.Device attributes (name, description, engines, targets, supported_kinds, cost)"
            )
        return device

    def workload(self, name: str, /, **kwargs) -> Network:
        """Build the model registered as `name` with builder keyword arguments.

        Each value must match the type of the builder's default for it (a bool for a bool, an
        int for an int; an int is accepted for a float), so a misspelt flag value is an error.
        """
        builder = self._find(self.workloads, name, "model")
        params = inspect.signature(_unwrap(builder)).parameters
        allowed = [p for p, v in params.items() if v.kind in (v.KEYWORD_ONLY, v.POSITIONAL_OR_KEYWORD)]
        unknown = [k for k in kwargs if k not in allowed]
        if unknown:
            raise SpecError(f"model {name!r} takes no argument(s) {unknown}; allowed: {allowed}")
        kwargs = {k: _typed_argument(name, k, v, params[k].default) for k, v in kwargs.items()}
        network = call_plugin(lambda: builder(**kwargs),
                              f"model builder {describe_entry_point(builder, name)}")
        if not isinstance(network, Network):
            raise PluginError(f"model entry point {name!r} returned {type(network).__name__}, not a Network")
        return network

    def describe(self, kind: str) -> list[tuple[str, str]]:
        """(name, one-line description) of every device ('devices') or model ('workloads')."""
        table = self.devices if kind == "devices" else self.workloads
        rows = []
        for name in sorted(table):
            try:
                if kind == "devices":
                    text = self.device(name).description
                else:
                    text = (inspect.getdoc(_unwrap(table[name])) or "").splitlines()[0:1]
                    text = text[0] if text else ""
            except EdgesimError as err:
                text = f"(failed to load: {err})"
            rows.append((name, text))
        return rows

    @staticmethod
    def _find(table: Mapping, name: str, what: str):
        try:
            return table[name]
        except KeyError:
            raise UnknownNameError(
                f"unknown {what} {name!r}{suggest(name, table)}; `edgesim list` shows the "
                f"{what}s installed"
            ) from None


def _typed_argument(model: str, key: str, value, default):
    """`value` checked against the type of `default` (no check when the default is None/empty)."""
    if default is inspect.Parameter.empty or default is None:
        return value
    expected = type(default)
    if expected is float and type(value) is int:
        return float(value)
    if type(value) is not expected:
        if expected not in (bool, int, float, str):
            raise SpecError(
                f"model {model!r} argument {key!r} takes a {expected.__name__}, not {value!r}; "
                "build the model in Python to set it"
            )
        raise SpecError(
            f"model {model!r} argument {key!r} must be a {expected.__name__} like {default!r} "
            f"(got {value!r})"
        )
    return value


def describe_entry_point(obj, name: str | None = None) -> str:
    """"'NAME' (module:attr, distribution 'DIST', group GROUP)" for a registry factory or an
    entry point; plain 'NAME' for objects that did not come from an entry point."""
    ep = obj if isinstance(obj, metadata.EntryPoint) else getattr(obj, "entry_point", None)
    if ep is None and hasattr(obj, "preset_file"):
        family, path = obj.preset_file
        return f"{name!r} ({family} preset {path})" if name else f"{family} preset {path}"
    if ep is None:
        return repr(name) if name else repr(getattr(obj, "__name__", type(obj).__name__))
    dist = getattr(ep, "dist", None)
    where = f", distribution {dist.name!r}" if dist is not None else ""
    return f"{ep.name!r} ({ep.value}{where}, group {ep.group})"


def origin_of(obj) -> str:
    """The distribution(s) that ship `obj`'s top-level module, e.g. "distribution 'edgesim'",
    or its module when no installed distribution claims it (a plug-in run from a source tree)."""
    module = (getattr(type(obj), "__module__", None) or "?").split(".")[0]
    dists = metadata.packages_distributions().get(module)
    dists = list(dict.fromkeys(dists or ()))  # editable installs list a distribution per path
    return f"distribution {', '.join(map(repr, dists))}" if dists else f"module {module!r}"


def call_plugin(fn: Callable, what: str | Callable[[], str], *args):
    """`fn(*args)`; an EdgesimError passes through, anything else becomes a one-line
    PluginError that starts with `what` (which names the plug-in; a callable is called only on
    failure, so hot paths pay nothing for the message)."""
    try:
        return fn(*args)
    except EdgesimError:
        raise
    # Plug-in code can raise anything (KeyError, ZeroDivisionError, ...): report it typed and
    # named. KeyboardInterrupt and SystemExit are not Exceptions and pass through.
    except Exception as err:  # noqa: BLE001 - the plug-in boundary, re-raised with context
        text = what() if callable(what) else what
        raise PluginError(f"{text} raised {type(err).__name__}: {err}") from err


def load_family(families: Mapping[str, Family | Callable[[], Family]], name: str) -> Family:
    """The family registered as `name` in `families`, checked: a `Family` of that name whose
    presets (if any) sit in the `presets/` folder the registry lists. Raises UnknownNameError
    or PluginError."""
    entry = Registry._find(families, name, "device family")
    family = entry if isinstance(entry, Family) else entry()
    if not isinstance(family, Family) or family.name != name:
        raise PluginError(f"family entry point {name!r} must be a sim.spec.Family named "
                          f"{name!r} (got {family!r:.80})")
    ep = getattr(entry, "entry_point", None)
    listed = presets_folder(ep.module) if ep is not None else None
    if family.presets is not None and listed is not None and (
            Path(family.presets).resolve() != listed.resolve()):
        raise PluginError(f"family {describe_entry_point(entry, name)} keeps its presets in "
                          f"{family.presets}, but the registry lists those in {listed} (the "
                          "presets/ folder beside the family's module); move them there")
    return family


def presets_folder(module: str) -> Path | None:
    """The `presets/` folder beside module `module` (a package's own folder for a package),
    found without importing the module or its parent packages; None where the import system
    cannot say without running code (then the caller imports the family)."""
    parts = module.split(".")
    try:
        spec = importlib.util.find_spec(parts[0])  # a top-level name is found, not imported
        for depth in range(2, len(parts) + 1):
            if spec is None or spec.submodule_search_locations is None:
                return None
            spec = importlib.machinery.PathFinder.find_spec(".".join(parts[:depth]),
                                                            list(spec.submodule_search_locations))
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.has_location or spec.origin is None:
        return None
    return Path(spec.origin).parent / "presets"


def device_table(presets: Mapping[str, Path | None], family_of: Callable[[str], Family],
                 plugins=()) -> dict[str, Callable[[], Device]]:
    """Device name -> factory for every preset file (`FOLDER/*.yaml` of each family in
    `presets`, listed under its `name:`) and every plug-in entry point in `plugins`.

    A preset whose file cannot be read or has no valid name is listed by its file stem, and
    building it raises the loader's SpecError. A name given twice maps to a factory raising a
    one-line PluginError that names both places.
    """
    places: dict[str, list] = {}
    for family, folder in presets.items():
        for path in sorted(Path(folder).glob("*.yaml")) if folder is not None else ():
            name = _preset_name(path)
            places.setdefault(name, []).append(_preset_factory(family, path, name, family_of))
    for ep in plugins:
        places.setdefault(ep.name, []).append(ep)
    return {name: (_single(found[0]) if len(found) == 1 else _clash(name, found))
            for name, found in places.items()}


_NAME_LINE = re.compile(r"^name:(.*)$", re.MULTILINE)
_PLAIN_NAME = re.compile(r"[ \t]+([A-Za-z0-9][A-Za-z0-9_.+-]*)[ \t]*(?:#.*)?")


def _preset_name(path: Path) -> str:
    """The `name:` a preset file declares; its file stem when the file or the name is broken
    (building the preset then reports the problem).

    Listing presets must not parse every file at each start-up (27 files: ~4 ms), so the one
    top-level `name:` line is read alone; a file without exactly one such line is parsed in
    full. The preset's factory checks the built spec's name against the one listed.
    """
    try:
        lines = _NAME_LINE.findall(path.read_text(encoding="utf-8"))
        plain = _PLAIN_NAME.fullmatch(lines[0]) if len(lines) == 1 else None
        if plain:  # `name: snapdragon865`; YAML reads it so, or as a number the spec refuses
            return plain.group(1)
        try:
            data = yamlio.safe_load(f"name:{lines[0]}") if len(lines) == 1 else None
        except yamlio.YamlError:
            data = None
        if not (isinstance(data, dict) and isinstance(data.get("name"), str) and data["name"]):
            data = read_yaml_file(path)  # e.g. `name: >-` with the name on the next line
    except (OSError, UnicodeDecodeError, SpecError):
        return path.stem
    name = data.get("name")
    return name if isinstance(name, str) and name else path.stem


def _preset_factory(family: str, path: Path, listed: str,
                    family_of: Callable[[str], Family]) -> Callable[[], Device]:
    """A factory building the preset in `path`, listed as `listed`, with family `family`
    (imported on first call)."""

    def factory():
        fam = family_of(family)
        spec = spec_from_file(path, family=fam)
        if spec.name != listed:
            raise SpecError(f"{path}: name: listed as {listed!r} from its `name:` line but reads "
                            f"{spec.name!r}; write the name on one plain `name: NAME` line")
        return fam.build(spec)

    factory.preset_file = (family, path)
    return factory


def _single(found) -> Callable:
    return _lazy(found) if isinstance(found, metadata.EntryPoint) else found


class _LazyTable(Mapping):
    """A read-only mapping built on first use (listing presets reads every preset file)."""

    def __init__(self, build: Callable[[], Mapping]) -> None:
        self._build, self._table = build, None

    def _items(self) -> Mapping:
        if self._table is None:
            self._table = MappingProxyType(dict(self._build()))
        return self._table

    def __getitem__(self, key):
        return self._items()[key]

    def __iter__(self) -> Iterator:
        return iter(self._items())

    def __len__(self) -> int:
        return len(self._items())


def _by_name(entry_points, objects: bool = False) -> dict[str, Callable]:
    groups: dict[str, list[metadata.EntryPoint]] = {}
    for ep in entry_points:
        groups.setdefault(ep.name, []).append(ep)
    single = _object_loader if objects else _lazy
    return {name: single(eps[0]) if len(eps) == 1 else _clash(name, eps) for name, eps in groups.items()}


def _object_loader(ep: metadata.EntryPoint) -> Callable[[], object]:
    """A callable returning the object an entry point names (a Family), loaded on first call."""
    lazy = _lazy(ep)

    def factory():
        return lazy.load()

    factory.entry_point = ep
    factory.load = lazy.load
    return factory


def _clash(name: str, found: list) -> Callable:
    """A factory that refuses `name`, given by each of `found` (entry points or preset factories)."""

    def load():
        where = " and ".join(_place(item) for item in found)
        if all(isinstance(item, metadata.EntryPoint) for item in found):
            raise PluginError(f"{name!r} is registered twice ({where}); uninstall one of the packages")
        raise PluginError(f"device name {name!r} is given twice ({where}); rename one (a "
                          "preset's `name:`, or the plug-in's entry point)")

    def factory(*args, **kwargs):
        return load()

    factory.load = load
    return factory


def _place(item) -> str:
    """Where a registry name comes from, for a clash message."""
    if isinstance(item, metadata.EntryPoint):
        return repr(item.value) if item.group != DEVICE_GROUP else f"plug-in {describe_entry_point(item)}"
    family, path = item.preset_file
    return f"{family} preset {str(path)!r}"


def _lazy(ep: metadata.EntryPoint) -> Callable:
    """A factory that loads the entry point on first call, wrapping any failure to load."""

    def load():
        try:
            return ep.load()
        # Importing third-party code can raise anything (SyntaxError, NameError, ...); re-raise
        # it typed and named, so one broken plug-in cannot crash `edgesim list`.
        except Exception as err:  # noqa: BLE001 - the plug-in boundary, re-raised with context
            raise PluginError(
                f"entry point {describe_entry_point(ep)} failed to load: "
                f"{type(err).__name__}: {err}; reinstall or uninstall it"
            ) from err

    def factory(*args, **kwargs):
        return load()(*args, **kwargs)

    factory.entry_point = ep
    factory.load = load
    return factory


def _unwrap(factory: Callable) -> Callable:
    return factory.load() if hasattr(factory, "load") else factory
