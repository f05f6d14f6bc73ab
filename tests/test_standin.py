"""The GitHub stand-in, over real HTTP: auth, check runs (through githubkit), limits, git fetch, payloads."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import os
import subprocess
import time
from pathlib import Path

import githubkit
import httpx
import jwt
import pytest
from githubkit_schemas.latest import models

from tests.standin import GitHubStandin, sign, webhook_payload
from tests.standin.auth import generate_private_key_pem

INSTALLATION_ID = 77
OWNER = "acme"
REPO = "widgets"
FULL_NAME = f"{OWNER}/{REPO}"


def git(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    base.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_TERMINAL_PROMPT="0",
        GIT_AUTHOR_NAME="T",
        GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="T",
        GIT_COMMITTER_EMAIL="t@example.com",
    )
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def source_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A non-bare repository with two commits on main: (path, first sha, second sha)."""
    path = tmp_path_factory.mktemp("source")
    git("init", "-q", "-b", "main", cwd=path)
    (path / "README.md").write_text("hello\n")
    git("add", "README.md", cwd=path)
    git("commit", "-q", "-m", "first", cwd=path)
    first = git("rev-parse", "HEAD", cwd=path).stdout.strip()
    (path / "app.py").write_text("print('hi')\n")
    git("add", "app.py", cwd=path)
    git("commit", "-q", "-m", "second", cwd=path)
    second = git("rev-parse", "HEAD", cwd=path).stdout.strip()
    return path, first, second


@pytest.fixture
def standin(source_repo: tuple[Path, str, str]):
    with GitHubStandin() as server:
        server.add_installation(INSTALLATION_ID, OWNER)
        server.add_installation(88, "other", "User")
        server.add_repository(INSTALLATION_ID, FULL_NAME, source_repo[0], repo_id=1234)
        server.add_repository(88, "other/private", source_repo[0], repo_id=5678)
        yield server


def app_jwt(
    standin: GitHubStandin,
    *,
    key: str | None = None,
    iat: int | None = -60,
    exp: int | None = 540,
    **claims: object,
) -> str:
    """A JWT for the app; `iat` and `exp` are seconds from now (None leaves the claim out)."""
    now = int(time.time())
    payload = {"iss": str(standin.app_id), **claims}
    payload.update(
        {name: now + offset for name, offset in (("iat", iat), ("exp", exp)) if offset is not None}
    )
    return jwt.encode(payload, key or standin.private_key_pem, algorithm="RS256")


def installation_token(standin: GitHubStandin, installation_id: int = INSTALLATION_ID) -> str:
    response = httpx.post(
        f"{standin.url}/app/installations/{installation_id}/access_tokens",
        headers={"Authorization": f"Bearer {app_jwt(standin)}"},
    )
    assert response.status_code == 201, response.text
    return response.json()["token"]


def api(standin: GitHubStandin, method: str, path: str, token: str, body: object = None) -> httpx.Response:
    return httpx.request(
        method, f"{standin.url}{path}", json=body, headers={"Authorization": f"token {token}"}
    )


def installation_client(standin: GitHubStandin) -> githubkit.GitHub:
    app = githubkit.GitHub(
        githubkit.AppAuthStrategy(standin.app_id, standin.private_key_pem),
        base_url=standin.url,
        auto_retry=False,
    )
    return app.with_auth(app.auth.as_installation(INSTALLATION_ID))


# -- app authentication ------------------------------------------------------------------------------


def test_valid_app_jwt_reads_the_app_and_its_installation(standin: GitHubStandin) -> None:
    headers = {"Authorization": f"Bearer {app_jwt(standin)}"}
    app = httpx.get(f"{standin.url}/app", headers=headers)
    inst = httpx.get(f"{standin.url}/app/installations/{INSTALLATION_ID}", headers=headers)

    assert app.status_code == 200 and inst.status_code == 200
    assert models.Integration.model_validate(app.json()).slug == "verdict"
    parsed = models.Installation.model_validate(inst.json())
    assert parsed.id == INSTALLATION_ID and parsed.account.login == OWNER  # type: ignore[union-attr]
    assert standin.errors == []


