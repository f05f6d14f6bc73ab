"""Fork and first-time contributors wait for approval; buttons on check runs; a new push supersedes older heads.

In-process against the GitHub stand-in, real Redis and SQLite, real webhook payloads through the real handlers.
"""

from __future__ import annotations

import json
import uuid

import pytest

import storage
from checks.output import APPROVAL_TITLE, APPROVE_ACTION, RERUN_ALL_ACTION, RERUN_FAILED_ACTION
from jobs import actions, commands, pipeline, queues
from jobs.cancelling import SUPERSEDED_TITLE
from tests.jobs import test_commands
from tests.jobs.test_commands import INSTALLATION, PULL, REPO, REPO_ID, replies, say
from tests.standin.payloads import webhook_payload
from webhook.events import Event
from webhook.receiver import decide

repo = test_commands.repo  # the same repository fixture; ctx comes from tests/jobs/conftest.py


def deliver(ctx, event: str, payload: dict) -> list[int]:
    """Record a delivery and let the real handler decide, as POST /webhook does; the runs it queued."""
    delivery = f"d-{uuid.uuid4().hex[:12]}"
    with storage.session_scope(ctx.sessions) as session:
        storage.record_delivery(session, delivery, event=event, action=payload.get("action"),
                                payload=json.dumps(payload), installation_id=payload["installation"]["id"])
        decision = decide(Event(event, delivery, payload, app_id=ctx.settings.app_id), session)
        storage.set_delivery_status(session, delivery, "enqueued", decision.detail)
    assert decision.status == "accepted", decision.detail
    return decision.run_ids or [delivery]  # a button's delivery id stands in for its job's argument


def pull_request(ctx, repo, *, sha=None, action="opened.payload.json", author="alice", association="CONTRIBUTOR",
                 fork=True) -> int:
    payload = webhook_payload("pull_request", action, full_name=REPO, repo_id=REPO_ID, installation_id=INSTALLATION,
                              clone_url=repo.clone_url, head_sha=sha or repo.sha)
    payload["repository"]["default_branch"] = "main"  # the stand-in repository's (the example says master)
    pr = payload["pull_request"]
    pr.update(number=PULL, author_association=association)
    pr["user"]["login"] = author
    if fork:
        pr["head"]["repo"].update(full_name=f"{author}/calculator", fork=True, id=REPO_ID + 1)
    [run_id] = deliver(ctx, "pull_request", payload)
    return run_id


def press(ctx, repo, standin, check_run_id: int, identifier: str, login: str, *, pull_requests=()) -> str:
    """GitHub's example `check_run.requested_action`, pointed at one of our check runs; its delivery id."""
    check = next(c for c in standin.check_runs(REPO) if c.id == check_run_id)
    payload = webhook_payload("check_run", "requested_action.payload.json", full_name=REPO, repo_id=REPO_ID,
                              installation_id=INSTALLATION, clone_url=repo.clone_url, head_sha=check.head_sha,
                              app_id=ctx.settings.app_id, check_run_id=check_run_id)
    payload["repository"]["default_branch"] = "main"
    payload["requested_action"]["identifier"] = identifier
    payload["sender"]["login"] = login
    payload["check_run"]["pull_requests"] = list(pull_requests)  # a fork's check events name none
    payload["check_run"]["check_suite"]["pull_requests"] = list(pull_requests)
    [delivery] = deliver(ctx, "check_run", payload)
    return delivery


def run_row(ctx, run_id):
    with storage.session_scope(ctx.sessions) as session:
        return storage.get_run(session, run_id)


def execute_queued(ctx, run_id) -> bool:
    return queues.job_id(ctx.settings, "execute", run_id) in queues.runs_queue(ctx.redis, ctx.settings).get_job_ids()


def check_run_of(standin, ctx, run_id):
    return next(c for c in standin.check_runs(REPO) if c.id == run_row(ctx, run_id).check_run_id)


def newest_run_id(ctx) -> int:
    with storage.session_scope(ctx.sessions) as session:
        return storage.latest_runs(session)[0].id


