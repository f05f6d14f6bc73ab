"""Real webhook payloads from ../shared/fixtures, pointed at a stand-in repository, and their signatures.

The examples are read in place (never copied into this repository); each call returns a fresh deep
copy with the repository, installation and commit fields replaced.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from functools import cache
from pathlib import Path
from typing import Any

from .documents import rebase

WEBHOOKS_DIR = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "github" / "webhooks"


@cache
def _example(event: str, filename: str) -> dict[str, Any]:
    path = WEBHOOKS_DIR / event / filename
    if not path.is_file():
        raise FileNotFoundError(f"no webhook example {event}/{filename} under {WEBHOOKS_DIR}")
    with path.open("rb") as handle:
        return json.load(handle)


def sign(body: bytes, secret: str) -> str:
    """The X-Hub-Signature-256 header value GitHub sends for `body`."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def webhook_payload(
    event: str,
    filename: str,
    *,
    full_name: str,
    repo_id: int,
    installation_id: int,
    clone_url: str,
    head_sha: str | None = None,
    base_sha: str | None = None,
    before: str | None = None,
    after: str | None = None,
    head_ref: str | None = None,
    app_id: int | None = None,
    check_run_id: int | None = None,
) -> dict[str, Any]:
    """The example `<event>/<filename>` with its repository, installation and commits replaced."""
    payload = copy.deepcopy(_example(event, filename))
    base_url = clone_url.removesuffix(f"/{full_name}.git")
    target = {"full_name": full_name, "id": repo_id, "clone_url": clone_url, "base_url": base_url}
    if isinstance(payload.get("repository"), dict):
        payload["repository"] = _pointed_repository(payload["repository"], target)
    installation = payload.setdefault("installation", {})
    installation["id"] = installation_id
    if app_id is not None and "app_id" in installation:
        installation["app_id"] = app_id
    for key in ("repositories", "repositories_added"):
        if payload.get(key):
            payload[key] = [_listed_repository(payload[key][0], full_name, repo_id)]
    if "pull_request" in payload:
        _point_pull_request(payload["pull_request"], target, head_sha, base_sha, head_ref)
    if "check_suite" in payload:
        _point_suite(payload["check_suite"], head_sha, head_ref, app_id)
    if "check_run" in payload:
        _point_check_run(payload["check_run"], head_sha, head_ref, app_id, check_run_id)
    if event == "push":
        _point_push(payload, before, after or head_sha, head_ref)
    elif event == "pull_request":
        payload.update(
            {k: v for k, v in (("before", before), ("after", after)) if v is not None and k in payload}
        )
    return payload


def _pointed_repository(repository: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    full_name, base = target["full_name"], target["base_url"]
    owner, name = full_name.split("/", 1)
    old_full, old_owner = repository["full_name"], repository["owner"]["login"]
    repo = rebase(
        repository, [(old_full, full_name), ("https://api.github.com", base), ("https://github.com", base)]
    )
    repo.update(
        id=target["id"],
        name=name,
        full_name=full_name,
        clone_url=target["clone_url"],
        html_url=f"{base}/{full_name}",
        url=f"{base}/repos/{full_name}",
    )
    repo["owner"] = rebase(repo["owner"], [(old_owner, owner)])
    repo["owner"]["login"] = owner
    return repo


def _listed_repository(entry: dict[str, Any], full_name: str, repo_id: int) -> dict[str, Any]:
    return {**entry, "id": repo_id, "name": full_name.split("/", 1)[1], "full_name": full_name}


def _point_pull_request(
    pr: dict[str, Any],
    target: dict[str, Any],
    head_sha: str | None,
    base_sha: str | None,
    head_ref: str | None,
) -> None:
    for side in ("base", "head"):
        if isinstance(pr.get(side, {}).get("repo"), dict):
            pr[side]["repo"] = _pointed_repository(pr[side]["repo"], target)
    if head_sha is not None:
        pr["head"]["sha"] = head_sha
    if base_sha is not None:
        pr["base"]["sha"] = base_sha
    if head_ref is not None:
        pr["head"]["ref"] = head_ref
        pr["head"]["label"] = f"{target['full_name'].split('/', 1)[0]}:{head_ref}"


def _point_suite(
    suite: dict[str, Any], head_sha: str | None, head_ref: str | None, app_id: int | None
) -> None:
    if head_sha is not None:
        suite["head_sha"] = head_sha
        if isinstance(suite.get("head_commit"), dict):
            suite["head_commit"]["id"] = head_sha
    if head_ref is not None:
        suite["head_branch"] = head_ref
    if app_id is not None and isinstance(suite.get("app"), dict):
        suite["app"]["id"] = app_id


def _point_check_run(
    run: dict[str, Any],
    head_sha: str | None,
    head_ref: str | None,
    app_id: int | None,
    check_run_id: int | None,
) -> None:
    if head_sha is not None:
        run["head_sha"] = head_sha
    if check_run_id is not None:
        run["id"] = check_run_id
    if app_id is not None and isinstance(run.get("app"), dict):
        run["app"]["id"] = app_id
    if isinstance(run.get("check_suite"), dict):
        _point_suite(run["check_suite"], head_sha, head_ref, app_id)


def _point_push(payload: dict[str, Any], before: str | None, after: str | None, head_ref: str | None) -> None:
    if before is not None:
        payload["before"] = before
    if after is not None:
        payload["after"] = after
        if isinstance(payload.get("head_commit"), dict):
            payload["head_commit"]["id"] = after
        if payload.get("commits"):
            payload["commits"][-1]["id"] = after
    if head_ref is not None:
        payload["ref"] = head_ref if head_ref.startswith("refs/") else f"refs/heads/{head_ref}"
