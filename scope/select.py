"""From a ChangeSet to a Selection: the safety rules first, then the import graphs.

Order of the rules (the first that decides wins):

1. the change list cannot be trusted (unknown base, too many files) → everything;
2. nothing changed → only `scope.always`;
3. every changed file matches `scope.skip_if_only_changed` → nothing (the caller reports `skipped`);
4. `scope.mode: all`, or a push to the default branch (`scope.default_branch`, default all) → everything;
5. a changed file matches a full-run glob (manifests, lock files, test runner and CI config,
   the root conftest.py — or `scope.full_run_on` when set) → everything;
6. otherwise each changed file is mapped: `scope.paths` globs, the head graph for files that
   exist, the base graph for deleted or renamed ones. A file nothing maps → everything.
   With impact data recorded on the base commit (`impact`), a module whose change only touches
   function bodies selects just the tests that ran those functions (scope.narrowing).
"""

from __future__ import annotations

from pathlib import Path

from scope import git
from scope.cache import ScopeCache
from scope.changes import ChangeSet
from scope.config import ScopeConfig
from scope.globs import first_match
from scope.graph import build_graph
from scope.impact import ImpactMap
from scope.mapping import Mapper
from scope.narrowing import Narrower
from scope.selection import Selection, full_selection
from scope.snapshot import CommitSnapshot, WorktreeSnapshot


def select_tests(repo: Path, changes: ChangeSet, config: ScopeConfig | None = None, *,
                 is_default_branch_push: bool = False, cache_dir: Path | None = None,
                 impact: ImpactMap | None = None) -> Selection:
    """The tests `changes` can make fail in `repo`, each with its reason chains.

    `impact` is a record of which tests ran which functions in a full run; it narrows the
    selection only when it was recorded on `changes.base_commit`.
    """
    config = config or ScopeConfig()
    root = git.toplevel(repo) or repo
    with ScopeCache(cache_dir) as cache, git.BlobReader(root) as reader:
        head = (CommitSnapshot(root, changes.head_commit, reader) if changes.head_commit
                else WorktreeSnapshot(root, cache))
        graph = build_graph(head, cache)
        full_reason = _full_run_reason(changes, config, is_default_branch_push)
        if full_reason == "":
            return Selection("affected", _skip_reason(config), changes.paths, len(graph.tests), [], "none", True)
        if full_reason:
            return full_selection(graph.tests, changes.paths, full_reason)
        base = None
        if changes.deleted and changes.base_commit:
            base = build_graph(CommitSnapshot(root, changes.base_commit, reader), cache)
        narrower, note = None, ""
        if impact is not None and impact.commit == changes.base_commit:
            base_commit = changes.base_commit
            narrower = Narrower(impact, graph, lambda path: reader.read(f"{base_commit}:{path}"), head.read)
        elif impact is not None:
            note = f"impact data of {impact.commit[:12]} not used: it is not the base commit"
        mapper = Mapper(graph, base, changes, config, narrower)
        if note:
            mapper.notes.append(note)
        return mapper.selection()


def _full_run_reason(changes: ChangeSet, config: ScopeConfig, default_branch_push: bool) -> str | None:
    """Why everything runs; "" for a skip; None when selection should go on to the graphs."""
    if not changes.complete:
        return changes.reason or "the changed files are unknown"
    if changes.paths and config.skip_if_only_changed and all(
            first_match(p, config.skip_if_only_changed) for p in changes.paths):
        return ""
    if config.mode == "all":
        return "scope.mode is all"
    if default_branch_push and config.default_branch == "all":
        return "push to the default branch (scope.default_branch: all)"
    for path in changes.paths:
        for glob, what in config.full_run_on:
            if first_match(path, [glob]):
                return f"{path} changed ({what})"
    return None


def _skip_reason(config: ScopeConfig) -> str:
    globs = ", ".join(config.skip_if_only_changed)
    return f"every changed file matches scope.skip_if_only_changed ({globs}): no tests to run"
