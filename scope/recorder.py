"""pytest plugin that records which functions each test runs: the data behind impact narrowing.

It is copied into the sandbox and loaded with `-p verdict_impact`, so it uses nothing but the
standard library and pytest (7.0 or newer; Debian 12 ships 7.2). Set `VERDICT_IMPACT_OUT` to the
JSON file to write at the end of the session; without it the plugin does nothing. With
`VERDICT_IMPACT_TRACE=0` it traces nothing and records only the items and their outcomes.

What it records, by repository-relative file and a function's first line (`co_firstlineno`:
the first decorator's line for a decorated function, as `ast` gives it):

- per test function (node id without parameters), every function of the repository it ran
  during its setup, call and teardown, plus what the fixtures it uses ran while being set up
  (a session fixture set up for an earlier test still counts for every later test using it);
- `import_time`: functions that ran while a module body executed or outside any test
  (collection, `pytest_generate_tests`, parametrize arguments): a change to one of them can
  change what every importer sees, so selection treats it like module-level code;
- `spawners`: tests that started processes (their code there is invisible to the tracer),
  `untracked`: tests during which something else replaced the trace function (a debugger, a
  coverage tool such as pytest-cov, which is never displaced: its own report stays whole);
  selection never narrows either kind;
- `items`: how many test items each file has, and `partial`: files with deselected items or
  items that never ran (`-x`, an interrupted session): their tests were not all seen, so they
  are never narrowed;
- `outcomes`: each item's outcome, so the same run can say what failed;
- `preloaded`: repository files already imported when tracing began (what ran at their import
  is unknown, so they are never narrowed).

Tracing uses `sys.settrace` with a global trace function that only sees "call" events (local
tracing is switched off), which costs roughly what one extra Python call per call does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from array import array
from typing import Any

import pytest

FORMAT = 1
OUTPUT_ENV = "VERDICT_IMPACT_OUT"
TRACE_ENV = "VERDICT_IMPACT_TRACE"  # "0": record items and outcomes only, trace nothing
EXCLUDED_PARTS = ("site-packages", "dist-packages", ".verdict", "node_modules", ".tox", ".nox")
FAILED_OUTCOMES = ("failed", "error")


def _spawn_codes() -> set[Any]:
    """Code objects whose running means a child process started."""
    codes = set()
    execute_child = getattr(subprocess.Popen, "_execute_child", None)
    if execute_child is not None:
        codes.add(execute_child.__code__)
    try:
        import multiprocessing.process as mp
        codes.add(mp.BaseProcess.start.__code__)
    except (ImportError, AttributeError):
        pass
    return codes


class ImpactRecorder:
    """The plugin object: tracer state, per-test and per-fixture function sets, and the report."""

    def __init__(self, root: str, out: str):
        self.root = os.path.realpath(root)
        self.out = out
        self.current: set[Any] | None = None  # code objects of the running test or fixture
        self.module_depth = 0
        self.import_codes: set[Any] = set()
        self.spawn = _spawn_codes()
        self.keys: dict[str, str | None] = {}  # co_filename → repository-relative path or None
        self.tests: dict[tuple[str, str], int] = {}  # (file, name) → index
        self.functions: dict[tuple[str, int], int] = {}  # (file, first line) → function id
        self.runs: dict[int, array] = {}  # test index → sorted function ids (4 bytes each: big suites stay small)
        self.fixture_runs: dict[int, set[int]] = {}  # id(fixturedef) → function ids
        self.spawning_fixtures: set[int] = set()  # id(fixturedef)s whose setup started a process
        self.item_fixtures: dict[int, set[int]] = {}  # test index → id(fixturedef)s
        self.spawners: set[int] = set()
        self.untracked: set[int] = set()
        self.collected: dict[str, set[str]] = {}  # test file → node ids collected (after deselection)
        self.ran: set[str] = set()
        self.partial: set[str] = set()
        self.outcomes: dict[str, str] = {}  # repository-relative file::name[params] → outcome
        self.node_names: dict[str, str] = {}  # pytest node id → that key
        self.collect_errors: set[str] = set()
        self.os_spawned = False
        self.preloaded: set[str] = set()
        self.tracing = self.started = False
        self._trace = self._make_tracer()
        self._wrap_os_spawners()

    # tracing -----------------------------------------------------------------------------------

    def _make_tracer(self):
        state = self
        imports = self.import_codes

        def on_module_event(frame, event, arg):
            if event == "return":
                state.module_depth -= 1
            return on_module_event

        def trace(frame, event, arg):
            code = frame.f_code
            current = state.current
            if current is None or state.module_depth:
                imports.add(code)
            else:
                current.add(code)
            if code.co_name == "<module>" and not code.co_filename.startswith("<"):
                state.module_depth += 1
                frame.f_trace_lines = False
                return on_module_event
            return None

        return trace

    def start(self) -> None:
        self.tracing = self.started = True
        sys.settrace(self._trace)
        threading.settrace(self._trace)

    def stop(self) -> None:
        self.tracing = False
        if sys.gettrace() is self._trace:
            sys.settrace(None)
        threading.settrace(None)  # type: ignore[arg-type]

    def _wrap_os_spawners(self) -> None:
        """os.system, os.fork and posix_spawn are C functions the tracer cannot see: note their use."""
        for name in ("system", "fork", "forkpty", "posix_spawn", "posix_spawnp"):
            original = getattr(os, name, None)
            if original is None or getattr(original, "_verdict_wrapped", False):
                continue

            def wrapper(*args, _original=original, **kwargs):
                self.os_spawned = True
                return _original(*args, **kwargs)

            wrapper._verdict_wrapped = True  # type: ignore[attr-defined]
            setattr(os, name, wrapper)

    def note_preloaded(self, modules: list[Any]) -> None:
        """Repository modules imported before tracing began: what ran at their import is unknown."""
        for module in modules:
            key = self._key(getattr(module, "__file__", None) or "<none>")
            if key is not None:
                self.preloaded.add(key)

    def _key(self, filename: str) -> str | None:
        key = self.keys.get(filename, "")
        if key != "":
            return key
        result = None
        if not filename.startswith("<"):
            path = os.path.realpath(filename)
            if path.startswith(self.root + os.sep):
                rel = os.path.relpath(path, self.root).replace(os.sep, "/")
                if not any(part in EXCLUDED_PARTS for part in rel.split("/")):
                    result = rel
        self.keys[filename] = result
        return result

    def _functions(self, codes: set[Any]) -> set[int]:
        """The ids of the repository's functions among `codes`."""
        found = set()
        for code in codes:
            key = self._key(code.co_filename)
            if key is not None:
                found.add(self.functions.setdefault((key, code.co_firstlineno), len(self.functions)))
        return found

    # pytest hooks ------------------------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items) -> None:
        for item in items:
            self.collected.setdefault(self._file_of(item), set()).add(item.nodeid)

    def pytest_deselected(self, items) -> None:
        for item in items:
            self.partial.add(self._file_of(item))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef, request):
        outer = self.current
        self.current = set()
        try:
            yield
        finally:
            codes, self.current = self.current, outer
            functions = self._functions(codes)
            self.fixture_runs.setdefault(id(fixturedef), set()).update(functions)
            if outer is not None:
                outer.update(codes)  # request.getfixturevalue() inside a test: that test ran it too
            if self.spawn & codes:
                self.spawning_fixtures.add(id(fixturedef))

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_protocol(self, item, nextitem):
        index = self._index(item)
        self.ran.add(item.nodeid)
        if self.tracing and sys.gettrace() is None:
            sys.settrace(self._trace)  # an earlier test switched tracing off; never displace another tracer
        self.os_spawned = False
        self.current = codes = set()
        try:
            yield
        finally:
            self.current = None
            if self.tracing and sys.gettrace() is not self._trace:
                self.untracked.add(index)  # a coverage tool or debugger traced instead: this test is not seen
            fixtures = self._fixture_ids(item)
            if self.os_spawned or self.spawn & codes or fixtures & self.spawning_fixtures:
                self.spawners.add(index)
            ran = self._functions(codes).union(self.runs.get(index, ()))
            self.runs[index] = array("I", sorted(ran))
            self.item_fixtures.setdefault(index, set()).update(fixtures)

    def pytest_runtest_logreport(self, report) -> None:
        node = self.node_names.get(report.nodeid, report.nodeid)
        previous = self.outcomes.get(node)
        outcome = "error" if report.failed and report.when != "call" else report.outcome
        if getattr(report, "wasxfail", None) is not None:
            outcome = "xfailed" if report.skipped else "xpassed"
        if previous in FAILED_OUTCOMES:
            return
        if report.when == "call" or outcome in FAILED_OUTCOMES or previous is None:
            self.outcomes[node] = outcome

    def pytest_collectreport(self, report) -> None:
        if report.failed:
            path = str(getattr(report, "fspath", "") or report.nodeid.split("::")[0])
            self.collect_errors.add(self._relative(path))

    def pytest_sessionfinish(self, session) -> None:
        self.stop()
        try:
            self.write()
        except OSError as exc:
            sys.stderr.write(f"verdict: could not write the impact data to {self.out}: {exc}\n")

    # the report --------------------------------------------------------------------------------

    def _relative(self, path: str) -> str:
        full = os.path.realpath(os.path.join(self.root, path))
        return os.path.relpath(full, self.root).replace(os.sep, "/")

    def _file_of(self, item) -> str:
        return self._relative(str(item.path if hasattr(item, "path") else item.fspath))

    def _index(self, item) -> int:
        file = self._file_of(item)
        if "::" not in item.nodeid:
            self.partial.add(file)  # an item no `file::name` selector can name (a text file's doctest)
        name = item.nodeid.split("::", 1)[1] if "::" in item.nodeid else item.name
        self.node_names[item.nodeid] = f"{file}::{name}"
        key = (file, name.split("[", 1)[0])
        return self.tests.setdefault(key, len(self.tests))

    @staticmethod
    def _fixture_ids(item) -> set[int]:
        info = getattr(item, "_fixtureinfo", None)
        defs = getattr(info, "name2fixturedefs", None) or {}
        return {id(fixturedef) for chain in defs.values() for fixturedef in chain}

    def report(self) -> dict[str, Any]:
        at_import = self._functions(self.import_codes)
        keys = sorted(self.functions, key=self.functions.__getitem__)  # function id → (file, first line)
        executed: dict[str, dict[str, list[int]]] = {}
        for index, ran in self.runs.items():
            ids = set(ran).union(*(self.fixture_runs.get(f, ()) for f in self.item_fixtures.get(index, ())))
            for function in ids:
                path, line = keys[function]
                executed.setdefault(path, {}).setdefault(str(line), []).append(index)
        import_time: dict[str, list[int]] = {}
        for function in at_import:
            path, line = keys[function]
            import_time.setdefault(path, []).append(line)
        unfinished = {file for file, nodes in self.collected.items() if not nodes <= self.ran}  # -x, Ctrl-C
        partial = self.partial | unfinished
        return {
            "format": FORMAT,
            "traced": self.started,
            "python": ".".join(map(str, sys.version_info[:3])),
            "pytest": pytest.__version__,
            "tests": [[file, name] for (file, name), _ in sorted(self.tests.items(), key=lambda kv: kv[1])],
            "items": {file: len(nodes) for file, nodes in sorted(self.collected.items())},
            "partial": sorted(partial),
            "executed": {p: {k: sorted(v) for k, v in sorted(lines.items())} for p, lines in sorted(executed.items())},
            "import_time": {p: sorted(lines) for p, lines in sorted(import_time.items())},
            "spawners": sorted(self.spawners),
            "untracked": sorted(self.untracked),
            "outcomes": dict(sorted(self.outcomes.items())),
            "collect_errors": sorted(self.collect_errors),
            "preloaded": sorted(self.preloaded),
        }

    def write(self) -> None:
        data = json.dumps(self.report(), separators=(",", ":"))
        tmp = f"{self.out}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(data)
        os.replace(tmp, self.out)


def _start_recording() -> ImpactRecorder | None:
    """Start tracing as soon as pytest imports this plugin (`-p` plugins come before conftest.py files
    and entry-point plugins), so what they import is seen running at import time."""
    out = os.environ.get(OUTPUT_ENV)
    if not out:
        return None
    root = os.getcwd()
    recorder = ImpactRecorder(root, os.path.join(root, out))
    recorder.note_preloaded(list(sys.modules.values()))
    if os.environ.get(TRACE_ENV, "1") != "0":
        recorder.start()
    return recorder


RECORDER = _start_recording()


def pytest_configure(config) -> None:
    if RECORDER is None or config.pluginmanager.is_registered(RECORDER):
        return
    if getattr(config, "workerinput", None) is not None:
        RECORDER.stop()  # an xdist worker: its tests are not seen whole here
        return
    config.pluginmanager.register(RECORDER, "verdict-impact-recorder")
