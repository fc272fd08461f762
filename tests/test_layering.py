"""Imports go one way: workloads <- sim <- devices, accelerators (DESIGN.md, "Layout"), and no
module imports itself back through others (no import cycles).

Every .py file of the four packages is parsed with `ast` (nothing is imported), and every
import of one of our packages is checked, wherever it is (module top, inside a function, under
`if TYPE_CHECKING:`): plain `import x.y`, `from x import y`, relative `from ..x import y`, and
`importlib.import_module("x.y")` / `__import__("x")` with a literal name. Relative imports are
resolved against the file's package; one that climbs out of its top-level package (the only way
a relative import could reach a sibling) is reported too, since it cannot work.

Studies stay apart from models: no module of `devices` or `accelerators` outside their studies
packages (`devices.studies`, `accelerators.studies`) imports a studies package, so a family
package holds its model, spec, presets and command line, and a study (or a fidelity
contributor, which runs studies) imports the family, never the other way.

The cycle check builds the graph of imports that run (`if TYPE_CHECKING:` bodies excluded) and
reports one loop per strongly connected component, with the line of each import in it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {
    "workloads": frozenset({"workloads"}),
    "sim": frozenset({"sim", "workloads"}),
    "devices": frozenset({"devices", "sim", "workloads"}),
    "accelerators": frozenset({"accelerators", "sim", "workloads"}),
}
"""Package -> the packages of ours its modules may import (itself included)."""
OURS = frozenset(ALLOWED)


def _package_of(path: Path, root: Path) -> list[str]:
    """Dotted package a file's relative imports start from, as a list of names."""
    # pkg/mod.py -> pkg; pkg/__init__.py -> pkg too (its folder): drop the last part either way.
    return list(path.relative_to(root).with_suffix("").parts)[:-1]


