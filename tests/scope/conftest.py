"""Fixtures for scope tests: real git repositories in tmp_path."""

from __future__ import annotations

import pytest

from tests.scope.scoperepo import ScopeRepo


@pytest.fixture
def make_repo(tmp_path):
    """make_repo(files) → a ScopeRepo with `files` committed on main."""
    counter = iter(range(1000))

    def make(files: dict[str, str | bytes]) -> ScopeRepo:
        repo = ScopeRepo(tmp_path / f"repo{next(counter)}", tmp_path / "cache")
        repo.write(files)
        repo.commit("initial")
        return repo

    return make