@pytest.mark.parametrize(
    ("claims", "use_other_key", "message"),
    [
        ({}, True, "A JSON web token could not be decoded"),
        ({"exp": 900}, False, "'Expiration time' claim ('exp') is too far in the future"),
        ({"iss": "999"}, False, "A JSON web token could not be decoded"),
        ({"iss": "verdict"}, False, "'Issuer' claim ('iss') must be an Integer"),
        (
            {"iat": -700, "exp": -100},
            False,
            "'Expiration time' claim ('exp') must",
        ),
        (
            {"iat": 300, "exp": 500},
            False,
            "'Issued at' claim ('iat') must",
        ),
        ({"iat": None}, False, "'Issued at' claim ('iat') must"),
    ],
)
def test_bad_app_jwts_are_refused(
    standin: GitHubStandin, claims: dict, use_other_key: bool, message: str
) -> None:
    key = generate_private_key_pem() if use_other_key else None
    response = httpx.get(
        f"{standin.url}/app", headers={"Authorization": f"Bearer {app_jwt(standin, key=key, **claims)}"}
    )

    assert response.status_code == 401
    assert response.json()["message"].startswith(message)
    assert len(standin.errors) == 1


def test_unknown_installation_is_404(standin: GitHubStandin) -> None:
    response = httpx.get(
        f"{standin.url}/app/installations/31337", headers={"Authorization": f"Bearer {app_jwt(standin)}"}
    )

    assert response.status_code == 404
    assert response.json()["message"] == "Not Found" and "documentation_url" in response.json()


# -- installation tokens -----------------------------------------------------------------------------


def test_installation_token_reads_only_its_own_repositories(standin: GitHubStandin) -> None:
    created = httpx.post(
        f"{standin.url}/app/installations/{INSTALLATION_ID}/access_tokens",
        headers={"Authorization": f"Bearer {app_jwt(standin)}"},
    )
    token = models.InstallationToken.model_validate(created.json())
    assert created.status_code == 201 and token.token.startswith("ghs_") and len(token.token) == 40
    assert token.token in standin.issued_tokens()

    own = api(standin, "GET", f"/repos/{FULL_NAME}", token.token)
    assert own.status_code == 200
    assert models.FullRepository.model_validate(own.json()).clone_url == f"{standin.url}/{FULL_NAME}.git"
    assert standin.errors == []

    assert api(standin, "GET", "/repos/other/private", token.token).status_code == 404
    assert (
        api(standin, "GET", f"/repos/{FULL_NAME}", "ghs_" + "x" * 36).json()["message"] == "Bad credentials"
    )
    standin.expire_tokens()
    assert api(standin, "GET", f"/repos/{FULL_NAME}", token.token).status_code == 401
    assert len(standin.errors) == 3


def test_every_response_carries_rate_limit_headers_and_redacts_recorded_credentials(
    standin: GitHubStandin,
) -> None:
    token = installation_token(standin)
    response = api(standin, "GET", f"/repos/{FULL_NAME}", token)

    for name in (
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
        "X-RateLimit-Resource",
        "X-GitHub-Request-Id",
    ):
        assert response.headers.get(name), name
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert all(token not in json.dumps(r.headers) for r in standin.requests)


def test_documents_match_githubs_response_schemas(standin: GitHubStandin, source_repo) -> None:
    token = installation_token(standin)
    run = api(
        standin, "POST", f"/repos/{FULL_NAME}/check-runs", token, {"name": "t", "head_sha": source_repo[1]}
    )
    jwt_headers = {"Authorization": f"Bearer {app_jwt(standin)}"}
    answers = {
        "check-run": run.json(),
        "integration": httpx.get(f"{standin.url}/app", headers=jwt_headers).json(),
        "installation": httpx.get(
            f"{standin.url}/app/installations/{INSTALLATION_ID}", headers=jwt_headers
        ).json(),
        "full-repository": api(standin, "GET", f"/repos/{FULL_NAME}", token).json(),
    }
    for schema, document in answers.items():
        assert standin.spec.component_errors(schema, document) == [], schema


# -- check runs --------------------------------------------------------------------------------------


