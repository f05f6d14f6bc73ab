"""The only door to GitHub: app authentication and the few REST calls Verdict needs, via githubkit.

One `GitHubApp` per process (it caches installation tokens until shortly before they
expire); `GitHubApp.installation(id)` gives the narrow interface a job uses.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast

import httpx
from githubkit import AppAuthStrategy, GitHub, TokenAuthStrategy
from githubkit.cache import MemCacheStrategy
from githubkit.exception import GitHubException, RateLimitExceeded, RequestError, RequestFailed
from githubkit.retry import RetryOption

from checks.errors import GitHubPermanentError, GitHubTransientError
from verdict.errors import VerdictError
from verdict.settings import Settings

log = logging.getLogger(__name__)

TOKEN_REFRESH_MARGIN = timedelta(minutes=5)
MAX_INLINE_WAIT = 60.0  # longer rate-limit waits go back to the queue instead of blocking a worker
SERVER_ERROR_RETRIES = 3
RATE_LIMIT_RETRIES = 2


class CheckRunsAPI(Protocol):
    """What a job needs from GitHub for one installation."""

    def create_check_run(self, repo: str, *, name: str, head_sha: str, details_url: str,
                         external_id: str, status: str = "queued", **fields: Any) -> int: ...

    def update_check_run(self, repo: str, check_run_id: int, **fields: Any) -> None: ...

    def clone_token(self) -> str: ...


class RepoContentsAPI(Protocol):
    """Reading one file of a repository at a ref (the repository config, from the default branch)."""

    def read_file(self, repo: str, path: str, ref: str) -> str | None:
        """The file's text at `ref` ("" for the repository's default branch), None when it is not there."""
        ...


def retry_decision(exc: GitHubException, retry_count: int) -> RetryOption:
    """Retry 5xx with backoff; rate limits after the time GitHub asks for, when it is short."""
    if isinstance(exc, RateLimitExceeded):
        wait = exc.retry_after.total_seconds()
        if retry_count < RATE_LIMIT_RETRIES and wait <= MAX_INLINE_WAIT:
            log.warning("GitHub rate limit on %s %s; retrying in %.0f s", exc.request.method,
                        exc.request.url.path, wait)
            return RetryOption(True, timedelta(seconds=max(wait, 1)))
        return RetryOption(False)
    if isinstance(exc, RequestFailed) and exc.response.status_code >= 500 and retry_count < SERVER_ERROR_RETRIES:
        delay = 2 ** retry_count
        log.warning("GitHub answered %s on %s %s; retrying in %d s", exc.response.status_code,
                    exc.request.method, exc.request.url.path, delay)
        return RetryOption(True, timedelta(seconds=delay))
    return RetryOption(False)


def translate(exc: Exception, doing: str) -> Exception:
    """Map a githubkit/httpx exception to GitHubTransientError or GitHubPermanentError."""
    if isinstance(exc, RateLimitExceeded):
        return GitHubTransientError(f"{doing}: GitHub rate limit", retry_after=exc.retry_after.total_seconds())
    if isinstance(exc, RequestFailed):
        status = exc.response.status_code
        message = _message(exc)
        if status >= 500 or status == 429:
            retry_after = exc.response.headers.get("retry-after")
            return GitHubTransientError(f"{doing}: GitHub answered {status} {message}",
                                        retry_after=float(retry_after) if retry_after else None)
        advice = {401: " (check APP_ID and the private key)", 404: " (is the app installed on this repository?)"}
        return GitHubPermanentError(f"{doing}: GitHub answered {status} {message}{advice.get(status, '')}",
                                    status=status)
    if isinstance(exc, RequestError | httpx.TransportError):
        return GitHubTransientError(f"{doing}: cannot reach GitHub ({exc.__class__.__name__}: {exc})")
    return exc


@contextmanager
def github_errors(doing: str) -> Iterator[None]:
    """Around GitHub calls: githubkit/httpx errors become Verdict's transient or permanent ones."""
    try:
        yield
    except VerdictError:
        raise
    except Exception as exc:
        translated = translate(exc, doing)
        if translated is exc:
            raise
        raise translated from exc


def _message(exc: RequestFailed) -> str:
    try:
        return str(exc.response.json().get("message", ""))[:500]
    except Exception:  # a non-JSON error page: the status says enough
        return ""


