"""The files of one version of a repository — the working tree or a commit — with a content hash each.

Only the files scope reads are listed: Python and JavaScript/TypeScript sources, JSON (an import
target), package.json and tsconfig/jsconfig files. The working tree is walked with os.scandir,
skipping vendored and generated folders (.git, node_modules, virtualenvs, __pycache__, dist,
build, hidden folders); symlinked folders are never entered, and a symlinked file is kept only
when it resolves inside the repository. A commit is listed with `git ls-tree` (symlinks left out).
Hashes are git blob shas, so a file's parsed imports are shared by every version that holds it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Protocol

from scope import git
from scope.cache import ScopeCache

PY_EXTS = (".py",)
JS_EXTS = (".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs", ".mts", ".cts")
LISTED_EXTS = PY_EXTS + JS_EXTS + (".json",)
SKIP_DIRS = frozenset({"node_modules", "venv", "__pycache__", "dist", "build", "site-packages", "coverage"})


def blob_sha(data: bytes) -> str:
    """The sha git gives these bytes as a blob."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def is_listed(path: str) -> bool:
    parts = path.split("/")
    if any(p in SKIP_DIRS or p.startswith(".") for p in parts[:-1]):
        return False
    return path.endswith(LISTED_EXTS)


class Snapshot(Protocol):
    files: dict[str, str]  # repo-relative path → blob sha

    def read(self, path: str) -> bytes | None: ...


class WorktreeSnapshot:
    """The working tree as it is on disk."""

    def __init__(self, root: Path, cache: ScopeCache):
        self.root = root
        self.real_root = root.resolve()
        self.files = self._hash_all(cache)

    def read(self, path: str) -> bytes | None:
        try:
            return (self.root / path).read_bytes()
        except OSError:
            return None

    def _hash_all(self, cache: ScopeCache) -> dict[str, str]:
        prefix = str(self.real_root) + os.sep
        known = cache.stats(prefix)
        files: dict[str, str] = {}
        fresh: list[tuple[str, int, int, str]] = []
        for rel, st in self._walk():
            key = prefix + rel
            hit = known.get(key)
            if hit and hit[0] == st.st_size and hit[1] == st.st_mtime_ns:
                files[rel] = hit[2]
                continue
            data = self.read(rel)
            if data is None:
                continue
            files[rel] = blob_sha(data)
            fresh.append((key, st.st_size, st.st_mtime_ns, files[rel]))
        cache.put_stats(fresh)
        return files

    def _walk(self) -> list[tuple[str, os.stat_result]]:
        found: list[tuple[str, os.stat_result]] = []
        stack = [""]
        while stack:
            rel_dir = stack.pop()
            try:
                with os.scandir(self.root / rel_dir if rel_dir else self.root) as entries:
                    for entry in entries:
                        rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                        try:
                            self._visit(entry, rel, stack, found)
                        except OSError:
                            continue  # vanished or unreadable: not part of the snapshot
            except OSError:
                continue
        return found

    def _visit(self, entry: os.DirEntry[str], rel: str, stack: list[str],
               found: list[tuple[str, os.stat_result]]) -> None:
        if entry.is_dir(follow_symlinks=False):
            if entry.name not in SKIP_DIRS and not entry.name.startswith("."):
                stack.append(rel)
            return
        if not entry.name.endswith(LISTED_EXTS):
            return
        if entry.is_symlink():
            target = Path(entry.path).resolve()
            if not target.is_relative_to(self.real_root) or not target.is_file():
                return  # never follow a link out of the repository
        elif not entry.is_file(follow_symlinks=False):
            return
        found.append((rel, entry.stat()))


class CommitSnapshot:
    """The tree of one commit, read through git."""

    def __init__(self, root: Path, commit: str, reader: git.BlobReader):
        self.root = root
        self.commit = commit
        self.reader = reader
        self.files = {path: sha for path, sha in git.tree_blobs(root, commit) if is_listed(path)}

    def read(self, path: str) -> bytes | None:
        sha = self.files.get(path)
        return self.reader.read(sha) if sha else None