# -- who waits ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fork,association,author,config,waits", [
    (True, "CONTRIBUTOR", "alice", None, True),  # a fork
    (True, "MEMBER", "rex", None, True),  # a member's fork, but rex can only read
    (True, "MEMBER", "wes", None, False),  # a fork by someone with write access
    (False, "FIRST_TIME_CONTRIBUTOR", "alice", None, True),
    (False, "NONE", "nan", None, True),
    (False, "CONTRIBUTOR", "tia", None, True),  # triage is not write
    (False, "OWNER", "ada", None, False),
    (False, "MEMBER", "max", None, False),
    (False, "COLLABORATOR", "wes", None, False),
    (True, "FIRST_TIME_CONTRIBUTOR", "alice", "trusted: [Alice]\n", False),  # trusted in the config
])
def test_who_waits_for_approval(ctx, standin, repo, fork, association, author, config, waits):
    if config:
        repo.write(".github/verdict.yml", config, "config on the default branch")
    run_id = pull_request(ctx, repo, author=author, association=association, fork=fork)
    pipeline.create_check(run_id)
    run, [check] = run_row(ctx, run_id), standin.check_runs(REPO)
    if waits:
        assert (run.status, run.conclusion, run.title) == ("completed", "action_required", APPROVAL_TITLE)
        assert (check.status, check.conclusion, check.output["title"]) == ("completed", "action_required",
                                                                            APPROVAL_TITLE)
        assert check.actions == [APPROVE_ACTION]
        assert "/ok-to-test" in check.output["summary"] and "Approve run" in check.output["summary"]
        assert not execute_queued(ctx, run_id)
    else:
        assert (run.status, check.status) == ("queued", "queued"), (run.title, run.summary)
        assert execute_queued(ctx, run_id)
    assert standin.errors == []


def test_the_approve_button_approves_that_commit_and_starts_a_new_run(ctx, standin, repo):
    run_id = pull_request(ctx, repo)
    pipeline.create_check(run_id)
    refused = press(ctx, repo, standin, run_row(ctx, run_id).check_run_id, "approve", "tia")
    actions.handle_requested_action(refused)
    assert newest_run_id(ctx) == run_id and "can use the check run's buttons" in replies(standin)[-1]
    delivery = press(ctx, repo, standin, run_row(ctx, run_id).check_run_id, "approve", "wes")
    actions.handle_requested_action(delivery)
    actions.handle_requested_action(delivery)  # a retried job starts nothing more
    with storage.session_scope(ctx.sessions) as session:
        [approval] = storage.approvals_for(session, REPO_ID, PULL)  # found without pull_requests in the event
        assert (approval.head_sha, approval.approved_by) == (repo.sha, "wes")
        [_, new] = [(r.id, r.trigger, r.attempt) for r in reversed(storage.latest_runs(session))]
    assert new[1:] == ("check_run.approve", 2)
    pipeline.create_check(new[0])
    assert execute_queued(ctx, new[0])
    assert [c.conclusion for c in standin.check_runs(REPO)] == ["action_required", None]  # a new check run
    assert standin.errors == []


def test_ok_to_test_starts_the_waiting_commit_and_a_new_push_needs_a_new_approval(ctx, standin, repo):
    standin.add_pull_request(REPO, PULL, repo.sha, "feature", author="alice", fork=True)
    first = pull_request(ctx, repo)
    pipeline.create_check(first)
    commands.handle_comment(say(ctx, standin, repo, "/ok-to-test", "max")[0])
    approved = newest_run_id(ctx)
    assert run_row(ctx, approved).trigger == "issue_comment.ok-to-test"
    pipeline.create_check(approved)
    assert execute_queued(ctx, approved)
    pushed = repo.write("calculator/extra.py", "X = 1\n", "a new push")
    standin.add_pull_request(REPO, PULL, pushed, "feature", author="alice", fork=True)
    second = pull_request(ctx, repo, sha=pushed, action="synchronize.payload.json")
    pipeline.create_check(second)
    assert run_row(ctx, second).conclusion == "action_required" and not execute_queued(ctx, second)


def test_the_sandbox_of_an_approved_fork_run_sees_no_token_or_secret(ctx, standin, repo, bwrap_available):
    repo.sha = repo.write("tests/test_env.py", "import json, os\n\n\ndef test_env():\n"
                          "    os.makedirs('artifacts', exist_ok=True)\n"
                          "    json.dump(dict(os.environ), open('artifacts/env.json', 'w'))\n", "dump env")
    run_id = pull_request(ctx, repo)
    with storage.session_scope(ctx.sessions) as session:
        storage.approve(session, installation_id=INSTALLATION, repository_id=REPO_ID, pull_number=PULL,
                        head_sha=repo.sha, approved_by="ada")
    pipeline.create_check(run_id)
    pipeline.execute(run_id)
    with storage.session_scope(ctx.sessions) as session:
        [artifact] = [a for a in storage.artifacts(session, run_id) if a.name == "env.json"]
        env = json.loads(open(artifact.path).read())
    seen = json.dumps(env)
    secrets = [*standin.issued_tokens(), ctx.settings.webhook_secret * 3, "BEGIN", "PRIVATE KEY"]
    assert standin.issued_tokens() and not [s for s in secrets if s in seen]
    assert not [k for k in env if any(word in k.upper() for word in ("TOKEN", "SECRET", "KEY", "PASSWORD"))]


