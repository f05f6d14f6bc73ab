"""Python dependencies through both runners on real sandboxes and the real index: installed once
per requirements input, lent read-only to an offline test step; and which inputs are read."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from runners.deps import PYTHON_DEPS_MOUNT, DependencyCache
from runners.discover import test_plan_for as plan_for
from runners.docker import DockerRunner
from runners.process import ProcessRunner
from runners.requirements import UnsafeRequirements, check_line, python_requirements
from runners.result import Outcome, RunResult
from runners.result import TestStatus as Status  # aliased: pytest would try to collect Test*
from tests.conftest import need
from tests.runners.conftest import write_repo

PACKAGE = "six==1.16.0"  # pure Python, one wheel, installed neither in the venv nor in verdict-python

PROBE_TESTS = """\
import os
import socket

import pytest
import six


def test_imports_the_requirement():
    assert six.__version__ == "1.16.0"


def test_it_comes_from_the_cache_mount():
    assert six.__file__.startswith("/verdict-deps/site-packages/")


def test_the_cache_is_read_only():
    with pytest.raises(OSError):
        open(os.path.join(os.path.dirname(six.__file__), "planted.py"), "w").close()


def test_has_no_network():
    with pytest.raises(OSError):
        socket.create_connection(("1.1.1.1", 53), timeout=2)
