"""POST /webhook with real GitHub example payloads: each input gets its documented answer, exactly once."""

from __future__ import annotations

import json

import pytest
from rq import Queue
from rq.job import Job

import storage
from jobs.queues import checks_queue, job_id
from tests.standin.payloads import webhook_payload

REPO = "octo-org/calculator"
REPO_ID = 9001
INSTALLATION = 77
HEAD = "a" * 40


def payload(event, filename, **kw):
    return webhook_payload(event, filename, full_name=REPO, repo_id=REPO_ID, installation_id=INSTALLATION,
                           clone_url=f"http://git.invalid/{REPO}.git", **kw)


def queued_job_ids(app) -> list[str]:
    services = app.extensions["verdict"]
    return checks_queue(services.redis, services.settings).get_job_ids()


def test_pull_request_opened_is_recorded_then_queued(app, github, db):
    resp = github.send("pull_request", payload("pull_request", "opened.payload.json", head_sha=HEAD),
                       delivery="d-1")
    assert resp.status_code == 202
    assert resp.get_json()["status"] == "accepted"
    delivery = db(storage.get_delivery, "d-1")
    assert (delivery.event, delivery.action, delivery.status) == ("pull_request", "opened", "enqueued")
    assert json.loads(delivery.payload)["pull_request"]["head"]["sha"] == HEAD
    runs = db(lambda s: [(r.head_sha, r.status, r.trigger, r.attempt) for r in storage.latest_runs(s)])
    assert runs == [(HEAD, "queued", "pull_request.opened", 1)]
    run_id = db(lambda s: storage.latest_runs(s)[0].id)
    assert queued_job_ids(app) == [job_id(app.extensions["verdict"].settings, "create-check", run_id)]
    assert db(storage.get_repository, REPO_ID).full_name == REPO
    assert db(storage.get_installation, INSTALLATION) is not None


def test_redelivery_is_acknowledged_and_not_processed_twice(app, github, db):
    body = payload("pull_request", "opened.payload.json", head_sha=HEAD)
    first = github.send("pull_request", body, delivery="same-id")
    second = github.send("pull_request", body, delivery="same-id")
    assert (first.status_code, second.status_code) == (202, 202)
    assert second.get_json()["status"] == "duplicate"
    assert len(db(storage.latest_runs)) == 1
    assert len(queued_job_ids(app)) == 1


@pytest.mark.parametrize("signature", ["", "sha256=" + "0" * 64, "sha1=abc", "sha256=deadbeef"])
def test_missing_or_wrong_signature_is_401_and_nothing_is_stored(github, db, signature):
    resp = github.send("pull_request", payload("pull_request", "opened.payload.json"), delivery="bad-sig",
                       signature=signature)
    assert resp.status_code == 401
    assert db(storage.get_delivery, "bad-sig") is None


def test_signed_with_another_secret_is_401(github, db):
    resp = github.send("ping", payload("ping", "payload.json"), delivery="other", secret="not the secret")
    assert resp.status_code == 401
    assert db(storage.get_delivery, "other") is None


