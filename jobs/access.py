"""Who may do what, and whether an installation's work may go on — shared by the pipeline, commands and buttons.

- `can_write`: write, maintain or admin on the repository (GitHub's answer cached briefly in Redis,
  under "<queue prefix>:commands:permission:<installation>:<repository>:<login>");
- `may_act`: that, or the login is `trusted` in the repository config;
- `installation_stopped`: why an installation's work is dropped (suspended, removed), or None;
- `drop_run`: finish a run of such an installation as cancelled, with the reason in its log,
  without calling GitHub (which refuses its tokens);
- `approval_needed_because`: whether a pull request run's gate (storage.models.Run.gate) makes it
  wait for approval before anything is fetched or run: a fork's head, or an author whose association
  is not OWNER, MEMBER or COLLABORATOR. The pipeline then still lets it run when the author is
  `trusted`, has write access after all, or the head commit was approved in this installation.
"""

from __future__ import annotations

import logging

import storage
from checks import ConversationAPI
from jobs.context import JobContext
from jobs.repo_config import RepoConfig

log = logging.getLogger(__name__)
PERMISSION_TTL = 60
DROPPED_TITLE = "Not run: the app's installation is suspended or removed"


def can_write(ctx: JobContext, api: ConversationAPI, *, installation_id: int, repository_id: int, repo: str,
              login: str) -> bool:
    key = ":".join([ctx.settings.queue_prefix, "commands", "permission", str(installation_id), str(repository_id),
                    login.lower()])
    cached = ctx.redis.get(key)
    if cached is not None:
        return cached == b"write"
    allowed = api.permission(repo, login).can_write
    ctx.redis.set(key, "write" if allowed else "no", ex=PERMISSION_TTL)
    return allowed


def is_trusted(config: RepoConfig, login: str) -> bool:
    return login.lower() in config.trusted


def installation_stopped(ctx: JobContext, installation_id: int) -> str | None:
    """"installation N suspended" / "installation N removed" when its work must be dropped, else None."""
    with storage.session_scope(ctx.sessions) as session:
        installation = storage.get_installation(session, installation_id)
        if installation is None:
            return None  # not recorded yet: GitHub's token answer decides (see pipeline._abandon)
        if installation.removed_at is not None:
            return f"installation {installation_id} removed"
        if installation.suspended_at is not None:
            return f"installation {installation_id} suspended"
    return None


def drop_run(ctx: JobContext, run_id: int, reason: str) -> bool:
    """Finish a queued or running run as cancelled because its installation stopped; False if it had finished."""
    with storage.session_scope(ctx.sessions) as session:
        storage.append_log(session, run_id, "verdict", f"dropped: {reason}")
        finished = storage.finish_run(session, run_id, conclusion="cancelled", title=DROPPED_TITLE,
                                      summary=f"### {DROPPED_TITLE}\n\nVerdict dropped this run: {reason}.",
                                      error=reason, note=reason)
        storage.mark_reported(session, run_id)  # GitHub refuses this installation's tokens: nothing to publish
    log.warning("run %s dropped: %s", run_id, reason)
    return finished


WRITER_ASSOCIATIONS = ("OWNER", "MEMBER", "COLLABORATOR")


def approval_needed_because(gate: dict) -> str | None:
    """Why a pull request's run waits for approval (from a fork, an author without write access), or None."""
    author = gate.get("author") or "someone"
    if gate.get("fork"):
        return f"from a fork (by @{author})"
    association = str(gate.get("author_association") or "NONE").upper()
    if association in WRITER_ASSOCIATIONS:
        return None
    if association in ("FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER"):
        return f"by a first-time contributor (@{author})"
    return f"by @{author}, who has no write access to this repository"
