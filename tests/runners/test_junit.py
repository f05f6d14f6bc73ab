"""parse_junit over reports written inline: statuses, nesting, exact failure lines, broken files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runners.junit import parse_junit
from runners.result import TestStatus as Status  # aliased: pytest would try to collect Test*

CALC = "def add(a, b):\n    return a + b\n\n\ndef div(a, b):\n    return a / b\n"

ASSERTION_TRACE = """def test_add():
&gt;       assert add(1, 2) == 4
E       assert 3 == 4

tests/test_calc.py:5: AssertionError"""

SOURCE_TRACE = """def test_div():
&gt;       div(1, 0)

tests/test_calc.py:8:
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _

a = 1, b = 0

    def div(a, b):
&gt;       return a / b
E       ZeroDivisionError: division by zero

src/calc.py:6: ZeroDivisionError"""

SANDBOX_PATHS_TRACE = """tests/test_calc.py:8: in test_div
    div(1, 0)
/workspace/src/calc.py:6: in div
    return a / b
/usr/lib/python3.11/socket.py:836: in connect
    raise OSError
E   OSError: boom"""

NATIVE_TRACE = """Traceback (most recent call last):
  File "/workspace/tests/test_calc.py", line 8, in test_div
    div(1, 0)
  File "/workspace/src/calc.py", line 6, in div
    return a / b
ZeroDivisionError: division by zero"""

OUTSIDE_ONLY_TRACE = """/usr/lib/python3.11/json/decoder.py:355: in raw_decode
    raise JSONDecodeError("Expecting value", s, err.value) from None
