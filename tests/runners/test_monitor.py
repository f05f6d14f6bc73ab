"""The resource monitor over a probe, and the disk quota's mirror back into the workspace."""

from __future__ import annotations

import os
import time
from contextlib import nullcontext
from pathlib import Path

import pytest

from runners.monitor import ProcessTreeProbe, Reading, ResourceMonitor
from runners.quota import mirror


def test_monitor_averages_samples_and_takes_the_kernels_peak() -> None:
    readings = iter([Reading(100 * 2**20, 0.1), Reading(300 * 2**20, 0.3, peak_bytes=500 * 2**20)])
    closing = Reading(0, 0.35, peak_bytes=500 * 2**20)  # after exit: memory freed, counters final

    monitor = ResourceMonitor(lambda: next(readings, closing), interval=0.05).start()
    time.sleep(0.25)
    usage = monitor.stop()

    assert usage is not None and usage.samples >= 2
    assert usage.peak_memory_mb == 500.0
    assert usage.avg_memory_mb < 300 and usage.avg_cpu_percent > 0


def test_monitor_without_readings_reports_nothing() -> None:
    assert ResourceMonitor(lambda: None, interval=0.05).start().stop() is None


def test_process_tree_probe_reads_this_process() -> None:
    reading = ProcessTreeProbe(os.getpid())()

    assert reading is not None and reading.memory_bytes > 10 * 2**20 and reading.cpu_seconds > 0
    assert ProcessTreeProbe(2**22 + 1)() is None  # no such process


def test_mirror_copies_back_without_following_symlinks(tmp_path: Path) -> None:
    source, target, outside = tmp_path / "mounted", tmp_path / "workspace", tmp_path / "outside"
    for directory in (source / "sub", target / "gone", outside):
        directory.mkdir(parents=True)
    (source / "sub" / "report.xml").write_text("<testsuite/>")
    (source / "kept.txt").write_text("new")
    (source / "link").symlink_to("/etc/passwd")
    (target / "kept.txt").symlink_to(outside / "victim")  # the tests replaced a symlink by a file
    (target / "gone" / "old.txt").write_text("deleted by the tests")
    os.mkfifo(source / "pipe")

    mirror(source, target)

    assert sorted(p.name for p in target.iterdir()) == ["kept.txt", "link", "sub"]
    assert (target / "kept.txt").read_text() == "new" and not (target / "kept.txt").is_symlink()
    assert not (outside / "victim").exists()
    assert os.readlink(target / "link") == "/etc/passwd"
    assert (target / "sub" / "report.xml").read_text() == "<testsuite/>"


@pytest.mark.parametrize("disk_mb", [8, 2048])
def test_quota_workspace_limits_and_copies_back(tmp_path: Path, disk_mb: int) -> None:
    from runners.quota import quota_workspace

    if os.geteuid() != 0:
        pytest.skip("the disk quota needs root (loop mounts); without it the workspace is used as is")
    workspace = tmp_path / "repo"
    workspace.mkdir()
    (workspace / "a.txt").write_text("a")

    with quota_workspace(workspace, disk_mb) as mounted:
        assert mounted != workspace and (mounted / "a.txt").read_text() == "a"
        (mounted / "b.txt").write_text("b")
        with pytest.raises(OSError) if disk_mb == 8 else nullcontext():
            (mounted / "big").write_bytes(b"\0" * 16 * 2**20)

    assert (workspace / "b.txt").read_text() == "b"
    assert not os.path.ismount(mounted) and not mounted.exists()
