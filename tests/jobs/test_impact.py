"""Impact data through the worker: a push to the default branch records it, a pull request based there uses it.

The pipeline runs in-process against the GitHub stand-in, real Redis, SQLite and the process
sandbox; the recorder also runs in the Docker image (Debian's Python and pytest), since that is
where most workers run tests.
"""

from __future__ import annotations

import json

import pytest

import storage
from jobs import context, pipeline
from jobs.impact import read_recording, with_recording
from runners import test_plan_for
from runners.docker import DockerRunner
from tests.gitrepo import GitRepo
from tests.standin.payloads import webhook_payload

pytestmark = pytest.mark.usefixtures("bwrap_available")
INSTALLATION, REPO, REPO_ID = 630, "octo-org/ops", 6300
PROJECT = {
    "ops/__init__.py": "",
    "ops/arith.py": "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n",
    "tests/test_add.py": "from ops.arith import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
    "tests/test_mul.py": "from ops.arith import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n",
    "tests/test_both.py": "from ops import arith\n\n\ndef test_add_again():\n    assert arith.add(1, 1) == 2\n\n\n"
                          "def test_mul_again():\n    assert arith.mul(1, 1) == 1\n",
}


@pytest.fixture
def repo(tmp_path, standin):
    standin.add_installation(INSTALLATION, "octo-org")
    repo = GitRepo(tmp_path / "origin")
    repo.write("README.md", "ops\n", "start")
    for path, text in PROJECT.items():
        repo.sha = repo.write(path, text, f"add {path}")
    repo.clone_url = standin.add_repository(INSTALLATION, REPO, repo.path, repo_id=REPO_ID)["clone_url"]
    return repo


def deliver(ctx, repo, event: str, payload: dict, trigger: str, delivery_id: str) -> int:
    """Record the delivery and its run as the webhook would, then run create_check and execute."""
    with storage.session_scope(ctx.sessions) as session:
        storage.upsert_installation(session, INSTALLATION, account_login="octo-org", account_type="Organization")
        storage.upsert_repository(session, REPO_ID, installation_id=INSTALLATION, full_name=REPO,
                                  clone_url=repo.clone_url, default_branch="main")
        storage.record_delivery(session, delivery_id, event=event, action=payload.get("action"),
                                payload=json.dumps(payload), installation_id=INSTALLATION)
        storage.set_delivery_status(session, delivery_id, "enqueued")
        run_id = storage.start_run(session, installation_id=INSTALLATION, repository_id=REPO_ID, head_sha=repo.sha,
                                   trigger=trigger, delivery_id=delivery_id).id
    pipeline.create_check(run_id)
    pipeline.execute(run_id)
    return run_id


def push_to_main(ctx, repo) -> int:
    payload = webhook_payload("push", "payload.json", full_name=REPO, repo_id=REPO_ID, installation_id=INSTALLATION,
                              clone_url=repo.clone_url, before=repo.git("rev-parse", "HEAD~1"), after=repo.sha,
                              head_ref="main")
    return deliver(ctx, repo, "push", payload, "push", f"push-{repo.sha[:8]}")


def open_pull_request(ctx, repo, base: str, path: str, old: str, new: str) -> int:
    repo.git("checkout", "-q", "-b", "feature", base)
    text = (repo.path / path).read_text()
    repo.sha = repo.write(path, text.replace(old, new), f"change {path}")
    repo.git("checkout", "-q", "main")
    payload = webhook_payload("pull_request", "opened.payload.json", full_name=REPO, repo_id=REPO_ID,
                              installation_id=INSTALLATION, clone_url=repo.clone_url, head_sha=repo.sha,
                              base_sha=base)
    return deliver(ctx, repo, "pull_request", payload, "pull_request.opened", "pr-1")


def stored_record(ctx, sha: str) -> bytes | None:
    with storage.session_scope(ctx.sessions) as session:
        return storage.impact_record(session, REPO_ID, sha, installation_id=INSTALLATION)


def log_text(ctx, run_id: int) -> str:
    with storage.session_scope(ctx.sessions) as session:
        return "\n".join(line.text for line in storage.log_lines(session, run_id))


