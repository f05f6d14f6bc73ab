"""JUnit XML reports read into TestCase results, with each failure placed on its exact line.

`parse_junit` never raises: a missing, truncated or malformed report yields whatever test
cases could be read plus an error string. The failure's location is the deepest frame of
the traceback (pytest's longrepr or a native Python traceback) whose file lies inside the
repository, falling back to the testcase's own `file`/`line` attributes (pytest's xunit1
family; its `line` is 0-based).
"""

from __future__ import annotations

import os
import re
import stat
import xml.etree.ElementTree as ET
from pathlib import Path, PurePosixPath

from junitparser import Error, Failure, Skipped
from junitparser import TestCase as JUnitCase

from runners.result import TestCase, TestStatus

# `tests/test_calc.py:5: AssertionError` or `/workspace/src/calc.py:10: in add`
PYTEST_FRAME = re.compile(r"^(?P<path>[^\s:\"]+\.py):(?P<line>\d+):(?: |$)", re.MULTILINE)
# `  File "/workspace/src/calc.py", line 10, in add` (native tracebacks, SyntaxError details)
NATIVE_FRAME = re.compile(r'File "(?P<path>[^"]+)", line (?P<line>\d+)')
# characters XML 1.0 forbids; they appear when a test prints binary junk
XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
MAX_REPORT_BYTES = 64 * 1024 * 1024
THIRD_PARTY = {"site-packages", "dist-packages", ".venv", "venv", ".tox", ".nox"}


def parse_junit(xml_path: Path, workspace: Path,
                sandbox_root: str = "/workspace") -> tuple[list[TestCase], str | None]:
    """Read the test cases of a JUnit report; return (cases, error or None)."""
    try:
        raw = read_report(xml_path, workspace)
    except FileNotFoundError:
        return [], f"the test command wrote no report at {_shown(xml_path, workspace)}"
    except OSError as exc:
        return [], f"the report {_shown(xml_path, workspace)} cannot be read: {exc.strerror or exc}"
    if not raw.strip():
        return [], f"the report {_shown(xml_path, workspace)} is empty"
    elements, error = _testcase_elements(_clean_xml(raw))
    locate = RepositoryPaths(workspace, sandbox_root)
    cases = [case_from_junit(JUnitCase.fromelem(elem), locate) for elem in elements]
    if error:
        error = f"the report {_shown(xml_path, workspace)} is malformed ({error}); read {len(cases)} test(s)"
    return cases, error


def read_report(xml_path: Path, workspace: Path, limit: int = MAX_REPORT_BYTES) -> bytes:
    """The report's bytes, refusing what the tested code could plant to make the host read
    something else: a symlink (final or in the directories), a FIFO or device. Larger reports
    are cut at `limit`, which the parser then reports as truncated."""
    if xml_path.is_relative_to(workspace) and not xml_path.parent.resolve().is_relative_to(
            workspace.resolve()):
        raise OSError(f"{_shown(xml_path.parent, workspace)} leads out of the workspace")
    fd = os.open(xml_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as report:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError("it is not a regular file")
        return report.read(limit)


def _clean_xml(raw: bytes) -> str:
    """Decode leniently and drop what no XML parser accepts, so junk in output costs nothing."""
    text = raw.decode("utf-8", errors="replace")
    return XML_ILLEGAL.sub("\ufffd", XML_DECLARATION.sub("", text, count=1))


def _testcase_elements(text: str) -> tuple[list[ET.Element], str | None]:
    """Every complete <testcase>, at any depth of <testsuites>/<testsuite> nesting.

    An incremental parser keeps the cases read before a truncation or syntax error.
    """
    parser: ET.XMLPullParser = ET.XMLPullParser(events=("end",))
    found: list[ET.Element] = []
    error: str | None = None
    try:
        parser.feed(text)
        parser.close()
    except ET.ParseError as exc:
        error = str(exc)
    try:
        for event in parser.read_events():  # re-raises a queued ParseError after the good events
            elem = event[-1] if isinstance(event, tuple) else None
            if isinstance(elem, ET.Element) and elem.tag == "testcase":
                found.append(elem)
    except ET.ParseError as exc:
        error = error or str(exc)
    if not found and error is None:
        error = "it holds no <testcase> element"
    return found, error


def case_from_junit(case: JUnitCase, locate: RepositoryPaths) -> TestCase:
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
    return TestCase(
        name=attrs.get("name", ""),
        classname=attrs.get("classname", ""),
        status=status,
        file=file,
        line=line,
        duration=_float(attrs.get("time")),
        message=(result.message or "") if result is not None else "",
        trace=trace,
    )


def _status_of(case: JUnitCase) -> tuple[TestStatus, Failure | Error | Skipped | None]:
    results = case.result
    for kind, status in ((Failure, TestStatus.FAILED), (Error, TestStatus.ERROR),
                         (Skipped, TestStatus.SKIPPED)):
        for result in results:
            if isinstance(result, kind):
                return status, result
    return TestStatus.PASSED, None


class RepositoryPaths:
    """Maps paths seen in a sandbox (or on the host) to repository-relative ones."""

    def __init__(self, workspace: Path, sandbox_root: str = "/workspace"):
        self.workspace = workspace
        self.roots = [r.rstrip("/") + "/" for r in (sandbox_root, str(workspace.resolve()), str(workspace))]

    def relative(self, path: str) -> str | None:
        """The repository-relative path, or None when the path lies outside the repository."""
        for root in self.roots:
            if path.startswith(root):
                path = path[len(root):]
                break
        else:
            if path.startswith("/"):
                return None
        pure = PurePosixPath(path)
        if pure.is_absolute() or ".." in pure.parts or THIRD_PARTY.intersection(pure.parts):
            return None
        return str(pure)

    def deepest_frame(self, trace: str) -> tuple[str, int] | None:
        """The last traceback frame whose file is inside the repository."""
        frames = [(m.start(), m.group("path"), int(m.group("line")))
                  for pattern in (PYTEST_FRAME, NATIVE_FRAME) for m in pattern.finditer(trace)]
        for _, path, line in sorted(frames, reverse=True):
            relative = self.relative(path)
            if relative is not None and self._exists(relative):
                return relative, line
        return None

    def _exists(self, relative: str) -> bool:
        if not self.workspace.is_dir():
            return True  # reading a report without its checkout: trust the path
        return (self.workspace / relative).is_file()


def _shown(path: Path, workspace: Path) -> str:
    try:
        return str(path.relative_to(workspace))
    except ValueError:
        return str(path)


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
