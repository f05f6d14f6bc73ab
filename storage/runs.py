"""Runs (one per check run) and their life: queued → in_progress → completed, with history.

State changes are conditional UPDATEs, so a duplicate job, a late worker or the reaper can
never move a run backwards or overwrite a completed one: the loser just gets False.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.errors import NotFound, StorageError
from storage.models import CONCLUSIONS, Run, RunStatus, require_aware, utcnow

TOTALS = ("total", "passed", "failed", "skipped", "errors")  # keys of finish_run(totals=...)
_START_TRIES = 5  # a rerun that keeps losing the race for the next attempt number gives up after this


def start_run(
    session: Session,
    *,
    installation_id: int,
    repository_id: int,
    head_sha: str,
    trigger: str,
    delivery_id: str | None,
    head_branch: str | None = None,
    pull_numbers: Iterable[int] = (),
    rerun: bool = False,
    request: Mapping[str, Any] | None = None,
    gate: Mapping[str, Any] | None = None,
) -> Run | None:
    """Queue a run for a commit, or return None when an automatic trigger finds it already tested.

    rerun=True always queues a new attempt (the highest attempt so far + 1). `request` is what a
    slash command asked for (see Run.request), kept for the pipeline. `gate` is what the approval
    gate needs (see Run.gate); a new attempt without one keeps the gate of the attempt before it
    in the same installation, so re-running a fork's commit never skips its approval.
    """
    numbers = [int(n) for n in pull_numbers]
    for _ in range(_START_TRIES):
        latest = session.scalar(
            select(func.max(Run.attempt)).where(Run.repository_id == repository_id, Run.head_sha == head_sha))
        if latest is not None and not rerun:
            return None
        kept_gate = dict(gate) if gate is not None else _earlier_gate(session, installation_id, repository_id,
                                                                      head_sha)
        run = Run(installation_id=installation_id, repository_id=repository_id, head_sha=head_sha,
                  head_branch=head_branch, pull_numbers=numbers, trigger=trigger, delivery_id=delivery_id,
                  attempt=(latest or 0) + 1, status="queued",
                  request=dict(request) if request is not None else None, gate=kept_gate)
        try:
            with session.begin_nested():
                session.add(run)
                session.flush()
                session.add(RunStatus(run_id=run.id, status="queued", note=trigger, at=run.created_at))
            return run
        except IntegrityError:
            if not _commit_has_runs(session, repository_id, head_sha):
                raise  # not a lost race (an unknown repository, say)
    raise StorageError(f"could not queue a run for {head_sha} after {_START_TRIES} tries (contention)")


def _earlier_gate(session: Session, installation_id: int, repository_id: int, head_sha: str) -> dict[str, Any] | None:
    query = (select(Run.gate).where(Run.installation_id == installation_id, Run.repository_id == repository_id,
                                    Run.head_sha == head_sha, Run.gate.is_not(None))
             .order_by(Run.attempt.desc()).limit(1))
    gate = session.scalar(query)
    return dict(gate) if gate else None


def _commit_has_runs(session: Session, repository_id: int, head_sha: str) -> bool:
    return bool(session.scalar(select(exists().where(Run.repository_id == repository_id,
                                                     Run.head_sha == head_sha))))


def queued_run_ids_for_delivery(session: Session, delivery_id: str) -> list[int]:
    """Ids of the still-queued runs a delivery started (to enqueue them again after a queue outage)."""
    query = select(Run.id).where(Run.delivery_id == delivery_id, Run.status == "queued").order_by(Run.id)
    return list(session.scalars(query))


def get_run(session: Session, run_id: int) -> Run | None:
    return session.get(Run, run_id)


def run_request(session: Session, run_id: int) -> dict[str, Any] | None:
    """What a slash command asked the run to do (None for a run started by an event)."""
    run = session.get(Run, run_id)
    if run is None:
        raise NotFound("run", run_id)
    return dict(run.request) if run.request is not None else None


def runs_for_delivery(session: Session, delivery_id: str) -> list[Run]:
    """Every run a delivery started, oldest first (a retried job finds the runs it already started)."""
    return list(session.scalars(select(Run).where(Run.delivery_id == delivery_id).order_by(Run.id)))


def _in_installation(query, installation_id: int | None):
    """Jobs pass the installation a delivery came from, so one installation never sees another's runs."""
    return query if installation_id is None else query.where(Run.installation_id == installation_id)


