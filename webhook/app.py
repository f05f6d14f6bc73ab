"""The Flask application factory: settings in, a ready app out (database migrated, queue connected)."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

from flask import Flask
from redis import Redis
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

import storage
from verdict.errors import ConfigError
from verdict.logs import configure as configure_logging
from verdict.settings import Settings
from webhook import health, pages, receiver


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker
    redis: Redis


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    if not settings.webhook_secret:
        raise ConfigError("missing setting: WEBHOOK_SECRET (the secret set on the GitHub App's webhook)")
    configure_logging(settings.log_level)
    engine = storage.make_engine(settings.database_url)
    storage.migrate(engine)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = receiver.MAX_BODY_BYTES
    app.extensions["verdict"] = Services(
        settings=settings, engine=engine, sessions=storage.session_factory(engine),
        redis=Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5))
    app.add_url_rule(settings.webhook_path, "webhook", receiver.receive, methods=["POST"])
    app.register_blueprint(health.bp)
    app.register_blueprint(pages.bp)
    app.register_error_handler(413, lambda e: receiver.answer(413, "rejected", "payload larger than 25 MB"))
    return app


def create_app_or_exit() -> Flask:
    """For `gunicorn wsgi:app`: a configuration problem is one clear line, not a traceback."""
    try:
        return create_app()
    except ConfigError as exc:
        print(f"verdict: configuration error: {exc}", file=sys.stderr)
        logging.shutdown()
        raise SystemExit(1) from None
