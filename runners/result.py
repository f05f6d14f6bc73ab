"""The one result model every runner returns, whatever ran the tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class TestStatus(StrEnum):
    __test__ = False  # not a pytest test class

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"
    XFAIL = "xfail"  # failed as the test declared it would (pytest xfail, Mocha/Jest `failing`): not a failure


class Outcome(StrEnum):
    """How the sandboxed command ended (not whether the tests passed)."""

    EXITED = "exited"  # the command ran to completion (any exit code)
    TIMED_OUT = "timed_out"  # killed at the wall-clock limit
    OUT_OF_MEMORY = "out_of_memory"  # killed by the memory limit
    ERROR = "error"  # the sandbox itself could not run the command


@dataclass
class TestCase:
    __test__ = False  # not a pytest test class

    name: str
    status: TestStatus
    classname: str = ""
    file: str | None = None  # repository-relative path, when known
    line: int | None = None  # 1-based line of the failure (or the test), when known
    duration: float = 0.0  # seconds
    message: str = ""
    trace: str = ""
    suite: str = ""  # enclosing suite(s), e.g. Jest's describe titles joined by " > ", or <testsuite name>
    test_id: str = ""  # the framework's own id when it has one (Jest's fullName, a JUnit classname::name)
    stdout: str = ""  # what the test printed, when the report records it per test
    stderr: str = ""


OutputSink = Callable[[str, str], None]
"""Called with (stream, line) for each line of output while the command runs."""


@dataclass
class RunSpec:
    """What to run: a command in a workspace, with limits."""

    workspace: Path  # host directory holding the checked-out repository (writable)
    command: list[str]  # argv, run with the workspace as working directory
    report_file: str = ".verdict/junit.xml"  # workspace-relative report the command writes
    report_format: str = "junit"  # how to read it: a key of runners.reports.PARSERS (junit, jest, vitest, mocha)
    timeout: float = 600.0  # wall-clock seconds
    memory_mb: int = 2048
    cpus: float = 1.0
    pids: int = 512
    disk_mb: int = 2048  # the workspace's size limit (docker: its own filesystem; process: largest file)
    env: dict[str, str] = field(default_factory=dict)  # the only environment the command sees
    image: str | None = None  # Docker image (docker runner only); default: by report_format
    on_output: OutputSink | None = None


@dataclass(frozen=True)
class ResourceUsage:
    """What the sandbox used while the command ran, sampled about every half second (monitor.py)."""

    peak_memory_mb: float  # the highest resident memory seen (the kernel's high-water mark where it keeps one)
    avg_memory_mb: float  # mean of the samples
    avg_cpu_percent: float  # CPU time over wall-clock time; 100 = one full core
    samples: int  # how many samples the averages rest on


@dataclass
class RunResult:
    outcome: Outcome
    exit_code: int | None
    duration: float  # wall-clock seconds of the sandboxed command
    tests: list[TestCase] = field(default_factory=list)
    error: str | None = None  # human-readable reason when outcome is not EXITED or the report is unreadable
    resources: ResourceUsage | None = None  # None when the sandbox could not be measured (or never started)

    def count(self, status: TestStatus) -> int:
        return sum(1 for t in self.tests if t.status == status)

    @property
    def failures(self) -> list[TestCase]:
        return [t for t in self.tests if t.status in (TestStatus.FAILED, TestStatus.ERROR)]


@dataclass
class Ended:
    """How a sandboxed command ended, before its report is read (what a runner's execution step returns)."""

    outcome: Outcome
    exit_code: int | None
    duration: float
    error: str | None
    resources: ResourceUsage | None = None
