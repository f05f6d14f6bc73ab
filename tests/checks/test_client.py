"""checks/ against the GitHub stand-in: lifecycle, 50-annotation batches, retries, token cache, errors."""

from __future__ import annotations

import subprocess
import time

import pytest

from checks import (
    GitHubApp,
    GitHubPermanentError,
    GitHubTransientError,
    complete,
    create_queued,
    mark_in_progress,
)
from checks.output import MAX_OUTPUT_BYTES, report_for
from runners.result import Outcome, RunResult, TestCase, TestStatus
from verdict.settings import Settings

INSTALLATION = 501
REPO = "octo-org/widgets"


@pytest.fixture
def standin(standin, tmp_path):
    server = standin
    server.add_installation(INSTALLATION, "octo-org")
    repo = tmp_path / "widgets"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "a.txt").write_text("a\n")
    git = ["git", "-C", str(repo), "-c", "user.name=o", "-c", "user.email=o@example.com"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    server.sha = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    server.add_repository(INSTALLATION, REPO, repo)
    return server


@pytest.fixture
def app(standin):
    return GitHubApp(Settings(app_id=standin.app_id, private_key=standin.private_key_pem, webhook_secret="s",
                              github_api_url=standin.url))


def failing(n: int) -> RunResult:
    tests = [TestCase(name=f"test_{i}", status=TestStatus.FAILED, file="tests/test_x.py", line=i + 1,
                      message=f"assert {i} == 0 — ünïcödé", trace="Traceback…\n" * 10) for i in range(n)]
    return RunResult(Outcome.EXITED, 1, 3.0, tests)


def test_lifecycle_with_annotations_in_batches_of_50(standin, app):
    api = app.installation(INSTALLATION)
    check_run_id = create_queued(api, REPO, head_sha=standin.sha, details_url="http://verdict/runs/1", run_id=1)
    mark_in_progress(api, REPO, check_run_id)
    complete(api, REPO, check_run_id, report_for(failing(120)))
    [record] = standin.check_runs(REPO)
    assert record.id == check_run_id and record.external_id == "1"
    assert record.status == "completed" and record.conclusion == "failure"
    assert record.annotation_batches[-3:] == [50, 50, 20]
    assert len(record.annotations) == 120
    assert [h[0] for h in record.history][:2] == ["queued", "in_progress"]
    assert record.history[-1] == ("completed", "failure")
    assert standin.errors == []


def test_summary_at_the_byte_limit_is_accepted(standin, app):
    result = failing(1)
    result.tests[0].message = "😀" * 30_000  # 120,000 bytes of message in the summary and text
    report = report_for(result)
    assert len(report.summary.encode()) <= MAX_OUTPUT_BYTES
    api = app.installation(INSTALLATION)
    check_run_id = create_queued(api, REPO, head_sha=standin.sha, details_url="http://v/runs/2", run_id=2)
    complete(api, REPO, check_run_id, report)
    assert standin.check_runs(REPO)[0].conclusion == "failure"
    assert standin.errors == []


def test_installation_token_is_cached(standin, app):
    api = app.installation(INSTALLATION)
    for run in range(3):
        create_queued(api, REPO, head_sha=standin.sha, details_url="http://v/runs/3", run_id=run)
    token_requests = [r for r in standin.requests if r.path.endswith("/access_tokens")]
    assert len(token_requests) == 1
    assert api.clone_token() in standin.issued_tokens()


def test_server_errors_are_retried(standin, app):
    standin.inject_failure("POST", r"/check-runs$", 502, times=2)
    api = app.installation(INSTALLATION)
    create_queued(api, REPO, head_sha=standin.sha, details_url="http://v/runs/4", run_id=4)
    assert len(standin.check_runs(REPO)) == 1


def test_short_rate_limit_waits_for_retry_after(standin, app):
    standin.inject_failure("POST", r"/check-runs$", 429, headers={"Retry-After": "1"},
                           body={"message": "API rate limit exceeded"})
    started = time.monotonic()
    create_queued(app.installation(INSTALLATION), REPO, head_sha=standin.sha, details_url="http://v/runs/5", run_id=5)
    assert time.monotonic() - started >= 1.0
    assert len(standin.check_runs(REPO)) == 1


def test_long_secondary_rate_limit_goes_back_to_the_queue(standin, app):
    standin.inject_failure("POST", r"/check-runs$", 403, headers={"Retry-After": "600"}, times=5,
                           body={"message": "You have exceeded a secondary rate limit."})
    with pytest.raises(GitHubTransientError) as info:
        create_queued(app.installation(INSTALLATION), REPO, head_sha=standin.sha, details_url="http://v", run_id=6)
    assert info.value.retry_after == 600


def test_unknown_installation_is_permanent(standin, app):
    assert app.installation_exists(INSTALLATION) is True
    assert app.installation_exists(999) is False
    with pytest.raises(GitHubPermanentError) as info:
        create_queued(app.installation(999), REPO, head_sha=standin.sha, details_url="http://v", run_id=7)
    assert info.value.status == 404


def test_rejected_request_is_permanent_with_githubs_message(standin, app):
    api = app.installation(INSTALLATION)
    with pytest.raises(GitHubPermanentError, match="422"):
        api.create_check_run(REPO, name="Verdict", head_sha="f" * 40, details_url="http://v", external_id="8")
