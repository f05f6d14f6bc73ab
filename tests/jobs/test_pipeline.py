"""The jobs in-process against the GitHub stand-in, real Redis and SQLite: idempotent, and always finishing."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest

import storage
from jobs import pipeline, queues
from jobs.reaper import EXPIRED_TITLE, REAPED_TITLE, reap
from tests.conftest import REPO_ROOT
from tests.gitrepo import GitRepo
from tests.standin.payloads import webhook_payload

pytestmark = pytest.mark.usefixtures("bwrap_available")  # jobs run the tests in the process sandbox
INSTALLATION = 610
REPO = "octo-org/calculator"
REPO_ID = 6100


@pytest.fixture
def repo(tmp_path, standin):
    standin.add_installation(INSTALLATION, "octo-org")
    repo = GitRepo(tmp_path / "origin")
    repo.sha = repo.commit_tree(REPO_ROOT / "examples" / "calculator", "calculator with a bug")
    repo.clone_url = standin.add_repository(INSTALLATION, REPO, repo.path, repo_id=REPO_ID)["clone_url"]
    return repo


def new_run(ctx, repo, installation_id=INSTALLATION, delivery_id="d-1", clone_url=None, payload="{}") -> int:
    with storage.session_scope(ctx.sessions) as session:
        storage.upsert_installation(session, installation_id, account_login="octo-org", account_type="Organization")
        storage.upsert_repository(session, REPO_ID, installation_id=installation_id, full_name=REPO,
                                  clone_url=clone_url or repo.clone_url)
        storage.record_delivery(session, delivery_id, event="pull_request", action="opened", payload=payload,
                                installation_id=installation_id)
        storage.set_delivery_status(session, delivery_id, "enqueued")  # as the webhook leaves it
        return storage.start_run(session, installation_id=installation_id, repository_id=REPO_ID, head_sha=repo.sha,
                                 trigger="pull_request.opened", delivery_id=delivery_id).id


def job_ids(ctx, queue) -> list[str]:
    return queue(ctx.redis, ctx.settings).get_job_ids()


def run_row(ctx, run_id):
    with storage.session_scope(ctx.sessions) as session:
        return storage.get_run(session, run_id)


def test_create_check_twice_creates_one_check_run_and_one_job(ctx, standin, repo):
    run_id = new_run(ctx, repo)
    pipeline.create_check(run_id)
    pipeline.create_check(run_id)
    [check_run] = standin.check_runs(REPO)
    assert (check_run.status, check_run.external_id) == ("queued", str(run_id))
    assert check_run.details_url == f"http://verdict.test/runs/{run_id}"
    assert job_ids(ctx, queues.runs_queue) == [queues.job_id(ctx.settings, "execute", run_id)]
    assert run_row(ctx, run_id).check_run_id == check_run.id


def test_execute_twice_runs_and_reports_once(ctx, standin, repo):
    run_id = new_run(ctx, repo)
    pipeline.create_check(run_id)
    pipeline.execute(run_id)
    history = list(standin.check_runs(REPO)[0].history)
    pipeline.execute(run_id)
    [check_run] = standin.check_runs(REPO)
    assert check_run.history == history
    assert (check_run.conclusion, len(check_run.annotations)) == ("failure", 1)
    run = run_row(ctx, run_id)
    assert (run.status, run.conclusion, run.tests_total, run.tests_failed) == ("completed", "failure", 3, 1)
    assert run.reported_at is not None
    assert run.peak_memory_mb > 1 and run.avg_memory_mb > 0 and run.avg_cpu_percent >= 0
    assert f"Resources: peak memory {run.peak_memory_mb:.0f} MB" in check_run.output["summary"]
    with storage.session_scope(ctx.sessions) as session:
        log = [line.text for line in storage.log_lines(session, run_id)]
    assert any("1 failed, 1 passed, 1 skipped" in line for line in log)
    assert standin.errors == []


def test_publish_is_retried_later_when_github_refuses_for_now(ctx, standin, repo):
    run_id = new_run(ctx, repo)
    pipeline.create_check(run_id)
    standin.inject_failure("PATCH", r"/check-runs/\d+$", 403, times=2, headers={"Retry-After": "600"},
                           body={"message": "You have exceeded a secondary rate limit."})
    pipeline.execute(run_id)  # in_progress and the final update both hit the rate limit
    assert run_row(ctx, run_id).status == "completed" and run_row(ctx, run_id).reported_at is None
    assert standin.check_runs(REPO)[0].status == "queued"
    assert queues.job_id(ctx.settings, "publish", run_id) in job_ids(ctx, queues.checks_queue)
    pipeline.publish(run_id)  # what the retried job does
    assert standin.check_runs(REPO)[0].conclusion == "failure"
    assert run_row(ctx, run_id).reported_at is not None


def test_fetch_failure_still_completes_the_check_run(ctx, standin, repo):
    run_id = new_run(ctx, repo, clone_url=f"{standin.url}/octo-org/missing.git")
    pipeline.create_check(run_id)
    pipeline.execute(run_id)
    [check_run] = standin.check_runs(REPO)
    assert (check_run.status, check_run.conclusion) == ("completed", "failure")
    assert check_run.output["title"] == "Verdict could not run the tests"
    assert "git fetch failed" in check_run.output["summary"]
    for token in standin.issued_tokens():
        assert token not in check_run.output["summary"]


def test_unknown_installation_rejects_the_delivery_and_runs_nothing(ctx, standin, repo):
    run_id = new_run(ctx, repo, installation_id=999, delivery_id="d-unknown")
    pipeline.create_check(run_id)
    assert standin.check_runs(REPO) == []
    run = run_row(ctx, run_id)
    assert (run.status, run.conclusion) == ("completed", "cancelled")
    with storage.session_scope(ctx.sessions) as session:
        delivery = storage.get_delivery(session, "d-unknown")
        assert delivery.status == "rejected" and "999" in delivery.detail
    assert job_ids(ctx, queues.runs_queue) == []


def test_reaper_finishes_a_silent_run_and_queues_one_retry(ctx, standin, repo):
    run_id = new_run(ctx, repo)
    pipeline.create_check(run_id)
    with storage.session_scope(ctx.sessions) as session:
        storage.claim_run(session, run_id, worker="gone:1", runner="process")
    later = datetime.now(UTC) + timedelta(seconds=61)
    counts = reap(ctx, now=later)
    assert (counts["reaped"], counts["requeued"]) == (1, 1)
    run = run_row(ctx, run_id)
    assert (run.status, run.conclusion, run.title) == ("completed", "cancelled", REAPED_TITLE)
    assert "gone:1" in run.summary and "attempt 2" in run.summary
    assert reap(ctx, now=later)["reaped"] == 0  # once only
    pipeline.publish(run_id)
    assert standin.check_runs(REPO)[0].conclusion == "cancelled"
    with storage.session_scope(ctx.sessions) as session:
        retry = storage.latest_runs(session)[0]
        assert (retry.attempt, retry.status, retry.trigger) == (2, "queued", "reaper.retry")
        retry_id = retry.id
    assert queues.job_id(ctx.settings, "create-check", retry_id) in job_ids(ctx, queues.checks_queue)


def test_reaper_redrives_a_lost_job_and_expires_a_run_that_never_started(ctx, standin, repo):
    run_id = new_run(ctx, repo)  # queued, but its job never reached Redis
    later = datetime.now(UTC) + timedelta(seconds=61)
    assert reap(ctx, now=later)["redriven"] == 1
    assert job_ids(ctx, queues.checks_queue) == [queues.job_id(ctx.settings, "create-check", run_id)]
    assert reap(ctx, now=later)["redriven"] == 0  # its job is pending now
    assert reap(ctx, now=datetime.now(UTC) + timedelta(hours=25))["expired"] == 1
    run = run_row(ctx, run_id)
    assert (run.status, run.conclusion, run.title) == ("completed", "cancelled", EXPIRED_TITLE)


ARTIFACT_TEST = '''import os


def test_writes_artifacts():
    os.makedirs("artifacts", exist_ok=True)
    with open("artifacts/report.txt", "w") as f:
        f.write("all good")
    os.symlink("/etc/passwd", "artifacts/passwd")
'''


def test_artifacts_are_kept_listed_and_downloadable(ctx, standin, repo):
    repo.sha = repo.write("tests/test_artifacts.py", ARTIFACT_TEST, "write artifacts")
    run_id = new_run(ctx, repo)
    pipeline.create_check(run_id)
    pipeline.execute(run_id)
    with storage.session_scope(ctx.sessions) as session:
        kept = [(a.name, a.size, a.sha256, a.path, a.id) for a in storage.artifacts(session, run_id)]
        log = "\n".join(line.text for line in storage.log_lines(session, run_id))
    [(name, size, sha256, path, artifact_id)] = kept
    assert (name, size) == ("report.txt", 8)
    assert sha256 == hashlib.sha256(b"all good").hexdigest()
    assert "artifact skipped: passwd: a symlink, not collected" in log
    summary = standin.check_runs(REPO)[0].output["summary"]
    assert f"[report.txt](http://verdict.test/runs/{run_id}/artifacts/{artifact_id}) (8 bytes)" in summary
    from webhook import create_app

    client = create_app(ctx.settings).test_client()
    download = client.get(f"/runs/{run_id}/artifacts/{artifact_id}")
    assert download.status_code == 200 and download.data == b"all good"
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert "attachment" in download.headers["Content-Disposition"]
    page = client.get(f"/runs/{run_id}")
    assert "report.txt" in page.get_data(as_text=True) and sha256 in page.get_data(as_text=True)
    assert client.get(f"/runs/{run_id}/artifacts/{artifact_id + 1000}").status_code == 404


def test_config_comes_from_the_default_branch_never_the_head(ctx, standin, repo):
    repo.git("checkout", "-q", "-b", "feature")
    repo.sha = repo.write(".github/verdict.yml", "runner: qemu\nresources:\n  memory: 999g\n", "try to escape limits")
    repo.git("checkout", "-q", "main")
    run_id = new_run(ctx, repo)
    pipeline.create_check(run_id)
    pipeline.execute(run_id)
    [check_run] = standin.check_runs(REPO)
    assert (check_run.conclusion, check_run.output["title"]) == ("failure", "1 failed, 1 passed, 1 skipped")


@pytest.mark.parametrize("config,title,detail", [
    ("runner: vm\nresources:\n  cpus: lots\n", "Invalid .github/verdict.yml",
     "- line 1: runner: must be one of docker, process, qemu, got 'vm'\n- line 3: resources.cpus"),
    ("resources:\n  memory: 64g\n", "Verdict could not run the tests",
     "memory 65536 MB is more than this Verdict allows (2048 MB)"),
])
def test_invalid_or_unsatisfiable_config_fails_the_check_clearly(ctx, standin, repo, config, title, detail):
    repo.sha = repo.write(".github/verdict.yml", config, "config on the default branch")
    run_id = new_run(ctx, repo)
    pipeline.create_check(run_id)
    pipeline.execute(run_id)
    [check_run] = [c for c in standin.check_runs(REPO) if c.name == "Verdict"]
    assert (check_run.status, check_run.conclusion, check_run.output["title"]) == ("completed", "failure", title)
    assert detail in check_run.output["summary"]
    assert standin.errors == []


def test_config_sets_the_runner_and_limits(ctx, standin, repo):
    repo.sha = repo.write(".github/verdict.yml", "runner: process\nresources:\n  timeout: 3s\n", "tight timeout")
    repo.sha = repo.write("tests/test_slow.py", "import time\n\n\ndef test_slow():\n    time.sleep(30)\n", "slow")
    run_id = new_run(ctx, repo)
    pipeline.create_check(run_id)
    pipeline.execute(run_id)
    [check_run] = standin.check_runs(REPO)
    assert check_run.conclusion == "timed_out"


def run_pull_request(ctx, repo, base: str, branch: str, path: str, text: str) -> int:
    """Commit `path` on a branch from `base`, deliver pull_request.opened for it, and run the jobs."""
    repo.git("checkout", "-q", "-b", branch)
    repo.sha = repo.write(path, text, f"change {path}")
    repo.git("checkout", "-q", "main")
    payload = webhook_payload("pull_request", "opened.payload.json", full_name=REPO, repo_id=REPO_ID,
                              installation_id=INSTALLATION, clone_url=repo.clone_url, head_sha=repo.sha,
                              base_sha=base)
    run_id = new_run(ctx, repo, payload=json.dumps(payload))
    pipeline.create_check(run_id)
    pipeline.execute(run_id)
    return run_id


def test_pull_request_runs_only_what_its_change_can_affect(ctx, standin, repo):
    repo.write("calculator/units.py", "def metres(km):\n    return km * 1000\n", "units")
    base = repo.write("tests/test_units.py", "from calculator.units import metres\n\n\ndef test_metres():\n"
                      "    assert metres(2) == 2000\n", "test units")
    run_pull_request(ctx, repo, base, "feature", "calculator/units.py", "def metres(km):\n    return km * 100\n")
    [check_run] = standin.check_runs(REPO)
    assert (check_run.conclusion, check_run.output["title"]) == ("failure", "1 failed")  # only test_units ran
    summary = check_run.output["summary"]
    assert "1 of 2 test files" in summary and "Why these tests" in summary
    assert "calculator/units.py changed → imported by tests/test_units.py" in summary
    [annotation] = check_run.annotations
    assert annotation["path"] == "tests/test_units.py"
    assert standin.errors == []


def test_docs_only_pull_request_is_skipped(ctx, standin, repo):
    base = repo.write(".github/verdict.yml", "scope:\n  skip_if_only_changed: ['docs/**']\n", "config")
    run_pull_request(ctx, repo, base, "docs", "docs/guide.md", "# Guide\n")
    [check_run] = standin.check_runs(REPO)
    assert (check_run.status, check_run.conclusion) == ("completed", "skipped")
    assert "skip_if_only_changed" in check_run.output["summary"]


@pytest.mark.parametrize("how", ["config", "kconfig"])
def test_kernel_facing_repository_runs_under_qemu(ctx, standin, repo, how, request):
    request.getfixturevalue("qemu_ready")
    repo.commit_tree(REPO_ROOT / "examples" / "ktap-selftest", "ktap selftest")
    if how == "config":
        repo.sha = repo.write(".github/verdict.yml", "runner: qemu\ncommand: sh tests/run.sh\n", "use qemu")
    else:
        repo.sha = repo.write("Kconfig", "config VERDICT_EXAMPLE\n\tbool \"example\"\n", "kernel-facing")
    run_id = new_run(ctx, repo)
    pipeline.create_check(run_id)
    pipeline.execute(run_id)
    [check_run] = standin.check_runs(REPO)
    assert (check_run.conclusion, check_run.output["title"]) == ("success", "5 passed, 1 skipped")
    with storage.session_scope(ctx.sessions) as session:
        log = "\n".join(line.text for line in storage.log_lines(session, run_id))
    assert "with the qemu runner" in log and "KTAP version 1" in log
