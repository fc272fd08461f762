"""The one YAML reader of edgesim: safe, strict about duplicate keys, bounded against bombs.

`safe_load` gives what `yaml.safe_load` gives, except that
- a key repeated in a mapping is an error (not last-wins);
- alias expansion is bounded: a document may not build more than `MAX_ALIAS_EXPANSION` times
  as many values as it has distinct nodes (plus `ALIAS_SLACK`), so a "billion laughs" file of a
  few hundred bytes fails at once instead of filling memory;
- nesting deeper than `MAX_DEPTH` is an error (the builder is recursive);
- with `yaml12_floats=True`, plain scalars such as `117.9e9` or `1e-6`, which YAML 1.1 reads as
  strings, are floats (as in YAML 1.2), so a spec file may write numbers the way people do.

Errors are `YamlError(line, column, problem)`; callers turn them into their own typed error
naming the file.
"""

from __future__ import annotations

import gc
import re

import yaml

# libyaml is ~10x faster than the pure-Python parser; both are the *safe* loader, so the result
# is what `yaml.safe_load` gives (speed matters for 1000-op traces).
_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

MAX_DEPTH = 100
"""Deepest nesting of sequences and mappings a document may have."""
MAX_ALIAS_EXPANSION = 10
"""Values built per distinct node, at most, once past `ALIAS_SLACK` (aliases re-use nodes)."""
ALIAS_SLACK = 100_000

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_MERGE = "tag:yaml.org,2002:merge"

# Plain scalars that look like identifiers but are not strings in YAML 1.1 (its resolvers for a
# leading letter are only these words).
_WORDS = frozenset(
    "yes Yes YES no No NO true True TRUE false False FALSE on On ON off Off OFF null Null NULL"
    .split()
)
# YAML 1.2 core-schema floats that YAML 1.1 misses: no dot, or an exponent without a sign.
_FLOAT12 = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)")


class YamlError(Exception):
    """A document that is not valid YAML, or exceeds a bound. `line`/`column` are 1-based."""

    def __init__(self, problem: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(problem)
        self.problem, self.line, self.column = problem, line, column

    def __str__(self) -> str:
        where = f"line {self.line} column {self.column}: " if self.line is not None else ""
        return f"{where}{self.problem}"


def _plain_decimal(value: str) -> bool:
    return value.isdigit() and value.isascii() and (value[0] != "0" or len(value) == 1)


class _Loader(_BASE_LOADER):
    """The safe loader, with a fast path for the commonest scalars: identifiers and decimals."""

    yaml12_floats = False

    def resolve(self, kind, value, implicit):
        # Same answer as the YAML 1.1 resolver (which tries regexes in Python per scalar), sooner.
        if kind is yaml.ScalarNode and implicit[0]:
            if value.isidentifier() and value not in _WORDS:
                return _STR
            if _plain_decimal(value):
                return _INT
            if self.yaml12_floats and _FLOAT12.fullmatch(value):
                return _FLOAT
        return super().resolve(kind, value, implicit)


class _Loader12(_Loader):
    yaml12_floats = True


class _Budget:
    """Counts values built and distinct nodes seen, to refuse runaway alias expansion."""

    __slots__ = ("built", "seen")

    def __init__(self) -> None:
        self.built = 0
        self.seen: set[int] = set()

    def spend(self, node) -> None:
        self.built += 1
        self.seen.add(id(node))
        if self.built > MAX_ALIAS_EXPANSION * len(self.seen) + ALIAS_SLACK:
            raise YamlError(
                f"aliases expand to over {self.built:,} values from {len(self.seen):,} nodes "
                f"(bound: {MAX_ALIAS_EXPANSION}x + {ALIAS_SLACK:,}); write the data out instead "
                "of nesting aliases",
                node.start_mark.line + 1, node.start_mark.column + 1,
            )


def safe_load(text: str | bytes, *, yaml12_floats: bool = False) -> object:
    """The data of one YAML document (None for an empty one). Raises YamlError."""
    loader = (_Loader12 if yaml12_floats else _Loader)(text)
    # libyaml allocates three long-lived objects per node (the node and two marks), so the cyclic
    # GC runs full collections over an ever larger heap while composing: loading time grows
    # quadratically (1000 ops: 340 ms, 80 ms without). The node tree holds no cycles, so nothing
    # is lost by pausing the collector here; the caller's setting is restored.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        node = loader.get_single_node()
        return None if node is None else _data(loader, node, set(), _Budget())
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        what = " ".join(p for p in (err.context, err.problem) if p)
        if mark is None:
            raise YamlError(f"invalid YAML: {what}") from None
        raise YamlError(f"invalid YAML: {what}", mark.line + 1, mark.column + 1) from None
    except yaml.YAMLError as err:
        raise YamlError(f"invalid YAML: {' '.join(str(err).split())}") from None
    except RecursionError:
        raise YamlError(f"nesting deeper than {MAX_DEPTH} levels") from None
    finally:
        if gc_was_enabled:
            gc.enable()
        loader.dispose()


def _data(loader, node, active: set[int], budget: _Budget) -> object:
    budget.spend(node)
    tag = node.tag
    if type(node) is yaml.ScalarNode:
        if tag == _STR:
            return node.value
        if tag == _INT and _plain_decimal(node.value):
            return int(node.value)
        return loader.construct_object(node, deep=True)
    if tag not in (_SEQ, _MAP):
        return loader.construct_object(node, deep=True)
    if id(node) in active:  # an alias inside its own anchor: `&a [*a]`
        raise yaml.constructor.ConstructorError(None, None, "recursive alias", node.start_mark)
    if len(active) >= MAX_DEPTH:
        raise YamlError(
            f"nesting deeper than {MAX_DEPTH} levels",
            node.start_mark.line + 1, node.start_mark.column + 1,
        )
    active.add(id(node))
    if type(node) is yaml.SequenceNode:
        data = [_data(loader, item, active, budget) for item in node.value]
    else:
        data = _mapping(loader, node, active, budget)
    active.discard(id(node))
    return data


def _mapping(loader, node, active: set[int], budget: _Budget) -> dict:
    own = [(k, v) for k, v in node.value if k.tag != _MERGE]
    data: dict = {}
    for key_node, value_node in own:
        key = _data(loader, key_node, active, budget)
        try:
            duplicate = key in data
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, f"unhashable key {key!r:.60}", key_node.start_mark
            ) from None
        if duplicate:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        data[key] = _data(loader, value_node, active, budget)
    if len(own) != len(node.value):
        # Merge keys (`<<: *base`): merged entries first, the mapping's own keys override them.
        loader.flatten_mapping(node)
        merged = {}
        for key_node, value_node in node.value[: len(node.value) - len(own)]:
            merged[_data(loader, key_node, active, budget)] = _data(
                loader, value_node, active, budget
            )
        merged.update(data)
        data = merged
    return data
