"""Which command runs a workspace's tests (for now: pytest, writing JUnit XML for Verdict).

The command runs in the workspace root inside the sandbox; `prepare_report_dir` makes the
directory the report goes into before it starts.
"""

from __future__ import annotations

import os
from pathlib import Path

from runners.errors import NoTestsFound, RunnerMisconfigured

REPORT_FILE = ".verdict/junit.xml"
PYTEST_COMMAND = [
    "python3", "-m", "pytest", "-p", "no:cacheprovider", "-o", "junit_family=xunit1",
    f"--junitxml={REPORT_FILE}", "-q",
]
SKIPPED_DIRS = {".git", ".verdict", ".venv", "venv", ".tox", ".nox", "node_modules", "__pycache__"}


def test_command_for(workspace: Path) -> list[str]:
    """The argv that runs the workspace's tests, or NoTestsFound when it has none."""
    if not has_python_tests(workspace):
        raise NoTestsFound("no Python tests found in the repository: Verdict runs pytest, which looks for "
                           "files named test_*.py or *_test.py")
    prepare_report_dir(workspace)
    return list(PYTEST_COMMAND)


test_command_for.__test__ = False  # type: ignore[attr-defined]  # a function, not a pytest test


def has_python_tests(workspace: Path) -> bool:
    for _dir, dirs, files in os.walk(workspace):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
        if any(f.endswith(".py") and (f.startswith("test_") or f.endswith("_test.py")) for f in files):
            return True
    return False


def prepare_report_dir(workspace: Path, report_file: str = REPORT_FILE) -> Path:
    """Create the report's directory and remove a stale report; return the report's host path."""
    report = workspace / report_file
    if not report.resolve().is_relative_to(workspace.resolve()):
        raise RunnerMisconfigured(f"the report path {report_file} leads out of the workspace "
                                  "(a symlink in the repository, or '..')")
    report.parent.mkdir(parents=True, exist_ok=True)
    report.unlink(missing_ok=True)
    return report
