"""Sampling a sandbox's memory and CPU while it runs: one monitor, a probe per kind of sandbox.

    monitor = ResourceMonitor(probe); monitor.start(); ...the command runs...; usage = monitor.stop()

A probe returns a Reading (resident memory now, CPU seconds used since the sandbox started,
and the kernel's high-water mark when it keeps one) or None when there is nothing to read.
The monitor takes a first reading shortly after start, then one every `interval` seconds in a
daemon thread, and one closing reading in stop(), which counts for CPU time and the peak but
not for the mean (after exit the memory is mostly freed and would drag the mean down).

The probes here:
    CgroupProbe   a cgroup's own counters (v1: memory.usage_in_bytes, memory.max_usage_in_bytes,
                  cpuacct.usage; v2: memory.current, memory.peak, cpu.stat usage_usec). The
                  process runner's per-run cgroup; a Docker container's cgroup found through
                  its init process (cgroup_probe_for_pid).
    ProcessTreeProbe  /proc for one process and its descendants (VmRSS, VmHWM, utime+stime and
                  reaped children's cutime+cstime): QEMU, and the process runner without cgroups.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runners.result import ResourceUsage

log = logging.getLogger(__name__)

SAMPLE_INTERVAL = 0.5  # seconds
FIRST_SAMPLE_AFTER = 0.1  # seconds: the very first instant shows a sandbox still starting
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MB = 1024 * 1024


@dataclass(frozen=True)
class Reading:
    memory_bytes: int  # resident now
    cpu_seconds: float  # used since the sandbox started
    peak_bytes: int = 0  # the kernel's high-water mark, 0 when it keeps none


Probe = Callable[[], Reading | None]


class ResourceMonitor:
    """Samples a probe in a daemon thread from start() until stop()."""

    def __init__(self, probe: Probe, interval: float = SAMPLE_INTERVAL):
        self.probe = probe
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0.0
        self._memory: list[int] = []
        self._peak = 0
        self._cpu = 0.0
        self._cpu_at = 0.0  # monotonic time of the latest CPU reading

    def start(self, since: float | None = None) -> ResourceMonitor:
        """Start sampling; `since` is the monotonic time the sandbox started, if earlier than now."""
        self._started = time.monotonic() if since is None else since
        self._thread = threading.Thread(target=self._sample_until_stopped, name="verdict-monitor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> ResourceUsage | None:
        """The usage so far, after one closing reading; None when the probe never read anything."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._take(closing=True)
        if not self._memory:
            return None
        elapsed = max(self._cpu_at - self._started, 1e-3)
        return ResourceUsage(peak_memory_mb=round(max(self._peak, *self._memory) / MB, 1),
                             avg_memory_mb=round(sum(self._memory) / len(self._memory) / MB, 1),
                             avg_cpu_percent=round(100.0 * self._cpu / elapsed, 1),
                             samples=len(self._memory))

    def _sample_until_stopped(self) -> None:
        wait = FIRST_SAMPLE_AFTER
        while not self._stop.wait(wait):
            self._take(closing=False)
            wait = self.interval

    def _take(self, closing: bool) -> None:
        try:
            reading = self.probe()
        except OSError as exc:  # the sandbox went away between two files; the next reading decides
            log.debug("resource probe failed: %s", exc)
            reading = None
        if reading is None:
            return
        if not closing or not self._memory:  # a run shorter than the first sample has only this one
            self._memory.append(reading.memory_bytes)
        self._peak = max(self._peak, reading.peak_bytes, reading.memory_bytes)
        if reading.cpu_seconds >= self._cpu:
            self._cpu, self._cpu_at = reading.cpu_seconds, time.monotonic()


class CgroupProbe:
    """Reads one cgroup's counters: `memory` and `cpu` are its directories in those hierarchies
    (the same directory on cgroup v2)."""

    def __init__(self, memory: Path, cpu: Path, version: int = 1):
        self.memory, self.cpu, self.version = memory, cpu, version

    def __call__(self) -> Reading | None:
        if self.version == 2:
            usage = int((self.memory / "memory.current").read_text())
            peak_file = self.memory / "memory.peak"
            peak = int(peak_file.read_text()) if peak_file.exists() else 0
            stat = dict(line.split() for line in (self.cpu / "cpu.stat").read_text().splitlines() if line)
            return Reading(usage, int(stat.get("usage_usec", 0)) / 1e6, peak)
        usage = int((self.memory / "memory.usage_in_bytes").read_text())
        peak = int((self.memory / "memory.max_usage_in_bytes").read_text())
        return Reading(usage, int((self.cpu / "cpuacct.usage").read_text()) / 1e9, peak)


def cgroup_probe_for_pid(pid: int) -> CgroupProbe | None:
    """A probe of the cgroup a process is in (a container's init), or None when the files are not
    readable from here (a remote engine, another cgroup namespace)."""
    from runners.cgroups import controller_mounts

    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    paths: dict[str, str] = {}
    for line in lines:
        _id, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path.lstrip("/")
    mounts = controller_mounts()
    if "memory" in paths and "cpuacct" in paths and "memory" in mounts and "cpuacct" in mounts:
        probe = CgroupProbe(mounts["memory"] / paths["memory"], mounts["cpuacct"] / paths["cpuacct"])
    elif "" in paths and "" in mounts:  # cgroup v2: one unified hierarchy
        directory = mounts[""] / paths[""]
        probe = CgroupProbe(directory, directory, version=2)
    else:
        return None
    try:
        probe()
    except (OSError, ValueError):
        return None
    return probe


class ProcessTreeProbe:
    """Reads /proc for a process and all its descendants: resident memory and CPU time."""

    def __init__(self, pid: int):
        self.pid = pid

    def __call__(self) -> Reading | None:
        tree = descendants(self.pid)
        if not tree:
            return None
        memory = peak = 0
        ticks = 0
        for pid in tree:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # exited meanwhile
            kb = {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in status.splitlines())
                  if k in ("VmRSS", "VmHWM")}
            memory += kb.get("VmRSS", 0) * 1024
            peak = max(peak, kb.get("VmHWM", 0) * 1024)  # a single process's; the total is a mean-free guess
            ticks += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        return Reading(memory, ticks / CLOCK_TICKS, peak if len(tree) == 1 else 0)


def descendants(root: int) -> list[int]:
    """root and every process below it (by parent pid), root first; [] when root is gone."""
    children: dict[int, list[int]] = {}
    alive = False
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        pid, parent = int(entry.name), int(stat.rsplit(")", 1)[1].split()[1])
        alive = alive or pid == root
        children.setdefault(parent, []).append(pid)
    if not alive:
        return []
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue.extend(children.get(pid, []))
    return found
