"""Mocha's JSON reporter (`--reporter json`) read into TestCase results.

    {"stats": {...}, "tests": [...], "pending": [...], "failures": [...], "passes": [...]}

Each test has `title`, `fullTitle` (the describe titles and the title, space-joined),
`file`, `duration` (absent for pending tests) and `err` (`{}` unless it failed; else
`message` and `stack`). A failing hook (`"before all" hook for "x"`) appears in `failures`
only: it becomes an ERROR case. The failure's line comes from the innermost repository
frame of `err.stack`. Never raises: a truncated report yields the tests it still holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runners.jest import clean, failure_message
from runners.locate import RepositoryPaths
from runners.reportfile import load_json, report_text, salvage_objects
from runners.result import TestCase, TestStatus


def parse_mocha(path_or_text: Path | str, workspace: Path,
                sandbox_root: str = "/workspace") -> tuple[list[TestCase], str | None]:
    """Read a Mocha JSON report (a file, or its text); return (cases, error or None)."""
    text, name = report_text(path_or_text, workspace)
    if text is None:
        return [], name
    locate = RepositoryPaths(workspace, sandbox_root)
    data, problem = load_json(text)
    if problem is not None:
        salvaged = salvage_objects(text, "tests")
        cases = [case_from_test(t, _status_by_shape(t), locate) for t in salvaged]
        return cases, f"{name} is not valid Mocha JSON ({problem}); read {len(cases)} test(s)"
    if not isinstance(data, dict) or not isinstance(data.get("tests"), list):
        return [], f"{name} is not a Mocha JSON report: it has no tests list"
    failed = {_key(t) for t in _objects(data.get("failures"))}
    pending = {_key(t) for t in _objects(data.get("pending"))}
    cases, seen = [], set()
    for test in _objects(data["tests"]):
        key = _key(test)
        seen.add(key)
        status = (TestStatus.FAILED if key in failed else TestStatus.SKIPPED if key in pending
                  else TestStatus.PASSED)
        cases.append(case_from_test(test, status, locate))
    cases += [case_from_test(hook, TestStatus.ERROR, locate)
              for hook in _objects(data.get("failures")) if _key(hook) not in seen]
    if not cases:
        return [], f"{name} lists no tests (Mocha found no test files, or none ran)"
    return cases, None


def case_from_test(test: dict[str, Any], status: TestStatus, locate: RepositoryPaths) -> TestCase:
    title = str(test.get("title") or "")
    full = str(test.get("fullTitle") or title)
    suite = full[: -len(title)].strip() if title and full.endswith(title) else ""
    file = locate.relative(str(test.get("file") or "")) if test.get("file") else None
    err = test.get("err") if isinstance(test.get("err"), dict) else {}
    assert isinstance(err, dict)
    trace = clean(str(err.get("stack") or ""))
    message = clean(str(err.get("message") or "")).strip() or failure_message(trace)
    line = None
    if status in (TestStatus.FAILED, TestStatus.ERROR):
        frame = locate.deepest_frame(trace)
        if frame is not None:
            file, line = frame
    duration = test.get("duration")
    return TestCase(
        name=f"{suite} > {title}" if suite else title,
        classname=file or "",
        status=status,
        file=file,
        line=line,
        duration=float(duration) / 1000.0 if isinstance(duration, int | float) else 0.0,
        message=message,
        trace=trace,
        suite=suite,
        test_id=full,
    )


def _status_by_shape(test: dict[str, Any]) -> TestStatus:
    """Without the failures/pending lists (a truncated report): failed tests carry an err,
    pending ones no duration."""
    if isinstance(test.get("err"), dict) and test["err"]:
        return TestStatus.FAILED
    return TestStatus.PASSED if "duration" in test else TestStatus.SKIPPED


def _objects(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _key(test: dict[str, Any]) -> tuple[str, str]:
    return str(test.get("fullTitle") or test.get("title") or ""), str(test.get("file") or "")
