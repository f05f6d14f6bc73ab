"""ProcessRunner: the test command in a bubblewrap sandbox on the worker's own host.

What the sandbox sees
    The host's top-level directories bound read-only one by one (the effect of
    `--ro-bind / /`, but leaving the sandbox root a tmpfs so that `/workspace` can exist
    without touching the host), then `--remount-ro /`. /root and /run are replaced by empty
    tmpfs (no home secrets, no Docker socket); the interpreter's prefix, if it lives under
    /root or /tmp (a checkout in a temporary directory), is bound back read-only. Fresh
    /tmp (tmpfs, 1777), /proc and /dev. The workspace is bound read-write at /workspace,
    the working directory. The environment is cleared, then only spec.env plus PATH (the
    worker's interpreter directory first, so `python3` has pytest), HOME=/tmp and LANG.

Who runs it, and why not `--unshare-user --uid 65534`
    As root, bwrap's `--unshare-user --uid 65534` only *looks* unprivileged: the namespace
    maps 65534 onto the real uid 0, so the command can still read root's 0600/0660 files
    (/etc/shadow and the Docker socket were reachable when tried here) and RLIMIT_NPROC does
    not bind (the kernel exempts real uid 0). So when the worker is root, bwrap runs
    privileged with explicit `--unshare-ipc/pid/net/uts/cgroup` (`--unshare-all` would add a
    user namespace that maps only uid 0, where no switch to another uid is possible), and
    inside it `setpriv` switches to nobody:nogroup with no groups, no capabilities (bounding
    set cleared) and no_new_privs. The workspace is lent to nobody for the run (ownership.py).
    A worker that is not root runs `bwrap --unshare-all` as itself.

Limits (tried on this host: kernel 6.x, cgroup v1)
    As root, each run gets its own cgroup v1 (cgroups.py): memory.limit_in_bytes and
    memory.memsw.limit_in_bytes = spec.memory_mb, so going over it gets the command killed by
    the kernel's OOM killer and the run is Outcome.OUT_OF_MEMORY (memory.oom_control counts the
    kill); pids.max = spec.pids (a fork bomb gets EAGAIN and never leaves the cgroup); and
    cpu.cfs_quota_us = spec.cpus cores. The command enters the cgroup before bwrap starts, and
    after the run, timed out or not, whatever is left inside is SIGKILLed and the cgroup removed.
    `prlimit` inside the sandbox, after the uid switch, adds backstops: RLIMIT_AS well above
    the cgroup limit (address_space_limit), RLIMIT_CPU = timeout x cpus seconds (SIGXCPU),
    RLIMIT_FSIZE = spec.disk_mb (the largest file the tests may write: an endless file gets
    EFBIG; a total disk quota needs a filesystem of its own, which the docker runner has, at
    a cost of ~0.1 s per run the process runner does not pay) and /tmp is a tmpfs of at most
    spec.disk_mb (its pages count as the run's memory, too).
    Without cgroups (a worker that is not root, no v1 memory/cpu/cpuacct/pids hierarchy, a
    read-only /sys) the run falls back to rlimits alone: RLIMIT_AS = spec.memory_mb per process
    (exhaustion shows up as MemoryError in the tests, not as OUT_OF_MEMORY; for Node the V8 heap
    is capped instead), RLIMIT_NPROC = spec.pids (binds because the real uid is nobody, but
    counts every process of that uid on the host, so concurrent sandboxes share it), spec.cpus
    not enforced as a share. The network namespace has only a down loopback, so egress fails.
    The wall clock is enforced from outside: at spec.timeout the whole process group gets
    SIGKILL; `--die-with-parent` and the pid namespace take every sandboxed process with it
    (Outcome.TIMED_OUT).

Resources
    While the command runs, monitor.py samples the run's cgroup (memory.usage_in_bytes,
    memory.max_usage_in_bytes, cpuacct.usage) every half second, or without cgroups the
    sandbox's process tree in /proc; RunResult.resources holds the peak, the mean and the CPU.

JavaScript
    The host's node/npx are on PATH (/usr/bin, or the directory `node` is found in). A
    workspace with an npm lock file gets its node_modules from the dependency cache
    (deps.py), bound read-only at /workspace/node_modules; on a cache miss `npm ci` runs
    first in this same sandbox, the only difference being that it shares the host's network.

Python dependencies
    A pytest run of a workspace with requirements (deps.py, requirements.py) gets the cached
    site-packages bound read-only at /verdict-deps/site-packages and put first on PYTHONPATH;
    on a cache miss the worker's own `python3 -m pip install --only-binary=:all: --target`
    runs first in the same network-sharing install sandbox, with the worker's pip config file
    bound read-only (installing.worker_pip_config). The docker runner borrows this install
    step (`install_step`), as its Python image has no pip.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path
from typing import IO

from runners.cgroups import RunCgroup
from runners.deps import PYTHON_DEPS_MOUNT, DependencyCache, InstallFailed, prepare_mount_point
from runners.discover import prepare_report_dir
from runners.errors import RunnerMisconfigured
from runners.installing import (
    PIP_CONFIG_MOUNT,
    OutputTail,
    check_install,
    install_spec,
    install_tool,
    with_python_path,
    worker_pip_config,
)
from runners.monitor import Probe, ProcessTreeProbe, ResourceMonitor
from runners.ownership import lent_to_sandbox
from runners.reports import parser_for
from runners.result import Ended, Outcome, OutputSink, RunResult, RunSpec

log = logging.getLogger(__name__)

SANDBOX_ROOT = "/workspace"
HIDDEN_DIRS = ("/root", "/run")  # replaced by empty tmpfs
FRESH_DIRS = ("proc", "dev", "tmp", "sys")  # top-level entries the sandbox gets its own of
HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MAX_LINE = 64 * 1024  # longer output lines are split
NODE_FORMATS = {"jest", "vitest", "mocha"}  # report formats whose runs need the repository's node_modules
PYTHON_FORMATS = {"junit"}  # report formats whose runs (pytest) need the repository's Python requirements
NODE_ADDRESS_RESERVE_MB = 64 * 1024  # virtual, not resident: see address_space_limit
BACKSTOP_FACTOR = 4  # with a cgroup, RLIMIT_AS is this many times spec.memory_mb (plus 1 GB)


class ProcessRunner:
    """Runs the command in bubblewrap on this host; see the module docstring for the sandbox."""

    name = "process"

    def __init__(self, python: Path | None = None, cache_dir: Path | str | None = None,
                 deps: DependencyCache | None = None):
        self.python = python or Path(sys.executable)
        self.deps = deps or DependencyCache(cache_dir)
        node = shutil.which("node")
        self.node = Path(node) if node else None

    def run(self, spec: RunSpec) -> RunResult:
        tools = self._tools()
        parse = parser_for(spec.report_format)
        report = prepare_report_dir(spec.workspace, spec.report_file)
        try:
            spec, mounts = self._dependency_mounts(spec)
        except InstallFailed as exc:
            return RunResult(outcome=Outcome.ERROR, exit_code=None, duration=0.0,
                             error=f"installing the dependencies failed: {exc}")
        with lent_to_sandbox(spec.workspace) as (uid, gid):
            ended = self._sandboxed(spec, tools, uid, gid, read_only=mounts)
        tests, report_error = parse(report, spec.workspace, SANDBOX_ROOT)
        return RunResult(outcome=ended.outcome, exit_code=ended.exit_code, duration=ended.duration, tests=tests,
                         error=ended.error or report_error, resources=ended.resources)

    def _dependency_mounts(self, spec: RunSpec) -> tuple[RunSpec, list[tuple[Path, str]]]:
        """The spec to run (PYTHONPATH added for Python dependencies) and the cached dependency
        directories to bind read-only, installing them on a cache miss (InstallFailed)."""
        install = partial(self.install_step, spec)
        if spec.report_format in NODE_FORMATS:
            node_modules = self.deps.node_modules_for(spec.workspace, install)
            if node_modules is None:
                return spec, []
            prepare_mount_point(spec.workspace)
            return spec, [(node_modules, f"{SANDBOX_ROOT}/node_modules")]
        if spec.report_format in PYTHON_FORMATS:
            site_packages = self.deps.site_packages_for(spec.workspace, install)
            if site_packages is None:
                return spec, []
            return with_python_path(spec, PYTHON_DEPS_MOUNT), [(site_packages, PYTHON_DEPS_MOUNT)]
        return spec, []

    def install_step(self, spec: RunSpec, stage: Path, argv: list[str]) -> None:
        """The install step: argv in `stage` (already the sandbox user's), network shared; for
        pip, the worker's pip config file bound read-only. InstallFailed when it fails."""
        tools = self._tools()
        tail = OutputTail(spec.on_output)
        config = worker_pip_config() if install_tool(argv) == "pip" else None
        extra_env = {"PIP_CONFIG_FILE": PIP_CONFIG_MOUNT} if config is not None else {}
        install = install_spec(spec, stage, argv, tail, extra_env=extra_env)
        uid, gid = stage.stat().st_uid, stage.stat().st_gid
        ended = self._sandboxed(install, tools, uid, gid, network=True,
                                read_only=[(config, PIP_CONFIG_MOUNT)] if config is not None else [])
        check_install(ended.outcome, ended.exit_code, ended.error, tail, command=" ".join(argv[:4]))

    def _sandboxed(self, spec: RunSpec, tools: dict[str, str], uid: int, gid: int, network: bool = False,
                   read_only: list[tuple[Path, str]] | None = None) -> Ended:
        """Run spec.command in the sandbox, in a cgroup of its own when there can be one."""
        cgroup = RunCgroup.create(spec) if os.geteuid() == 0 else None
        argv = self.command_line(spec, tools, uid, gid, network=network, read_only=read_only,
                                 cgroup=cgroup is not None)
        if cgroup is None:
            return self._execute(argv, spec, None)
        try:
            ended = self._execute(cgroup.enter(argv), spec, cgroup.probe())
            if cgroup.oom_kills() > 0 and ended.outcome != Outcome.TIMED_OUT:
                ended.outcome = Outcome.OUT_OF_MEMORY
                ended.error = f"the tests used more than {spec.memory_mb} MB of memory and were killed"
            return ended
        finally:
            cgroup.kill_all()
            cgroup.remove()

    def command_line(self, spec: RunSpec, tools: dict[str, str], uid: int, gid: int, network: bool = False,
                     read_only: list[tuple[Path, str]] | None = None, cgroup: bool = False) -> list[str]:
        """The full argv: bwrap, then (as root) setpriv, then prlimit, then the command.

        `network` shares the host's network (the install step only); `read_only` binds
        (host path, sandbox path) pairs read-only over the workspace; `cgroup` says the run is
        in a cgroup of its own, which then limits memory and processes (RunCgroup.enter
        prefixes the argv), so the rlimits become backstops.
        """
        limits = [tools["prlimit"], f"--as={address_space_limit(spec, cgroup)}",
                  f"--cpu={math.ceil(spec.timeout * max(spec.cpus, 1.0)) + 1}",
                  f"--fsize={spec.disk_mb * 1024 * 1024}", *([] if cgroup else [f"--nproc={spec.pids}"]), "--"]
        sandbox = [tools["bwrap"], "--die-with-parent", "--new-session", *self._filesystem(spec, read_only or []),
                   "--chdir", SANDBOX_ROOT, "--clearenv", *self._environment(spec)]
        if os.geteuid() != 0:
            share = ["--share-net"] if network else []
            return [*limits, *sandbox[:1], "--unshare-all", *share, *sandbox[1:], "--", *spec.command]
        drop = [tools["setpriv"], f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
        namespaces = ["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try"]
        if not network:
            namespaces.append("--unshare-net")
        return [*sandbox[:1], *namespaces, *sandbox[1:], "--", *drop, *limits, *spec.command]

    def _filesystem(self, spec: RunSpec, read_only: list[tuple[Path, str]]) -> list[str]:
        args: list[str] = []
        for entry in sorted(os.listdir("/")):
            path = "/" + entry
            if entry in FRESH_DIRS or path in HIDDEN_DIRS or path == SANDBOX_ROOT:
                continue
            if os.path.islink(path):
                args += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                args += ["--ro-bind", path, path]
        args += ["--ro-bind", "/sys", "/sys", "--proc", "/proc", "--dev", "/dev",
                 "--perms", "1777", "--size", str(spec.disk_mb * 1024 * 1024), "--tmpfs", "/tmp",
                 *self._rebind_under("/tmp")]
        for hidden in HIDDEN_DIRS:
            args += ["--tmpfs", hidden, *self._rebind_under(hidden)]
        args += ["--bind", str(spec.workspace.resolve()), SANDBOX_ROOT]
        for host, inside in read_only:
            for parent in reversed(Path(inside).parents[:-1]):  # bwrap would make them 0700 in the root tmpfs
                if not parent.is_relative_to(SANDBOX_ROOT):
                    args += ["--perms", "0755", "--dir", str(parent)]
            args += ["--ro-bind", str(host), inside]
        args += ["--remount-ro", "/"]
        return args

    def _rebind_under(self, hidden: str) -> list[str]:
        """Bind back the interpreter directories that live under a hidden directory."""
        args: list[str] = []
        needed = {Path(sys.prefix), Path(sys.base_prefix), self.python.parent,
                  self.python.resolve().parent.parent}
        if self.node is not None:
            needed |= {self.node.parent, self.node.resolve().parent.parent}
        for path in sorted(needed):
            if not path.is_relative_to(hidden) or path == Path(hidden):
                continue
            for parent in reversed(path.relative_to(hidden).parents[:-1]):
                args += ["--perms", "0755", "--dir", str(Path(hidden) / parent)]
            args += ["--ro-bind", str(path), str(path)]
        return args

    def _environment(self, spec: RunSpec) -> list[str]:
        env = dict(spec.env)
        path = [str(self.python.parent)]
        if self.node is not None and str(self.node.parent) not in HOST_PATH.split(":"):
            path.append(str(self.node.parent))
        env["PATH"] = ":".join([*path, HOST_PATH])
        env["HOME"] = "/tmp"
        env.setdefault("LANG", "C.UTF-8")
        if spec.report_format in NODE_FORMATS:
            env.setdefault("NODE_OPTIONS", f"--max-old-space-size={spec.memory_mb}")
        return [arg for name, value in sorted(env.items()) for arg in ("--setenv", name, value)]

    def _tools(self) -> dict[str, str]:
        names = ("bwrap", "prlimit", "setpriv") if os.geteuid() == 0 else ("bwrap", "prlimit")
        found = {name: shutil.which(name, path=HOST_PATH) for name in names}
        missing = [name for name, path in found.items() if path is None]
        if missing:
            raise RunnerMisconfigured(f"the process runner needs {', '.join(missing)}: "
                                      "apt-get install bubblewrap util-linux")
        return {name: path for name, path in found.items() if path is not None}

    def _execute(self, argv: list[str], spec: RunSpec, probe: Probe | None) -> Ended:
        """Run argv, streaming its output, until it exits or spec.timeout; sample its resources
        with `probe` (None: the process tree under bwrap)."""
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env={"PATH": HOST_PATH}, start_new_session=True)
        monitor = ResourceMonitor(probe or ProcessTreeProbe(proc.pid)).start(since=started)
        assert proc.stdout is not None and proc.stderr is not None
        pumps = [threading.Thread(target=pump_lines, args=(stream, name, spec.on_output), daemon=True)
                 for stream, name in ((proc.stdout, "stdout"), (proc.stderr, "stderr"))]
        for pump in pumps:
            pump.start()
        try:
            code = proc.wait(timeout=spec.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            self._join(pumps)
            return Ended(Outcome.TIMED_OUT, None, time.monotonic() - started,
                         f"the tests ran longer than {spec.timeout:g} s and were stopped", monitor.stop())
        duration = time.monotonic() - started
        resources = monitor.stop()
        self._join(pumps)
        if code in (-signal.SIGXCPU, 128 + signal.SIGXCPU):
            return Ended(Outcome.TIMED_OUT, code, duration, "the tests used up their CPU-time limit", resources)
        return Ended(Outcome.EXITED, code, duration, None, resources)

    @staticmethod
    def _join(pumps: list[threading.Thread]) -> None:
        for pump in pumps:
            pump.join(timeout=5)


def address_space_limit(spec: RunSpec, cgroup: bool = False) -> int:
    """RLIMIT_AS in bytes. In a cgroup, the cgroup limits memory and this is only a backstop
    well above it (BACKSTOP_FACTOR x spec.memory_mb + 1 GB). Without one, spec.memory_mb. Node
    reserves ~10 GB of address space per WebAssembly instance (Vitest's parsers): there the heap
    is capped by NODE_OPTIONS=--max-old-space-size and RLIMIT_AS only stops runaway reservations."""
    if spec.report_format in NODE_FORMATS:
        return (spec.memory_mb + NODE_ADDRESS_RESERVE_MB) * 1024 * 1024
    if cgroup:
        return (spec.memory_mb * BACKSTOP_FACTOR + 1024) * 1024 * 1024
    return spec.memory_mb * 1024 * 1024


def pump_lines(stream: IO[bytes], name: str, sink: OutputSink | None) -> None:
    """Pass each line of a child's stream to the sink as it arrives, until the stream closes."""
    with stream:
        for raw in iter(lambda: stream.readline(MAX_LINE), b""):
            if sink is None:
                continue  # keep draining: a full pipe would stall the command
            try:
                sink(name, raw.decode("utf-8", errors="replace").rstrip("\r\n"))
            except Exception:  # the sink is the caller's code; its failure must not stall the run
                log.exception("the output sink failed; further %s lines are dropped", name)
                sink = None
