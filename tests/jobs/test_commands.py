"""jobs.commands in-process against the GitHub stand-in, real Redis and SQLite: who may, what runs, what is said."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

import storage
from jobs import commands, pipeline, queues
from jobs.reaper import reap
from runners.result import TestCase, TestStatus
from tests.conftest import REPO_ROOT
from tests.gitrepo import GitRepo
from tests.standin.payloads import webhook_payload
from webhook.commands import HELP_TEXT

INSTALLATION = 620
REPO = "octo-org/calculator"
REPO_ID = 6200
PULL = 7
REFUSED = "only people with write access to this repository"


@pytest.fixture
def repo(tmp_path, standin):
    standin.add_installation(INSTALLATION, "octo-org")
    repo = GitRepo(tmp_path / "origin")
    repo.sha = repo.commit_tree(REPO_ROOT / "examples" / "calculator", "calculator with a bug")
    repo.clone_url = standin.add_repository(INSTALLATION, REPO, repo.path, repo_id=REPO_ID)["clone_url"]
    standin.add_pull_request(REPO, PULL, repo.sha, "feature", author="alice")
    for login, role in {"ada": "admin", "max": "maintain", "wes": "write", "tia": "triage", "rex": "read",
                        "nan": "none"}.items():
        standin.set_permission(REPO, login, role)
    return repo


def say(ctx, standin, repo, body: str, login: str = "ada", *, status: str = "enqueued") -> tuple[str, int]:
    """A comment on the pull request, recorded as the webhook leaves it; (delivery id, comment id)."""
    comment = standin.add_comment(REPO, PULL, body, author=login)
    payload = webhook_payload("issue_comment", "created.payload.json", full_name=REPO, repo_id=REPO_ID,
                              installation_id=INSTALLATION, clone_url=repo.clone_url)
    payload["issue"].update(number=PULL, pull_request={"url": f"{standin.url}/repos/{REPO}/pulls/{PULL}"})
    payload["comment"].update(id=comment.id, body=body)
    for user in (payload["sender"], payload["comment"]["user"]):
        user["login"] = login
    delivery = f"c-{uuid.uuid4().hex[:12]}"
    record_repository(ctx, repo)
    with storage.session_scope(ctx.sessions) as session:
        storage.record_delivery(session, delivery, event="issue_comment", action="created",
                                payload=json.dumps(payload), installation_id=INSTALLATION)
        storage.set_delivery_status(session, delivery, status)
    return delivery, comment.id


def runs(ctx) -> list[tuple[str, str, dict | None, list[int]]]:
    with storage.session_scope(ctx.sessions) as session:
        return [(r.trigger, r.head_sha, r.request, r.pull_numbers) for r in reversed(storage.latest_runs(session))]


def replies(standin) -> list[str]:
    return [c.body for c in standin.comments(REPO, PULL)]


def eyes(standin, comment_id) -> bool:
    return [r.content for r in standin.reactions(comment_id)] == ["eyes"]


def record_repository(ctx, repo) -> None:
    with storage.session_scope(ctx.sessions) as session:
        storage.upsert_installation(session, INSTALLATION, account_login="octo-org", account_type="Organization")
        storage.upsert_repository(session, REPO_ID, installation_id=INSTALLATION, full_name=REPO,
                                  clone_url=repo.clone_url)


def finished_run(ctx, repo, cases) -> int:
    """A completed run of the pull request's head with these results."""
    record_repository(ctx, repo)
    with storage.session_scope(ctx.sessions) as session:
        run = storage.start_run(session, installation_id=INSTALLATION, repository_id=REPO_ID, head_sha=repo.sha,
                                trigger="pull_request.opened", delivery_id="d-pr", pull_numbers=[PULL], rerun=True)
        storage.add_test_results(session, run.id, cases)
        storage.finish_run(session, run.id, conclusion="failure", title="1 failed", summary="")
        return run.id


