"""Impact records: one per repository and commit, replaced when recorded again, the newest kept, per installation."""

from __future__ import annotations

import os

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import storage
from storage import ImpactRecord, session_scope
from tests.storage.conftest import INSTALLATION_ID, queue_run


def test_a_record_round_trips_and_a_second_recording_replaces_it(factory: sessionmaker[Session],
                                                                 repository_id: int) -> None:
    blob = os.urandom(300_000)  # compressed JSON is binary: every byte value must survive
    with session_scope(factory) as session:
        run_id = queue_run(session, repository_id).id
        storage.save_impact_record(session, installation_id=INSTALLATION_ID, repository_id=repository_id,
                                   commit_sha="a" * 40, data=blob, tests=12, run_id=run_id)
    with session_scope(factory) as session:
        assert storage.impact_record(session, repository_id, "a" * 40, installation_id=INSTALLATION_ID) == blob
        storage.save_impact_record(session, installation_id=INSTALLATION_ID, repository_id=repository_id,
                                   commit_sha="a" * 40, data=b"again", tests=13)
    with session_scope(factory) as session:
        assert storage.impact_record(session, repository_id, "a" * 40, installation_id=INSTALLATION_ID) == b"again"
        assert session.scalar(select(func.count()).select_from(ImpactRecord)) == 1
        assert storage.impact_record(session, repository_id, "b" * 40, installation_id=INSTALLATION_ID) is None


def test_only_the_newest_records_of_a_repository_are_kept(session: Session, repository_id: int) -> None:
    for i in range(5):
        storage.save_impact_record(session, installation_id=INSTALLATION_ID, repository_id=repository_id,
                                   commit_sha=f"{i:040d}", data=b"x", tests=1, keep=3)
    kept = set(session.scalars(select(ImpactRecord.commit_sha)))
    assert kept == {f"{i:040d}" for i in (2, 3, 4)}


def test_another_installation_never_gets_the_record(session: Session, repository_id: int) -> None:
    storage.save_impact_record(session, installation_id=INSTALLATION_ID, repository_id=repository_id,
                               commit_sha="c" * 40, data=b"mine", tests=1)
    assert storage.impact_record(session, repository_id, "c" * 40, installation_id=INSTALLATION_ID + 1) is None
