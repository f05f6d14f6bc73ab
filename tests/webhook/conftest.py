"""A real app (SQLite file, real Redis) and a client that signs deliveries like GitHub does."""

from __future__ import annotations

import json
import uuid

import pytest
from redis import Redis

import storage
from tests.standin.payloads import sign
from verdict.settings import Settings
from webhook import create_app

SECRET = "It's a Secret to Everybody"


class GitHubSender:
    """Posts deliveries to the app the way GitHub does: raw JSON, signature and delivery headers."""

    def __init__(self, client, path: str = "/webhook"):
        self.client = client
        self.path = path

    def send(self, event: str, payload: dict | bytes, *, delivery: str | None = None, secret: str = SECRET,
             signature: str | None = None):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
                   "Content-Type": "application/json", "User-Agent": "GitHub-Hookshot/test"}
        sig = signature if signature is not None else sign(body, secret)
        if sig:
            headers["X-Hub-Signature-256"] = sig
        return self.client.post(self.path, data=body, headers=headers)


@pytest.fixture
def settings(tmp_path, redis_url):
    return Settings(app_id=4242, private_key=None, webhook_secret=SECRET,
                    database_url=f"sqlite:///{tmp_path / 'verdict.db'}", redis_url=redis_url,
                    queue_prefix=f"verdict-test-{uuid.uuid4().hex[:8]}", data_dir=tmp_path / "data")


@pytest.fixture
def app(settings):
    app = create_app(settings)
    yield app
    redis = Redis.from_url(settings.redis_url)
    for key in redis.scan_iter(f"rq:*{settings.queue_prefix}*"):
        redis.delete(key)
    app.extensions["verdict"].engine.dispose()


@pytest.fixture
def github(app):
    return GitHubSender(app.test_client())


@pytest.fixture
def db(app):
    sessions = app.extensions["verdict"].sessions

    def run(fn, *args, **kwargs):
        with storage.session_scope(sessions) as session:
            return fn(session, *args, **kwargs)
    return run
