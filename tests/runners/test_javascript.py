"""The JavaScript example repositories through both runners on real sandboxes, against the
framework run directly on the host; the dependency cache; discovery from package.json."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from runners.deps import DependencyCache
from runners.discover import JAVASCRIPT, PYTEST, javascript_framework
from runners.discover import test_plan_for as plan_for
from runners.docker import DockerRunner
from runners.errors import NoTestsFound
from runners.process import ProcessRunner
from runners.reports import parse_report
from runners.result import Outcome, RunResult
from runners.result import TestStatus as Status  # aliased: pytest would try to collect Test*
from tests.conftest import REPO_ROOT, need

pytestmark = pytest.mark.slow

EXAMPLES = REPO_ROOT / "examples"
FAILING_LINE = {"jest": 11, "mocha": 12, "vitest": 12}  # the failing assertion in test/calculator.test.js
FAILING_TEST = "mean > averages three numbers"


@pytest.fixture(scope="session")
def node_available() -> bool:
    ok = shutil.which("node") is not None and shutil.which("npx") is not None
    need(ok, "Node.js (node, npx) is not installed on the host")
    return ok


@pytest.fixture(scope="session")
def shared_deps(tmp_path_factory: pytest.TempPathFactory) -> DependencyCache:
    """One cache for the session: each example's lock file is installed once, whichever runner is first."""
    return DependencyCache(tmp_path_factory.mktemp("deps"))


def checkout(example: str, into: Path) -> Path:
    workspace = into / example
    shutil.copytree(EXAMPLES / example, workspace, ignore=shutil.ignore_patterns("node_modules", ".verdict"))
    return workspace


def statuses(cases) -> Counter:
    return Counter(c.status for c in cases)


def on_host(framework: str, workspace: Path, node_modules: Path) -> Counter:
    """The framework run directly on the host (the same command), its report read by the same parser."""
    plan = plan_for(workspace)
    (workspace / "node_modules").symlink_to(node_modules)
    subprocess.run(plan.command, cwd=workspace, capture_output=True, timeout=120)
    cases, error = parse_report(plan.report_format, workspace / plan.report_file, workspace, str(workspace))
    assert error is None, error
    return statuses(cases)