def _imported(node: ast.AST, path: Path, root: Path) -> list[str]:
    """Absolute names of the modules an AST node imports ('..' past the top gives '<beyond>')."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if not node.level:
            return [node.module or ""]
        package = _package_of(path, root)
        if node.level - 1 > len(package) - 1:
            return [f"<beyond top-level package: {'.' * node.level}{node.module or ''}>"]
        base = package[: len(package) - (node.level - 1)]
        if node.module:
            return [".".join(base + [node.module])]
        return [".".join(base + [alias.name]) for alias in node.names]
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
            return [node.args[0].value]
    return []


def violations(root: Path) -> list[str]:
    """'file:line: import ... (package may import only ...)' for every wrong-way import."""
    found = []
    for package, allowed in sorted(ALLOWED.items()):
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                for module in _imported(node, path, root):
                    top = module.split(".")[0]
                    if module.startswith("<beyond") or (top in OURS and top not in allowed):
                        where = path.relative_to(root).as_posix()
                        found.append(
                            f"{where}:{node.lineno}: imports {module!r} "
                            f"({package} may import only {sorted(allowed)})"
                        )
    return found


def test_imports_go_one_way():
    files = [p for package in ALLOWED for p in (ROOT / package).rglob("*.py")]
    assert len(files) >= len(ALLOWED), "found no source files to check"
    found = violations(ROOT)
    assert not found, "wrong-way imports:\n" + "\n".join(found)


@pytest.fixture
def tree(tmp_path):
    """A throwaway source tree with the four packages, each with an empty __init__.py."""
    for package in ALLOWED:
        (tmp_path / package / "sub").mkdir(parents=True)
        (tmp_path / package / "__init__.py").write_text("")
        (tmp_path / package / "sub" / "__init__.py").write_text("")
    return tmp_path


BEYOND = "1: imports '<beyond top-level package"


@pytest.mark.parametrize(
    "file, source, expected",
    [
        ("workloads/ops.py", "import sim\n", "1: imports 'sim'"),
        ("workloads/ops.py", "import numpy, devices.roofline\n", "1: imports 'devices.roofline'"),
        ("workloads/ops.py", "from sim.device import Cost\n", "1: imports 'sim.device'"),
        ("workloads/ops.py", "def f():\n    from accelerators import pim\n",
         "2: imports 'accelerators'"),
        ("workloads/ops.py", "import typing\nif typing.TYPE_CHECKING:\n    import sim\n",
         "3: imports 'sim'"),
        ("workloads/ops.py", "from ..sim import engine\n", BEYOND),
        ("workloads/ops.py", "from .. import sim\n", BEYOND),
        ("workloads/sub/x.py", "from ...devices import roofline\n", BEYOND),
        ("workloads/sub/__init__.py", "from ...sim import Cost\n", BEYOND),
        ("sim/engine.py", "from devices.roofline import RooflineDevice\n",
         "1: imports 'devices.roofline'"),
        ("sim/engine.py", "import importlib\nimportlib.import_module('devices.mcu')\n",
         "2: imports 'devices.mcu'"),
        ("devices/gpu.py", "from accelerators.fpga import systolic\n",
         "1: imports 'accelerators.fpga'"),
        ("accelerators/sub/pim.py", "from ...devices import roofline\n", BEYOND),
    ],
)
def test_checker_catches_wrong_way_imports(tree, file, source, expected):
    (tree / file).write_text(source)
    found = violations(tree)
    assert len(found) == 1 and found[0].startswith(f"{file}:{expected}"), found


@pytest.mark.parametrize(
    "file, source",
    [
        ("workloads/ops.py", "import numpy\nfrom workloads.errors import E\nfrom . import x\n"),
        ("workloads/sub/x.py", "from ..errors import SpecError\nfrom .y import z\n"),
        ("sim/engine.py", "from workloads import Op\nfrom .device import Cost\nimport simpy\n"),
        ("devices/gpu.py", "from sim.energy import HOROWITZ_45NM\nfrom workloads import Op\n"),
        ("accelerators/sub/pim.py", "from ..fpga import rtl\nfrom sim import Cost\n"),
        ("accelerators/pim.py", "import simulation, devicestore, workloads_extra\n"),
    ],
)
def test_checker_allows_right_way_imports(tree, file, source):
    (tree / file).write_text(source)
    assert violations(tree) == []


# --- studies apart from models ---------------------------------------------------------------

STUDIES = frozenset({"devices.studies", "accelerators.studies"})
"""The studies packages: only their own modules may import them."""


def _imported_names(node: ast.AST, path: Path, root: Path) -> list[str]:
    """`_imported`, plus `a.b` for each name `b` of a `from a import b` (which may be a module)."""
    names = _imported(node, path, root)
    if isinstance(node, ast.ImportFrom) and node.module:
        names += [f"{names[0]}.{alias.name}" for alias in node.names]
    return names


def study_imports(root: Path) -> list[str]:
    """'file:line: imports ...' for every module of devices/ or accelerators/ outside the studies
    packages that imports a studies package (any depth, functions included)."""
    found = []
    for package in ("accelerators", "devices"):
        for path in sorted((root / package).rglob("*.py")):
            if any(_module_name(path, root).startswith(f"{s}.") or _module_name(path, root) == s
                   for s in STUDIES):
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                hits = [m for m in _imported_names(node, path, root)
                        if any(m == s or m.startswith(f"{s}.") for s in STUDIES)]
                if hits:
                    where = path.relative_to(root).as_posix()
                    found.append(f"{where}:{node.lineno}: imports {hits[0]!r} (a family package "
                                 "never imports a studies package; move the code into the study)")
    return found


def test_family_packages_never_import_studies():
    assert (ROOT / "devices" / "studies").is_dir() and (ROOT / "accelerators" / "studies").is_dir()
    found = study_imports(ROOT)
    assert not found, "studies imported by family packages:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "file, source, expected",
    [
        ("devices/mcu.py", "from devices.studies import mcu_patch\n", "1: imports 'devices.studies'"),
        ("devices/sub/x.py", "from devices import studies\n", "1: imports 'devices.studies'"),
        ("devices/sub/x.py", "from ..studies.mobile import validation\n",
         "1: imports 'devices.studies.mobile'"),
        ("accelerators/sub/cli.py", "def f():\n    import accelerators.studies.fpga_rtl\n",
         "2: imports 'accelerators.studies.fpga_rtl'"),
        ("accelerators/sub/x.py", "from .. import studies\n", "1: imports 'accelerators.studies'"),
        ("accelerators/pim.py",
         "import importlib\nimportlib.import_module('accelerators.studies.pim_noise')\n",
         "2: imports 'accelerators.studies.pim_noise'"),
    ],
)
def test_study_checker_catches_a_family_importing_a_study(tree, file, source, expected):
    for package in ("devices", "accelerators"):
        (tree / package / "studies").mkdir()
        (tree / package / "studies" / "__init__.py").write_text("")
    (tree / file).write_text(source)
    found = study_imports(tree)
    assert len(found) == 1 and found[0].startswith(f"{file}:{expected}"), found


@pytest.mark.parametrize(
    "file, source",
    [
        ("devices/studies/x.py", "from devices.studies import y\nfrom devices.sub import z\n"),
        ("accelerators/studies/x.py", "from accelerators.sub import cli\nfrom . import y\n"),
        ("accelerators/sub/x.py", "from accelerators.sub import studies_of_tiles\n"),
        ("devices/sub/x.py", "from sim.study import study_main\nimport studies\n"),
    ],
)
def test_study_checker_allows_studies_importing_families(tree, file, source):
    for package in ("devices", "accelerators"):
        (tree / package / "studies").mkdir()
        (tree / package / "studies" / "__init__.py").write_text("")
    (tree / file).write_text(source)
    assert study_imports(tree) == []


# --- import cycles -------------------------------------------------------------------------------
# A cycle works only while every module in it defers one of its imports into a function, and it
# breaks as soon as someone moves that import to the top; it also means neither module can be
# understood (or tested) without the other. So the runtime import graph must be acyclic.


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    """`if TYPE_CHECKING:` or `if typing.TYPE_CHECKING:` (imports there never run)."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_imports(tree: ast.Module, path: Path, root: Path, modules) -> dict[str, int]:
    """Our modules a file imports when it runs (any depth, functions included; not the body of
    an `if TYPE_CHECKING:`) -> the line of the first such import.

    `from a import b` is an import of the module `a.b` when there is one, else of `a`. Importing
    `a.b.c` also runs the packages `a` and `a.b`; those are edges too, except for the importer's
    own enclosing packages, which Python has already started before the importer runs.
    """
    me = _module_name(path, root)
    ancestors = {".".join(me.split(".")[:i]) for i in range(1, me.count(".") + 1)}
    found: dict[str, int] = {}

    def add(module: str, line: int) -> None:
        parts = module.split(".")
        for i in range(1, len(parts)):
            parent = ".".join(parts[:i])
            if parent in modules and parent not in ancestors and parent != me:
                found.setdefault(parent, line)
        if module in modules and module != me:
            found.setdefault(module, line)

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom):
            (base,) = _imported(ast.ImportFrom(module=node.module, names=[], level=node.level),
                                path, root) if node.module else [None]
            for alias in node.names:
                if base is None:  # `from . import x` / `from .. import x`: each is a module
                    (module,) = _imported(ast.ImportFrom(module=None, names=[alias],
                                                         level=node.level), path, root)
                    add(module, node.lineno)
                elif f"{base}.{alias.name}" in modules:
                    add(f"{base}.{alias.name}", node.lineno)
                else:
                    add(base, node.lineno)
        else:
            for module in _imported(node, path, root):
                add(module, node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph(root: Path) -> dict[str, dict[str, int]]:
    """Module -> {module it imports at runtime: line}, over the four packages under `root`."""
    paths = {_module_name(p, root): p for package in ALLOWED for p in (root / package).rglob("*.py")}
    return {
        name: _runtime_imports(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)),
                               path, root, paths)
        for name, path in sorted(paths.items())
    }


