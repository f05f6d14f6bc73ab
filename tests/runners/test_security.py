"""What a hostile test can do in each sandbox, on the real engines: table-driven over the runners.

Each case is a small program run as the test command (Python in the process and docker
sandboxes, busybox sh in the QEMU VM) with tight limits and a short timeout, so every test
here is bounded in time. A case absent from a runner's table does not apply to it (the VM's
workspace is a read-only copy and its memory is the guest's own, for instance).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from runners.docker import LABEL, DockerRunner
from runners.process import ProcessRunner
from runners.qemu import QemuRunner
from runners.result import Outcome, RunResult, RunSpec
from tests.runners.conftest import write_repo

pytestmark = pytest.mark.slow

EGRESS = """\
import socket
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2)
except OSError as exc:
    print("egress refused:", exc)
else:
    print("egress CONNECTED")
"""

WRITE_OUTSIDE = """\
written = []
for path in ("/etc/verdict-escape", "/usr/verdict-escape", "/verdict-escape", "/var/verdict-escape"):
    try:
        open(path, "w").close()
        written.append(path)
    except OSError:
        pass
print("written outside:", written)
"""

FORK_BOMB = """\
import os, sys, time
while True:
    try:
        os.fork()
    except OSError:
        time.sleep(0.01)
"""

MEMORY_BOMB = """\
hog = []
while True:
    hog.append(b"x" * (16 * 1024 * 1024))
"""

READ_THROUGH_SYMLINKS = """\
import os
for link in ("shadow", "root-home", "host-secret"):
    try:
        with open(link) as f:
            print(link, "READ", f.read(200).replace("\\n", " "))
    except OSError as exc:
        print(link, "refused:", type(exc).__name__)
"""

ENDLESS_FILE = """\
import errno
try:
    with open("endless.bin", "wb") as f:
        while True:
            f.write(b"\\0" * (1024 * 1024))
            f.flush()
except OSError as exc:
    print("write stopped:", errno.errorcode.get(exc.errno, exc.errno))
"""

SHELL_FORK_BOMB = "bomb() { bomb | bomb & }; bomb; sleep 600"


def make_runner(kind: str, request: pytest.FixtureRequest):
    if kind == "process":
        request.getfixturevalue("bwrap_available")
        return ProcessRunner()
    if kind == "docker":
        return DockerRunner(client=request.getfixturevalue("docker_client"))
    request.getfixturevalue("qemu_ready")
    return QemuRunner(memory_mb=256)


def python(script: str, marker: str = "") -> list[str]:
    return ["python3", "-c", script, *([marker] if marker else [])]


def run(runner, workspace: Path, command: list[str], **options) -> tuple[RunResult, list[str]]:
    lines: list[str] = []
    options.setdefault("timeout", 30)
    spec = RunSpec(workspace=workspace, command=command, on_output=lambda stream, line: lines.append(line), **options)
    return runner.run(spec), lines


def processes_with(marker: str) -> list[int]:
    """Host pids whose command line holds the marker (a sandboxed process that survived)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def left_behind(kind: str, docker_client=None) -> list[str]:
    """What a finished run must not leave: run cgroups, runner containers."""
    leftovers = []
    for controller in ("memory", "pids", "cpu", "cpuacct"):
        root = Path("/sys/fs/cgroup") / controller / "verdict"
        if kind == "process" and root.is_dir():
            leftovers += [str(p) for p in root.iterdir() if p.is_dir() and p.name.startswith("run-")]
    if kind == "docker" and docker_client is not None:
        leftovers += [c.id for c in docker_client.containers.list(all=True, filters={"label": f"{LABEL}=docker"})]
    return leftovers


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write_repo(tmp_path / "repo", {"README.md": "hostile tests live in the command\n"})


@pytest.mark.parametrize("kind", ["process", "docker"])
def test_network_egress_fails(kind: str, repo: Path, request: pytest.FixtureRequest) -> None:
    result, lines = run(make_runner(kind, request), repo, python(EGRESS))

    assert result.outcome == Outcome.EXITED, result.error
    assert any(line.startswith("egress refused") for line in lines), lines


