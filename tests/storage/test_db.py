"""Engines, sessions, readiness and the guarantees every function relies on (time zones, savepoints)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

import storage
from storage import make_engine, ping, session_scope
from tests.storage.conftest import INSTALLATION_ID


def test_ping_answers_true_for_a_reachable_database(engine: Engine) -> None:
    assert ping(engine) is True


def test_ping_answers_false_when_the_server_is_unreachable() -> None:
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/nothing?connect_timeout=2")
    try:
        assert ping(engine) is False
    finally:
        engine.dispose()


def test_sqlite_connections_use_wal_a_busy_timeout_and_foreign_keys(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'verdict.db'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert (tmp_path / "nested" / "dir" / "verdict.db").exists()
    finally:
        engine.dispose()


def test_session_scope_commits_on_success(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as session:
        storage.upsert_installation(session, INSTALLATION_ID, account_login="octo", account_type="User")
    with session_scope(factory) as session:
        assert storage.get_installation(session, INSTALLATION_ID) is not None


def test_session_scope_rolls_back_when_the_block_raises(factory: sessionmaker[Session]) -> None:
    with pytest.raises(RuntimeError), session_scope(factory) as session:
        storage.upsert_installation(session, INSTALLATION_ID, account_login="octo", account_type="User")
        raise RuntimeError("boom")
    with session_scope(factory) as session:
        assert storage.get_installation(session, INSTALLATION_ID) is None


def test_work_done_in_a_savepoint_is_undone_with_the_transaction(factory: sessionmaker[Session]) -> None:
    """record_delivery uses a SAVEPOINT; on SQLite that only works because make_engine emits BEGIN itself."""
    with pytest.raises(RuntimeError), session_scope(factory) as session:
        assert storage.record_delivery(session, "d-1", event="ping", action=None, payload="{}")[1]
        raise RuntimeError("boom")
    with session_scope(factory) as session:
        assert storage.get_delivery(session, "d-1") is None


def test_datetimes_come_back_timezone_aware_in_utc(factory: sessionmaker[Session]) -> None:
    before = datetime.now(UTC)
    with session_scope(factory) as session:
        storage.upsert_installation(session, INSTALLATION_ID, account_login="octo", account_type="User")
        storage.set_installation_suspended(session, INSTALLATION_ID, True)
    with session_scope(factory) as session:
        installation = storage.get_installation(session, INSTALLATION_ID)
        assert installation is not None
        for value in (installation.created_at, installation.updated_at, installation.suspended_at):
            assert value is not None
            assert value.tzinfo is UTC
            assert before - timedelta(seconds=1) <= value <= datetime.now(UTC)


def test_a_datetime_in_another_zone_is_stored_as_the_same_instant(factory: sessionmaker[Session]) -> None:
    noon_in_berlin = datetime(2024, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    with session_scope(factory) as session:
        installation = storage.upsert_installation(session, INSTALLATION_ID, account_login="o",
                                                   account_type="User")
        installation.suspended_at = noon_in_berlin
    with session_scope(factory) as session:
        stored = storage.get_installation(session, INSTALLATION_ID)
        assert stored is not None and stored.suspended_at is not None
        assert stored.suspended_at == datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
        assert stored.suspended_at.tzinfo is UTC


def test_the_database_holds_the_instant_in_utc(engine: Engine, factory: sessionmaker[Session],
                                               backend: str) -> None:
    with session_scope(factory) as session:
        installation = storage.upsert_installation(session, INSTALLATION_ID, account_login="o",
                                                   account_type="User")
        installation.suspended_at = datetime(2024, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    with engine.connect() as connection:
        if backend == "postgresql":
            kind = connection.execute(text(
                "SELECT data_type FROM information_schema.columns"
                " WHERE table_name = 'installations' AND column_name = 'suspended_at'")).scalar()
            assert kind == "timestamp with time zone"
            raw = connection.execute(text(
                "SELECT to_char(suspended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM installations"
            )).scalar()
        else:
            raw = connection.execute(text("SELECT substr(suspended_at, 1, 16) FROM installations")).scalar()
    assert raw == "2024-06-01 10:00"


def test_naive_datetimes_are_refused(session: Session) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        storage.deliveries_with_status(session, "received", older_than=datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        storage.stale_runs(session, heartbeat_before=datetime(2024, 1, 1))
