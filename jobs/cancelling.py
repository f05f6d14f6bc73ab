"""Cancelling queued and running work: `/cancel`, and older heads of a pull request a push superseded.

A cancelled run is completed (a conditional update: a run that finished meanwhile keeps its own
verdict), its worker is told to stop, and the result is published.
"""

from __future__ import annotations

from collections.abc import Iterable

from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError

import storage
from jobs import queues
from jobs.context import JobContext

CANCELLED_TITLE = "Cancelled"
SUPERSEDED_TITLE = "Cancelled: a newer commit was pushed"


def cancel_runs(ctx: JobContext, run_ids: Iterable[int], *, title: str, summary: str, note: str) -> list[int]:
    """Finish each run as cancelled, stop its worker and publish it; the ids that were cancelled."""
    cancelled = []
    for run_id in run_ids:
        with storage.session_scope(ctx.sessions) as session:
            finished = storage.finish_run(session, run_id, conclusion="cancelled", title=title, summary=summary,
                                          note=note)
        if finished:  # a run that completed meanwhile keeps its own verdict
            cancelled.append(run_id)
            stop_job(ctx, run_id)
            queues.enqueue_publish(ctx.redis, ctx.settings, run_id)
    return cancelled


def stop_job(ctx: JobContext, run_id: int) -> None:
    """Stop the worker running it, if one is (the run is already completed, so a late result is dropped)."""
    try:
        send_stop_job_command(ctx.redis, queues.job_id(ctx.settings, "execute", run_id))
    except (InvalidJobOperation, NoSuchJobError):
        pass  # not started yet: its job finds the run completed and does nothing


def supersede_older_heads(ctx: JobContext, *, installation_id: int, repository_id: int, run_id: int,
                          head_sha: str, pull_numbers: Iterable[int], newer_url: str) -> list[int]:
    """Cancel the queued and running runs of these pull requests' older head commits (in this installation)."""
    with storage.session_scope(ctx.sessions) as session:
        older = sorted({run.id for number in pull_numbers
                        for run in storage.active_runs_for_pull(session, repository_id, number,
                                                                installation_id=installation_id)
                        if run.head_sha != head_sha and run.id < run_id})
    summary = (f"### {SUPERSEDED_TITLE}\n\nThis commit is no longer the head of its pull request, so Verdict "
               f"stopped testing it. The newer commit `{head_sha[:12]}` is tested here: {newer_url}")
    return cancel_runs(ctx, older, title=SUPERSEDED_TITLE, summary=summary, note=f"superseded by run {run_id}")