def test_truncated_json_is_400_and_nothing_is_stored(github, db):
    raw = json.dumps(payload("pull_request", "opened.payload.json")).encode()
    resp = github.send("pull_request", raw[: len(raw) // 2], delivery="trunc")
    assert resp.status_code == 400
    assert "not valid JSON" in resp.get_json()["detail"]
    assert db(storage.get_delivery, "trunc") is None


def test_body_over_25_mb_is_413(github, db):
    body = b'{"pad": "' + b"x" * (26 * 1024 * 1024) + b'"}'
    resp = github.send("push", body, delivery="huge")
    assert resp.status_code == 413
    assert db(storage.get_delivery, "huge") is None


@pytest.mark.parametrize("event,filename,detail", [
    ("pull_request", "closed.payload.json", "pull_request.closed does not start a run"),
    ("pull_request", "labeled.payload.json", "pull_request.labeled does not start a run"),
    ("check_suite", "completed.payload.json", "check_suite.completed does not start a run"),
    ("check_run", "created.payload.json", "check_run.created does not start a run"),
    ("issue_comment", "created.payload.json", "is an issue, not a pull request"),
])
def test_other_actions_are_recorded_and_ignored(github, db, event, filename, detail):
    resp = github.send(event, payload(event, filename), delivery=f"ign-{filename}")
    assert resp.status_code == 202
    body = resp.get_json()
    assert body["status"] == "ignored" and detail in body["detail"]
    assert db(storage.get_delivery, f"ign-{filename}").status == "ignored"
    assert db(storage.latest_runs) == []


def test_unknown_event_is_recorded_and_ignored(github, db):
    resp = github.send("deployment_status", {"action": "created", "installation": {"id": 1}}, delivery="unk")
    assert resp.status_code == 202 and resp.get_json()["status"] == "ignored"
    assert db(storage.get_delivery, "unk").event == "deployment_status"


def test_ping_is_answered(github, db):
    resp = github.send("ping", payload("ping", "payload.json"), delivery="ping-1")
    assert resp.status_code == 202
    assert "pong" in resp.get_json()["detail"]


def test_push_then_check_suite_for_the_same_commit_runs_once(app, github, db):
    push = payload("push", "with-new-branch.payload.json", after=HEAD)
    suite = payload("check_suite", "requested.payload.json", head_sha=HEAD)
    assert github.send("push", push).get_json()["status"] == "accepted"
    second = github.send("check_suite", suite).get_json()
    assert second["status"] == "ignored" and "already has a run" in second["detail"]
    assert len(db(storage.latest_runs)) == 1


def test_rerequested_check_run_is_a_new_attempt(app, github, db):
    github.send("pull_request", payload("pull_request", "opened.payload.json", head_sha=HEAD))
    resp = github.send("check_run", payload("check_run", "rerequested.payload.json", head_sha=HEAD, app_id=4242))
    assert resp.get_json()["status"] == "accepted"
    attempts = sorted(r.attempt for r in db(storage.latest_runs))
    assert attempts == [1, 2]
    assert len(queued_job_ids(app)) == 2


def test_push_deleting_a_tag_is_ignored(github, db):
    resp = github.send("push", payload("push", "with-installation.payload.json"))
    assert resp.get_json() | {"delivery": None} == {"status": "ignored", "detail": "refs/tags/simple-tag was deleted",
                                                   "delivery": None}


def test_rerequest_of_another_apps_check_run_is_ignored(github, db):
    resp = github.send("check_run", payload("check_run", "rerequested.payload.json", head_sha=HEAD))
    assert resp.get_json()["status"] == "ignored" and "another app" in resp.get_json()["detail"]
    assert db(storage.latest_runs) == []


def test_payload_without_installation_is_ignored_with_advice(github, db):
    body = payload("pull_request", "opened.payload.json")
    del body["installation"]
    resp = github.send("pull_request", body)
    assert resp.get_json()["status"] == "ignored"
    assert "no installation" in resp.get_json()["detail"]


def test_malformed_payload_is_rejected_visibly(github, db):
    resp = github.send("pull_request", {"action": "opened", "installation": {"id": 1}}, delivery="malformed")
    assert resp.status_code == 202
    assert resp.get_json()["status"] == "rejected"
    assert db(storage.get_delivery, "malformed").status == "rejected"


def test_installation_events_keep_the_tables_true(github, db):
    created = webhook_payload("installation", "created.payload.json", full_name=REPO, repo_id=REPO_ID,
                              installation_id=INSTALLATION, clone_url="")
    github.send("installation", created)
    inst = db(storage.get_installation, INSTALLATION)
    assert inst is not None and inst.removed_at is None
    for repo in created["repositories"]:
        assert db(storage.get_repository, repo["id"]).full_name == repo["full_name"]
    suspended = webhook_payload("installation", "suspend.payload.json", full_name=REPO, repo_id=REPO_ID,
                                installation_id=INSTALLATION, clone_url="")
    github.send("installation", suspended)
    assert db(storage.get_installation, INSTALLATION).suspended_at is not None
    resp = github.send("pull_request", payload("pull_request", "opened.payload.json", head_sha=HEAD))
    assert resp.get_json()["status"] == "ignored" and "suspended" in resp.get_json()["detail"]
    deleted = webhook_payload("installation", "deleted.payload.json", full_name=REPO, repo_id=REPO_ID,
                              installation_id=INSTALLATION, clone_url="")
    github.send("installation", deleted)
    assert db(storage.get_installation, INSTALLATION).removed_at is not None


def test_queue_down_is_503_then_redelivery_enqueues(app, github, db):
    services = app.extensions["verdict"]
    working = services.redis
    from redis import Redis

    services.redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    body = payload("pull_request", "opened.payload.json", head_sha=HEAD)
    resp = github.send("pull_request", body, delivery="q-down")
    assert resp.status_code == 503
    assert db(storage.get_delivery, "q-down").status == "received"
    assert len(db(storage.latest_runs)) == 1  # recorded, nothing lost
    services.redis = working
    again = github.send("pull_request", body, delivery="q-down")
    assert again.status_code == 202 and again.get_json()["status"] == "accepted"
    assert db(storage.get_delivery, "q-down").status == "enqueued"
    assert len(db(storage.latest_runs)) == 1
    assert len(queued_job_ids(app)) == 1


def test_health_and_readiness(app, github):
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"] == {"database": True, "redis": True}
    from redis import Redis

    app.extensions["verdict"].redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    down = client.get("/readyz")
    assert down.status_code == 503 and down.get_json()["checks"]["redis"] is False


def test_job_ids_are_deterministic(app, github, db):
    github.send("pull_request", payload("pull_request", "opened.payload.json", head_sha=HEAD))
    run_id = db(lambda s: storage.latest_runs(s)[0].id)
    services = app.extensions["verdict"]
    job = Job.fetch(job_id(services.settings, "create-check", run_id), connection=services.redis)
    assert job.func_name == "jobs.pipeline.create_check" and job.args == (run_id,)
    assert isinstance(checks_queue(services.redis, services.settings), Queue)


@pytest.mark.parametrize("event,filename,trigger,attempt", [
    ("pull_request", "reopened.payload.json", "pull_request.reopened", 1),
    ("pull_request", "ready_for_review.payload.json", "pull_request.ready_for_review", 1),
    ("pull_request", "synchronize.payload.json", "pull_request.synchronize", 1),
    ("check_suite", "requested.payload.json", "check_suite.requested", 1),
    ("check_suite", "rerequested.payload.json", "check_suite.rerequested", 1),
    ("push", "with-new-branch.payload.json", "push", 1),
])
def test_every_handled_action_queues_a_run(github, db, event, filename, trigger, attempt):
    resp = github.send(event, payload(event, filename, head_sha=HEAD, after=HEAD))
    assert resp.status_code == 202 and resp.get_json()["status"] == "accepted", resp.get_json()
    [run] = db(storage.latest_runs)
    assert (run.head_sha, run.trigger, run.attempt, run.status) == (HEAD, trigger, attempt, "queued")