class GitHubApp:
    def __init__(self, settings: Settings, *, transport: httpx.BaseTransport | None = None):
        settings.require_github_app()
        self._settings = settings
        self._options: dict[str, Any] = dict(
            base_url=settings.github_api_url + "/",
            user_agent="verdict-app",
            timeout=30.0,
            http_cache=False,
            auto_retry=retry_decision,
            cache_strategy=MemCacheStrategy(),
            transport=transport,
        )
        self._app = GitHub(AppAuthStrategy(str(settings.app_id), settings.private_key or ""), **self._options)
        self._tokens: dict[int, tuple[str, datetime]] = {}
        self._lock = threading.Lock()

    def installation_token(self, installation_id: int) -> str:
        """A cached installation token, renewed when it has less than five minutes left."""
        with self._lock:
            cached = self._tokens.get(installation_id)
            if cached and cached[1] - datetime.now(UTC) > TOKEN_REFRESH_MARGIN:
                return cached[0]
        with github_errors(f"getting a token for installation {installation_id}"):
            data = self._app.rest.apps.create_installation_access_token(installation_id).parsed_data
        expires = datetime.strptime(data.expires_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        with self._lock:
            self._tokens[installation_id] = (data.token, expires)
        return data.token

    def installation_exists(self, installation_id: int) -> bool:
        try:
            with github_errors(f"looking up installation {installation_id}"):
                self._app.rest.apps.get_installation(installation_id)
            return True
        except GitHubPermanentError as exc:
            if exc.status == 404:
                return False
            raise

    def installation(self, installation_id: int) -> InstallationClient:
        return InstallationClient(self, installation_id)

    def _client(self, installation_id: int) -> GitHub:
        return GitHub(TokenAuthStrategy(self.installation_token(installation_id)), **self._options)


class InstallationClient:
    """CheckRunsAPI and RepoContentsAPI for one installation; every call maps GitHub errors to Verdict's."""

    def __init__(self, app: GitHubApp, installation_id: int):
        self._app = app
        self.installation_id = installation_id

    def clone_token(self) -> str:
        return self._app.installation_token(self.installation_id)

    def create_check_run(self, repo: str, *, name: str, head_sha: str, details_url: str,
                         external_id: str, status: str = "queued", **fields: Any) -> int:
        """Create a check run; `fields` are further body fields (output, conclusion, actions, ...)."""
        owner, name_ = repo.split("/", 1)
        body = {"name": name, "head_sha": head_sha, "status": status, "details_url": details_url,
                "external_id": external_id, **{k: v for k, v in fields.items() if v is not None}}
        with github_errors(f"creating a check run on {repo}@{head_sha[:12]}"):
            gh = self._app._client(self.installation_id)  # keep a reference: githubkit's namespaces hold weak ones
            resp = gh.rest.checks.create(owner, name_, data=cast(Any, body))
        return int(resp.parsed_data.id)

    def read_file(self, repo: str, path: str, ref: str) -> str | None:
        """The file's text at `ref`, or None when it does not exist there."""
        return _read_file(self, repo, path, ref)

    def update_check_run(self, repo: str, check_run_id: int, **fields: Any) -> None:
        owner, name_ = repo.split("/", 1)
        with github_errors(f"updating check run {check_run_id} on {repo}"):
            gh = self._app._client(self.installation_id)
            body = {k: v for k, v in fields.items() if v is not None}
            gh.rest.checks.update(owner, name_, check_run_id, data=cast(Any, body))


def _read_file(client: InstallationClient, repo: str, path: str, ref: str) -> str | None:
    owner, name = repo.split("/", 1)
    try:
        with github_errors(f"reading {path} at {ref or 'the default branch'} in {repo}"):
            gh = client._app._client(client.installation_id)
            # no ref: GitHub reads the repository's default branch
            answer = gh.rest.repos.get_content(owner, name, path, ref=ref) if ref else gh.rest.repos.get_content(
                owner, name, path)
            data = answer.parsed_data
    except GitHubPermanentError as exc:
        if exc.status == 404:
            return None
        raise
    if getattr(data, "type", None) != "file" or getattr(data, "encoding", None) != "base64":
        return None  # a directory, symlink or submodule is not a config file
    return base64.b64decode(data.content).decode("utf-8", errors="replace")  # type: ignore[union-attr]


def utc_now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

