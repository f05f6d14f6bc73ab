"""TAP 13/14 and KTAP parsing, incremental (console lines as they arrive) or all at once.

What is understood
    Version lines (`TAP version 13|14`, `KTAP version 1|2`), plans (`1..N`), results
    (`ok`/`not ok`, an optional number, an optional `- ` before the description), the `# SKIP`,
    `# TODO` and `# XFAIL` directives, YAML diagnostics (`  ---` ... `  ...`) after a result,
    `Bail out!`, and nesting: a document indented deeper than its parent (4 spaces in TAP 14 and
    KTAP) is a suite whose own result line follows it in the parent. `# Subtest: name` (at either
    indentation) or `# name: name` names the suite before its result line does. Several
    top-level documents in one stream (KUnit's at boot, then a test script's) are all read.

What a test becomes
    Leaves become TestCases named `suite.subtest` (classname: the suite path). `ok` is passed,
    `# SKIP` skipped, `not ok` failed, and `not ok # TODO`/`# XFAIL` (an expected failure) is
    skipped with the message "TODO". A suite reports no case of its own unless it has no
    children, or it failed while none of its children did. A failure's message, file and line
    come from its YAML block (`message`, `file`/`line` or `at: {file, line}`), else from the
    diagnostic lines printed before it (KUnit's `EXPECTATION FAILED at lib/foo.c:42`).

Malformed or truncated output never raises: what could be read is returned with an error
string (a plan that does not match, a suite left open, a bail out).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import yaml

from runners.result import TestCase, TestStatus

VERSION = re.compile(r"^(K?TAP) version (\d+)\s*$")
PLAN = re.compile(r"^1\.\.(\d+)\s*(?:#\s*(.*))?$")
RESULT = re.compile(r"^(not ok|ok)\b\s*(\d+)?\s*(?:-\s+|-$)?(.*)$")
BAIL_OUT = re.compile(r"^Bail out!\s*(.*)$")
SUITE_NAME = re.compile(r"^#\s*(?:Subtest|name):\s*(.*?)\s*$")
DIRECTIVE = re.compile(r"^(SKIP|TODO|XFAIL)\S*\s*(.*)$", re.IGNORECASE)
FAILED_AT = re.compile(r"\bat ([\w./+-]+\.\w+):(\d+)")
MAX_DIAGNOSTICS = 200  # lines kept before a result; the rest of a flood is dropped


@dataclass
class _Level:
    """One (sub)document: the tests of a suite at one indentation."""

    indent: int
    name: str = ""  # from `# Subtest:`; the result line that closes the suite may give it instead
    plan: int | None = None
    seen: int = 0
    tests: list[TestCase] = field(default_factory=list)  # names relative to this level
    diagnostics: list[str] = field(default_factory=list)  # lines since the previous result
    pending_name: str = ""  # `# Subtest: x` at this indentation names the next deeper level


@dataclass
class _Yaml:
    indent: int
    test: TestCase
    lines: list[str] = field(default_factory=list)


class TapParser:
    """Feed lines as they arrive; `feed` returns the test cases completed by each line.

    Top-level tests are complete on their result line (or after their YAML block); a suite's
    tests when the suite's own result line arrives. `finish()` flushes what is left and
    returns every test and the error string (None when the output was well formed).
    """

    def __init__(self) -> None:
        self.tests: list[TestCase] = []
        self.errors: list[str] = []
        self._stack: list[_Level] = [_Level(indent=0)]
        self._yaml: _Yaml | None = None
        self._last_result: tuple[int, TestCase] | None = None  # indent and case of the newest result
        self._bailed = False
        self._finished = False

    @property
    def error(self) -> str | None:
        return "; ".join(self.errors) or None

    def feed(self, line: str) -> list[TestCase]:
        """Parse one line (with or without its newline); return the tests it completed."""
        before = len(self.tests)
        self._line(line.rstrip("\r\n").expandtabs(8))
        return self.tests[before:]

    def finish(self) -> tuple[list[TestCase], str | None]:
        """End of output: close what is open, check the plans, return (tests, error)."""
        if not self._finished:
            self._finished = True
            self._end_yaml()
            while len(self._stack) > 1:
                level = self._stack.pop()
                self.errors.append(f"output ended inside suite {level.name or '(unnamed)'}")
                self._close_suite(level, None)
            self._end_document()
        return self.tests, self.error

    def _line(self, line: str) -> None:
        text = line.lstrip(" ")
        indent = len(line) - len(text)
        text = text.rstrip()
        if self._yaml is not None:
            if text == "..." and indent == self._yaml.indent:
                self._end_yaml()
                return
            if indent >= self._yaml.indent or not text:
                self._yaml.lines.append(line[self._yaml.indent:])
                return
            self._end_yaml()  # an unterminated block: this line belongs to the document again
        if not text or (self._bailed and not (indent == 0 and VERSION.match(text))):
            return
        if text == "---" and self._last_result and indent > self._last_result[0]:
            self._yaml = _Yaml(indent=indent, test=self._last_result[1])
            return
        self._structure(indent, text)

    def _structure(self, indent: int, text: str) -> None:
        version, plan = VERSION.match(text), PLAN.match(text)
        result, bail, suite_name = RESULT.match(text), BAIL_OUT.match(text), SUITE_NAME.match(text)
        if not (version or plan or result or bail or suite_name):
            self._note(self._stack[-1], text)  # diagnostics and anything else never open or close a suite
            return
        closed = self._align(indent)
        if closed is not None and not result:
            self.errors.append(f"suite {closed.name or '(unnamed)'} ended without a result line")
            self._close_suite(closed, None)
            closed = None
        level = self._stack[-1]
        self._last_result = None
        if version:
            if len(self._stack) == 1 and (level.seen or level.plan is not None):
                self._end_document()
                self._stack = [_Level(indent=indent)]
            self._bailed = False
        elif plan:
            self._on_plan(level, int(plan.group(1)))
        elif result:
            self._on_result(level, result, closed)
        elif bail:
            self._on_bail(bail.group(1))
        elif suite_name:
            if len(self._stack) > 1 and not (level.name or level.seen or level.tests):
                level.name = suite_name.group(1)  # KTAP: the header inside the suite it names
            else:
                level.pending_name = suite_name.group(1)  # TAP 14: at the parent's indentation

    def _align(self, indent: int) -> _Level | None:
        """Pop levels deeper than the line; push one when the line goes deeper.

        Returns the level closed by coming back out to this indentation (its result line
        should be this one). Levels below it that never got a result line are closed here.
        """
        closed = None
        while len(self._stack) > 1 and self._stack[-1].indent > indent:
            if closed is not None:
                self.errors.append(f"suite {closed.name or '(unnamed)'} ended without a result line")
                self._close_suite(closed, None)
            closed = self._stack.pop()
        parent = self._stack[-1]
        if indent > parent.indent:
            self._stack.append(_Level(indent=indent, name=parent.pending_name))
            parent.pending_name = ""
        return closed

    def _on_plan(self, level: _Level, count: int) -> None:
        if level.plan is not None:
            self.errors.append(f"{self._where(level)}a second plan 1..{count}")
        level.plan = count

    def _on_result(self, level: _Level, match: re.Match[str], closed: _Level | None) -> None:
        level.seen += 1
        description, directive, reason = split_directive(match.group(3))
        name = description or (closed.name if closed else "") or f"test {match.group(2) or level.seen}"
        test = TestCase(name=name, status=status_for(match.group(1) == "ok", directive))
        if directive in ("TODO", "XFAIL") and test.status == TestStatus.SKIPPED:
            test.message = "TODO" if not reason else f"TODO {reason}"
        elif directive == "SKIP":
            test.message = reason
        if test.status == TestStatus.FAILED:
            describe_failure(test, level.diagnostics)
        level.diagnostics = []
        level.pending_name = ""
        if closed is not None:
            closed.name = closed.name or name
            self._close_suite(closed, test)
            return
        self._emit(level, test)
        self._last_result = (level.indent, test)

    def _close_suite(self, suite: _Level, result: TestCase | None) -> None:
        """A suite ended: check its plan, move its tests (prefixed) to its parent."""
        name = suite.name or (result.name if result else "") or "(unnamed)"
        if suite.plan is not None and suite.plan != suite.seen:
            self.errors.append(f"{name}: plan expected {suite.plan} tests, got {suite.seen}")
        parent = self._stack[-1]
        for test in suite.tests:
            test.classname = f"{name}.{test.classname}" if test.classname else name
            test.name = f"{name}.{test.name}"
            self._emit(parent, test)
        if result is None:
            return
        result.name = name
        failed_inside = any(t.status == TestStatus.FAILED for t in suite.tests)
        if not suite.tests or (result.status == TestStatus.FAILED and not failed_inside):
            if result.status == TestStatus.FAILED and suite.tests and not result.message:
                result.message = "the suite failed although none of its tests did"
            self._emit(parent, result)

    def _emit(self, level: _Level, test: TestCase) -> None:
        if level is self._stack[0]:
            self.tests.append(test)
        else:
            level.tests.append(test)

    def _on_bail(self, reason: str) -> None:
        self.errors.append(f"bail out: {reason}" if reason else "bail out")
        while len(self._stack) > 1:
            self._close_suite(self._stack.pop(), None)
        self._stack[0].plan = None  # a bail out explains the missing tests already
        self._bailed = True

    def _end_document(self) -> None:
        top = self._stack[0]
        if top.plan is not None and top.plan != top.seen:
            self.errors.append(f"plan expected {top.plan} tests, got {top.seen}")
        elif top.plan is None and top.seen and not self._bailed:
            self.errors.append(f"no plan after {top.seen} tests (output truncated?)")

    def _end_yaml(self) -> None:
        if self._yaml is not None:
            apply_yaml(self._yaml.test, self._yaml.lines)
            self._yaml = None

    def _note(self, level: _Level, text: str) -> None:
        if len(level.diagnostics) < MAX_DIAGNOSTICS:
            level.diagnostics.append(text[1:].strip() if text.startswith("#") else text)

    def _where(self, level: _Level) -> str:
        return f"{level.name}: " if level.name else ""


def parse_tap(lines: Iterable[str]) -> tuple[list[TestCase], str | None]:
    """All the test cases in TAP/KTAP output, and an error string when it was malformed."""
    parser = TapParser()
    for line in lines:
        parser.feed(line)
    return parser.finish()


def split_directive(text: str) -> tuple[str, str, str]:
    """(description, directive upper-cased or "", reason) from what follows `ok N`."""
    parts = re.split(r"(?<!\\)#", text, maxsplit=1)
    description = parts[0].strip().replace("\\#", "#")
    comment = parts[1].strip() if len(parts) > 1 else ""
    directive = DIRECTIVE.match(comment)
    if directive is None:
        return description, "", ""
    return description, directive.group(1).upper(), directive.group(2).strip()


def status_for(ok: bool, directive: str) -> TestStatus:
    if directive == "SKIP" or (not ok and directive in ("TODO", "XFAIL")):
        return TestStatus.SKIPPED
    return TestStatus.PASSED if ok else TestStatus.FAILED


def describe_failure(test: TestCase, diagnostics: list[str]) -> None:
    """Message, trace, file and line of a failure from the diagnostics printed before it."""
    lines = [line for line in diagnostics if line]
    if not lines:
        return
    test.trace = "\n".join(lines)
    test.message = next((line for line in lines if FAILED_AT.search(line)), lines[0])
    located = FAILED_AT.search(test.message)
    if located:
        test.file, test.line = located.group(1), int(located.group(2))


def apply_yaml(test: TestCase, lines: list[str]) -> None:
    """Message, file, line and duration from a YAML diagnostics block, when it parses."""
    block = "\n".join(lines)
    test.trace = block if not test.trace else f"{test.trace}\n{block}"
    try:
        data = yaml.safe_load(block)
    except yaml.YAMLError:
        return
    if not isinstance(data, dict):
        return
    at = data.get("at")
    at = at if isinstance(at, dict) else {}
    message, file, line = data.get("message"), data.get("file", at.get("file")), data.get("line", at.get("line"))
    if message is not None:
        test.message = str(message).strip()
    if isinstance(file, str):
        test.file = file
    if isinstance(line, int) or (isinstance(line, str) and line.isdigit()):
        test.line = int(line)
    duration = data.get("duration_ms")
    if isinstance(duration, int | float):
        test.duration = duration / 1000
