"""Placing a failure on its line: the deepest stack frame that lies inside the repository.

Stacks come in three shapes. Python tracebacks (pytest's longrepr, native tracebacks) list
the innermost call last; JavaScript (V8) and Java stacks list it first. In each, the frame
wanted is the innermost one whose file is a file of the repository: frames in the runtime
(`node:internal/...`, /usr/lib/python3), in installed packages (node_modules,
site-packages) or in files the checkout lacks are passed over.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

# `tests/test_calc.py:5: AssertionError` or `/workspace/src/calc.py:10: in add`
PYTEST_FRAME = re.compile(r"^(?P<path>[^\s:\"]+\.py):(?P<line>\d+):(?: |$)", re.MULTILINE)
# `  File "/workspace/src/calc.py", line 10, in add` (native tracebacks, SyntaxError details)
NATIVE_FRAME = re.compile(r'File "(?P<path>[^"]+)", line (?P<line>\d+)')
# `    at Object.toBe (/workspace/test/calc.test.js:11:29)`, `    at file:///workspace/x.mjs:3:7`
JS_FRAME = re.compile(r"^\s*at (?:.*? \()?(?:file://)?(?P<path>[^\s()]+?):(?P<line>\d+):\d+\)?\s*$",
                      re.MULTILINE)
# `	at com.example.CalcTest.testAdd(CalcTest.java:12)` (Surefire, Gradle)
JAVA_FRAME = re.compile(r"^\s*at (?P<qualified>[\w$.]+)\((?P<file>[\w$-]+\.(?:java|kt|groovy|scala)):"
                        r"(?P<line>\d+)\)", re.MULTILINE)
THIRD_PARTY = {"site-packages", "dist-packages", ".venv", "venv", ".tox", ".nox", "node_modules"}
JVM_SOURCE_SKIPPED = {".git", "node_modules", "target", "build", ".gradle"}


class RepositoryPaths:
    """Maps paths seen in a sandbox (or on the host) to repository-relative ones."""

    def __init__(self, workspace: Path, sandbox_root: str = "/workspace"):
        self.workspace = workspace
        self.roots = [r.rstrip("/") + "/" for r in (sandbox_root, str(workspace.resolve()), str(workspace))]
        self._jvm_sources: dict[str, str] | None = None

    def relative(self, path: str) -> str | None:
        """The repository-relative path, or None when the path lies outside the repository."""
        if path.startswith("file://"):
            path = path[len("file://"):]
        for root in self.roots:
            if path.startswith(root):
                path = path[len(root):]
                break
        else:
            if path.startswith("/") or ":" in path:  # outside, or `node:internal/...`
                return None
        pure = PurePosixPath(path)
        if pure.is_absolute() or ".." in pure.parts or THIRD_PARTY.intersection(pure.parts):
            return None
        return str(pure)

    def deepest_frame(self, trace: str) -> tuple[str, int] | None:
        """The innermost stack frame whose file is inside the repository, whatever the language."""
        python = [(m.start(), m.group("path"), int(m.group("line")))
                  for pattern in (PYTEST_FRAME, NATIVE_FRAME) for m in pattern.finditer(trace)]
        if python:  # innermost last
            return self._first_in_repository(sorted(python, reverse=True))
        javascript = [(m.start(), m.group("path"), int(m.group("line"))) for m in JS_FRAME.finditer(trace)]
        if javascript:  # innermost first
            return self._first_in_repository(javascript)
        return self._java_frame(trace)

    def _first_in_repository(self, frames: list[tuple[int, str, int]]) -> tuple[str, int] | None:
        for _, path, line in frames:
            relative = self.relative(path)
            if relative is not None and self._exists(relative):
                return relative, line
        return None

    def _java_frame(self, trace: str) -> tuple[str, int] | None:
        """Java frames name a class and a bare file name: find `com/example/CalcTest.java`."""
        for match in JAVA_FRAME.finditer(trace):
            package = match.group("qualified").rsplit(".", 2)[0] if match.group("qualified").count(".") >= 2 else ""
            wanted = "/".join([*package.split("."), match.group("file")]) if package else match.group("file")
            found = self.jvm_sources().get(wanted)
            if found is not None:
                return found, int(match.group("line"))
        return None

    def jvm_sources(self) -> dict[str, str]:
        """{package path of a JVM source file: its repository-relative path}, read once."""
        if self._jvm_sources is None:
            self._jvm_sources = {}
            if self.workspace.is_dir():
                self._index_jvm_sources()
        return self._jvm_sources

    def _index_jvm_sources(self) -> None:
        assert self._jvm_sources is not None
        for dirpath, dirnames, filenames in os.walk(self.workspace):
            dirnames[:] = [d for d in dirnames if d not in JVM_SOURCE_SKIPPED]
            for name in filenames:
                if not name.endswith((".java", ".kt", ".groovy", ".scala")):
                    continue
                relative = PurePosixPath(os.path.relpath(os.path.join(dirpath, name), self.workspace))
                for start in range(len(relative.parts)):  # every suffix: com/example/X.java, example/X.java, ...
                    self._jvm_sources.setdefault("/".join(relative.parts[start:]), str(relative))

    def _exists(self, relative: str) -> bool:
        if not self.workspace.is_dir():
            return True  # reading a report without its checkout: trust the path
        return (self.workspace / relative).is_file()
