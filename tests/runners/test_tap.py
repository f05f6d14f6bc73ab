"""The TAP 13/14 and KTAP parser, table-driven over inline samples (KUnit, kselftest, node-style TAP 14)."""

from __future__ import annotations

import textwrap

import pytest

from runners.result import TestStatus as Status  # aliased: pytest would try to collect Test*
from runners.tap import TapParser, parse_tap

P, F, S = Status.PASSED, Status.FAILED, Status.SKIPPED

# What the kernel prints for CONFIG_KUNIT_EXAMPLE_TEST=y (lib/kunit/kunit-example-test.c), one failure added.
KUNIT = """\
KTAP version 1
1..2
    KTAP version 1
    # Subtest: example
    # module: kunit_example_test
    1..4
    # example_simple_test: initializing
    # example_simple_test: EXPECTATION FAILED at lib/kunit/kunit-example-test.c:29
    Expected 1 + 1 == 3, but
        1 + 1 == 2 (0x2)
    not ok 1 example_simple_test
    # example_skip_test: initializing
    # example_skip_test: You should not see a line below.
    ok 2 example_skip_test # SKIP this test should be skipped
        KTAP version 1
        # Subtest: example_params_test
        ok 1 example value 3 # SKIP unsupported param value 3
        ok 2 example value 2
    # example_params_test: pass:1 fail:0 skip:1 total:2
    ok 3 example_params_test
    ok 4 example_mark_skipped_test # SKIP this test should be marked skipped
# example: pass:1 fail:1 skip:2 total:4
# Totals: pass:2 fail:1 skip:3 total:6
not ok 1 example
    KTAP version 1
    # Subtest: list-kunit-test
    1..2
    ok 1 list_test_list_init
    ok 2 list_test_list_add
# list-kunit-test: pass:2 fail:0 skip:0 total:2
ok 2 list-kunit-test
"""

# tools/testing/selftests/kselftest/runner.sh output: each program's own TAP is commented out with "# ".
KSELFTEST = """\
TAP version 13
1..4
# timeout set to 45
# selftests: timers: posix_timers
# TAP version 13
# 1..2
# ok 1 Check itimer virtual... [OK]
# ok 2 Check itimer prof... [OK]
# # Totals: pass:2 fail:0 xfail:0 xpass:0 skip:0 error:0
ok 1 selftests: timers: posix_timers
# selftests: timers: nanosleep
# nanosleep.c:42 clock_nanosleep returned early
not ok 2 selftests: timers: nanosleep # exit=1
# selftests: timers: rtcpie
ok 3 selftests: timers: rtcpie # SKIP /dev/rtc0 missing
# selftests: timers: set-timer-lat
not ok 4 selftests: timers: set-timer-lat # TODO flaky on TCG
"""

# node:test style TAP 14: `# Subtest:` at the children's indentation, plans at the end, YAML blocks.
TAP14 = """\
TAP version 14
# Subtest: math
    # Subtest: adds
    ok 1 - adds
      ---
      duration_ms: 1.5
      ...
    # Subtest: divides
    not ok 2 - divides
      ---
      duration_ms: 2
      failureType: 'testCodeFailure'
      message: 'Expected 2, got Infinity'
      at:
        file: 'test/math.test.js'
        line: 12
      ...
    1..2
not ok 1 - math
# Subtest: strings
ok 2 - strings
1..2
# tests 3
"""

# TAP 14 spec style: `# Subtest:` at the parent's indentation, plan first.
TAP14_SPEC = """\
TAP version 14
1..2
# Subtest: foo.tap
    1..2
    ok 1
    ok 2 - this passed
ok 1 - foo.tap
ok 2 - bar # TODO not yet
"""

CASES = [
    pytest.param(KUNIT, {
        "example.example_simple_test": F,
        "example.example_skip_test": S,
        "example.example_params_test.example value 3": S,
        "example.example_params_test.example value 2": P,
        "example.example_mark_skipped_test": S,
        "list-kunit-test.list_test_list_init": P,
        "list-kunit-test.list_test_list_add": P,
    }, None, id="kunit-ktap"),
    pytest.param(KSELFTEST, {
        "selftests: timers: posix_timers": P,
        "selftests: timers: nanosleep": F,
        "selftests: timers: rtcpie": S,
        "selftests: timers: set-timer-lat": S,
    }, None, id="kselftest-tap13"),
    pytest.param(TAP14, {"math.adds": P, "math.divides": F, "strings": P}, None, id="tap14-node"),
    pytest.param(TAP14_SPEC, {"foo.tap.test 1": P, "foo.tap.this passed": P, "bar": P}, None, id="tap14-spec"),
    pytest.param("TAP version 13\n1..5\nok 1 a\nok 2 b\nnot ok 3 c\n", {"a": P, "b": P, "c": F},
                 "plan expected 5 tests, got 3", id="truncated"),
    pytest.param("TAP version 13\nok 1 a\nok 2 b\n", {"a": P, "b": P}, "no plan after 2 tests (output truncated?)",
                 id="no-plan"),
    pytest.param("ok 1\nnot ok 2\n1..2\n", {"test 1": P, "test 2": F}, None, id="no-version-no-descriptions"),
    pytest.param("1..0 # SKIP no kvm\n", {}, None, id="skip-all"),
    pytest.param("TAP version 13\n1..3\nok 1 a\nBail out! database is down\nok 2 b\n", {"a": P},
                 "bail out: database is down", id="bail-out"),
    pytest.param("KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: s\n    1..3\n    ok 1 x\n", {"s.x": P},
                 "output ended inside suite s; s: plan expected 3 tests, got 1; plan expected 1 tests, got 0",
                 id="ktap-truncated-in-suite"),
    pytest.param("KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: s\n    1..1\n    ok 1 x\nnot ok 1 s\n",
                 {"s.x": P, "s": F}, None, id="suite-fails-alone"),
    pytest.param("KTAP version 1\n1..1\n    1..0\nok 1 empty # SKIP nothing here\n", {"empty": S}, None,
                 id="empty-suite-is-a-leaf"),
    pytest.param("\x00garbage\nokay\nnot ok - \nok 99999999999999999999 x #\n    ---\n  [\n", {"test 1": F, "x": P},
                 "no plan after 2 tests (output truncated?)", id="garbage"),
    pytest.param(KTAP_TWO_DOCS := "KTAP version 1\n1..1\nok 1 boot_test\n[noise] random kernel line\n"
                 "KTAP version 1\n1..2\nok 1 script_a\nnot ok 2 script_b\n",
                 {"boot_test": P, "script_a": P, "script_b": F}, None, id="two-documents"),
]


