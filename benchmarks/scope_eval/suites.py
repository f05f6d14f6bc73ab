"""Run a project's full test suite on its work tree and say exactly which tests failed, by file.

Python: pytest in the project's test virtualenv, with the project imported from its source folder
(PYTHONPATH), no bytecode written (a mutant one byte different and committed in the same second
would otherwise reuse the old .pyc), no cache, a fixed Hypothesis seed and a JUnit report
(`junit_family=xunit1`, which names each test's file) and Verdict's recorder plugin
(`scope/recorder.py`): on the base run it records which tests ran which functions (the impact
data selection narrows with), on mutant runs only each test's outcome by node id. A test file
that cannot even be imported counts as failing, and the other files still run. JavaScript: tape, one process per test
file, so a failing file is known for certain. Every run has a time limit; a run that exceeds it
or produces no report counts as unusable, never as a pass.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.scope_eval.projects import Checkout
from scope.impact import (
    JS_RECORDER_PATH,
    OUTPUT_ENV,
    RECORDER_MODULE,
    RECORDER_PATH,
    TEST_ENV,
    TRACE_ENV,
    merge_reports,
)


@dataclass
class SuiteRun:
    """The failing test ids (file-qualified) of one full run; `usable` False on a timeout or crash."""

    failed: set[str] = field(default_factory=set)  # "path/to/test_file.py::name"
    seconds: float = 0.0
    usable: bool = True
    note: str = ""
    record: dict | None = None  # Python: the recorder's report (impact data on a traced run)
    failed_nodes: set[str] = field(default_factory=set)  # Python: "file::Class::test" without parameters

    def files(self, ids: set[str] | None = None) -> set[str]:
        return {i.split("::", 1)[0] for i in (self.failed if ids is None else ids)}


def run_suite(co: Checkout, time_limit: float, *, trace: bool = False) -> SuiteRun:
    """The full suite; `trace` records impact data (Python), else only outcomes are recorded."""
    started = time.monotonic()
    if co.project.language == "python":
        result = _pytest(co, time_limit, trace)
    else:
        result = _tape(co, time_limit, trace)
    result.seconds = time.monotonic() - started
    return result


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float) -> tuple[int | None, str]:
    """Exit status (None on timeout, the whole process group then killed) and the output's end."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=max(timeout, 1))
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return None, ""
    return proc.returncode, out.decode("utf-8", "replace")[-2000:]


def _pytest(co: Checkout, time_limit: float, trace: bool) -> SuiteRun:
    project = co.project
    with tempfile.TemporaryDirectory(prefix="verdict-bench-junit-") as tmp:
        shutil.copy(RECORDER_PATH, Path(tmp) / f"{RECORDER_MODULE}.py")
        report, record = Path(tmp) / "junit.xml", Path(tmp) / "impact.json"
        env = {**os.environ, "PYTHONPATH": f"{co.root / project.source}:{tmp}", "PYTHONDONTWRITEBYTECODE": "1",
               "PYTHONHASHSEED": "0", "CI": "", "TZ": "UTC", OUTPUT_ENV: str(record),
               TRACE_ENV: "1" if trace else "0"}
        cmd = [co.python or "python", "-m", "pytest", "-q", "-p", RECORDER_MODULE, "-p", "no:cacheprovider",
               "-o", "addopts=", "-o", "junit_family=xunit1", f"--junitxml={report}", "--hypothesis-seed=0",
               "--continue-on-collection-errors", project.tests]
        code, tail = _run(cmd, co.root, env, time_limit)
        if code is None:
            return SuiteRun(usable=False, note=f"timed out after {time_limit:.0f} s")
        if code not in (0, 1) or not report.exists() or not record.exists():
            return SuiteRun(usable=False, note=f"pytest exit {code}: {tail.strip().splitlines()[-1:] or ''}")
        data = json.loads(record.read_text())
        failed_nodes = {node.split("[", 1)[0] for node, outcome in data["outcomes"].items()
                        if outcome in ("failed", "error")}
        failed_nodes |= {f"{file}::(collection)" for file in data["collect_errors"]}
        return SuiteRun(failed=_junit_failures(report, co.root), record=data, failed_nodes=failed_nodes)


def _junit_failures(report: Path, root: Path) -> set[str]:
    failed: set[str] = set()
    for case in ET.parse(report).iter("testcase"):
        if case.find("failure") is None and case.find("error") is None:
            continue
        file = case.get("file") or _file_of(case.get("classname", ""), root)
        failed.add(f"{file}::{case.get('classname', '')}::{case.get('name', '')}")
    return failed


def _file_of(classname: str, root: Path) -> str:
    """The test file a dotted JUnit classname comes from (collection errors carry no file attribute)."""
    parts = classname.split(".")
    for n in range(len(parts), 0, -1):
        candidate = "/".join(parts[:n]) + ".py"
        if (root / candidate).is_file():
            return candidate
    return classname


def test_files(co: Checkout) -> list[str]:
    """The JavaScript test files tape runs: the .js files directly in the test folder (Mocha's rule too)."""
    folder = co.root / co.project.tests
    return sorted(p.relative_to(co.root).as_posix() for p in folder.glob("*.js") if p.is_file())


def _tape(co: Checkout, time_limit: float, trace: bool) -> SuiteRun:
    """One process per test file; with `trace`, each under scope/recorder.cjs, the records merged."""
    env = {**os.environ, "CI": "", "NODE_OPTIONS": ""}
    deadline = time.monotonic() + time_limit
    result, reports = SuiteRun(), []
    with tempfile.TemporaryDirectory(prefix="verdict-bench-v8-") as tmp:
        for i, file in enumerate(test_files(co)):
            left = deadline - time.monotonic()
            record = Path(tmp) / f"{i}.json"
            extra = {OUTPUT_ENV: str(record), TEST_ENV: file} if trace else {}
            preload = ["--require", str(JS_RECORDER_PATH)] if trace else []
            code, _ = _run(["node", *preload, str(co.runner), file], co.root, {**env, **extra}, left)
            if code is None:
                return SuiteRun(usable=False, note=f"timed out after {time_limit:.0f} s (at {file})")
            if code != 0:
                result.failed.add(f"{file}::(file)")
            if trace:
                if not record.exists():
                    return SuiteRun(usable=False, note=f"{file} left no impact record")
                reports.append(json.loads(record.read_text()))
    if trace:
        result.record = merge_reports(reports)
    return result
