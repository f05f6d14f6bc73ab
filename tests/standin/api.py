"""The REST operations the stand-in implements, keyed by method and OpenAPI path template.

Each handler gets the stand-in, the authenticated call and the path parameters, and returns
(status, JSON document, extra headers); it raises ApiError where GitHub would refuse the call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import checks, conversation, documents
from .auth import TOKEN_LIFETIME, IssuedToken, new_installation_token
from .gitserve import commit_exists, read_blob
from .model import CheckRunRecord, Installation, Repository
from .openapi import Operation

if TYPE_CHECKING:
    from .server import GitHubStandin

PERMISSION_RANK = {"read": 1, "write": 2, "admin": 3}
MSG_NOT_FOUND = "Not Found"
MSG_NOT_ACCESSIBLE = "Resource not accessible by integration"


class ApiError(Exception):
    """A refusal in GitHub's shape; `recorded` says whether it belongs in the stand-in's `errors`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        docs_url: str = "https://docs.github.com/rest",
        headers: dict[str, str] | None = None,
        recorded: bool = True,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.docs_url = status, message, docs_url
        self.headers = headers or {}
        self.recorded = recorded


@dataclass
class Call:
    """An authenticated API request, as handlers see it."""

    operation: Operation
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    token: IssuedToken | None = None
    now: float = field(default_factory=time.time)


Result = tuple[int, Any, dict[str, str]]
Handler = Callable[["GitHubStandin", Call], Result]


@dataclass(frozen=True)
class Route:
    auth: str  # "app" (JWT) or "installation" (installation token)
    handler: Handler


def not_found(call: Call) -> ApiError:
    return ApiError(404, MSG_NOT_FOUND, docs_url=call.operation.docs_url)


def get_app(standin: GitHubStandin, call: Call) -> Result:
    return 200, documents.app_doc(standin.spec, standin.url, standin.identity), {}


def get_installation(standin: GitHubStandin, call: Call) -> Result:
    inst = _installation(standin, call)
    return 200, documents.installation_doc(standin.spec, standin.url, standin.identity, inst), {}


def create_access_token(standin: GitHubStandin, call: Call) -> Result:
    inst = _installation(standin, call)
    if inst.suspended:
        raise ApiError(403, "This installation has been suspended", docs_url=call.operation.docs_url)
    body = call.body or {}
    repo_ids = _requested_repositories(standin, call, inst, body)
    permissions = _requested_permissions(call, inst, body.get("permissions"))
    token = IssuedToken(
        new_installation_token(),
        inst.id,
        call.now + TOKEN_LIFETIME,
        permissions,
        frozenset(repo_ids) if repo_ids is not None else None,
    )
    standin._register_token(token)
    listed = None
    if repo_ids is not None:
        listed = [(standin._repos_by_id[repo_id], inst) for repo_id in sorted(repo_ids)]
    doc = documents.token_doc(standin.spec, standin.url, token.token, token.expires_at, permissions, listed)
    return 201, doc, {}


def _installation(standin: GitHubStandin, call: Call) -> Installation:
    raw = call.params["installation_id"]
    inst = standin._installations.get(int(raw)) if raw.isdigit() else None
    if inst is None:
        raise not_found(call)
    return inst


def _requested_repositories(
    standin: GitHubStandin, call: Call, inst: Installation, body: dict[str, Any]
) -> set[int] | None:
    names, ids = body.get("repositories"), body.get("repository_ids")
    if names is None and ids is None:
        return None
    own = [repo for repo in standin._repos_by_id.values() if repo.installation_id == inst.id]
    by_name = {repo.name.lower(): repo.id for repo in own}
    chosen = set()
    for name in names or []:
        if name.lower() not in by_name:
            raise _inaccessible_repositories(call)
        chosen.add(by_name[name.lower()])
    for repo_id in ids or []:
        if repo_id not in {repo.id for repo in own}:
            raise _inaccessible_repositories(call)
        chosen.add(repo_id)
    return chosen


def _inaccessible_repositories(call: Call) -> ApiError:
    return ApiError(
        422,
        "There is at least one repository that does not exist or is not accessible to the "
        "parent installation.",
        docs_url=call.operation.docs_url,
    )


def _requested_permissions(
    call: Call, inst: Installation, requested: dict[str, str] | None
) -> dict[str, str]:
    if not requested:
        return dict(inst.permissions)
    for name, level in requested.items():
        granted = inst.permissions.get(name)
        if granted is None or PERMISSION_RANK.get(level, 9) > PERMISSION_RANK.get(granted, 0):
            raise ApiError(
                422,
                "The permissions requested are not granted to this installation.",
                docs_url=call.operation.docs_url,
            )
    return dict(requested)