E   json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)"""


def case(name: str, body: str = "", file: str = "tests/test_calc.py", line: int = 3) -> str:
    return (f'<testcase classname="tests.test_calc" name="{name}" file="{file}" line="{line}" time="0.01">'
            f"{body}</testcase>")


def suite(*cases: str) -> str:
    return f'<testsuite name="pytest" tests="{len(cases)}">{"".join(cases)}</testsuite>'


def failure(trace: str, message: str = "assert 3 == 4") -> str:
    return f'<failure message="{message}">{trace}</failure>'


# (id, report text, expected (name, status, file, line) per case, error expected)
CASES = [
    ("statuses with xunit1 0-based lines",
     '<?xml version="1.0" encoding="utf-8"?><testsuites>' + suite(
         case("test_pass", line=0),
         case("test_add", failure(ASSERTION_TRACE), line=3),
         case("test_setup", '<error message="failed on setup">tests/test_calc.py:11: in fx\n'
                            "    raise RuntimeError</error>", line=12),
         case("test_skip", '<skipped type="pytest.skip" message="not today">reason</skipped>', line=14),
     ) + "</testsuites>",
     [("test_pass", Status.PASSED, "tests/test_calc.py", 1),
      ("test_add", Status.FAILED, "tests/test_calc.py", 5),
      ("test_setup", Status.ERROR, "tests/test_calc.py", 11),
      ("test_skip", Status.SKIPPED, "tests/test_calc.py", 15)],
     False),
    ("bare testsuite root", suite(case("test_pass")),
     [("test_pass", Status.PASSED, "tests/test_calc.py", 4)], False),
    ("nested suites",
     "<testsuites><testsuite name='outer'>" + case("test_outer")
     + "<testsuite name='inner'>" + case("test_inner") + suite(case("test_deepest"))
     + "</testsuite></testsuite></testsuites>",
     [("test_outer", Status.PASSED, "tests/test_calc.py", 4),
      ("test_inner", Status.PASSED, "tests/test_calc.py", 4),
      ("test_deepest", Status.PASSED, "tests/test_calc.py", 4)],
     False),
    ("raised in a source module: deepest repository frame wins",
     suite(case("test_div", failure(SOURCE_TRACE, "ZeroDivisionError"), line=6)),
     [("test_div", Status.FAILED, "src/calc.py", 6)], False),
    ("sandbox absolute paths, frames outside the repository skipped",
     suite(case("test_div", failure(SANDBOX_PATHS_TRACE, "OSError"), line=6)),
     [("test_div", Status.FAILED, "src/calc.py", 6)], False),
    ("native traceback", suite(case("test_div", failure(NATIVE_TRACE), line=6)),
     [("test_div", Status.FAILED, "src/calc.py", 6)], False),
    ("no repository frame: testcase file and line",
     suite(case("test_json", failure(OUTSIDE_ONLY_TRACE), line=9)),
     [("test_json", Status.FAILED, "tests/test_calc.py", 10)], False),
    ("frame in a file the repository lacks is ignored",
     suite(case("test_add", failure("lib/gone.py:3: in f\n" + ASSERTION_TRACE), line=3))
     .replace("tests/test_calc.py:5: AssertionError", "nowhere.py:5: AssertionError"),
     [("test_add", Status.FAILED, "tests/test_calc.py", 4)], False),
    ("absolute file attribute", suite(case("test_pass", file="/workspace/tests/test_calc.py", line=2)),
     [("test_pass", Status.PASSED, "tests/test_calc.py", 3)], False),
    ("no file attribute (xunit2)",
     suite('<testcase classname="tests.test_calc" name="test_pass" time="0.1"/>'),
     [("test_pass", Status.PASSED, None, None)], False),
    ("truncated: the complete cases are kept",
     "<testsuites>" + suite(case("test_one"), case("test_two"))[:-40],
     [("test_one", Status.PASSED, "tests/test_calc.py", 4)], True),
    ("not XML at all", "Traceback (most recent call last):\n  pytest crashed", [], True),
    ("empty", "   ", [], True),
    ("XML without test cases", "<testsuites><testsuite name='x'/></testsuites>", [], True),
]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "calc.py").write_text(CALC)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_calc.py").write_text("from calc import add\n" * 20)
    (tmp_path / ".verdict").mkdir()
    return tmp_path


@pytest.mark.parametrize(("report", "expected", "has_error"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_parse_junit(workspace: Path, report: str, expected: list[tuple], has_error: bool) -> None:
    path = workspace / ".verdict" / "junit.xml"
    path.write_text(report)

    cases, error = parse_junit(path, workspace)

    assert [(c.name, c.status, c.file, c.line) for c in cases] == expected
    assert (error is not None) == has_error, error


def test_failure_message_and_trace(workspace: Path) -> None:
    path = workspace / "junit.xml"
    path.write_text(suite(case("test_add", failure(ASSERTION_TRACE))))

    [result], error = parse_junit(path, workspace)

    assert error is None
    assert result.message == "assert 3 == 4"
    assert result.trace.startswith("def test_add():\n>       assert add(1, 2) == 4")
    assert result.classname == "tests.test_calc"
    assert result.duration == pytest.approx(0.01)


def test_host_workspace_paths_map_to_the_repository(workspace: Path) -> None:
    trace = f"{workspace}/src/calc.py:6: in div\n    return a / b\nE   ZeroDivisionError"
    path = workspace / "junit.xml"
    path.write_text(suite(case("test_div", failure(trace))))

    [result], _ = parse_junit(path, workspace)

    assert (result.file, result.line) == ("src/calc.py", 6)


def test_non_utf8_junk_is_tolerated(workspace: Path) -> None:
    path = workspace / "junit.xml"
    report = suite(case("test_add", failure(ASSERTION_TRACE)), case("test_pass")).encode()
    path.write_bytes(report.replace(b"E       assert", b"E  \xff\xfe\x00\x07 assert"))

    cases, error = parse_junit(path, workspace)

    assert error is None
    assert [(c.status, c.line) for c in cases] == [(Status.FAILED, 5), (Status.PASSED, 4)]
    assert "\ufffd" in cases[0].trace


def test_missing_report(workspace: Path) -> None:
    cases, error = parse_junit(workspace / ".verdict" / "junit.xml", workspace)

    assert cases == []
    assert error is not None and "no report" in error and ".verdict/junit.xml" in error


def test_a_planted_symlink_is_not_followed(workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("host") / "secret.xml"
    outside.write_text(suite(case("test_from_the_host")))
    report = workspace / ".verdict" / "junit.xml"
    report.symlink_to(outside)

    cases, error = parse_junit(report, workspace)

    assert cases == [] and error is not None and "cannot be read" in error


def test_a_symlinked_report_directory_is_not_followed(workspace: Path,
                                                      tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("host")
    (outside / "junit.xml").write_text(suite(case("test_from_the_host")))
    (workspace / "reports").symlink_to(outside)

    cases, error = parse_junit(workspace / "reports" / "junit.xml", workspace)

    assert cases == [] and error is not None and "out of the workspace" in error


def test_a_fifo_does_not_block(workspace: Path) -> None:
    report = workspace / ".verdict" / "junit.xml"
    os.mkfifo(report)

    cases, error = parse_junit(report, workspace)

    assert cases == [] and error is not None and "not a regular file" in error


JEST_JUNIT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="jest tests" tests="2" failures="1" errors="0" time="0.41">
  <testsuite name="mean" errors="0" failures="1" skipped="0" timestamp="2024-05-01T10:00:00" time="0.3" tests="2">
    <testcase classname="mean averages three numbers" name="mean averages three numbers" time="0.003">
      <failure>Error: expect(received).toBe(expected) // Object.is equality

Expected: 4
Received: 3
    at Object.toBe (/workspace/test/calc.test.js:11:29)
    at Promise.then.completed (/workspace/node_modules/jest-circus/build/utils.js:298:28)</failure>
    </testcase>
    <testcase classname="mean of one" name="mean of one" time="0.001"/>
  </testsuite>
</testsuites>"""

