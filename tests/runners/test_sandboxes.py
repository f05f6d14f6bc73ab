"""Both runners on real sandboxes (bubblewrap and the Docker engine): results, isolation, limits."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from runners.discover import test_command_for as command_for
from runners.result import Outcome, RunResult, RunSpec
from runners.result import TestStatus as Status  # aliased: pytest would try to collect Test*
from tests.runners.conftest import FAILING_LINE, SOURCE_LINE, write_repo

pytestmark = pytest.mark.slow


def run(runner, workspace: Path, **spec) -> tuple[RunResult, list[tuple[str, str]]]:
    lines: list[tuple[str, str]] = []
    spec.setdefault("timeout", 120)
    result = runner.run(RunSpec(workspace=workspace, command=command_for(workspace),
                                on_output=lambda stream, line: lines.append((stream, line)), **spec))
    return result, lines


def by_name(result: RunResult) -> dict[str, object]:
    return {t.name: t for t in result.tests}


def test_sample_repository(runner, sample_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERDICT_FAKE_SECRET", "hunter2")

    result, lines = run(runner, sample_repo, env={"GIVEN": "yes"})

    assert result.outcome == Outcome.EXITED, result.error
    assert result.exit_code == 1 and result.error is None
    statuses = {t.name: t.status for t in result.tests}
    assert statuses == {
        "test_passes": Status.PASSED,
        "test_fails": Status.FAILED,
        "test_fails_in_source": Status.FAILED,
        "test_skipped": Status.SKIPPED,
        "test_network_egress_fails": Status.PASSED,  # it asserts the connection raised
        "test_cannot_write_outside_the_workspace[/etc/verdict-escape]": Status.PASSED,
        "test_cannot_write_outside_the_workspace[/usr/verdict-escape]": Status.PASSED,
        "test_cannot_write_outside_the_workspace[/verdict-escape]": Status.PASSED,
        "test_workspace_and_tmp_are_writable": Status.PASSED,
        "test_environment_is_only_what_was_given": Status.PASSED,
    }
    tests = by_name(result)
    failing, in_source = tests["test_fails"], tests["test_fails_in_source"]
    assert (failing.file, failing.line) == ("tests/test_sample.py", FAILING_LINE)
    assert failing.message.startswith("assert 3 == 4")
    assert (in_source.file, in_source.line) == ("calc.py", SOURCE_LINE)
    assert "unsupported operand" in in_source.message
    assert ("stdout", "2 failed, 7 passed, 1 skipped") in [(s, line.split(" in ")[0]) for s, line in lines]
    escapes = ("/etc/verdict-escape", "/usr/verdict-escape", "/verdict-escape")
    assert not any(Path(p).exists() for p in escapes)


def test_host_owns_and_can_remove_what_the_tests_wrote(runner, sample_repo: Path) -> None:
    owner = sample_repo.stat()

    run(runner, sample_repo, env={"GIVEN": "yes"})

    written = [sample_repo / "written-by-test.txt", sample_repo / ".verdict" / "junit.xml",
               *sample_repo.rglob("__pycache__")]
    assert len(written) >= 3
    assert {(p.stat().st_uid, p.stat().st_gid) for p in written} == {(owner.st_uid, owner.st_gid)}
    shutil.rmtree(sample_repo)


def test_wall_clock_timeout(runner, tmp_path: Path) -> None:
    repo = write_repo(tmp_path, {"tests/test_slow.py": """\
        import time

        def test_sleeps():
            print("going to sleep", flush=True)
            time.sleep(60)
        """})

    result, _ = run(runner, repo, timeout=3)

    assert result.outcome == Outcome.TIMED_OUT
    assert result.duration < 20
    assert result.exit_code is None and "3 s" in (result.error or "")


def test_process_limit(runner, tmp_path: Path) -> None:
    repo = write_repo(tmp_path, {"tests/test_fork.py": """\
        import subprocess

        import pytest

        def test_cannot_start_many_processes():
            started = []
            with pytest.raises(OSError):
                for _ in range(100):
                    started.append(subprocess.Popen(["sleep", "30"]))
            for proc in started:
                proc.kill()
        """})

    result, _ = run(runner, repo, pids=20)

    assert [t.status for t in result.tests] == [Status.PASSED], result.tests


def test_memory_limit_process(tmp_path: Path, bwrap_available: bool) -> None:
    from runners.cgroups import unavailable_reason
    from runners.process import ProcessRunner

    repo = write_repo(tmp_path, {"tests/test_hog.py": """\
        def test_allocates_too_much():
            hog = b"x" * (600 * 1024 * 1024)
            assert hog
        """})

    result, _ = run(ProcessRunner(), repo, memory_mb=400)

    if unavailable_reason() is None:  # a cgroup of its own: the OOM killer ends the run
        assert result.outcome == Outcome.OUT_OF_MEMORY, result
        assert "400 MB" in (result.error or "")
    else:  # rlimits only: RLIMIT_AS turns it into a MemoryError
        [test] = result.tests
        assert test.status == Status.FAILED and "MemoryError" in test.message


def test_resources_are_measured(runner, tmp_path: Path) -> None:
    repo = write_repo(tmp_path, {"tests/test_x.py": "def test_x():\n    pass\n"})
    burn = "import time\nhold = bytearray(64 * 1024 * 1024)\nend = time.time() + 1.5\nwhile time.time() < end: pass"
    spec = RunSpec(workspace=repo, command=["python3", "-c", burn], timeout=60, cpus=1.0)

    result = runner.run(spec)

    usage = result.resources
    assert usage is not None and usage.samples >= 2, usage
    assert 64 <= usage.peak_memory_mb < 400 and 0 < usage.avg_memory_mb <= usage.peak_memory_mb
    assert 30 < usage.avg_cpu_percent <= 115  # one busy thread under a one-core limit


def test_memory_limit_docker(docker_client, tmp_path: Path) -> None:
    from runners.docker import DockerRunner

    repo = write_repo(tmp_path, {"tests/test_hog.py": """\
        def test_allocates_too_much():
            hog = b"x" * (600 * 1024 * 1024)
            assert hog
        """})

    result, _ = run(DockerRunner(client=docker_client), repo, memory_mb=128)

    assert result.outcome == Outcome.OUT_OF_MEMORY, result
    assert "128 MB" in (result.error or "")


def test_missing_report_is_an_error_not_an_exception(runner, tmp_path: Path) -> None:
    repo = write_repo(tmp_path, {"tests/test_x.py": "def test_x():\n    pass\n"})
    spec = RunSpec(workspace=repo, command=["python3", "-c", "print('no pytest here')"], timeout=60)

    result = runner.run(spec)

    assert result.outcome == Outcome.EXITED and result.exit_code == 0
    assert result.tests == [] and "no report" in (result.error or "")


def test_environment_excludes_the_workers(runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERDICT_FAKE_SECRET", "hunter2")
    repo = write_repo(tmp_path, {"tests/test_x.py": "def test_x():\n    pass\n"})
    seen: list[str] = []
    spec = RunSpec(workspace=repo, command=["sh", "-c", "env"], env={"GIVEN": "yes"}, timeout=60,
                   on_output=lambda stream, line: seen.append(line))

    runner.run(spec)

    names = sorted(line.split("=", 1)[0] for line in seen)
    assert "VERDICT_FAKE_SECRET" not in names and "hunter2" not in "".join(seen)
    assert {"GIVEN", "HOME", "PATH"} <= set(names)
    assert set(names) <= {"GIVEN", "HOME", "PATH", "LANG", "PWD", "SHLVL", "HOSTNAME", "_"}, names
    assert os.environ["VERDICT_FAKE_SECRET"] == "hunter2"


def test_a_failing_output_sink_does_not_stall_the_run(runner, sample_repo: Path) -> None:
    def broken_sink(stream: str, line: str) -> None:
        raise RuntimeError("the log store is down")

    spec = RunSpec(workspace=sample_repo, command=command_for(sample_repo), env={"GIVEN": "yes"},
                   timeout=120, on_output=broken_sink)

    result = runner.run(spec)

    assert result.outcome == Outcome.EXITED and len(result.tests) == 10