def test_check_run_round_trip_through_githubkit(standin: GitHubStandin, source_repo) -> None:
    sha = source_repo[2]
    annotation = {
        "path": "app.py",
        "start_line": 1,
        "end_line": 1,
        "annotation_level": "failure",
        "message": "boom",
        "title": "test_app",
    }
    with installation_client(standin) as gh:
        created = gh.rest.checks.create(
            OWNER,
            REPO,
            data={"name": "verdict", "head_sha": sha, "status": "in_progress", "external_id": "run-1"},
        ).parsed_data
        gh.rest.checks.update(
            OWNER,
            REPO,
            created.id,
            data={"output": {"title": "Running", "summary": "1 failure so far", "annotations": [annotation]}},
        )
        done = gh.rest.checks.update(
            OWNER,
            REPO,
            created.id,
            data={
                "conclusion": "failure",
                "output": {
                    "title": "1 failed",
                    "summary": "1 failed",
                    "text": "details",
                    "annotations": [{**annotation, "start_line": 1, "end_line": 1}],
                },
                "actions": [{"label": "Re-run", "description": "Run the tests again", "identifier": "rerun"}],
            },
        ).parsed_data
        fetched = gh.rest.checks.get(OWNER, REPO, created.id).parsed_data
        listed = gh.rest.checks.list_annotations(OWNER, REPO, created.id).parsed_data

    assert done.status == "completed" and done.conclusion == "failure" and done.completed_at is not None
    assert fetched.output.annotations_count == 2 and len(listed) == 2 and listed[0].blob_href
    [record] = standin.check_runs(FULL_NAME)
    assert (record.id, record.head_sha, record.external_id) == (created.id, sha, "run-1")
    assert record.history == [("in_progress", None), ("in_progress", None), ("completed", "failure")]
    assert record.annotation_batches == [0, 1, 1] and len(record.annotations) == 2
    assert record.output == {"title": "1 failed", "summary": "1 failed", "text": "details"}
    assert record.actions[0]["identifier"] == "rerun"
    assert standin.errors == []


def test_check_run_for_an_unknown_commit_is_refused(standin: GitHubStandin) -> None:
    response = api(
        standin,
        "POST",
        f"/repos/{FULL_NAME}/check-runs",
        installation_token(standin),
        {"name": "verdict", "head_sha": "0" * 40},
    )

    assert response.status_code == 422 and "No commit found" in response.json()["message"]


def _annotations(count: int) -> list[dict]:
    return [
        {
            "path": "a.py",
            "start_line": n + 1,
            "end_line": n + 1,
            "annotation_level": "warning",
            "message": "m",
        }
        for n in range(count)
    ]


def _output(summary: str = "s", **extra: object) -> dict:
    return {"title": "t", "summary": summary, **extra}


@pytest.mark.parametrize(
    ("body", "accepted"),
    [
        ({"output": _output(annotations=_annotations(50))}, True),
        ({"output": _output(annotations=_annotations(51))}, False),
        ({"output": _output("é" * 32767 + "a")}, True),  # 65,535 bytes
        ({"output": _output("é" * 32768)}, False),  # 65,536 bytes, though only 32,768 characters
        ({"output": _output(text="€" * 21846)}, False),  # 65,538 bytes
        ({"output": {"summary": "no title"}}, False),
        ({"output": _output(annotations=[{**_annotations(1)[0], "path": "/abs/a.py"}])}, False),
        ({"output": _output(annotations=[{**_annotations(1)[0], "end_line": 3, "start_column": 2}])}, False),
        ({"output": _output(annotations=[{**_annotations(1)[0], "title": "x" * 256}])}, False),
        ({"output": _output(annotations=[{**_annotations(1)[0], "message": "x" * 65537}])}, False),
        ({"actions": [{"label": "x" * 21, "description": "d", "identifier": "i"}]}, False),
        ({"actions": [{"label": "l", "description": "d", "identifier": f"i{n}"} for n in range(4)]}, False),
        ({"status": "completed"}, False),
        ({"status": "bogus"}, False),
        ({"conclusion": "stale"}, False),
        ({"started_at": "yesterday"}, False),
        ({"conclusion": "success"}, True),
    ],
)
def test_check_run_limits(standin: GitHubStandin, source_repo, body: dict, accepted: bool) -> None:
    response = api(
        standin,
        "POST",
        f"/repos/{FULL_NAME}/check-runs",
        installation_token(standin),
        {"name": "verdict", "head_sha": source_repo[1], **body},
    )

    assert response.status_code == (201 if accepted else 422), response.text
    assert (standin.errors == []) is accepted
    if not accepted:
        assert response.json()["message"].startswith("Invalid request.\n\n")


