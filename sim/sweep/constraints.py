"""Sweep constraints: a small, safe expression language over the axes of a sweep.

A constraint is parsed once with `ast` and checked against the axis names (comparisons,
and/or/not, arithmetic, constants and dotted axis names only; anything else is a `SpecError`);
`_Constraint.holds(values)` evaluates it at one point.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Mapping
from typing import Any

from workloads import SpecError
from workloads.errors import suggest

_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
           ast.Pow: operator.pow}
_CMPOPS = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
           ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b,
           ast.NotIn: lambda a, b: a not in b}


def _dotted(node) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return f"{head}.{node.attr}" if head else None
    return None


class _Constraint:
    """One constraint, parsed once: comparisons, and/or/not, arithmetic, names of axes."""

    def __init__(self, text: str, names: set[str]) -> None:
        self.text = text
        try:
            self.tree = ast.parse(text, mode="eval").body
        except SyntaxError:
            raise SpecError(f"{text!r} is not an expression (e.g. \"prune.block < 0.8 or "
                            "quant == 'w8a8'\")") from None
        self._check(self.tree, names)

    def _check(self, node, names: set[str]) -> None:
        name = _dotted(node)
        if name is not None:
            if name not in names:
                raise SpecError(f"{self.text!r}: unknown name {name!r}{suggest(name, names)}; "
                                f"the axes are {sorted(names)}")
            return
        allowed = (ast.BoolOp, ast.UnaryOp, ast.Compare, ast.BinOp, ast.Constant, ast.Tuple,
                   ast.List, ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd, *_BINOPS, *_CMPOPS,
                   ast.Load)
        if not isinstance(node, allowed):
            raise SpecError(f"{self.text!r}: {type(node).__name__} is not allowed; use "
                            "comparisons, and/or/not, arithmetic and axis names")
        for child in ast.iter_child_nodes(node):
            self._check(child, names)

    def holds(self, values: Mapping[str, Any]) -> bool:
        try:
            return bool(self._eval(self.tree, values))
        except (TypeError, ValueError, ZeroDivisionError, ArithmeticError) as err:
            raise SpecError(f"constraint {self.text!r} cannot be evaluated at "
                            f"{dict(values)}: {err}") from None

    def _eval(self, node, values):
        name = _dotted(node)
        if name is not None:
            return values[name]
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.Tuple, ast.List)):
            return tuple(self._eval(e, values) for e in node.elts)
        if isinstance(node, ast.BoolOp):
            if isinstance(node.op, ast.And):
                return all(self._eval(v, values) for v in node.values)
            return any(self._eval(v, values) for v in node.values)
        if isinstance(node, ast.UnaryOp):
            v = self._eval(node.operand, values)
            return (not v) if isinstance(node.op, ast.Not) else (-v if isinstance(node.op, ast.USub) else +v)
        if isinstance(node, ast.BinOp):
            return _BINOPS[type(node.op)](self._eval(node.left, values), self._eval(node.right, values))
        left = self._eval(node.left, values)
        for op, comp in zip(node.ops, node.comparators):
            right = self._eval(comp, values)
            if not _CMPOPS[type(op)](left, right):
                return False
            left = right
        return True
