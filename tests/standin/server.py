"""GitHubStandin: an in-process HTTP server that answers like api.github.com and serves git like github.com.

Every request is recorded; every request GitHub would refuse (schema, limits, auth, unknown route)
is refused here too and listed in `errors`, which tests expect to stay empty.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from . import auth, documents
from .api import ROUTES, ApiError, Call, Route
from .checks import apply_write, new_check_run
from .conversation import CommentRecord, Conversations, PullRequestRecord, ReactionRecord
from .gitserve import GIT_PATH, GitProjectRoot
from .model import (
    DEFAULT_EVENTS,
    DEFAULT_PERMISSIONS,
    AppIdentity,
    CheckRunRecord,
    Installation,
    RecordedRequest,
    Repository,
)
from .openapi import load_spec
from .transport import Handler, Reply, Request

_APP_IDS = itertools.count(4242)
RATE_LIMIT = 5000
ANONYMOUS_RATE_LIMIT = 60
JSON_TYPE = "application/json; charset=utf-8"


@dataclass
class _Failure:
    method: str
    pattern: re.Pattern[str]
    status: int
    headers: dict[str, str]
    body: dict[str, Any] | None
    remaining: int


class GitHubStandin:
    """GitHub's REST API (the parts Verdict uses) and git smart HTTP, on 127.0.0.1."""

    def __init__(self, openapi_path: Path | None = None, *, app_id: int | None = None) -> None:
        self.spec = load_spec(openapi_path)
        # githubkit caches JWTs and installation tokens process-wide, keyed by app id: a fresh id per
        # stand-in keeps one test's cached credentials away from the next stand-in.
        self.app_id = app_id if app_id is not None else next(_APP_IDS)
        self.app_slug = "verdict"
        self.private_key_pem = auth.generate_private_key_pem()
        self._public_key = auth.public_key_of(self.private_key_pem)
        self.identity = AppIdentity(
            self.app_id,
            self.app_slug,
            f"Iv23li{self.app_id}standin",
            "Verdict",
            "verdict-dev",
            dict(DEFAULT_PERMISSIONS),
            list(DEFAULT_EVENTS),
        )
        self.url = ""
        self.requests: list[RecordedRequest] = []
        self.errors: list[str] = []
        self._lock = threading.RLock()
        self._installations: dict[int, Installation] = {}
        self._repos_by_id: dict[int, Repository] = {}
        self._repos_by_name: dict[str, Repository] = {}
        self._tokens: dict[str, auth.IssuedToken] = {}
        self._check_runs: dict[int, CheckRunRecord] = {}
        self._check_suites: dict[tuple[str, str], int] = {}
        self._failures: list[_Failure] = []
        self._rate_used: dict[str, int] = {}
        self._rate_reset = int(time.time()) + 3600
        self.conversations = Conversations()
        self._git_root = GitProjectRoot()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> GitHubStandin:
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.standin = self  # type: ignore[attr-defined]
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="github-standin", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._git_root.remove()

    def __enter__(self) -> GitHubStandin:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- set-up and inspection ---------------------------------------------------------------------

    def add_installation(
        self,
        installation_id: int,
        account_login: str,
        account_type: str = "Organization",
        *,
        permissions: dict[str, str] | None = None,
        account_id: int | None = None,
    ) -> None:
        if account_type not in ("Organization", "User"):
            raise ValueError(f"account_type must be Organization or User, not {account_type!r}")
        with self._lock:
            self._installations[installation_id] = Installation(
                installation_id,
                account_login,
                account_type,
                account_id or 100000 + installation_id,
                dict(permissions or DEFAULT_PERMISSIONS),
                list(DEFAULT_EVENTS),
            )

    def suspend_installation(self, installation_id: int, suspended: bool = True) -> None:
        with self._lock:
            self._installations[installation_id].suspended = suspended

    def add_repository(
        self,
        installation_id: int,
        full_name: str,
        git_dir: Path,
        repo_id: int | None = None,
        default_branch: str = "main",
    ) -> dict[str, Any]:
        """Serve `git_dir` (bare or not) as `full_name` in that installation; its id, name and URLs."""
        owner, _, name = full_name.partition("/")
        if not owner or not name or "/" in name:
            raise ValueError(f"full_name must be owner/name, not {full_name!r}")
        if not self.url:
            raise RuntimeError("start() the stand-in before add_repository(): clone URLs need its port")
        with self._lock:
            if installation_id not in self._installations:
                raise KeyError(f"add_installation({installation_id}, ...) first")
            repo_id = repo_id or 700000 + len(self._repos_by_id) + 1
            served = self._git_root.add(full_name, Path(git_dir))
            repo = Repository(repo_id, full_name, installation_id, served, default_branch)
            self._repos_by_id[repo_id] = repo
            self._repos_by_name[full_name.lower()] = repo
        return {
            "id": repo_id,
            "full_name": full_name,
            "clone_url": f"{self.url}/{full_name}.git",
            "html_url": f"{self.url}/{full_name}",
            "url": f"{self.url}/repos/{full_name}",
        }

    def check_runs(self, full_name: str | None = None) -> list[CheckRunRecord]:
        with self._lock:
            runs = sorted(self._check_runs.values(), key=lambda run: run.id)
        return [run for run in runs if full_name is None or run.full_name.lower() == full_name.lower()]

    def add_pull_request(self, full_name: str, number: int, head_sha: str, head_ref: str, base_ref: str = "main",
                         author: str = "octocat", fork: bool = False) -> PullRequestRecord:
        """An open pull request of `full_name` (from a fork of `author`'s when fork=True)."""
        return self.conversations.add_pull_request(
            PullRequestRecord(full_name, number, head_sha, head_ref, base_ref, author, fork))

    def add_comment(self, full_name: str, number: int, body: str, author: str = "octocat",
                    author_type: str = "User") -> CommentRecord:
        """A comment someone wrote on pull request `number` (what an issue_comment webhook is about)."""
        return self.conversations.add_comment(full_name, number, body, author, author_type)

    def set_permission(self, full_name: str, login: str, role: str) -> None:
        """`login`'s role on the repository: admin, maintain, write, triage, read or none."""
        self.conversations.set_role(full_name, login, role)

    def comments(self, full_name: str | None = None, number: int | None = None, *,
                 by_app: bool = True) -> list[CommentRecord]:
        """Comments posted (by default only those the app wrote), oldest first."""
        with self.conversations._lock:
            found = sorted(self.conversations.comments.values(), key=lambda c: c.id)
        return [c for c in found if (full_name is None or c.full_name.lower() == full_name.lower())
                and (number is None or c.issue_number == number)
                and (not by_app or c.author == f"{self.app_slug}[bot]")]

    def reactions(self, comment_id: int | None = None) -> list[ReactionRecord]:
        with self.conversations._lock:
            return [r for r in self.conversations.reactions if comment_id is None or r.comment_id == comment_id]

    def issued_tokens(self) -> list[str]:
        with self._lock:
            return list(self._tokens)

    def expire_tokens(self) -> None:
        """Make every installation token handed out so far expired (to test token refresh)."""
        with self._lock:
            for token in self._tokens.values():
                token.expires_at = time.time() - 1

    def inject_failure(
        self,
        method: str,
        path_regex: str,
        status: int,
        *,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` requests whose method matches (or "*") and whose path `re.search`es
        `path_regex` get this answer instead of the real one."""
        with self._lock:
            self._failures.append(
                _Failure(method.upper(), re.compile(path_regex), status, dict(headers or {}), body, times)
            )

    # -- used by api.py ----------------------------------------------------------------------------

    def _register_token(self, token: auth.IssuedToken) -> None:
        with self._lock:
            self._tokens[token.token] = token

    def _create_check_run(
        self, repo: Repository, body: dict[str, Any], now: float, token: auth.IssuedToken | None
    ) -> CheckRunRecord:
        with self._lock:
            suite_key = (repo.full_name.lower(), body["head_sha"])
            suite_id = self._check_suites.setdefault(suite_key, 500000 + len(self._check_suites) + 1)
            run_id = 900000 + len(self._check_runs) + 1
            run = new_check_run(
                run_id,
                repo.full_name,
                body,
                now,
                check_suite_id=suite_id,
                installation_id=token.installation_id if token else 0,
            )
            self._check_runs[run_id] = run
            return run

    def _update_check_run(self, run: CheckRunRecord, body: dict[str, Any], now: float) -> None:
        with self._lock:
            apply_write(run, body, now)

    # -- request handling --------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        """Answer one request, recording it (and, when GitHub would refuse it, an error)."""
        credential_key = "anonymous"
        parsed: Any = None
        try:
            reply = self._injected(request)
            if reply is None and GIT_PATH.match(request.path):
                reply = self._git(request)
            elif reply is None:
                parsed = _parse_json(request)
                reply, credential_key = self._api(request, parsed)
        except ApiError as error:
            if error.recorded:
                self._record_error(request, error.status, error.message)
            doc = documents.error_doc(error.message, error.docs_url)
            reply = Reply(error.status, {"Content-Type": JSON_TYPE, **error.headers}, _dump(doc), doc)
        self._finish(request, reply, credential_key, parsed)
        return reply

    def _injected(self, request: Request) -> Reply | None:
        with self._lock:
            for failure in self._failures:
                if (
                    failure.remaining > 0
                    and failure.method in ("*", request.method)
                    and failure.pattern.search(request.path)
                ):
                    failure.remaining -= 1
                    doc = (
                        failure.body
                        if failure.body is not None
                        else documents.error_doc(_reason(failure.status))
                    )
                    return Reply(
                        failure.status, {"Content-Type": JSON_TYPE, **failure.headers}, _dump(doc), doc
                    )
        return None

    def _api(self, request: Request, body: Any) -> tuple[Reply, str]:
        matched = self.spec.match(request.method, request.path)
        if matched is None:
            raise ApiError(404, "Not Found")
        operation, params = matched
        route = ROUTES.get((operation.method, operation.template))
        if route is None:
            raise ApiError(
                404,
                f"Not Found (the stand-in does not implement {operation.method} {operation.template})",
                docs_url=operation.docs_url,
            )
        call = Call(operation, params, request.query, body)
        credential_key = self._authenticate(request, route, call)
        if body is None and operation.body_required:
            raise ApiError(400, "Problems parsing JSON", docs_url=operation.docs_url)
        if body is not None:
            problems = self.spec.body_errors(operation, body)
            if problems:
                raise ApiError(422, "Invalid request.\n\n" + "\n".join(problems), docs_url=operation.docs_url)
        status, doc, headers = route.handler(self, call)
        return Reply(status, {"Content-Type": JSON_TYPE, **headers}, _dump(doc), doc), credential_key

    def _authenticate(self, request: Request, route: Route, call: Call) -> str:
        credential = auth.bearer_credential(request.headers.get("authorization"))
        if credential is None:
            raise ApiError(401, auth.MSG_REQUIRES_AUTH, docs_url=call.operation.docs_url)
        scheme, value = credential
        if route.auth == "app":
            if scheme != "bearer":
                raise ApiError(401, auth.MSG_UNDECODABLE, docs_url=call.operation.docs_url)
            try:
                auth.verify_app_jwt(value, self._public_key, self.app_id, self.identity.client_id, call.now)
            except auth.AuthError as error:
                raise ApiError(error.status, error.message, docs_url=call.operation.docs_url) from error
            return "app"
        with self._lock:
            token = self._tokens.get(value) if scheme in ("token", "bearer") else None
        if token is None or token.expired(call.now):
            raise ApiError(401, auth.MSG_BAD_CREDENTIALS, docs_url=call.operation.docs_url)
        call.token = token
        return token.token

    def _git(self, request: Request) -> Reply:
        found = GIT_PATH.match(request.path)
        assert found is not None
        full_name = f"{found['owner']}/{found['repo']}"
        credentials = auth.basic_credentials(request.headers.get("authorization"))
        challenge = {"WWW-Authenticate": 'Basic realm="GitHub"', "Content-Type": "text/plain"}
        if credentials is None:
            # An unauthenticated first request is how git discovers it must authenticate: not an error.
            return Reply(401, challenge, b"Authentication required\n")
        with self._lock:
            token = self._tokens.get(credentials[1])
            repo = self._repos_by_name.get(full_name.lower())
        if credentials[0] != "x-access-token" or token is None or token.expired():
            self._record_error(request, 401, "git: invalid username or password")
            return Reply(401, challenge, b"Invalid username or token.\n")
        visible = (
            repo is not None
            and repo.installation_id == token.installation_id
            and (token.repository_ids is None or repo.id in token.repository_ids)
        )
        if not visible or found["rest"] not in ("info/refs", "git-upload-pack"):
            self._record_error(request, 404, f"git: repository {full_name} not found for this token")
            return Reply(404, {"Content-Type": "text/plain"}, b"Repository not found.\n")
        if request.raw_query and "service=git-receive-pack" in request.raw_query:
            self._record_error(request, 403, f"git: push to {full_name} refused")
            return Reply(403, {"Content-Type": "text/plain"}, b"Permission denied.\n")
        assert repo is not None
        answer = self._git_root.serve(
            request.method, repo.full_name, found["rest"], request.raw_query, request.headers, request.body
        )
        return Reply(answer.status, dict(answer.headers), answer.body)

    def _record_error(self, request: Request, status: int, message: str) -> None:
        with self._lock:
            self.errors.append(f"{request.method} {request.path} -> {status}: {message}")

    def _finish(self, request: Request, reply: Reply, credential_key: str, body: Any) -> None:
        with self._lock:
            used = self._rate_used[credential_key] = self._rate_used.get(credential_key, 0) + 1
            limit = ANONYMOUS_RATE_LIMIT if credential_key == "anonymous" else RATE_LIMIT
            standard = {
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": str(max(limit - used, 0)),
                "X-RateLimit-Reset": str(self._rate_reset),
                "X-RateLimit-Used": str(used),
                "X-RateLimit-Resource": "core",
                "X-GitHub-Request-Id": _request_id(),
                "X-GitHub-Media-Type": "github.v3; format=json",
            }
            reply.headers = {**standard, **reply.headers}
            headers = {
                name: (auth.redact(value) if name == "authorization" else value)
                for name, value in request.headers.items()
            }
            self.requests.append(
                RecordedRequest(request.method, request.path, reply.status, body, headers, request.query)
            )


def _parse_json(request: Request) -> Any:
    if not request.body.strip():
        return None
    try:
        return json.loads(request.body)
    except ValueError as exc:
        raise ApiError(400, "Problems parsing JSON") from exc


def _dump(doc: Any) -> bytes:
    return json.dumps(doc).encode("utf-8")


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _request_id() -> str:
    return ":".join(secrets.token_hex(n).upper() for n in (2, 3, 4, 4, 4))
