"""What the runners share when they run a dependency install step in their sandbox.

The install step (see deps.py) is an ordinary sandboxed command with the network allowed;
these helpers give it its RunSpec and turn its failure into an InstallFailed that carries
the start and end of npm's or pip's output, so the check run says why (a lock file out of
date, a package that does not exist, a registry that cannot be reached).

The install step's environment is cleared like the test step's, then gets the tool's
settings plus the operator's registry settings passed through from the worker's environment
(never tokens: the allow-lists name registry, index and CA options only). pip also reads
/etc/pip.conf inside the process sandbox; the worker's own pip config file (PIP_CONFIG_FILE,
else ~/.config/pip/pip.conf or ~/.pip/pip.conf, hidden in the sandbox with the rest of the
home directory) is handed to it read-only by worker_pip_config.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import replace
from pathlib import Path

from runners.deps import InstallFailed
from runners.result import Outcome, OutputSink, RunSpec

INSTALL_TIMEOUT = 600.0  # seconds for npm ci or pip install
INSTALL_MEMORY_MB = 2048
NPM_SETTINGS = {"npm_config_update_notifier": "false", "npm_config_fund": "false",
                "npm_config_audit": "false", "npm_config_cache": "/tmp/.npm"}
NPM_PASSED_THROUGH = ("npm_config_registry", "npm_config_cafile")  # the operator's registry, never tokens
PIP_SETTINGS = {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
PIP_PASSED_THROUGH = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_TRUSTED_HOST", "PIP_CERT",
                      "PIP_DEFAULT_TIMEOUT", "PIP_RETRIES")
PIP_CONFIG_MOUNT = "/verdict-pip.conf"  # where the worker's pip config file appears in the install sandbox
TOOL_ENVIRONMENT = {"npm": (NPM_SETTINGS, NPM_PASSED_THROUGH), "pip": (PIP_SETTINGS, PIP_PASSED_THROUGH)}


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


def install_tool(argv: list[str]) -> str:
    """npm or pip: which tool an install argv runs (deps.NPM_CI or deps.PIP_INSTALL)."""
    return "pip" if argv[:3] == ["python3", "-m", "pip"] else "npm"


def install_spec(spec: RunSpec, stage: Path, argv: list[str], tail: OutputTail,
                 extra_env: dict[str, str] | None = None) -> RunSpec:
    """The install step's RunSpec: the test run's limits (at least enough memory for npm)."""
    settings, passed_through = TOOL_ENVIRONMENT[install_tool(argv)]
    env = {**settings, **{k: v for k in passed_through if (v := os.environ.get(k))}, **(extra_env or {})}
    return RunSpec(workspace=stage, command=argv, timeout=INSTALL_TIMEOUT,
                   memory_mb=max(spec.memory_mb, INSTALL_MEMORY_MB), cpus=spec.cpus, pids=max(spec.pids, 256),
                   env=env, on_output=tail)


def worker_pip_config() -> Path | None:
    """The worker's own pip config file, if it has one outside /etc (see the module docstring)."""
    configured = os.environ.get("PIP_CONFIG_FILE")
    candidates = [Path(configured)] if configured else [Path.home() / ".config" / "pip" / "pip.conf",
                                                        Path.home() / ".pip" / "pip.conf"]
    return next((path for path in candidates if path.is_file()), None)


def check_install(outcome: Outcome, exit_code: int | None, error: str | None, tail: OutputTail,
                  command: str = "npm ci") -> None:
    """Raise InstallFailed unless the install step exited 0."""
    if outcome == Outcome.EXITED and exit_code == 0:
        return
    reason = error or f"{command} exited with code {exit_code}"
    output = "\n".join(tail.lines)
    raise InstallFailed(f"{reason}:\n{output}" if output else reason)


def with_python_path(spec: RunSpec, directory: str) -> RunSpec:
    """The spec with `directory` first on its PYTHONPATH."""
    existing = spec.env.get("PYTHONPATH")
    return replace(spec, env={**spec.env, "PYTHONPATH": f"{directory}:{existing}" if existing else directory})
