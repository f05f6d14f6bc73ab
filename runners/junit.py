"""JUnit XML reports read into TestCase results, with each failure placed on its exact line.

`parse_junit` never raises: a missing, truncated or malformed report yields whatever test
cases could be read plus an error string. It reads pytest's, Maven Surefire's, jest-junit's
and mocha-junit-reporter's shapes, with <testsuite> nested at any depth (the names of the
enclosing suites become TestCase.suite). The failure's location is the deepest repository
frame of its stack (locate.py: Python, JavaScript or Java), falling back to the testcase's
own `file`/`line` attributes (pytest's xunit1 family; its `line` is 0-based).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from junitparser import Error, Failure, Skipped
from junitparser import TestCase as JUnitCase

from runners.locate import NATIVE_FRAME, PYTEST_FRAME, THIRD_PARTY, RepositoryPaths
from runners.reportfile import MAX_REPORT_BYTES, read_report, report_text
from runners.result import TestCase, TestStatus

__all__ = ["MAX_REPORT_BYTES", "NATIVE_FRAME", "PYTEST_FRAME", "THIRD_PARTY", "RepositoryPaths",
           "case_from_junit", "parse_junit", "read_report"]

# characters XML 1.0 forbids; they appear when a test prints binary junk
XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
XFAIL_TYPES = {"pytest.xfail"}


def parse_junit(path_or_text: Path | str, workspace: Path,
                sandbox_root: str = "/workspace") -> tuple[list[TestCase], str | None]:
    """Read the test cases of a JUnit report (a file, or its text); return (cases, error or None)."""
    text, name = report_text(path_or_text, workspace)
    if text is None:
        return [], name
    elements, error = _testcase_elements(_clean_xml(text))
    locate = RepositoryPaths(workspace, sandbox_root)
    cases = [case_from_junit(JUnitCase.fromelem(elem), locate, suite) for elem, suite in elements]
    if error:
        error = f"{name} is malformed ({error}); read {len(cases)} test(s)"
    return cases, error


def _clean_xml(text: str) -> str:
    """Drop what no XML parser accepts, so junk in output costs nothing."""
    return XML_ILLEGAL.sub("\ufffd", XML_DECLARATION.sub("", text, count=1))


def _testcase_elements(text: str) -> tuple[list[tuple[ET.Element, str]], str | None]:
    """Every complete <testcase> with the names of its enclosing suites, at any depth of
    <testsuites>/<testsuite> nesting.

    An incremental parser keeps the cases read before a truncation or syntax error.
    """
    parser: ET.XMLPullParser = ET.XMLPullParser(events=("start", "end"))
    found: list[tuple[ET.Element, str]] = []
    suites: list[str] = []
    error: str | None = None
    try:
        parser.feed(text)
        parser.close()
    except ET.ParseError as exc:
        error = str(exc)
    try:
        for event in parser.read_events():  # re-raises a queued ParseError after the good events
            kind, elem = (event[0], event[-1]) if isinstance(event, tuple) else ("", event)
            if not isinstance(elem, ET.Element):
                continue
            if elem.tag == "testsuite":
                if kind == "start":
                    suites.append(elem.get("name", ""))
                elif suites:
                    suites.pop()
            elif elem.tag == "testcase" and kind == "end":
                found.append((elem, " > ".join(name for name in suites if name)))
    except ET.ParseError as exc:
        error = error or str(exc)
    if not found and error is None:
        error = "it holds no <testcase> element"
    return found, error


def case_from_junit(case: JUnitCase, locate: RepositoryPaths, suite: str = "") -> TestCase:
    """One junitparser testcase as Verdict's TestCase, located on the failing line."""
    attrs = case._elem.attrib
    status, result = _status_of(case)
    file = locate.relative(attrs["file"]) if attrs.get("file") else None
    line = _int(attrs.get("line"))
    if line is not None and attrs.get("file"):
        line += 1  # pytest's xunit1 `line` is 0-based
    trace = (result.text or "") if result is not None else ""
    if status in (TestStatus.FAILED, TestStatus.ERROR):
        frame = locate.deepest_frame(trace)
        if frame is not None:
            file, line = frame
    name, classname = attrs.get("name", ""), attrs.get("classname", "")
    return TestCase(
        name=name,
        classname=classname,
        status=status,
        file=file,
        line=line,
        duration=_float(attrs.get("time")),
        message=(result.message or "") if result is not None else "",
        trace=trace,
        suite=suite,
        test_id=f"{classname}::{name}" if classname else name,
        stdout=_child_text(case._elem, "system-out"),
        stderr=_child_text(case._elem, "system-err"),
    )


def _child_text(elem: ET.Element, tag: str) -> str:
    child = elem.find(tag)
    return (child.text or "") if child is not None else ""


def _status_of(case: JUnitCase) -> tuple[TestStatus, Failure | Error | Skipped | None]:
    results = case.result
    for kind, status in ((Failure, TestStatus.FAILED), (Error, TestStatus.ERROR),
                         (Skipped, TestStatus.SKIPPED)):
        for result in results:
            if isinstance(result, kind):
                if kind is Skipped and result.type in XFAIL_TYPES:
                    return TestStatus.XFAIL, result
                return status, result
    return TestStatus.PASSED, None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _float(value: str | None) -> float:
    try:
        return float(value) if value is not None else 0.0
    except ValueError:
        return 0.0
