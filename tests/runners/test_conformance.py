"""The same suite gives the same counts in every runner as its framework run directly on the host.

The pytest example (examples/calculator) runs here through the process and docker runners and
through `sys.executable -m pytest` on the host with the very same arguments; the JavaScript
examples get the same comparison in test_javascript.py (test_example_repository runs Jest,
Mocha and Vitest through both runners and on the host with `npx`), not repeated here. The
QEMU runner runs shell suites printing KTAP, which have no host framework to compare with;
test_qemu.py checks the ktap-selftest example's results one by one.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from runners.discover import PYTEST_COMMAND
from runners.discover import test_plan_for as plan_for
from runners.docker import DockerRunner
from runners.process import ProcessRunner
from runners.reports import parse_report
from runners.result import Outcome
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

CALCULATOR = REPO_ROOT / "examples" / "calculator"


def checkout(into: Path) -> Path:
    return shutil.copytree(CALCULATOR, into, ignore=shutil.ignore_patterns("__pycache__", ".verdict", ".pytest_cache"))


def on_host(workspace: Path) -> dict[str, str]:
    """pytest run by this interpreter on the host, with the runners' arguments; name -> status."""
    plan = plan_for(workspace)
    assert plan.command[:3] == ["python3", "-m", "pytest"]
    subprocess.run([sys.executable, *PYTEST_COMMAND[1:]], cwd=workspace, capture_output=True, timeout=120)
    cases, error = parse_report(plan.report_format, workspace / plan.report_file, workspace, str(workspace))
    assert error is None, error
    return {f"{case.classname}::{case.name}": case.status.value for case in cases}


@pytest.fixture(scope="module")
def host_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return on_host(checkout(tmp_path_factory.mktemp("host") / "calculator"))


@pytest.mark.parametrize("kind", ["process", "docker"])
def test_calculator_counts_match_the_host(kind: str, host_results: dict[str, str], tmp_path: Path,
                                          request: pytest.FixtureRequest) -> None:
    if kind == "process":
        request.getfixturevalue("bwrap_available")
        runner: ProcessRunner | DockerRunner = ProcessRunner()
    else:
        runner = DockerRunner(client=request.getfixturevalue("docker_client"))
    workspace = checkout(tmp_path / "calculator")

    result = runner.run(plan_for(workspace).spec(workspace, timeout=120))

    assert result.outcome == Outcome.EXITED, result.error
    sandboxed = {f"{case.classname}::{case.name}": case.status.value for case in result.tests}
    assert len(host_results) >= 3
    assert Counter(sandboxed.values()) == Counter(host_results.values())
    assert sandboxed == host_results
