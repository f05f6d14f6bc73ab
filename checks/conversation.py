"""Talking on a pull request: reply, react to a comment, ask who may do what, read the pull request.

`ConversationAPI` is the narrow interface the comment-command job needs; `ConversationClient`
implements it on an installation client (so it can also read the repository config), with every
GitHub error translated at the edge like the rest of `checks/`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, cast

from checks.client import InstallationClient, github_errors
from checks.errors import GitHubPermanentError

MAX_COMMENT_CHARS = 65_536  # GitHub refuses longer comment bodies with 422
WRITE_ROLES = ("admin", "maintain", "write")


@dataclass(frozen=True)
class PullRequest:
    """The few facts of a pull request a command needs."""

    number: int
    head_sha: str
    head_ref: str
    base_ref: str
    author: str
    state: str
    from_fork: bool


@dataclass(frozen=True)
class Permission:
    """A person's access to a repository: `role_name` (admin, maintain, write, triage, read, a custom
    role or none) and the legacy `permission` (admin, write, read, none)."""

    role_name: str
    permission: str

    @property
    def can_write(self) -> bool:
        return self.role_name in WRITE_ROLES or self.permission in ("admin", "write")


NO_PERMISSION = Permission("none", "none")


class ConversationAPI(Protocol):
    """The GitHub calls pull request conversations need, for one installation."""

    def comment(self, repo: str, issue_number: int, body: str) -> int: ...

    def react(self, repo: str, comment_id: int, content: str = "eyes") -> None: ...

    def permission(self, repo: str, login: str) -> Permission: ...

    def pull_request(self, repo: str, number: int) -> PullRequest: ...


class ConversationClient(InstallationClient):
    """ConversationAPI (plus CheckRunsAPI and RepoContentsAPI) for one installation."""

    def comment(self, repo: str, issue_number: int, body: str) -> int:
        """Post a comment on an issue or pull request; returns its id."""
        if len(body) > MAX_COMMENT_CHARS:
            raise ValueError(f"comment body is {len(body)} characters; GitHub allows {MAX_COMMENT_CHARS}")
        owner, name = repo.split("/", 1)
        with github_errors(f"commenting on {repo}#{issue_number}"):
            gh = self._app._client(self.installation_id)  # keep a reference: githubkit's namespaces hold weak ones
            resp = gh.rest.issues.create_comment(owner, name, issue_number, data=cast(Any, {"body": body}))
        return int(resp.json()["id"])

    def react(self, repo: str, comment_id: int, content: str = "eyes") -> None:
        """Add a reaction to an issue or pull request comment (already there is fine)."""
        owner, name = repo.split("/", 1)
        with github_errors(f"reacting {content} to comment {comment_id} on {repo}"):
            gh = self._app._client(self.installation_id)
            gh.rest.reactions.create_for_issue_comment(owner, name, comment_id, data=cast(Any, {"content": content}))

    def permission(self, repo: str, login: str) -> Permission:
        """`login`'s access to `repo`; a login GitHub does not know has none."""
        owner, name = repo.split("/", 1)
        try:
            with github_errors(f"reading {login}'s permission on {repo}"):
                gh = self._app._client(self.installation_id)
                data = gh.rest.repos.get_collaborator_permission_level(owner, name, login).json()
        except GitHubPermanentError as exc:
            if exc.status == 404 and _repository_is_visible(self, owner, name):
                return NO_PERMISSION  # the login does not exist (or is not a user)
            raise
        return Permission(str(data.get("role_name") or "none"), str(data.get("permission") or "none"))

    def pull_request(self, repo: str, number: int) -> PullRequest:
        owner, name = repo.split("/", 1)
        with github_errors(f"reading pull request {repo}#{number}"):
            gh = self._app._client(self.installation_id)
            data = cast(dict[str, Any], gh.rest.pulls.get(owner, name, number).json())
        head_repo: dict[str, Any] = data["head"].get("repo") or {}  # None when the fork was deleted
        return PullRequest(number=int(data["number"]), head_sha=data["head"]["sha"], head_ref=data["head"]["ref"],
                           base_ref=data["base"]["ref"], author=(data.get("user") or {}).get("login", ""),
                           state=data.get("state", "open"),
                           from_fork=head_repo.get("id") != data["base"]["repo"]["id"])


def _repository_is_visible(client: InstallationClient, owner: str, name: str) -> bool:
    """A 404 for a permission means "no such user" only if the repository itself is reachable."""
    try:
        with github_errors(f"reading {owner}/{name}"):
            gh = client._app._client(client.installation_id)
            gh.rest.repos.get(owner, name)
    except GitHubPermanentError as exc:
        if exc.status == 404:
            return False
        raise
    return True
