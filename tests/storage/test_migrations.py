"""Migrations: from empty, twice, concurrently, down and up again, and in step with the models."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from storage import Base, make_engine, migrate
from storage.db import alembic_config

TABLES = {table.name for table in Base.metadata.sorted_tables}


def head() -> str:
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None
    return revision


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def differences(engine: Engine) -> list:
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)


def test_migrate_creates_every_table_from_empty(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        assert current_revision(engine) is None
        migrate(engine)
        assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
        assert current_revision(engine) == head()
    finally:
        engine.dispose()


def test_migrate_twice_changes_nothing(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        migrate(engine)
        migrate(engine)
        assert current_revision(engine) == head()
        assert differences(engine) == []
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_models(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        migrate(engine)
        assert differences(engine) == []
    finally:
        engine.dispose()


def test_processes_starting_together_migrate_once(empty_url: str) -> None:
    engines = [make_engine(empty_url) for _ in range(4)]  # one engine each, like separate processes
    try:
        with ThreadPoolExecutor(max_workers=len(engines)) as pool:
            list(pool.map(migrate, engines))  # re-raises the first failure
        assert current_revision(engines[0]) == head()
        assert differences(engines[0]) == []
    finally:
        for engine in engines:
            engine.dispose()


def test_downgrade_to_base_then_upgrade_again(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        migrate(engine)
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        migrate(engine)
        assert differences(engine) == []
    finally:
        engine.dispose()
