"""Walk a dependency graph backwards from changed files to the tests that depend on them, with chains.

A chain reads from the change to the test:
`src/pkg/a.py changed → imported by src/pkg/b.py → imported by tests/test_b.py`; a conftest.py
step reads `→ conftest of tests/unit/test_x.py`. Import cycles are harmless: each file is
visited once per walk.
"""

from __future__ import annotations

import posixpath
from collections import deque

from scope.graph import DependencyGraph

MAX_SEPARATE_WALKS = 200  # above this many changed files, one joint walk (one chain per test)


def reached_tests(graph: DependencyGraph, starts: dict[str, str], *, past: bool = False) -> dict[str, list[str]]:
    """Test file → reason chains, walking from each start (path → how it changed, e.g. "changed")."""
    verb = "was imported by" if past else "imported by"
    found: dict[str, list[str]] = {}
    groups = [[s] for s in sorted(starts)] if len(starts) <= MAX_SEPARATE_WALKS else [sorted(starts)]
    for group in groups:
        parent = _walk(graph, group)
        for node in parent:
            if node in graph.tests:
                found.setdefault(node, []).append(_chain(node, parent, starts, verb))
    return found


def _walk(graph: DependencyGraph, starts: list[str]) -> dict[str, tuple[str, str] | None]:
    parent: dict[str, tuple[str, str] | None] = dict.fromkeys(starts)
    queue = deque(starts)
    while queue:
        node = queue.popleft()
        for importer in sorted(graph.importers.get(node, ())):
            if importer not in parent:
                parent[importer] = (node, "import")
                queue.append(importer)
        if posixpath.basename(node) == "conftest.py":
            for test in graph.conftest_scope(node):
                if test not in parent:
                    parent[test] = (node, "conftest")
                    queue.append(test)
    return parent


def _chain(test: str, parent: dict[str, tuple[str, str] | None], starts: dict[str, str], verb: str) -> str:
    steps: list[str] = []
    node = test
    while (link := parent[node]) is not None:
        prev, how = link
        steps.append(f"conftest of {node}" if how == "conftest" else f"{verb} {node}")
        node = prev
    head = f"{node} {starts[node]}"
    if not steps:
        return f"{head} (test file)" if starts[node] == "changed" else head
    return " → ".join([head, *reversed(steps)])
