"""The on-disk cache that makes a new commit cheap: parsed imports keyed by content hash, and stat → hash.

One SQLite file (default `$XDG_CACHE_HOME/verdict/scope/scope.sqlite3`). Parsed imports are keyed
by the file's git blob sha and the parser's version, so any commit, branch or working tree that
holds the same bytes reuses them; the stat table lets a working tree skip re-reading files whose
size and mtime did not move. The cache is an optimisation only: if it cannot be opened or
written, scope works from memory and says nothing.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SCHEMA = """
create table if not exists parsed (key text primary key, data text not null);
create table if not exists stats (path text primary key, size integer, mtime_ns integer, sha text);
"""
CHUNK = 500


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "verdict" / "scope"


class ScopeCache:
    """Parsed-import and stat caches in one SQLite database (in memory when the disk one fails)."""

    def __init__(self, directory: Path | None = None):
        directory = directory or default_cache_dir()
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(directory / "scope.sqlite3", timeout=10)
            self.db.executescript(SCHEMA)
        except (OSError, sqlite3.Error):
            self.db = sqlite3.connect(":memory:")
            self.db.executescript(SCHEMA)

    def __enter__(self) -> ScopeCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.db.commit()
        except sqlite3.Error:
            pass  # a cache that cannot be written is only slower next time
        self.db.close()

    def parsed(self, keys: list[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for i in range(0, len(keys), CHUNK):
            chunk = keys[i:i + CHUNK]
            marks = ",".join("?" * len(chunk))
            try:
                rows = self.db.execute(f"select key, data from parsed where key in ({marks})", chunk).fetchall()
            except sqlite3.Error:
                return found
            found.update((key, json.loads(data)) for key, data in rows)
        return found

    def put_parsed(self, items: Iterable[tuple[str, Any]]) -> None:
        self._write("insert or replace into parsed values (?, ?)", ((k, json.dumps(v)) for k, v in items))

    def stats(self, prefix: str) -> dict[str, tuple[int, int, str]]:
        try:
            rows = self.db.execute("select path, size, mtime_ns, sha from stats where path >= ? and path < ?",
                                   (prefix, prefix + "\uffff")).fetchall()
        except sqlite3.Error:
            return {}
        return {path: (size, mtime, sha) for path, size, mtime, sha in rows}

    def put_stats(self, rows: Iterable[tuple[str, int, int, str]]) -> None:
        self._write("insert or replace into stats values (?, ?, ?, ?)", rows)

    def _write(self, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
        try:
            self.db.executemany(sql, rows)
            self.db.commit()
        except sqlite3.Error:
            self.db.rollback()
