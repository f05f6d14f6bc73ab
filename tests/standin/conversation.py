"""Pull request conversations on the stand-in: pull requests, comments, reactions, collaborator roles.

State the tests set up (`add_pull_request`, `add_comment`, `set_permission`) and read back
(`comments`, `reactions`), and the documents GitHub answers with, built from the OpenAPI examples.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .documents import _hosts, account_doc, iso, node_id, rebase
from .model import Installation, Repository
from .openapi import OpenAPISpec

MAX_COMMENT_CHARS = 65_536
REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")
# role_name -> the legacy `permission` GitHub derives from it
ROLE_PERMISSION = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read",
                   "none": "none"}


@dataclass
class PullRequestRecord:
    full_name: str
    number: int
    head_sha: str
    head_ref: str
    base_ref: str = "main"
    author: str = "octocat"
    fork: bool = False
    state: str = "open"


@dataclass
class CommentRecord:
    id: int
    full_name: str
    issue_number: int
    body: str
    author: str
    author_type: str = "User"
    created_at: float = field(default_factory=time.time)


@dataclass
class ReactionRecord:
    id: int
    comment_id: int
    content: str
    by: str
    created_at: float = field(default_factory=time.time)


class Conversations:
    """Everything said on the stand-in's pull requests (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._ids = itertools.count(1_300_000_001)
        self.pulls: dict[tuple[str, int], PullRequestRecord] = {}
        self.comments: dict[int, CommentRecord] = {}
        self.reactions: list[ReactionRecord] = []
        self.roles: dict[tuple[str, str], str] = {}

    def add_pull_request(self, record: PullRequestRecord) -> PullRequestRecord:
        with self._lock:
            self.pulls[(record.full_name.lower(), record.number)] = record
        return record

    def pull(self, full_name: str, number: int) -> PullRequestRecord | None:
        with self._lock:
            return self.pulls.get((full_name.lower(), number))

    def add_comment(self, full_name: str, issue_number: int, body: str, author: str,
                    author_type: str = "User") -> CommentRecord:
        with self._lock:
            comment = CommentRecord(next(self._ids), full_name, issue_number, body, author, author_type)
            self.comments[comment.id] = comment
        return comment

    def react(self, comment: CommentRecord, content: str, by: str) -> tuple[ReactionRecord, bool]:
        """The reaction, and whether it is new (GitHub answers 201 for new, 200 for one already there)."""
        with self._lock:
            for reaction in self.reactions:
                if (reaction.comment_id, reaction.content, reaction.by) == (comment.id, content, by):
                    return reaction, False
            reaction = ReactionRecord(next(self._ids), comment.id, content, by)
            self.reactions.append(reaction)
        return reaction, True

    def set_role(self, full_name: str, login: str, role: str) -> None:
        if role not in ROLE_PERMISSION:
            raise ValueError(f"role must be one of {', '.join(ROLE_PERMISSION)}, not {role!r}")
        with self._lock:
            self.roles[(full_name.lower(), login.lower())] = role

    def role(self, full_name: str, login: str) -> str | None:
        with self._lock:
            return self.roles.get((full_name.lower(), login.lower()))


# -- documents ---------------------------------------------------------------------------------------


def user_doc(spec: OpenAPISpec, base: str, login: str, user_type: str = "User") -> dict[str, Any]:
    doc = account_doc(spec, base, login, _user_id(login), "User")
    doc["type"] = user_type
    return doc


def _user_id(login: str) -> int:
    return 200_000 + sum(ord(c) * (i + 1) for i, c in enumerate(login.lower())) % 700_000


def comment_doc(spec: OpenAPISpec, base: str, comment: CommentRecord) -> dict[str, Any]:
    """An `issue-comment`."""
    doc = rebase(spec.example("issue-comment"), _hosts(base))
    issue_url = f"{base}/repos/{comment.full_name}/issues/{comment.issue_number}"
    doc.update(
        id=comment.id,
        node_id=node_id("IssueComment", comment.id),
        url=f"{base}/repos/{comment.full_name}/issues/comments/{comment.id}",
        html_url=f"{base}/{comment.full_name}/pull/{comment.issue_number}#issuecomment-{comment.id}",
        issue_url=issue_url,
        body=comment.body,
        user=user_doc(spec, base, comment.author, comment.author_type),
        created_at=iso(comment.created_at),
        updated_at=iso(comment.created_at),
        author_association="NONE" if comment.author_type == "Bot" else "CONTRIBUTOR",
    )
    return doc


def reaction_doc(spec: OpenAPISpec, base: str, reaction: ReactionRecord) -> dict[str, Any]:
    """A `reaction`."""
    doc = rebase(spec.example("reaction"), _hosts(base))
    doc.update(id=reaction.id, node_id=node_id("Reaction", reaction.id), content=reaction.content,
               user=user_doc(spec, base, reaction.by, "Bot" if reaction.by.endswith("[bot]") else "User"),
               created_at=iso(reaction.created_at))
    return doc


def permission_doc(spec: OpenAPISpec, base: str, login: str, role: str) -> dict[str, Any]:
    """A `repository-collaborator-permission`."""
    user = user_doc(spec, base, login)
    user["role_name"] = role
    return {"permission": ROLE_PERMISSION[role], "role_name": role, "user": user}


def pull_request_doc(spec: OpenAPISpec, base: str, pr: PullRequestRecord, repo: Repository,
                     inst: Installation, repository: dict[str, Any]) -> dict[str, Any]:
    """A `pull-request`; `repository` is the base repository's `repository` document."""
    doc = rebase(spec.example("pull-request"),
                 [("octocat/Hello-World", repo.full_name), ("Hello-World", repo.name), *_hosts(base)])
    api = f"{base}/repos/{repo.full_name}"
    head_repo = dict(repository)
    if pr.fork:
        fork_name = f"{pr.author}/{repo.name}"
        head_repo = rebase(repository, [(repo.full_name, fork_name)])
        head_repo.update(id=repo.id + 10_000_000, node_id=node_id("Repository", repo.id + 10_000_000),
                         full_name=fork_name, fork=True, owner=user_doc(spec, base, pr.author))
    owner = account_doc(spec, base, inst.account_login, inst.account_id, inst.account_type)
    doc["head"].update(ref=pr.head_ref, sha=pr.head_sha, repo=head_repo,
                       label=f"{head_repo['owner']['login']}:{pr.head_ref}", user=head_repo["owner"])
    doc["base"].update(ref=pr.base_ref, sha=pr.head_sha, repo=dict(repository), label=f"{repo.owner}:{pr.base_ref}",
                       user=owner)
    doc.update(
        id=repo.id * 1000 + pr.number,
        node_id=node_id("PullRequest", repo.id * 1000 + pr.number),
        number=pr.number,
        state=pr.state,
        url=f"{api}/pulls/{pr.number}",
        html_url=f"{base}/{repo.full_name}/pull/{pr.number}",
        issue_url=f"{api}/issues/{pr.number}",
        comments_url=f"{api}/issues/{pr.number}/comments",
        statuses_url=f"{api}/statuses/{pr.head_sha}",
        user=user_doc(spec, base, pr.author),
        merged=False,
        merged_at=None,
        merged_by=None,
        closed_at=None,
        merge_commit_sha=None,
        draft=False,
        requested_reviewers=[],
        requested_teams=[],  # the example's team lacks fields the schema now requires
    )
    return doc
