"""A git repository for scope tests, built from a dict of files, with a shortcut to select on it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from scope import ScopeConfig, Selection, changed_files, select_tests


class ScopeRepo:
    """A git repository in tmp_path: write files, commit, and ask scope what a change selects."""

    def __init__(self, path: Path, cache_dir: Path):
        self.path = path
        self.cache_dir = cache_dir
        path.mkdir(parents=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        env = {**os.environ, "GIT_AUTHOR_NAME": "Octo", "GIT_AUTHOR_EMAIL": "octo@example.com",
               "GIT_COMMITTER_NAME": "Octo", "GIT_COMMITTER_EMAIL": "octo@example.com"}
        return subprocess.run(["git", "-C", str(self.path), *args], check=True, capture_output=True, text=True,
                              env=env).stdout.strip()

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
