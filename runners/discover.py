"""Which command runs a workspace's tests, where it writes its report and in which format.

    test_plan_for(workspace) -> TestPlan(command, report_file, report_format, framework, image)

Python repositories (test_*.py / *_test.py files) run pytest writing JUnit XML; this comes
first, so a repository Verdict already ran keeps its command. Otherwise package.json decides:
the framework among its devDependencies/dependencies (jest, vitest, mocha; the one its
"test" script names when several are listed), else the framework its "test" script runs.
Each JavaScript command writes the framework's own JSON report into `.verdict/`.

The command runs in the workspace root inside the sandbox; `prepare_report_dir` makes the
directory the report goes into before it starts.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runners.errors import NoTestsFound, RunnerMisconfigured
from runners.result import RunSpec

REPORT_FILE = ".verdict/junit.xml"
PYTEST_COMMAND = [
    "python3", "-m", "pytest", "-p", "no:cacheprovider", "-o", "junit_family=xunit1",
    f"--junitxml={REPORT_FILE}", "-q",
]
SKIPPED_DIRS = {".git", ".verdict", ".venv", "venv", ".tox", ".nox", "node_modules", "__pycache__"}
MAX_PACKAGE_JSON = 1024 * 1024


@dataclass(frozen=True)
class TestPlan:
    """How to run one workspace's tests and read their results."""

    __test__ = False  # not a pytest test class

    command: list[str]
    report_file: str  # workspace-relative
    report_format: str  # a key of runners.reports.PARSERS
    framework: str  # pytest, jest, vitest or mocha
    image: str  # the runners.images recipe the docker runner needs: python or node

    def spec(self, workspace: Path, **options: Any) -> RunSpec:
        """A RunSpec running this plan in the workspace; options are RunSpec's other fields."""
        return RunSpec(workspace=workspace, command=list(self.command), report_file=self.report_file,
                       report_format=self.report_format, **options)


PYTEST = TestPlan(PYTEST_COMMAND, REPORT_FILE, "junit", "pytest", "python")
JAVASCRIPT: dict[str, TestPlan] = {
    "jest": TestPlan(["npx", "--no-install", "jest", "--ci", "--json", "--outputFile=.verdict/jest.json",
                      "--testLocationInResults"], ".verdict/jest.json", "jest", "jest", "node"),
    "vitest": TestPlan(["npx", "--no-install", "vitest", "run", "--reporter=json",
                        "--outputFile=.verdict/vitest.json"], ".verdict/vitest.json", "vitest", "vitest", "node"),
    "mocha": TestPlan(["npx", "--no-install", "mocha", "--reporter", "json", "--reporter-option",
                       "output=.verdict/mocha.json"], ".verdict/mocha.json", "mocha", "mocha", "node"),
}
FRAMEWORK_PREFERENCE = ("vitest", "jest", "mocha")  # when package.json lists several and the script names none


def test_plan_for(workspace: Path) -> TestPlan:
    """The plan that runs the workspace's tests, or NoTestsFound when it has none Verdict knows."""
    if has_python_tests(workspace):
        plan = PYTEST
    else:
        framework = javascript_framework(workspace)
        if framework is None:
            raise NoTestsFound("no tests found in the repository: Verdict runs pytest (files named test_*.py "
                               "or *_test.py) or, from package.json, jest, vitest or mocha")
        plan = JAVASCRIPT[framework]
    prepare_report_dir(workspace, plan.report_file)
    return plan


def test_command_for(workspace: Path) -> list[str]:
    """The pytest argv for a Python workspace (NoTestsFound otherwise); see test_plan_for for all."""
    if not has_python_tests(workspace):
        raise NoTestsFound("no Python tests found in the repository: Verdict runs pytest, which looks for "
                           "files named test_*.py or *_test.py")
    prepare_report_dir(workspace)
    return list(PYTEST_COMMAND)


test_plan_for.__test__ = False  # type: ignore[attr-defined]  # functions, not pytest tests
test_command_for.__test__ = False  # type: ignore[attr-defined]


def has_python_tests(workspace: Path) -> bool:
    for _dir, dirs, files in os.walk(workspace):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
        if any(f.endswith(".py") and (f.startswith("test_") or f.endswith("_test.py")) for f in files):
            return True
    return False


def javascript_framework(workspace: Path) -> str | None:
    """jest, vitest or mocha as package.json declares it, or None."""
    package = read_package_json(workspace)
    if package is None:
        return None
    scripts = package.get("scripts")
    script = scripts.get("test", "") if isinstance(scripts, dict) else ""
    named = _frameworks_in_script(script if isinstance(script, str) else "")
    declared = set()
    for section in ("devDependencies", "dependencies"):
        deps = package.get(section)
        if isinstance(deps, dict):
            declared |= {name for name in JAVASCRIPT if name in deps}
    for framework in named:
        if framework in declared or not declared:
            return framework
    return next((f for f in FRAMEWORK_PREFERENCE if f in declared), None)


def _frameworks_in_script(script: str) -> list[str]:
    """Frameworks a `"test"` script runs, in the order it names them."""
    found = [(m.start(), m.group(1)) for m in re.finditer(r"(?<![\w@/-])(jest|vitest|mocha)(?![\w-])", script)]
    return [name for _, name in sorted(found)]


def read_package_json(workspace: Path) -> dict[str, Any] | None:
    """The workspace's package.json as a dict; None when absent, unreadable or not an object."""
    path = workspace / "package.json"
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_PACKAGE_JSON:
            return None
        data = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def prepare_report_dir(workspace: Path, report_file: str = REPORT_FILE) -> Path:
    """Create the report's directory and remove a stale report; return the report's host path."""
    report = workspace / report_file
    if not report.resolve().is_relative_to(workspace.resolve()):
        raise RunnerMisconfigured(f"the report path {report_file} leads out of the workspace "
                                  "(a symlink in the repository, or '..')")
    report.parent.mkdir(parents=True, exist_ok=True)
    report.unlink(missing_ok=True)
    return report
