"""What a check run says, and that it always fits GitHub's limits."""

import pytest

from checks.output import (
    MAX_OUTPUT_BYTES,
    annotations_for,
    conclusion_for,
    report_for,
    truncate_utf8,
)
from runners.result import Outcome, RunResult, TestCase, TestStatus


def case(name, status, **kw):
    return TestCase(name=name, status=TestStatus(status), **kw)


@pytest.mark.parametrize("text,limit", [
    ("a" * 70_000, MAX_OUTPUT_BYTES),
    ("é" * 40_000, MAX_OUTPUT_BYTES),  # 2 bytes each: 80,000 bytes
    ("😀" * 20_000, MAX_OUTPUT_BYTES),  # 4 bytes each
    ("€" * 21_845 + "x", MAX_OUTPUT_BYTES),  # exactly 65,536 bytes
])
def test_truncation_counts_bytes_and_never_splits_a_character(text, limit):
    out = truncate_utf8(text, limit)
    raw = out.encode("utf-8")
    assert len(raw) <= limit
    assert "truncated" in out
    assert out.encode("utf-8").decode("utf-8") == out


def test_text_within_the_limit_is_untouched():
    text = "ü" * 32_767  # 65,534 bytes
    assert truncate_utf8(text, MAX_OUTPUT_BYTES) == text


@pytest.mark.parametrize("result,expected", [
    (RunResult(Outcome.EXITED, 0, 1.0, [case("a", "passed")]), "success"),
    (RunResult(Outcome.EXITED, 1, 1.0, [case("a", "passed"), case("b", "failed")]), "failure"),
    (RunResult(Outcome.EXITED, 1, 1.0, [case("b", "error")]), "failure"),
    (RunResult(Outcome.EXITED, 2, 1.0, []), "failure"),  # collection error, nothing parsed
    (RunResult(Outcome.EXITED, 5, 1.0, []), "neutral"),  # pytest: no tests collected
    (RunResult(Outcome.TIMED_OUT, None, 30.0, []), "timed_out"),
    (RunResult(Outcome.OUT_OF_MEMORY, None, 3.0, []), "failure"),
    (RunResult(Outcome.ERROR, None, 0.0, [], error="engine down"), "failure"),
    (RunResult(Outcome.EXITED, 0, 1.0, [case("s", "skipped")]), "success"),
])
def test_conclusion(result, expected):
    assert conclusion_for(result) == expected


def test_one_failure_annotation_per_failing_test_at_its_line():
    failures = [
        case("test_mean", "failed", classname="tests.test_calc", file="tests/test_calc.py", line=10,
             message="assert 3.0 == 4.0", trace="def test_mean():\n>   assert mean(x) == 4.0\nE   assert 3.0 == 4.0"),
        case("test_boom", "error", file="/tests/test_b.py", line=3, message="RuntimeError: boom"),
        case("test_nowhere", "failed", message="no file known"),
    ]
    annotations = annotations_for(failures)
    assert [(a["path"], a["start_line"], a["end_line"]) for a in annotations] == [
        ("tests/test_calc.py", 10, 10), ("tests/test_b.py", 3, 3)]
    assert all(a["annotation_level"] == "failure" for a in annotations)
    assert annotations[0]["title"] == "tests.test_calc.test_mean"
    assert annotations[0]["message"].startswith("assert 3.0 == 4.0")
    assert "assert mean(x) == 4.0" in annotations[0]["message"]


def test_report_summary_has_counts_failures_and_slowest_and_fits():
    tests = [case(f"test_{i}", "passed", duration=i / 100) for i in range(3000)]
    tests += [case(f"test_fail_{i}", "failed", file="t.py", line=i + 1, message="ü" * 500, trace="x" * 5000)
              for i in range(200)]
    report = report_for(RunResult(Outcome.EXITED, 1, 12.5, tests), details_url="http://v/runs/1")
    assert report.conclusion == "failure"
    assert report.title == "200 failed, 3000 passed"
    assert report.totals == {"total": 3200, "passed": 3000, "failed": 200, "skipped": 0, "errors": 0}
    assert len(report.summary.encode()) <= MAX_OUTPUT_BYTES
    assert len(report.text.encode()) <= MAX_OUTPUT_BYTES
    assert "| 3200 | 3000 | 200 | 0 | 0 | 12.50 s |" in report.summary
    assert "Slowest tests" in report.summary and "test_2999" in report.summary
    assert len(report.annotations) == 200
