"""parse_jest, parse_vitest and parse_mocha over realistic inline reports: statuses, suites,
the failing line (the innermost repository frame), broken and truncated reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runners.errors import RunnerMisconfigured
from runners.jest import parse_jest, parse_vitest
from runners.mocha import parse_mocha
from runners.reports import PARSERS, parse_report, parser_for
from runners.result import TestStatus as Status  # aliased: pytest would try to collect Test*

JEST_STACK = ("Error: expect(received).toBe(expected) // Object.is equality\n\nExpected: 4\nReceived: 3\n"
              "    at Object.toBe (/workspace/test/calc.test.js:11:29)\n"
              "    at Promise.then.completed (/workspace/node_modules/jest-circus/build/utils.js:298:28)\n"
              "    at new Promise (<anonymous>)")
SOURCE_STACK = ("RangeError: mean of nothing\n"
                "    at mean (/workspace/src/calc.js:9:11)\n"
                "    at Object.<anonymous> (/workspace/test/calc.test.js:15:5)\n"
                "    at node:internal/process/task_queues:95:5")
VITEST_STACK = ("AssertionError: expected 3 to be 4 // Object.is equality\n"
                "    at /workspace/test/calc.test.js:12:29\n"
                "    at file:///workspace/node_modules/@vitest/runner/dist/index.js:146:14")
MOCHA_STACK = ("AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:\n\n3 !== 4\n\n"
               "    at Context.<anonymous> (test/calc.test.js:12:12)\n"
               "    at process.processImmediate (node:internal/timers:483:21)")
COLOURED = "\x1b[31mError: boom\x1b[39m\n    at Object.<anonymous> (/workspace/test/calc.test.js:20:7)"


def assertion(title: str, status: str, ancestors: tuple[str, ...] = ("mean",), failures: tuple[str, ...] = (),
              line: int | None = None) -> dict:
    result = {"ancestorTitles": list(ancestors), "title": title, "fullName": " ".join([*ancestors, title]),
              "status": status, "duration": 3, "failureMessages": list(failures)}
    if line is not None:
        result["location"] = {"line": line, "column": 3}
    return result


def jest_report(*assertions: dict, name: str = "/workspace/test/calc.test.js", **file_fields) -> str:
    return json.dumps({"numTotalTests": len(assertions), "success": False, "testResults": [
        {"name": name, "status": "failed", "message": "", "assertionResults": list(assertions), **file_fields}]})


def mocha_test(title: str, suite: str = "mean", stack: str = "", duration: int | None = 1) -> dict:
    test = {"title": title, "fullTitle": f"{suite} {title}".strip(), "file": "/workspace/test/calc.test.js",
            "currentRetry": 0, "err": {"message": stack.split("\n")[0], "stack": stack} if stack else {}}
    if duration is not None:
        test["duration"] = duration
    return test


def cut_before(text: str, marker: str) -> str:
    return text[:text.index(marker)]


def mocha_report(tests: list[dict], pending: list[dict] = (), failures: list[dict] = ()) -> str:
    return json.dumps({"stats": {"tests": len(tests)}, "tests": tests, "pending": list(pending),
                       "failures": list(failures), "passes": [t for t in tests if t not in failures]})


MOCHA_FAIL = mocha_test("averages", stack=MOCHA_STACK)
MOCHA_SKIP = mocha_test("of nothing", duration=None)
MOCHA_HOOK = mocha_test('"before all" hook for "adds"', suite="add", stack=SOURCE_STACK)
T = "test/calc.test.js"

# (id, parser, report text, expected (name, status, file, line), error expected)
CASES = [
    ("jest statuses and locations", parse_jest,
     jest_report(assertion("adds", "passed", ("add",), line=4),
                 assertion("averages", "failed", failures=(JEST_STACK,), line=10),
                 assertion("of nothing", "pending", line=14), assertion("later", "todo", line=16)),
     [("add > adds", Status.PASSED, T, 4), ("mean > averages", Status.FAILED, T, 11),
      ("mean > of nothing", Status.SKIPPED, T, 14), ("mean > later", Status.SKIPPED, T, 16)], False),
    ("jest: thrown in a source file, node internals skipped", parse_jest,
     jest_report(assertion("of nothing", "failed", failures=(SOURCE_STACK,), line=14)),
     [("mean > of nothing", Status.FAILED, "src/calc.js", 9)], False),
    ("jest: nested describes, no location", parse_jest,
     jest_report(assertion("deep", "passed", ("a", "b", "c"))),
     [("a > b > c > deep", Status.PASSED, T, None)], False),
    ("jest: ANSI colours in the failure", parse_jest,
     jest_report(assertion("coloured", "failed", failures=(COLOURED,))),
     [("mean > coloured", Status.FAILED, T, 20)], False),
    ("jest: a test file that cannot run", parse_jest,
     jest_report(message="  ● Test suite failed to run\n\n    SyntaxError: Unexpected token\n"
                         "    at Runtime.createScriptFromCode (/workspace/node_modules/jest-runtime/x.js:1:1)\n"
                         "    at Object.<anonymous> (/workspace/test/calc.test.js:3:1)"),
     [(T, Status.ERROR, T, 3)], False),
    ("jest: no tests", parse_jest, json.dumps({"testResults": []}), [], True),
    ("jest: not a jest report", parse_jest, json.dumps({"stats": {}}), [], True),
    ("jest: truncated, complete assertions kept", parse_jest,
     jest_report(assertion("adds", "passed", ("add",), line=4),
                 assertion("averages", "failed", failures=(JEST_STACK,), line=10))[:-120],
     [("add > adds", Status.PASSED, None, 4)], True),
    ("jest: not JSON", parse_jest, "FAIL test/calc.test.js\n  ● mean", [], True),
    ("jest: empty", parse_jest, "", [], True),
    ("vitest statuses", parse_vitest,
     jest_report(assertion("adds", "passed", ("add",)), assertion("averages", "failed", failures=(VITEST_STACK,)),
                 assertion("of nothing", "skipped")),
     [("add > adds", Status.PASSED, T, None), ("mean > averages", Status.FAILED, T, 12),
      ("mean > of nothing", Status.SKIPPED, T, None)], False),
    ("vitest: a file that failed to load", parse_vitest,
     jest_report(message="Failed to load url ../src/missing.js (resolved id: ../src/missing.js) "
                         "in /workspace/test/calc.test.js. Does the file exist?"),
     [(T, Status.ERROR, T, None)], False),
    ("mocha statuses", parse_mocha,
     mocha_report([mocha_test("adds", "add"), MOCHA_FAIL, MOCHA_SKIP], pending=[MOCHA_SKIP], failures=[MOCHA_FAIL]),
     [("add > adds", Status.PASSED, T, None), ("mean > averages", Status.FAILED, T, 12),
      ("mean > of nothing", Status.SKIPPED, T, None)], False),
    ("mocha: a failing hook is an error", parse_mocha,
     mocha_report([mocha_test("adds", "add")], failures=[MOCHA_HOOK]),
     [("add > adds", Status.PASSED, T, None), ('add > "before all" hook for "adds"', Status.ERROR, "src/calc.js", 9)],
     False),
    ("mocha: top-level test without a suite", parse_mocha,
     mocha_report([mocha_test("alone", "")]), [("alone", Status.PASSED, T, None)], False),
    ("mocha: truncated, statuses from the tests' shape", parse_mocha,
     cut_before(mocha_report([mocha_test("adds", "add"), MOCHA_FAIL, MOCHA_SKIP], pending=[MOCHA_SKIP],
                             failures=[MOCHA_FAIL]), '"pending"'),
     [("add > adds", Status.PASSED, T, None), ("mean > averages", Status.FAILED, T, 12),
      ("mean > of nothing", Status.SKIPPED, T, None)], True),
    ("mocha: spec reporter output instead of JSON", parse_mocha, "  mean\n    1) averages\n", [], True),
    ("mocha: no tests", parse_mocha, mocha_report([]), [], True),
]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    for name in ("src/calc.js", "test/calc.test.js"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("// line\n" * 30)
    return tmp_path


@pytest.mark.parametrize(("parse", "report", "expected", "has_error"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_parse_js_reports(workspace: Path, parse, report: str, expected: list[tuple], has_error: bool) -> None:
    cases, error = parse(report, workspace)

    assert [(c.name, c.status, c.file, c.line) for c in cases] == expected
    assert (error is not None) == has_error, error


def test_jest_fields(workspace: Path) -> None:
    report = jest_report(assertion("averages", "failed", failures=(JEST_STACK,), line=10))

    [case], error = parse_jest(report, workspace)

    assert error is None
    assert case.suite == "mean" and case.test_id == "mean averages" and case.classname == T
    assert case.message == "Error: expect(received).toBe(expected) // Object.is equality\n\nExpected: 4\nReceived: 3"
    assert case.trace == JEST_STACK and case.duration == pytest.approx(0.003)


def test_mocha_fields(workspace: Path) -> None:
    [case], error = parse_mocha(mocha_report([MOCHA_FAIL], failures=[MOCHA_FAIL]), workspace)

    assert error is None
    assert case.suite == "mean" and case.test_id == "mean averages"
    assert case.message.startswith("AssertionError [ERR_ASSERTION]") and "3 !== 4" in case.trace


def test_report_files_are_read_safely(workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("host") / "jest.json"
    outside.write_text(jest_report(assertion("adds", "passed")))
    (workspace / ".verdict").mkdir()
    (workspace / ".verdict" / "jest.json").symlink_to(outside)

    for parse in (parse_jest, parse_vitest, parse_mocha):
        cases, error = parse(workspace / ".verdict" / "jest.json", workspace)
        assert cases == [] and error is not None and "cannot be read" in error
    cases, error = parse_mocha(workspace / ".verdict" / "mocha.json", workspace)
    assert cases == [] and "wrote no report at .verdict/mocha.json" in (error or "")


def test_parsers_by_format(workspace: Path) -> None:
    assert set(PARSERS) == {"junit", "jest", "vitest", "mocha"}
    cases, error = parse_report("jest", jest_report(assertion("adds", "passed")), workspace)
    assert error is None and [c.status for c in cases] == [Status.PASSED]
    with pytest.raises(RunnerMisconfigured, match="choose one of jest, junit, mocha, vitest"):
        parser_for("tap")
