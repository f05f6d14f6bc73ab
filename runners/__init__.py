"""Runners: run a repository's tests in a sandbox and return one RunResult.

They know nothing of GitHub, Redis, Flask or the database: `runner.run(spec) -> RunResult`.
"""

from runners.base import RUNNERS, Runner, UnknownRunner, get_runner
from runners.deps import DependencyCache
from runners.discover import REPORT_FILE, TestPlan, test_command_for, test_plan_for
from runners.docker import DockerRunner, remove_stale_containers
from runners.errors import (
    ImageBuildError,
    NoTestsFound,
    RunnerError,
    RunnerMisconfigured,
    RunnerUnavailable,
)
from runners.images import base_image_tag, build_images, ensure_base_image, ensure_node_image
from runners.junit import parse_junit
from runners.kernel import locate_kernel
from runners.process import ProcessRunner
from runners.qemu import QemuRunner
from runners.reports import parse_report
from runners.result import Outcome, ResourceUsage, RunResult, RunSpec, TestCase, TestStatus
from runners.tap import TapParser, parse_tap

__all__ = [
    "DockerRunner", "ImageBuildError", "NoTestsFound", "Outcome", "ProcessRunner", "QemuRunner",
    "REPORT_FILE", "RUNNERS", "RunResult", "RunSpec", "Runner", "RunnerError", "RunnerMisconfigured",
    "RunnerUnavailable", "TapParser", "TestCase", "TestStatus", "UnknownRunner", "base_image_tag",
    "build_images", "ensure_base_image", "get_runner", "locate_kernel", "parse_junit", "parse_tap",
    "remove_stale_containers", "test_command_for",
    "DependencyCache", "ResourceUsage", "TestPlan", "ensure_node_image", "parse_report", "test_plan_for",
]