def test_default_branch_push_records_and_a_pull_request_on_it_runs_only_what_ran_the_change(ctx, standin, repo):
    base = repo.sha
    push_run = push_to_main(ctx, repo)
    assert stored_record(ctx, base) is not None
    assert "impact data: recorded which of 4 tests in 3 files ran which functions" in log_text(ctx, push_run)

    open_pull_request(ctx, repo, base, "ops/arith.py", "return a * b", "return a * b + 1")

    push_check, check_run = standin.check_runs(REPO)
    assert push_check.conclusion == "success"
    assert (check_run.conclusion, check_run.output["title"]) == ("failure", "2 failed")
    summary = check_run.output["summary"]
    assert "2 of 3 test files" in summary
    assert f"impact data of {base[:12]} narrowed 1 changed module" in summary
    assert "`tests/test_both.py` (`tests/test_both.py::test_mul_again`)" in summary
    assert "ops/arith.py changed in mul() (lines 5–6) → run by tests/test_mul.py::test_mul" in summary
    assert "`tests/test_add.py`" not in summary
    assert {a["path"] for a in check_run.annotations} == {"tests/test_mul.py", "tests/test_both.py"}
    assert standin.errors == []


def test_a_pull_request_run_of_everything_records_nothing(ctx, standin, repo):
    base = repo.sha = repo.write(".github/verdict.yml", "scope:\n  mode: all\n", "run everything")
    run_id = open_pull_request(ctx, repo, base, "ops/arith.py", "return a + b", "return b + a")
    assert stored_record(ctx, repo.sha) is None and stored_record(ctx, base) is None
    assert "impact data" not in log_text(ctx, run_id)
    [check_run] = standin.check_runs(REPO)
    assert check_run.conclusion == "success"


def test_without_a_record_the_import_graph_decides(ctx, standin, repo):
    open_pull_request(ctx, repo, repo.sha, "ops/arith.py", "return a * b", "return a * b + 1")
    [check_run] = standin.check_runs(REPO)
    assert "3 of 3 test files" in check_run.output["summary"]  # every test file imports ops.arith
    assert "impact data" not in check_run.output["summary"]
    assert check_run.output["summary"].startswith("### 2 failed, 2 passed")


def test_scope_impact_false_on_the_default_branch_keeps_the_import_graph(ctx, standin, repo):
    base = repo.sha
    push_to_main(ctx, repo)
    repo.write(".github/verdict.yml", "scope:\n  impact: false\n", "no narrowing")
    open_pull_request(ctx, repo, base, "ops/arith.py", "return a * b", "return a * b + 1")
    _, check_run = standin.check_runs(REPO)
    assert "3 of 3 test files" in check_run.output["summary"]
    assert "impact data" not in check_run.output["summary"]


def test_scope_impact_false_records_nothing(ctx, standin, repo):
    repo.sha = repo.write(".github/verdict.yml", "scope:\n  impact: false\n", "no impact data")
    run_id = push_to_main(ctx, repo)
    assert stored_record(ctx, repo.sha) is None and "impact data" not in log_text(ctx, run_id)


def test_verdict_impact_off_records_nothing(ctx, standin, repo, monkeypatch):
    monkeypatch.setenv("VERDICT_IMPACT", "off")
    context._context_for.cache_clear()  # the jobs build their context from the environment again
    run_id = push_to_main(ctx, repo)
    assert stored_record(ctx, repo.sha) is None
    assert "impact data" not in log_text(ctx, run_id)


@pytest.mark.parametrize(("content", "message"), [
    (None, "the run left no record"),
    (b"{not json", "not kept: impact data is not readable JSON"),
    (b'{"format": 1, "traced": true, "tests": []}', "the record saw no test run"),
])
def test_a_missing_or_unusable_record_is_logged_and_dropped(tmp_path, content, message):
    if content is not None:
        (tmp_path / ".verdict").mkdir()
        (tmp_path / ".verdict" / "impact.json").write_bytes(content)
    record, note = read_recording(tmp_path, "e" * 40)
    assert record is None and message in note


@pytest.mark.docker
def test_the_recorder_runs_in_the_docker_image(docker_client, tmp_path):
    workspace = tmp_path / "workspace"
    for path, text in PROJECT.items():
        (workspace / path).parent.mkdir(parents=True, exist_ok=True)
        (workspace / path).write_text(text)
    plan = test_plan_for(workspace)
    spec = with_recording(plan.spec(workspace, timeout=120), plan.framework)
    result = DockerRunner(client=docker_client).run(spec)
    assert result.count("passed") == 4, result.error
    record, message = read_recording(workspace, "d" * 40)
    assert record is not None, message
    by_name = {record.node_id(i): i for i in range(len(record.tests))}
    assert record.executed["ops/arith.py"][5] == sorted([by_name["tests/test_mul.py::test_mul"],
                                                        by_name["tests/test_both.py::test_mul_again"]])
