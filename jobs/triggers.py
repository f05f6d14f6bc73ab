"""What a run's commit is compared with, read from the delivery that asked for it.

- pull_request: the pull request's base commit (the merge base of base and head is used);
- push: `before` (a new branch or a force push falls back to the default branch);
- check_suite / check_run: the base of the first pull request they belong to, else the suite's `before`;
- anything else (a re-run by the reaper, a local run): nothing — the whole suite runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ZERO_SHA = "0" * 40


@dataclass(frozen=True)
class Comparison:
    base: str | None  # a commit sha to compare with, or None
    push: bool = False  # compare as a push (before..after, with the default-branch fallback)
    default_branch_push: bool = False  # pushes to the default branch run everything by default
    reason: str = ""  # why there is nothing to compare with

    @property
    def runs_everything(self) -> bool:
        return self.base is None and not self.push


def comparison_for(event: str, payload: dict[str, Any], default_branch: str) -> Comparison:
    try:
        return _comparison(event, payload, default_branch)
    except (KeyError, TypeError, AttributeError, IndexError):
        return Comparison(None, reason=f"the {event} delivery does not name a base commit: running everything")


def _comparison(event: str, payload: dict[str, Any], default_branch: str) -> Comparison:
    if event == "pull_request":
        return Comparison(payload["pull_request"]["base"]["sha"])
    if event == "push":
        before = payload.get("before") or ZERO_SHA
        on_default = payload.get("ref") == f"refs/heads/{default_branch}"
        return Comparison(None if before == ZERO_SHA else before, push=True, default_branch_push=on_default)
    if event in ("check_suite", "check_run"):
        suite = payload["check_suite"] if event == "check_suite" else payload["check_run"].get("check_suite") or {}
        pulls = (payload.get(event) or {}).get("pull_requests") or suite.get("pull_requests") or []
        if pulls and (pulls[0].get("base") or {}).get("sha"):
            return Comparison(pulls[0]["base"]["sha"])
        before = suite.get("before") or ZERO_SHA
        on_default = suite.get("head_branch") == default_branch
        return Comparison(None if before == ZERO_SHA else before, push=True, default_branch_push=on_default)
    return Comparison(None, reason=f"a {event} run has no commit to compare with: running everything")