def cycles(root: Path) -> list[str]:
    """One cycle per strongly connected component of the import graph, the shortest loop through
    its first module (by name), as 'a (line 3) -> b (line 9) -> a': module a imports b at its
    line 3, b imports a at its line 9."""
    graph = import_graph(root)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(v: str) -> None:  # Tarjan's algorithm; the graph is a few hundred modules deep
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph[v]:
                components.append(sorted(component))

    for v in graph:
        if v not in index:
            connect(v)
    found = []
    for component in sorted(components):
        members = set(component)
        start = component[0]
        # The shortest loop through the component's first module (breadth first from it).
        came_from: dict[str, str] = {}
        frontier, last = [start], None
        while last is None:
            next_frontier = []
            for v in frontier:
                if start in graph[v]:
                    last = v
                    break
                for w in sorted(graph[v]):
                    if w in members and w not in came_from and w != start:
                        came_from[w] = v
                        next_frontier.append(w)
            frontier = next_frontier
        loop = [last]
        while loop[-1] != start:
            loop.append(came_from[loop[-1]])
        loop = loop[::-1] + [start]
        found.append(" -> ".join(f"{a} (line {graph[a][b]})" for a, b in zip(loop, loop[1:]))
                     + f" -> {start}")
    return found


def test_no_import_cycles():
    found = cycles(ROOT)
    assert not found, "import cycles (break each at its cause):\n" + "\n".join(found)


