"""Small repositories written into tmp_path, and both runners against the real sandboxes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runners.docker import DockerRunner
from runners.process import ProcessRunner

CALC = """\
def add(a, b):
    return a + b
"""

# Line numbers matter: FAILING_LINE and SOURCE_LINE are asserted on.
SAMPLE_TESTS = """\
import os
import socket

import pytest

from calc import add


def test_passes():
    assert add(1, 2) == 3


def test_fails():
    assert add(1, 2) == 4


def test_fails_in_source():
    add(None, 1)


@pytest.mark.skip(reason="not today")
def test_skipped():
    pass


def test_network_egress_fails():
    with pytest.raises(OSError):
        socket.create_connection(("1.1.1.1", 53), timeout=2)


@pytest.mark.parametrize("path", ["/etc/verdict-escape", "/usr/verdict-escape", "/verdict-escape"])
def test_cannot_write_outside_the_workspace(path):
    with pytest.raises(OSError):
        open(path, "w").close()


def test_workspace_and_tmp_are_writable(tmp_path):
    (tmp_path / "scratch").write_text("ok")
    with open("written-by-test.txt", "w") as f:
        f.write("ok")


def test_environment_is_only_what_was_given():
    assert "VERDICT_FAKE_SECRET" not in os.environ
    assert os.environ["GIVEN"] == "yes"
    assert os.environ["HOME"] == "/tmp"
    print("environment:", sorted(os.environ))
"""
FAILING_LINE = 14  # `assert add(1, 2) == 4`
SOURCE_LINE = 2  # `return a + b` in calc.py


def write_repo(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


@pytest.fixture
def sample_repo(tmp_path: Path) -> Path:
    return write_repo(tmp_path / "repo", {
        "conftest.py": "",  # puts the repository root on sys.path, so `import calc` works
        "calc.py": CALC,
        "tests/test_sample.py": SAMPLE_TESTS,
    })


@pytest.fixture(params=["process", "docker"])
def runner(request: pytest.FixtureRequest) -> ProcessRunner | DockerRunner:
    if request.param == "process":
        request.getfixturevalue("bwrap_available")
        return ProcessRunner()
    return DockerRunner(client=request.getfixturevalue("docker_client"))
