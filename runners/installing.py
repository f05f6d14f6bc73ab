"""What the runners share when they run a dependency install step in their sandbox.

The install step (see deps.py) is an ordinary sandboxed command with the network allowed;
these helpers give it its RunSpec and turn its failure into an InstallFailed that carries
the end of npm's output, so the check run says why (a lock file out of date, a registry
that cannot be reached).
"""

from __future__ import annotations

import os
from collections import deque
from pathlib import Path

from runners.deps import InstallFailed
from runners.result import Outcome, OutputSink, RunSpec

INSTALL_TIMEOUT = 600.0  # seconds for npm ci
INSTALL_MEMORY_MB = 2048
NPM_SETTINGS = {"npm_config_update_notifier": "false", "npm_config_fund": "false",
                "npm_config_audit": "false", "npm_config_cache": "/tmp/.npm"}
NPM_PASSED_THROUGH = ("npm_config_registry", "npm_config_cafile")  # the operator's registry, never tokens


class OutputTail:
    """An output sink that keeps the first and last lines (npm says why first, then prints
    usage) and forwards every line to the run's own sink."""

    def __init__(self, forward: OutputSink | None, keep: int = 12):
        self.head: list[str] = []
        self.tail: deque[str] = deque(maxlen=keep)
        self.keep = keep
        self.forward = forward

    @property
    def lines(self) -> list[str]:
        return [*self.head, *(["..."] if len(self.tail) == self.keep else []), *self.tail]

    def __call__(self, stream: str, line: str) -> None:
        if len(self.head) < self.keep:
            self.head.append(line)
        else:
            self.tail.append(line)
        if self.forward is not None:
            self.forward(stream, f"[install] {line}")


def install_spec(spec: RunSpec, stage: Path, argv: list[str], tail: OutputTail,
                 extra_env: dict[str, str] | None = None) -> RunSpec:
    """The install step's RunSpec: the test run's limits (at least enough memory for npm)."""
    env = {**NPM_SETTINGS, **{k: v for k in NPM_PASSED_THROUGH if (v := os.environ.get(k))},
           **(extra_env or {})}
    return RunSpec(workspace=stage, command=argv, timeout=INSTALL_TIMEOUT,
                   memory_mb=max(spec.memory_mb, INSTALL_MEMORY_MB), cpus=spec.cpus, pids=max(spec.pids, 256),
                   env=env, on_output=tail)


def check_install(outcome: Outcome, exit_code: int | None, error: str | None, tail: OutputTail) -> None:
    """Raise InstallFailed unless the install step exited 0."""
    if outcome == Outcome.EXITED and exit_code == 0:
        return
    reason = error or f"npm ci exited with code {exit_code}"
    output = "\n".join(tail.lines)
    raise InstallFailed(f"{reason}:\n{output}" if output else reason)