def repository_for(standin: GitHubStandin, call: Call) -> Repository:
    """The repository named in the path, if the calling token may see it; 404 otherwise (as GitHub)."""
    full_name = f"{call.params['owner']}/{call.params['repo']}".lower()
    repo = standin._repos_by_name.get(full_name)
    token = call.token
    if repo is None or token is None or repo.installation_id != token.installation_id:
        raise not_found(call)
    if token.repository_ids is not None and repo.id not in token.repository_ids:
        raise not_found(call)
    return repo


def _require_permission(call: Call, name: str, level: str) -> None:
    assert call.token is not None
    granted = call.token.permissions.get(name)
    if granted is None or PERMISSION_RANK[granted] < PERMISSION_RANK[level]:
        raise ApiError(403, MSG_NOT_ACCESSIBLE, docs_url=call.operation.docs_url)


def get_repository(standin: GitHubStandin, call: Call) -> Result:
    repo = repository_for(standin, call)
    inst = standin._installations[repo.installation_id]
    return 200, documents.repository_doc(standin.spec, standin.url, repo, inst), {}


def create_check_run(standin: GitHubStandin, call: Call) -> Result:
    repo = repository_for(standin, call)
    _require_permission(call, "checks", "write")
    _refuse_problems(call, checks.check_run_problems(call.body))
    head_sha = call.body["head_sha"]
    if not commit_exists(repo.git_dir, head_sha):
        raise ApiError(422, f"No commit found for SHA: {head_sha}", docs_url=call.operation.docs_url)
    run = standin._create_check_run(repo, call.body, call.now, call.token)
    return 201, documents.check_run_doc(standin.spec, standin.url, standin.identity, run), {}


def update_check_run(standin: GitHubStandin, call: Call) -> Result:
    repo = repository_for(standin, call)
    _require_permission(call, "checks", "write")
    run = _check_run(standin, call, repo)
    _refuse_problems(call, checks.check_run_problems(call.body))
    standin._update_check_run(run, call.body, call.now)
    return 200, documents.check_run_doc(standin.spec, standin.url, standin.identity, run), {}


def get_check_run(standin: GitHubStandin, call: Call) -> Result:
    repo = repository_for(standin, call)
    _require_permission(call, "checks", "read")
    run = _check_run(standin, call, repo)
    return 200, documents.check_run_doc(standin.spec, standin.url, standin.identity, run), {}


