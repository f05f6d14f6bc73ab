"""Run a project's full test suite on its work tree and say exactly which tests failed, by file.

Python: pytest in the project's test virtualenv, with the project imported from its source folder
(PYTHONPATH), no bytecode written (a mutant one byte different and committed in the same second
would otherwise reuse the old .pyc), no cache, a fixed Hypothesis seed and a JUnit report
(`junit_family=xunit1`, which names each test's file); a test file that cannot even be imported
counts as failing, and the other files still run. JavaScript: tape, one process per test
file, so a failing file is known for certain. Every run has a time limit; a run that exceeds it
or produces no report counts as unusable, never as a pass.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.scope_eval.projects import Checkout


@dataclass
class SuiteRun:
    """The failing test ids (file-qualified) of one full run; `usable` False on a timeout or crash."""

    failed: set[str] = field(default_factory=set)  # "path/to/test_file.py::name"
    seconds: float = 0.0
    usable: bool = True
    note: str = ""

    def files(self, ids: set[str] | None = None) -> set[str]:
        return {i.split("::", 1)[0] for i in (self.failed if ids is None else ids)}


def run_suite(co: Checkout, time_limit: float) -> SuiteRun:
    started = time.monotonic()
    if co.project.language == "python":
        result = _pytest(co, time_limit)
    else:
        result = _tape(co, time_limit)
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


def _pytest(co: Checkout, time_limit: float) -> SuiteRun:
    project = co.project
    env = {**os.environ, "PYTHONPATH": str(co.root / project.source), "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONHASHSEED": "0", "CI": "", "TZ": "UTC"}
    with tempfile.TemporaryDirectory(prefix="verdict-bench-junit-") as tmp:
        report = Path(tmp) / "junit.xml"
        cmd = [co.python or "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
               "-o", "junit_family=xunit1", f"--junitxml={report}", "--hypothesis-seed=0",
               "--continue-on-collection-errors", project.tests]
        code, tail = _run(cmd, co.root, env, time_limit)
        if code is None:
            return SuiteRun(usable=False, note=f"timed out after {time_limit:.0f} s")
        if code not in (0, 1) or not report.exists():
            return SuiteRun(usable=False, note=f"pytest exit {code}: {tail.strip().splitlines()[-1:] or ''}")
        return SuiteRun(failed=_junit_failures(report, co.root))


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


def _tape(co: Checkout, time_limit: float) -> SuiteRun:
    env = {**os.environ, "CI": "", "NODE_OPTIONS": ""}
    deadline = time.monotonic() + time_limit
    result = SuiteRun()
    for file in test_files(co):
        left = deadline - time.monotonic()
        code, _ = _run(["node", str(co.runner), file], co.root, env, left)
        if code is None:
            return SuiteRun(usable=False, note=f"timed out after {time_limit:.0f} s (at {file})")
        if code != 0:
            result.failed.add(f"{file}::(file)")
    return result
