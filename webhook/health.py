"""GET /healthz (the process is up) and GET /readyz (the database and Redis answer)."""

from flask import Blueprint, current_app, jsonify
from redis.exceptions import RedisError

import storage

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    services = current_app.extensions["verdict"]
    checks = {"database": storage.ping(services.engine)}
    try:
        checks["redis"] = bool(services.redis.ping())
    except RedisError:
        checks["redis"] = False
    ok = all(checks.values())
    return jsonify(status="ok" if ok else "unavailable", checks=checks), 200 if ok else 503
