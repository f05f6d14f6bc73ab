"""Installations: a suspended or removed one's work is dropped by the jobs, and one installation's runs,
comments and approvals are never used for another's. Against the stand-in, real Redis and SQLite.
"""

from __future__ import annotations

import json
import uuid

import pytest

import storage
from jobs import actions, commands, pipeline
from jobs.access import DROPPED_TITLE
from tests.jobs import test_commands
from tests.jobs.test_commands import INSTALLATION, PULL, REPO, REPO_ID, say
from tests.jobs.test_gating import deliver, execute_queued, press, pull_request, run_row
from tests.standin.payloads import webhook_payload

OTHER = 621  # a second installation, of another organisation
OTHER_REPO, OTHER_REPO_ID = "other-org/calculator", 6201  # the same name and commits, in that installation

repo = test_commands.repo  # the same repository fixture; ctx comes from tests/jobs/conftest.py


def stop(ctx, how: str, installation_id: int = INSTALLATION) -> None:
    with storage.session_scope(ctx.sessions) as session:
        if how == "suspended":
            storage.set_installation_suspended(session, installation_id, True)
        else:
            storage.remove_installation(session, installation_id)


def log_of(ctx, run_id) -> list[str]:
    with storage.session_scope(ctx.sessions) as session:
        return [line.text for line in storage.log_lines(session, run_id)]


@pytest.mark.parametrize("how", ["suspended", "removed"])
@pytest.mark.parametrize("step", ["create_check", "execute"])
def test_a_stopped_installations_run_is_dropped(ctx, standin, repo, how, step):
    run_id = pull_request(ctx, repo, author="ada", association="OWNER", fork=False)
    if step == "execute":
        pipeline.create_check(run_id)
    requests = len(standin.requests)
    stop(ctx, how)
    getattr(pipeline, step)(run_id)
    run = run_row(ctx, run_id)
    assert (run.status, run.conclusion, run.title) == ("completed", "cancelled", DROPPED_TITLE)
    assert f"dropped: installation {INSTALLATION} {how}" in log_of(ctx, run_id)
    assert run.reported_at is not None and len(standin.requests) == requests  # GitHub is not asked
    pipeline.publish(run_id)
    assert len(standin.requests) == requests


@pytest.mark.parametrize("how", ["suspended", "removed"])
def test_a_stopped_installations_comments_and_buttons_are_dropped(ctx, standin, repo, how):
    run_id = pull_request(ctx, repo)
    pipeline.create_check(run_id)
    button = press(ctx, repo, standin, run_row(ctx, run_id).check_run_id, "approve", "ada")
    comment, comment_id = say(ctx, standin, repo, "/ok-to-test\n/help", "ada")
    requests = len(standin.requests)
    stop(ctx, how)
    commands.handle_comment(comment)
    actions.handle_requested_action(button)
    assert len(standin.requests) == requests and standin.reactions(comment_id) == []
    with storage.session_scope(ctx.sessions) as session:
        assert storage.approvals_for(session, REPO_ID, PULL) == []
        assert len(storage.latest_runs(session)) == 1


# -- two installations --------------------------------------------------------------------------------------


@pytest.fixture
def other(ctx, standin, repo):
    """Installation OTHER serving the same commits under the same repository name in another organisation."""
    standin.add_installation(OTHER, "other-org")
    clone_url = standin.add_repository(OTHER, OTHER_REPO, repo.path, repo_id=OTHER_REPO_ID)["clone_url"]
    standin.set_permission(OTHER_REPO, "ada", "admin")
    return clone_url


def other_pull_request(ctx, repo, clone_url) -> int:
    payload = webhook_payload("pull_request", "opened.payload.json", full_name=OTHER_REPO, repo_id=OTHER_REPO_ID,
                              installation_id=OTHER, clone_url=clone_url, head_sha=repo.sha)
    payload["repository"]["default_branch"] = "main"
    pr = payload["pull_request"]
    pr.update(number=PULL, author_association="CONTRIBUTOR")
    pr["head"]["repo"].update(full_name="alice/calculator", fork=True)
    [run_id] = deliver(ctx, "pull_request", payload)
    return run_id


