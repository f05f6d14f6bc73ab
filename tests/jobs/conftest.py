"""The environment a job sees in tests: the GitHub stand-in, real Redis, a SQLite file, the process runner."""

from __future__ import annotations

import uuid

import pytest
from redis import Redis

import storage
from jobs import context


@pytest.fixture
def ctx(tmp_path, standin, redis_url, monkeypatch):
    """The job context built from the environment, exactly as a worker builds it."""
    prefix = f"jobs-test-{uuid.uuid4().hex[:8]}"
    for name, value in {"APP_ID": str(standin.app_id), "PRIVATE_KEY": standin.private_key_pem,
                        "WEBHOOK_SECRET": "s", "GITHUB_API_URL": standin.url, "REDIS_URL": redis_url,
                        "DATABASE_URL": f"sqlite:///{tmp_path / 'verdict.db'}", "VERDICT_QUEUE_PREFIX": prefix,
                        "VERDICT_RUNNER": "process", "VERDICT_DATA_DIR": str(tmp_path / "data"),
                        "VERDICT_STALE_AFTER": "60", "VERDICT_RUN_TIMEOUT": "120",
                        "VERDICT_PUBLIC_URL": "http://verdict.test"}.items():
        monkeypatch.setenv(name, value)
    context._context_for.cache_clear()
    ctx = context.current()
    storage.migrate(storage.make_engine(ctx.settings.database_url))
    yield ctx
    context._context_for.cache_clear()
    redis = Redis.from_url(redis_url)
    for pattern in (f"rq:*{prefix}*", f"{prefix}:*"):
        for key in redis.scan_iter(pattern):
            redis.delete(key)
