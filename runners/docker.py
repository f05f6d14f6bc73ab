"""DockerRunner: the test command in a hardened, throw-away container of the local engine.

The container has no network, no capabilities, no_new_privs, a read-only root with a
256 MB /tmp tmpfs, memory (no swap), CPU and pid limits, and only spec.env plus PATH, HOME
and LANG in its environment. The workspace is bind-mounted read-write at /workspace, the
working directory; as root, it is a copy on an ext4 image of spec.disk_mb loop-mounted for
the run and mirrored back afterwards (quota.py), so a test that writes without end gets
ENOSPC instead of filling the host's disk (without root or loop devices: the workspace itself,
no quota). A memory limit hit is Outcome.OUT_OF_MEMORY (the engine's OOMKilled). The command
runs as nobody when the worker is root (the workspace is lent to nobody for the run and
handed back afterwards, so the host owns every file the tests wrote; see ownership.py), else
as the worker's own uid. The container is removed whatever happens; `remove_stale_containers`
clears any a crashed worker left behind.

The image is spec.image, else the runner's, else the locally built one the report format
needs (IMAGE_FOR_FORMAT: verdict-python for JUnit, verdict-node for Jest, Vitest, Mocha).
A JavaScript run with an npm lock file gets node_modules from the dependency cache
(deps.py), mounted read-only at /workspace/node_modules; on a cache miss `npm ci` runs
first in a container of the same image and hardening on the default bridge network, with
the host's CA bundle mounted read-only (a TLS-intercepting proxy's CA is only there).
A pytest run of a workspace with Python requirements gets the cached site-packages mounted
read-only at /verdict-deps/site-packages and put on PYTHONPATH. The image has no pip, so a
cache miss is filled by the process runner's install step (the worker's pip in bubblewrap,
see process.py), which this runner then needs; the image's Debian python3.11 shares the
wheel ABI with the worker's 3.11.

While the container runs, its cgroup's counters (found through its init process, monitor.py)
are sampled every half second for RunResult.resources; where they are not readable from here
(a remote engine), the engine's one-shot stats are. A command that ends before the first
sample leaves RunResult.resources None: the engine drops the cgroup as the container stops.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import docker
import requests

from runners.deps import PYTHON_DEPS_MOUNT, DependencyCache, InstallFailed, prepare_mount_point
from runners.discover import prepare_report_dir
from runners.errors import RunnerMisconfigured, RunnerUnavailable
from runners.images import docker_client, ensure_image
from runners.installing import OutputTail, check_install, install_spec, with_python_path
from runners.monitor import Probe, Reading, ResourceMonitor, cgroup_probe_for_pid
from runners.ownership import lent_to_sandbox
from runners.process import ProcessRunner
from runners.quota import quota_workspace
from runners.reports import parser_for
from runners.result import Ended, Outcome, OutputSink, ResourceUsage, RunResult, RunSpec

log = logging.getLogger(__name__)

LABEL = "verdict.runner"
SANDBOX_ROOT = "/workspace"
CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
IMAGE_FOR_FORMAT = {"junit": "python", "jest": "node", "vitest": "node", "mocha": "node"}
NODE_FORMATS = {"jest", "vitest", "mocha"}  # report formats whose runs need the repository's node_modules
PYTHON_FORMATS = {"junit"}  # report formats whose runs (pytest) need the repository's Python requirements
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


class DockerRunner:
    """Runs the command in a container; the image defaults to the locally built base image."""

    name = "docker"

    def __init__(self, client: Any = None, image: str | None = None, cache_dir: Path | str | None = None,
                 deps: DependencyCache | None = None):
        self._client = client
        self.image = image
        self.deps = deps or DependencyCache(cache_dir)

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = docker_client()
        return self._client

    def run(self, spec: RunSpec) -> RunResult:
        parse = parser_for(spec.report_format)
        image = spec.image or self.image or ensure_image(self.client, IMAGE_FOR_FORMAT[spec.report_format])
        report = prepare_report_dir(spec.workspace, spec.report_file)
        try:
            spec, mounts = self._dependency_mounts(image, spec)
            with lent_to_sandbox(spec.workspace) as (uid, gid), quota_workspace(spec.workspace,
                                                                                 spec.disk_mb) as workspace:
                ended = self._execute(image, replace(spec, workspace=workspace), f"{uid}:{gid}", mounts=mounts)
        except InstallFailed as exc:
            return RunResult(outcome=Outcome.ERROR, exit_code=None, duration=0.0,
                             error=f"installing the dependencies failed: {exc}")
        except docker.errors.ImageNotFound as exc:
            raise RunnerMisconfigured(f"the Docker image {image} does not exist: "
                                      "run `verdict images build`") from exc
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise RunnerUnavailable(f"the Docker engine failed to run the tests: {exc}") from exc
        tests, report_error = parse(report, spec.workspace, SANDBOX_ROOT)
        return RunResult(outcome=ended.outcome, exit_code=ended.exit_code, duration=ended.duration, tests=tests,
                         error=ended.error or report_error, resources=ended.resources)

    def _dependency_mounts(self, image: str, spec: RunSpec) -> tuple[RunSpec, dict[str, dict[str, str]]]:
        """The spec to run (PYTHONPATH added for Python dependencies) and the cached dependency
        directories to mount read-only, installing them on a cache miss (InstallFailed)."""
        if spec.report_format in PYTHON_FORMATS:
            pip_install = partial(ProcessRunner(deps=self.deps).install_step, spec)  # the image has no pip
            site_packages = self.deps.site_packages_for(spec.workspace, pip_install)
            if site_packages is None:
                return spec, {}
            return (with_python_path(spec, PYTHON_DEPS_MOUNT),
                    {str(site_packages): {"bind": PYTHON_DEPS_MOUNT, "mode": "ro"}})
        if spec.report_format not in NODE_FORMATS:
            return spec, {}
        node_modules = self.deps.node_modules_for(spec.workspace, partial(self._install, image, spec))
        if node_modules is None:
            return spec, {}
        prepare_mount_point(spec.workspace)
        return spec, {str(node_modules): {"bind": f"{SANDBOX_ROOT}/node_modules", "mode": "ro"}}

    def _install(self, image: str, spec: RunSpec, stage: Path, argv: list[str]) -> None:
        """The install step: argv in `stage` (already the sandbox user's), on the bridge network."""
        tail = OutputTail(spec.on_output)
        mounts: dict[str, dict[str, str]] = {}
        env: dict[str, str] = {}
        if HOST_CA_BUNDLE.is_file():
            mounts[str(HOST_CA_BUNDLE)] = {"bind": "/etc/ssl/certs/verdict-host-ca.crt", "mode": "ro"}
            env = {"npm_config_cafile": "/etc/ssl/certs/verdict-host-ca.crt"}
        install = install_spec(spec, stage, argv, tail, extra_env=env)
        user = f"{stage.stat().st_uid}:{stage.stat().st_gid}"
        ended = self._execute(image, install, user, mounts=mounts, network=True)
        check_install(ended.outcome, ended.exit_code, ended.error, tail)

    def container_options(self, spec: RunSpec, user: str, mounts: dict[str, dict[str, str]] | None = None,
                          network: bool = False) -> dict[str, Any]:
        """Everything `containers.create` gets besides the image and command.

        `mounts` are further volumes (read-only dependency directories); `network` puts the
        container on the default bridge (the install step only) instead of none.
        """
        memory = f"{spec.memory_mb}m"
        env = dict(spec.env)
        env.update(PATH=CONTAINER_PATH, HOME="/tmp")
        env.setdefault("LANG", "C.UTF-8")
        return {
            "user": user,
            "working_dir": SANDBOX_ROOT,
            "volumes": {str(spec.workspace.resolve()): {"bind": SANDBOX_ROOT, "mode": "rw"}, **(mounts or {})},
            "environment": env,
            "network_mode": "bridge" if network else "none",
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges"],
            "read_only": True,
            "tmpfs": {"/tmp": "rw,size=256m,mode=1777"},
            "mem_limit": memory,
            "memswap_limit": memory,  # equal to the memory limit: no swap
            "nano_cpus": int(spec.cpus * 1e9),
            "pids_limit": spec.pids,
            "labels": {LABEL: self.name},
            "stdin_open": False,
            "tty": False,
        }

    def _execute(self, image: str, spec: RunSpec, user: str, mounts: dict[str, dict[str, str]] | None = None,
                 network: bool = False) -> Ended:
        container = self.client.containers.create(image, command=spec.command,
                                                  **self.container_options(spec, user, mounts, network))
        try:
            started = time.monotonic()
            container.start()
            monitor = ResourceMonitor(container_probe(container)).start(since=started)
            pumps = [threading.Thread(target=pump_logs, args=(container, stream, spec.on_output), daemon=True)
                     for stream in ("stdout", "stderr")]
            for pump in pumps:
                pump.start()
            status = self._wait(container, spec.timeout)
            duration = time.monotonic() - started
            resources = monitor.stop()
            for pump in pumps:
                pump.join(timeout=10)
            return self._ended(container, spec, status, duration, resources)
        finally:
            container.remove(force=True)

    @staticmethod
    def _ended(container: Any, spec: RunSpec, status: int | None, duration: float,
               resources: ResourceUsage | None) -> Ended:
        if status is None:
            return Ended(Outcome.TIMED_OUT, None, duration,
                         f"the tests ran longer than {spec.timeout:g} s and were stopped", resources)
        container.reload()
        if container.attrs["State"].get("OOMKilled"):
            return Ended(Outcome.OUT_OF_MEMORY, status, duration,
                         f"the tests used more than {spec.memory_mb} MB of memory and were killed", resources)
        return Ended(Outcome.EXITED, status, duration, None, resources)

    @staticmethod
    def _wait(container: Any, timeout: float) -> int | None:
        """The exit code, or None after killing a container that outlived the timeout."""
        try:
            return int(container.wait(timeout=timeout)["StatusCode"])
        except requests.exceptions.ConnectionError as exc:  # docker-py reports read timeouts as this
            container.reload()
            if container.status != "running":
                raise RunnerUnavailable(f"lost the Docker engine while waiting: {exc}") from exc
        except requests.exceptions.ReadTimeout:
            pass
        container.kill()
        return None


def container_probe(container: Any) -> Probe:
    """A probe of the running container: its cgroup's files when this host can read them, else
    the engine's one-shot stats (slower: an API call per sample)."""
    try:
        container.reload()
        pid = int(container.attrs["State"].get("Pid") or 0)
    except (docker.errors.DockerException, requests.exceptions.RequestException):
        pid = 0
    probe = cgroup_probe_for_pid(pid) if pid > 0 else None
    return probe or partial(stats_reading, container)


def stats_reading(container: Any) -> Reading | None:
    """One reading from the engine's stats (None once the container is gone)."""
    try:
        stats = container.stats(stream=False, one_shot=True)
    except (docker.errors.DockerException, requests.exceptions.RequestException):
        return None
    memory, cpu = stats.get("memory_stats") or {}, stats.get("cpu_stats") or {}
    if "usage" not in memory:
        return None
    total = (cpu.get("cpu_usage") or {}).get("total_usage", 0)
    return Reading(int(memory["usage"]), total / 1e9, int(memory.get("max_usage", 0)))


def pump_logs(container: Any, stream: str, sink: OutputSink | None) -> None:
    """Follow one of the container's streams, passing each complete line to the sink."""
    pending = b""
    try:
        chunks = container.logs(stream=True, follow=True, stdout=stream == "stdout",
                                stderr=stream == "stderr")
        for chunk in chunks:
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                sink = _deliver(sink, stream, line)
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        log.warning("stopped following the container's %s: %s", stream, exc)
    if pending:
        _deliver(sink, stream, pending)


def _deliver(sink: OutputSink | None, stream: str, line: bytes) -> OutputSink | None:
    if sink is None:
        return None
    try:
        sink(stream, line.decode("utf-8", errors="replace").rstrip("\r"))
    except Exception:  # the sink is the caller's code; its failure must not stall the run
        log.exception("the output sink failed; further %s lines are dropped", stream)
        return None
    return sink


def remove_stale_containers(client: Any = None, max_age: float = 3600.0) -> int:
    """Remove runner containers a crashed worker left behind; return how many.

    Stopped ones always go; running ones only when they started more than max_age
    seconds ago, so that another worker's live run is left alone. Without a client, the
    local engine's (RunnerUnavailable if it is unreachable).
    """
    if client is None:
        client = docker_client()
    removed = 0
    for container in client.containers.list(all=True, filters={"label": f"{LABEL}=docker"}):
        if container.status == "running" and _age(container) < max_age:
            continue
        try:
            container.remove(force=True)
        except docker.errors.NotFound:
            continue  # removed meanwhile
        removed += 1
    return removed


def _age(container: Any) -> float:
    from datetime import datetime

    started = container.attrs.get("State", {}).get("StartedAt", "")
    try:
        when = datetime.fromisoformat(started[:26].rstrip("Z") + "+00:00")
    except ValueError:
        return float("inf")
    return time.time() - when.timestamp()