@pytest.mark.parametrize(("text", "expected", "error"), CASES)
def test_statuses_and_errors(text: str, expected: dict[str, Status], error: str | None) -> None:
    tests, got_error = parse_tap(text.splitlines())

    assert {t.name: t.status for t in tests} == expected
    assert len(tests) == len(expected), "duplicate names"
    assert got_error == error


def by_name(text: str) -> dict:
    return {t.name: t for t in parse_tap(text.splitlines())[0]}


def test_kunit_failure_location_and_trace() -> None:
    failing = by_name(KUNIT)["example.example_simple_test"]

    assert failing.classname == "example"
    assert (failing.file, failing.line) == ("lib/kunit/kunit-example-test.c", 29)
    assert failing.message == "example_simple_test: EXPECTATION FAILED at lib/kunit/kunit-example-test.c:29"
    assert "Expected 1 + 1 == 3, but" in failing.trace
    assert "initializing" in failing.trace


def test_nested_classname_and_skip_reason() -> None:
    param = by_name(KUNIT)["example.example_params_test.example value 3"]

    assert param.classname == "example.example_params_test"
    assert param.message == "unsupported param value 3"


def test_yaml_block_gives_message_file_line_duration() -> None:
    tests = by_name(TAP14)

    divides = tests["math.divides"]
    assert divides.message == "Expected 2, got Infinity"
    assert (divides.file, divides.line) == ("test/math.test.js", 12)
    assert divides.duration == pytest.approx(0.002)
    assert tests["math.adds"].duration == pytest.approx(0.0015)


def test_kselftest_todo_and_diagnostics() -> None:
    tests = by_name(KSELFTEST)

    assert tests["selftests: timers: set-timer-lat"].message == "TODO flaky on TCG"
    nanosleep = tests["selftests: timers: nanosleep"]
    assert (nanosleep.file, nanosleep.line) == (None, None)
    assert "clock_nanosleep returned early" in nanosleep.trace


def test_todo_without_reason_is_skipped_with_message_todo() -> None:
    assert by_name("1..1\nnot ok 1 later # TODO\n")["later"].message == "TODO"


def test_yaml_on_top_level_failure() -> None:
    text = textwrap.dedent("""\
        TAP version 13
        1..1
        not ok 1 - reads config
          ---
          message: "file not found"
          severity: fail
          file: src/config.sh
          line: 7
          ...
        """)
    failing = by_name(text)["reads config"]

    assert (failing.message, failing.file, failing.line) == ("file not found", "src/config.sh", 7)


def test_malformed_yaml_is_kept_as_trace() -> None:
    failing = by_name("1..1\nnot ok 1 x\n  ---\n  message: [unclosed\n  ...\n")["x"]

    assert failing.status == Status.FAILED
    assert "[unclosed" in failing.trace


def test_incremental_feed_reports_tests_as_they_complete() -> None:
    parser = TapParser()
    completed = [[t.name for t in parser.feed(line + "\r\n")] for line in KUNIT.splitlines()]

    assert completed[KUNIT.splitlines().index("not ok 1 example")] == [
        "example.example_simple_test", "example.example_skip_test", "example.example_params_test.example value 3",
        "example.example_params_test.example value 2", "example.example_mark_skipped_test"]
    tests, error = parser.finish()
    assert len(tests) == 7 and error is None
    assert parser.finish() == (tests, error)  # idempotent


def test_top_level_result_completes_after_its_yaml_block() -> None:
    parser = TapParser()
    assert [t.name for t in parser.feed("ok 1 first")] == ["first"]
    parser.feed("  ---")
    parser.feed("  duration_ms: 5")
    parser.feed("  ...")
    assert parser.tests[0].duration == pytest.approx(0.005)


@pytest.mark.parametrize("cut", range(0, len(KUNIT), 37))
def test_any_truncation_never_raises(cut: int) -> None:
    tests, error = parse_tap(KUNIT[:cut].splitlines())

    assert all(t.name for t in tests)
    assert error is None or isinstance(error, str)
