"""Slash commands from a pull request comment: check who asked, acknowledge, act, answer.

`handle_comment(delivery_id)` reads the stored `issue_comment` delivery and handles its commands
in order. `/test`, `/retest`, `/cancel` and `/ok-to-test` need write, maintain or admin on the
repository, or the commenter's login in `trusted` of `.github/verdict.yml` (default branch);
anyone else gets one polite reply and nothing runs. `/help` and `/explain` are open to anyone.
Each accepted command is acknowledged with an `eyes` reaction on the comment.

Runs a command starts carry `runs.request` (see storage.models.Run.request):
`/test [all|<path>]` → {"command": "test", "by", "target"?}; `/retest` → {"command": "retest",
"by", "only": [pytest node ids of the tests that failed last time]}.

Redis keys, all under "<queue prefix>:commands:":
  permission:<installation>:<repository>:<login>  the login's role, cached PERMISSION_TTL s
  debounce:<repository>:<pull>:<command>[:target] the delivery that last ran it, DEBOUNCE_SECONDS
  runs:<installation>:<minute>                    runs started by commands in that minute
  done:<delivery>:<index>                         commands handled, so a retried job skips them
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Protocol

from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError

import storage
from checks import ConversationAPI, ConversationClient, PullRequest, RepoContentsAPI
from jobs import queues
from jobs.context import JobContext, current
from jobs.explain import MAX_COMMENT_BYTES, explanation, failed_node_ids, fit
from jobs.repo_config import CONFIG_PATH, RepoConfigError, parse_config
from verdict.errors import PermanentError
from webhook.commands import HELP_TEXT, Command, parse_commands

log = logging.getLogger(__name__)

PRIVILEGED = ("test", "retest", "cancel", "ok-to-test")
PERMISSION_TTL = 60
DEBOUNCE_SECONDS = 60
RUNS_PER_MINUTE = 20  # command-started runs per installation per minute
DONE_TTL = 24 * 3600
CANCELLED_TITLE = "Cancelled"
__all__ = ["MAX_COMMENT_BYTES", "CommentFacts", "Conversation", "handle_comment"]


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
            run = storage.latest_completed_run(session, self.facts.repository_id, pull.head_sha)
            only = failed_node_ids(storage.test_results(session, run.id)) if run else []
        if not only:
            why = "no run of it has finished yet" if run is None else "nothing failed in its latest run"
            self.reply(f"@{self.facts.login}, there is nothing to retest for `{pull.head_sha[:12]}`: {why}.")
            return
        self.start_run("issue_comment.retest", {"command": "retest", "by": self.facts.login, "only": only})

    def cancel(self, command: Command) -> None:
        who, number = self.facts.login, self.facts.pull_number
        with storage.session_scope(self.ctx.sessions) as session:
            active = [run.id for run in storage.active_runs_for_pull(session, self.facts.repository_id, number)]
        cancelled = []
        for run_id in active:
            with storage.session_scope(self.ctx.sessions) as session:
                finished = storage.finish_run(
                    session, run_id, conclusion="cancelled", title=CANCELLED_TITLE,
                    summary=f"Cancelled by @{who} with `/cancel` on #{number}.", note=f"cancelled by @{who}")
            if finished:  # a run that completed meanwhile keeps its own verdict
                cancelled.append(run_id)
                self.stop_job(run_id)
                queues.enqueue_publish(self.ctx.redis, self.ctx.settings, run_id)
        log.info("delivery %s: @%s cancelled runs %s of #%s", self.facts.delivery_id, who, cancelled, number)
        if not cancelled:
            self.reply(f"@{who}, there is nothing to cancel: no run of #{number} is queued or in progress.")

    def stop_job(self, run_id: int) -> None:
        """Stop the worker running it, if one is (the run is already completed, so a late result is dropped)."""
        try:
            send_stop_job_command(self.ctx.redis, queues.job_id(self.ctx.settings, "execute", run_id))
        except (InvalidJobOperation, NoSuchJobError):
            pass  # not started yet: its job finds the run completed and does nothing

    def explain(self, command: Command) -> None:
        pull = self.pull()
        with storage.session_scope(self.ctx.sessions) as session:
            run = storage.latest_completed_run(session, self.facts.repository_id, pull.head_sha)
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
        log.info("delivery %s: @%s approved %s of #%s", self.facts.delivery_id, self.facts.login,
                 pull.head_sha[:12], self.facts.pull_number)

    # -- helpers -------------------------------------------------------------------------------------

    def start_run(self, trigger: str, request: dict) -> None:
        pull = self.pull()
        with storage.session_scope(self.ctx.sessions) as session:
            earlier = [run.id for run in storage.runs_for_delivery(session, self.facts.delivery_id)
                       if (run.trigger, run.head_sha, run.request) == (trigger, pull.head_sha, request)]
        if not earlier and not self.within_run_limit():
            return
        run_id = earlier[0] if earlier else None  # a retried job reuses the run it already started
        if run_id is None:
            with storage.session_scope(self.ctx.sessions) as session:
                run = storage.start_run(
                    session, installation_id=self.facts.installation_id, repository_id=self.facts.repository_id,
                    head_sha=pull.head_sha, trigger=trigger, delivery_id=self.facts.delivery_id,
                    head_branch=pull.head_ref, pull_numbers=[pull.number], rerun=True, request=request)
                assert run is not None  # rerun=True always queues
                run_id = run.id
        queues.enqueue_runs(self.ctx.redis, self.ctx.settings, [run_id])
        log.info("delivery %s: run %s queued for %s by @%s (%s)", self.facts.delivery_id, run_id,
                 pull.head_sha[:12], self.facts.login, request)

    def may_act(self) -> bool:
        if self._allowed is None:
            self._allowed = self.can_write() or self.is_trusted()
        return self._allowed

    def can_write(self) -> bool:
        key = self._key("permission", self.facts.installation_id, self.facts.repository_id, self.facts.login.lower())
        cached = self.ctx.redis.get(key)
        if cached is not None:
            return cached == b"write"
        allowed = self.api.permission(self.facts.repo, self.facts.login).can_write
        self.ctx.redis.set(key, "write" if allowed else "no", ex=PERMISSION_TTL)
        return allowed

    def is_trusted(self) -> bool:
        try:
            config = parse_config(self.api.read_file(self.facts.repo, CONFIG_PATH, self.facts.default_branch))
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
        key = self._key("runs", self.facts.installation_id, int(time.time() // 60))
        started = self.ctx.redis.incr(key)
        self.ctx.redis.expire(key, 120)
        if started <= RUNS_PER_MINUTE:
            return True
        if not self._limited:
            self._limited = True
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
