"""Which functions a Python change touched, and when a change is at import time instead (table-driven)."""

from __future__ import annotations

import pytest

from scope.python_changes import FunctionSpan, changed_functions

BASE = '''"""A module."""
import os

LIMIT = 10


def plain(x):
    # a comment
    return x + 1


@decorate
def decorated(x=1):
    return x * 2


class Shape:
    sides = 4

    def area(self):
        def inner():
            return self.sides
        return inner()

    class Nested:
        def deep(self):
            return [i for i in range(3)]


if os.name == "posix":
    def posix_only():
        return 1
'''

CASES = [
    ("function body", "return x + 1", "return x + 2", [FunctionSpan("plain", 7, 9)]),
    ("decorated function: span starts at the decorator", "return x * 2", "return x * 3",
     [FunctionSpan("decorated", 12, 14)]),
    ("method body", "return inner()", "return inner() + 0", [FunctionSpan("Shape.area", 20, 23)]),
    ("nested function is part of its outer body", "return self.sides", "return -self.sides",
     [FunctionSpan("Shape.area", 20, 23)]),
    ("nested class method, comprehension inside", "range(3)", "range(4)", [FunctionSpan("Shape.Nested.deep", 26, 27)]),
    ("function under a module-level if", "return 1\n", "return 2\n", [FunctionSpan("posix_only", 31, 32)]),
    ("comment only", "# a comment", "# another comment", []),
    ("blank lines and formatting", "def plain(x):\n", "def plain(x) :\n\n", []),
    ("module docstring", '"""A module."""', '"""A changed module."""', None),
    ("module constant", "LIMIT = 10", "LIMIT = 11", None),
    ("class attribute", "sides = 4", "sides = 5", None),
    ("default argument (evaluated at import)", "x=1", "x=2", None),
    ("decorator", "@decorate", "@other", None),
    ("signature", "def plain(x):", "def plain(x, y=0):", None),
    ("function added", "class Shape:", "def added():\n    return 0\n\n\nclass Shape:", None),
    ("function renamed", "def plain(", "def simple(", None),
    ("syntax error in the new version", "return x + 1", "return x +", None),
]


@pytest.mark.parametrize(("old", "new", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_changed_functions(old, new, expected):
    assert old in BASE
    assert changed_functions(BASE.encode(), BASE.replace(old, new, 1).encode()) == expected


def test_two_functions_changed_are_both_listed():
    new = BASE.replace("return x + 1", "return x - 1").replace("return x * 2", "return x")
    assert [s.name for s in changed_functions(BASE.encode(), new.encode())] == ["plain", "decorated"]


def test_binary_or_unparsable_old_version_is_not_narrowed():
    assert changed_functions(b"\x00\xff\xfe garbage", BASE.encode()) is None


def test_span_reads_as_name_and_lines():
    assert str(FunctionSpan("Shape.area", 20, 23)) == "Shape.area() (lines 20–23)"


@pytest.mark.parametrize(("decorator", "memoized"), [
    ("@functools.lru_cache(maxsize=None)", True), ("@cache", True), ("@cached_property", True),
    ("@memoize", True), ("@staticmethod", False), ("@decorate", False),
])
def test_cache_decorators_mark_a_function_memoized(decorator, memoized):
    old = f"{decorator}\ndef load():\n    return 1\n"
    [span] = changed_functions(old.encode(), old.replace("return 1", "return 2").encode())
    assert span.memoized is memoized
