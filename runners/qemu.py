"""QemuRunner: the test command inside a throw-away QEMU virtual machine, results read as TAP/KTAP.

The machine
    The kernel (see kernel.py: the repository's own bzImage, else the cached Debian cloud
    kernel) boots an initramfs of busybox-static (initramfs.py). The workspace is copied into
    an ext4 image (`mke2fs -d`, no mounting on the host) attached as a read-only virtio disk
    and mounted read-only at /workspace; the command runs there as root of the VM with only
    spec.env plus PATH, HOME=/tmp and LANG. No network device, no display, no default
    devices, -no-reboot; memory and vCPUs from spec.memory_mb and spec.cpus (clamped, or
    fixed by the constructor). As root, QEMU drops to nobody once started (-runas) and runs
    under its seccomp sandbox.

Acceleration
    KVM when it works, else TCG (a few seconds to boot). Having /dev/kvm is not proof: on
    some hosts a KVM guest hangs, so the first run per process boots a VM that powers off at
    once under KVM and falls back to TCG if it has not within KVM_PROBE_TIMEOUT.

Output and results
    The serial console is QEMU's stdout. Each line goes to spec.on_output("console", line),
    to `<workspace>/.verdict/console.log` (CONSOLE_LOG; capped at MAX_CONSOLE_BYTES) and,
    without printk timestamps, to the incremental TAP/KTAP parser, so KTAP printed by the
    kernel itself (KUnit at boot) counts as well as the command's. /init prints markers with
    a per-run nonce around the command; the exit marker gives RunResult.exit_code. At
    spec.timeout the VM is killed (Outcome.TIMED_OUT); a VM that stops without the exit
    marker (kernel panic, a broken kernel under test) is Outcome.ERROR. QEMU is always
    killed and reaped before run() returns.

Resources
    The QEMU process's /proc/<pid>/status (VmRSS, VmHWM) and /proc/<pid>/stat (utime+stime)
    are sampled every half second (monitor.py): the VM's memory as the host sees it (guest
    RAM it touched plus QEMU's own), and its CPU, boot included.
"""

from __future__ import annotations

import logging
import math
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from runners.discover import prepare_report_dir
from runners.errors import RunnerMisconfigured
from runners.initramfs import CpioWriter, build_initramfs, find_busybox
from runners.kernel import Kernel, disk_modules, locate_kernel
from runners.monitor import ProcessTreeProbe, ResourceMonitor
from runners.result import Outcome, OutputSink, RunResult, RunSpec
from runners.tap import TapParser

log = logging.getLogger(__name__)

CONSOLE_LOG = ".verdict/console.log"
ACCEL_ENV = "VERDICT_QEMU_ACCEL"  # "kvm" or "tcg": skip the probe
KVM_PROBE_TIMEOUT = 5.0
MEMORY_RANGE_MB = (256, 16384)
MAX_LINE = 64 * 1024
MAX_CONSOLE_BYTES = 32 * 1024 * 1024
BASE_CMDLINE = "console=ttyS0 rdinit=/init panic=-1 quiet"
PRINTK_PREFIX = re.compile(r"^\[\s*\d+\.\d+\] ?")
MARKER = re.compile(r"<<verdict:(\w+):(start|exit|no-workspace)(?::(-?\d+))?>>")
HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_accelerators: dict[tuple[str, str], str] = {}
_probe_lock = threading.Lock()


