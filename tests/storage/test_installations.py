"""Installations and repositories: upserted from webhooks, removed softly."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

import storage
from tests.storage.conftest import race


def install(session: Session, installation_id: int = 1, login: str = "octo-org") -> storage.Installation:
    return storage.upsert_installation(session, installation_id, account_login=login,
                                       account_type="Organization")


def add_repository(session: Session, repository_id: int = 10, installation_id: int = 1,
                   full_name: str = "octo-org/widgets", **changes: Any) -> storage.Repository:
    return storage.upsert_repository(session, repository_id, installation_id=installation_id,
                                     full_name=full_name, clone_url=f"https://github.com/{full_name}.git",
                                     **changes)


def test_upsert_creates_then_updates_an_installation(session: Session) -> None:
    created = install(session)
    assert (created.account_login, created.account_type) == ("octo-org", "Organization")
    assert created.removed_at is None
    install(session, login="octo-renamed")
    installation = storage.get_installation(session, 1)
    assert installation is not None and installation.account_login == "octo-renamed"


def test_removing_an_installation_removes_its_repositories(session: Session) -> None:
    install(session)
    add_repository(session, 10)
    add_repository(session, 11, full_name="octo-org/gadgets")
    removed = storage.remove_installation(session, 1)
    assert removed is not None and removed.removed_at is not None
    assert all(storage.get_repository(session, r).removed_at is not None for r in (10, 11))  # type: ignore[union-attr]


def test_reinstalling_clears_removed_at(session: Session) -> None:
    install(session)
    storage.remove_installation(session, 1)
    assert install(session).removed_at is None


def test_removing_or_getting_an_unknown_installation_gives_none(session: Session) -> None:
    assert storage.remove_installation(session, 404) is None
    assert storage.get_installation(session, 404) is None


def test_suspending_and_unsuspending(session: Session) -> None:
    install(session)
    suspended = storage.set_installation_suspended(session, 1, True)
    first = suspended.suspended_at
    assert first is not None
    assert storage.set_installation_suspended(session, 1, True).suspended_at == first  # keeps the first time
    assert storage.set_installation_suspended(session, 1, False).suspended_at is None
    with pytest.raises(storage.NotFound):
        storage.set_installation_suspended(session, 404, True)


def test_upsert_creates_then_updates_a_repository(session: Session) -> None:
    install(session)
    install(session, 2, login="new-owner")
    repository = add_repository(session, private=True, default_branch="trunk")
    assert (repository.full_name, repository.private, repository.default_branch) == ("octo-org/widgets", True,
                                                                                     "trunk")
    add_repository(session, installation_id=2, full_name="new-owner/widgets")  # renamed and transferred
    stored = storage.get_repository(session, 10)
    assert stored is not None
    assert (stored.installation_id, stored.full_name, stored.clone_url, stored.private,
            stored.default_branch) == (2, "new-owner/widgets", "https://github.com/new-owner/widgets.git",
                                           False, "main")


def test_removing_and_restoring_a_repository(session: Session) -> None:
    install(session)
    add_repository(session)
    removed = storage.remove_repository(session, 10)
    assert removed is not None and removed.removed_at is not None
    assert add_repository(session).removed_at is None
    assert storage.remove_repository(session, 404) is None
    assert storage.get_repository(session, 404) is None


def test_a_repository_needs_a_known_installation(session: Session) -> None:
    with pytest.raises(IntegrityError):
        add_repository(session, installation_id=404)


def test_two_processes_upserting_one_installation_both_succeed(factory: sessionmaker[Session]) -> None:
    installation = race(factory, lambda s: install(s, 7, login="first"),
                        lambda s: install(s, 7, login="second"))
    assert installation.account_login == "second"
