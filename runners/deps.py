"""Repository dependencies, installed once per lock file and lent read-only to test runs.

A workspace with package-lock.json (or npm-shrinkwrap.json) gets its node_modules from
`<root>/npm-<hash of the lock file>/node_modules`; the runner mounts that directory
read-only at /workspace/node_modules for the test step, which keeps network disabled. A
second run with the same lock file finds the directory and runs no npm at all.

Filling the cache (on a miss) is the install step:
    `npm ci --ignore-scripts --no-audit --no-fund` in a scratch directory that holds only
    package.json and the lock file copied from the workspace, so none of the repository's
    other files (and none of its code) is there. `--ignore-scripts` keeps every package's
    and the repository's lifecycle scripts from running: nothing of the untrusted tree is
    executed, npm only downloads and unpacks tarballs the lock file pins (with integrity
    hashes).
Where it runs, and why:
    In the same sandbox as the runner's test step, with the same hardening (user nobody,
    no capabilities, read-only system, fresh /tmp, memory/CPU/pid limits, cleared
    environment) except that it has the network, because npm must reach the registry.
    Not on the host: npm parses attacker-written package.json/lock files and writes
    attacker-chosen paths from tarballs, so it gets a sandbox like any other untrusted
    input; and not with network "none", which cannot reach the registry. Each runner
    supplies the installer (`Installer`): the process runner uses the host's npm in
    bubblewrap sharing the host's network (and its npm config, e.g. a CA bundle for a TLS
    -intercepting proxy); the docker runner uses the Node image on the default bridge,
    with the host's CA bundle mounted read-only because the image's own does not trust an
    intercepting proxy. Both fill the same cache: the lock file pins the same packages.

A cache entry appears by rename of a finished scratch directory, so a half-done install is
never used; a per-key file lock keeps two workers from installing the same lock file twice.
Entries are owned by the worker, not by the sandbox user, so no later test can change them;
the caches tools keep inside node_modules (SCRATCH_DIRS) lead to the run's throw-away /tmp.

Residual risk: the install step can reach what the worker's network reaches, and npm fetches
the `resolved` URLs a lock file names; a hostile lock file could make npm send GET requests
to services on the worker's network. Keep the worker's network free of unauthenticated
services, or point npm at a registry proxy (npm_config_registry) and firewall the rest.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from runners.ownership import chown_tree, sandbox_user
from runners.reportfile import read_report

log = logging.getLogger(__name__)

DEFAULT_ROOT = Path("/var/cache/verdict/deps")
LOCK_FILES = ("npm-shrinkwrap.json", "package-lock.json")  # npm's own order of preference
NPM_CI = ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"]
KEY_VERSION = "3"  # bump when the install step changes what ends up in the cache
# Tools write caches into node_modules (Vite/Vitest: .vite, Babel and others: .cache). In the
# cache entry these are symlinks to the sandbox's own fresh /tmp, so the writes succeed and
# vanish with the run while node_modules itself stays read-only.
SCRATCH_DIRS = (".cache", ".vite")
MAX_MANIFEST_BYTES = 32 * 1024 * 1024


class InstallFailed(Exception):
    """npm ci failed (a lock file out of date, the registry unreachable); the message says why."""


Installer = Callable[[Path, list[str]], None]
"""Runs the argv with the given directory as the working directory, network allowed, in a
sandbox; raises InstallFailed when the command fails."""


@dataclass(frozen=True)
class NodeDependencies:
    lock_file: str
    key: str


class DependencyCache:
    """Installed dependencies by lock-file hash under `root` (default /var/cache/verdict/deps)."""

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root is not None else DEFAULT_ROOT
        self.installs = 0  # how many installs this instance ran (cache misses)

    def node_dependencies(self, workspace: Path) -> NodeDependencies | None:
        """The workspace's npm lock file and its cache key, or None when it has none."""
        for name in LOCK_FILES:
            path = workspace / name
            if path.is_file() and not path.is_symlink():
                digest = hashlib.sha256(f"npm:{KEY_VERSION}:".encode())
                digest.update(read_report(path, workspace, MAX_MANIFEST_BYTES))
                return NodeDependencies(name, f"npm-{digest.hexdigest()[:24]}")
        return None

    def node_modules_for(self, workspace: Path, install: Installer) -> Path | None:
        """The cached node_modules for the workspace's lock file, installing it on a miss;
        None when the workspace has no lock file. InstallFailed when npm ci fails."""
        deps = self.node_dependencies(workspace)
        if deps is None:
            return None
        entry = self.root / deps.key
        if entry.is_dir():
            return entry / "node_modules"
        self.root.mkdir(parents=True, exist_ok=True)
        with self._lock(deps.key):
            if not entry.is_dir():  # another worker may have installed it while we waited
                self._install(workspace, deps, entry, install)
        return entry / "node_modules"

    def _install(self, workspace: Path, deps: NodeDependencies, entry: Path, install: Installer) -> None:
        stage = Path(tempfile.mkdtemp(prefix=f"{deps.key}.", suffix=".partial", dir=self.root))
        try:
            os.chmod(stage, 0o755)
            for name in ("package.json", deps.lock_file):
                (stage / name).write_bytes(read_report(workspace / name, workspace, MAX_MANIFEST_BYTES))
            uid, gid = sandbox_user()
            chown_tree(stage, uid, gid)
            log.info("installing npm dependencies of %s into %s", deps.lock_file, entry)
            self.installs += 1
            install(stage, list(NPM_CI))
            (stage / "node_modules").mkdir(exist_ok=True)  # a package without dependencies
            for scratch in SCRATCH_DIRS:
                link = stage / "node_modules" / scratch
                if link.is_symlink() or link.exists():
                    shutil.rmtree(link) if link.is_dir() and not link.is_symlink() else link.unlink()
                link.symlink_to("/tmp")
            chown_tree(stage, os.getuid(), os.getgid())
            os.rename(stage, entry)
        finally:
            shutil.rmtree(stage, ignore_errors=True)

    @contextmanager
    def _lock(self, key: str) -> Iterator[None]:
        with open(self.root / f".{key}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def prepare_mount_point(workspace: Path) -> None:
    """Make /workspace/node_modules a plain directory to mount the cached one over; a symlink or
    file the repository put there is removed (a checked-in node_modules directory is shadowed)."""
    target = workspace / "node_modules"
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        target.unlink()
    target.mkdir(exist_ok=True)
