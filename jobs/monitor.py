"""While a run is going: store output lines as log rows in batches and keep the run's heartbeat fresh."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import sessionmaker

import storage

log = logging.getLogger(__name__)
FLUSH_EVERY = 0.5  # seconds between log flushes
HEARTBEAT_EVERY = 5.0
MAX_LINE = 4000  # characters kept of one output line


class RunMonitor:
    def __init__(self, sessions: sessionmaker, run_id: int, heartbeat_every: float = HEARTBEAT_EVERY):
        self._sessions = sessions
        self._heartbeat_every = heartbeat_every
        self._run_id = run_id
        self._pending: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"run-{run_id}-monitor", daemon=True)

    def __enter__(self) -> RunMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._flush()

    def line(self, stream: str, text: str) -> None:
        """The runners' output sink: (stream, line)."""
        with self._lock:
            self._pending.append((stream, text.rstrip("\n")[:MAX_LINE]))

    def note(self, text: str) -> None:
        """A line of Verdict's own in the run log."""
        self.line("verdict", text)

    def _loop(self) -> None:
        beats = 0.0
        while not self._stop.wait(FLUSH_EVERY):
            beats += FLUSH_EVERY
            try:
                self._flush()
                if beats >= self._heartbeat_every:
                    beats = 0.0
                    with storage.session_scope(self._sessions) as session:
                        storage.heartbeat(session, self._run_id)
            except Exception:  # keep monitoring: a database hiccup must not kill the run
                log.exception("run %s: storing logs or heartbeat failed", self._run_id)

    def _flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        if pending:
            with storage.session_scope(self._sessions) as session:
                storage.append_logs(session, self._run_id, pending)
