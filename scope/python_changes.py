"""Which functions of a Python file a change touched, told apart from code that runs at import time.

`changed_functions(old, new)` compares the two versions with `ast`, so comments, blank lines and
formatting do not count as changes. The file is cut into function bodies (of functions defined
at module level or in class bodies, at any depth of classes and module-level `if`/`try`/`with`
blocks; a function nested in a function is part of its body) and the rest, the *skeleton*: module
statements, class bodies, signatures, default values, decorators and annotations, all of which
run when the module is imported. If the skeletons differ, the change is at import time and the
answer is None; otherwise it lists the functions whose bodies differ, with their line span in
the old version (first decorator to last line), which is what recorded impact data is keyed by,
and whether a cache decorates them (a memoized function runs once for many tests).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
BLOCKS = (ast.If, ast.Try, ast.TryStar, ast.With, ast.AsyncWith, ast.For, ast.AsyncFor, ast.While)


@dataclass(frozen=True)
class FunctionSpan:
    """A function of the old version: its qualified name and first..last line (1-based, inclusive)."""

    name: str
    first: int
    last: int
    shown: str = ""  # how to name it instead (JavaScript spans are offsets, not lines)
    memoized: bool = False  # decorated by a cache (lru_cache, cache, cached_property, memoize…)

    def __str__(self) -> str:
        if self.shown:
            return self.shown
        return f"{self.name}() (line {self.first})" if self.first == self.last else \
            f"{self.name}() (lines {self.first}–{self.last})"


def changed_functions(old: bytes, new: bytes) -> list[FunctionSpan] | None:
    """The functions whose bodies differ between `old` and `new`; None when anything else differs
    or either version does not parse (then only the import graph can say what the change reaches)."""
    try:
        old_tree, new_tree = ast.parse(old), ast.parse(new)
    except (SyntaxError, ValueError, RecursionError, MemoryError, UnicodeDecodeError):
        return None
    try:
        old_units, new_units = _cut(old_tree), _cut(new_tree)
        if ast.dump(old_tree) != ast.dump(new_tree):
            return None
    except RecursionError:
        return None
    if len(old_units) != len(new_units):
        return None
    return [span for (span, old_body), (_, new_body) in zip(old_units, new_units, strict=True)
            if old_body != new_body]


def _cut(tree: ast.Module) -> list[tuple[FunctionSpan, str]]:
    """Remove every definition-level function body from `tree` (in place), returning each body's dump."""
    units: list[tuple[FunctionSpan, str]] = []
    _cut_block(tree.body, "", units)
    return units


def _cut_block(body: list[ast.stmt], prefix: str, units: list[tuple[FunctionSpan, str]]) -> None:
    for node in body:
        if isinstance(node, FUNCTIONS):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            span = FunctionSpan(prefix + node.name, first, node.end_lineno or node.lineno,
                                memoized=any(_is_cache(d) for d in node.decorator_list))
            units.append((span, ast.dump(ast.Module(body=node.body, type_ignores=[]))))
            node.body = [ast.Pass()]
        elif isinstance(node, ast.ClassDef):
            _cut_block(node.body, f"{prefix}{node.name}.", units)
        elif isinstance(node, BLOCKS):
            for field in ("body", "orelse", "finalbody"):
                _cut_block(getattr(node, field, []), prefix, units)
            for handler in getattr(node, "handlers", []):
                _cut_block(handler.body, prefix, units)


def _is_cache(decorator: ast.expr) -> bool:
    """`@lru_cache`, `@functools.cache(...)`, `@cached_property`, `@memoize`…: its result outlives the call."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    name = target.attr if isinstance(target, ast.Attribute) else target.id if isinstance(target, ast.Name) else ""
    return "cache" in name.lower() or "memo" in name.lower()
