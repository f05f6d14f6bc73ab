"""`check_run` buttons and pull request gates through POST /webhook, with GitHub's example payloads."""

from __future__ import annotations

import pytest
from redis import Redis
from rq.job import Job

import storage
from jobs.queues import job_id
from tests.standin.payloads import webhook_payload
from tests.webhook.test_issue_comment import APP_ID
from tests.webhook.test_receiver import HEAD, INSTALLATION, REPO, REPO_ID, payload, queued_job_ids


def button(identifier: str = "approve", app_id: int = APP_ID) -> dict:
    body = webhook_payload("check_run", "requested_action.payload.json", full_name=REPO, repo_id=REPO_ID,
                           installation_id=INSTALLATION, clone_url=f"http://git.invalid/{REPO}.git", head_sha=HEAD,
                           app_id=app_id)
    body["requested_action"]["identifier"] = identifier
    return body


@pytest.mark.parametrize("identifier", ["approve", "rerun-failed", "rerun-all"])
def test_a_button_queues_one_actions_job(app, github, db, identifier):
    resp = github.send("check_run", button(identifier), delivery=f"b-{identifier}")
    assert resp.status_code == 202 and resp.get_json()["status"] == "accepted", resp.get_json()
    services = app.extensions["verdict"]
    job = Job.fetch(job_id(services.settings, "action", f"b-{identifier}"), connection=services.redis)
    assert (job.func_name, job.args) == ("jobs.actions.handle_requested_action", (f"b-{identifier}",))
    assert queued_job_ids(app) == [job.id] and db(storage.latest_runs) == []  # the job checks who pressed it


@pytest.mark.parametrize("body,detail", [
    (button("lgtm|26764"), "is not one of Verdict's"),
    (button(app_id=25811), "belongs to another app"),
])
def test_buttons_that_are_not_verdicts_are_ignored(app, github, body, detail):
    resp = github.send("check_run", body)
    assert resp.get_json()["status"] == "ignored" and detail in resp.get_json()["detail"]
    assert queued_job_ids(app) == []


def test_a_button_whose_job_never_reached_redis_is_enqueued_on_redelivery(app, github, db):
    redis = Redis.from_url(app.extensions["verdict"].settings.redis_url)
    app.extensions["verdict"].redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    assert github.send("check_run", button(), delivery="b-down").status_code == 503
    app.extensions["verdict"].redis = redis
    assert github.send("check_run", button(), delivery="b-down").get_json()["status"] == "accepted"
    assert queued_job_ids(app) == [job_id(app.extensions["verdict"].settings, "action", "b-down")]


@pytest.mark.parametrize("fork,association,gate", [
    (False, "OWNER", {"fork": False, "author": "Codertocat", "author_association": "OWNER"}),
    (True, "FIRST_TIME_CONTRIBUTOR", {"fork": True, "author": "Codertocat",
                                      "author_association": "FIRST_TIME_CONTRIBUTOR"}),
])
def test_a_pull_request_run_records_what_its_gate_needs(github, db, fork, association, gate):
    body = payload("pull_request", "opened.payload.json", head_sha=HEAD)
    body["pull_request"]["author_association"] = association
    if fork:
        body["pull_request"]["head"]["repo"]["full_name"] = "Codertocat/calculator"
    assert github.send("pull_request", body).get_json()["status"] == "accepted"
    assert db(lambda s: storage.latest_runs(s)[0].gate) == gate