FAILED = TestCase(name="test_divide", status=TestStatus.FAILED, classname="tests.test_calculator", line=12,
                  file="tests/test_calculator.py", message="assert 2 == 3\n  where 2 = divide(6, 3)")
ERRORED = TestCase(name="test_x[1-2]", status=TestStatus.ERROR, classname="tests.test_calculator.TestMore",
                   file="tests/test_calculator.py", line=30, message="fixture 'db' not found")
PASSED = TestCase(name="test_add", status=TestStatus.PASSED, classname="tests.test_calculator",
                  file="tests/test_calculator.py", line=3)


# -- who may ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("login,allowed", [
    ("ada", True), ("max", True), ("wes", True), ("tia", False), ("rex", False), ("nan", False),
    ("stranger", False),  # a login GitHub does not know (404)
])
def test_test_needs_write_maintain_or_admin(ctx, standin, repo, login, allowed):
    delivery, comment_id = say(ctx, standin, repo, "/test", login)
    commands.handle_comment(delivery)
    if allowed:
        assert runs(ctx) == [("issue_comment.test", repo.sha, {"command": "test", "by": login}, [PULL])]
        assert eyes(standin, comment_id) and replies(standin) == []
        with storage.session_scope(ctx.sessions) as session:
            run_id = storage.latest_runs(session)[0].id
        assert queues.job_id(ctx.settings, "create-check", run_id) in queues.checks_queue(
            ctx.redis, ctx.settings).get_job_ids()
    else:
        assert runs(ctx) == [] and standin.reactions(comment_id) == []
        [reply] = replies(standin)
        assert reply.startswith(f"@{login}, {REFUSED}") and "`/test`" in reply
    assert standin.errors == []


def test_a_trusted_login_may_without_write_access(ctx, standin, repo):
    repo.write(".github/verdict.yml", "trusted: [Rex]\n", "trust rex")  # on the default branch
    delivery, comment_id = say(ctx, standin, repo, "/test all", "rex")
    commands.handle_comment(delivery)
    assert runs(ctx) == [("issue_comment.test", repo.sha, {"command": "test", "by": "rex", "target": "all"}, [PULL])]
    assert eyes(standin, comment_id) and replies(standin) == []


@pytest.mark.parametrize("body", ["/retest", "/cancel", "/ok-to-test", "/test\n/retest\n/cancel\n/ok-to-test"])
def test_refused_commands_get_one_polite_reply_and_nothing_runs(ctx, standin, repo, body):
    finished_run(ctx, repo, [FAILED])
    delivery, comment_id = say(ctx, standin, repo, body, "tia")
    commands.handle_comment(delivery)
    [reply] = replies(standin)
    assert REFUSED in reply and all(f"`{line}`" in reply for line in body.splitlines())
    assert len(runs(ctx)) == 1 and standin.reactions(comment_id) == []
    with storage.session_scope(ctx.sessions) as session:
        assert not storage.is_approved(session, REPO_ID, repo.sha)


def test_the_permission_answer_is_cached_briefly(ctx, standin, repo):
    for _ in range(2):
        commands.handle_comment(say(ctx, standin, repo, "/ok-to-test", "wes")[0])
    asked = [r for r in standin.requests if r.path.endswith("/collaborators/wes/permission")]
    assert len(asked) == 1


# -- what each command does -----------------------------------------------------------------------------


@pytest.mark.parametrize("body,request_", [
    ("/test", {"command": "test", "by": "ada"}),
    ("/verdict test", {"command": "test", "by": "ada"}),
    ("/test all", {"command": "test", "by": "ada", "target": "all"}),
    ("/verdict test tests/test_calculator.py", {"command": "test", "by": "ada", "target": "tests/test_calculator.py"}),
])
def test_test_starts_a_new_attempt_with_what_was_asked(ctx, standin, repo, body, request_):
    finished_run(ctx, repo, [PASSED])
    commands.handle_comment(say(ctx, standin, repo, body)[0])
    [_, started] = runs(ctx)
    assert started == ("issue_comment.test", repo.sha, request_, [PULL])


