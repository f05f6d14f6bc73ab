"""Lending the workspace to the unprivileged user a sandboxed command runs as.

Both runners run the command as `nobody` (65534) when the worker is root, because a
command running with the real uid 0, even without capabilities, still owns every root
file on the host (the Docker socket, /etc/shadow, the app's private key). For the length
of the run the workspace tree is chowned to that user so the tests can write to it; then
it is handed back to its original owner, so the host can read and remove everything the
command wrote. A worker that is not root runs the command as itself and chowns nothing.

Symlinks are never followed: a test cannot make the hand-back chown a file outside.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SANDBOX_UID = 65534  # nobody
SANDBOX_GID = 65534  # nogroup


def sandbox_user() -> tuple[int, int]:
    """(uid, gid) the sandboxed command runs as."""
    if os.geteuid() == 0:
        return SANDBOX_UID, SANDBOX_GID
    return os.getuid(), os.getgid()


@contextmanager
def lent_to_sandbox(workspace: Path) -> Iterator[tuple[int, int]]:
    """Own the workspace by the sandbox user while the block runs; yield that (uid, gid)."""
    uid, gid = sandbox_user()
    owner = workspace.stat()
    if os.geteuid() != 0 or (owner.st_uid, owner.st_gid) == (uid, gid):
        yield uid, gid
        return
    chown_tree(workspace, uid, gid)
    try:
        yield uid, gid
    finally:
        chown_tree(workspace, owner.st_uid, owner.st_gid)


def chown_tree(root: Path, uid: int, gid: int) -> None:
    """chown root and everything below it, without following symlinks."""
    os.chown(root, uid, gid, follow_symlinks=False)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            try:
                os.chown(os.path.join(dirpath, name), uid, gid, follow_symlinks=False)
            except FileNotFoundError:
                continue  # removed while we walked
