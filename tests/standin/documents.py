"""Response documents in GitHub's shapes, built from the OpenAPI description's own examples.

Each document starts as the example for its schema (so every field GitHub returns is there), has
its URLs pointed at the stand-in, and gets the stand-in's values for the fields that matter.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from .model import AppIdentity, CheckRunRecord, Installation, Repository
from .openapi import OpenAPISpec

CREATED_AT = "2024-01-02T03:04:05Z"


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode("ascii").rstrip("=")


def rebase(value: Any, replacements: list[tuple[str, str]]) -> Any:
    """`value` with each (old, new) replaced, in order, in every string it contains."""
    if isinstance(value, dict):
        return {key: rebase(item, replacements) for key, item in value.items()}
    if isinstance(value, list):
        return [rebase(item, replacements) for item in value]
    if isinstance(value, str):
        for old, new in replacements:
            value = value.replace(old, new)
    return value


def _hosts(base: str) -> list[tuple[str, str]]:
    host = base.split("://", 1)[1]
    return [
        ("https://api.github.com", base),
        ("https://github.com", base),
        ("git://github.com", f"git://{host}"),
        ("git@github.com", f"git@{host}"),
        ("https://svn.github.com", base),
    ]


def account_doc(
    spec: OpenAPISpec, base: str, login: str, account_id: int, account_type: str
) -> dict[str, Any]:
    """A `simple-user` for a user or organization account."""
    example = spec.example("integration")["owner"]
    doc = rebase(example, [("octocat", login), *_hosts(base)])
    kind = "orgs" if account_type == "Organization" else "users"
    doc.update(
        id=account_id,
        login=login,
        type=account_type,
        node_id=node_id(account_type, account_id),
        url=f"{base}/{kind}/{login}",
        repos_url=f"{base}/{kind}/{login}/repos",
        site_admin=False,
    )
    return doc


def app_doc(spec: OpenAPISpec, base: str, app: AppIdentity) -> dict[str, Any]:
    """An `integration` (GET /app, and a check run's `app`)."""
    doc = rebase(spec.example("integration"), _hosts(base))
    doc.update(
        id=app.app_id,
        slug=app.slug,
        client_id=app.client_id,
        node_id=node_id("Integration", app.app_id),
        name=app.name,
        description="Runs the tests a change can affect",
        external_url=f"{base}/apps/{app.slug}",
        html_url=f"{base}/apps/{app.slug}",
        created_at=CREATED_AT,
        updated_at=CREATED_AT,
        owner=account_doc(spec, base, app.owner_login, 1, "Organization"),
        permissions=dict(app.permissions),
        events=list(app.events),
    )
    return doc


def installation_doc(spec: OpenAPISpec, base: str, app: AppIdentity, inst: Installation) -> dict[str, Any]:
    doc = rebase(spec.example("installation"), _hosts(base))
    login = inst.account_login
    settings = f"organizations/{login}/settings" if inst.account_type == "Organization" else "settings"
    doc.update(
        id=inst.id,
        account=account_doc(spec, base, login, inst.account_id, inst.account_type),
        repository_selection="selected",
        access_tokens_url=f"{base}/app/installations/{inst.id}/access_tokens",
        repositories_url=f"{base}/installation/repositories",
        html_url=f"{base}/{settings}/installations/{inst.id}",
        app_id=app.app_id,
        client_id=app.client_id,
        target_id=inst.account_id,
        target_type=inst.account_type,
        permissions=dict(inst.permissions),
        events=list(inst.events),
        created_at=CREATED_AT,
        updated_at=CREATED_AT,
        single_file_name=None,
        has_multiple_single_files=False,
        single_file_paths=[],
        app_slug=app.slug,
        suspended_at=CREATED_AT if inst.suspended else None,
        suspended_by=None,
    )
    return doc


def repository_doc(
    spec: OpenAPISpec, base: str, repo: Repository, inst: Installation, *, full: bool = True
) -> dict[str, Any]:
    """A `full-repository` (GET /repos/{owner}/{repo}) or, with full=False, a `repository`."""
    example = (
        spec.example("full-repository") if full else spec.example("installation-token")["repositories"][0]
    )
    doc = rebase(
        example,
        [
            ("octocat/Hello-World", repo.full_name),
            ("Hello-World", repo.name),
            ("octocat", repo.owner),
            *_hosts(base),
        ],
    )
    for key in ("parent", "source", "template_repository"):
        doc.pop(key, None)
    if inst.account_type == "Organization" and "organization" in doc:
        doc["organization"] = account_doc(spec, base, inst.account_login, inst.account_id, "Organization")
    else:
        doc.pop("organization", None)
    doc.update(
        id=repo.id,
        node_id=node_id("Repository", repo.id),
        name=repo.name,
        full_name=repo.full_name,
        owner=account_doc(spec, base, inst.account_login, inst.account_id, inst.account_type),
        private=True,
        visibility="private",
        fork=False,
        default_branch=repo.default_branch,
        url=f"{base}/repos/{repo.full_name}",
        html_url=f"{base}/{repo.full_name}",
        clone_url=f"{base}/{repo.full_name}.git",
        archived=False,
        disabled=False,
        has_discussions=False,
        permissions={"admin": False, "maintain": False, "push": False, "triage": False, "pull": True},
    )
    return doc


def token_doc(
    spec: OpenAPISpec,
    base: str,
    token: str,
    expires_at: float,
    permissions: dict[str, str],
    repositories: list[tuple[Repository, Installation]] | None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "token": token,
        "expires_at": iso(expires_at),
        "permissions": dict(permissions),
        "repository_selection": "selected",
    }
    if repositories is not None:
        doc["repositories"] = [
            repository_doc(spec, base, repo, inst, full=False) for repo, inst in repositories
        ]
    return doc


def check_run_doc(spec: OpenAPISpec, base: str, app: AppIdentity, run: CheckRunRecord) -> dict[str, Any]:
    api = f"{base}/repos/{run.full_name}/check-runs/{run.id}"
    return {
        "id": run.id,
        "head_sha": run.head_sha,
        "node_id": node_id("CheckRun", run.id),
        "external_id": run.external_id or "",
        "url": api,
        "html_url": f"{base}/{run.full_name}/runs/{run.id}",
        "details_url": run.details_url or f"{base}/apps/{app.slug}",
        "status": run.status,
        "conclusion": run.conclusion,
        "started_at": run.started_at,
        "completed_at": run.completed_at,
        "output": {
            "title": run.output.get("title"),
            "summary": run.output.get("summary"),
            "text": run.output.get("text"),
            "annotations_count": len(run.annotations),
            "annotations_url": f"{api}/annotations",
        },
        "name": run.name,
        "check_suite": {"id": run.check_suite_id},
        "app": app_doc(spec, base, app),
        "pull_requests": [],
    }


def annotation_doc(base: str, run: CheckRunRecord, annotation: dict[str, Any]) -> dict[str, Any]:
    """A `check-annotation` as `GET .../check-runs/{id}/annotations` lists it."""
    keys = (
        "path",
        "start_line",
        "end_line",
        "start_column",
        "end_column",
        "annotation_level",
        "title",
        "message",
        "raw_details",
    )
    doc = {key: annotation.get(key) for key in keys}
    if doc["title"] is None:
        doc["title"] = ""
    if doc["raw_details"] is None:
        doc["raw_details"] = ""
    doc["blob_href"] = f"{base}/{run.full_name}/blob/{run.head_sha}/{annotation['path']}"
    return doc


def error_doc(message: str, docs_url: str = "https://docs.github.com/rest", **extra: Any) -> dict[str, Any]:
    return {"message": message, "documentation_url": docs_url, **extra}


def content_file_doc(base_url: str, repo: Any, path: str, ref: str, content: bytes, sha: str) -> dict[str, Any]:
    """GitHub's `content-file` object."""
    api = f"{base_url}/repos/{repo.full_name}/contents/{path}?ref={ref}"
    html = f"{base_url}/{repo.full_name}/blob/{ref}/{path}"
    git = f"{base_url}/repos/{repo.full_name}/git/blobs/{sha}"
    encoded = base64.b64encode(content).decode()
    return {
        "type": "file", "encoding": "base64", "size": len(content), "name": path.rsplit("/", 1)[-1],
        "path": path, "content": "\n".join(encoded[i:i + 60] for i in range(0, len(encoded), 60)), "sha": sha,
        "url": api, "git_url": git, "html_url": html,
        "download_url": f"{base_url}/{repo.full_name}/raw/{ref}/{path}",
        "_links": {"git": git, "html": html, "self": api},
    }
