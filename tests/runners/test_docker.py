"""DockerRunner specifics on the real engine: the container's options, its removal, engine errors."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from runners.docker import LABEL, DockerRunner, remove_stale_containers
from runners.errors import RunnerMisconfigured, RunnerUnavailable
from runners.images import ensure_base_image
from runners.result import Outcome, RunSpec
from tests.runners.conftest import write_repo

pytestmark = pytest.mark.docker


def labelled(client) -> list:
    return client.containers.list(all=True, filters={"label": f"{LABEL}=docker"})


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write_repo(tmp_path, {"tests/test_x.py": "def test_x():\n    pass\n"})


def test_container_is_hardened_and_removed(docker_client, repo: Path) -> None:
    probe = ("import json, os; caps = [l for l in open('/proc/self/status')"
             " if l.startswith(('CapEff', 'NoNewPrivs'))];"
             "print(json.dumps({'uid': os.getuid(), 'caps': caps, 'cwd': os.getcwd()}))")
    lines: list[str] = []
    spec = RunSpec(workspace=repo, command=["python3", "-c", probe], timeout=60,
                   on_output=lambda stream, line: lines.append(line))

    result = DockerRunner(client=docker_client).run(spec)

    assert result.outcome == Outcome.EXITED and result.exit_code == 0
    assert "CapEff:\\t0000000000000000\\n" in lines[0] and "NoNewPrivs:\\t1" in lines[0]
    assert '"cwd": "/workspace"' in lines[0] and '"uid": 0' not in lines[0]
    assert labelled(docker_client) == []


def test_container_is_removed_after_a_timeout(docker_client, repo: Path) -> None:
    spec = RunSpec(workspace=repo, command=["sleep", "60"], timeout=2)

    result = DockerRunner(client=docker_client).run(spec)

    assert result.outcome == Outcome.TIMED_OUT
    assert labelled(docker_client) == []


def test_options_follow_the_spec(repo: Path) -> None:
    spec = RunSpec(workspace=repo, command=["true"], memory_mb=512, cpus=1.5, pids=64, env={"A": "1"})

    options = DockerRunner(client=object(), image="unused").container_options(spec, "65534:65534")

    assert options["network_mode"] == "none" and options["cap_drop"] == ["ALL"]
    assert options["read_only"] is True and options["security_opt"] == ["no-new-privileges"]
    assert options["mem_limit"] == options["memswap_limit"] == "512m"
    assert options["nano_cpus"] == 1_500_000_000 and options["pids_limit"] == 64
    assert set(options["environment"]) == {"A", "PATH", "HOME", "LANG"}
    assert options["volumes"] == {str(repo.resolve()): {"bind": "/workspace", "mode": "rw"}}


def test_remove_stale_containers(docker_client) -> None:
    image = ensure_base_image(docker_client)
    docker_client.containers.create(image, command=["true"], labels={LABEL: "docker"})
    running = docker_client.containers.run(image, command=["sleep", "60"], labels={LABEL: "docker"},
                                           detach=True, network_mode="none")
    try:
        assert remove_stale_containers(docker_client) == 1  # the live one is left alone
        assert [c.id for c in labelled(docker_client)] == [running.id]
        assert remove_stale_containers(docker_client, max_age=0) == 1
        assert labelled(docker_client) == []
    finally:
        for container in labelled(docker_client):
            container.remove(force=True)


def test_missing_image_is_permanent(docker_client, repo: Path) -> None:
    runner = DockerRunner(client=docker_client, image="verdict-python:doesnotexist")

    with pytest.raises(RunnerMisconfigured, match="does not exist"):
        runner.run(RunSpec(workspace=repo, command=["true"]))


def test_unreachable_engine_is_transient(repo: Path) -> None:
    client = docker.DockerClient(base_url="unix:///nonexistent/docker.sock", version="1.41", timeout=2)

    with pytest.raises(RunnerUnavailable, match="not reachable"):
        DockerRunner(client=client).run(RunSpec(workspace=repo, command=["true"]))