def active_runs_for_pull(session: Session, repository_id: int, pull_number: int, *,
                         installation_id: int | None = None) -> list[Run]:
    """Queued or in-progress runs of a repository that belong to pull request `pull_number`."""
    query = (select(Run).where(Run.repository_id == repository_id, Run.status.in_(("queued", "in_progress")))
             .order_by(Run.id))
    # pull_numbers is a JSON list: filtered here so the query is the same on SQLite and PostgreSQL.
    return [run for run in session.scalars(_in_installation(query, installation_id))
            if int(pull_number) in (run.pull_numbers or [])]


def latest_completed_run(session: Session, repository_id: int, head_sha: str, *,
                         installation_id: int | None = None) -> Run | None:
    """The newest completed attempt for a commit, or None when none has finished."""
    query = (select(Run).where(Run.repository_id == repository_id, Run.head_sha == head_sha,
                               Run.status == "completed")
             .order_by(Run.attempt.desc(), Run.id.desc()).limit(1))
    return session.scalar(_in_installation(query, installation_id))


def latest_run(session: Session, repository_id: int, head_sha: str, *, installation_id: int) -> Run | None:
    """The newest attempt for a commit in one installation, whatever its status."""
    query = (select(Run).where(Run.installation_id == installation_id, Run.repository_id == repository_id,
                               Run.head_sha == head_sha)
             .order_by(Run.attempt.desc(), Run.id.desc()).limit(1))
    return session.scalar(query)


def run_for_check_run(session: Session, check_run_id: int, *, installation_id: int) -> Run | None:
    """The run a check run of this installation shows (None for another app's check run, or another's)."""
    query = select(Run).where(Run.installation_id == installation_id, Run.check_run_id == check_run_id).limit(1)
    return session.scalar(query)


def pull_numbers_for_sha(session: Session, repository_id: int, head_sha: str, *, installation_id: int) -> list[int]:
    """The pull requests whose head this commit was, as recorded on its runs (check events for forks name none)."""
    query = select(Run.pull_numbers).where(Run.installation_id == installation_id,
                                           Run.repository_id == repository_id, Run.head_sha == head_sha)
    numbers: list[int] = []
    for recorded in session.scalars(query.order_by(Run.id)):
        numbers += [int(n) for n in recorded or [] if int(n) not in numbers]
    return numbers


def runs_for_repository(session: Session, repository_id: int, limit: int = 50) -> list[Run]:
    """The repository's newest runs first."""
    query = select(Run).where(Run.repository_id == repository_id).order_by(Run.id.desc()).limit(limit)
    return list(session.scalars(query))


def latest_runs(session: Session, limit: int = 50) -> list[Run]:
    return list(session.scalars(select(Run).order_by(Run.id.desc()).limit(limit)))


def set_check_run_id(session: Session, run_id: int, check_run_id: int) -> None:
    _update_run(session, run_id, None, check_run_id=check_run_id)


def claim_run(session: Session, run_id: int, *, worker: str, runner: str) -> bool:
    """Move a queued run to in_progress for this worker; False if someone else got there first."""
    now = utcnow()
    claimed = _update_run(session, run_id, Run.status == "queued", status="in_progress", started_at=now,
                          heartbeat_at=now, worker=worker, runner=runner)
    if claimed:
        session.add(RunStatus(run_id=run_id, status="in_progress", note=f"{worker} ({runner})", at=now))
        session.flush()
    return claimed


