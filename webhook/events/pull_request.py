"""`pull_request`: test the head commit when a pull request is opened or its head changes.

The run records what its approval gate needs (see storage.models.Run.gate): whether the head is
a fork's, who wrote the pull request and their association with the repository. Whether it may
run is decided by the create_check job, which can ask GitHub; a new head also supersedes the runs
of the older heads there.
"""

from typing import Any

from sqlalchemy.orm import Session

from webhook.events.base import Decision, Event, ignored, test_commit

ACTIONS = ("opened", "synchronize", "reopened", "ready_for_review")


def handle(event: Event, session: Session) -> Decision:
    if event.action not in ACTIONS:
        return ignored(f"pull_request.{event.action} does not start a run")
    pr = event.payload["pull_request"]
    return test_commit(event, session, head_sha=pr["head"]["sha"], head_branch=pr["head"].get("ref"),
                       pull_numbers=[pr["number"]], gate=gate_for(pr))


def gate_for(pr: dict[str, Any]) -> dict[str, Any]:
    """What the approval gate needs from the pull request (a deleted fork has no head repository)."""
    head_repo = pr["head"].get("repo") or {}
    base_repo = pr["base"].get("repo") or {}
    fork = (not head_repo or bool(head_repo.get("fork"))
            or str(head_repo.get("full_name", "")).lower() != str(base_repo.get("full_name", "")).lower())
    return {"fork": fork, "author": (pr.get("user") or {}).get("login", ""),
            "author_association": pr.get("author_association") or "NONE"}