def list_annotations(standin: GitHubStandin, call: Call) -> Result:
    repo = repository_for(standin, call)
    _require_permission(call, "checks", "read")
    run = _check_run(standin, call, repo)
    per_page = min(max(_int_query(call, "per_page", 30), 1), 100)
    page = max(_int_query(call, "page", 1), 1)
    items = [documents.annotation_doc(standin.url, run, a) for a in run.annotations]
    last = max((len(items) + per_page - 1) // per_page, 1)
    chosen = items[(page - 1) * per_page : page * per_page]
    base = f"{standin.url}/repos/{repo.full_name}/check-runs/{run.id}/annotations?per_page={per_page}"
    links = [f'<{base}&page={page + 1}>; rel="next"'] if page < last else []
    if page < last:
        links.append(f'<{base}&page={last}>; rel="last"')
    if page > 1:
        links += [f'<{base}&page=1>; rel="first"', f'<{base}&page={page - 1}>; rel="prev"']
    return 200, chosen, ({"Link": ", ".join(links)} if links else {})


def get_content(standin: GitHubStandin, call: Call) -> Result:
    """A file's content, base64-encoded, at `ref` (default: the default branch), as GitHub answers."""
    repo = repository_for(standin, call)
    _require_permission(call, "contents", "read")
    ref = call.query.get("ref") or repo.default_branch
    path = call.params["path"].strip("/")
    found = read_blob(repo.git_dir, ref, path)
    if found is None:
        raise ApiError(404, MSG_NOT_FOUND, docs_url=call.operation.docs_url, recorded=False)
    content, sha = found
    return 200, documents.content_file_doc(standin.url, repo, path, ref, content, sha), {}


def get_pull_request(standin: GitHubStandin, call: Call) -> Result:
    repo = repository_for(standin, call)
    _require_permission(call, "pull_requests", "read")
    pr = standin.conversations.pull(repo.full_name, _int_param(call, "pull_number"))
    if pr is None:
        raise not_found(call)
    inst = standin._installations[repo.installation_id]
    repository = documents.repository_doc(standin.spec, standin.url, repo, inst, full=False)
    return 200, conversation.pull_request_doc(standin.spec, standin.url, pr, repo, inst, repository), {}


def create_issue_comment(standin: GitHubStandin, call: Call) -> Result:
    """A comment on a pull request (the stand-in's only issues), written as the app's bot user."""
    repo = repository_for(standin, call)
    _require_any_permission(call, ("issues", "pull_requests"), "write")
    number = _int_param(call, "issue_number")
    if standin.conversations.pull(repo.full_name, number) is None:
        raise not_found(call)
    body = call.body["body"]
    if len(body) > conversation.MAX_COMMENT_CHARS:
        raise ApiError(422, "Validation Failed: body is too long (maximum is "
                       f"{conversation.MAX_COMMENT_CHARS} characters)", docs_url=call.operation.docs_url)
    comment = standin.conversations.add_comment(repo.full_name, number, body, f"{standin.app_slug}[bot]", "Bot")
    return 201, conversation.comment_doc(standin.spec, standin.url, comment), {}


def create_comment_reaction(standin: GitHubStandin, call: Call) -> Result:
    repo = repository_for(standin, call)
    _require_any_permission(call, ("issues", "pull_requests"), "write")
    comment = standin.conversations.comments.get(_int_param(call, "comment_id"))
    if comment is None or comment.full_name.lower() != repo.full_name.lower():
        raise not_found(call)
    reaction, new = standin.conversations.react(comment, call.body["content"], f"{standin.app_slug}[bot]")
    return (201 if new else 200), conversation.reaction_doc(standin.spec, standin.url, reaction), {}


def get_collaborator_permission(standin: GitHubStandin, call: Call) -> Result:
    """A login's role; one the stand-in was not told about does not exist (404, as GitHub for unknown users)."""
    repo = repository_for(standin, call)
    _require_permission(call, "metadata", "read")
    login = call.params["username"]
    role = standin.conversations.role(repo.full_name, login)
    if role is None:
        raise ApiError(404, MSG_NOT_FOUND, docs_url=call.operation.docs_url, recorded=False)
    return 200, conversation.permission_doc(standin.spec, standin.url, login, role), {}


def _require_any_permission(call: Call, names: tuple[str, ...], level: str) -> None:
    assert call.token is not None
    granted = [PERMISSION_RANK.get(call.token.permissions.get(name, ""), 0) for name in names]
    if max(granted) < PERMISSION_RANK[level]:
        raise ApiError(403, MSG_NOT_ACCESSIBLE, docs_url=call.operation.docs_url)


def _int_param(call: Call, name: str) -> int:
    raw = call.params[name]
    if not raw.isdigit():
        raise not_found(call)
    return int(raw)


def _int_query(call: Call, name: str, default: int) -> int:
    raw = call.query.get(name)
    return int(raw) if raw and raw.isdigit() else default


def _check_run(standin: GitHubStandin, call: Call, repo: Repository) -> CheckRunRecord:
    raw = call.params["check_run_id"]
    run = standin._check_runs.get(int(raw)) if raw.isdigit() else None
    if run is None or run.full_name.lower() != repo.full_name.lower():
        raise not_found(call)
    return run


def _refuse_problems(call: Call, problems: list[str]) -> None:
    if problems:
        raise ApiError(422, "Invalid request.\n\n" + "\n".join(problems), docs_url=call.operation.docs_url)


ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/app"): Route("app", get_app),
    ("GET", "/app/installations/{installation_id}"): Route("app", get_installation),
    ("POST", "/app/installations/{installation_id}/access_tokens"): Route("app", create_access_token),
    ("GET", "/repos/{owner}/{repo}"): Route("installation", get_repository),
    ("POST", "/repos/{owner}/{repo}/check-runs"): Route("installation", create_check_run),
    ("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}"): Route("installation", update_check_run),
    ("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}"): Route("installation", get_check_run),
    ("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations"): Route(
        "installation", list_annotations
    ),
    ("GET", "/repos/{owner}/{repo}/contents/{path}"): Route("installation", get_content),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}"): Route("installation", get_pull_request),
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments"): Route("installation", create_issue_comment),
    ("POST", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"): Route(
        "installation", create_comment_reaction
    ),
    ("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission"): Route(
        "installation", get_collaborator_permission
    ),
}
