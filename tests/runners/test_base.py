"""The runner registry, the errors' retry classes, test discovery and the image tag scheme."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runners import RUNNERS, DockerRunner, ProcessRunner, get_runner
from runners.discover import PYTEST_COMMAND, prepare_report_dir
from runners.discover import test_command_for as command_for
from runners.errors import NoTestsFound, RunnerError, RunnerMisconfigured, RunnerUnavailable
from runners.images import RECIPE, base_image_tag, recipe_hash
from verdict.errors import PermanentError, TransientError


@pytest.mark.parametrize(("name", "kind"), [("process", ProcessRunner), ("docker", DockerRunner)])
def test_get_runner(name: str, kind: type) -> None:
    runner = get_runner(name)

    assert isinstance(runner, kind) and runner.name == name


def test_unknown_runner_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="choose one of docker, process, qemu"):
        get_runner("vm")
    assert set(RUNNERS) == {"process", "docker", "qemu"}


@pytest.mark.parametrize(("error", "retry_class"), [
    (RunnerUnavailable, TransientError),
    (RunnerMisconfigured, PermanentError),
    (NoTestsFound, PermanentError),
])
def test_errors_say_whether_to_retry(error: type, retry_class: type) -> None:
    assert issubclass(error, RunnerError) and issubclass(error, retry_class)


@pytest.mark.parametrize(("files", "has_tests"), [
    ({"tests/test_calc.py": ""}, True),
    ({"pkg/calc_test.py": ""}, True),
    ({"test_top.py": ""}, True),
    ({"calc.py": "", "README.md": ""}, False),
    ({".venv/lib/test_vendored.py": "", "node_modules/x/test_y.py": ""}, False),
    ({"tests/testdata.txt": "", "tests/conftest.py": ""}, False),
])
def test_command_for_pytest_repositories(tmp_path: Path, files: dict[str, str], has_tests: bool) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)

    if not has_tests:
        with pytest.raises(NoTestsFound, match="test_\\*.py"):
            command_for(tmp_path)
        return
    assert command_for(tmp_path) == PYTEST_COMMAND
    assert (tmp_path / ".verdict").is_dir()
    assert "--junitxml=.verdict/junit.xml" in PYTEST_COMMAND and "junit_family=xunit1" in PYTEST_COMMAND


def test_image_tag_is_a_hash_of_the_recipe() -> None:
    assert re.fullmatch(r"verdict-python:[0-9a-f]{12}", base_image_tag())
    assert base_image_tag() == base_image_tag(dict(RECIPE))
    for change in ({"version": RECIPE["version"] + 1}, {"packages": [*RECIPE["packages"], "git"]},
                   {"suite": "trixie"}, {"variant": "buildd"}):
        assert recipe_hash({**RECIPE, **change}) != recipe_hash()


def test_a_report_directory_symlinked_out_of_the_workspace_is_refused(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    (tmp_path / "host").mkdir()
    (tmp_path / "host" / "junit.xml").write_text("keep me")
    (tmp_path / "repo" / ".verdict").symlink_to(tmp_path / "host")

    with pytest.raises(RunnerMisconfigured, match="out of the workspace"):
        prepare_report_dir(tmp_path / "repo")
    assert (tmp_path / "host" / "junit.xml").read_text() == "keep me"