@pytest.mark.parametrize("kind", ["process", "docker"])
def test_host_filesystem_outside_the_workspace_is_not_writable(kind: str, repo: Path,
                                                               request: pytest.FixtureRequest) -> None:
    result, lines = run(make_runner(kind, request), repo, python(WRITE_OUTSIDE))

    assert "written outside: []" in lines, lines
    assert not any(Path(p).exists() for p in ("/etc/verdict-escape", "/usr/verdict-escape", "/verdict-escape"))


@pytest.mark.parametrize(("kind", "command"), [
    ("process", python(FORK_BOMB)),
    ("docker", python(FORK_BOMB)),
    ("qemu", ["sh", "-c", SHELL_FORK_BOMB]),
])
def test_fork_bomb_is_contained(kind: str, command: list[str], repo: Path, request: pytest.FixtureRequest) -> None:
    runner = make_runner(kind, request)
    marker = f"verdict-bomb-{uuid.uuid4().hex}"
    if kind != "qemu":
        command = [*command, marker]  # argv of every forked copy: how survivors are found
    timeout = 20 if kind == "qemu" else 8
    results: list[RunResult] = []
    bomb = threading.Thread(target=lambda: results.append(run(runner, repo, command, pids=64, timeout=timeout)[0]))
    started = time.monotonic()
    bomb.start()
    host_latencies = []
    while bomb.is_alive() and time.monotonic() - started < timeout + 30:
        before = time.monotonic()
        subprocess.run(["true"], check=True, timeout=10)  # the host can still start a process
        host_latencies.append(time.monotonic() - before)
        time.sleep(0.5)
    bomb.join(timeout=60)

    [result] = results
    assert result.outcome in (Outcome.TIMED_OUT, Outcome.EXITED), result.error
    assert result.exit_code != 0
    assert time.monotonic() - started < timeout + 30
    assert max(host_latencies, default=0) < 2.0, host_latencies
    if kind == "qemu":
        from tests.runners.test_qemu import qemu_processes

        assert qemu_processes() == []
    else:
        assert processes_with(marker) == []
    assert left_behind(kind, request.getfixturevalue("docker_client") if kind == "docker" else None) == []


@pytest.mark.parametrize("kind", ["process", "docker"])
def test_memory_bomb_is_killed_as_out_of_memory(kind: str, repo: Path, request: pytest.FixtureRequest) -> None:
    from checks.output import title_for

    runner = make_runner(kind, request)
    if kind == "process":
        from runners.cgroups import unavailable_reason

        reason = unavailable_reason()
        if reason:
            pytest.skip(f"no per-run cgroup here, so no OOM kill: {reason}")

    result, _ = run(runner, repo, python(MEMORY_BOMB), memory_mb=256, timeout=30)

    assert result.outcome == Outcome.OUT_OF_MEMORY, (result.outcome, result.error)
    assert result.duration < 30 and "256 MB" in (result.error or "")
    assert title_for(result, {"total": 0}).startswith("Out of memory: ")
    assert result.resources is None or result.resources.peak_memory_mb <= 256 + 1
    assert left_behind(kind, request.getfixturevalue("docker_client") if kind == "docker" else None) == []


@pytest.mark.parametrize(("kind", "command"), [
    ("process", python("import time; print('sleeping', flush=True); time.sleep(60)")),
    ("docker", python("import time; print('sleeping', flush=True); time.sleep(60)")),
    ("qemu", ["sh", "-c", "echo sleeping; sleep 600"]),
])
def test_sleeping_past_the_timeout_is_timed_out(kind: str, command: list[str], repo: Path,
                                                request: pytest.FixtureRequest) -> None:
    timeout = 15 if kind == "qemu" else 3

    result, lines = run(make_runner(kind, request), repo, command, timeout=timeout)

    assert result.outcome == Outcome.TIMED_OUT and result.exit_code is None
    assert result.duration < timeout + 10
    assert "sleeping" in lines
    assert left_behind(kind, request.getfixturevalue("docker_client") if kind == "docker" else None) == []