@pytest.mark.parametrize("framework", ["jest", "mocha", "vitest"])
@pytest.mark.parametrize("kind", ["process", "docker"])
def test_example_repository(kind: str, framework: str, shared_deps: DependencyCache, node_available: bool,
                            tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if kind == "process":
        request.getfixturevalue("bwrap_available")
        runner: ProcessRunner | DockerRunner = ProcessRunner(deps=shared_deps)
    else:
        runner = DockerRunner(client=request.getfixturevalue("docker_client"), deps=shared_deps)
    workspace = checkout(f"{framework}-calculator", tmp_path / "sandboxed")
    plan = plan_for(workspace)

    result = runner.run(plan.spec(workspace, timeout=120))

    assert (plan.framework, plan.report_format) == (framework, framework)
    assert result.outcome == Outcome.EXITED and result.exit_code == 1, result.error
    assert result.error is None
    assert statuses(result.tests) == {Status.PASSED: 1, Status.FAILED: 1, Status.SKIPPED: 1}
    [failing] = result.failures
    assert (failing.name, failing.file, failing.line) == (FAILING_TEST, "test/calculator.test.js",
                                                          FAILING_LINE[framework])
    assert "4" in failing.message and "3" in failing.message
    node_modules = shared_deps.root / shared_deps.node_dependencies(workspace).key / "node_modules"
    direct = on_host(framework, checkout(f"{framework}-calculator", tmp_path / "host"), node_modules)
    assert direct == statuses(result.tests)


def test_second_run_uses_the_dependency_cache(docker_client, bwrap_available: bool, node_available: bool,
                                              tmp_path: Path) -> None:
    deps = DependencyCache(tmp_path / "deps")
    docker, process = DockerRunner(client=docker_client, deps=deps), ProcessRunner(deps=deps)
    results: list[RunResult] = []
    install_lines: list[int] = []
    for number, runner in enumerate((docker, docker, process)):
        workspace = checkout("mocha-calculator", tmp_path / f"run{number}")
        lines: list[str] = []
        results.append(runner.run(plan_for(workspace).spec(workspace, timeout=120,
                                                           on_output=lambda s, line, seen=lines: seen.append(line))))
        install_lines.append(sum(line.startswith("[install]") for line in lines))

    assert deps.installs == 1  # the docker runner installed once; the later runs ran no npm
    assert install_lines[0] > 0 and install_lines[1:] == [0, 0]
    assert [statuses(r.tests)[Status.FAILED] for r in results] == [1, 1, 1]
    [entry] = [p for p in deps.root.iterdir() if p.is_dir()]
    assert (entry / "node_modules" / "mocha" / "package.json").is_file()
    assert entry.stat().st_uid == tmp_path.stat().st_uid  # the worker's, not the sandbox user's


def test_an_out_of_date_lock_file_is_a_clear_error(bwrap_available: bool, node_available: bool,
                                                   tmp_path: Path) -> None:
    workspace = checkout("mocha-calculator", tmp_path)
    package = json.loads((workspace / "package.json").read_text())
    package["devDependencies"]["left-pad"] = "^1.3.0"
    (workspace / "package.json").write_text(json.dumps(package))

    result = ProcessRunner(deps=DependencyCache(tmp_path / "deps")).run(plan_for(workspace).spec(workspace))

    assert result.outcome == Outcome.ERROR and result.tests == []
    assert "installing the dependencies failed" in (result.error or "") and "in sync" in (result.error or "")


SANDBOX_PROBE = """\
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');

it('cannot change the cached node_modules', function () {
  assert.throws(() => fs.writeFileSync('node_modules/mocha/planted.js', 'x'));
});

it('has no network', function (done) {
  const socket = net.connect({ host: '1.1.1.1', port: 53, timeout: 2000 });
  socket.on('connect', () => done(new Error('connected')));
  socket.on('error', () => done());
  socket.on('timeout', () => { socket.destroy(); done(); });
});
"""


@pytest.mark.parametrize("kind", ["process", "docker"])
def test_the_test_step_is_offline_and_cannot_change_dependencies(kind: str, shared_deps: DependencyCache,
                                                                node_available: bool, tmp_path: Path,
                                                                request: pytest.FixtureRequest) -> None:
    if kind == "process":
        request.getfixturevalue("bwrap_available")
        runner: ProcessRunner | DockerRunner = ProcessRunner(deps=shared_deps)
    else:
        runner = DockerRunner(client=request.getfixturevalue("docker_client"), deps=shared_deps)
    workspace = checkout("mocha-calculator", tmp_path)
    (workspace / "test" / "calculator.test.js").write_text(SANDBOX_PROBE)

    result = runner.run(plan_for(workspace).spec(workspace, timeout=60))

    assert [(t.name, t.status) for t in result.tests] == [
        ("cannot change the cached node_modules", Status.PASSED), ("has no network", Status.PASSED)], result
    key = shared_deps.node_dependencies(workspace).key
    assert not (shared_deps.root / key / "node_modules" / "mocha" / "planted.js").exists()


@pytest.mark.parametrize(("package", "framework"), [
    ({"devDependencies": {"jest": "^29"}}, "jest"),
    ({"devDependencies": {"vitest": "^2"}}, "vitest"),
    ({"dependencies": {"mocha": "^10"}}, "mocha"),
    ({"devDependencies": {"jest": "^29", "mocha": "^10"}, "scripts": {"test": "mocha --recursive"}}, "mocha"),
    ({"devDependencies": {"jest": "^29", "vitest": "^2"}}, "vitest"),
    ({"scripts": {"test": "jest --coverage"}}, "jest"),
    ({"scripts": {"test": "node test.js"}, "devDependencies": {"left-pad": "1"}}, None),
    ({"devDependencies": {"jest-junit": "^16", "@vitest/ui": "^2"}}, None),
    ([], None),
])
def test_framework_from_package_json(tmp_path: Path, package: object, framework: str | None) -> None:
    (tmp_path / "package.json").write_text(json.dumps(package))

    assert javascript_framework(tmp_path) == framework
    if framework is None:
        with pytest.raises(NoTestsFound, match="jest, vitest or mocha"):
            plan_for(tmp_path)
    else:
        plan = plan_for(tmp_path)
        assert plan == JAVASCRIPT[framework] and plan.image == "node"
        assert (tmp_path / ".verdict").is_dir() and plan.report_file.startswith(".verdict/")


def test_python_tests_keep_pytest_even_beside_package_json(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text(json.dumps({"devDependencies": {"jest": "^29"}}))
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("")

    assert plan_for(tmp_path) == PYTEST
    assert PYTEST.spec(tmp_path).report_format == "junit"
