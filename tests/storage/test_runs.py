"""Runs: queued once per commit unless re-run, claimed once, finished once, reaped when silent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

import storage
from storage import session_scope
from tests.storage.conftest import INSTALLATION_ID, queue_run, race

SHA = "a" * 40


def test_start_run_queues_a_run_with_a_history_row(session: Session, repository_id: int) -> None:
    run = queue_run(session, repository_id, pull_numbers=(7, 9))
    assert (run.status, run.attempt, run.head_sha, run.head_branch) == ("queued", 1, SHA, "feature")
    assert (run.installation_id, run.trigger, run.delivery_id) == (INSTALLATION_ID, "pull_request.opened",
                                                                   "d-1")
    assert run.conclusion is None and run.reported_at is None and run.tests_total == 0
    assert [(h.status, h.note) for h in storage.status_history(session, run.id)] == [
        ("queued", "pull_request.opened")]


def test_pull_numbers_round_trip(factory: sessionmaker[Session], repository_id: int) -> None:
    with session_scope(factory) as session:
        run_id = queue_run(session, repository_id, pull_numbers=(7, 9)).id
    with session_scope(factory) as session:
        run = storage.get_run(session, run_id)
        assert run is not None and run.pull_numbers == [7, 9]


def test_an_automatic_trigger_for_a_tested_commit_does_nothing(session: Session, repository_id: int) -> None:
    queue_run(session, repository_id)
    assert storage.start_run(session, installation_id=INSTALLATION_ID, repository_id=repository_id,
                             head_sha=SHA, trigger="push", delivery_id="d-2") is None
    assert queue_run(session, repository_id, head_sha="b" * 40).attempt == 1  # another commit is new


def test_reruns_get_the_next_attempt(session: Session, repository_id: int) -> None:
    first = queue_run(session, repository_id)
    second = queue_run(session, repository_id, rerun=True, trigger="check_run.rerequested")
    third = queue_run(session, repository_id, rerun=True, trigger="issue_comment.created")
    assert [first.attempt, second.attempt, third.attempt] == [1, 2, 3]
    assert queue_run(session, repository_id, head_sha="c" * 40, rerun=True).attempt == 1


def test_a_rerun_racing_another_rerun_takes_the_attempt_after(factory: sessionmaker[Session],
                                                              repository_id: int) -> None:
    with session_scope(factory) as session:
        queue_run(session, repository_id)
    loser = race(factory, lambda s: queue_run(s, repository_id, rerun=True),
                 lambda s: queue_run(s, repository_id, rerun=True))
    assert loser.attempt == 3


def test_an_automatic_trigger_racing_another_does_nothing(factory: sessionmaker[Session],
                                                          repository_id: int) -> None:
    def second(session: Session) -> storage.Run | None:
        return storage.start_run(session, installation_id=INSTALLATION_ID, repository_id=repository_id,
                                 head_sha=SHA, trigger="push", delivery_id="d-2")

    assert race(factory, lambda s: queue_run(s, repository_id), second) is None


def test_a_run_for_an_unknown_repository_is_an_error_not_a_duplicate(session: Session) -> None:
    with pytest.raises(IntegrityError):
        storage.start_run(session, installation_id=1, repository_id=404, head_sha=SHA, trigger="push",
                          delivery_id="d-1")


def test_a_run_is_claimed_once(session: Session, repository_id: int) -> None:
    run = queue_run(session, repository_id)
    assert storage.claim_run(session, run.id, worker="worker-1", runner="docker") is True
    assert storage.claim_run(session, run.id, worker="worker-2", runner="docker") is False
    assert (run.status, run.worker, run.runner) == ("in_progress", "worker-1", "docker")
    assert run.started_at is not None and run.heartbeat_at == run.started_at


def test_a_duplicate_job_racing_for_a_run_gets_false(factory: sessionmaker[Session],
                                                     repository_id: int) -> None:
    with session_scope(factory) as session:
        run_id = queue_run(session, repository_id).id
    claimed = race(factory, lambda s: storage.claim_run(s, run_id, worker="w1", runner="process"),
                   lambda s: storage.claim_run(s, run_id, worker="w2", runner="process"))
    assert claimed is False
    with session_scope(factory) as session:
        assert storage.get_run(session, run_id).worker == "w1"  # type: ignore[union-attr]


def test_claiming_an_unknown_run_raises(session: Session) -> None:
    with pytest.raises(storage.NotFound):
        storage.claim_run(session, 404, worker="w", runner="process")


def test_finish_run_completes_with_totals(session: Session, repository_id: int) -> None:
    run = queue_run(session, repository_id)
    storage.claim_run(session, run.id, worker="w", runner="process")
    assert storage.finish_run(session, run.id, conclusion="failure", title="2 failed", summary="details",
                              totals={"total": 10, "passed": 7, "failed": 2, "skipped": 1},
                              test_duration=3.5, note="exit code 1") is True
    assert (run.status, run.conclusion, run.title) == ("completed", "failure", "2 failed")
    assert (run.summary, run.error) == ("details", None)
    assert (run.tests_total, run.tests_passed, run.tests_failed, run.tests_skipped, run.tests_errors) == (
        10, 7, 2, 1, 0)
    assert run.test_duration == 3.5 and run.completed_at is not None


def test_a_queued_run_can_be_finished_directly(session: Session, repository_id: int) -> None:
    run = queue_run(session, repository_id)
    assert storage.finish_run(session, run.id, conclusion="cancelled", title="Cancelled", summary="") is True


def test_a_completed_run_is_never_overwritten(session: Session, repository_id: int) -> None:
    run = queue_run(session, repository_id)
    storage.finish_run(session, run.id, conclusion="success", title="All passed", summary="ok")
    assert storage.finish_run(session, run.id, conclusion="timed_out", title="Timed out", summary="late",
                              error="reaper") is False
    assert storage.claim_run(session, run.id, worker="w", runner="process") is False
    session.expire_all()  # read what the database holds
    stored = storage.get_run(session, run.id)
    assert stored is not None
    assert (stored.status, stored.conclusion, stored.title, stored.error) == ("completed", "success",
                                                                              "All passed", None)


def test_finish_run_refuses_unknown_conclusions_totals_and_runs(session: Session, repository_id: int) -> None:
    run = queue_run(session, repository_id)
    with pytest.raises(ValueError, match="unknown conclusion"):
        storage.finish_run(session, run.id, conclusion="passed", title="", summary="")
    with pytest.raises(ValueError, match="unknown totals"):
        storage.finish_run(session, run.id, conclusion="success", title="", summary="", totals={"ok": 1})
    with pytest.raises(storage.NotFound):
        storage.finish_run(session, 404, conclusion="success", title="", summary="")


def test_status_history_records_each_transition(session: Session, repository_id: int) -> None:
    run = queue_run(session, repository_id)
    storage.claim_run(session, run.id, worker="w1", runner="docker")
    storage.finish_run(session, run.id, conclusion="success", title="ok", summary="", note="all green")
    history = storage.status_history(session, run.id)
    assert [(h.status, h.conclusion, h.note) for h in history] == [
        ("queued", None, "pull_request.opened"), ("in_progress", None, "w1 (docker)"),
        ("completed", "success", "all green")]
    assert history[0].at <= history[1].at <= history[2].at


def test_check_run_id_and_reporting(session: Session, repository_id: int) -> None:
    run = queue_run(session, repository_id)
    storage.set_check_run_id(session, run.id, 9_876_543_210)
    assert storage.get_run(session, run.id).check_run_id == 9_876_543_210  # type: ignore[union-attr]
    storage.mark_reported(session, run.id)  # the "queued" check run was created
    assert storage.unreported_completed_runs(session) == []
    storage.finish_run(session, run.id, conclusion="success", title="ok", summary="")
    # the completion is a new state: it must be reported even though "queued" was
    assert [r.id for r in storage.unreported_completed_runs(session)] == [run.id]
    storage.mark_reported(session, run.id)
    assert storage.unreported_completed_runs(session) == []
    with pytest.raises(storage.NotFound):
        storage.set_check_run_id(session, 404, 1)
    with pytest.raises(storage.NotFound):
        storage.mark_reported(session, 404)


def test_stale_runs_are_in_progress_runs_without_a_recent_heartbeat(session: Session,
                                                                   repository_id: int) -> None:
    silent = queue_run(session, repository_id, head_sha="1" * 40)
    alive = queue_run(session, repository_id, head_sha="2" * 40)
    queued = queue_run(session, repository_id, head_sha="3" * 40)
    done = queue_run(session, repository_id, head_sha="4" * 40)
    for run in (silent, alive, done):
        storage.claim_run(session, run.id, worker="w", runner="process")
    silent.heartbeat_at = done.heartbeat_at = datetime.now(UTC) - timedelta(minutes=10)
    session.flush()
    storage.finish_run(session, done.id, conclusion="success", title="ok", summary="")
    storage.heartbeat(session, alive.id)

    cutoff = datetime.now(UTC) - timedelta(minutes=2)
    assert [r.id for r in storage.stale_runs(session, heartbeat_before=cutoff)] == [silent.id]
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert [r.id for r in storage.stale_runs(session, heartbeat_before=later)] == [silent.id, alive.id]
    assert queued.id not in [r.id for r in storage.stale_runs(session, heartbeat_before=later)]


def test_heartbeat_moves_forward_only_while_in_progress(session: Session, repository_id: int) -> None:
    run = queue_run(session, repository_id)
    storage.heartbeat(session, run.id)
    assert run.heartbeat_at is None  # still queued
    storage.claim_run(session, run.id, worker="w", runner="process")
    claimed_at = run.heartbeat_at
    assert claimed_at is not None
    storage.heartbeat(session, run.id)
    assert run.heartbeat_at is not None and run.heartbeat_at >= claimed_at
    storage.finish_run(session, run.id, conclusion="success", title="ok", summary="")
    last = run.heartbeat_at
    storage.heartbeat(session, run.id)
    assert run.heartbeat_at == last


def test_listing_runs_newest_first(session: Session, repository_id: int) -> None:
    ids = [queue_run(session, repository_id, head_sha=str(i) * 40).id for i in range(5)]
    assert [r.id for r in storage.runs_for_repository(session, repository_id)] == ids[::-1]
    assert [r.id for r in storage.runs_for_repository(session, repository_id, limit=2)] == ids[:2:-1]
    assert [r.id for r in storage.latest_runs(session, limit=3)] == ids[:1:-1]
    assert storage.runs_for_repository(session, 404) == []
    assert storage.get_run(session, 404) is None


def test_queued_run_ids_for_delivery(session: Session, repository_id: int) -> None:
    first = queue_run(session, repository_id, head_sha="1" * 40, delivery_id="d-push")
    second = queue_run(session, repository_id, head_sha="2" * 40, delivery_id="d-push")
    queue_run(session, repository_id, head_sha="3" * 40, delivery_id="d-other")
    assert storage.queued_run_ids_for_delivery(session, "d-push") == [first.id, second.id]
    storage.claim_run(session, first.id, worker="w", runner="process")
    assert storage.queued_run_ids_for_delivery(session, "d-push") == [second.id]
    assert storage.queued_run_ids_for_delivery(session, "nope") == []


def test_waiting_runs_are_queued_runs_older_than_the_cutoff(session: Session, repository_id: int) -> None:
    old = queue_run(session, repository_id)
    claimed = queue_run(session, repository_id, head_sha="b" * 40)
    storage.claim_run(session, claimed.id, worker="w", runner="process")
    later = datetime.now(UTC) + timedelta(seconds=5)
    assert [r.id for r in storage.waiting_runs(session, created_before=later)] == [old.id]
    assert storage.waiting_runs(session, created_before=datetime.now(UTC) - timedelta(hours=1)) == []
