"""Runners: run a repository's tests in a sandbox and return one RunResult.

They know nothing of GitHub, Redis, Flask or the database: `runner.run(spec) -> RunResult`.
"""

from runners.base import RUNNERS, Runner, UnknownRunner, get_runner
from runners.discover import REPORT_FILE, test_command_for
from runners.docker import DockerRunner, remove_stale_containers
from runners.errors import (
    ImageBuildError,
    NoTestsFound,
    RunnerError,
    RunnerMisconfigured,
    RunnerUnavailable,
)
from runners.images import base_image_tag, build_images, ensure_base_image
from runners.junit import parse_junit
from runners.process import ProcessRunner
from runners.result import Outcome, RunResult, RunSpec, TestCase, TestStatus

__all__ = [
    "RUNNERS", "REPORT_FILE", "DockerRunner", "ImageBuildError", "NoTestsFound", "Outcome",
    "ProcessRunner", "RunResult", "RunSpec", "Runner", "RunnerError", "RunnerMisconfigured",
    "RunnerUnavailable", "TestCase", "TestStatus", "UnknownRunner", "base_image_tag", "build_images",
    "ensure_base_image", "get_runner", "parse_junit", "remove_stale_containers", "test_command_for",
]
