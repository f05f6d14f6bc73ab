"""Artifacts: files a run's tests write to `artifacts/` in the workspace, kept after the workspace is gone.

The tests are untrusted, so collection trusts nothing they left behind: symlinks are never
followed (a link to /etc/passwd stays a skipped entry, not a copy of the host file), only
regular files are read (opened with O_NOFOLLOW), names are reduced to safe path segments
(no `..`, no absolute paths, no control characters), and count and size are capped.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

ARTIFACTS_DIR = "artifacts"
MAX_FILES = 100
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_TOTAL_BYTES = 200 * 1024 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


@dataclass(frozen=True)
class CollectedArtifact:
    name: str  # sanitised, relative to the artifacts folder, forward slashes
    size: int
    sha256: str
    path: Path  # where the copy is kept


@dataclass
class Collection:
    artifacts: list[CollectedArtifact] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "name: reason", for the run log


def safe_name(relative: str) -> str | None:
    """A safe relative name for an artifact path, or None when nothing safe is left."""
    parts = []
    for part in PurePosixPath(relative.replace("\\", "/")).parts:
        if part in ("", ".", "..", "/"):
            continue
        cleaned = _UNSAFE.sub("_", part).lstrip(".") or "_"
        parts.append(cleaned[:100])
    name = "/".join(parts)
    return name[:255] or None


def collect_artifacts(workspace: Path, dest: Path) -> Collection:
    """Copy regular files under <workspace>/artifacts into `dest`, within the caps."""
    collection = Collection()
    root = workspace / ARTIFACTS_DIR
    if root.is_symlink():
        collection.skipped.append(f"{ARTIFACTS_DIR}: a symlink, not collected")
        return collection
    if not root.is_dir():
        return collection
    total = 0
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for filename in sorted(filenames):
            source = Path(directory) / filename
            relative = source.relative_to(root).as_posix()
            reason = _refusal(source, len(collection.artifacts), total)
            name = safe_name(relative)
            if reason or name is None:
                collection.skipped.append(f"{relative}: {reason or 'no usable name'}")
                continue
            copied = _copy(source, dest / name, min(MAX_FILE_BYTES, MAX_TOTAL_BYTES - total))
            if copied is None:
                collection.skipped.append(f"{relative}: larger than the size cap, not collected")
                continue
            size, digest = copied
            total += size
            collection.artifacts.append(CollectedArtifact(name, size, digest, dest / name))
    return collection


def _refusal(source: Path, count: int, total: int) -> str | None:
    info = os.lstat(source)
    if stat.S_ISLNK(info.st_mode):
        return "a symlink, not collected"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if count >= MAX_FILES:
        return f"over the limit of {MAX_FILES} files"
    if info.st_size > MAX_FILE_BYTES or total + info.st_size > MAX_TOTAL_BYTES:
        return "larger than the size cap, not collected"
    return None


def _copy(source: Path, target: Path, limit: int) -> tuple[int, str] | None:
    """Copy at most `limit` bytes; None (and no file) if the source turns out larger."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as src, open(target, "wb") as out:
        while chunk := src.read(1024 * 1024):
            size += len(chunk)
            if size > limit:
                break
            digest.update(chunk)
            out.write(chunk)
    if size > limit:
        target.unlink()
        return None
    return size, digest.hexdigest()
