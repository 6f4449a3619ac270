"""radon's measurements of a Python file: cyclomatic and Halstead per block.

radon is the reference for Python: its ``cc`` and ``hal`` visitors work on one
``ast.parse`` and stay fast on any file. Its ``raw`` and ``mi`` analyses are
super-linear on large data-table modules, so line counts and MI are computed
from the tree-sitter tree instead. When radon cannot parse a file (Python 2
syntax, a syntax error, extreme nesting), the caller falls back to the
tree-sitter counts and says so.
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass

from radon.visitors import ComplexityVisitor, HalsteadVisitor

from audit.results import Halstead


@dataclass(frozen=True)
class RadonFile:
    """radon's numbers for one file, keyed by the 1-based line of each def/class."""

    cyclomatic: dict[int, int]
    halstead: dict[int, Halstead]
    total_cyclomatic: int
    total_halstead: Halstead


def radon_measure(text: str) -> RadonFile:
    """Run radon's cc and hal visitors over one parse of ``text``.

    Raises SyntaxError (or RecursionError/ValueError) when radon cannot parse it.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = ast.parse(text)
    visitor = ComplexityVisitor.from_ast(tree)
    cyclomatic: dict[int, int] = {}
    _collect(visitor.functions, visitor.classes, cyclomatic)
    halstead = {
        node.lineno: _halstead(HalsteadVisitor.from_ast(node))
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }
    return RadonFile(cyclomatic, halstead, visitor.total_complexity,
                     _halstead(HalsteadVisitor.from_ast(tree)))


def _collect(functions, classes, out: dict[int, int]) -> None:
    stack = [*functions, *classes]
    while stack:
        block = stack.pop()
        out[block.lineno] = block.complexity
        stack.extend(getattr(block, "closures", ()))
        stack.extend(getattr(block, "methods", ()))
        stack.extend(getattr(block, "inner_classes", ()))


def _halstead(v: HalsteadVisitor) -> Halstead:
    return Halstead(len(v.operators_seen), len(v.operands_seen), v.operators, v.operands)
