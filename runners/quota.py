"""A workspace on a filesystem of its own, so the tests' writes end at a size limit (ENOSPC).

    with quota_workspace(workspace, disk_mb) as mounted:   # mount `mounted` where the tests run
        ...run...
    # what the tests left is copied back into `workspace`

The copy is an ext4 image of spec.disk_mb made by `mke2fs -d` (sparse, no journal: it lives for
one run; ownership and modes are kept, so a workspace lent to the sandbox user stays lent),
loop-mounted nosuid,nodev under a scratch directory. A test writing an endless file fills that
image and gets ENOSPC; the host's disk gives up at most disk_mb of sparse file. After the run
(also when it timed out) the tree is mirrored back into the workspace without following any
symlink on either side, only regular files, directories and symlinks are kept, and the image
is unmounted and deleted. On this host it costs ~0.1 s per run for a small repository.

Needs root, mke2fs and loop devices; without them (QuotaUnavailable's reason is logged once)
the caller runs on the workspace itself with no quota.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from runners.errors import RunnerMisconfigured

log = logging.getLogger(__name__)

HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_warned: set[str] = set()


class QuotaUnavailable(Exception):
    """This host cannot give the workspace a filesystem of its own (not root, no loop devices)."""


@contextmanager
def quota_workspace(workspace: Path, disk_mb: int) -> Iterator[Path]:
    """Yield a directory holding a copy of the workspace on a disk_mb filesystem (or the workspace
    itself when that is impossible here); mirror it back into the workspace afterwards."""
    try:
        scratch = Path(tempfile.mkdtemp(prefix="verdict-disk-"))
    except OSError as exc:
        raise RunnerMisconfigured(f"no scratch directory for the workspace disk: {exc}") from exc
    mounted = scratch / "mnt"
    try:
        try:
            _mount_copy(workspace, scratch / "workspace.ext4", mounted, disk_mb)
        except QuotaUnavailable as exc:
            _warn_once(str(exc))
            yield workspace
            return
        try:
            yield mounted
        finally:
            mirror(mounted, workspace)
    finally:
        if os.path.ismount(mounted):
            _umount(mounted)
        shutil.rmtree(scratch, ignore_errors=True)


def _mount_copy(workspace: Path, image: Path, mounted: Path, disk_mb: int) -> None:
    if os.geteuid() != 0:
        raise QuotaUnavailable("the worker is not root, so it cannot mount a workspace disk; no disk quota")
    mke2fs = shutil.which("mke2fs", path=HOST_PATH)
    if mke2fs is None:
        raise QuotaUnavailable("mke2fs is missing (apt-get install e2fsprogs); no disk quota")
    files = sum(len(dirs) + len(names) for _dir, dirs, names in os.walk(workspace))
    owner = workspace.stat()
    with image.open("wb") as sparse:
        sparse.truncate(disk_mb * 1024 * 1024)
    made = subprocess.run([mke2fs, "-q", "-F", "-t", "ext4", "-O", "^has_journal", "-m", "0",
                           "-N", str(max(files + 1024, disk_mb * 64)),
                           "-E", f"root_owner={owner.st_uid}:{owner.st_gid},nodiscard,lazy_itable_init=1",
                           "-d", str(workspace), str(image)], capture_output=True, text=True, env={"PATH": HOST_PATH})
    if made.returncode != 0:
        if "No space left" in made.stderr or "Could not allocate" in made.stderr:
            raise RunnerMisconfigured(f"the repository does not fit in its {disk_mb} MB disk quota (RunSpec.disk_mb)")
        raise RunnerMisconfigured(f"could not copy the workspace into a disk image: {made.stderr.strip()}")
    mounted.mkdir()
    done = subprocess.run(["mount", "-t", "ext4", "-o", "loop,nosuid,nodev,noinit_itable", str(image), str(mounted)],
                          capture_output=True, text=True, env={"PATH": HOST_PATH})
    if done.returncode != 0:
        raise QuotaUnavailable(f"cannot loop-mount a workspace disk here ({done.stderr.strip()}); no disk quota")
    os.chmod(mounted, stat.S_IMODE(owner.st_mode))
    shutil.rmtree(mounted / "lost+found", ignore_errors=True)  # root's 0700 directory would trip test discovery


def _umount(mounted: Path) -> None:
    done = subprocess.run(["umount", str(mounted)], capture_output=True, text=True, env={"PATH": HOST_PATH})
    if done.returncode != 0:  # still busy (a process of the run holding a file): detach lazily
        log.warning("umount %s failed (%s); detaching lazily", mounted, done.stderr.strip())
        subprocess.run(["umount", "-l", str(mounted)], capture_output=True, env={"PATH": HOST_PATH})


def mirror(source: Path, target: Path) -> None:
    """Make target's tree the same as source's: regular files, directories and symlinks, with
    their modes and owners; never follows a symlink on either side; other file types are dropped."""
    wanted = {entry.name: entry for entry in os.scandir(source)}
    for entry in os.scandir(target):
        if entry.name not in wanted:
            _remove(Path(entry.path))
    for name, entry in wanted.items():
        there = target / name
        info = entry.stat(follow_symlinks=False)
        current = _lstat(there)
        if stat.S_ISDIR(info.st_mode):
            if current is not None and not stat.S_ISDIR(current.st_mode):
                _remove(there)
            if current is None or not stat.S_ISDIR(current.st_mode):
                there.mkdir()
            mirror(Path(entry.path), there)
        elif stat.S_ISLNK(info.st_mode):
            if current is not None:
                _remove(there)
            there.symlink_to(os.readlink(entry.path))
        elif stat.S_ISREG(info.st_mode):
            if (current is not None and stat.S_ISREG(current.st_mode) and current.st_size == info.st_size
                    and current.st_mtime_ns == info.st_mtime_ns):
                continue
            if current is not None:
                _remove(there)
            shutil.copy2(entry.path, there, follow_symlinks=False)
        else:
            if current is not None:
                _remove(there)
            continue
        os.chown(there, info.st_uid, info.st_gid, follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            os.chmod(there, stat.S_IMODE(info.st_mode))


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return path.lstat()
    except FileNotFoundError:
        return None


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _warn_once(reason: str) -> None:
    if reason not in _warned:
        _warned.add(reason)
        log.warning("docker runner: %s", reason)
