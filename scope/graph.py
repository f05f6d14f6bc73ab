"""The dependency graph of one snapshot: which file imports which, and which files are tests.

Edges point from a file to the files it imports; `importers` is the reverse, which selection
walks. A `conftest.py` also reaches every Python test under its folder. Parsing goes through the
content-hash cache, so only files whose bytes are new are read and parsed.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from scope.cache import ScopeCache
from scope.js_graph import JsResolver, is_js_test
from scope.js_imports import PARSER_VERSION as JS_VERSION
from scope.js_imports import parse_js
from scope.python_graph import is_python_test, module_index, resolve_python, top_package
from scope.python_imports import PARSER_VERSION as PY_VERSION
from scope.python_imports import parse_python
from scope.snapshot import JS_EXTS, Snapshot


@dataclass
class DependencyGraph:
    """Files, import edges both ways, test files, and files that could not be parsed."""

    files: set[str]
    imports: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    importers: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    tests: set[str] = field(default_factory=set)
    unparsed: dict[str, str] = field(default_factory=dict)
    packages: set[str] = field(default_factory=set)  # Python package folders (holding __init__.py)

    def is_source(self, path: str) -> bool:
        return path in self.files and path.endswith((".py", *JS_EXTS))

    def conftest_scope(self, conftest: str) -> list[str]:
        """The Python test files a conftest.py applies to: every one under its folder."""
        folder = posixpath.dirname(conftest)
        prefix = folder + "/" if folder else ""
        return sorted(t for t in self.tests if t.endswith(".py") and t.startswith(prefix))

    def unit_of(self, path: str) -> str:
        """The package or service a file belongs to: its outermost Python package, else its top folder."""
        top = top_package(path, self.packages)
        if top:
            return top
        parts = path.split("/")
        if parts[0] == "src" and len(parts) > 2:
            return "src/" + parts[1]
        return parts[0] if len(parts) > 1 else path


def build_graph(snapshot: Snapshot, cache: ScopeCache) -> DependencyGraph:
    """Parse (or fetch from the cache) every source file of `snapshot` and resolve its imports."""
    files = set(snapshot.files)
    graph = DependencyGraph(files=files)
    graph.packages = {posixpath.dirname(p) for p in files if posixpath.basename(p) == "__init__.py"}
    graph.tests = {p for p in files if is_python_test(p) or (p.endswith(JS_EXTS) and is_js_test(p))}
    parsed = _parse_all(snapshot, cache)
    index = module_index(files)
    resolver = JsResolver(files, snapshot.read)
    for path, result in parsed.items():
        if result.get("error"):
            graph.unparsed[path] = result["error"]
        if path.endswith(".py"):
            targets = resolve_python(path, result.get("imports", []), index, files)
        else:
            targets = {t for spec in result.get("imports", []) if (t := resolver.resolve(path, spec)) and t != path}
        targets |= _own_package_init(path, graph.packages)
        for target in targets:
            graph.imports[path].add(target)
            graph.importers[target].add(path)
    return graph


def _own_package_init(path: str, packages: set[str]) -> set[str]:
    """Importing a module runs its package's __init__.py first (pytest imports tests in packages that way too)."""
    if not path.endswith(".py"):
        return set()
    folder = posixpath.dirname(path)
    if posixpath.basename(path) == "__init__.py":
        folder = posixpath.dirname(folder)
    return {posixpath.join(folder, "__init__.py")} if folder in packages else set()


def _parse_all(snapshot: Snapshot, cache: ScopeCache) -> dict[str, dict[str, Any]]:
    keys: dict[str, str] = {}
    for path, sha in snapshot.files.items():
        if path.endswith(".py"):
            keys[path] = f"{PY_VERSION}:{sha}"
        elif path.endswith(JS_EXTS):
            keys[path] = f"{JS_VERSION}:{sha}"
    known = cache.parsed(sorted(set(keys.values())))
    fresh: dict[str, Any] = {}
    parsed: dict[str, dict[str, Any]] = {}
    for path, key in keys.items():
        result = known.get(key) or fresh.get(key)
        if result is None:
            data = snapshot.read(path)
            if data is None:
                continue
            result = parse_python(data) if path.endswith(".py") else parse_js(data)
            fresh[key] = result
        parsed[path] = result
    cache.put_parsed(fresh.items())
    return parsed
