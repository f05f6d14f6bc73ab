"""Impact data: which tests ran which functions in a full run of one commit, recorded by `scope.recorder`.

The import graph says which tests *could* reach a changed module; impact data says which of
them actually ran the changed functions when the base commit's whole suite ran. A change whose
old version is that commit, and which only touches function bodies (scope.python_changes;
for JavaScript, code inside functions V8 reported: scope.js_changes), then selects only the
tests that ran one of those functions: Python down to the test function's node id,
JavaScript to the test file (the runners select JavaScript tests by file).

Everything else stays with the import graph: a change at import time (module level, class
bodies, signatures, decorators), a function that also ran while a module was being imported,
files imported before recording began, test files that were not run whole, tests that started
processes or lost the tracer. Impact data is only used for the exact commit it was recorded on.

`ImpactMap.load(data, commit)` reads the recorder's JSON (plain or zlib-compressed) and raises
ImpactDataError when it is not impact data of a format this version knows.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from scope.errors import ImpactDataError
from scope.python_changes import FunctionSpan

FORMAT = 1
RECORDER_PATH = Path(__file__).resolve().with_name("recorder.py")  # the pytest plugin (stdlib + pytest only)
JS_RECORDER_PATH = RECORDER_PATH.with_suffix(".cjs")  # the Node preload
RECORDER_MODULE = "verdict_impact"  # the name scope/recorder.py is imported under in the sandbox
OUTPUT_ENV = "VERDICT_IMPACT_OUT"  # where either recorder writes its JSON
TRACE_ENV = "VERDICT_IMPACT_TRACE"  # "0": the pytest plugin records outcomes only
TEST_ENV = "VERDICT_IMPACT_TEST"  # the Node preload outside Mocha: the test file the process runs


@dataclass
class ImpactMap:
    """One full run's record. Tests are (file, name) pairs; `executed[path][key]` lists test indexes, where
    `key` is a function's first line (Python) or its start offset (JavaScript)."""

    commit: str
    tests: list[tuple[str, str]]
    items: dict[str, int] = field(default_factory=dict)
    partial: set[str] = field(default_factory=set)
    executed: dict[str, dict[int, list[int]]] = field(default_factory=dict)
    import_time: dict[str, set[int]] = field(default_factory=dict)
    unsafe: set[int] = field(default_factory=set)  # spawned processes or lost the tracer
    preloaded: set[str] = field(default_factory=set)
    collect_errors: set[str] = field(default_factory=set)
    outcomes: dict[str, str] = field(default_factory=dict)
    spans: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # JavaScript: [start, end) offsets
    lengths: dict[str, int] = field(default_factory=dict)  # JavaScript: the text length V8 compiled

    @classmethod
    def load(cls, data: bytes | str | dict[str, Any], commit: str) -> ImpactMap:
        report = _decode(data)
        try:
            if report.get("format") != FORMAT:
                raise ImpactDataError(f"impact data of format {report.get('format')!r}; this Verdict reads {FORMAT}")
            if report.get("traced") is not True:
                raise ImpactDataError("this record has outcomes only: its run traced nothing")
            tests = [(str(f), str(n)) for f, n in report["tests"]]
            return cls(
                commit=commit, tests=tests,
                items={str(k): int(v) for k, v in report.get("items", {}).items()},
                partial=set(map(str, report.get("partial", []))),
                executed={str(p): {int(line): [int(i) for i in idx] for line, idx in lines.items()}
                          for p, lines in report.get("executed", {}).items()},
                import_time={str(p): set(map(int, lines)) for p, lines in report.get("import_time", {}).items()},
                unsafe=set(map(int, report.get("spawners", []))) | set(map(int, report.get("untracked", []))),
                preloaded=set(map(str, report.get("preloaded", []))),
                collect_errors=set(map(str, report.get("collect_errors", []))),
                outcomes={str(k): str(v) for k, v in report.get("outcomes", {}).items()},
                spans={str(p): [(int(a), int(b)) for a, b in spans] for p, spans in report.get("spans", {}).items()},
                lengths={str(p): int(n) for p, n in report.get("lengths", {}).items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ImpactDataError(f"impact data is malformed: {exc.__class__.__name__}: {exc}") from exc

    def node_id(self, index: int) -> str:
        file, name = self.tests[index]
        return f"{file}::{name}"

    def test_files(self) -> set[str]:
        return {file for file, _ in self.tests}

    def narrows(self, test_file: str) -> bool:
        """Whether this record saw every test of `test_file` run (else it is never narrowed)."""
        return test_file in self.items and test_file not in self.partial and test_file not in self.collect_errors

    def runs_of(self, test_file: str) -> set[int]:
        """The indexes of `test_file`'s test functions."""
        return self._by_file.get(test_file, set())

    @cached_property
    def _by_file(self) -> dict[str, set[int]]:
        by_file: dict[str, set[int]] = {}
        for i, (file, _) in enumerate(self.tests):
            by_file.setdefault(file, set()).add(i)
        return by_file

    def import_time_function(self, path: str, spans: Iterable[FunctionSpan]) -> FunctionSpan | None:
        """The first of `spans` in which something ran while a module was imported, or None."""
        lines = self.import_time.get(path, set())
        return next((s for s in spans if any(s.first <= line <= s.last for line in lines)), None)

    def tests_running(self, path: str, span: FunctionSpan) -> set[int]:
        """Tests that ran the function `span` of `path` (or code nested in it: lambdas, inner functions)."""
        found: set[int] = set()
        for line, tests in self.executed.get(path, {}).items():
            if span.first <= line <= span.last:
                found.update(tests)
        return found

    def to_bytes(self) -> bytes:
        """The compressed JSON kept in storage (the recorder's shape)."""
        spawners = sorted(self.unsafe)
        report = {
            "format": FORMAT, "traced": True, "tests": [list(t) for t in self.tests], "items": self.items,
            "partial": sorted(self.partial),
            "executed": {p: {str(k): v for k, v in lines.items()} for p, lines in self.executed.items()},
            "import_time": {p: sorted(v) for p, v in self.import_time.items()}, "spawners": spawners,
            "untracked": [], "preloaded": sorted(self.preloaded), "collect_errors": sorted(self.collect_errors),
            "outcomes": self.outcomes, "spans": {p: [list(s) for s in v] for p, v in self.spans.items()},
            "lengths": self.lengths,
        }
        return zlib.compress(json.dumps(report, separators=(",", ":")).encode(), 6)


def _decode(data: bytes | str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(data, dict):
        return data
    raw = data.encode() if isinstance(data, str) else data
    try:
        if raw[:1] not in (b"{", b" ", b"\n"):
            raw = zlib.decompress(raw)
        report = json.loads(raw)
    except (zlib.error, ValueError, UnicodeDecodeError) as exc:
        raise ImpactDataError(f"impact data is not readable JSON: {exc}") from exc
    if not isinstance(report, dict):
        raise ImpactDataError("impact data must be a JSON object")
    return report


def merge_reports(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """One report from several processes' (e.g. one per JavaScript test file), test indexes renumbered."""
    merged: dict[str, Any] = {"format": FORMAT, "traced": True, "tests": [], "items": {}, "partial": [],
                              "executed": {}, "import_time": {}, "spans": {}, "lengths": {}, "spawners": [],
                              "untracked": [], "outcomes": {}, "collect_errors": [], "preloaded": []}
    for report in reports:
        if report.get("format") != FORMAT or report.get("traced") is not True:
            raise ImpactDataError("only traced reports of the same format can be merged")
        offset = len(merged["tests"])
        merged["tests"].extend(report["tests"])
        for path, keys in report.get("executed", {}).items():
            target = merged["executed"].setdefault(path, {})
            for key, tests in keys.items():
                target.setdefault(key, []).extend(i + offset for i in tests)
        for path, keys in report.get("import_time", {}).items():
            merged["import_time"][path] = sorted(set(merged["import_time"].get(path, [])) | set(keys))
        for path, spans in report.get("spans", {}).items():
            known = {tuple(s) for s in merged["spans"].get(path, [])} | {tuple(s) for s in spans}
            merged["spans"][path] = sorted(list(s) for s in known)
        for path, length in report.get("lengths", {}).items():
            if merged["lengths"].setdefault(path, length) != length:
                merged["lengths"][path] = -1  # compiled differently in two processes: never narrowed
        for key in ("spawners", "untracked"):
            merged[key].extend(i + offset for i in report.get(key, []))
        for key in ("partial", "collect_errors", "preloaded"):
            merged[key] = sorted(set(merged[key]) | set(report.get(key, [])))
        for file, count in report.get("items", {}).items():
            merged["items"][file] = merged["items"].get(file, 0) + count
        merged["outcomes"].update(report.get("outcomes", {}))
    return merged