def test_an_approval_in_one_installation_does_not_unlock_another(ctx, standin, repo, other):
    with storage.session_scope(ctx.sessions) as session:
        storage.upsert_installation(session, INSTALLATION, account_login="octo-org", account_type="Organization")
        storage.upsert_repository(session, REPO_ID, installation_id=INSTALLATION, full_name=REPO,
                                  clone_url=repo.clone_url)
        storage.approve(session, installation_id=INSTALLATION, repository_id=REPO_ID, pull_number=PULL,
                        head_sha=repo.sha, approved_by="ada")
    theirs = other_pull_request(ctx, repo, other)
    pipeline.create_check(theirs)
    assert run_row(ctx, theirs).conclusion == "action_required" and not execute_queued(ctx, theirs)
    [check] = standin.check_runs(OTHER_REPO)
    assert check.conclusion == "action_required" and standin.check_runs(REPO) == []
    ours = pull_request(ctx, repo)  # the same commit, approved in its own installation
    pipeline.create_check(ours)
    assert execute_queued(ctx, ours)


def test_a_transferred_repository_keeps_nothing_from_its_old_installation(ctx, standin, repo, other):
    old = pull_request(ctx, repo)
    with storage.session_scope(ctx.sessions) as session:
        storage.approve(session, installation_id=INSTALLATION, repository_id=REPO_ID, pull_number=PULL,
                        head_sha=repo.sha, approved_by="ada")
        storage.upsert_installation(session, OTHER, account_login="other-org", account_type="Organization")
        storage.upsert_repository(session, REPO_ID, installation_id=OTHER, full_name=REPO, clone_url=repo.clone_url)
        assert storage.is_approved(session, REPO_ID, repo.sha, installation_id=INSTALLATION)
        assert not storage.is_approved(session, REPO_ID, repo.sha, installation_id=OTHER)
        new = storage.start_run(session, installation_id=OTHER, repository_id=REPO_ID, head_sha=repo.sha,
                                trigger="check_run.rerequested", delivery_id=None, pull_numbers=[PULL], rerun=True)
        assert new.gate is None  # a gate is never inherited across installations...
        assert storage.active_runs_for_pull(session, REPO_ID, PULL, installation_id=OTHER) == [new]
        assert storage.pull_numbers_for_sha(session, REPO_ID, repo.sha, installation_id=OTHER) == [PULL]
        assert storage.run_for_check_run(session, 1, installation_id=OTHER) is None
        # ...and approving there moves the approval, so the old installation's no longer counts
        storage.approve(session, installation_id=OTHER, repository_id=REPO_ID, pull_number=PULL, head_sha=repo.sha,
                        approved_by="bob")
        assert not storage.is_approved(session, REPO_ID, repo.sha, installation_id=INSTALLATION)
        assert [r.id for r in storage.active_runs_for_pull(session, REPO_ID, PULL, installation_id=INSTALLATION)] \
            == [old]


def test_a_button_on_another_installations_check_run_does_nothing(ctx, standin, repo, other):
    run_id = pull_request(ctx, repo)
    pipeline.create_check(run_id)
    check_run_id = run_row(ctx, run_id).check_run_id
    payload = webhook_payload("check_run", "requested_action.payload.json", full_name=OTHER_REPO,
                              repo_id=OTHER_REPO_ID, installation_id=OTHER, clone_url=other, head_sha=repo.sha,
                              app_id=ctx.settings.app_id, check_run_id=check_run_id)
    payload["requested_action"]["identifier"] = "approve"
    payload["sender"]["login"] = "ada"  # an admin there, not here
    delivery = f"d-{uuid.uuid4().hex[:12]}"
    with storage.session_scope(ctx.sessions) as session:
        storage.upsert_installation(session, OTHER, account_login="other-org", account_type="Organization")
        storage.upsert_repository(session, OTHER_REPO_ID, installation_id=OTHER, full_name=OTHER_REPO,
                                  clone_url=other)
        storage.record_delivery(session, delivery, event="check_run", action="requested_action",
                                payload=json.dumps(payload), installation_id=OTHER)
    actions.handle_requested_action(delivery)
    with storage.session_scope(ctx.sessions) as session:
        assert storage.approvals_for(session, REPO_ID, PULL) == []
        assert len(storage.latest_runs(session)) == 1
