"""A git repository on disk for tests: commit a tree or a file, read back shas."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


class GitRepo:
    """A repository on disk with helpers to commit the example project and its fix."""

    def __init__(self, path: Path):
        self.path = path
        path.mkdir(parents=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        env = {**os.environ, "GIT_AUTHOR_NAME": "Octo", "GIT_AUTHOR_EMAIL": "octo@example.com",
               "GIT_COMMITTER_NAME": "Octo", "GIT_COMMITTER_EMAIL": "octo@example.com"}
        return subprocess.run(["git", "-C", str(self.path), *args], check=True, capture_output=True, text=True,
                              env=env).stdout.strip()

    def commit_tree(self, source: Path, message: str) -> str:
        for item in self.path.iterdir():
            if item.name != ".git":
                shutil.rmtree(item) if item.is_dir() else item.unlink()
        shutil.copytree(source, self.path, dirs_exist_ok=True)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")

    def write(self, rel: str, text: str, message: str) -> str:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")
