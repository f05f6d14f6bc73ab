"""Check run buttons (`check_run.requested_action`): check who pressed it, then act.

`handle_requested_action(delivery_id)` reads the stored delivery. The button must be on a check
run of one of this installation's runs, and the person who pressed it needs write access (or be
`trusted`), as for slash commands; anyone else gets one reply on the pull request and nothing runs.

- `approve`: approve the check run's head commit for its pull request and start a new run of it;
- `rerun-failed`: a new run of only the tests that failed in that run (request.only, as `/retest`);
- `rerun-all`: a new run of the whole suite (request.target "all", as `/test all`).

Check events of a fork's pull request name no pull requests: the pull request is found from the
runs recorded for the head commit.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import storage
from checks import ConversationClient
from jobs.access import can_write, installation_stopped, is_trusted
from jobs.commands import start_run_once
from jobs.context import JobContext, current
from jobs.explain import failed_node_ids, fit
from jobs.repo_config import CONFIG_PATH, RepoConfigError, load_config
from verdict.errors import PermanentError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ButtonFacts:
    """Plain values from the stored delivery and the run its check run shows."""

    delivery_id: str
    installation_id: int
    repository_id: int
    repo: str
    default_branch: str
    identifier: str
    login: str
    run_id: int
    head_sha: str
    head_branch: str | None
    pull_numbers: list[int]


def button_facts(ctx: JobContext, delivery_id: str) -> ButtonFacts | None:
    with storage.session_scope(ctx.sessions) as session:
        delivery = storage.get_delivery(session, delivery_id)
        if delivery is None or (delivery.event, delivery.action) != ("check_run", "requested_action"):
            return None
        payload = json.loads(delivery.payload)
        installation_id = int(payload["installation"]["id"])
        check_run = payload["check_run"]
        run = storage.run_for_check_run(session, int(check_run["id"]), installation_id=installation_id)
        repository = storage.get_repository(session, int(payload["repository"]["id"]))
        if run is None or repository is None or run.repository_id != repository.id:
            log.warning("delivery %s: check run %s is not one of installation %s's runs", delivery_id,
                        check_run["id"], installation_id)
            return None
        pulls = [int(pr["number"]) for pr in check_run.get("pull_requests") or []]
        pulls = pulls or storage.pull_numbers_for_sha(session, run.repository_id, run.head_sha,
                                                      installation_id=installation_id)
        return ButtonFacts(delivery_id=delivery_id, installation_id=installation_id, repository_id=repository.id,
                           repo=repository.full_name, default_branch=repository.default_branch or "main",
                           identifier=payload["requested_action"]["identifier"],
                           login=payload["sender"]["login"], run_id=run.id, head_sha=run.head_sha,
                           head_branch=run.head_branch, pull_numbers=pulls)


def handle_requested_action(delivery_id: str) -> None:
    """The button job: one per accepted `check_run.requested_action` delivery (job id `<prefix>-action-<delivery>`)."""
    ctx = current()
    facts = button_facts(ctx, delivery_id)
    if facts is None:
        return
    if stopped := installation_stopped(ctx, facts.installation_id):
        log.warning("delivery %s: %s; the button is ignored", delivery_id, stopped)
        return
    api = ConversationClient(ctx.github, facts.installation_id)
    if not _may_act(ctx, api, facts):
        _refuse(api, facts)
        return
    {"approve": approve, "rerun-failed": rerun_failed, "rerun-all": rerun_all}[facts.identifier](ctx, facts)


def approve(ctx: JobContext, facts: ButtonFacts) -> None:
    """Approve the check run's commit (bound to that sha) and run it again, as a new check run."""
    with storage.session_scope(ctx.sessions) as session:
        for number in facts.pull_numbers or [0]:
            storage.approve(session, installation_id=facts.installation_id, repository_id=facts.repository_id,
                            pull_number=number, head_sha=facts.head_sha, approved_by=facts.login)
        latest = storage.latest_run(session, facts.repository_id, facts.head_sha,
                                    installation_id=facts.installation_id)
        waiting = latest is not None and latest.conclusion == "action_required"
    if not waiting:  # pressed again, or the commit is already running: the approval is enough
        log.info("delivery %s: @%s approved %s", facts.delivery_id, facts.login, facts.head_sha[:12])
        return
    run_id = _start(ctx, facts, "check_run.approve", None)
    log.info("delivery %s: @%s approved %s; run %s queued", facts.delivery_id, facts.login, facts.head_sha[:12],
             run_id)


def rerun_failed(ctx: JobContext, facts: ButtonFacts) -> None:
    with storage.session_scope(ctx.sessions) as session:
        only = failed_node_ids(storage.test_results(session, facts.run_id))
    if not only:
        log.info("delivery %s: nothing failed in run %s; re-running everything", facts.delivery_id, facts.run_id)
        rerun_all(ctx, facts)
        return
    _start(ctx, facts, "check_run.rerun-failed", {"command": "retest", "by": facts.login, "only": only})


def rerun_all(ctx: JobContext, facts: ButtonFacts) -> None:
    _start(ctx, facts, "check_run.rerun-all", {"command": "test", "by": facts.login, "target": "all"})


def _start(ctx: JobContext, facts: ButtonFacts, trigger: str, request: dict | None) -> int:
    return start_run_once(ctx, installation_id=facts.installation_id, repository_id=facts.repository_id,
                          delivery_id=facts.delivery_id, head_sha=facts.head_sha, head_branch=facts.head_branch,
                          pull_numbers=facts.pull_numbers, trigger=trigger, request=request)


def _may_act(ctx: JobContext, api: ConversationClient, facts: ButtonFacts) -> bool:
    if can_write(ctx, api, installation_id=facts.installation_id, repository_id=facts.repository_id,
                 repo=facts.repo, login=facts.login):
        return True
    try:
        return is_trusted(load_config(api, facts.repo, facts.default_branch), facts.login)
    except RepoConfigError as exc:
        log.warning("delivery %s: %s; nobody is trusted by it", facts.delivery_id, exc)
        return False


def _refuse(api: ConversationClient, facts: ButtonFacts) -> None:
    log.info("delivery %s: @%s may not use %r on run %s", facts.delivery_id, facts.login, facts.identifier,
             facts.run_id)
    if not facts.pull_numbers:
        return
    body = (f"@{facts.login}, only people with write access to this repository (or listed as `trusted` in "
            f"`{CONFIG_PATH}`) can use the check run's buttons, so Verdict did nothing.")
    try:
        api.comment(facts.repo, facts.pull_numbers[0], fit(body))
    except PermanentError as exc:  # a locked conversation, say: the log is all that is left
        log.warning("delivery %s: could not reply: %s", facts.delivery_id, exc)
