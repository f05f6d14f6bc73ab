"""Artifact collection trusts nothing the tests left behind."""

from __future__ import annotations

import hashlib
import os

import pytest

from jobs import artifacts
from jobs.artifacts import collect_artifacts, safe_name


@pytest.mark.parametrize("raw,expected", [
    ("report.html", "report.html"),
    ("coverage/index.html", "coverage/index.html"),
    ("../../etc/passwd", "etc/passwd"),
    ("/abs/path.txt", "abs/path.txt"),
    ("a/./b/../c.txt", "a/b/c.txt"),
    (".hidden", "hidden"),
    ("sp ace;rm -rf $(x).log", "sp_ace_rm_-rf___x_.log"),
    ("ctrl\x00\x1bname", "ctrl__name"),
    ("..", None),
])
def test_safe_names(raw, expected):
    assert safe_name(raw) == expected


def test_regular_files_are_copied_with_size_and_sha256(tmp_path):
    ws = tmp_path / "ws"
    (ws / "artifacts/sub").mkdir(parents=True)
    (ws / "artifacts/report.txt").write_text("hello")
    (ws / "artifacts/sub/data.bin").write_bytes(b"\x00\x01" * 1000)
    result = collect_artifacts(ws, tmp_path / "kept")
    assert [(a.name, a.size) for a in result.artifacts] == [("report.txt", 5), ("sub/data.bin", 2000)]
    assert result.artifacts[0].sha256 == hashlib.sha256(b"hello").hexdigest()
    assert (tmp_path / "kept/sub/data.bin").read_bytes() == b"\x00\x01" * 1000
    assert result.skipped == []


def test_symlinks_out_of_the_workspace_do_not_leak_host_files(tmp_path):
    secret = tmp_path / "host-secret"
    secret.write_text("TOP SECRET")
    ws = tmp_path / "ws"
    (ws / "artifacts").mkdir(parents=True)
    (ws / "artifacts/passwd").symlink_to("/etc/passwd")
    (ws / "artifacts/secret").symlink_to(secret)
    (ws / "artifacts/dir").symlink_to(tmp_path)
    result = collect_artifacts(ws, tmp_path / "kept")
    assert result.artifacts == []
    assert sorted(result.skipped) == ["passwd: a symlink, not collected", "secret: a symlink, not collected"]
    kept = tmp_path / "kept"
    assert not kept.exists() or not any("SECRET" in p.read_text() for p in kept.rglob("*") if p.is_file())


def test_artifacts_folder_itself_a_symlink_is_refused(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "artifacts").symlink_to("/etc")
    result = collect_artifacts(ws, tmp_path / "kept")
    assert result.artifacts == [] and result.skipped == ["artifacts: a symlink, not collected"]


def test_caps_on_count_and_size(tmp_path, monkeypatch):
    monkeypatch.setattr(artifacts, "MAX_FILES", 3)
    monkeypatch.setattr(artifacts, "MAX_FILE_BYTES", 100)
    ws = tmp_path / "ws"
    (ws / "artifacts").mkdir(parents=True)
    for i in range(5):
        (ws / f"artifacts/f{i}.txt").write_text("x" * 10)
    (ws / "artifacts/big.bin").write_bytes(b"y" * 101)
    os.mkfifo(ws / "artifacts/fifo")
    result = collect_artifacts(ws, tmp_path / "kept")
    assert [a.name for a in result.artifacts] == ["f0.txt", "f1.txt", "f2.txt"]
    assert "big.bin: larger than the size cap, not collected" in result.skipped
    assert "fifo: not a regular file" in result.skipped
    assert "f4.txt: over the limit of 3 files" in result.skipped
