"""The runner interface, and the registry that turns a configured name into a runner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from runners.errors import RunnerMisconfigured
from runners.result import RunResult, RunSpec


class Runner(Protocol):
    """Runs a command in a sandbox.

    A failing test is a result; a sandbox that cannot start raises a RunnerError.
    """

    name: str

    def run(self, spec: RunSpec) -> RunResult: ...


def _process() -> Runner:
    from runners.process import ProcessRunner

    return ProcessRunner()


def _docker() -> Runner:
    from runners.docker import DockerRunner

    return DockerRunner()


def _qemu() -> Runner:
    from runners.qemu import QemuRunner

    return QemuRunner()


RUNNERS: dict[str, Callable[[], Runner]] = {"process": _process, "docker": _docker, "qemu": _qemu}


class UnknownRunner(RunnerMisconfigured, ValueError):
    """A runner name that is not in RUNNERS."""


def get_runner(name: str) -> Runner:
    """A new runner by name; ValueError (UnknownRunner) naming the valid ones otherwise."""
    try:
        make = RUNNERS[name]
    except KeyError:
        raise UnknownRunner(f"unknown runner {name!r}: choose one of {', '.join(sorted(RUNNERS))}") from None
    return make()
