"""End-to-end harness: the GitHub stand-in, a git repository it serves, gunicorn and `verdict worker` processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
import sqlalchemy

from tests.conftest import REPO_ROOT
from tests.gitrepo import GitRepo
from tests.standin import GitHubStandin
from tests.standin.payloads import sign, webhook_payload

SECRET = "e2e-webhook-secret"
INSTALLATION = 31337
REPO = "octo-org/calculator"
REPO_ID = 424242
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class Service:
    """gunicorn serving wsgi:app and any number of `verdict worker` processes, sharing one environment."""

    def __init__(self, tmp: Path, standin: GitHubStandin, database_url: str, redis_url: str, runner: str):
        self.tmp = tmp
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        key = tmp / "app.pem"
        key.write_text(standin.private_key_pem)
        self.env = {
            "PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME": str(tmp), "LANG": "C.UTF-8",
            "APP_ID": str(standin.app_id), "PRIVATE_KEY_PATH": str(key), "WEBHOOK_SECRET": SECRET,
            "GITHUB_API_URL": standin.url, "REDIS_URL": redis_url, "DATABASE_URL": database_url,
            "VERDICT_QUEUE_PREFIX": f"e2e-{uuid.uuid4().hex[:8]}", "VERDICT_RUNNER": runner,
            "VERDICT_DATA_DIR": str(tmp / "data"), "VERDICT_PUBLIC_URL": self.url, "VERDICT_STALE_AFTER": "6",
            "VERDICT_RUN_TIMEOUT": "120", "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1",
        }
        if os.environ.get("CI"):
            self.env["CI"] = os.environ["CI"]
        self.procs: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = self.tmp / f"{name}-{len(self.logs)}.log"
        self.logs.append(log)
        proc = subprocess.Popen(argv, cwd=REPO_ROOT, env=self.env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs.append(proc)
        return proc

    def start_web(self) -> None:
        self._spawn("gunicorn", [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--workers", "2",
                                 "--timeout", "60", "wsgi:app"])
        wait_for(self._healthy, 30, "gunicorn to answer /healthz")

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def start_worker(self) -> subprocess.Popen:
        return self._spawn("worker", [str(BIN / "verdict"), "worker"])

    def deliver(self, event: str, payload: dict, delivery: str | None = None) -> httpx.Response:
        body = json.dumps(payload).encode()
        return httpx.post(f"{self.url}/webhook", content=body, timeout=30, headers={
            "X-GitHub-Event": event, "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
            "X-Hub-Signature-256": sign(body, SECRET), "Content-Type": "application/json"})

    def output(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())

    def kill(self, proc: subprocess.Popen) -> None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture
def repo(tmp_path, standin):
    standin.add_installation(INSTALLATION, "octo-org")
    repo = GitRepo(tmp_path / "origin" / "calculator")
    repo.failing_sha = repo.commit_tree(REPO_ROOT / "examples" / "calculator", "calculator with a bug")
    info = standin.add_repository(INSTALLATION, REPO, repo.path, repo_id=REPO_ID)
    repo.clone_url = info["clone_url"]
    return repo


@pytest.fixture
def postgres_database(postgres_url):
    name = f"verdict_e2e_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f'create database "{name}"'))
    yield postgres_url.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f'drop database if exists "{name}" with (force)'))
    admin.dispose()


def make_service(tmp_path, standin, database_url, redis_url, runner):
    service = Service(tmp_path, standin, database_url, redis_url, runner)
    service.start_web()
    return service


def pr_payload(repo: GitRepo, action: str, head_sha: str, installation_id: int = INSTALLATION) -> dict:
    filename = {"opened": "opened.payload.json", "synchronize": "synchronize.payload.json"}[action]
    return webhook_payload("pull_request", filename, full_name=REPO, repo_id=REPO_ID,
                           installation_id=installation_id, clone_url=repo.clone_url, head_sha=head_sha)
