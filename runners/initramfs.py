"""The QEMU runner's initramfs: busybox-static, the disk modules, and a /init that runs the command.

/init mounts /proc, /sys, devtmpfs and a /tmp tmpfs, loads the modules, mounts the workspace
disk (/dev/vda, ext4) read-only at /workspace, prints `<<verdict:NONCE:start>>`, runs the
command there with only the given environment plus PATH, HOME=/tmp and LANG, prints
`<<verdict:NONCE:exit:CODE>>` and powers off (`reboot -f` as a fallback: with -no-reboot
QEMU exits either way). The archive is written in the kernel's `newc` cpio format directly,
uncompressed (TCG decompresses slowly, and the kernel reads it from memory anyway).
"""

from __future__ import annotations

import functools
import os
import shlex
import subprocess
from collections.abc import Iterable
from pathlib import Path

from runners.errors import RunnerMisconfigured

BUSYBOX_ENV = "VERDICT_BUSYBOX"
BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")
GUEST_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
DIRECTORIES = ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "dev", "proc", "sys", "tmp", "workspace",
               "verdict", "verdict/modules", "root")

INIT = """\
#!/bin/sh
export PATH={path}
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs -o mode=1777,size=50% tmp /tmp
for module in $(cat /verdict/modules/order); do
  insmod /verdict/modules/$module.ko 2>/dev/null || echo "verdict: insmod $module failed"
done
waited=0
while [ ! -b /dev/vda ] && [ $waited -lt 200 ]; do sleep 0.05; waited=$((waited + 1)); done
if mount -t ext4 -o ro,noload /dev/vda /workspace; then
  echo "<<verdict:{nonce}:start>>"
  sh /verdict/run </dev/null
  code=$?
  echo
  echo "<<verdict:{nonce}:exit:$code>>"
else
  echo "<<verdict:{nonce}:no-workspace>>"
fi
poweroff -f
reboot -f
"""


def find_busybox() -> Path:
    """A statically linked busybox (the initramfs has no libc), or RunnerMisconfigured."""
    candidates = [os.environ[BUSYBOX_ENV]] if os.environ.get(BUSYBOX_ENV) else list(BUSYBOX_CANDIDATES)
    for candidate in map(Path, candidates):
        if candidate.is_file() and is_static(candidate):
            return candidate
    raise RunnerMisconfigured("the QEMU runner needs a static busybox: run scripts/install-qemu "
                              "(apt-get install busybox-static)")


def is_static(binary: Path) -> bool:
    with binary.open("rb") as f:
        head = f.read(4096)
    return head.startswith(b"\x7fELF") and b"/ld-linux" not in head and b"ld-musl" not in head


@functools.lru_cache(maxsize=4)
def applets(busybox: Path) -> tuple[str, ...]:
    """Every applet path busybox knows (`bin/sh`, `sbin/insmod`, ...), relative to /."""
    listing = subprocess.run([str(busybox), "--list-full"], capture_output=True, text=True, check=True).stdout
    return tuple(line.strip().lstrip("/") for line in listing.splitlines() if line.strip())


def run_script(command: list[str], env: dict[str, str]) -> str:
    """The shell script /init runs: the command in /workspace with only the given environment."""
    variables = {**env, "PATH": GUEST_PATH, "HOME": "/tmp"}
    variables.setdefault("LANG", "C.UTF-8")
    assignments = " ".join(shlex.quote(f"{name}={value}") for name, value in sorted(variables.items()))
    return f"cd /workspace || exit 125\nexec env -i {assignments} {shlex.join(command)}\n"


def build_initramfs(path: Path, command: list[str], env: dict[str, str], nonce: str,
                    modules: Iterable[tuple[str, bytes]] = (), busybox: Path | None = None) -> Path:
    """Write the initramfs for one run to path and return it."""
    busybox = busybox or find_busybox()
    modules = list(modules)
    archive = CpioWriter()
    for directory in DIRECTORIES:
        archive.add(directory, 0o040755)
    archive.add("dev/console", 0o020600, rdev=(5, 1))
    archive.add("bin/busybox", 0o100755, busybox.read_bytes())
    for applet in applets(busybox):
        if applet != "bin/busybox":
            archive.add(applet, 0o120777, b"/bin/busybox")
    archive.add("init", 0o100755, INIT.format(path=GUEST_PATH, nonce=nonce).encode())
    archive.add("verdict/run", 0o100644, run_script(command, env).encode())
    archive.add("verdict/modules/order", 0o100644, "".join(f"{name}\n" for name, _ in modules).encode())
    for name, data in modules:
        archive.add(f"verdict/modules/{name}.ko", 0o100644, data)
    path.write_bytes(archive.finish())
    return path


class CpioWriter:
    """An in-memory `newc` (SVR4, no CRC) archive, the format the kernel unpacks."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._inode = 0

    def add(self, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)) -> None:
        self._inode += 1
        encoded = name.encode() + b"\0"
        nlink = 2 if mode & 0o170000 == 0o040000 else 1
        fields = (self._inode, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], len(encoded), 0)
        header = b"070701" + b"".join(b"%08X" % value for value in fields)
        self._chunks += [header, encoded, _padding(len(header) + len(encoded)), data, _padding(len(data))]

    def finish(self) -> bytes:
        self.add("TRAILER!!!", 0)
        return b"".join(self._chunks)


def _padding(length: int) -> bytes:
    return b"\0" * (-length % 4)