class QemuRunner:
    """Boots a VM per run; see the module docstring for what the guest sees."""

    name = "qemu"

    def __init__(self, kernel: Path | None = None, memory_mb: int | None = None, cpus: int | None = None,
                 cmdline_extra: str = "", accel: str | None = None, qemu: str = "qemu-system-x86_64"):
        self.kernel = kernel
        self.memory_mb = memory_mb
        self.cpus = cpus
        self.cmdline_extra = cmdline_extra
        self.accel = accel
        self.qemu = qemu

    def run(self, spec: RunSpec) -> RunResult:
        qemu = self._qemu_binary()
        kernel = locate_kernel(spec.workspace, self.kernel)
        console = prepare_report_dir(spec.workspace, CONSOLE_LOG)
        with tempfile.TemporaryDirectory(prefix="verdict-qemu-") as scratch:
            nonce = secrets.token_hex(8)
            initrd = build_initramfs(Path(scratch) / "initramfs.cpio", spec.command, spec.env, nonce,
                                     disk_modules(kernel))
            disk = workspace_disk(spec.workspace, Path(scratch) / "workspace.ext4")
            argv = self.command_line(qemu, kernel, initrd, disk, spec)
            session = ConsoleSession(nonce, console, spec.on_output)
            return session.run(argv, spec.timeout)

    def command_line(self, qemu: str, kernel: Kernel, initrd: Path, disk: Path, spec: RunSpec) -> list[str]:
        """The full QEMU argv for one run."""
        accel = self.accel or os.environ.get(ACCEL_ENV) or accelerator(qemu, kernel)
        argv = [qemu, "-accel", accel, "-m", str(self.memory_for(spec)), "-smp", str(self.cpus_for(spec)),
                "-nodefaults", "-no-user-config", "-no-reboot", "-display", "none", "-nic", "none",
                "-kernel", str(kernel.image), "-initrd", str(initrd),
                "-append", f"{BASE_CMDLINE} {self.cmdline_extra}".strip(),
                "-chardev", "stdio,id=console,signal=off", "-serial", "chardev:console",
                "-drive", f"file={disk},format=raw,if=virtio,readonly=on",
                "-sandbox", "on,obsolete=deny,elevateprivileges=allow,spawn=deny,resourcecontrol=deny"]
        if accel == "kvm":
            argv += ["-cpu", "host"]
        if os.geteuid() == 0:
            argv += ["-runas", "nobody"]
        return argv

    def memory_for(self, spec: RunSpec) -> int:
        low, high = MEMORY_RANGE_MB
        return max(low, min(high, self.memory_mb or spec.memory_mb))

    def cpus_for(self, spec: RunSpec) -> int:
        return max(1, min(os.cpu_count() or 1, self.cpus or math.ceil(spec.cpus)))

    def _qemu_binary(self) -> str:
        found = shutil.which(self.qemu, path=HOST_PATH) or shutil.which(self.qemu)
        if found is None:
            raise RunnerMisconfigured(f"the QEMU runner needs {self.qemu}: run scripts/install-qemu")
        return found


@dataclass
class ConsoleSession:
    """One VM's lifetime: start QEMU, follow its console, enforce the timeout, reap it."""

    nonce: str
    log_path: Path
    sink: OutputSink | None
    parser: TapParser = field(default_factory=TapParser)
    started: float | None = None  # monotonic time the command started in the guest
    exit_code: int | None = None
    no_workspace: bool = False
    tail: list[str] = field(default_factory=list)

    def run(self, argv: list[str], timeout: float) -> RunResult:
        begun = time.monotonic()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env={"PATH": HOST_PATH}, start_new_session=True)
        monitor = ResourceMonitor(ProcessTreeProbe(proc.pid)).start(since=begun)
        assert proc.stdout is not None and proc.stderr is not None
        errors: list[bytes] = []
        readers = [threading.Thread(target=self.follow, args=(proc.stdout,), daemon=True),
                   threading.Thread(target=drain_tail, args=(proc.stderr, errors), daemon=True)]
        for reader in readers:
            reader.start()
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            resources = monitor.stop()
            stop(proc)
            for reader in readers:
                reader.join(timeout=10)
        duration = time.monotonic() - begun
        if self.started is not None:
            log.info("VM booted in %.1f s, ran for %.1f s", self.started - begun, duration)
        ended = self.result(proc.returncode, b"".join(errors).decode(errors="replace"), duration, timed_out, timeout)
        ended.resources = resources
        return ended

    def follow(self, stream: IO[bytes]) -> None:
        """Read console lines until QEMU exits: log, stream, parse."""
        written = 0
        with stream, self.log_path.open("wb") as console:
            for raw in iter(lambda: stream.readline(MAX_LINE), b""):
                if written < MAX_CONSOLE_BYTES:
                    console.write(raw)
                    written += len(raw)
                self.on_line(raw.decode("utf-8", errors="replace").rstrip("\r\n").replace("\r", ""))

    def on_line(self, line: str) -> None:
        marker = MARKER.search(line)
        if marker and marker.group(1) == self.nonce:
            self._on_marker(marker.group(2), marker.group(3))
            return
        self.tail = [*self.tail[-19:], line]
        self.parser.feed(PRINTK_PREFIX.sub("", line))
        if self.sink is not None:
            try:
                self.sink("console", line)
            except Exception:  # the sink is the caller's code; its failure must not stall the run
                log.exception("the output sink failed; further console lines are dropped")
                self.sink = None

    def _on_marker(self, kind: str, value: str | None) -> None:
        if kind == "start":
            self.started = time.monotonic()
        elif kind == "exit" and value is not None:
            self.exit_code = int(value)
        elif kind == "no-workspace":
            self.no_workspace = True

    def result(self, returncode: int, stderr: str, duration: float, timed_out: bool, timeout: float) -> RunResult:
        tests, tap_error = self.parser.finish()
        if timed_out:
            outcome, error = Outcome.TIMED_OUT, f"the tests ran longer than {timeout:g} s and the VM was stopped"
        elif self.exit_code is not None:
            outcome, error = Outcome.EXITED, None
        elif self.no_workspace:
            outcome, error = Outcome.ERROR, "the VM could not mount the workspace disk (no virtio_blk or ext4?)"
        elif self.started is not None:
            outcome, error = Outcome.ERROR, "the VM stopped while the command ran (kernel panic?): " + self._tail()
        elif returncode != 0 and not self.tail:
            raise RunnerMisconfigured(f"QEMU failed to start (exit {returncode}): {stderr.strip()[-2000:]}")
        else:
            outcome, error = Outcome.ERROR, "the VM stopped before the command started: " + self._tail()
        if error and outcome == Outcome.ERROR:
            error += f" (console log: {CONSOLE_LOG})"
        message = "; ".join(e for e in (error, tap_error) if e) or None
        return RunResult(outcome=outcome, exit_code=self.exit_code, duration=duration, tests=tests, error=message)

    def _tail(self) -> str:
        return " | ".join(line for line in self.tail[-5:] if line.strip()) or "no console output"


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill QEMU's process group if it is still running, and reap it."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


