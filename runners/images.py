"""The Docker images the docker runner uses, built locally (there is no registry).

Each image is a Debian minbase root filesystem made by debootstrap, imported with
`docker import`: `verdict-python:<12 hex>` (Python and pytest) and `verdict-node:<12 hex>`
(Debian's nodejs and npm, for Jest, Vitest and Mocha). The hex is a hash of the recipe
(suite, variant, packages, recipe version), so changing a recipe yields a new tag and an
existing tag is never rebuilt. A file lock keeps two processes from building at once.

    python -m runners.images      # build (if absent) and print the tags
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from runners.errors import ImageBuildError, RunnerMisconfigured, RunnerUnavailable

log = logging.getLogger(__name__)

REPOSITORY = "verdict-python"
RECIPE: dict[str, Any] = {
    "version": 1,  # bump when the build steps change in a way the other fields do not show
    "suite": "bookworm",
    "variant": "minbase",
    "packages": ["python3", "python3-pytest"],
}
MIRROR = "http://deb.debian.org/debian"
IMAGE_CHANGES = [
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    "WORKDIR /workspace",
    'CMD ["python3"]',
]
BUILD_TIMEOUT = 900.0  # seconds for debootstrap

NODE_REPOSITORY = "verdict-node"
NODE_RECIPE: dict[str, Any] = {
    "version": 1,
    "suite": "bookworm",
    "variant": "minbase",
    "packages": ["nodejs", "ca-certificates"],
    # installed by apt-get in the new root after debootstrap: debootstrap's own resolver
    # leaves npm's ~400 node-* dependencies unconfigured (dependency cycles)
    "apt": ["npm"],
}
# (repository, recipe) of every image, by the name RunSpec/DockerRunner use for it
IMAGES: dict[str, tuple[str, dict[str, Any]]] = {
    "python": (REPOSITORY, RECIPE),
    "node": (NODE_REPOSITORY, NODE_RECIPE),
}


def recipe_hash(recipe: dict[str, Any] = RECIPE) -> str:
    """12 hex digits that change whenever the recipe does."""
    canonical = json.dumps(recipe, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def base_image_tag(recipe: dict[str, Any] = RECIPE) -> str:
    return f"{REPOSITORY}:{recipe_hash(recipe)}"


def node_image_tag(recipe: dict[str, Any] = NODE_RECIPE) -> str:
    return f"{NODE_REPOSITORY}:{recipe_hash(recipe)}"


def ensure_base_image(client: Any) -> str:
    """Return the Python base image tag, building the image first if the engine lacks it."""
    return ensure_image(client, "python")


def ensure_node_image(client: Any) -> str:
    """Return the Node image tag, building the image first if the engine lacks it."""
    return ensure_image(client, "node")


def ensure_image(client: Any, name: str) -> str:
    """Return the tag of the image named in IMAGES, building it first if the engine lacks it."""
    try:
        repository, recipe = IMAGES[name]
    except KeyError:
        raise RunnerMisconfigured(f"no image recipe named {name!r}: choose one of "
                                  f"{', '.join(sorted(IMAGES))}") from None
    tag = f"{repository}:{recipe_hash(recipe)}"
    if _has_image(client, tag):
        return tag
    with _build_lock(tag):
        if not _has_image(client, tag):  # another process may have built it while we waited
            _build(client, tag, recipe)
    return tag


def build_images(client: Any = None) -> list[str]:
    """Build every image the runners need; used by `verdict images build`."""
    if client is None:
        client = docker_client()
    return [ensure_image(client, name) for name in IMAGES]


def docker_client() -> Any:
    """A client for the local engine, or RunnerUnavailable saying why there is none."""
    import docker

    try:
        client = docker.from_env(timeout=60)
        client.ping()
    except docker.errors.DockerException as exc:
        raise RunnerUnavailable(f"the Docker engine is not reachable: {exc}") from exc
    return client


def _has_image(client: Any, tag: str) -> bool:
    import docker
    import requests

    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise RunnerUnavailable(f"the Docker engine is not reachable: {exc}") from exc
    return True


@contextmanager
def _build_lock(tag: str) -> Iterator[None]:
    lock_path = Path(tempfile.gettempdir()) / f"verdict-image-{tag.replace(':', '-')}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _build(client: Any, tag: str, recipe: dict[str, Any]) -> None:
    if shutil.which("debootstrap") is None:
        raise RunnerMisconfigured("debootstrap is not installed: apt-get install debootstrap")
    log.info("building %s with debootstrap (takes a minute or two)", tag)
    workdir = Path(tempfile.mkdtemp(prefix="verdict-image-"))
    try:
        rootfs = workdir / "rootfs"
        _debootstrap(rootfs, recipe)
        if recipe.get("apt"):
            _apt_install(rootfs, recipe["apt"])
        _trim(rootfs)
        tarball = workdir / "rootfs.tar"
        _run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tarball), "."], "tar", 600)
        repository, _, version = tag.partition(":")
        try:
            client.api.import_image_from_file(str(tarball), repository=repository, tag=version,
                                              changes=IMAGE_CHANGES)
        except Exception as exc:  # docker raises requests and docker errors alike here
            raise ImageBuildError(f"docker import of {tag} failed: {exc}") from exc
        if not _has_image(client, tag):
            raise ImageBuildError(f"docker import reported success but {tag} is absent")
        log.info("built %s", tag)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _debootstrap(rootfs: Path, recipe: dict[str, Any]) -> None:
    packages = ",".join(recipe["packages"])
    _run(["debootstrap", f"--variant={recipe['variant']}", f"--include={packages}",
          recipe["suite"], str(rootfs), MIRROR], "debootstrap", BUILD_TIMEOUT)


def _apt_install(rootfs: Path, packages: list[str]) -> None:
    """apt-get install in the debootstrapped root (chroot; uses the host's network and DNS)."""
    shutil.copyfile("/etc/resolv.conf", rootfs / "etc" / "resolv.conf")
    script = ("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
              "--no-install-recommends " + " ".join(packages) + " && apt-get clean")
    _run(["chroot", str(rootfs), "sh", "-c", script], "apt-get install in the image", BUILD_TIMEOUT)


def _trim(rootfs: Path) -> None:
    """Drop package caches and make the mount points the runner expects."""
    for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for entry in (rootfs / cache).glob("*"):
            if entry.is_file():
                entry.unlink()
    (rootfs / "workspace").mkdir(exist_ok=True)


def _run(argv: list[str], what: str, timeout: float) -> None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise ImageBuildError(f"{what} took longer than {timeout:.0f} s") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise ImageBuildError(f"{what} failed with exit code {done.returncode}:\n{tail}")


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for tag in build_images():
        print(tag)
    return 0


if __name__ == "__main__":
    sys.exit(main())
