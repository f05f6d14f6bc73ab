"""A pull_request webhook becomes a completed Check Run, end to end, on real parts.

gunicorn serves the app, a real `verdict worker` process takes jobs from real Redis, the
tests run in a real sandbox, and the GitHub stand-in (which validates every request against
GitHub's OpenAPI description and limits) records what GitHub would show.
"""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy

from tests.conftest import REPO_ROOT
from tests.e2e.conftest import INSTALLATION, REPO, Service, make_service, pr_payload, wait_for

FIXED_MEAN = "    return sum(values) / len(values)\n"


def failing_line() -> int:
    lines = (REPO_ROOT / "examples/calculator/tests/test_calculator.py").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if "assert mean(" in line)


def completed(standin, n: int):
    runs = standin.check_runs(REPO)
    done = [r for r in runs if r.status == "completed"]
    return runs if len(done) >= n else None


def fix(repo) -> str:
    source = (repo.path / "calculator/__init__.py").read_text()
    fixed = "".join(FIXED_MEAN if "bug: off by one" in line else line for line in source.splitlines(True))
    return repo.write("calculator/__init__.py", fixed, "fix mean")


def assert_flow(service: Service, standin, repo):
    resp = service.deliver("pull_request", pr_payload(repo, "opened", repo.failing_sha))
    assert resp.status_code == 202, resp.text
    runs = wait_for(lambda: completed(standin, 1), 180, "the first check run to complete")
    first = runs[0]
    assert first.head_sha == repo.failing_sha
    assert first.conclusion == "failure", service.output()
    assert [h[0] for h in first.history][:2] == ["queued", "in_progress"]
    assert first.history[-1] == ("completed", "failure")
    assert first.output["title"] == "1 failed, 1 passed, 1 skipped"
    [annotation] = first.annotations
    assert annotation["path"] == "tests/test_calculator.py"
    assert annotation["start_line"] == annotation["end_line"] == failing_line()
    assert annotation["annotation_level"] == "failure"
    assert "assert" in annotation["message"]
    assert first.details_url.startswith(f"{service.url}/runs/")
    page = httpx.get(first.details_url, timeout=10)
    assert page.status_code == 200 and "failure" in page.text and "test_mean" in page.text

    fixed_sha = fix(repo)
    resp = service.deliver("pull_request", pr_payload(repo, "synchronize", fixed_sha))
    assert resp.status_code == 202, resp.text
    runs = wait_for(lambda: completed(standin, 2), 180, "the second check run to complete")
    second = runs[1]
    assert (second.head_sha, second.conclusion) == (fixed_sha, "success"), service.output()
    assert second.annotations == []
    assert second.id != first.id
    assert standin.errors == []
    for token in standin.issued_tokens():
        assert token not in service.output(), "an installation token leaked into the logs"
    return runs


@pytest.mark.slow
def test_pull_request_with_the_process_runner(tmp_path, standin, repo, redis_url, bwrap_available):
    service = make_service(tmp_path, standin, f"sqlite:///{tmp_path / 'verdict.db'}", redis_url, "process")
    try:
        service.start_worker()
        assert_flow(service, standin, repo)
        database = (tmp_path / "verdict.db").read_bytes()
        for token in standin.issued_tokens():
            assert token.encode() not in database, "an installation token was persisted"
    finally:
        service.stop()


@pytest.mark.slow
@pytest.mark.docker
def test_pull_request_with_the_docker_runner_on_postgres(tmp_path, standin, repo, redis_url, docker_client,
                                                         postgres_database):
    service = make_service(tmp_path, standin, postgres_database, redis_url, "docker")
    try:
        service.start_worker()
        assert_flow(service, standin, repo)
        engine = sqlalchemy.create_engine(postgres_database)
        with engine.connect() as conn:
            lines = conn.execute(sqlalchemy.text("select count(*) from log_lines")).scalar()
            statuses = conn.execute(sqlalchemy.text("select status from runs order by id")).scalars().all()
        engine.dispose()
        assert lines > 0 and statuses == ["completed", "completed"]
        assert docker_client.containers.list(all=True, filters={"label": "verdict.runner"}) == []
    finally:
        service.stop()


@pytest.mark.slow
def test_worker_killed_mid_run_still_completes_the_check_run(tmp_path, standin, repo, redis_url, bwrap_available):
    slow_sha = repo.write("tests/test_slow.py", "import time\n\n\ndef test_slow():\n    time.sleep(12)\n",
                          "a slow test")
    service = make_service(tmp_path, standin, f"sqlite:///{tmp_path / 'verdict.db'}", redis_url, "process")
    try:
        worker = service.start_worker()
        service.deliver("pull_request", pr_payload(repo, "opened", slow_sha))
        wait_for(lambda: any(r.status == "in_progress" for r in standin.check_runs(REPO)), 90,
                 "the run to start")
        service.kill(worker)
        service.start_worker()
        runs = wait_for(lambda: completed(standin, 2), 180, "the reaped run and its retry to complete")
        reaped, retry = runs[0], runs[1]
        assert reaped.conclusion == "cancelled"
        assert "worker stopped" in reaped.output["title"]
        assert "no heartbeat" in reaped.output["summary"] and "attempt 2" in reaped.output["summary"]
        assert retry.head_sha == slow_sha and retry.conclusion == "failure"  # the calculator bug is still there
        assert all(r.status == "completed" for r in standin.check_runs(REPO))
        assert standin.errors == []
    finally:
        service.stop()


@pytest.mark.slow
def test_payload_for_an_installation_unknown_to_github_is_rejected(tmp_path, standin, repo, redis_url,
                                                                    bwrap_available):
    database = tmp_path / "verdict.db"
    service = make_service(tmp_path, standin, f"sqlite:///{database}", redis_url, "process")
    try:
        service.start_worker()
        resp = service.deliver("pull_request", pr_payload(repo, "opened", repo.failing_sha, installation_id=999),
                               delivery="unknown-installation")
        assert resp.status_code == 202
        engine = sqlalchemy.create_engine(f"sqlite:///{database}")

        def status():
            with engine.connect() as conn:
                return conn.execute(sqlalchemy.text(
                    "select status, detail from deliveries where id = 'unknown-installation'")).first()
        row = wait_for(lambda: (s := status()) and s[0] == "rejected" and s, 60, "the delivery to be rejected")
        assert "999" in row[1]
        engine.dispose()
        assert standin.check_runs(REPO) == []
        assert INSTALLATION != 999
    finally:
        service.stop()
