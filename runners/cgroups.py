"""A cgroup v1 per process-runner run: the limits that bind, the counters the monitor reads.

    cgroup = RunCgroup.create(spec)      # None when cgroups cannot be used here (see below)
    argv = cgroup.enter(argv)            # a /bin/sh prefix writes its pid into each cgroup, then execs
    ...run...; cgroup.oom_kills(); cgroup.kill_all(); cgroup.remove()

Each run gets `<mount>/verdict/run-<hex>` in the memory, cpu, cpuacct and pids hierarchies (one
directory where controllers share a mount, as in `cpu,cpuacct`), with
    memory.limit_in_bytes = memory.memsw.limit_in_bytes = spec.memory_mb (no swap beyond it;
        memsw only where swap accounting exists), so the kernel's OOM killer kills inside the
        run when it goes over: memory.oom_control's `oom_kill` counter says it did;
    pids.max = spec.pids plus bubblewrap's own processes (a fork bomb gets EAGAIN);
    cpu.cfs_quota_us = spec.cpus x cpu.cfs_period_us (spec.cpus is a hard share).
The command enters the cgroups before bubblewrap starts (so everything it forks is inside) via
`/bin/sh -c` writing `$$` into each cgroup.procs and exec'ing bwrap: no preexec_fn, which is
unsafe in a threaded worker. kill_all() SIGKILLs whatever is still inside until nothing is,
and remove() rmdirs the directories; the runner calls both after every run, timed out or not.

Unavailable (create() returns None and logs why once): the worker is not root, the hierarchy is
v2-only or lacks a controller, or the directories cannot be made (a read-only /sys in a
container). The process runner then keeps its rlimit-only limits (see process.py).
"""

from __future__ import annotations

import logging
import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from runners.monitor import CgroupProbe
from runners.result import RunSpec

log = logging.getLogger(__name__)

CONTROLLERS = ("memory", "cpu", "cpuacct", "pids")
PARENT = "verdict"
CFS_PERIOD_US = 100_000
BWRAP_PROCESSES = 3  # bwrap's monitor, its pid-namespace init, then the command: counted by pids.max
ENTER_SCRIPT = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'
ENTER_FAILED = 125

_warned: set[str] = set()


def controller_mounts() -> dict[str, Path]:
    """Where each cgroup controller is mounted: v1 controllers by name, the v2 hierarchy as ""."""
    mounts: dict[str, Path] = {}
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return mounts
    for line in lines:
        _device, target, kind, options, *_ = line.split()
        if kind == "cgroup2":
            mounts.setdefault("", Path(target))
        elif kind == "cgroup":
            for option in options.split(","):
                if option in CONTROLLERS:
                    mounts.setdefault(option, Path(target))
    return mounts


@dataclass
class RunCgroup:
    """The run's directories, by controller (controllers sharing a mount share a directory)."""

    dirs: dict[str, Path]

    @classmethod
    def create(cls, spec: RunSpec, parent: str = PARENT) -> RunCgroup | None:
        reason = unavailable_reason()
        if reason:
            _warn_once(reason)
            return None
        mounts = controller_mounts()
        name = f"run-{uuid.uuid4().hex[:16]}"
        dirs = {controller: mounts[controller] / parent / name for controller in CONTROLLERS}
        cgroup = cls(dirs)
        try:
            for directory in cgroup.unique_dirs():
                directory.mkdir(parents=True)
            cgroup.limit(spec)
        except OSError as exc:
            cgroup.remove()
            _warn_once(f"could not set up a cgroup for the run ({exc}); falling back to rlimits")
            return None
        return cgroup

    def unique_dirs(self) -> list[Path]:
        return sorted(set(self.dirs.values()))

    def limit(self, spec: RunSpec) -> None:
        memory = self.dirs["memory"]
        limit = str(spec.memory_mb * 1024 * 1024)
        (memory / "memory.limit_in_bytes").write_text(limit)
        memsw = memory / "memory.memsw.limit_in_bytes"
        if memsw.exists():
            memsw.write_text(limit)  # after the memory limit: memsw may never be below it
        (self.dirs["pids"] / "pids.max").write_text(str(spec.pids + BWRAP_PROCESSES))
        (self.dirs["cpu"] / "cpu.cfs_period_us").write_text(str(CFS_PERIOD_US))
        (self.dirs["cpu"] / "cpu.cfs_quota_us").write_text(str(max(1000, int(spec.cpus * CFS_PERIOD_US))))

    def enter(self, argv: list[str]) -> list[str]:
        """argv prefixed so that it runs inside the cgroups from its first instruction."""
        procs = [str(directory / "cgroup.procs") for directory in self.unique_dirs()]
        return ["/bin/sh", "-c", ENTER_SCRIPT, "verdict-cgroup", *procs, "--", *argv]

    def probe(self) -> CgroupProbe:
        return CgroupProbe(self.dirs["memory"], self.dirs["cpuacct"])

    def oom_kills(self) -> int:
        """How many processes the OOM killer killed in this cgroup (kernel 4.13+ counts them); on
        older kernels, 1 when the limit was hit at all (memory.failcnt)."""
        memory = self.dirs["memory"]
        try:
            for line in (memory / "memory.oom_control").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
            return 1 if int((memory / "memory.failcnt").read_text()) > 0 else 0
        except (OSError, ValueError):
            return 0

    def pids(self) -> list[int]:
        found: set[int] = set()
        for directory in self.unique_dirs():
            try:
                found.update(int(pid) for pid in (directory / "cgroup.procs").read_text().split())
            except (OSError, ValueError):
                continue
        return sorted(found)

    def kill_all(self, timeout: float = 10.0) -> bool:
        """SIGKILL every process still in the cgroup until none is left; False if some outlived
        `timeout` (pids.max bounds a fork bomb, so each round kills a finite set)."""
        deadline = time.monotonic() + timeout
        while pids := self.pids():
            if time.monotonic() > deadline:
                log.error("processes %s survived in the run's cgroup", pids[:10])
                return False
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue
            time.sleep(0.02)
        return True

    def remove(self, timeout: float = 10.0) -> None:
        """rmdir the run's directories, killing stragglers and retrying with backoff while the
        last killed processes exit (after a fork bomb on a loaded machine that takes seconds)."""
        deadline = time.monotonic() + timeout
        delay = 0.02
        for directory in self.unique_dirs():
            while True:
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as exc:
                    if time.monotonic() > deadline:
                        log.error("could not remove the run's cgroup %s: %s", directory, exc)
                        break
                    self.kill_all(timeout=max(0.0, deadline - time.monotonic()))
                    time.sleep(delay)
                    delay = min(delay * 2, 0.5)


def unavailable_reason() -> str | None:
    """Why a per-run cgroup v1 cannot be made here, or None when it can."""
    if os.geteuid() != 0:
        return "the worker is not root, so it cannot create cgroups; limits are rlimits only"
    mounts = controller_mounts()
    missing = [c for c in CONTROLLERS if c not in mounts]
    if missing:
        return (f"no cgroup v1 hierarchy for {', '.join(missing)} under /sys/fs/cgroup; "
                "limits are rlimits only")
    return None


def _warn_once(reason: str) -> None:
    if reason not in _warned:
        _warned.add(reason)
        log.warning("process runner: %s", reason)
