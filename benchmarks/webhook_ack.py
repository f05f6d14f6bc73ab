"""How fast Verdict acknowledges webhooks under gunicorn, next to a bare Flask endpoint.

One run starts Verdict (`gunicorn wsgi:app`) and `benchmarks/minimal_app.py` with the same
gunicorn settings, one after the other, drives each with the same pre-signed `pull_request.opened`
deliveries (`load.py`), prints latency and throughput side by side, and checks that Verdict
recorded one delivery per request sent. Everything it makes (server processes, a temporary
directory, a SQLite file or PostgreSQL database, Redis keys) is removed at the end, also on
Ctrl-C or an error. Run it as `benchmarks/run --help`.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import hmac
import json
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import load

if TYPE_CHECKING:
    from redis import Redis

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT.parent / "shared/fixtures/github/webhooks/pull_request/opened.payload.json"
GUNICORN = ROOT / ".venv/bin/gunicorn"
HOST = "127.0.0.1"  # loopback only
INSTALLATION_ID = 424242
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"  # creates and drops the benchmark's database
REDIS_SERVER_URL = "redis://127.0.0.1:6379"  # the benchmark runs in an empty numbered database on it
MAX_REQUESTS, MAX_CONCURRENCY, MAX_TIME_LIMIT = 20_000, 256, 300.0  # 20,000 bodies are ~550 MB
BOOT_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
# Settings that would change what is measured if they leaked in from the caller's environment
# (and every VERDICT_* one): the benchmark sets what it needs and leaves the rest at the defaults.
CLEARED_ENV = ("GUNICORN_CMD_ARGS", "WEBHOOK_PATH", "PRIVATE_KEY", "PRIVATE_KEY_PATH", "LOG_LEVEL",
               "GITHUB_API_URL")


@dataclass
class Target:
    name: str
    app: str  # gunicorn's APP_MODULE
    ready_path: str
    ready_status: int | None  # None: any answer means ready


VERDICT = Target("verdict", "wsgi:app", "/readyz", 200)
MINIMAL = Target("minimal flask", "benchmarks.minimal_app:app", "/webhook", None)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks/run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per target [2000]")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight at once [8]")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite",
                        help="Verdict's database: a temporary SQLite file or a new PostgreSQL database")
    parser.add_argument("--warmup", type=int, default=None,
                        help="unmeasured requests sent first [10%% of --requests, 50..200]")
    parser.add_argument("--time-limit", type=float, default=45.0,
                        help="seconds after which a target's measured phase starts no new request [45]")
    args = parser.parse_args(argv)
    if not (0 < args.requests <= MAX_REQUESTS and 0 < args.concurrency <= MAX_CONCURRENCY
            and 0 < args.time_limit <= MAX_TIME_LIMIT):
        parser.error(f"--requests must be in 1..{MAX_REQUESTS}, --concurrency in 1..{MAX_CONCURRENCY}, "
                     f"--time-limit in (0, {MAX_TIME_LIMIT:.0f}]")
    if args.warmup is None:
        args.warmup = max(50, min(200, args.requests // 10))
    if not 0 <= args.warmup <= MAX_REQUESTS:
        parser.error(f"--warmup must be in 0..{MAX_REQUESTS}")
    return args


def signed_requests(count: int, secret: str, run_token: str) -> list[bytes]:
    """`count` deliveries of the real pull_request.opened example, each with its own id and head sha."""
    template = json.loads(FIXTURE.read_text())
    template["installation"] = {**(template.get("installation") or {}), "id": INSTALLATION_ID}
    requests = []
    for n in range(count):
        payload = copy.deepcopy(template)
        payload["pull_request"]["head"]["sha"] = hashlib.sha1(f"{run_token}-{n}".encode()).hexdigest()
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/benchmark",
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-GitHub-Hook-Installation-Target-Type": "integration",
            "X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
        }
        requests.append(load.build_request(HOST, "/webhook", headers, body))
    return requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(target: Target, env: dict[str, str], log_path: Path) -> Iterator[int]:
    """Run `target` under gunicorn until the block ends; yields its port once it answers."""
    port = free_port()
    command = [str(GUNICORN), "--workers", "2", "--bind", f"{HOST}:{port}", target.app]
    if "--no-control-socket" in subprocess.run([str(GUNICORN), "--help"], capture_output=True,
                                               text=True, timeout=30).stdout:
        command[1:1] = ["--no-control-socket"]  # gunicorn >= 25 would otherwise write ~/.gunicorn/
    process = None
    try:
        with open(log_path, "ab") as log:
            # Own session: Ctrl-C reaches only this script, which then stops the server itself.
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        wait_until_ready(process, target, port, log_path)
        yield port
    finally:
        if process is not None:
            with signals_held():
                stop(process)


def wait_until_ready(process: subprocess.Popen, target: Target, port: int, log_path: Path) -> None:
    deadline = time.monotonic() + BOOT_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchmarkError(f"{target.name}: gunicorn exited with status {process.returncode} while "
                                 f"booting; its log ends with:\n{tail(log_path)}")
        status = load.probe(HOST, port, target.ready_path)
        if status is not None and (target.ready_status is None or status == target.ready_status):
            return
        time.sleep(0.2)
    raise BenchmarkError(f"{target.name}: not ready after {BOOT_TIMEOUT:.0f} s; its log ends with:\n"
                         f"{tail(log_path)}")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the gunicorn master (it stops its workers), SIGKILL to its process group if it hangs."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # the group this script created: workers left behind
    process.wait()


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(log unreadable: {exc})"


class BenchmarkError(Exception):
    """The benchmark could not be run; the message says why."""


@contextlib.contextmanager
def sqlite_database(workdir: Path) -> Iterator[str]:
    yield f"sqlite:///{workdir / 'verdict.db'}"  # removed with workdir


@contextlib.contextmanager
def postgres_database(admin_url: str, run_token: str) -> Iterator[str]:
    import psycopg
    from psycopg import sql

    name = f"verdict_bench_{run_token}"
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise BenchmarkError(f"PostgreSQL is not reachable at {admin_url}: {exc}") from exc
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            info = admin.info
            yield f"postgresql+psycopg://{info.user}@{info.host}:{info.port}/{name}"
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextlib.contextmanager
def redis_database(server_url: str, prefix: str) -> Iterator[str]:
    """An empty numbered Redis database; RQ job keys (`rq:job:create-check-<run id>`) do not carry
    the queue prefix, so sharing a database would mix them with another Verdict's jobs."""
    from redis import Redis
    from redis.exceptions import RedisError

    base = server_url.rstrip("/")
    try:
        server = Redis.from_url(base, socket_connect_timeout=2)
        count = int(server.config_get("databases").get("databases") or 16)
        empty = [n for n in range(1, count) if Redis.from_url(f"{base}/{n}").dbsize() == 0]
    except RedisError as exc:
        raise BenchmarkError(f"Redis is not reachable at {server_url}: {exc}") from exc
    if not empty:
        raise BenchmarkError(f"no empty Redis database on {server_url} to run in")
    url = f"{base}/{random.choice(empty)}"
    try:
        yield url
    finally:
        delete_queue_keys(Redis.from_url(url, socket_connect_timeout=2, decode_responses=True), prefix)


