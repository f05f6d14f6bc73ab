"""What pull request comments store: a run's request, a pull request's runs, `/ok-to-test` approvals."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

import storage
from storage import session_scope
from tests.storage.conftest import INSTALLATION_ID, queue_run, race

SHA = "a" * 40
OTHER = "b" * 40


def approve(session: Session, repository_id: int, head_sha: str = SHA, by: str = "ada", pull: int = 7):
    return storage.approve(session, installation_id=INSTALLATION_ID, repository_id=repository_id, pull_number=pull,
                           head_sha=head_sha, approved_by=by)


def test_a_run_keeps_what_a_command_asked_for(factory: sessionmaker[Session], repository_id: int) -> None:
    asked = {"command": "retest", "by": "ada", "only": ["tests/test_x.py::test_ü[1-2]"], "target": None}
    with session_scope(factory) as session:
        plain = queue_run(session, repository_id).id
        asked_id = queue_run(session, repository_id, rerun=True, request=asked).id
    with session_scope(factory) as session:
        assert storage.run_request(session, plain) is None
        assert storage.run_request(session, asked_id) == asked
        stored = session.execute(text("SELECT count(*) FROM runs WHERE request IS NULL")).scalar()
        assert stored == 1  # no request is SQL NULL, not a JSON null
    with session_scope(factory) as session, pytest.raises(storage.NotFound):
        storage.run_request(session, 999_999)


def test_active_runs_for_pull_are_queued_or_in_progress_runs_naming_it(session: Session,
                                                                       repository_id: int) -> None:
    queued = queue_run(session, repository_id, pull_numbers=[7, 9])
    running = queue_run(session, repository_id, rerun=True, pull_numbers=[7])
    storage.claim_run(session, running.id, worker="w", runner="process")
    done = queue_run(session, repository_id, rerun=True, pull_numbers=[7])
    storage.finish_run(session, done.id, conclusion="success", title="ok", summary="")
    queue_run(session, repository_id, head_sha=OTHER, pull_numbers=[17, 70])
    assert [r.id for r in storage.active_runs_for_pull(session, repository_id, 7)] == [queued.id, running.id]
    assert [r.id for r in storage.active_runs_for_pull(session, repository_id, 9)] == [queued.id]
    assert storage.active_runs_for_pull(session, repository_id, 1) == []


def test_latest_completed_run_is_the_newest_finished_attempt(session: Session, repository_id: int) -> None:
    assert storage.latest_completed_run(session, repository_id, SHA) is None
    first = queue_run(session, repository_id)
    storage.finish_run(session, first.id, conclusion="failure", title="1 failed", summary="")
    second = queue_run(session, repository_id, rerun=True)
    assert storage.latest_completed_run(session, repository_id, SHA).id == first.id  # the second still runs
    storage.finish_run(session, second.id, conclusion="success", title="ok", summary="")
    assert storage.latest_completed_run(session, repository_id, SHA).id == second.id
    assert storage.latest_completed_run(session, repository_id, OTHER) is None


def test_runs_for_delivery(session: Session, repository_id: int) -> None:
    one = queue_run(session, repository_id, delivery_id="c-1")
    two = queue_run(session, repository_id, rerun=True, delivery_id="c-1")
    queue_run(session, repository_id, rerun=True, delivery_id="c-2")
    assert [r.id for r in storage.runs_for_delivery(session, "c-1")] == [one.id, two.id]
    assert storage.runs_for_delivery(session, "nope") == []


def test_an_approval_is_bound_to_the_commit(factory: sessionmaker[Session], repository_id: int) -> None:
    with session_scope(factory) as session:
        approval = approve(session, repository_id)
        assert (approval.head_sha, approval.approved_by, approval.pull_number) == (SHA, "ada", 7)
        assert approval.at.tzinfo is not None
    with session_scope(factory) as session:
        assert storage.is_approved(session, repository_id, SHA)
        assert not storage.is_approved(session, repository_id, OTHER)  # a new push is not approved
        assert not storage.is_approved(session, repository_id + 1, SHA)


def test_approving_the_same_commit_again_keeps_the_first(factory: sessionmaker[Session], repository_id: int) -> None:
    with session_scope(factory) as session:
        first = approve(session, repository_id, by="ada").id
        assert approve(session, repository_id, by="max").id == first
        approve(session, repository_id, head_sha=OTHER, by="max")
    with session_scope(factory) as session:
        assert [(a.head_sha, a.approved_by) for a in storage.approvals_for(session, repository_id, 7)] == [
            (SHA, "ada"), (OTHER, "max")]


def test_concurrent_approvals_of_one_commit_make_one_row(factory: sessionmaker[Session], repository_id: int) -> None:
    winner = race(factory, lambda s: approve(s, repository_id, by="first"),
                  lambda s: approve(s, repository_id, by="second").approved_by)
    assert winner == "first"
    with session_scope(factory) as session:
        assert len(storage.approvals_for(session, repository_id, 7)) == 1


def test_an_approval_needs_a_known_repository(session: Session, repository_id: int) -> None:
    with pytest.raises(IntegrityError):
        approve(session, repository_id + 1)