@pytest.mark.parametrize("kind", ["process", "docker", "qemu"])
def test_no_worker_environment_variable_is_visible(kind: str, repo: Path, request: pytest.FixtureRequest,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERDICT_FAKE_SECRET", "hunter2")

    result, lines = run(make_runner(kind, request), repo, ["sh", "-c", "env"], env={"GIVEN": "yes"},
                        timeout=60 if kind == "qemu" else 30)

    assert result.outcome == Outcome.EXITED, result.error
    assert "GIVEN=yes" in lines
    assert not any("VERDICT_FAKE_SECRET" in line or "hunter2" in line for line in lines)
    assert os.environ["VERDICT_FAKE_SECRET"] == "hunter2"


@pytest.mark.parametrize("kind", ["process", "docker", "qemu"])
def test_symlinks_out_of_the_repository_do_not_reach_host_files(kind: str, repo: Path, tmp_path: Path,
                                                                 request: pytest.FixtureRequest) -> None:
    secret = tmp_path / "host-secret.txt"
    secret.write_text("the app's private key\n")
    secret.chmod(0o600)
    (repo / "shadow").symlink_to("/etc/shadow")
    (repo / "root-home").symlink_to("/root/.bashrc")
    (repo / "host-secret").symlink_to(secret)
    if kind == "qemu":
        command = ["sh", "-c", 'for f in shadow root-home host-secret; do cat "$f" >/dev/null 2>&1 '
                               '&& echo "$f READ $(head -c 200 "$f" | tr "\\n" " ")" || echo "$f refused"; done']
    else:
        command = python(READ_THROUGH_SYMLINKS)

    result, lines = run(make_runner(kind, request), repo, command, timeout=60 if kind == "qemu" else 30)

    assert result.outcome == Outcome.EXITED, result.error
    for link in ("shadow", "root-home", "host-secret"):
        assert any(line.startswith(f"{link} refused") for line in lines), (link, lines)
    assert not any("private key" in line or " READ " in line for line in lines), lines
    assert (repo / "host-secret").is_symlink() and secret.read_text() == "the app's private key\n"


@pytest.mark.parametrize(("kind", "stopped_by"), [("process", "EFBIG"), ("docker", "ENOSPC")])
def test_an_endless_file_stops_at_the_disk_quota(kind: str, stopped_by: str, repo: Path,
                                                 request: pytest.FixtureRequest) -> None:
    result, lines = run(make_runner(kind, request), repo, python(ENDLESS_FILE), disk_mb=32)

    assert result.outcome == Outcome.EXITED, result.error
    assert f"write stopped: {stopped_by}" in lines, lines
    written = repo / "endless.bin"
    assert written.is_file() and written.stat().st_size <= 32 * 1024 * 1024


PROBE_HOST_INTERFACES = """
import os
for path in ("/proc/kcore", "/var/run/docker.sock", "/run/docker.sock", "/dev/mem"):
    try:
        with open(path, "rb") as f:
            f.read(1)
        print("readable", path)
    except OSError as exc:
        print("refused", path, exc.__class__.__name__)
status = open("/proc/self/status").read()
print("seccomp", next(l.split()[1] for l in status.splitlines() if l.startswith("Seccomp:")))
print("uid", os.getuid())
"""


@pytest.mark.parametrize("kind", ["process", "docker"])
def test_kernel_memory_docker_socket_and_root_are_out_of_reach(kind: str, repo: Path,
                                                                request: pytest.FixtureRequest) -> None:
    result, lines = run(make_runner(kind, request), repo, python(PROBE_HOST_INTERFACES))

    assert result.outcome == Outcome.EXITED, result.error
    assert not [line for line in lines if line.startswith("readable")], lines
    assert "uid 0" not in lines, lines
    if kind == "docker":
        assert "seccomp 2" in lines, lines  # Docker's default seccomp profile is kept (mode 2: filter)
