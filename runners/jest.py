"""Jest's `--json` report and Vitest's JSON reporter (the same shape) read into TestCase results.

    {"testResults": [{"name": "/workspace/test/calc.test.js", "status": "failed", "message": "...",
                      "assertionResults": [{"ancestorTitles": ["mean"], "title": "averages",
                                            "fullName": "mean averages", "status": "failed",
                                            "duration": 3, "location": {"line": 10, "column": 3},
                                            "failureMessages": ["Error: ...\n    at ... (file:11:29)"]}]}]}

`location` is there only when Jest runs with `--testLocationInResults`. A failure is placed
on the innermost stack frame inside the repository (the failing assertion, or the source line
that threw), else on the test's own line. A test file that could not run at all (a syntax
error, a missing module) has no assertion results: it becomes one ERROR case. Like every
parser here, these never raise: a truncated report yields the tests it still holds.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from runners.locate import RepositoryPaths
from runners.reportfile import load_json, report_text, salvage_objects
from runners.result import TestCase, TestStatus

STATUSES = {
    "passed": TestStatus.PASSED,
    "focused": TestStatus.PASSED,
    "failed": TestStatus.FAILED,
    "pending": TestStatus.SKIPPED,
    "skipped": TestStatus.SKIPPED,
    "todo": TestStatus.SKIPPED,
    "disabled": TestStatus.SKIPPED,
}
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
STACK_START = re.compile(r"^\s+at ", re.MULTILINE)


def parse_jest(path_or_text: Path | str, workspace: Path,
               sandbox_root: str = "/workspace") -> tuple[list[TestCase], str | None]:
    """Read a `jest --json` report (a file, or its text); return (cases, error or None)."""
    return _parse(path_or_text, workspace, sandbox_root, "Jest")


def parse_vitest(path_or_text: Path | str, workspace: Path,
                 sandbox_root: str = "/workspace") -> tuple[list[TestCase], str | None]:
    """Read a `vitest run --reporter=json` report (a file, or its text); return (cases, error or None)."""
    return _parse(path_or_text, workspace, sandbox_root, "Vitest")


def _parse(path_or_text: Path | str, workspace: Path, sandbox_root: str,
           tool: str) -> tuple[list[TestCase], str | None]:
    text, name = report_text(path_or_text, workspace)
    if text is None:
        return [], name
    locate = RepositoryPaths(workspace, sandbox_root)
    data, problem = load_json(text)
    if problem is not None:
        cases = [case_from_assertion(a, None, locate) for a in salvage_objects(text, "assertionResults")]
        return cases, f"{name} is not valid {tool} JSON ({problem}); read {len(cases)} test(s)"
    if not isinstance(data, dict) or not isinstance(data.get("testResults"), list):
        return [], f"{name} is not a {tool} JSON report: it has no testResults list"
    cases = []
    for file_result in data["testResults"]:
        if not isinstance(file_result, dict):
            continue
        file = locate.relative(str(file_result.get("name") or ""))
        assertions = [a for a in file_result.get("assertionResults") or [] if isinstance(a, dict)]
        cases += [case_from_assertion(a, file, locate) for a in assertions]
        if not assertions and file_result.get("status") == "failed":
            cases.append(case_from_broken_file(file_result, file, locate))
    if not cases:
        return [], f"{name} lists no tests ({tool} found no test files, or none ran)"
    return cases, None


def case_from_assertion(result: dict[str, Any], file: str | None, locate: RepositoryPaths) -> TestCase:
    """One entry of assertionResults as a TestCase, placed on its failing line."""
    ancestors = [str(t) for t in result.get("ancestorTitles") or []]
    title = str(result.get("title") or "")
    status = STATUSES.get(str(result.get("status")), TestStatus.ERROR)
    trace = clean("\n\n".join(str(m) for m in result.get("failureMessages") or []))
    location = result.get("location")
    line = _int(location.get("line")) if isinstance(location, dict) else None
    if status == TestStatus.ERROR:
        trace = trace or f"unknown test status {result.get('status')!r}"
    if status in (TestStatus.FAILED, TestStatus.ERROR):
        frame = locate.deepest_frame(trace)
        if frame is not None:
            file, line = frame
    suite = " > ".join(ancestors)
    return TestCase(
        name=" > ".join([*ancestors, title]),
        classname=file or "",
        status=status,
        file=file,
        line=line,
        duration=_seconds(result.get("duration")),
        message=failure_message(trace),
        trace=trace,
        suite=suite,
        test_id=str(result.get("fullName") or " ".join([*ancestors, title])),
    )


def case_from_broken_file(file_result: dict[str, Any], file: str | None, locate: RepositoryPaths) -> TestCase:
    """A test file that failed before any of its tests ran (syntax error, missing import)."""
    trace = clean(str(file_result.get("message") or file_result.get("failureMessage") or ""))
    frame = locate.deepest_frame(trace)
    where, line = frame if frame is not None else (file, None)
    return TestCase(name=file or "test file", classname=file or "", status=TestStatus.ERROR, file=where,
                    line=line, message=failure_message(trace) or "the test file failed to run", trace=trace,
                    test_id=file or "")


def failure_message(trace: str) -> str:
    """The part of a JavaScript error before its stack: `Error: expected 3 to be 4`."""
    head = STACK_START.split(trace, maxsplit=1)[0]
    return head.strip()


def clean(text: str) -> str:
    return ANSI.sub("", text)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _seconds(milliseconds: Any) -> float:
    if isinstance(milliseconds, int | float) and not isinstance(milliseconds, bool) and milliseconds > 0:
        return float(milliseconds) / 1000.0
    return 0.0
