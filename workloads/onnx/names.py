"""Names and text of an ONNX graph: a corrupted file's invalid strings are found before
anything reads them, and dynamo-exported nodes are named by the torch modules they came from."""

from __future__ import annotations

import re

from workloads.errors import TraceError


def check_text(model, source: str) -> None:
    """Every name and type in the graph is text: a corrupted file can hold invalid UTF-8 there."""
    graph = model.graph
    for kind, values in (("input", graph.input), ("output", graph.output),
                         ("initializer", graph.initializer)):
        for index, value in enumerate(values):
            if not isinstance(value.name, str):
                raise TraceError(f"{source}: graph {kind} #{index} has a name that is not UTF-8 "
                                 "text; the file is corrupted")
    for index, node in enumerate(graph.node):
        fields = [("name", node.name), ("op_type", node.op_type), ("domain", node.domain)]
        fields += [("input", v) for v in node.input] + [("output", v) for v in node.output]
        fields += [("attribute", a.name) for a in node.attribute]
        for field, value in fields:
            if not isinstance(value, str):
                label = node.name if isinstance(node.name, str) and node.name else f"#{index}"
                raise TraceError(f"{source}: node {label!r}: its {field} is not UTF-8 text; the "
                                 "file is corrupted")


def _name_scopes(node) -> list[str] | None:
    """The `pkg.torch.onnx.name_scopes` the dynamo exporter records for a node: the nested
    module paths, outermost first, then the op (['', 'layer1', 'layer1.0', 'layer1.0.conv1',
    'conv2d']); None when absent or unreadable."""
    import ast

    for prop in node.metadata_props:
        if prop.key == "pkg.torch.onnx.name_scopes":
            try:
                scopes = ast.literal_eval(prop.value)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                return None
            if isinstance(scopes, list) and scopes and all(isinstance(x, str) for x in scopes):
                return scopes
    return None


def name_by_modules(nodes, names: dict[int, str]) -> None:
    """Name dynamo-exported nodes by their torch module, as the legacy exporter's names read.

    A node of a leaf module is named by it ('layer1.0.conv1'; a module applied twice, such as
    torchvision's shared ReLU, gets '_1' on its second use), a node of an outer module by the
    module and the op ('layer1.0.add'); nodes without scopes keep their names.
    """
    scoped = {id(n): s for n in nodes if (s := _name_scopes(n)) is not None}
    modules = {key: (s[-2] if len(s) > 1 else "") for key, s in scoped.items()}
    inner = {m.rpartition(".")[0] for m in modules.values()} | {
        p for m in modules.values() for p in _prefixes(m)}
    for key, scopes in scoped.items():
        module = modules[key]
        op = re.sub(r"_\d+$", "", scopes[-1])  # the exporter's counter: the importer has its own
        names[key] = module if module and module not in inner else (
            f"{module}.{op}" if module else op)


def _prefixes(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]