def test_retest_asks_for_only_the_tests_that_failed_last_time(ctx, standin, repo):
    finished_run(ctx, repo, [PASSED, FAILED, ERRORED])
    delivery, comment_id = say(ctx, standin, repo, "/retest")
    commands.handle_comment(delivery)
    only = ["tests/test_calculator.py::test_divide", "tests/test_calculator.py::TestMore::test_x[1-2]"]
    assert runs(ctx)[-1] == ("issue_comment.retest", repo.sha, {"command": "retest", "by": "ada", "only": only},
                             [PULL])
    with storage.session_scope(ctx.sessions) as session:
        assert storage.run_request(session, storage.latest_runs(session)[0].id)["only"] == only
    assert eyes(standin, comment_id) and replies(standin) == []


@pytest.mark.parametrize("cases,why", [([PASSED], "nothing failed"), (None, "no run of it has finished")])
def test_retest_with_nothing_failed_says_so(ctx, standin, repo, cases, why):
    if cases is not None:
        finished_run(ctx, repo, cases)
    commands.handle_comment(say(ctx, standin, repo, "/retest")[0])
    [reply] = replies(standin)
    assert "nothing to retest" in reply and why in reply
    assert all(trigger != "issue_comment.retest" for trigger, *_ in runs(ctx))


def test_cancel_finishes_the_pull_requests_runs_as_cancelled_on_github(ctx, standin, repo):
    record_repository(ctx, repo)
    with storage.session_scope(ctx.sessions) as session:
        mine = [storage.start_run(session, installation_id=INSTALLATION, repository_id=REPO_ID, head_sha=repo.sha,
                                  trigger="t", delivery_id="d", pull_numbers=[PULL], rerun=True).id for _ in range(2)]
        other = storage.start_run(session, installation_id=INSTALLATION, repository_id=REPO_ID, head_sha="b" * 40,
                                  trigger="t", delivery_id="d", pull_numbers=[PULL + 1]).id
    for run_id in mine:
        pipeline.create_check(run_id)
    with storage.session_scope(ctx.sessions) as session:
        storage.claim_run(session, mine[1], worker="w:1", runner="process")
    delivery, comment_id = say(ctx, standin, repo, "/cancel", "wes")
    commands.handle_comment(delivery)
    publish_ids = queues.checks_queue(ctx.redis, ctx.settings).get_job_ids()
    for run_id in mine:
        assert queues.job_id(ctx.settings, "publish", run_id) in publish_ids
        pipeline.publish(run_id)  # what the queued job does
    with storage.session_scope(ctx.sessions) as session:
        states = {r.id: (r.status, r.conclusion) for r in storage.latest_runs(session)}
        notes = [h.note for h in storage.status_history(session, mine[1])]
    assert states == {mine[0]: ("completed", "cancelled"), mine[1]: ("completed", "cancelled"), other: ("queued", None)}
    assert notes[-1] == "cancelled by @wes"
    assert [(c.status, c.conclusion) for c in standin.check_runs(REPO)] == [("completed", "cancelled")] * 2
    assert "Cancelled by @wes" in standin.check_runs(REPO)[0].output["summary"]
    with storage.session_scope(ctx.sessions) as session:  # a late result from the stopped worker changes nothing
        assert not storage.finish_run(session, mine[1], conclusion="success", title="late", summary="")
    assert eyes(standin, comment_id) and replies(standin) == []
    for key in ctx.redis.scan_iter(f"{ctx.settings.queue_prefix}:commands:debounce:*"):
        ctx.redis.delete(key)  # a minute later
    commands.handle_comment(say(ctx, standin, repo, "/verdict cancel", "wes")[0])
    assert "nothing to cancel" in replies(standin)[-1]


