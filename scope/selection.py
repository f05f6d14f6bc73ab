"""The result of scope: which test files to run, why each one, and how wide the change reaches.

Scope kinds, from narrowest to widest (`Selection.kind`):

- ``file``: only changed test files run, each because it changed itself.
- ``module``: one changed source file (a module, a conftest.py, a data file mapped by
  `scope.paths`) and the tests that depend on it.
- ``package``: several changed source files inside one package — the outermost Python package
  folder (with ``__init__.py``) or, outside packages, one top-level folder (``src/<name>`` for
  src-layout namespace code).
- ``service``: changed source files in several packages or top-level folders.
- ``repository``: the full suite (mode "all").
- ``none``: nothing to run (nothing changed, every change matched `scope.skip_if_only_changed`,
  or no test depends on what changed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from scope.js_graph import is_js_test

KINDS = ("none", "file", "module", "package", "service", "repository")
KIND_MEANINGS = {
    "none": "nothing to run",
    "file": "only changed test files",
    "module": "one changed module and its dependents",
    "package": "several changed modules in one package",
    "service": "changes across several packages or services",
    "repository": "the full suite",
}


@dataclass
class SelectedTest:
    """One test file to run: whole (`tests` empty) or only the node ids listed, with its reason chains."""

    file: str
    tests: list[str] = field(default_factory=list)
    why: list[str] = field(default_factory=list)


@dataclass
class Selection:
    """What to run for a change. `mode` "all" runs everything; "affected" runs `selected` only."""

    mode: str
    reason: str
    changed: list[str]
    total_test_files: int
    selected: list[SelectedTest]
    kind: str = "none"
    skipped: bool = False  # every changed file matched scope.skip_if_only_changed: conclude `skipped`

    @property
    def runs_everything(self) -> bool:
        return self.mode == "all"

    def to_json(self) -> dict[str, Any]:
        """The JSON shape of `verdict scope --json`."""
        return {
            "mode": self.mode,
            "reason": self.reason,
            "changed": list(self.changed),
            "total_test_files": self.total_test_files,
            "selected": [{"file": s.file, "tests": list(s.tests), "why": list(s.why)}
                         for s in sorted(self.selected, key=lambda s: s.file)],
        }

    def pytest_args(self) -> list[str]:
        """Test files and node ids to append to a pytest command; [] means run everything.

        Only meaningful when `runs_everything` or some Python test is selected: an "affected"
        selection with no Python tests also gives [], so check `selected` before running pytest.
        """
        if self.runs_everything:
            return []
        args: list[str] = []
        for test in sorted(self.selected, key=lambda s: s.file):
            if test.file.endswith(".py"):
                args.extend(test.tests or [test.file])
        return args

    def js_test_files(self) -> list[str]:
        """The JavaScript/TypeScript test files selected (every one for mode "all")."""
        return [s.file for s in sorted(self.selected, key=lambda s: s.file) if is_js_test(s.file)]


def full_selection(tests: Iterable[str], changed: list[str], reason: str) -> Selection:
    """Every test file of the repository, each with `full run: <reason>`."""
    files = sorted(tests)
    selected = [SelectedTest(t, [], [f"full run: {reason}"]) for t in files]
    return Selection("all", reason, list(changed), len(files), selected, "repository")