def test_conclusion_implies_completed_and_annotations_accumulate(standin: GitHubStandin, source_repo) -> None:
    token = installation_token(standin)
    run = api(
        standin,
        "POST",
        f"/repos/{FULL_NAME}/check-runs",
        token,
        {"name": "v", "head_sha": source_repo[1], "output": _output(annotations=_annotations(50))},
    ).json()
    path = f"/repos/{FULL_NAME}/check-runs/{run['id']}"
    api(standin, "PATCH", path, token, {"output": _output(annotations=_annotations(30))})
    done = api(standin, "PATCH", path, token, {"conclusion": "success"}).json()
    page = api(standin, "GET", f"{path}/annotations?per_page=100&page=1", token)

    assert done["status"] == "completed" and done["output"]["annotations_count"] == 80
    assert len(page.json()) == 80
    assert standin.check_runs()[0].annotation_batches == [50, 30, 0]
    assert standin.errors == []


def test_unknown_and_unimplemented_routes_are_errors(standin: GitHubStandin) -> None:
    token = installation_token(standin)

    assert api(standin, "GET", "/no/such/route", token).status_code == 404
    assert api(standin, "GET", f"/repos/{FULL_NAME}/pulls", token).status_code == 404
    assert len(standin.errors) == 2 and "does not implement" in standin.errors[1]


# -- injected failures -------------------------------------------------------------------------------


def test_injected_failure_answers_once(standin: GitHubStandin) -> None:
    token = installation_token(standin)
    standin.inject_failure("GET", rf"^/repos/{FULL_NAME}$", 429, headers={"Retry-After": "7"})

    first = api(standin, "GET", f"/repos/{FULL_NAME}", token)
    second = api(standin, "GET", f"/repos/{FULL_NAME}", token)

    assert first.status_code == 429 and first.headers["Retry-After"] == "7"
    assert second.status_code == 200
    assert standin.errors == []


def test_githubkit_retries_an_injected_server_error(standin: GitHubStandin, source_repo) -> None:
    standin.inject_failure("POST", r"/check-runs$", 502)
    app = githubkit.GitHub(
        githubkit.AppAuthStrategy(standin.app_id, standin.private_key_pem), base_url=standin.url
    )
    with app.with_auth(app.auth.as_installation(INSTALLATION_ID)) as gh:
        gh.rest.checks.create(OWNER, REPO, data={"name": "v", "head_sha": source_repo[1]})

    assert [r.status for r in standin.requests if r.path.endswith("/check-runs")] == [502, 201]
    assert len(standin.check_runs()) == 1


# -- git over smart HTTP -----------------------------------------------------------------------------


def _fetch(
    standin: GitHubStandin, tmp_path: Path, sha: str, password: str | None, user: str = "x-access-token"
) -> subprocess.CompletedProcess[str]:
    workspace = tmp_path / "ws"
    workspace.mkdir(parents=True)
    git("init", "-q", cwd=workspace)
    env = {}
    if password is not None:
        basic = base64.b64encode(f"{user}:{password}".encode()).decode()
        env = {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        }
    return git("fetch", "--depth=1", f"{standin.url}/{FULL_NAME}.git", sha, cwd=workspace, env=env)


@pytest.mark.parametrize("protocol", ["version=2", "version=0"])
def test_git_fetch_by_sha_with_a_token(
    standin: GitHubStandin, source_repo, tmp_path: Path, protocol: str
) -> None:
    token = installation_token(standin)
    workspace = tmp_path / "ws"
    git("init", "-q", str(workspace), cwd=tmp_path)
    git("config", "protocol.version", protocol.split("=")[1], cwd=workspace)
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    env = {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
    }
    fetched = git(
        "fetch", "--depth=1", f"{standin.url}/{FULL_NAME}.git", source_repo[1], cwd=workspace, env=env
    )

    assert fetched.returncode == 0, fetched.stderr
    assert git("cat-file", "-t", source_repo[1], cwd=workspace).stdout.strip() == "commit"
    assert standin.errors == []


