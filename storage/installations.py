"""GitHub App installations and the repositories they grant, as GitHub last described them."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.errors import NotFound
from storage.models import Installation, Repository, utcnow


def upsert_installation(
    session: Session, installation_id: int, *, account_login: str, account_type: str
) -> Installation:
    """Create or refresh an installation; (re)installing clears removed_at."""
    installation = session.get(Installation, installation_id)
    if installation is None:
        try:
            with session.begin_nested():
                installation = Installation(id=installation_id, account_login=account_login,
                                            account_type=account_type)
                session.add(installation)
            return installation
        except IntegrityError:  # created concurrently: update it below
            installation = session.get(Installation, installation_id)
            if installation is None:
                raise
    installation.account_login = account_login
    installation.account_type = account_type
    installation.removed_at = None
    session.flush()
    return installation


def remove_installation(session: Session, installation_id: int) -> Installation | None:
    """Mark an installation, and so every repository it granted, removed (rows are kept)."""
    installation = session.get(Installation, installation_id)
    if installation is None:
        return None
    now = utcnow()
    installation.removed_at = now
    session.execute(
        update(Repository)
        .where(Repository.installation_id == installation_id, Repository.removed_at.is_(None))
        .values(removed_at=now)
    )
    session.flush()
    return installation


def set_installation_suspended(session: Session, installation_id: int, suspended: bool) -> Installation:
    installation = session.get(Installation, installation_id)
    if installation is None:
        raise NotFound("installation", installation_id)
    if suspended and installation.suspended_at is None:
        installation.suspended_at = utcnow()
    elif not suspended:
        installation.suspended_at = None
    session.flush()
    return installation


def get_installation(session: Session, installation_id: int) -> Installation | None:
    return session.get(Installation, installation_id)


def upsert_repository(
    session: Session,
    repository_id: int,
    *,
    installation_id: int,
    full_name: str,
    clone_url: str,
    default_branch: str = "main",
    private: bool = False,
) -> Repository:
    """Create or refresh a repository (renames and transfers included); clears removed_at.

    The installation must have been recorded first (foreign key).
    """
    values = dict(installation_id=installation_id, full_name=full_name, clone_url=clone_url,
                  default_branch=default_branch, private=private)
    repository = session.get(Repository, repository_id)
    if repository is None:
        try:
            with session.begin_nested():
                repository = Repository(id=repository_id, **values)
                session.add(repository)
            return repository
        except IntegrityError:  # created concurrently (or the installation is unknown: re-raised)
            repository = session.get(Repository, repository_id)
            if repository is None:
                raise
    for name, value in values.items():
        setattr(repository, name, value)
    repository.removed_at = None
    session.flush()
    return repository


def remove_repository(session: Session, repository_id: int) -> Repository | None:
    repository = session.get(Repository, repository_id)
    if repository is None:
        return None
    repository.removed_at = utcnow()
    session.flush()
    return repository


def get_repository(session: Session, repository_id: int) -> Repository | None:
    return session.get(Repository, repository_id)