# -- buttons on finished runs -----------------------------------------------------------------------------


def test_a_finished_run_offers_re_run_buttons_that_work_without_pull_requests(ctx, standin, repo, bwrap_available):
    run_id = pull_request(ctx, repo, author="ada", association="OWNER", fork=False)
    pipeline.create_check(run_id)
    pipeline.execute(run_id)
    check = check_run_of(standin, ctx, run_id)
    assert check.conclusion == "failure" and check.actions == [RERUN_FAILED_ACTION, RERUN_ALL_ACTION]
    actions.handle_requested_action(press(ctx, repo, standin, check.id, "rerun-failed", "max"))
    failed = newest_run_id(ctx)
    row = run_row(ctx, failed)
    assert (row.trigger, row.request, row.pull_numbers) == (
        "check_run.rerun-failed", {"command": "retest", "by": "max", "only": ["tests/test_calculator.py::test_mean"]},
        [PULL])
    actions.handle_requested_action(press(ctx, repo, standin, check.id, "rerun-all", "wes"))
    row = run_row(ctx, newest_run_id(ctx))
    assert (row.trigger, row.request) == ("check_run.rerun-all", {"command": "test", "by": "wes", "target": "all"})
    pipeline.create_check(failed)
    pipeline.execute(failed)
    again = check_run_of(standin, ctx, failed)
    assert (again.conclusion, again.output["title"]) == ("failure", "1 failed")
    assert standin.errors == []


def test_a_passing_run_offers_only_re_run_all(ctx, standin, repo):
    run_id = pull_request(ctx, repo, author="ada", association="OWNER", fork=False)
    pipeline.create_check(run_id)
    with storage.session_scope(ctx.sessions) as session:
        storage.finish_run(session, run_id, conclusion="success", title="3 passed", summary="")
    pipeline.publish(run_id)
    assert check_run_of(standin, ctx, run_id).actions == [RERUN_ALL_ACTION]


# -- superseded heads ---------------------------------------------------------------------------------------


def test_a_new_push_cancels_the_older_heads_runs_and_links_the_new_one(ctx, standin, repo):
    queued = pull_request(ctx, repo, author="ada", association="OWNER", fork=False)
    pipeline.create_check(queued)
    with storage.session_scope(ctx.sessions) as session:
        running = storage.start_run(session, installation_id=INSTALLATION, repository_id=REPO_ID, head_sha=repo.sha,
                                    trigger="issue_comment.test", delivery_id="d-t", pull_numbers=[PULL],
                                    rerun=True, request={"command": "test", "by": "ada"}).id
    pipeline.create_check(running)
    with storage.session_scope(ctx.sessions) as session:
        storage.claim_run(session, running, worker="w:1", runner="process")
    pushed = repo.write("calculator/extra.py", "X = 1\n", "a new push")
    newer = pull_request(ctx, repo, sha=pushed, action="synchronize.payload.json", author="ada", association="OWNER",
                         fork=False)
    pipeline.create_check(newer)
    for old in (queued, running):
        row = run_row(ctx, old)
        assert (row.status, row.conclusion, row.title) == ("completed", "cancelled", SUPERSEDED_TITLE)
        assert f"http://verdict.test/runs/{newer}" in row.summary
        assert queues.job_id(ctx.settings, "publish", old) in queues.checks_queue(ctx.redis, ctx.settings).get_job_ids()
        pipeline.publish(old)
        assert check_run_of(standin, ctx, old).conclusion == "cancelled"
    assert run_row(ctx, newer).status == "queued" and execute_queued(ctx, newer)
    with storage.session_scope(ctx.sessions) as session:  # the stopped worker's late result changes nothing
        assert not storage.finish_run(session, running, conclusion="success", title="late", summary="")
    assert standin.errors == []
