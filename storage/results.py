"""What a run produces: test results, its log (numbered lines, for live tailing) and artifacts."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.errors import StorageError
from storage.models import LOG_STREAMS, Artifact, LogLine, TestResult, utcnow

_APPEND_TRIES = 5  # two writers racing for the same log seq: the loser renumbers and tries again


def add_test_results(session: Session, run_id: int, cases: Iterable[Any]) -> int:
    """Store test cases (objects shaped like runners.result.TestCase); returns how many."""
    rows = [
        dict(run_id=run_id, name=case.name, classname=getattr(case, "classname", "") or "",
             file=getattr(case, "file", None), line=getattr(case, "line", None),
             status=_plain(case.status), duration=float(getattr(case, "duration", 0.0) or 0.0),
             message=getattr(case, "message", "") or "", trace=getattr(case, "trace", "") or "")
        for case in cases
    ]
    if rows:
        session.execute(insert(TestResult), rows)
    return len(rows)


def _plain(status: Any) -> str:
    return str(status.value) if isinstance(status, Enum) else str(status)


def test_results(session: Session, run_id: int) -> list[TestResult]:
    """A run's test results in the order they were added."""
    query = select(TestResult).where(TestResult.run_id == run_id).order_by(TestResult.id)
    return list(session.scalars(query))


# `from storage import test_results` in a test module must not make pytest collect it as a test.
test_results.__test__ = False  # type: ignore[attr-defined]


def append_log(session: Session, run_id: int, stream: str, text: str) -> int:
    """Append one line to a run's log; returns its seq (1, 2, 3, ... per run)."""
    return append_logs(session, run_id, [(stream, text)])


def append_logs(session: Session, run_id: int, lines: Iterable[tuple[str, str]]) -> int:
    """Append (stream, text) lines in order; returns the last seq written (0 for no lines and no log)."""
    batch = list(lines)
    for stream, _ in batch:
        if stream not in LOG_STREAMS:
            raise ValueError(f"unknown log stream {stream!r}; expected one of {', '.join(LOG_STREAMS)}")
    last = _last_seq(session, run_id)
    if not batch:
        return last
    for _ in range(_APPEND_TRIES):
        at = utcnow()
        rows = [dict(run_id=run_id, seq=last + i, stream=stream, text=text, at=at)
                for i, (stream, text) in enumerate(batch, start=1)]
        try:
            with session.begin_nested():
                session.execute(insert(LogLine), rows)
            return last + len(batch)
        except IntegrityError:
            newer = _last_seq(session, run_id)
            if newer == last:
                raise  # not a seq collision (an unknown run, say)
            last = newer
    raise StorageError(f"could not append to the log of run {run_id} after {_APPEND_TRIES} tries")


def _last_seq(session: Session, run_id: int) -> int:
    query = select(func.coalesce(func.max(LogLine.seq), 0)).where(LogLine.run_id == run_id)
    return session.scalar(query) or 0


def log_lines(session: Session, run_id: int, after_seq: int = 0, limit: int = 1000) -> list[LogLine]:
    """Up to `limit` lines with seq > after_seq, in order: poll with the last seq seen to tail a log."""
    query = (select(LogLine).where(LogLine.run_id == run_id, LogLine.seq > after_seq)
             .order_by(LogLine.seq).limit(limit))
    return list(session.scalars(query))


def add_artifact(session: Session, run_id: int, *, name: str, size: int, sha256: str, path: str) -> Artifact:
    artifact = Artifact(run_id=run_id, name=name, size=size, sha256=sha256, path=path)
    session.add(artifact)
    session.flush()
    return artifact


def artifacts(session: Session, run_id: int) -> list[Artifact]:
    return list(session.scalars(select(Artifact).where(Artifact.run_id == run_id).order_by(Artifact.id)))
