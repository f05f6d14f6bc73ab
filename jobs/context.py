"""What a job needs, built once per worker process from the settings: database, Redis, GitHub client."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from functools import cache

from redis import Redis
from sqlalchemy.orm import sessionmaker

import storage
from checks import GitHubApp
from verdict.settings import Settings


@dataclass
class JobContext:
    settings: Settings
    sessions: sessionmaker
    redis: Redis
    github: GitHubApp
    worker_name: str

    def details_url(self, run_id: int) -> str:
        return f"{self.settings.public_url}/runs/{run_id}"


@cache
def _context_for(pid: int) -> JobContext:
    settings = Settings.from_env()
    engine = storage.make_engine(settings.database_url)
    return JobContext(
        settings=settings,
        sessions=storage.session_factory(engine),
        redis=Redis.from_url(settings.redis_url),
        github=GitHubApp(settings),
        worker_name=f"{socket.gethostname()}:{pid}",
    )


def current() -> JobContext:
    """The context of this process (jobs are module-level functions taking plain values)."""
    return _context_for(os.getpid())
