"""A git repository for scope tests, built from a dict of files, with a shortcut to select on it."""

from __future__ import annotations

import shutil
from pathlib import Path

from scope import ScopeConfig, Selection, changed_files, select_tests
from tests.gitrepo import GitRepo


class ScopeRepo:
    """A git repository in tmp_path: write files, commit, and ask scope what a change selects."""

    def __init__(self, path: Path, cache_dir: Path):
        self.path = path
        self.cache_dir = cache_dir
        self._repo = GitRepo(path)

    def git(self, *args: str) -> str:
        return self._repo.git(*args)

    def write(self, files: dict[str, str | bytes]) -> None:
        for rel, content in files.items():
            target = self.path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)

    def delete(self, *rels: str) -> None:
        for rel in rels:
            target = self.path / rel
            shutil.rmtree(target) if target.is_dir() else target.unlink()

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def select(self, base: str = "main", head: str | None = None, config: ScopeConfig | None = None,
               **kwargs: bool) -> Selection:
        return select_tests(self.path, changed_files(self.path, base, head), config, cache_dir=self.cache_dir,
                            **kwargs)


def selected_files(selection: Selection) -> set[str]:
    return {s.file for s in selection.selected}
