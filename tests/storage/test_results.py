"""What a run produces: test results, numbered log lines and artifacts."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

import storage
from runners import result
from storage import session_scope
from tests.storage.conftest import queue_run, race


def test_test_results_round_trip(factory: sessionmaker[Session], repository_id: int) -> None:
    trace = "Traceback ...\nZeroDivisionError: division by zero"
    cases = [
        result.TestCase(name="test_add", status=result.TestStatus.PASSED, classname="tests.test_math",
                        file="tests/test_math.py", line=3, duration=0.25),
        result.TestCase(name="test_div", status=result.TestStatus.FAILED, classname="tests.test_math", line=9,
                        message="ZeroDivisionError", trace=trace),
    ]
    with session_scope(factory) as session:
        run_id = queue_run(session, repository_id).id
        assert storage.add_test_results(session, run_id, cases) == 2
        assert storage.add_test_results(session, run_id, []) == 0
    with session_scope(factory) as session:
        stored = storage.test_results(session, run_id)
    rows = [(r.name, r.classname, r.file, r.line, r.status, r.duration, r.message, r.trace) for r in stored]
    assert rows == [
        ("test_add", "tests.test_math", "tests/test_math.py", 3, "passed", 0.25, "", ""),
        ("test_div", "tests.test_math", None, 9, "failed", 0.0, "ZeroDivisionError", trace),
    ]
    assert type(stored[0].status) is str


def test_log_seq_counts_from_one_per_run(session: Session, repository_id: int) -> None:
    run = queue_run(session, repository_id)
    other = queue_run(session, repository_id, head_sha="b" * 40)
    assert [storage.append_log(session, run.id, "stdout", f"line {i}") for i in range(1, 4)] == [1, 2, 3]
    assert storage.append_log(session, other.id, "stderr", "elsewhere") == 1
    assert storage.append_logs(session, run.id, [("stderr", "warning"), ("verdict", "done")]) == 5
    assert storage.append_logs(session, run.id, []) == 5
    lines = storage.log_lines(session, run.id)
    assert [(line.seq, line.stream, line.text) for line in lines] == [
        (1, "stdout", "line 1"), (2, "stdout", "line 2"), (3, "stdout", "line 3"), (4, "stderr", "warning"),
        (5, "verdict", "done")]
    assert all(line.at.tzinfo is not None for line in lines)


def test_log_lines_pages_after_a_seq(session: Session, repository_id: int) -> None:
    run = queue_run(session, repository_id)
    storage.append_logs(session, run.id, [("stdout", str(i)) for i in range(1, 11)])
    assert [line.seq for line in storage.log_lines(session, run.id, after_seq=3, limit=4)] == [4, 5, 6, 7]
    assert storage.log_lines(session, run.id, after_seq=10) == []


def test_two_writers_appending_to_one_log_do_not_collide(factory: sessionmaker[Session],
                                                         repository_id: int) -> None:
    with session_scope(factory) as session:
        run_id = queue_run(session, repository_id).id
    seq = race(factory, lambda s: storage.append_log(s, run_id, "stdout", "first"),
               lambda s: storage.append_logs(s, run_id, [("stdout", "second"), ("stdout", "third")]))
    assert seq == 3
    with session_scope(factory) as session:
        assert [line.text for line in storage.log_lines(session, run_id)] == ["first", "second", "third"]


def test_log_lines_need_a_known_stream_and_run(session: Session, repository_id: int) -> None:
    run = queue_run(session, repository_id)
    with pytest.raises(ValueError, match="unknown log stream"):
        storage.append_log(session, run.id, "stdin", "nope")
    with pytest.raises(IntegrityError):
        storage.append_log(session, 404, "stdout", "no such run")


def test_artifacts_round_trip(factory: sessionmaker[Session], repository_id: int) -> None:
    with session_scope(factory) as session:
        run_id = queue_run(session, repository_id).id
        storage.add_artifact(session, run_id, name="junit.xml", size=5 * 2**30, sha256="f" * 64,
                             path="var/artifacts/1/junit.xml")
        storage.add_artifact(session, run_id, name="coverage.xml", size=10, sha256="e" * 64,
                             path="var/artifacts/1/coverage.xml")
    with session_scope(factory) as session:
        stored = storage.artifacts(session, run_id)
    assert [(a.name, a.size, a.sha256, a.path) for a in stored] == [
        ("junit.xml", 5 * 2**30, "f" * 64, "var/artifacts/1/junit.xml"),
        ("coverage.xml", 10, "e" * 64, "var/artifacts/1/coverage.xml")]
