"""Slash commands from a pull request comment: check who asked, acknowledge, act, answer.

`handle_comment(delivery_id)` reads the stored `issue_comment` delivery and handles its commands
in order. `/test`, `/retest`, `/cancel` and `/ok-to-test` need write, maintain or admin on the
repository, or the commenter's login in `trusted` of `.github/verdict.yml` (default branch);
anyone else gets one polite reply and nothing runs. `/help` and `/explain` are open to anyone.
Each accepted command is acknowledged with an `eyes` reaction on the comment.

Runs a command starts carry `runs.request` (see storage.models.Run.request):
`/test [all|<path>]` → {"command": "test", "by", "target"?}; `/retest` → {"command": "retest",
"by", "only": [pytest node ids of the tests that failed last time]}. `/ok-to-test` records the approval
of the head commit and, when that commit's run waits for approval (or it has none), starts a new run.
Work of a suspended or removed installation is dropped.

Redis keys, all under "<queue prefix>:commands:":
  permission:<installation>:<repository>:<login>  the login's role, cached PERMISSION_TTL s
  debounce:<repository>:<pull>:<command>[:target] the delivery that last ran it, DEBOUNCE_SECONDS
  runs:<installation>                             sorted set of command-started runs in the last 60 s
  limited:<installation>:<pull>                   the "too many runs" reply was posted (60 s)
  done:<delivery>:<index>                         commands handled, so a retried job skips them
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Protocol

import storage
from checks import ConversationAPI, ConversationClient, PullRequest, RepoContentsAPI
from jobs import queues
from jobs.access import PERMISSION_TTL, can_write, installation_stopped
from jobs.cancelling import CANCELLED_TITLE, cancel_runs
from jobs.context import JobContext, current
from jobs.explain import MAX_COMMENT_BYTES, explanation, failed_node_ids, fit
from jobs.repo_config import CONFIG_PATH, RepoConfigError, load_config
from verdict.errors import PermanentError
from webhook.commands import HELP_TEXT, Command, parse_commands

log = logging.getLogger(__name__)

PRIVILEGED = ("test", "retest", "cancel", "ok-to-test")
DEBOUNCE_SECONDS = 60
RUNS_PER_MINUTE = 20  # command-started runs per installation per minute
DONE_TTL = 24 * 3600
__all__ = ["CANCELLED_TITLE", "MAX_COMMENT_BYTES", "PERMISSION_TTL", "CommentFacts", "Conversation",
           "handle_comment", "start_run_once"]


class CommandsAPI(ConversationAPI, RepoContentsAPI, Protocol):
    """The GitHub calls the commands job makes (the repository config is read for `trusted`)."""


@dataclass(frozen=True)
class CommentFacts:
    """Plain values from the stored delivery: who said what, where."""

    delivery_id: str
    installation_id: int
    repository_id: int
    repo: str
    default_branch: str
    pull_number: int
    comment_id: int
    login: str
    commands: tuple[Command, ...]


def comment_facts(ctx: JobContext, delivery_id: str) -> CommentFacts | None:
    with storage.session_scope(ctx.sessions) as session:
        delivery = storage.get_delivery(session, delivery_id)
        if delivery is None or delivery.event != "issue_comment":
            return None
        payload = json.loads(delivery.payload)
        repository = storage.get_repository(session, payload["repository"]["id"])
        default_branch = repository.default_branch if repository else payload["repository"].get("default_branch")
    comment = payload["comment"]
    return CommentFacts(
        delivery_id=delivery_id, installation_id=int(payload["installation"]["id"]),
        repository_id=int(payload["repository"]["id"]), repo=payload["repository"]["full_name"],
        default_branch=default_branch or "main", pull_number=int(payload["issue"]["number"]),
        comment_id=int(comment["id"]), login=(payload.get("sender") or comment["user"])["login"],
        commands=tuple(parse_commands(comment.get("body"))))


def handle_comment(delivery_id: str) -> None:
    """The commands job: one per accepted `issue_comment` delivery (job id `<prefix>-comment-<delivery>`)."""
    ctx = current()
    facts = comment_facts(ctx, delivery_id)
    if facts is None:
        log.warning("delivery %s: not a recorded issue_comment; nothing to do", delivery_id)
        return
    if stopped := installation_stopped(ctx, facts.installation_id):
        log.warning("delivery %s: %s; its commands are dropped", delivery_id, stopped)
        return
    Conversation(ctx, ConversationClient(ctx.github, facts.installation_id), facts).run()


class Conversation:
    """One comment's commands, handled in order; one command's failure never stops the next."""

    def __init__(self, ctx: JobContext, api: CommandsAPI, facts: CommentFacts):
        self.ctx, self.api, self.facts = ctx, api, facts
        self._pull: PullRequest | None = None
        self._allowed: bool | None = None
        self._refused = self._helped = self._limited = self._reacted = False

    def run(self) -> None:
        for index, command in enumerate(self.facts.commands):
            done = self._key("done", self.facts.delivery_id, index)
            if self.ctx.redis.exists(done):
                continue  # handled before this job was retried
            try:
                self.handle(command)
            except PermanentError as exc:  # retrying will not help: say so, and go on with the next command
                log.warning("delivery %s: /%s failed: %s", self.facts.delivery_id, command.name, exc)
                self.reply_if_possible(f"@{self.facts.login}, Verdict could not do `{command.line}`: {exc}")
            self.ctx.redis.set(done, 1, ex=DONE_TTL)

    def handle(self, command: Command) -> None:
        if command.name in ("help", "unknown"):
            self.help(command)
            return
        if command.name in PRIVILEGED and not self.may_act():
            self.refuse()
            return
        self.react()
        if not self.first_in_a_while(command):
            log.info("delivery %s: /%s debounced", self.facts.delivery_id, command.name)
            return
        {"test": self.test, "retest": self.retest, "cancel": self.cancel, "ok-to-test": self.ok_to_test,
         "explain": self.explain}[command.name](command)

    # -- the commands --------------------------------------------------------------------------------

    def help(self, command: Command) -> None:
        if command.name == "help":
            self.react()
        if self._helped:
            return
        self._helped = True
        unknown = ", ".join(f"`{c.line}`" for c in self.facts.commands if c.name == "unknown")
        intro = f"@{self.facts.login}, Verdict does not know {unknown}.\n\n" if unknown else ""
        self.reply(intro + HELP_TEXT)

    def test(self, command: Command) -> None:
        request: dict = {"command": "test", "by": self.facts.login}
        if command.target:
            request["target"] = command.target
        self.start_run("issue_comment.test", request)

    def retest(self, command: Command) -> None:
        pull = self.pull()
        with storage.session_scope(self.ctx.sessions) as session:
            run = storage.latest_completed_run(session, self.facts.repository_id, pull.head_sha,
                                               installation_id=self.facts.installation_id)
            only = failed_node_ids(storage.test_results(session, run.id)) if run else []
        if not only:
            why = "no run of it has finished yet" if run is None else "nothing failed in its latest run"
            self.reply(f"@{self.facts.login}, there is nothing to retest for `{pull.head_sha[:12]}`: {why}.")
            return
        self.start_run("issue_comment.retest", {"command": "retest", "by": self.facts.login, "only": only})

    def cancel(self, command: Command) -> None:
        who, number = self.facts.login, self.facts.pull_number
        with storage.session_scope(self.ctx.sessions) as session:
            active = [run.id for run in storage.active_runs_for_pull(session, self.facts.repository_id, number,
                                                                      installation_id=self.facts.installation_id)]
        cancelled = cancel_runs(self.ctx, active, title=CANCELLED_TITLE, note=f"cancelled by @{who}",
                                summary=f"Cancelled by @{who} with `/cancel` on #{number}.")
        log.info("delivery %s: @%s cancelled runs %s of #%s", self.facts.delivery_id, who, cancelled, number)
        if not cancelled:
            self.reply(f"@{who}, there is nothing to cancel: no run of #{number} is queued or in progress.")

    def explain(self, command: Command) -> None:
        pull = self.pull()
        with storage.session_scope(self.ctx.sessions) as session:
            run = storage.latest_completed_run(session, self.facts.repository_id, pull.head_sha,
                                               installation_id=self.facts.installation_id)
            rows = storage.test_results(session, run.id) if run else []
            text = explanation(self.facts.login, pull.head_sha, run, rows,
                               self.ctx.details_url(run.id) if run else None)
        self.reply(text)

    def ok_to_test(self, command: Command) -> None:
        pull = self.pull()
        with storage.session_scope(self.ctx.sessions) as session:
            storage.approve(session, installation_id=self.facts.installation_id,
                            repository_id=self.facts.repository_id, pull_number=self.facts.pull_number,
                            head_sha=pull.head_sha, approved_by=self.facts.login)
            latest = storage.latest_run(session, self.facts.repository_id, pull.head_sha,
                                        installation_id=self.facts.installation_id)
            waiting = latest is not None and latest.conclusion == "action_required"
        log.info("delivery %s: @%s approved %s of #%s", self.facts.delivery_id, self.facts.login,
                 pull.head_sha[:12], self.facts.pull_number)
        if waiting:  # its run waited for this approval: a new run (and check run) for the approved commit
            self.start_run("issue_comment.ok-to-test", None)

    # -- helpers -------------------------------------------------------------------------------------

    def start_run(self, trigger: str, request: dict | None) -> None:
        pull = self.pull()
        if not self.already_started(trigger, pull.head_sha, request) and not self.within_run_limit():
            return
        run_id = start_run_once(self.ctx, installation_id=self.facts.installation_id,
                                repository_id=self.facts.repository_id, delivery_id=self.facts.delivery_id,
                                head_sha=pull.head_sha, head_branch=pull.head_ref, pull_numbers=[pull.number],
                                trigger=trigger, request=request)
        log.info("delivery %s: run %s queued for %s by @%s (%s)", self.facts.delivery_id, run_id,
                 pull.head_sha[:12], self.facts.login, request)

    def already_started(self, trigger: str, head_sha: str, request: dict | None) -> bool:
        with storage.session_scope(self.ctx.sessions) as session:
            return any((run.trigger, run.head_sha, run.request) == (trigger, head_sha, request)
                       for run in storage.runs_for_delivery(session, self.facts.delivery_id))

    def may_act(self) -> bool:
        if self._allowed is None:
            self._allowed = self.can_write() or self.is_trusted()
        return self._allowed

    def can_write(self) -> bool:
        return can_write(self.ctx, self.api, installation_id=self.facts.installation_id,
                         repository_id=self.facts.repository_id, repo=self.facts.repo, login=self.facts.login)

    def is_trusted(self) -> bool:
        try:
            config = load_config(self.api, self.facts.repo, self.facts.default_branch)
        except RepoConfigError as exc:
            log.warning("delivery %s: %s; nobody is trusted by it", self.facts.delivery_id, exc)
            return False
        return self.facts.login.lower() in config.trusted

    def refuse(self) -> None:
        if self._refused:
            return
        self._refused = True
        asked = ", ".join(f"`/{c.name}`" for c in self.facts.commands if c.name in PRIVILEGED)
        self.reply(f"@{self.facts.login}, only people with write access to this repository (or listed as "
                   f"`trusted` in `{CONFIG_PATH}`) can use {asked}, so Verdict did nothing. Anyone may use "
                   "`/help` and `/explain`.")

    def first_in_a_while(self, command: Command) -> bool:
        """Debounce: False when the same command ran on this pull request in the last DEBOUNCE_SECONDS."""
        key = self._key("debounce", self.facts.repository_id, self.facts.pull_number, command.name,
                        *([command.target.lower()] if command.target else []))
        if self.ctx.redis.set(key, self.facts.delivery_id, nx=True, ex=DEBOUNCE_SECONDS):
            return True
        return self.ctx.redis.get(key) == self.facts.delivery_id.encode()  # this delivery, retried

    def within_run_limit(self) -> bool:
        """At most RUNS_PER_MINUTE command-started runs per installation in any 60 s (a sliding window)."""
        key = self._key("runs", self.facts.installation_id)
        now = time.time()
        with self.ctx.redis.pipeline() as pipe:
            pipe.zremrangebyscore(key, 0, now - 60)
            pipe.zcard(key)
            _, started = pipe.execute()
        if started < RUNS_PER_MINUTE:
            self.ctx.redis.zadd(key, {f"{self.facts.delivery_id}:{now}": now})
            self.ctx.redis.expire(key, 120)
            return True
        notice = self._key("limited", self.facts.installation_id, self.facts.pull_number)
        if not self._limited and self.ctx.redis.set(notice, self.facts.delivery_id, nx=True, ex=60):
            self._limited = True  # one explanation per pull request and minute, not one per refused comment
            self.reply(f"@{self.facts.login}, this installation has started {RUNS_PER_MINUTE} runs from comments "
                       "in the last minute, which is as many as Verdict allows; please try again in a minute.")
        return False

    def pull(self) -> PullRequest:
        if self._pull is None:
            self._pull = self.api.pull_request(self.facts.repo, self.facts.pull_number)
        return self._pull

    def react(self) -> None:
        if not self._reacted:
            self.api.react(self.facts.repo, self.facts.comment_id, "eyes")
            self._reacted = True

    def reply(self, body: str) -> None:
        self.api.comment(self.facts.repo, self.facts.pull_number, fit(body))

    def reply_if_possible(self, body: str) -> None:
        try:
            self.reply(body)
        except PermanentError as exc:  # a locked conversation, say: the log is all that is left
            log.warning("delivery %s: could not reply either: %s", self.facts.delivery_id, exc)

    def _key(self, *parts: object) -> str:
        return ":".join([self.ctx.settings.queue_prefix, "commands", *map(str, parts)])


def start_run_once(ctx: JobContext, *, installation_id: int, repository_id: int, delivery_id: str, head_sha: str,
                   head_branch: str | None, pull_numbers: list[int], trigger: str, request: dict | None) -> int:
    """Queue a new attempt for a person's request (a command, a button) and its jobs; a retried job
    reuses the run its delivery already started for the same request."""
    with storage.session_scope(ctx.sessions) as session:
        earlier = [run.id for run in storage.runs_for_delivery(session, delivery_id)
                   if (run.trigger, run.head_sha, run.request) == (trigger, head_sha, request)]
        if earlier:
            run_id = earlier[0]
        else:
            run = storage.start_run(session, installation_id=installation_id, repository_id=repository_id,
                                    head_sha=head_sha, trigger=trigger, delivery_id=delivery_id,
                                    head_branch=head_branch, pull_numbers=pull_numbers, rerun=True, request=request)
            assert run is not None  # rerun=True always queues
            run_id = run.id
    queues.enqueue_runs(ctx.redis, ctx.settings, [run_id])
    return run_id
