"""The few git plumbing calls scope needs: resolve refs, diff names, list and read a commit's tree."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

ZERO_SHA = "0" * 40


class GitFailed(Exception):
    """A git command exited non-zero (internal; callers turn it into a reason or a ScopeError)."""


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` and return its stdout; GitFailed on a non-zero exit."""
    cmd = ["git", "-C", str(repo), "-c", "core.quotePath=false", *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, errors="surrogateescape")
    except OSError as exc:
        raise GitFailed(f"git could not start: {exc}") from exc
    if proc.returncode != 0:
        raise GitFailed(proc.stderr.strip() or f"git {' '.join(args)} failed")
    return proc.stdout


def toplevel(path: Path) -> Path | None:
    """The root of the work tree containing `path`, or None when it is not in one."""
    try:
        return Path(git(path, "rev-parse", "--show-toplevel").strip())
    except GitFailed:
        return None


def resolve_commit(repo: Path, ref: str) -> str | None:
    """The full sha `ref` names, or None when it is not a commit here."""
    if not ref or ref.startswith("-") or set(ref) == {"0"}:
        return None
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}").strip() or None
    except GitFailed:
        return None


def merge_base(repo: Path, a: str, b: str) -> str | None:
    try:
        return git(repo, "merge-base", a, b).strip() or None
    except GitFailed:
        return None


def is_ancestor(repo: Path, ancestor: str, descendant: str) -> bool:
    try:
        git(repo, "merge-base", "--is-ancestor", ancestor, descendant)
    except GitFailed:
        return False
    return True


def name_status(repo: Path, *revs: str) -> list[tuple[str, list[str]]]:
    """`git diff --name-status -M` between revs (one rev: against the work tree) as (status, paths)."""
    out = git(repo, "diff", "--name-status", "-z", "-M", "--no-ext-diff", "--no-textconv", *revs, "--")
    fields = out.split("\0")
    entries: list[tuple[str, list[str]]] = []
    i = 0
    while i < len(fields) and fields[i]:
        status = fields[i]
        width = 2 if status[0] in "RC" else 1
        entries.append((status[0], fields[i + 1:i + 1 + width]))
        i += 1 + width
    return entries


def untracked(repo: Path) -> list[str]:
    return [p for p in git(repo, "ls-files", "--others", "--exclude-standard", "-z").split("\0") if p]


def tree_blobs(repo: Path, commit: str) -> Iterator[tuple[str, str]]:
    """(path, blob sha) of every regular file in `commit` (symlinks and submodules are left out)."""
    for line in git(repo, "ls-tree", "-r", "-z", "--full-tree", commit).split("\0"):
        if not line:
            continue
        meta, _, path = line.partition("\t")
        mode, kind, sha = meta.split(" ")
        if kind == "blob" and mode in ("100644", "100755"):
            yield path, sha


def show_file(repo: Path, commit: str, path: str) -> str | None:
    """The text of `path` at `commit`, or None when it is not there."""
    try:
        return git(repo, "show", f"{commit}:{path}")
    except GitFailed:
        return None


class BlobReader:
    """Reads blobs through one `git cat-file --batch` process; use as a context manager."""

    def __init__(self, repo: Path):
        self.repo = repo
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait()
            self.proc = None

    def read(self, sha: str) -> bytes | None:
        if self.proc is None:
            self.proc = subprocess.Popen(["git", "-C", str(self.repo), "cat-file", "--batch"],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(sha.encode() + b"\n")
        self.proc.stdin.flush()
        header = self.proc.stdout.readline().split()
        if len(header) != 3:
            return None
        data = self.proc.stdout.read(int(header[2]))
        self.proc.stdout.read(1)
        return data
