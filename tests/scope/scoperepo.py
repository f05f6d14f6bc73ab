"""A git repository for scope tests, built from a dict of files, with a shortcut to select on it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from scope import ImpactMap, ScopeConfig, Selection, changed_files, select_tests
from scope.impact import OUTPUT_ENV, RECORDER_MODULE, RECORDER_PATH, TRACE_ENV
from tests.gitrepo import GitRepo


class ScopeRepo:
    """A git repository in tmp_path: write files, commit, and ask scope what a change selects."""

    def __init__(self, path: Path, cache_dir: Path):
        self.path = path
        self.cache_dir = cache_dir
        self._repo = GitRepo(path)

    def git(self, *args: str) -> str:
        return self._repo.git(*args)

    def write(self, files: dict[str, str | bytes]) -> None:
        for rel, content in files.items():
            target = self.path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)

    def delete(self, *rels: str) -> None:
        for rel in rels:
            target = self.path / rel
            shutil.rmtree(target) if target.is_dir() else target.unlink()

    def edit(self, path: str, old: str, new: str) -> str:
        """Replace the first `old` in `path` with `new` and commit; the new commit's sha."""
        text = (self.path / path).read_text()
        assert old in text, f"{old!r} is not in {path}"
        self.write({path: text.replace(old, new, 1)})
        return self.commit(f"{path}: {old!r} → {new!r}")

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def select(self, base: str = "main", head: str | None = None, config: ScopeConfig | None = None,
               **kwargs) -> Selection:
        return select_tests(self.path, changed_files(self.path, base, head), config, cache_dir=self.cache_dir,
                            **kwargs)

    def pytest(self, *args: str, record: Path | None = None, trace: bool = True) -> subprocess.CompletedProcess:
        """Run pytest in the work tree, with scope's recorder writing to `record` when given."""
        plugin_dir = self.path.parent / f"{self.path.name}-plugin"
        plugin_dir.mkdir(exist_ok=True)
        shutil.copyfile(RECORDER_PATH, plugin_dir / f"{RECORDER_MODULE}.py")
        env = {**os.environ, "PYTHONPATH": f"{plugin_dir}:{self.path}", "PYTHONDONTWRITEBYTECODE": "1"}
        env.pop(OUTPUT_ENV, None)
        plugins = []
        if record is not None:
            env.update({OUTPUT_ENV: str(record), TRACE_ENV: "1" if trace else "0"})
            plugins = ["-p", RECORDER_MODULE]
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugins, *args],
                              cwd=self.path, env=env, capture_output=True, text=True, timeout=120)

    def record(self, *args: str) -> ImpactMap:
        """Run the whole suite with the recorder and return its impact data for HEAD."""
        out = self.path.parent / f"{self.path.name}-impact.json"
        proc = self.pytest(*args, record=out)
        assert out.exists(), proc.stdout + proc.stderr
        return ImpactMap.load(out.read_bytes(), self.git("rev-parse", "HEAD"))

    def record_report(self, *args: str, trace: bool = True) -> dict:
        out = self.path.parent / f"{self.path.name}-impact.json"
        proc = self.pytest(*args, record=out, trace=trace)
        assert out.exists(), proc.stdout + proc.stderr
        return json.loads(out.read_text())


def selected_files(selection: Selection) -> set[str]:
    return {s.file for s in selection.selected}


def tests_by_file(selection: Selection) -> dict[str, list[str]]:
    """Each selected test file with its node ids ([] = the whole file)."""
    return {s.file: s.tests for s in selection.selected}
