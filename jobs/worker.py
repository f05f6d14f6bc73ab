"""`verdict worker`: an RQ worker on the checks and runs queues, with the reaper beside it.

Any number of workers may share one REDIS_URL. Jobs run in the worker process itself
(RQ's SimpleWorker) so the GitHub client and its installation-token cache live as long
as the worker; the sandboxes give the isolation.
"""

from __future__ import annotations

import logging
import threading

from redis import Redis
from rq import SimpleWorker

import storage
from jobs import queues
from jobs.context import current
from jobs.reaper import reap
from verdict.settings import Settings

log = logging.getLogger(__name__)


def _reaper_loop(stop: threading.Event, every: float) -> None:
    while not stop.wait(every):
        try:
            reap(current())
        except Exception:  # the reaper must outlive a database or Redis hiccup
            log.exception("reaper pass failed; trying again in %.0f s", every)


def run_worker(settings: Settings, *, burst: bool = False, name: str | None = None) -> bool:
    settings.require_github_app()
    storage.migrate(storage.make_engine(settings.database_url))
    redis = Redis.from_url(settings.redis_url)
    redis.ping()
    _remove_stale_sandboxes(settings)
    stop = threading.Event()
    every = max(2.0, min(30.0, settings.stale_after / 4))
    reaper = threading.Thread(target=_reaper_loop, args=(stop, every), name="reaper", daemon=True)
    reaper.start()
    worker = SimpleWorker([queues.checks_queue(redis, settings), queues.runs_queue(redis, settings)],
                          connection=redis, name=name)
    log.info("worker %s listening on %s:checks and %s:runs (runner %s)", worker.name,
             settings.queue_prefix, settings.queue_prefix, settings.runner)
    try:
        return worker.work(burst=burst, with_scheduler=True, logging_level=settings.log_level)
    finally:
        stop.set()


def _remove_stale_sandboxes(settings: Settings) -> None:
    if settings.runner != "docker":
        return
    try:
        from runners.docker import remove_stale_containers

        removed = remove_stale_containers()
        if removed:
            log.info("removed %d sandbox container(s) left by a stopped worker", removed)
    except Exception as exc:  # no engine yet: the run itself will report it clearly
        log.warning("could not clean up old sandbox containers: %s", exc)
