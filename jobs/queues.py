"""Queue names, deterministic job ids and retry policies: what gets enqueued, and how.

Two queues: `<prefix>:checks` holds short GitHub calls (create the queued check run,
publish results) and is served first; `<prefix>:runs` holds the test runs themselves.
Job ids are derived from the run id (the delivery id for a comment's commands), and a job
that is already waiting or running is not enqueued again, so a duplicate delivery or a
reaper pass never doubles work.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from redis import Redis
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from verdict.settings import Settings

GITHUB_RETRY = Retry(max=5, interval=[5, 15, 60, 120, 300])
PENDING = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def checks_queue(redis: Redis, settings: Settings) -> Queue:
    return Queue(f"{settings.queue_prefix}:checks", connection=redis)


def runs_queue(redis: Redis, settings: Settings) -> Queue:
    return Queue(f"{settings.queue_prefix}:runs", connection=redis)


def job_id(settings: Settings, step: str, key: int | str) -> str:
    """Job ids are global in Redis: the queue prefix keeps deployments sharing a Redis apart.

    `key` is the run id, or for the conversation jobs ("comment", "action") the delivery id.
    """
    return f"{re.sub(r'[^A-Za-z0-9_-]', '-', settings.queue_prefix)}-{step}-{key}"


def _enqueue_once(queue: Queue, func: str, argument: int | str, job_id: str, **options) -> bool:
    """Enqueue unless the same job is already waiting or running; True when it was enqueued."""
    try:
        if Job.fetch(job_id, connection=queue.connection).get_status() in PENDING:
            return False
    except NoSuchJobError:
        pass
    queue.enqueue(func, argument, job_id=job_id, result_ttl=3600, failure_ttl=7 * 86400, **options)
    return True


def enqueue_runs(redis: Redis, settings: Settings, run_ids: Iterable[int]) -> int:
    """New runs: create their queued check runs first; that job then enqueues the test run."""
    queue = checks_queue(redis, settings)
    return sum(_enqueue_once(queue, "jobs.pipeline.create_check", run_id, job_id(settings, "create-check", run_id),
                             retry=GITHUB_RETRY, job_timeout=120) for run_id in run_ids)


def enqueue_execute(redis: Redis, settings: Settings, run_id: int) -> bool:
    return _enqueue_once(runs_queue(redis, settings), "jobs.pipeline.execute", run_id,
                         job_id(settings, "execute", run_id), job_timeout=int(settings.run_timeout) + 600)


def enqueue_publish(redis: Redis, settings: Settings, run_id: int) -> bool:
    return _enqueue_once(checks_queue(redis, settings), "jobs.pipeline.publish", run_id,
                         job_id(settings, "publish", run_id), retry=GITHUB_RETRY, job_timeout=300)


# The deliveries a person's request arrives in, and the job that checks who asked and acts:
# event -> (action, job function, job id step)
CONVERSATION_JOBS = {
    "issue_comment": ("created", "jobs.commands.handle_comment", "comment"),
    "check_run": ("requested_action", "jobs.actions.handle_requested_action", "action"),
}


def has_conversation_job(event: str, action: str | None) -> bool:
    """Whether an accepted delivery of this event and action is handled by a conversation job."""
    return event in CONVERSATION_JOBS and CONVERSATION_JOBS[event][0] == action


def enqueue_comment(redis: Redis, settings: Settings, delivery_id: str, event: str = "issue_comment") -> bool:
    """The slash commands of one `issue_comment` delivery, or the button of one `check_run.requested_action`
    (short GitHub calls: the checks queue)."""
    _, func, step = CONVERSATION_JOBS[event]
    return _enqueue_once(checks_queue(redis, settings), func, delivery_id,
                         job_id(settings, step, delivery_id), retry=GITHUB_RETRY, job_timeout=300)


def enqueue_delivery(redis: Redis, settings: Settings, delivery_id: str, *, run_ids: Iterable[int],
                     comment_job: bool, event: str = "issue_comment") -> None:
    """Everything a recorded delivery decided on: its runs, and its conversation job (commands, buttons)."""
    enqueue_runs(redis, settings, run_ids)
    if comment_job:
        enqueue_comment(redis, settings, delivery_id, event)
