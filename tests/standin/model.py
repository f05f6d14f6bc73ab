"""What the stand-in knows: the app, its installations and repositories, check runs, recorded requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_PERMISSIONS = {
    "checks": "write",
    "contents": "read",
    "metadata": "read",
    "pull_requests": "read",
    "issues": "write",
}
DEFAULT_EVENTS = ["check_run", "check_suite", "issue_comment", "pull_request", "push"]


@dataclass(frozen=True)
class AppIdentity:
    app_id: int
    slug: str
    client_id: str
    name: str
    owner_login: str
    permissions: dict[str, str]
    events: list[str]


@dataclass
class Installation:
    id: int
    account_login: str
    account_type: str
    account_id: int
    permissions: dict[str, str]
    events: list[str]
    suspended: bool = False


@dataclass
class Repository:
    id: int
    full_name: str
    installation_id: int
    git_dir: Path
    default_branch: str = "main"

    @property
    def owner(self) -> str:
        return self.full_name.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.full_name.split("/", 1)[1]


@dataclass
class RecordedRequest:
    """One request as the stand-in saw it (the Authorization header redacted)."""

    method: str
    path: str
    status: int
    json: Any
    headers: dict[str, str]
    query: dict[str, str] = field(default_factory=dict)


@dataclass
class CheckRunRecord:
    """A check run's state; annotations accumulate across writes, as on GitHub."""

    id: int
    full_name: str
    name: str
    head_sha: str
    status: str
    conclusion: str | None
    details_url: str | None
    external_id: str | None
    output: dict[str, Any]
    annotations: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    started_at: str | None
    completed_at: str | None
    history: list[tuple[str, str | None]] = field(default_factory=list)
    annotation_batches: list[int] = field(default_factory=list)
    check_suite_id: int = 0
    installation_id: int = 0
