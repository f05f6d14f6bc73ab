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

Python: a workspace whose requirements (requirements.py: requirements.txt and friends, else
pyproject.toml's dependency lists) are non-empty gets `<root>/pip-<hash>/site-packages`,
the hash taken over the requirements text and the installing interpreter's version (wheels
are per-ABI). The runner mounts it read-only at PYTHON_DEPS_MOUNT and puts that on
PYTHONPATH for the test step (so .pth files in it are not processed and console scripts are
not on PATH: `python3 -m tool` works). Filling it is
    `python3 -m pip install --only-binary=:all: --target site-packages -r requirements.txt`
in a scratch directory holding only the generated requirements file: wheels only, so no
dependency's setup.py or build backend runs, and requirements.py refuses lines that would
need a build before pip starts. Both runners use the worker's own pip in the process
runner's install sandbox (the verdict-python image has no pip); the image's Debian
python3.11 and the worker's 3.11 share the wheel ABI.

Residual risk: the install step can reach what the worker's network reaches, and npm fetches
the `resolved` URLs a lock file names (pip, the index and .whl URLs a requirements file
names); a hostile lock file could make npm send GET requests to services on the worker's
network. Keep the worker's network free of unauthenticated services, or point npm at a
registry proxy (npm_config_registry, PIP_INDEX_URL) and firewall the rest.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from runners.ownership import chown_tree, sandbox_user
from runners.reportfile import read_report
from runners.requirements import PythonRequirements, UnsafeRequirements, python_requirements

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
PIP_KEY_VERSION = "1"
PYTHON_DEPS_MOUNT = "/verdict-deps/site-packages"  # where the runners mount a cached site-packages
PIP_INSTALL = ["python3", "-m", "pip", "install", "--only-binary=:all:", "--no-input", "--no-cache-dir",
               "--disable-pip-version-check", "--no-warn-script-location", "--target", "site-packages",
               "-r", "requirements.txt"]


class InstallFailed(Exception):
    """npm ci or pip install failed (a lock file out of date, a package that does not exist, the
    registry unreachable, a requirement that would need a build); the message says why."""


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

        def fill(stage: Path) -> None:
            for name in ("package.json", deps.lock_file):
                (stage / name).write_bytes(read_report(workspace / name, workspace, MAX_MANIFEST_BYTES))
            _as_sandbox_user(stage)
            log.info("installing npm dependencies of %s into %s", deps.lock_file, self.root / deps.key)
            install(stage, list(NPM_CI))
            (stage / "node_modules").mkdir(exist_ok=True)  # a package without dependencies
            for scratch in SCRATCH_DIRS:
                link = stage / "node_modules" / scratch
                if link.is_symlink() or link.exists():
                    shutil.rmtree(link) if link.is_dir() and not link.is_symlink() else link.unlink()
                link.symlink_to("/tmp")

        return self._cached(deps.key, fill) / "node_modules"

    def python_dependencies(self, workspace: Path) -> tuple[PythonRequirements, str] | None:
        """The workspace's Python requirements and their cache key, or None when it declares none.
        InstallFailed when a requirement would need a build (requirements.py)."""
        try:
            requirements = python_requirements(workspace)
        except (UnsafeRequirements, OSError) as exc:
            raise InstallFailed(str(exc)) from None
        if requirements is None:
            return None
        digest = hashlib.sha256(f"pip:{PIP_KEY_VERSION}:{sys.version_info[0]}.{sys.version_info[1]}:".encode())
        digest.update(requirements.text.encode())
        return requirements, f"pip-{digest.hexdigest()[:24]}"

    def site_packages_for(self, workspace: Path, install: Installer) -> Path | None:
        """The cached site-packages for the workspace's Python requirements, installing them on a
        miss; None when it declares none. InstallFailed when pip fails or a line is refused."""
        found = self.python_dependencies(workspace)
        if found is None:
            return None
        requirements, key = found

        def fill(stage: Path) -> None:
            (stage / "requirements.txt").write_text(requirements.text)
            (stage / "site-packages").mkdir()
            _as_sandbox_user(stage)
            log.info("installing Python dependencies of %s into %s", ", ".join(requirements.sources),
                     self.root / key)
            install(stage, list(PIP_INSTALL))

        return self._cached(key, fill) / "site-packages"

    def _cached(self, key: str, fill: Callable[[Path], None]) -> Path:
        """`<root>/<key>`, filled by `fill(scratch directory)` on a miss and then renamed into place."""
        entry = self.root / key
        if entry.is_dir():
            return entry
        self.root.mkdir(parents=True, exist_ok=True)
        with self._lock(key):
            if not entry.is_dir():  # another worker may have installed it while we waited
                stage = Path(tempfile.mkdtemp(prefix=f"{key}.", suffix=".partial", dir=self.root))
                try:
                    os.chmod(stage, 0o755)
                    self.installs += 1
                    fill(stage)
                    chown_tree(stage, os.getuid(), os.getgid())
                    os.rename(stage, entry)
                finally:
                    shutil.rmtree(stage, ignore_errors=True)
        return entry

    @contextmanager
    def _lock(self, key: str) -> Iterator[None]:
        with open(self.root / f".{key}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _as_sandbox_user(stage: Path) -> None:
    uid, gid = sandbox_user()
    chown_tree(stage, uid, gid)


def prepare_mount_point(workspace: Path) -> None:
    """Make /workspace/node_modules a plain directory to mount the cached one over; a symlink or
    file the repository put there is removed (a checked-in node_modules directory is shadowed)."""
    target = workspace / "node_modules"
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        target.unlink()
    target.mkdir(exist_ok=True)
