"""What an event handler gets and returns.

A handler decides; it never calls GitHub or runs tests. It may record what the event says
(installations, repositories, runs) through storage functions, in the same transaction as
the delivery itself, and returns the runs to enqueue (and, for a comment with slash commands,
that the commands job should act on the delivery).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

import storage


@dataclass
class Event:
    name: str  # X-GitHub-Event
    delivery_id: str
    payload: dict[str, Any]
    app_id: int | None = None

    @property
    def action(self) -> str | None:
        return self.payload.get("action")

    @property
    def installation_id(self) -> int | None:
        inst = self.payload.get("installation") or {}
        return inst.get("id")


@dataclass
class Decision:
    status: str  # "accepted" | "ignored" | "rejected"
    detail: str
    run_ids: list[int] = field(default_factory=list)
    # enqueue the delivery's conversation job (jobs.queues.CONVERSATION_JOBS): a comment's commands
    # (jobs.commands.handle_comment) or a check run button (jobs.actions.handle_requested_action)
    comment_job: bool = False


Handler = Callable[[Event, Session], Decision]


def ignored(detail: str) -> Decision:
    return Decision("ignored", detail)


def record_repository(event: Event, session: Session) -> tuple[int, int] | Decision:
    """Record the installation and repository an event is about; a Decision when it cannot run."""
    installation_id = event.installation_id
    repo = event.payload.get("repository")
    if installation_id is None:
        return ignored("no installation in the payload: is this a repository webhook instead of the app's?")
    if not repo:
        return ignored("no repository in the payload")
    installation = storage.get_installation(session, installation_id)
    if installation is not None and installation.removed_at is not None:
        return Decision("rejected", f"installation {installation_id} was removed")
    if installation is not None and installation.suspended_at is not None:
        return ignored(f"installation {installation_id} is suspended")
    if installation is None:
        # Not seen before (e.g. installed before this database existed). The worker's token
        # request proves to GitHub whether it is real; an unknown one is rejected there.
        account = (event.payload.get("installation") or {}).get("account") or repo.get("owner") or {}
        storage.upsert_installation(session, installation_id, account_login=account.get("login", ""),
                                    account_type=account.get("type", "User"))
    storage.upsert_repository(
        session, repo["id"], installation_id=installation_id, full_name=repo["full_name"],
        clone_url=repo.get("clone_url") or f"https://github.com/{repo['full_name']}.git",
        default_branch=repo.get("default_branch") or "main", private=bool(repo.get("private")))
    return installation_id, repo["id"]


def test_commit(event: Event, session: Session, *, head_sha: str, head_branch: str | None,
                pull_numbers: list[int], rerun: bool = False, gate: dict[str, Any] | None = None) -> Decision:
    """Decide to test one commit: a new run, or nothing when this commit already has one.

    `gate` (pull requests only) is what the create_check job needs to decide whether the run waits
    for approval; deciding it needs GitHub (permissions, the config), so it is not decided here.
    """
    where = record_repository(event, session)
    if isinstance(where, Decision):
        return where
    installation_id, repository_id = where
    run = storage.start_run(
        session, installation_id=installation_id, repository_id=repository_id, head_sha=head_sha,
        trigger=f"{event.name}.{event.action}" if event.action else event.name,
        delivery_id=event.delivery_id, head_branch=head_branch, pull_numbers=pull_numbers, rerun=rerun, gate=gate)
    if run is None:
        return ignored(f"{head_sha[:12]} already has a run; re-run it from the check run")
    return Decision("accepted", f"run {run.id} queued for {head_sha[:12]}", [run.id])
