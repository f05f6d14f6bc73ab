"""The load generator: pre-built HTTP/1.1 requests sent by C threads over raw sockets, with latencies.

Each thread keeps its connection open for as long as the server allows (gunicorn's sync workers
answer `Connection: close`, so there it reconnects for every request, as GitHub's deliveries do).
A request's latency runs from just before its connect (when one is needed) or send, to the last
byte of the response. The run is bounded twice: by the number of requests given, and by a
deadline after which no new request is started; every socket operation has its own timeout.
"""

from __future__ import annotations

import math
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

SOCKET_TIMEOUT = 10.0  # seconds for one connect, send or receive
MAX_HEADER_BYTES = 64 * 1024


@dataclass
class Outcome:
    """What one run of the load generator saw."""

    latencies: list[float] = field(default_factory=list)  # seconds, one per answered request
    statuses: Counter[int] = field(default_factory=Counter)  # HTTP status -> count
    failures: Counter[str] = field(default_factory=Counter)  # transport error name -> count
    sent: int = 0  # requests whose bytes went (at least partly) onto the wire
    connections: int = 0
    elapsed: float = 0.0  # wall-clock seconds from the start to the last answer
    client_cpu: float = 0.0  # CPU seconds this process (the load generator) used meanwhile

    def errors(self, expected: int) -> int:
        unexpected = sum(n for status, n in self.statuses.items() if status != expected)
        return unexpected + sum(self.failures.values())

    def throughput(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed > 0 else 0.0


def build_request(host: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}",
             "Connection: keep-alive", *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class ServerClosed(Exception):
    """The server closed the connection before a whole response arrived."""


def read_response(sock: socket.socket) -> tuple[int, bool]:
    """Read one response; (status, whether the connection may be reused)."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ServerClosed("connection closed before the response headers")
        buffer += chunk
        if len(buffer) > MAX_HEADER_BYTES:
            raise ServerClosed("response headers too large")
    head, _, rest = buffer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    version, status = status_line.split(" ", 2)[:2]
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    keep_alive = headers.get("connection") != "close" and version == "HTTP/1.1"
    if "content-length" in headers:
        remaining = int(headers["content-length"]) - len(rest)
        while remaining > 0:
            chunk = sock.recv(min(remaining, 65536))
            if not chunk:
                raise ServerClosed("connection closed inside the response body")
            remaining -= len(chunk)
    else:  # no length: the body runs to the end of the connection
        while sock.recv(65536):
            pass
        keep_alive = False
    return int(status), keep_alive


def connect(host: str, port: int) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=SOCKET_TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def drive(host: str, port: int, requests: list[bytes], concurrency: int, time_limit: float,
          stop: threading.Event | None = None) -> Outcome:
    """Send every request once, `concurrency` at a time, for at most `time_limit` seconds."""
    outcome = Outcome()
    lock = threading.Lock()
    next_index = iter(range(len(requests)))
    stop = stop or threading.Event()
    started, cpu_started = time.perf_counter(), time.process_time()
    deadline = started + time_limit

    def take() -> int | None:
        with lock:
            if stop.is_set() or time.perf_counter() >= deadline:
                return None
            return next(next_index, None)

    def worker() -> None:
        sock: socket.socket | None = None
        latencies: list[float] = []
        statuses: Counter[int] = Counter()
        failures: Counter[str] = Counter()
        sent = connections = 0
        try:
            while (index := take()) is not None:
                begin = time.perf_counter()
                try:
                    if sock is None:
                        sock = connect(host, port)
                        connections += 1
                    sent += 1
                    sock.sendall(requests[index])
                    status, keep_alive = read_response(sock)
                except (OSError, ServerClosed, ValueError) as exc:
                    failures[type(exc).__name__] += 1
                    keep_alive = False
                else:
                    latencies.append(time.perf_counter() - begin)
                    statuses[status] += 1
                if not keep_alive and sock is not None:
                    sock.close()
                    sock = None
        finally:
            if sock is not None:
                sock.close()
            with lock:
                outcome.latencies.extend(latencies)
                outcome.statuses.update(statuses)
                outcome.failures.update(failures)
                outcome.sent += sent
                outcome.connections += connections

    threads = [threading.Thread(target=worker, name=f"load-{n}", daemon=True) for n in range(concurrency)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:  # a short join timeout keeps Ctrl-C responsive in the main thread
            while thread.is_alive():
                thread.join(0.2)
    except BaseException:
        stop.set()  # the threads finish the request in hand (bounded by SOCKET_TIMEOUT) and quit
        raise
    outcome.elapsed = time.perf_counter() - started
    outcome.client_cpu = time.process_time() - cpu_started
    return outcome


def probe(host: str, port: int, path: str) -> int | None:
    """One GET; the status, or None when nothing answers yet."""
    try:
        with connect(host, port) as sock:
            sock.settimeout(2.0)
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
            return read_response(sock)[0]
    except (OSError, ServerClosed, ValueError):
        return None


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of unsorted values (0.0 when there are none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]