def drain_tail(stream: IO[bytes], kept: list[bytes], limit: int = 8192) -> None:
    """Read a stream to its end (a full pipe would stall QEMU), keeping its last `limit` bytes."""
    tail = b""
    with stream:
        for chunk in iter(lambda: stream.read(4096), b""):
            tail = (tail + chunk)[-limit:]
    kept.append(tail)


def workspace_disk(workspace: Path, image: Path) -> Path:
    """An ext4 image holding a copy of the workspace (built with `mke2fs -d`, no mount needed)."""
    mke2fs = shutil.which("mke2fs", path=HOST_PATH)
    if mke2fs is None:
        raise RunnerMisconfigured("the QEMU runner needs mke2fs: apt-get install e2fsprogs")
    files, size = 0, 0
    for _dir, dirs, names in os.walk(workspace):
        files += len(dirs) + len(names)
        size += sum(_size(Path(_dir) / name) for name in names)
    blocks_kb = max(32 * 1024, (size * 5 // 4 + files * 4096) // 1024 + 16 * 1024)
    command = [mke2fs, "-q", "-F", "-t", "ext4", "-O", "^has_journal", "-N", str(files + 1024),
               "-L", "workspace", "-d", str(workspace), str(image), f"{blocks_kb}k"]
    done = subprocess.run(command, capture_output=True, text=True, env={"PATH": HOST_PATH})
    if done.returncode != 0:
        raise RunnerMisconfigured(f"could not copy the workspace into a disk image: {done.stderr.strip()}")
    return image


def _size(path: Path) -> int:
    try:
        return path.lstat().st_size
    except OSError:
        return 0


def accelerator(qemu: str, kernel: Kernel) -> str:
    """"kvm" when a KVM guest boots and powers off in time here, else "tcg" (cached per process)."""
    key = (qemu, str(kernel.image))
    with _probe_lock:
        if key not in _accelerators:
            _accelerators[key] = "kvm" if kvm_works(qemu, kernel) else "tcg"
            log.info("QEMU acceleration: %s", _accelerators[key])
        return _accelerators[key]


def kvm_works(qemu: str, kernel: Kernel, timeout: float = KVM_PROBE_TIMEOUT) -> bool:
    """Boot a VM whose /init powers off at once under KVM; False unless it finishes in time."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    with tempfile.TemporaryDirectory(prefix="verdict-kvm-probe-") as scratch:
        initrd = Path(scratch) / "probe.cpio"
        archive = CpioWriter()
        for directory in ("bin", "dev", "proc"):
            archive.add(directory, 0o040755)
        archive.add("bin/busybox", 0o100755, find_busybox().read_bytes())
        archive.add("init", 0o100755, b"#!/bin/busybox sh\n/bin/busybox poweroff -f\n")
        initrd.write_bytes(archive.finish())
        argv = [qemu, "-accel", "kvm", "-cpu", "host", "-m", "256", "-nodefaults", "-no-user-config", "-no-reboot",
                "-display", "none", "-nic", "none", "-kernel", str(kernel.image), "-initrd", str(initrd),
                "-append", "quiet panic=-1"]
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            return proc.wait(timeout=timeout) == 0
        except subprocess.TimeoutExpired:
            return False
        finally:
            stop(proc)
