"""Fixtures for storage tests: every test runs on SQLite (a file) and on PostgreSQL.

PostgreSQL tests get their own database `verdict_test_<random>` (created through the `test`
database, dropped afterwards) whose time zone is deliberately not UTC.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, create_engine, make_url
from sqlalchemy.orm import Session, sessionmaker

import storage
from storage import Base, make_engine, migrate, session_factory, session_scope

T = TypeVar("T")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
INSTALLATION_ID = 1001
REPOSITORY_ID = 2002


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for the duration of the block."""
    name = f"verdict_test_{secrets.token_hex(6)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
            # Not UTC on purpose: values must come back as UTC whatever the session time zone is.
            connection.exec_driver_sql(f"ALTER DATABASE \"{name}\" SET timezone TO 'America/New_York'")
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def empty_database(backend: str, directory: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'not-yet' / 'verdict.db'}"  # make_engine creates the directory
    else:
        with postgres_database(request.getfixturevalue("postgres_url")) as url:
            yield url


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def empty_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a database with nothing in it, for this test only."""
    with empty_database(backend, tmp_path, request) as url:
        yield url


@pytest.fixture(scope="module")
def engine(backend: str, tmp_path_factory: pytest.TempPathFactory,
           request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated database shared by the tests of one module (emptied after each test)."""
    with empty_database(backend, tmp_path_factory.mktemp("db"), request) as url:
        engine = make_engine(url)
        migrate(engine)
        yield engine
        engine.dispose()


@pytest.fixture
def factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    yield session_factory(engine)
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def session(factory: sessionmaker[Session]) -> Iterator[Session]:
    session = factory()
    yield session
    session.rollback()
    session.close()


@pytest.fixture
def repository_id(factory: sessionmaker[Session]) -> int:
    """A committed installation with one repository; returns the repository id."""
    with session_scope(factory) as session:
        storage.upsert_installation(session, INSTALLATION_ID, account_login="octo-org",
                                    account_type="Organization")
        storage.upsert_repository(session, REPOSITORY_ID, installation_id=INSTALLATION_ID,
                                  full_name="octo-org/widgets",
                                  clone_url="https://github.com/octo-org/widgets.git")
    return REPOSITORY_ID


def queue_run(session: Session, repository_id: int, head_sha: str = "a" * 40, **changes: Any) -> storage.Run:
    """start_run with sensible values; fails the test if no run was queued."""
    values: dict[str, Any] = dict(
        installation_id=INSTALLATION_ID, repository_id=repository_id, head_sha=head_sha,
        trigger="pull_request.opened", delivery_id="d-1", head_branch="feature", pull_numbers=[7],
    )
    run = storage.start_run(session, **(values | changes))
    assert run is not None
    return run


def in_other_session(factory: sessionmaker[Session], work: Callable[[Session], T]) -> T:
    with session_scope(factory) as session:
        return work(session)


def race(factory: sessionmaker[Session], first: Callable[[Session], Any],
         second: Callable[[Session], T]) -> T:
    """Do `first` in a transaction left open while another thread does `second`, then commit `first`.

    On PostgreSQL `second` runs into `first`'s uncommitted row and must cope when it commits;
    on SQLite `second` waits for the write lock. Returns what `second` returned.
    """
    holder = factory()
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        first(holder)
        holder.flush()
        future = pool.submit(in_other_session, factory, second)
        time.sleep(0.3)  # let `second` reach the conflicting statement and block
        holder.commit()
    finally:
        holder.close()  # rolls back if `first` failed, which unblocks `second`
        pool.shutdown(wait=False)
    return future.result(timeout=60)