MOCHA_JUNIT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="Mocha Tests" time="0.0030" tests="2" failures="1">
  <testsuite name="Root Suite" timestamp="2024-05-01T10:00:00" tests="0" file="test/calc.test.js"
             time="0.0000" failures="0">
  </testsuite>
  <testsuite name="mean" timestamp="2024-05-01T10:00:00" tests="2" file="test/calc.test.js" time="0.0030" failures="1">
    <testcase name="mean averages three numbers" time="0.0010" classname="averages three numbers">
      <failure message="Expected values to be strictly equal:&#10;&#10;3 !== 4&#10;"
               type="AssertionError"><![CDATA[AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:

3 !== 4

    at Context.<anonymous> (test/calc.test.js:12:12)
    at process.processImmediate (node:internal/timers:483:21)]]></failure>
    </testcase>
    <testcase name="mean of nothing" time="0.0000" classname="of nothing">
      <skipped/>
    </testcase>
  </testsuite>
</testsuites>"""

SUREFIRE = """<?xml version="1.0" encoding="UTF-8"?>
<testsuite xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" name="com.example.CalcTest" time="0.05" tests="3"
           errors="1" skipped="0" failures="1">
  <properties><property name="java.version" value="17.0.9"/></properties>
  <testcase name="addsTwoNumbers" classname="com.example.CalcTest" time="0.001">
    <system-out><![CDATA[adding 2 and 3
]]></system-out>
  </testcase>
  <testcase name="averages" classname="com.example.CalcTest" time="0.01">
    <failure message="expected: &lt;4&gt; but was: &lt;3&gt;" type="org.opentest4j.AssertionFailedError">
org.opentest4j.AssertionFailedError: expected: &lt;4&gt; but was: &lt;3&gt;
	at org.junit.jupiter.api.AssertionUtils.fail(AssertionUtils.java:151)
	at com.example.CalcTest.averages(CalcTest.java:12)
</failure>
    <system-err><![CDATA[warning: rounding
]]></system-err>
  </testcase>
  <testcase name="divides" classname="com.example.CalcTest" time="0.002">
    <error message="/ by zero" type="java.lang.ArithmeticException">java.lang.ArithmeticException: / by zero
	at com.example.Calc.div(Calc.java:9)
	at com.example.CalcTest.divides(CalcTest.java:20)
</error>
  </testcase>
</testsuite>"""

XFAIL = suite(case("test_known_bug", '<skipped type="pytest.xfail" message="bug 12">reason</skipped>', line=7))


@pytest.fixture
def polyglot(workspace: Path) -> Path:
    for name in ("test/calc.test.js", "src/test/java/com/example/CalcTest.java",
                 "src/main/java/com/example/Calc.java"):
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_text("// line\n" * 30)
    return workspace


# (id, report, expected (name, status, file, line, suite))
SHAPES = [
    ("jest-junit", JEST_JUNIT,
     [("mean averages three numbers", Status.FAILED, "test/calc.test.js", 11, "mean"),
      ("mean of one", Status.PASSED, None, None, "mean")]),
    ("mocha-junit-reporter", MOCHA_JUNIT,
     [("mean averages three numbers", Status.FAILED, "test/calc.test.js", 12, "mean"),
      ("mean of nothing", Status.SKIPPED, None, None, "mean")]),
    ("maven surefire", SUREFIRE,
     [("addsTwoNumbers", Status.PASSED, None, None, "com.example.CalcTest"),
      ("averages", Status.FAILED, "src/test/java/com/example/CalcTest.java", 12, "com.example.CalcTest"),
      ("divides", Status.ERROR, "src/main/java/com/example/Calc.java", 9, "com.example.CalcTest")]),
    ("pytest xfail", XFAIL, [("test_known_bug", Status.XFAIL, "tests/test_calc.py", 8, "pytest")]),
]


@pytest.mark.parametrize(("report", "expected"), [s[1:] for s in SHAPES], ids=[s[0] for s in SHAPES])
def test_junit_shapes(polyglot: Path, report: str, expected: list[tuple]) -> None:
    cases, error = parse_junit(report, polyglot)

    assert error is None
    assert [(c.name, c.status, c.file, c.line, c.suite) for c in cases] == expected


def test_surefire_output_and_ids(polyglot: Path) -> None:
    cases, _ = parse_junit(SUREFIRE, polyglot)

    assert cases[0].stdout == "adding 2 and 3\n" and cases[1].stderr == "warning: rounding\n"
    assert cases[1].test_id == "com.example.CalcTest::averages"
    assert cases[1].message == "expected: <4> but was: <3>"


def test_report_text_is_accepted_in_place_of_a_file(workspace: Path) -> None:
    cases, error = parse_junit(suite(case("test_pass")), workspace)

    assert error is None and [c.name for c in cases] == ["test_pass"]
