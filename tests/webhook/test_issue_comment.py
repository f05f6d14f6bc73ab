"""`issue_comment` through POST /webhook: which comments become one commands job, exactly once."""

from __future__ import annotations

import pytest
from redis import Redis
from rq.job import Job

import storage
from jobs.queues import job_id
from tests.standin.payloads import webhook_payload
from tests.webhook.test_receiver import INSTALLATION, REPO, REPO_ID, queued_job_ids

APP_ID = 4242  # tests/webhook/conftest.py's settings


def comment_payload(body: str = "/test", *, action: str | None = None, filename: str = "created.payload.json",
                    on_pull_request: bool = True, login: str = "alice", sender_type: str = "User",
                    via_app: int | None = None) -> dict:
    """GitHub's example comment, moved onto pull request #7 (the example is on an issue) when asked."""
    payload = webhook_payload("issue_comment", filename, full_name=REPO, repo_id=REPO_ID,
                              installation_id=INSTALLATION, clone_url=f"http://git.invalid/{REPO}.git")
    if action:
        payload["action"] = action
    payload["issue"]["number"] = 7
    if on_pull_request:
        payload["issue"]["pull_request"] = {"url": f"https://api.github.com/repos/{REPO}/pulls/7",
                                            "html_url": f"https://github.com/{REPO}/pull/7", "merged_at": None}
    payload["comment"]["body"] = body
    payload["comment"]["performed_via_github_app"] = {"id": via_app} if via_app else None
    for user in (payload["sender"], payload["comment"]["user"]):
        user.update(login=login, type=sender_type)
    return payload


def comment_job(app, delivery: str) -> Job:
    services = app.extensions["verdict"]
    return Job.fetch(job_id(services.settings, "comment", delivery), connection=services.redis)


def test_a_command_on_a_pull_request_queues_one_commands_job(app, github, db):
    resp = github.send("issue_comment", comment_payload("/test all\n/explain"), delivery="c-1")
    assert resp.status_code == 202
    assert resp.get_json()["status"] == "accepted", resp.get_json()
    assert "/test, /explain from @alice on #7" in resp.get_json()["detail"]
    assert db(storage.get_delivery, "c-1").status == "enqueued"
    job = comment_job(app, "c-1")
    assert (job.func_name, job.args) == ("jobs.commands.handle_comment", ("c-1",))
    assert queued_job_ids(app) == [job.id]
    assert db(storage.latest_runs) == []  # the job decides what runs, after asking who may
    assert db(storage.get_repository, REPO_ID).full_name == REPO


@pytest.mark.parametrize("payload,detail", [
    (comment_payload(on_pull_request=False), "#7 is an issue, not a pull request"),
    (comment_payload(filename="edited.payload.json"), "issue_comment.edited does not run commands"),
    (comment_payload(action="deleted"), "issue_comment.deleted does not run commands"),
    (comment_payload(sender_type="Bot", login="dependabot[bot]"), "is by a bot (dependabot[bot])"),
    (comment_payload(sender_type="Bot", login="verdict[bot]"), "is by a bot (verdict[bot])"),
    (comment_payload(login="verdict[bot]"), "is by a bot"),
    (comment_payload(via_app=APP_ID), "is by a bot"),
    (comment_payload("LGTM, thanks!"), "has no commands"),
    (comment_payload("> /test\nquoting is not asking"), "has no commands"),
    (comment_payload("```\n/retest\n```"), "has no commands"),
], ids=["plain-issue", "edited", "deleted", "bot", "our-bot", "bot-login", "via-our-app", "no-command", "quoted",
        "fenced"])
def test_comments_that_run_nothing_are_recorded_and_ignored(app, github, db, payload, detail):
    resp = github.send("issue_comment", payload, delivery="c-ign")
    assert resp.status_code == 202
    assert resp.get_json()["status"] == "ignored" and detail in resp.get_json()["detail"], resp.get_json()
    assert db(storage.get_delivery, "c-ign").status == "ignored"
    assert queued_job_ids(app) == []


def test_an_unknown_command_still_queues_the_job_which_answers_with_help(app, github):
    resp = github.send("issue_comment", comment_payload("/verdict frobnicate"), delivery="c-unknown")
    assert resp.get_json()["status"] == "accepted"
    assert "'/verdict frobnicate'" in resp.get_json()["detail"]
    assert comment_job(app, "c-unknown").args == ("c-unknown",)


def test_redelivery_does_not_queue_the_commands_twice(app, github):
    body = comment_payload("/retest")
    assert github.send("issue_comment", body, delivery="c-twice").get_json()["status"] == "accepted"
    assert github.send("issue_comment", body, delivery="c-twice").get_json()["status"] == "duplicate"
    assert len(queued_job_ids(app)) == 1


def test_queue_down_is_503_then_redelivery_enqueues_the_commands_job(app, github, db):
    services = app.extensions["verdict"]
    working = services.redis
    services.redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    body = comment_payload("/cancel")
    assert github.send("issue_comment", body, delivery="c-down").status_code == 503
    assert db(storage.get_delivery, "c-down").status == "received"
    services.redis = working
    again = github.send("issue_comment", body, delivery="c-down")
    assert again.status_code == 202 and again.get_json()["status"] == "accepted"
    assert db(storage.get_delivery, "c-down").status == "enqueued"
    assert queued_job_ids(app) == [comment_job(app, "c-down").id]