def test_git_fetch_without_a_valid_token_fails(standin: GitHubStandin, source_repo, tmp_path: Path) -> None:
    assert _fetch(standin, tmp_path / "a", source_repo[2], None).returncode != 0
    assert _fetch(standin, tmp_path / "b", source_repo[2], "ghs_" + "y" * 36).returncode != 0
    assert _fetch(standin, tmp_path / "c", source_repo[2], installation_token(standin, 88)).returncode != 0
    assert len(standin.errors) == 2  # the bare 401 challenge is part of normal HTTP auth, not an error


# -- webhook payloads --------------------------------------------------------------------------------


def test_pull_request_payload_points_at_the_standin(standin: GitHubStandin) -> None:
    clone_url = f"{standin.url}/{FULL_NAME}.git"
    payload = webhook_payload(
        "pull_request",
        "synchronize.payload.json",
        full_name=FULL_NAME,
        repo_id=1234,
        installation_id=INSTALLATION_ID,
        clone_url=clone_url,
        head_sha="a" * 40,
        base_sha="b" * 40,
        head_ref="feature",
    )

    assert payload["repository"]["full_name"] == FULL_NAME and payload["repository"]["id"] == 1234
    assert (
        payload["repository"]["owner"]["login"] == OWNER and payload["repository"]["clone_url"] == clone_url
    )
    assert payload["repository"]["url"] == f"{standin.url}/repos/{FULL_NAME}"
    for side in ("base", "head"):
        assert payload["pull_request"][side]["repo"]["full_name"] == FULL_NAME
    assert (payload["pull_request"]["head"]["sha"], payload["pull_request"]["base"]["sha"]) == (
        "a" * 40,
        "b" * 40,
    )
    assert payload["pull_request"]["head"]["ref"] == "feature"
    assert payload["installation"]["id"] == INSTALLATION_ID


@pytest.mark.parametrize(
    ("event", "filename"),
    [
        ("push", "with-new-branch.payload.json"),
        ("check_suite", "requested.payload.json"),
        ("check_run", "rerequested.payload.json"),
        ("issue_comment", "created.payload.json"),
    ],
)
def test_other_payloads_point_at_the_standin(event: str, filename: str) -> None:
    payload = webhook_payload(
        event,
        filename,
        full_name=FULL_NAME,
        repo_id=1234,
        installation_id=9,
        clone_url=f"http://127.0.0.1:1/{FULL_NAME}.git",
        head_sha="c" * 40,
        before="d" * 40,
        head_ref="main",
    )

    assert payload["installation"]["id"] == 9 and payload["repository"]["full_name"] == FULL_NAME
    if event == "push":
        assert (payload["before"], payload["after"], payload["head_commit"]["id"]) == (
            "d" * 40,
            "c" * 40,
            "c" * 40,
        )
        assert payload["ref"] == "refs/heads/main"
    if event == "check_suite":
        assert (
            payload["check_suite"]["head_sha"] == "c" * 40 and payload["check_suite"]["head_branch"] == "main"
        )
    if event == "check_run":
        assert payload["check_run"]["head_sha"] == payload["check_run"]["check_suite"]["head_sha"] == "c" * 40
    # the fixture itself is untouched
    again = webhook_payload(event, filename, full_name="x/y", repo_id=1, installation_id=1, clone_url="u")
    assert again["repository"]["full_name"] == "x/y"


def test_sign_matches_githubs_scheme() -> None:
    body = b'{"zen": "Keep it logically awesome."}'
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()

    assert sign(body, "s3cret") == expected


def test_git_upload_pack_accepts_gzip_and_chunked_bodies(standin: GitHubStandin, source_repo) -> None:
    want = f"want {source_repo[1]}\n".encode()
    request = b"%04x" % (len(want) + 4) + want + b"0000" + b"0009done\n"
    basic = base64.b64encode(f"x-access-token:{installation_token(standin)}".encode()).decode()
    headers = {
        "Authorization": f"Basic {basic}",
        "Content-Type": "application/x-git-upload-pack-request",
        "Content-Encoding": "gzip",
    }

    response = httpx.post(
        f"{standin.url}/{FULL_NAME}.git/git-upload-pack",
        headers=headers,
        content=iter([gzip.compress(request)]),
    )  # an iterator is sent chunked

    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/x-git-upload-pack-result"
    assert b"PACK" in response.content
    assert standin.requests[-1].headers.get("transfer-encoding") == "chunked"
    assert standin.errors == []
