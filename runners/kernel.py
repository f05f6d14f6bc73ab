"""Which kernel the QEMU runner boots, and the modules it needs to reach the workspace disk.

Where the kernel comes from, first found wins
    1. the path the runner was constructed with;
    2. the repository's own build output (`arch/x86/boot/bzImage`), so a kernel tree tests
       the kernel it just built; its modules are looked for in the same tree;
    3. `$VERDICT_QEMU_KERNEL`;
    4. `$VERDICT_KERNEL_CACHE/vmlinuz` (default /var/cache/verdict/kernel), the Debian cloud
       kernel that scripts/install-qemu unpacks there beside `modules-<version>/` and
       `config-<version>`.

Modules
    The workspace is a read-only virtio disk. Debian's cloud kernel builds virtio, virtio_pci
    and virtio_blk as modules, so the initramfs carries them and /init loads them in order.
    Dependencies are read from each module's `.modinfo` section (`depends=`), so no
    modules.dep is needed; modules listed in `modules.builtin` are skipped; `.ko.xz`, `.ko.gz`
    and `.ko.zst` are decompressed here because busybox's insmod cannot.
"""

from __future__ import annotations

import functools
import gzip
import lzma
import os
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from runners.errors import RunnerMisconfigured

KERNEL_ENV = "VERDICT_QEMU_KERNEL"
CACHE_ENV = "VERDICT_KERNEL_CACHE"
DEFAULT_CACHE = Path("/var/cache/verdict/kernel")
REPO_KERNELS = ("arch/x86/boot/bzImage", "arch/x86_64/boot/bzImage")
DISK_MODULES = ("virtio_pci", "virtio_blk")  # what /init needs to see /dev/vda
MODULE_SUFFIXES = (".ko", ".ko.xz", ".ko.gz", ".ko.zst")
INSTALL_HINT = "run scripts/install-qemu, or set VERDICT_QEMU_KERNEL to a bzImage"


@dataclass(frozen=True)
class Kernel:
    """A bootable image and where its modules and configuration are, when known."""

    image: Path
    modules: Path | None = None  # a directory searched recursively for <name>.ko*
    origin: str = "cache"  # "constructor", "repository", "environment" or "cache"

    @property
    def from_repository(self) -> bool:
        return self.origin == "repository"


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE)


def locate_kernel(workspace: Path | None = None, explicit: Path | None = None) -> Kernel:
    """The kernel to boot for this workspace (see the module docstring for the order)."""
    if explicit is not None:
        return _installed_kernel(Path(explicit), "constructor")
    if workspace is not None:
        root = workspace.resolve()
        for relative in REPO_KERNELS:
            image = (workspace / relative).resolve()
            if image.is_relative_to(root) and image.is_file():
                return Kernel(image=image, modules=root, origin="repository")
    if os.environ.get(KERNEL_ENV):
        return _installed_kernel(Path(os.environ[KERNEL_ENV]), "environment")
    return _installed_kernel(cache_dir() / "vmlinuz", "cache")


def _installed_kernel(path: Path, origin: str) -> Kernel:
    image = path.resolve()
    if not image.is_file():
        raise RunnerMisconfigured(f"no kernel to boot at {path} ({origin}): {INSTALL_HINT}")
    version = image.name.removeprefix("vmlinuz-") if image.name.startswith("vmlinuz-") else ""
    candidates = [image.parent / f"modules-{version}", Path("/lib/modules") / version] if version else []
    modules = next((c for c in candidates if c.is_dir()), None)
    return Kernel(image=image, modules=modules, origin=origin)


def disk_modules(kernel: Kernel) -> list[tuple[str, bytes]]:
    """(name, uncompressed .ko) for the modules /init must load, dependencies first."""
    if kernel.modules is None:
        return []  # assume a kernel without a module tree has virtio built in
    index = module_index(kernel.modules)
    builtin = builtin_modules(kernel.modules)
    ordered: list[tuple[str, bytes]] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in visiting or name in builtin or any(n == name for n, _ in ordered):
            return
        visiting.add(name)
        path = index.get(name)
        if path is None:
            return  # built in (or missing: /init reports the disk it cannot see)
        data = read_module(path)
        for dependency in module_depends(data):
            visit(dependency)
        ordered.append((name, data))

    for wanted in DISK_MODULES:
        visit(wanted)
    return ordered


@functools.lru_cache(maxsize=16)
def module_index(root: Path) -> dict[str, Path]:
    """Module name (dashes as underscores) to file, for every module under root."""
    index: dict[str, Path] = {}
    for directory, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for file in files:
            suffix = next((s for s in MODULE_SUFFIXES if file.endswith(s)), None)
            if suffix:
                index.setdefault(file[: -len(suffix)].replace("-", "_"), Path(directory) / file)
    return index


def builtin_modules(root: Path) -> set[str]:
    listing = root / "modules.builtin"
    if not listing.is_file():
        return set()
    names = (Path(line.strip()).name for line in listing.read_text().splitlines() if line.strip())
    return {name.removesuffix(".ko").replace("-", "_") for name in names}


def read_module(path: Path) -> bytes:
    """A module's ELF bytes, decompressed."""
    data = path.read_bytes()
    if path.name.endswith(".xz"):
        return lzma.decompress(data)
    if path.name.endswith(".gz"):
        return gzip.decompress(data)
    if path.name.endswith(".zst"):
        zstd = shutil.which("zstd")
        if zstd is None:
            raise RunnerMisconfigured(f"{path} is zstd-compressed: apt-get install zstd")
        return subprocess.run([zstd, "-dc"], input=data, capture_output=True, check=True).stdout
    return data


def module_depends(elf: bytes) -> list[str]:
    """The `depends=` list of a module's .modinfo section ([] when it cannot be read)."""
    modinfo = elf_section(elf, b".modinfo")
    for entry in (modinfo or b"").split(b"\0"):
        if entry.startswith(b"depends="):
            return [d.replace("-", "_") for d in entry[8:].decode(errors="replace").split(",") if d]
    return []


def elf_section(elf: bytes, wanted: bytes) -> bytes | None:
    """The contents of a named section of a 64-bit little-endian ELF file."""
    try:
        if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
            return None
        shoff, = struct.unpack_from("<Q", elf, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3A)

        def header(index: int) -> tuple[int, int, int]:
            name, = struct.unpack_from("<I", elf, shoff + index * shentsize)
            offset, size = struct.unpack_from("<QQ", elf, shoff + index * shentsize + 0x18)
            return name, offset, size

        _, names_at, _ = header(shstrndx)
        for index in range(shnum):
            name, offset, size = header(index)
            end = elf.index(b"\0", names_at + name)
            if elf[names_at + name:end] == wanted:
                return elf[offset:offset + size]
    except (struct.error, ValueError, IndexError):
        return None
    return None