@pytest.mark.parametrize(
    "files, expected",
    [
        # Two modules, one import deferred into a function: still a cycle.
        ({"workloads/network.py": "from workloads.ops import Op\n",
          "workloads/ops.py": "def gemm():\n    from workloads import network\n"},
         ["workloads.network (line 1) -> workloads.ops (line 2) -> workloads.network"]),
        # Three modules, relative imports, the loop through the first module named.
        ({"sim/report.py": "from . import export\n",
          "sim/export.py": "from .tables import x\n",
          "sim/tables.py": "import sim.report\n"},
         ["sim.export (line 1) -> sim.tables (line 1) -> sim.report (line 1) -> sim.export"]),
        # Importing a submodule runs its package: a package that imports back is a cycle.
        ({"workloads/sub/__init__.py": "from workloads.sub.c import C\n",
          "workloads/sub/a.py": "A = 1\n",
          "workloads/sub/c.py": "from workloads.b import B\nC = 1\n",
          "workloads/b.py": "from workloads.sub.a import A\nB = 1\n"},
         ["workloads.b (line 1) -> workloads.sub (line 1) -> workloads.sub.c (line 1) -> "
          "workloads.b"]),
    ],
)
def test_cycle_checker_catches_planted_cycles(tree, files, expected):
    for file, source in files.items():
        (tree / file).write_text(source)
    assert cycles(tree) == expected


@pytest.mark.parametrize(
    "files",
    [
        # An import only type checkers run is no cycle.
        {"workloads/gemm.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                              "    from workloads.ops import Op\n",
         "workloads/ops.py": "from workloads.gemm import gemm_of\n"},
        # A submodule importing its own package's names: the package is already running.
        {"workloads/sub/__init__.py": "from workloads.sub.a import A\n",
         "workloads/sub/a.py": "from workloads.errors import E\n",
         "workloads/errors.py": "E = 1\n"},
        # One-way chains, across packages.
        {"sim/cli.py": "from sim import compare\nfrom workloads import settings\n",
         "sim/compare.py": "from workloads.settings import parse_prune\n",
         "workloads/settings.py": "from workloads.compression import Compression\n"},
    ],
)
def test_cycle_checker_allows_acyclic_imports(tree, files):
    for file, source in files.items():
        (tree / file).write_text(source)
    assert cycles(tree) == []


def test_layering_checks_run_on_a_tree_with_both_faults(tree):
    """A wrong-way import and a cycle planted together are both reported, each by its check."""
    (tree / "workloads" / "ops.py").write_text("def f():\n    import sim.report\n")
    (tree / "sim" / "report.py").write_text("from sim.export import summary_text\n")
    (tree / "sim" / "export.py").write_text("def f():\n    from sim.report import Report\n")
    assert violations(tree) == [
        "workloads/ops.py:2: imports 'sim.report' (workloads may import only ['workloads'])"]
    assert cycles(tree) == ["sim.export (line 2) -> sim.report (line 1) -> sim.export"]