"""
PROBES = {"test_imports_the_requirement", "test_it_comes_from_the_cache_mount", "test_the_cache_is_read_only",
          "test_has_no_network"}


@pytest.fixture(scope="session")
def pypi_reachable(tmp_path_factory: pytest.TempPathFactory) -> None:
    assert importlib.util.find_spec("six") is None, "six is installed in the venv: pick another package"
    try:
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--no-deps",
                               "-d", str(tmp_path_factory.mktemp("wheel")), PACKAGE],
                              capture_output=True, timeout=90)
        ok = done.returncode == 0
    except subprocess.TimeoutExpired:
        ok = False
    need(ok, f"pip cannot download {PACKAGE} from the configured index")


@pytest.fixture(scope="session")
def shared_deps(tmp_path_factory: pytest.TempPathFactory) -> DependencyCache:
    return DependencyCache(tmp_path_factory.mktemp("pydeps"))


def runner_for(kind: str, deps: DependencyCache, request: pytest.FixtureRequest) -> ProcessRunner | DockerRunner:
    request.getfixturevalue("bwrap_available")  # both: the docker runner installs with the worker's pip in bwrap
    if kind == "process":
        return ProcessRunner(deps=deps)
    return DockerRunner(client=request.getfixturevalue("docker_client"), deps=deps)


def repo(root: Path, requirements: str = f"{PACKAGE}\n", tests: str = PROBE_TESTS) -> Path:
    return write_repo(root, {"requirements.txt": requirements, "tests/test_probe.py": tests})


def run(runner: ProcessRunner | DockerRunner, workspace: Path, lines: list[str] | None = None) -> RunResult:
    sink = (lambda stream, line: lines.append(line)) if lines is not None else None
    return runner.run(plan_for(workspace).spec(workspace, timeout=90, on_output=sink))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["process", "docker"])
def test_requirements_are_importable_read_only_and_offline(kind: str, pypi_reachable: None,
                                                           shared_deps: DependencyCache, tmp_path: Path,
                                                           request: pytest.FixtureRequest) -> None:
    workspace = repo(tmp_path / "repo")

    result = run(runner_for(kind, shared_deps, request), workspace)

    assert result.outcome == Outcome.EXITED and result.exit_code == 0, (result.error, result.tests)
    assert {(t.name, t.status) for t in result.tests} == {(name, Status.PASSED) for name in PROBES}
    [entry] = [p for p in shared_deps.root.iterdir() if p.is_dir()]
    assert entry.name.startswith("pip-") and (entry / "site-packages" / "six.py").is_file()
    assert not (entry / "site-packages" / "planted.py").exists()


@pytest.mark.slow
def test_a_second_run_with_the_same_requirements_installs_nothing(pypi_reachable: None, docker_client,
                                                                  bwrap_available: bool, tmp_path: Path) -> None:
    deps = DependencyCache(tmp_path / "deps")
    docker, process = DockerRunner(client=docker_client, deps=deps), ProcessRunner(deps=deps)
    install_lines: list[int] = []
    for number, runner in enumerate((process, docker, process)):
        lines: list[str] = []
        result = run(runner, repo(tmp_path / f"run{number}"), lines)
        assert result.exit_code == 0, (result.error, lines)
        install_lines.append(sum(line.startswith("[install]") for line in lines))

    assert deps.installs == 1
    assert install_lines[0] > 0 and install_lines[1:] == [0, 0]
    [entry] = [p for p in deps.root.iterdir() if p.is_dir()]
    assert entry.stat().st_uid == tmp_path.stat().st_uid  # the worker's, not the sandbox user's


@pytest.mark.slow
def test_a_package_that_does_not_exist_is_a_clear_error(pypi_reachable: None, bwrap_available: bool,
                                                        tmp_path: Path) -> None:
    workspace = repo(tmp_path / "repo", requirements="verdict-no-such-package-4c1e9a==1.0\n")
    deps = DependencyCache(tmp_path / "deps")

    result = run(ProcessRunner(deps=deps), workspace)

    assert result.outcome == Outcome.ERROR and result.tests == []
    assert "installing the dependencies failed" in (result.error or "")
    assert "No matching distribution found for verdict-no-such-package-4c1e9a" in (result.error or "")
    assert [p for p in deps.root.iterdir() if p.is_dir()] == []  # no half-done entry


def test_a_requirement_that_needs_a_build_is_refused_before_pip_runs(bwrap_available: bool, tmp_path: Path) -> None:
    workspace = repo(tmp_path / "repo", requirements="six\n-e .\n")
    deps = DependencyCache(tmp_path / "deps")

    result = ProcessRunner(deps=deps).run(plan_for(workspace).spec(workspace))

    assert result.outcome == Outcome.ERROR and deps.installs == 0
    assert "requirements.txt line 2: '-e' is not allowed" in (result.error or "")


def test_a_workspace_without_python_requirements_needs_no_install(tmp_path: Path) -> None:
    def no_install(stage: Path, argv: list[str]) -> None:
        raise AssertionError("installed")

    workspace = write_repo(tmp_path / "repo", {"tests/test_x.py": "", "pyproject.toml": "[project]\nname = 'x'\n"})

    assert DependencyCache(tmp_path / "deps").site_packages_for(workspace, no_install) is None


@pytest.mark.parametrize(("files", "sources", "lines"), [
    ({"requirements.txt": "six==1.16.0  # pinned\n\nattrs\n"}, ("requirements.txt",), ["six==1.16.0", "attrs"]),
    ({"requirements.txt": "six\n", "requirements-dev.txt": "attrs\n", "requirements/test.txt": "pluggy\n",
      "pyproject.toml": "[project]\nname = 'x'\ndependencies = ['ignored']\n"},
     ("requirements.txt", "requirements-dev.txt", "requirements/test.txt"), ["six", "attrs", "pluggy"]),
    ({"requirements-dev.txt": "attrs\n", "pyproject.toml": """\
        [project]
        name = "My_Proj"
        dependencies = ["six>=1.16"]
        [project.optional-dependencies]
        test = ["attrs; python_version >= '3.8'", "my-proj[dev]"]
        dev = ["pluggy"]
        docs = ["sphinx"]
        """}, ("pyproject.toml",), ["six>=1.16", "attrs; python_version >= '3.8'", "pluggy"]),
    ({"requirements.txt": "six \\\n  ==1.16.0 --hash=sha256:abc\n"}, ("requirements.txt",),
     ["six ==1.16.0 --hash=sha256:abc"]),
])
def test_which_requirements_are_read(tmp_path: Path, files: dict[str, str], sources: tuple[str, ...],
                                     lines: list[str]) -> None:
    requirements = python_requirements(write_repo(tmp_path, files))

    assert requirements is not None and requirements.sources == sources
    assert [" ".join(line.split()) for line in requirements.text.splitlines() if not line.startswith("#")] == lines


@pytest.mark.parametrize(("line", "allowed"), [
    ("six==1.16.0", True),
    ("requests[socks]>=2; python_version >= '3.8'", True),
    ("--index-url https://pypi.example/simple", True),
    ("--extra-index-url=https://pypi.example/simple", True),
    ("six @ https://files.example/six-1.16.0-py2.py3-none-any.whl#sha256=abc", True),
    ("-e .", False),
    ("--editable=git+https://example/x.git", False),
    ("-r other.txt", False),
    ("-c constraints.txt", False),
    ("--no-binary :all:", False),
    ("./local/dir", False),
    ("git+https://example/x.git#egg=x", False),
    ("x @ git+https://example/x.git", False),
    ("x @ https://files.example/x-1.0.tar.gz", False),
    ("x @ file:///workspace", False),
])
def test_only_wheels_are_accepted(line: str, allowed: bool) -> None:
    if allowed:
        check_line(line)
    else:
        with pytest.raises(UnsafeRequirements):
            check_line(line)


def test_the_cache_key_follows_the_requirements(tmp_path: Path) -> None:
    deps = DependencyCache(tmp_path / "deps")
    keys = []
    for number, text in enumerate(["six==1.16.0\n", "six==1.16.0  # same packages\n", "six==1.15.0\n"]):
        found = deps.python_dependencies(repo(tmp_path / str(number), requirements=text))
        assert found is not None
        keys.append(found[1])

    assert keys[0] == keys[1] != keys[2] and keys[0].startswith("pip-")
    assert PYTHON_DEPS_MOUNT == "/verdict-deps/site-packages"