def delete_queue_keys(redis: Redis, prefix: str) -> None:
    """Delete the benchmark's queues, registries and the jobs that came from them, nothing else
    (`redis` decodes responses)."""
    ours = {key for key in redis.scan_iter(match=f"*{prefix}*", count=1000)}
    for key in redis.scan_iter(match="rq:job:*", count=1000):
        origin = redis.hget(key, "origin")
        if isinstance(origin, str) and origin.startswith(f"{prefix}:"):
            ours.add(key)
    for queue in [m for m in redis.smembers("rq:queues") if prefix in m]:
        redis.srem("rq:queues", queue)
    keys = sorted(ours)
    for start in range(0, len(keys), 500):
        redis.delete(*keys[start:start + 500])


def verdict_environment(secret: str, database_url: str, redis_url: str, prefix: str,
                        workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED_ENV and not k.startswith("VERDICT_")}
    env.update(WEBHOOK_SECRET=secret, APP_ID="1", DATABASE_URL=database_url, REDIS_URL=redis_url,
               VERDICT_QUEUE_PREFIX=prefix, VERDICT_DATA_DIR=str(workdir / "data"))
    return env


def measure(target: Target, env: dict[str, str], workdir: Path, warmup: list[bytes], measured: list[bytes],
            args: argparse.Namespace) -> tuple[load.Outcome, int]:
    """Warm up, then measure; (measured outcome, requests sent in all)."""
    log_path = workdir / f"{target.name.replace(' ', '-')}.log"
    with gunicorn(target, env, log_path) as port:
        print(f"  {target.name}: up on {HOST}:{port}; {len(warmup)} warm-up, then {len(measured)} measured",
              flush=True)
        warm = load.drive(HOST, port, warmup, args.concurrency, time_limit=min(15.0, args.time_limit))
        outcome = load.drive(HOST, port, measured, args.concurrency, time_limit=args.time_limit)
    return outcome, warm.sent + outcome.sent