def test_explain_lists_the_failures_and_is_open_to_anyone(ctx, standin, repo):
    run_id = finished_run(ctx, repo, [PASSED, FAILED, ERRORED])
    delivery, comment_id = say(ctx, standin, repo, "/explain", "rex")
    commands.handle_comment(delivery)
    [reply] = replies(standin)
    assert reply.startswith("@rex, 2 failed in the latest run of")
    assert f"http://verdict.test/runs/{run_id}" in reply
    assert "**test_divide** — `tests/test_calculator.py:12`" in reply and "assert 2 == 3" in reply
    assert "fixture 'db' not found" in reply and "test_add" not in reply
    assert eyes(standin, comment_id)


@pytest.mark.parametrize("cases,says", [(None, "has finished yet, so there is nothing to explain"),
                                        ([PASSED], "no failures in the latest run")])
def test_explain_without_failures_or_runs(ctx, standin, repo, cases, says):
    if cases is not None:
        finished_run(ctx, repo, cases)
    commands.handle_comment(say(ctx, standin, repo, "/explain", "nan")[0])
    [reply] = replies(standin)
    assert says in reply


def test_explain_fits_githubs_comment_limit(ctx, standin, repo):
    many = [TestCase(name=f"test_{i}_{'ü' * 200}", status=TestStatus.FAILED, file="tests/test_big.py", line=i + 1,
                     message=("x" * 200 + "\n") * 20) for i in range(200)]
    finished_run(ctx, repo, many)
    commands.handle_comment(say(ctx, standin, repo, "/explain")[0])
    [reply] = replies(standin)
    assert len(reply.encode()) <= 65_536 and "cut by Verdict" in reply
    assert standin.errors == []


def test_ok_to_test_approves_the_current_head_only(ctx, standin, repo):
    delivery, comment_id = say(ctx, standin, repo, "/ok-to-test", "max")
    commands.handle_comment(delivery)
    with storage.session_scope(ctx.sessions) as session:
        assert storage.is_approved(session, REPO_ID, repo.sha)
        [approval] = storage.approvals_for(session, REPO_ID, PULL)
        assert (approval.head_sha, approval.approved_by, approval.installation_id) == (repo.sha, "max", INSTALLATION)
    new_head = "d" * 40
    standin.add_pull_request(REPO, PULL, new_head, "feature", author="alice")  # a push moved the head
    with storage.session_scope(ctx.sessions) as session:
        assert not storage.is_approved(session, REPO_ID, new_head)
    assert eyes(standin, comment_id) and replies(standin) == [] and runs(ctx) == []


@pytest.mark.parametrize("body,intro", [("/help", ""), ("/verdict frobnicate", "Verdict does not know"),
                                        ("/verdict help", ""),
                                        ("/testing\n/verdict nope", "does not know `/testing`, `/verdict nope`")])
def test_help_and_unknown_commands_answer_with_help_once(ctx, standin, repo, body, intro):
    delivery, comment_id = say(ctx, standin, repo, body, "nan")
    commands.handle_comment(delivery)
    [reply] = replies(standin)
    assert reply.endswith(HELP_TEXT) and intro in reply
    assert eyes(standin, comment_id) is ("help" in body)


# -- limits and retries -------------------------------------------------------------------------------


def test_the_same_command_within_a_minute_is_debounced(ctx, standin, repo):
    first, first_comment = say(ctx, standin, repo, "/test")
    second, second_comment = say(ctx, standin, repo, "/test", "wes")
    commands.handle_comment(first)
    commands.handle_comment(second)
    assert len(runs(ctx)) == 1
    assert eyes(standin, first_comment) and eyes(standin, second_comment)
    commands.handle_comment(say(ctx, standin, repo, "/test all")[0])  # not the same command
    assert len(runs(ctx)) == 2


