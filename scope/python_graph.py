"""Resolve Python import records to files of the repository.

A file is known by every name Python could import it under: from the first folder above it
that is not a package (what pytest's default `prepend` import mode puts on sys.path, and what
makes `src/pkg/a.py` importable as `pkg.a`), from the repository root and from `src/` (namespace
packages). `import a.b.c` depends on `a/__init__.py`, `a/b/__init__.py` and `a/b/c.py`;
`from a.b import c` also on `a/b/c.py` when `c` is a submodule. Relative imports resolve by
folder. A name several files answer to (two `helpers.py` in unrelated test folders) resolves to
all of them: selection errs towards running more.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

SOURCE_ROOTS = ("", "src")


def is_python_test(path: str) -> bool:
    """pytest's default `python_files`: test_*.py and *_test.py."""
    name = posixpath.basename(path)
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def module_index(paths: Iterable[str]) -> dict[str, set[str]]:
    """Dotted module name → the .py files importable under it."""
    py = [p for p in paths if p.endswith(".py")]
    packages = {posixpath.dirname(p) for p in py if posixpath.basename(p) == "__init__.py"}
    index: dict[str, set[str]] = defaultdict(set)
    for path in py:
        parts = path[:-3].split("/")
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not parts or not all(part.isidentifier() for part in parts[-1:]):
            continue
        names = {_name_from_basedir(path, parts, packages)}
        for root in SOURCE_ROOTS:
            prefix = root.split("/") if root else []
            if parts[:len(prefix)] == prefix and len(parts) > len(prefix):
                names.add(".".join(parts[len(prefix):]))
        for name in names:
            if name:
                index[name].add(path)
    return index


def _name_from_basedir(path: str, parts: list[str], packages: set[str]) -> str:
    folder = posixpath.dirname(path)
    if posixpath.basename(path) == "__init__.py":
        folder = posixpath.dirname(folder)
    depth = len(parts) - 1
    while folder and folder in packages:
        folder = posixpath.dirname(folder)
        depth -= 1
    return ".".join(parts[max(depth, 0):])


def top_package(path: str, packages: set[str]) -> str | None:
    """The outermost package folder holding `path`, or None outside any package."""
    folder, top = posixpath.dirname(path), None
    while folder and folder in packages:
        top, folder = folder, posixpath.dirname(folder)
    return top


def resolve_python(importer: str, records: list[Any], index: dict[str, set[str]], files: set[str]) -> set[str]:
    """The repository files `importer`'s import records depend on."""
    targets: set[str] = set()
    for module, level, names in records:
        if not isinstance(module, str) or not isinstance(level, int):
            continue
        if level:
            targets |= _relative(importer, module, level, names, files)
            continue
        parts = module.split(".")
        for i in range(1, len(parts) + 1):
            targets |= index.get(".".join(parts[:i]), set())
        for name in names or ():
            targets |= index.get(f"{module}.{name}", set())
    targets.discard(importer)
    return targets


def _relative(importer: str, module: str, level: int, names: list[str], files: set[str]) -> set[str]:
    folder = posixpath.dirname(importer)
    for _ in range(level - 1):
        folder = posixpath.dirname(folder)
    found: set[str] = set()
    init = posixpath.join(folder, "__init__.py")
    if init in files:
        found.add(init)
    for part in filter(None, module.split(".")):
        folder = posixpath.join(folder, part)
        found |= _module_files(folder, files)
    for name in names or ():
        found |= _module_files(posixpath.join(folder, name), files)
    return found


def _module_files(stem: str, files: set[str]) -> set[str]:
    return {p for p in (stem + ".py", stem + "/__init__.py") if p in files}