def heartbeat(session: Session, run_id: int) -> None:
    """Note that the worker running this run is alive (ignored unless the run is in_progress)."""
    _update_run(session, run_id, Run.status == "in_progress", heartbeat_at=utcnow())


def finish_run(
    session: Session,
    run_id: int,
    *,
    conclusion: str,
    title: str,
    summary: str,
    error: str | None = None,
    totals: Mapping[str, int] | None = None,
    test_duration: float | None = None,
    note: str | None = None,
    resources: Any = None,
) -> bool:
    """Complete a queued or in_progress run; False (and nothing changes) if it was already completed.

    `totals` has any of the keys in TOTALS; `resources` is what the runner sampled (an object with
    peak_memory_mb, avg_memory_mb and avg_cpu_percent). The run becomes unreported, whatever was reported before.
    """
    if conclusion not in CONCLUSIONS:
        raise ValueError(f"unknown conclusion {conclusion!r}; expected one of {', '.join(CONCLUSIONS)}")
    now = utcnow()
    values: dict[str, Any] = dict(
        status="completed", conclusion=conclusion, title=title, summary=summary, error=error,
        test_duration=test_duration, completed_at=now, reported_at=None,
    )
    values.update(_totals_columns(totals or {}))
    if resources is not None:
        values.update(peak_memory_mb=resources.peak_memory_mb, avg_memory_mb=resources.avg_memory_mb,
                      avg_cpu_percent=resources.avg_cpu_percent)
    finished = _update_run(session, run_id, Run.status.in_(("queued", "in_progress")), **values)
    if finished:
        session.add(RunStatus(run_id=run_id, status="completed", conclusion=conclusion, note=note, at=now))
        session.flush()
    return finished


def _totals_columns(totals: Mapping[str, int]) -> dict[str, int]:
    if unknown := set(totals) - set(TOTALS):
        raise ValueError(f"unknown totals {sorted(unknown)}; expected keys among {', '.join(TOTALS)}")
    return {f"tests_{key}": int(value) for key, value in totals.items()}


def mark_reported(session: Session, run_id: int) -> None:
    """The run's current state has been sent to GitHub."""
    _update_run(session, run_id, None, reported_at=utcnow())


def unreported_completed_runs(session: Session) -> list[Run]:
    query = select(Run).where(Run.status == "completed", Run.reported_at.is_(None)).order_by(Run.id)
    return list(session.scalars(query))


def stale_runs(session: Session, *, heartbeat_before: datetime) -> list[Run]:
    """In-progress runs whose worker has not sent a heartbeat since `heartbeat_before`."""
    cutoff = require_aware(heartbeat_before, "heartbeat_before")
    query = (select(Run).where(Run.status == "in_progress", Run.heartbeat_at < cutoff)
             .order_by(Run.heartbeat_at, Run.id))
    return list(session.scalars(query))


def waiting_runs(session: Session, *, created_before: datetime) -> list[Run]:
    """Runs still queued that were created before `created_before` (their job may have been lost)."""
    cutoff = require_aware(created_before, "created_before")
    query = select(Run).where(Run.status == "queued", Run.created_at < cutoff).order_by(Run.created_at, Run.id)
    return list(session.scalars(query))


def status_history(session: Session, run_id: int) -> list[RunStatus]:
    query = select(RunStatus).where(RunStatus.run_id == run_id).order_by(RunStatus.at, RunStatus.id)
    return list(session.scalars(query))


def _update_run(session: Session, run_id: int, condition: ColumnElement[bool] | None, **values: Any) -> bool:
    """One atomic UPDATE of a run, only if `condition` holds in the database at that moment.

    Raises NotFound when the run does not exist; refreshes a copy the session already holds.
    """
    statement = update(Run).where(Run.id == run_id)
    if condition is not None:
        statement = statement.where(condition)
    result = session.execute(statement.values(**values).execution_options(synchronize_session=False))
    if session.get(Run, run_id, populate_existing=True) is None:
        raise NotFound("run", run_id)
    return result.rowcount == 1  # type: ignore[attr-defined]