def test_runs_from_commands_are_limited_per_installation(ctx, standin, repo, monkeypatch):
    monkeypatch.setattr(commands, "RUNS_PER_MINUTE", 2)
    commands.handle_comment(say(ctx, standin, repo, "/test\n/test all\n/test tests/\n/test lib/")[0])
    assert [r[2].get("target") for r in runs(ctx)] == [None, "all"]
    [reply] = replies(standin)
    assert "2 runs from comments in the last minute" in reply


def test_a_burst_of_100_commands_in_a_minute_does_not_start_100_runs(ctx, standin, repo):
    identical = [say(ctx, standin, repo, "/retest" if i % 2 else "/test", "wes")[0] for i in range(50)]
    distinct = [say(ctx, standin, repo, f"/test tests/case_{i}.py", "ada")[0] for i in range(50)]
    for delivery in identical + distinct:
        commands.handle_comment(delivery)
    started = runs(ctx)
    assert len(started) <= commands.RUNS_PER_MINUTE  # identical ones debounced, the rest capped
    assert sum(1 for r in started if r[2].get("command") == "test" and r[2].get("target") is None) == 1
    limit_replies = [r for r in replies(standin) if "runs from comments in the last minute" in r]
    assert len(limit_replies) == 1  # one explanation, not one per refused comment


def test_a_retried_job_does_not_repeat_its_commands(ctx, standin, repo):
    delivery, _ = say(ctx, standin, repo, "/test\n/help")
    commands.handle_comment(delivery)
    commands.handle_comment(delivery)
    assert len(runs(ctx)) == 1 and len(replies(standin)) == 1


def test_the_reaper_enqueues_a_comment_whose_job_never_reached_redis(ctx, standin, repo):
    delivery, _ = say(ctx, standin, repo, "/test", status="received")
    counts = reap(ctx, now=datetime.now(UTC) + timedelta(seconds=61))
    assert counts["enqueued_deliveries"] == 1
    assert queues.checks_queue(ctx.redis, ctx.settings).get_job_ids() == [queues.job_id(ctx.settings, "comment",
                                                                                         delivery)]
    with storage.session_scope(ctx.sessions) as session:
        assert storage.get_delivery(session, delivery).status == "enqueued"


def test_a_command_github_refuses_is_explained_and_the_next_one_still_runs(ctx, standin, repo):
    standin.inject_failure("GET", rf"/pulls/{PULL}$", 404, times=1)
    commands.handle_comment(say(ctx, standin, repo, "/ok-to-test\n/help", "wes")[0])
    could_not, help_reply = replies(standin)
    assert could_not.startswith("@wes, Verdict could not do `/ok-to-test`") and "404" in could_not
    assert help_reply == HELP_TEXT


def test_retest_and_test_all_run_what_they_ask_for(ctx, standin, repo, bwrap_available):
    record_repository(ctx, repo)
    with storage.session_scope(ctx.sessions) as session:
        first = storage.start_run(session, installation_id=INSTALLATION, repository_id=REPO_ID, head_sha=repo.sha,
                                  trigger="pull_request.opened", delivery_id=None, pull_numbers=[PULL]).id
    pipeline.create_check(first)
    pipeline.execute(first)
    commands.handle_comment(say(ctx, standin, repo, "/retest")[0])
    with storage.session_scope(ctx.sessions) as session:
        retest = storage.latest_runs(session)[0].id
        assert storage.run_request(session, retest)["only"] == ["tests/test_calculator.py::test_mean"]
    pipeline.create_check(retest)
    pipeline.execute(retest)
    commands.handle_comment(say(ctx, standin, repo, "/test all", login="wes")[0])
    with storage.session_scope(ctx.sessions) as session:
        everything = storage.latest_runs(session)[0].id
    pipeline.create_check(everything)
    pipeline.execute(everything)
    titles = [(r.conclusion, r.output["title"]) for r in standin.check_runs(REPO)]
    assert titles == [("failure", "1 failed, 1 passed, 1 skipped"), ("failure", "1 failed"),
                      ("failure", "1 failed, 1 passed, 1 skipped")]
    assert standin.errors == []
