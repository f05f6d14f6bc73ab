"""The reaper: nothing stays in progress forever and nothing recorded is forgotten.

Each worker runs it every few seconds (several workers reaping at once is safe: finishing
a run is a conditional update only one of them wins).
- A run in progress whose heartbeat is older than VERDICT_STALE_AFTER lost its worker
  (killed, crashed, machine gone): its check run is completed as `cancelled` with an
  explanation, and a new attempt with a new check run is queued once.
- A completed run whose result never reached GitHub is published again.
- A delivery recorded while the queue was unreachable is enqueued (its runs, or its comment's commands
  or check run button).
- A run still queued whose job was lost (Redis flushed, retries exhausted) is enqueued
  again; one that could not start within a day is completed as `cancelled`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import storage
from jobs import queues
from jobs.context import JobContext

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 2  # the original run and one retry after its worker died
NEVER_STARTED_AFTER = timedelta(hours=24)
REAPED_TITLE = "The Verdict worker stopped during this run"
EXPIRED_TITLE = "Verdict could not start this run"


def reap(ctx: JobContext, now: datetime | None = None) -> dict[str, int]:
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(seconds=ctx.settings.stale_after)
    counts = {"reaped": 0, "requeued": 0, "republished": 0, "enqueued_deliveries": 0, "redriven": 0, "expired": 0}
    with storage.session_scope(ctx.sessions) as session:
        stale = [(r.id, r.attempt, r.worker) for r in storage.stale_runs(session, heartbeat_before=cutoff)]
    for run_id, attempt, worker in stale:
        retry_id = _finish_stale(ctx, run_id, attempt, worker)
        if retry_id is None:  # another worker reaped it first
            continue
        counts["reaped"] += 1
        queues.enqueue_publish(ctx.redis, ctx.settings, run_id)
        if retry_id:
            counts["requeued"] += 1
            queues.enqueue_runs(ctx.redis, ctx.settings, [retry_id])
    with storage.session_scope(ctx.sessions) as session:
        unreported = [r.id for r in storage.unreported_completed_runs(session)
                      if r.check_run_id and r.completed_at and r.completed_at < cutoff]
        stuck = [(d.id, d.event, d.action, storage.queued_run_ids_for_delivery(session, d.id))
                 for d in storage.deliveries_with_status(session, "received", older_than=now - timedelta(seconds=30))]
    for run_id in unreported:
        queues.enqueue_publish(ctx.redis, ctx.settings, run_id)
        counts["republished"] += 1
    for delivery_id, event, action, run_ids in stuck:
        # A "received" comment or button delivery was accepted, but its conversation job never reached Redis.
        queues.enqueue_delivery(ctx.redis, ctx.settings, delivery_id, run_ids=run_ids,
                                comment_job=queues.has_conversation_job(event, action), event=event)
        with storage.session_scope(ctx.sessions) as session:
            storage.set_delivery_status(session, delivery_id, "enqueued", "enqueued by the reaper")
        counts["enqueued_deliveries"] += 1
    _redrive_waiting(ctx, now, cutoff, counts)
    if any(counts.values()):
        log.info("reaper: %s", ", ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


def _finish_stale(ctx: JobContext, run_id: int, attempt: int, worker: str | None) -> int | None:
    stale_for = int(ctx.settings.stale_after)
    with storage.session_scope(ctx.sessions) as session:
        run = storage.get_run(session, run_id)
        if run is None:
            return None
        retry = None
        if attempt < MAX_ATTEMPTS:
            retry = storage.start_run(session, installation_id=run.installation_id,
                                      repository_id=run.repository_id, head_sha=run.head_sha,
                                      trigger="reaper.retry", delivery_id=run.delivery_id,
                                      head_branch=run.head_branch, pull_numbers=run.pull_numbers or [],
                                      rerun=True)
        next_step = (f"Verdict queued attempt {retry.attempt} as a new check run." if retry else
                     "It had already been retried, so Verdict stopped here: use **Re-run** to try again.")
        summary = (f"### {REAPED_TITLE}\n\nWorker `{worker or '?'}` sent no heartbeat for {stale_for} s "
                   "(it was killed, crashed, or lost its database). The tests of this attempt did not "
                   f"finish.\n\n{next_step}\n\nLogs up to that point: {ctx.details_url(run_id)}")
        if not storage.finish_run(session, run_id, conclusion="cancelled", title=REAPED_TITLE, summary=summary,
                                  error=f"no heartbeat for {stale_for} s from worker {worker}", note="reaped"):
            session.rollback()  # another worker reaped it first; drop our retry too
            return None
    log.warning("run %s: worker %s stopped heartbeating; finished as cancelled%s", run_id, worker,
                f", retry is run {retry.id}" if retry else "")
    return retry.id if retry else 0


def _redrive_waiting(ctx: JobContext, now: datetime, cutoff: datetime, counts: dict[str, int]) -> None:
    with storage.session_scope(ctx.sessions) as session:
        waiting = [(r.id, r.check_run_id, r.created_at) for r in storage.waiting_runs(session, created_before=cutoff)]
    for run_id, check_run_id, created_at in waiting:
        if created_at < now - NEVER_STARTED_AFTER:
            hours = int(NEVER_STARTED_AFTER.total_seconds() // 3600)
            summary = (f"### {EXPIRED_TITLE}\n\nThis run waited more than {hours} hours without starting "
                       "(GitHub or the queue kept failing; the worker logs say why). Use **Re-run** to try again.")
            with storage.session_scope(ctx.sessions) as session:
                finished = storage.finish_run(session, run_id, conclusion="cancelled", title=EXPIRED_TITLE,
                                              summary=summary, error="never started", note="expired")
            if finished:
                counts["expired"] += 1
                queues.enqueue_publish(ctx.redis, ctx.settings, run_id)
        elif check_run_id is None:
            counts["redriven"] += queues.enqueue_runs(ctx.redis, ctx.settings, [run_id])
        else:
            counts["redriven"] += queues.enqueue_execute(ctx.redis, ctx.settings, run_id)
