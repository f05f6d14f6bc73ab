"""Fixtures shared by every test package: real services, or a clear skip (a failure under CI=true)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"
FIXTURES = SHARED / "fixtures" / "github"
POSTGRES_URL = os.environ.get("VERDICT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("VERDICT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def need(condition: bool, reason: str) -> None:
    """Skip when a real service is absent, but fail under CI=true: CI must run everything."""
    if condition:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required service missing under CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        ok = True
    except redis.RedisError:
        ok = False
    need(ok, f"Redis is not reachable at {REDIS_URL} (run scripts/test, which starts it)")
    return REDIS_URL


@pytest.fixture(scope="session")
def postgres_url() -> str:
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("select 1"))
        engine.dispose()
        ok = True
    except sqlalchemy.exc.SQLAlchemyError:
        ok = False
    need(ok, f"PostgreSQL is not reachable at {POSTGRES_URL} (run scripts/test, which starts it)")
    return POSTGRES_URL


@pytest.fixture(scope="session")
def docker_client():
    import docker

    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except Exception as exc:  # docker raises several unrelated types when the engine is absent
        need(False, f"the Docker engine is not reachable ({exc.__class__.__name__}); run scripts/test")
    yield client
    client.close()


@pytest.fixture(scope="session")
def bwrap_available() -> bool:
    ok = shutil.which("bwrap") is not None and subprocess.run(
        ["bwrap", "--ro-bind", "/", "/", "true"], capture_output=True).returncode == 0
    need(ok, "bubblewrap (bwrap) is not installed or cannot create a sandbox here")
    return ok


@pytest.fixture
def standin():
    """The GitHub stand-in, started for one test; tests add their installations and repositories."""
    from tests.standin import GitHubStandin

    server = GitHubStandin().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def qemu_ready() -> None:
    """QEMU, busybox and a kernel are installed (scripts/install-qemu), or a skip / CI failure."""
    from runners.errors import RunnerMisconfigured
    from runners.initramfs import find_busybox
    from runners.kernel import locate_kernel

    reasons = []
    if shutil.which("qemu-system-x86_64") is None:
        reasons.append("qemu-system-x86_64 is not installed")
    for check in (locate_kernel, find_busybox):
        try:
            check()
        except RunnerMisconfigured as exc:
            reasons.append(str(exc))
    need(not reasons, "; ".join(reasons) + " (run scripts/install-qemu)")
