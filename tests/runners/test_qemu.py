"""QemuRunner on real QEMU (TCG here): the example repository, failures, timeouts, isolation, reaping.

Needs qemu-system-x86_64, busybox-static and a kernel (scripts/install-qemu); skips without
them locally and fails under CI=true.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from runners.errors import RunnerMisconfigured
from runners.initramfs import build_initramfs
from runners.kernel import disk_modules, locate_kernel
from runners.qemu import CONSOLE_LOG, QemuRunner
from runners.result import Outcome, RunResult, RunSpec
from runners.result import TestStatus as Status  # aliased: pytest would try to collect Test*
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow
EXAMPLE = REPO_ROOT / "examples" / "ktap-selftest"


def qemu_processes() -> list[str]:
    """Command lines of running QEMU processes that belong to a QemuRunner run."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if entry.name.isdigit() and "qemu-system" in cmdline and "verdict-qemu-" in cmdline:
            found.append(cmdline)
    return found


@pytest.fixture
def runner(qemu_ready: None) -> QemuRunner:
    yield QemuRunner(memory_mb=256)
    assert qemu_processes() == [], "a QEMU process was left running"


def run(runner: QemuRunner, workspace: Path, command: list[str], **spec) -> tuple[RunResult, list[tuple[str, str]]]:
    lines: list[tuple[str, str]] = []
    spec.setdefault("timeout", 60)
    result = runner.run(RunSpec(workspace=workspace, command=command,
                                on_output=lambda stream, line: lines.append((stream, line)), **spec))
    return result, lines


def write_script(workspace: Path, text: str) -> Path:
    (workspace / "tests").mkdir(parents=True, exist_ok=True)
    (workspace / "tests" / "run.sh").write_text(textwrap.dedent(text))
    return workspace


def test_example_repository_boots_and_its_ktap_parses(runner: QemuRunner, tmp_path: Path) -> None:
    workspace = shutil.copytree(EXAMPLE, tmp_path / "ktap-selftest")

    result, lines = run(runner, workspace, ["sh", "tests/run.sh"])

    assert result.outcome == Outcome.EXITED, result.error
    assert (result.exit_code, result.error) == (0, None)
    assert {t.name: t.status for t in result.tests} == {
        "kernel.proc_version": Status.PASSED,
        "kernel.cpuinfo_has_processor": Status.PASSED,
        "kernel.nested_kvm": Status.SKIPPED,
        "sandbox.workspace_is_read_only": Status.PASSED,
        "sandbox.tmp_is_writable": Status.PASSED,
        "sandbox.no_network_device": Status.PASSED,
    }
    assert ("console", "KTAP version 1") in lines
    assert ("console", "    ok 1 proc_version") in lines
    assert not any("<<verdict:" in line for _, line in lines), "the runner's markers are not output"
    console = (workspace / CONSOLE_LOG).read_text()
    assert "ok 2 sandbox" in console and ":exit:0>>" in console
    assert not (workspace / ".verdict-write-probe").exists()
    assert result.resources is not None and result.resources.samples >= 2
    assert result.resources.peak_memory_mb > 20 and result.resources.avg_cpu_percent > 0  # QEMU as the host sees it


def test_failing_case_is_reported_with_its_name_and_exit_code(runner: QemuRunner, tmp_path: Path) -> None:
    workspace = write_script(tmp_path / "repo", """\
        echo "TAP version 13"
        echo "1..3"
        echo "ok 1 - arithmetic"
        echo "# comparing /proc/sys/kernel/ostype at tests/run.sh:6"
        grep -q BSD /proc/sys/kernel/ostype && echo "ok 2 - is bsd" || echo "not ok 2 - is bsd"
        echo "ok 3 - env # SKIP GIVEN=$GIVEN"
        exit 3
        """)

    result, _ = run(runner, workspace, ["sh", "tests/run.sh"], env={"GIVEN": "yes please"}, memory_mb=100000, cpus=64)

    assert (result.outcome, result.exit_code, result.error) == (Outcome.EXITED, 3, None)
    tests = {t.name: t for t in result.tests}
    assert [t.name for t in result.failures] == ["is bsd"]
    assert (tests["is bsd"].file, tests["is bsd"].line) == ("tests/run.sh", 6)
    assert tests["env"].message == "GIVEN=yes please"
    assert tests["arithmetic"].status == Status.PASSED


