"""Which tests a run runs: the scope selection for a commit, slash-command requests, and what to append
to the framework's command — the same way for `verdict check` and the worker."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from checks.output import CheckReport
from jobs.repo_config import RepoConfig
from jobs.triggers import ZERO_SHA, Comparison
from jobs.workspace import fetch_for_comparison
from scope import ImpactMap, Selection, changed_files, push_changes, scope_config, select_tests, summary_markdown
from verdict.errors import PermanentError

SKIPPED_TITLE = "Skipped: no test can be affected by this change"
NO_TESTS = {"total": 0, "passed": 0, "failed": 0, "skipped": 0, "errors": 0}


def scoped_arguments(selection: Selection | None, framework: str) -> list[str] | None:
    """Arguments to append to the framework's command ([] = everything), or None when nothing is to run."""
    if selection is None or selection.runs_everything:
        return []
    if selection.skipped:
        return None
    if framework == "pytest":
        chosen = selection.pytest_args()
    elif framework not in ("jest", "vitest", "mocha"):
        return []  # e.g. KTAP in a VM: no per-file selection, the whole command runs
    else:
        files = selection.js_test_files()
        chosen = (["--runTestsByPath", *files] if framework == "jest" else files) if files else []
    return chosen or None  # an affected set without tests of this framework runs nothing


def skipped_report(selection: Selection) -> CheckReport:
    return CheckReport(conclusion="skipped", title=SKIPPED_TITLE,
                       summary=f"### {SKIPPED_TITLE}\n\n{summary_markdown(selection)}", totals=dict(NO_TESTS))


def requested_arguments(request: dict[str, Any] | None, workspace: Path) -> list[str] | None:
    """What a slash command asked for: `/retest` node ids, `/test <path>`, `/test all` ([]);
    None when the run was not narrowed by a command (the scope decides)."""
    if not request:
        return None
    if request.get("only"):
        return [str(node) for node in request["only"]]
    target = request.get("target")
    if not target:
        return None
    if target.lower() == "all":
        return []
    path = target.strip().lstrip("/")
    resolved = (workspace / path).resolve()
    if ".." in Path(path).parts or not resolved.is_relative_to(workspace.resolve()) or not resolved.exists():
        raise PermanentError(f"/test {target}: no such path in the repository at this commit")
    return [path]


def select_for_commit(workspace: Path, comparison: Comparison, config: RepoConfig, *, clone_url: str, token: str,
                      head_sha: str, default_branch: str, cache_dir: Path, note: Callable[[str], None],
                      impact_for: Callable[[str], ImpactMap | None] | None = None) -> Selection | None:
    """The tests a fetched commit's change can affect, compared as its trigger says; None runs everything.

    `impact_for(commit)` gives the impact data recorded on a commit, if any: with the base's, the
    selection narrows to the tests that ran the changed functions (the caller passes None when the
    repository or the service has impact data switched off).
    """
    if comparison.runs_everything:
        note(comparison.reason or "nothing to compare with: running everything")
        return None
    others = [comparison.base] if comparison.base else []
    if not fetch_for_comparison(clone_url, workspace, token, head_sha, others, default_branch):
        note("no merge base found within the fetched history: the selection will run everything")
    if comparison.push:
        changes = push_changes(workspace, comparison.base or ZERO_SHA, head_sha, default_branch)
    else:
        changes = changed_files(workspace, comparison.base or "", head_sha)
    impact = impact_for(changes.base_commit) if impact_for and changes.base_commit else None
    selection = select_tests(workspace, changes, scope_config(config.scope),
                             is_default_branch_push=comparison.default_branch_push, cache_dir=cache_dir,
                             impact=impact)
    note(f"scope: {selection.kind}, {len(selection.selected)} of {selection.total_test_files} test files"
         f" — {selection.reason}")
    return selection