def recorded_by_verdict(database_url: str, redis_url: str, prefix: str) -> tuple[int, int, int]:
    """(deliveries, runs, create-check jobs waiting) in Verdict's database and queue."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # the app's packages, as gunicorn sees them from the repo root
    from redis import Redis
    from sqlalchemy import func, select

    import storage
    from jobs.queues import checks_queue
    from verdict.settings import Settings

    engine = storage.make_engine(database_url)
    try:
        with engine.connect() as connection:
            deliveries = connection.scalar(select(func.count()).select_from(storage.Delivery))
            runs = connection.scalar(select(func.count()).select_from(storage.Run))
    finally:
        engine.dispose()
    queue = checks_queue(Redis.from_url(redis_url), Settings(queue_prefix=prefix))
    return deliveries or 0, runs or 0, queue.count


def commit() -> str:
    def git(*arguments: str) -> str:
        done = subprocess.run(["git", "-C", str(ROOT), *arguments], capture_output=True, text=True,
                              timeout=10)
        return done.stdout.strip() if done.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + (" (+ uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else "")


def row(name: str, outcome: load.Outcome) -> str:
    p50 = load.percentile(outcome.latencies, 0.50) * 1000
    p99 = load.percentile(outcome.latencies, 0.99) * 1000
    return (f"{name:<15} {outcome.sent:>9} {outcome.errors(202):>7} {p50:>9.2f} {p99:>9.2f} "
            f"{outcome.throughput():>9.1f}")


def ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.1f}x" if denominator > 0 else "-"


def print_report(args: argparse.Namespace, verdict: load.Outcome, minimal: load.Outcome) -> None:
    pct = load.percentile
    print()
    print(f"{'target':<15} {'requests':>9} {'errors':>7} {'p50 ms':>9} {'p99 ms':>9} {'req/s':>9}")
    print(row("verdict", verdict))
    print(row("minimal flask", minimal))
    print(f"{'ratio':<15} {'':>9} {'':>7} "
          f"{ratio(pct(verdict.latencies, 0.5), pct(minimal.latencies, 0.5)):>9} "
          f"{ratio(pct(verdict.latencies, 0.99), pct(minimal.latencies, 0.99)):>9} "
          f"{ratio(minimal.throughput(), verdict.throughput()):>9}")
    print("(ratio: verdict / minimal for p50 and p99, minimal / verdict for req/s)")
    print("load generator, on the same cores: " + ", ".join(
        f"{name} {outcome.client_cpu / outcome.elapsed:.0%} of one core" for name, outcome in
        (("verdict", verdict), ("minimal flask", minimal)) if outcome.elapsed > 0))
    for name, outcome in (("verdict", verdict), ("minimal flask", minimal)):
        if outcome.sent < args.requests:
            print(f"note: {name} reached --time-limit {args.time_limit:.0f} s after {outcome.sent} of "
                  f"{args.requests} requests")
        if outcome.errors(202):
            other = {**{str(k): v for k, v in outcome.statuses.items() if k != 202}, **outcome.failures}
            print(f"note: {name} errors: {other}")


def run(args: argparse.Namespace) -> int:
    run_token = secrets.token_hex(4)
    secret, prefix = secrets.token_hex(16), f"verdict-bench-{run_token}"
    payload_bytes = len(FIXTURE.read_bytes())
    print(f"Verdict webhook acknowledgement benchmark   commit {commit()}   cores {os.cpu_count()}   "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"python {platform.python_version()}   gunicorn --workers 2 (sync)   database {args.database}   "
          f"pull_request.opened payload {payload_bytes / 1024:.0f} KB")
    print(f"{args.requests} measured requests per target after {args.warmup} warm-up, concurrency "
          f"{args.concurrency}, time limit {args.time_limit:.0f} s", flush=True)
    requests = signed_requests(args.warmup + args.requests, secret, run_token)
    warmup, measured = requests[:args.warmup], requests[args.warmup:]
    cleanup = contextlib.ExitStack()
    try:
        workdir = Path(tempfile.mkdtemp(prefix="verdict-bench-"))
        cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
        database_url = cleanup.enter_context(
            sqlite_database(workdir) if args.database == "sqlite"
            else postgres_database(POSTGRES_ADMIN_URL, run_token))
        redis_url = cleanup.enter_context(redis_database(REDIS_SERVER_URL, prefix))
        env = verdict_environment(secret, database_url, redis_url, prefix, workdir)
        verdict, sent = measure(VERDICT, env, workdir, warmup, measured, args)
        deliveries, runs, jobs = recorded_by_verdict(database_url, redis_url, prefix)
        minimal, _ = measure(MINIMAL, env, workdir, warmup, measured, args)
    finally:
        with signals_held():
            cleanup.close()
    print_report(args, verdict, minimal)
    whole = deliveries == runs == jobs == sent
    print(f"deliveries recorded by verdict: {deliveries} for {sent} requests sent (warm-up included); "
          f"runs created {runs}; create-check jobs queued {jobs}: "
          f"{'ok, one each' if whole else 'MISMATCH: webhooks were lost or doubled'}")
    return 0 if whole else 1


def interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait while cleaning up, so a second one cannot leave things behind."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, interrupt)  # `kill` cleans up like Ctrl-C does
    try:
        return run(args)
    except BenchmarkError as exc:
        print(f"benchmark: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("benchmark: interrupted; everything it started has been stopped and removed", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
