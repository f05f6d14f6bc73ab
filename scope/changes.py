"""Which files a change touches, for each trigger: a pull request, a push, or a local checkout.

Renames count as both paths and deletions count. When the comparison cannot be trusted (the
base is not a commit here, no merge base, more files than GitHub's compare limit) the ChangeSet
is marked incomplete with the reason, and selection runs everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from scope import git
from scope.git import GitFailed

MAX_CHANGED_FILES = 3000  # GitHub's compare API lists at most this many files
# Untracked files in these folders are installs, not changes (a node_modules the .gitignore forgot).
UNTRACKED_NOISE = frozenset({"node_modules", ".venv", "venv", "__pycache__", ".pytest_cache", ".mypy_cache",
                             ".ruff_cache", ".tox", ".nox"})


@dataclass(frozen=True)
class ChangeSet:
    """The files a change touches. `complete` is False when the list cannot be trusted."""

    paths: list[str]
    complete: bool = True
    reason: str | None = None
    deleted: list[str] = field(default_factory=list)  # gone at head: deleted, or the old side of a rename
    renamed: dict[str, str] = field(default_factory=dict)  # old path → new path
    base_commit: str | None = None  # the commit compared against (the merge base)
    head_commit: str | None = None  # None: the working tree


def _incomplete(reason: str, base_commit: str | None = None, head_commit: str | None = None) -> ChangeSet:
    return ChangeSet([], complete=False, reason=reason, base_commit=base_commit, head_commit=head_commit)


def changed_files(repo: Path, base: str, head: str | None = None) -> ChangeSet:
    """Files changed between the merge base of `base` and `head`, and `head`.

    With no `head` the working tree is the head: committed and uncommitted changes and untracked
    files (minus ignored ones, and untracked files inside node_modules, virtualenvs and caches) all
    count. This is the pull request and local checkout case.
    """
    top = git.toplevel(repo)
    if top is None:
        return _incomplete(f"{repo} is not a git repository: running everything")
    base_sha = git.resolve_commit(top, base)
    if base_sha is None:
        return _incomplete(f"base {base!r} is not a commit in {repo}: running everything")
    head_sha = None
    if head is not None:
        head_sha = git.resolve_commit(top, head)
        if head_sha is None:
            return _incomplete(f"head {head!r} is not a commit in {repo}: running everything")
    mb = git.merge_base(top, base_sha, head_sha or "HEAD")
    if mb is None:
        return _incomplete(f"no merge base between {base!r} and {head or 'HEAD'!r}: running everything",
                           head_commit=head_sha)
    return _diff(top, mb, head_sha)


def push_changes(repo: Path, before: str, after: str, default_branch: str) -> ChangeSet:
    """Files a push changed: before..after, or against the default branch for a new branch or force push."""
    top = git.toplevel(repo) or repo
    before_sha = git.resolve_commit(top, before)
    after_sha = git.resolve_commit(top, after)
    if after_sha is None:
        return _incomplete(f"pushed commit {after!r} is not in {repo}: running everything")
    if before_sha is not None and git.is_ancestor(top, before_sha, after_sha):
        return _diff(top, before_sha, after_sha)
    why = "new branch" if before_sha is None else "force push"
    for ref in (default_branch, f"origin/{default_branch}", f"refs/remotes/origin/{default_branch}"):
        if git.resolve_commit(top, ref) is not None:
            changes = changed_files(top, ref, after_sha)
            note = f"{why}: compared with the merge base of {default_branch}"
            reason = f"{note}; {changes.reason}" if changes.reason else note
            return ChangeSet(changes.paths, changes.complete, reason, changes.deleted, changes.renamed,
                             changes.base_commit, changes.head_commit)
    return _incomplete(f"{why} and the default branch {default_branch!r} is not in {repo}: running everything",
                       head_commit=after_sha)


def _diff(top: Path, base_commit: str, head_commit: str | None) -> ChangeSet:
    try:
        entries = git.name_status(top, base_commit, *([head_commit] if head_commit else []))
        extra = [p for p in git.untracked(top) if not UNTRACKED_NOISE.intersection(p.split("/")[:-1])] \
            if head_commit is None else []
    except GitFailed as exc:
        return _incomplete(f"git diff failed ({exc}): running everything", base_commit, head_commit)
    paths: set[str] = set(extra)
    deleted: set[str] = set()
    renamed: dict[str, str] = {}
    for status, names in entries:
        paths.update(names)
        if status == "D":
            deleted.add(names[0])
        elif status == "R" and len(names) == 2:
            deleted.add(names[0])
            renamed[names[0]] = names[1]
    if len(paths) > MAX_CHANGED_FILES:
        return _incomplete(f"{len(paths)} files changed, more than {MAX_CHANGED_FILES:,} (GitHub's compare limit): "
                           "running everything", base_commit, head_commit)
    return ChangeSet(sorted(paths), True, None, sorted(deleted), renamed, base_commit, head_commit)