def test_workspace_is_read_only_inside_the_vm(runner: QemuRunner, tmp_path: Path) -> None:
    workspace = write_script(tmp_path / "repo", """\
        set -u
        grep " /workspace " /proc/mounts
        echo changed > tests/run.sh || echo "write refused"
        mkdir newdir || echo "mkdir refused"
        mount -o remount,rw /workspace || echo "remount refused"
        echo fresh > newfile
        """)
    before = (workspace / "tests" / "run.sh").read_text()

    result, lines = run(runner, workspace, ["sh", "tests/run.sh"])

    output = [line for _, line in lines]
    assert result.outcome == Outcome.EXITED and result.exit_code != 0
    assert any(" /workspace ext4 ro," in line for line in output)
    assert {"write refused", "mkdir refused", "remount refused"} <= set(output)
    assert (workspace / "tests" / "run.sh").read_text() == before
    assert not (workspace / "newdir").exists() and not (workspace / "newfile").exists()


def test_timeout_kills_the_vm_and_leaves_no_process(runner: QemuRunner, tmp_path: Path) -> None:
    workspace = write_script(tmp_path / "repo", 'echo "going to sleep"\nsleep 600\n')

    result, lines = run(runner, workspace, ["sh", "tests/run.sh"], timeout=12)

    assert result.outcome == Outcome.TIMED_OUT
    assert result.exit_code is None
    assert "longer than 12 s" in (result.error or "")
    assert result.duration < 20
    assert ("console", "going to sleep") in lines
    assert qemu_processes() == []


def test_kernel_panic_is_an_error_result(runner: QemuRunner, tmp_path: Path) -> None:
    workspace = write_script(tmp_path / "repo", "echo 1..1\necho c > /proc/sysrq-trigger\n")

    result, _ = run(runner, workspace, ["sh", "tests/run.sh"])

    assert result.outcome == Outcome.ERROR
    assert "the VM stopped while the command ran" in (result.error or "")
    assert "plan expected 1 tests, got 0" in (result.error or "")


def test_missing_pieces_are_misconfiguration(qemu_ready: None, tmp_path: Path) -> None:
    spec = RunSpec(workspace=tmp_path, command=["true"])
    with pytest.raises(RunnerMisconfigured, match="no-such-qemu"):
        QemuRunner(qemu="no-such-qemu").run(spec)
    with pytest.raises(RunnerMisconfigured, match="no kernel to boot"):
        QemuRunner(kernel=tmp_path / "vmlinuz-missing").run(spec)


def test_repository_kernel_is_preferred_unless_it_leads_outside(qemu_ready: None, tmp_path: Path) -> None:
    boot = tmp_path / "linux" / "arch" / "x86" / "boot"
    boot.mkdir(parents=True)
    (boot / "bzImage").symlink_to(locate_kernel().image)  # a symlink out of the tree is ignored
    assert locate_kernel(tmp_path / "linux").origin == "cache"

    (boot / "bzImage").unlink()
    shutil.copy(locate_kernel().image, boot / "bzImage")
    kernel = locate_kernel(tmp_path / "linux")
    assert (kernel.origin, kernel.image) == ("repository", (boot / "bzImage").resolve())
    assert disk_modules(kernel) == []  # the tree holds no modules: virtio is assumed built in


def test_initramfs_is_a_valid_cpio_with_modules_in_order(qemu_ready: None, tmp_path: Path) -> None:
    modules = disk_modules(locate_kernel())
    archive = build_initramfs(tmp_path / "initrd", ["sh", "-c", "echo 'quoted; $HOME'"], {"K": "v w"}, "abc",
                              modules)

    listing = subprocess.run(["cpio", "-it"], stdin=archive.open("rb"), capture_output=True, text=True, check=True)
    names = listing.stdout.split()
    assert {"init", "bin/busybox", "bin/sh", "sbin/insmod", "dev/console", "verdict/run"} <= set(names)
    order = [name for name, _ in modules]
    assert order.index("virtio_ring") < order.index("virtio_pci") < order.index("virtio_blk")
    assert all(f"verdict/modules/{name}.ko" in names for name in order)
    assert os.path.getsize(archive) > 1_000_000
