"""One project's evaluation: the base run, each mutant's full run, and scope's selection for it.

A mutation is kept when its full run fails a test that passed on the base commit. Each kept
mutation is judged twice: with the import graph alone ("graph") and with the impact data the
base run recorded ("impact", Python projects; JavaScript has none, so both views agree). A view
catches the mutation when every newly failing test is selected: for Python, its test function
(node id without parameters) or its whole file; a file that fails to import needs its file
selected; for JavaScript, the failing test file. Its share is what would run: selected test items
over all items of the base run for Python (a whole file counts all its items), selected test
files over all test files for JavaScript; a full run counts 100%. Selection time (the impact view,
loading the impact data included) is `changed_files` plus `select_tests`, measured twice per kept
mutation: cold with a new, empty cache folder, then warm with that same folder.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.scope_eval.mutate import Mutation, draw, modules
from benchmarks.scope_eval.projects import Checkout, commit_mutant, reset_to_base
from benchmarks.scope_eval.suites import SuiteRun, run_suite, test_files
from scope import ImpactMap, Selection, changed_files, select_tests

VIEWS = ("graph", "impact")


@dataclass
class Inventory:
    """The base run's tests: items per file and per test function (Python), or just the files (JS)."""

    files: dict[str, int]  # test file → items
    functions: dict[str, int] = field(default_factory=dict)  # "file::name" → items (Python)

    @property
    def total(self) -> int:
        return sum(self.files.values())

    @classmethod
    def of(cls, base: SuiteRun, js_files: list[str]) -> Inventory:
        if base.record is None:
            return cls(dict.fromkeys(js_files, 1))
        functions: dict[str, int] = {}
        for node in base.record["outcomes"]:
            key = node.split("[", 1)[0]
            functions[key] = functions.get(key, 0) + 1
        return cls(dict(base.record["items"]), functions)


@dataclass
class View:
    """One selection of a kept mutant judged against what really failed."""

    caught: bool
    share: float
    missed: list[str]
    reason: str


def judge(selection: Selection, failing: set[str], inventory: Inventory) -> View:
    """`failing`: Python "file::name" keys (or "file::(collection)"), or JavaScript test files."""
    if selection.runs_everything:
        return View(True, 1.0, [], selection.reason)
    whole = {s.file for s in selection.selected if not s.tests}
    nodes = {t for s in selection.selected for t in s.tests}
    any_of = {s.file for s in selection.selected}
    missed = []
    for key in sorted(failing):
        file, _, name = key.partition("::")
        if not (file in whole or key in nodes or (name in ("(collection)", "(file)") and file in any_of)):
            missed.append(key)
    chosen = sum(inventory.files.get(f, 1) for f in whole)
    chosen += sum(inventory.functions.get(n, 1) for n in nodes if n.split("::", 1)[0] not in whole)
    return View(not missed, min(1.0, chosen / max(inventory.total, 1)), missed, selection.reason)


@dataclass
class Outcome:
    """One kept mutation: what failed, each view's judgement, and how long selection took."""

    mutation: Mutation
    failing: set[str]
    views: dict[str, View]
    cold: float
    warm: float


@dataclass
class ProjectResult:
    name: str
    language: str
    modules: int = 0
    test_files: int = 0
    test_items: int = 0
    tried: int = 0
    unusable: int = 0  # mutant runs that timed out or crashed the runner
    base_failing: int = 0
    base_seconds: float = 0.0
    traced_seconds: float = 0.0  # the base run with impact recording (Python)
    outcomes: list[Outcome] = field(default_factory=list)
    stopped_early: str = ""

    @property
    def kept(self) -> int:
        return len(self.outcomes)

    def caught(self, view: str) -> int:
        return sum(o.views[view].caught for o in self.outcomes)

    def median_share(self, view: str) -> float | None:
        values = [o.views[view].share for o in self.outcomes]
        return statistics.median(values) if values else None

    def median(self, attr: str) -> float | None:
        values = [getattr(o, attr) for o in self.outcomes]
        return statistics.median(values) if values else None


def timed_selection(root: Path, base: str, head: str, cache_dir: Path,
                    impact: bytes | None = None) -> tuple[float, Selection]:
    started = time.perf_counter()
    record = ImpactMap.load(impact, base) if impact is not None else None
    selection = select_tests(root, changed_files(root, base, head=head), cache_dir=cache_dir, impact=record)
    return time.perf_counter() - started, selection


def select_for(co: Checkout, head: str, impact: bytes | None = None) -> tuple[float, float, Selection]:
    """Cold and warm selection time for base..head, and the (warm) selection."""
    with tempfile.TemporaryDirectory(prefix="verdict-bench-scope-cache-") as tmp:
        cold, _ = timed_selection(co.root, co.base, head, Path(tmp), impact)
        warm, selection = timed_selection(co.root, co.base, head, Path(tmp), impact)
    return cold, warm, selection


def evaluate(co: Checkout, count: int, budget: float, log: Callable[[str], None]) -> ProjectResult:
    """Base run, then up to `count` mutants while `budget` seconds of mutant runs last."""
    project = co.project
    result = ProjectResult(project.name, project.language)
    files = modules(co.root, project.package, project.language, project.tests)
    result.modules = len(files)
    base = run_suite(co, time_limit=600)
    traced = run_suite(co, time_limit=600, trace=True)
    if not base.usable or not traced.usable:
        result.stopped_early = f"the base run is unusable ({base.note or traced.note})"
        return result
    result.base_failing, result.base_seconds = len(base.failed), base.seconds
    result.traced_seconds = traced.seconds
    inventory = Inventory.of(traced if project.language == "python" else base,
                             test_files(co) if project.language == "js" else [])
    result.test_items = inventory.total
    impact = ImpactMap.load(traced.record, co.base).to_bytes() if traced.record else None
    log(f"  {project.name}: base suite {base.seconds:.1f} s ({result.traced_seconds:.1f} s recording impact), "
        f"{len(base.failed)} already failing; {len(files)} modules, {inventory.total} tests")
    limit = max(30.0, 3 * base.seconds + 10)
    started = time.monotonic()
    for mutation, text in draw(co.root, files, project.language, count, seed=project.name):
        if result.tried and time.monotonic() - started + base.seconds > budget:
            result.stopped_early = f"time budget of {budget:.0f} s reached"
            break
        result.tried += 1
        outcome = _try(co, mutation, text, base, limit, inventory, impact)
        if outcome is None:
            log(f"    {mutation.label}: no test failed (not kept)")
            continue
        if isinstance(outcome, str):
            result.unusable += 1
            log(f"    {mutation.label}: {outcome}")
            continue
        result.outcomes.append(outcome)
        marks = [f"{v} {o.share:.0%} " + ("caught" if o.caught else "MISSED " + ", ".join(o.missed[:3]))
                 for v, o in outcome.views.items()]
        log(f"    {mutation.label}: {len(outcome.failing)} failing; " + "; ".join(marks))
    _, _, selection = select_for(co, co.base)
    result.test_files = selection.total_test_files
    return result


def _failing(run: SuiteRun, base: SuiteRun) -> set[str]:
    if run.record is None:
        return run.files(run.failed - base.failed)
    return run.failed_nodes - base.failed_nodes


def _try(co: Checkout, mutation: Mutation, text: str, base: SuiteRun, limit: float, inventory: Inventory,
         impact: bytes | None) -> Outcome | str | None:
    """The outcome of one mutant; None when no test fails, a note when the run was unusable."""
    head = commit_mutant(co, mutation.path, text, mutation.label)
    try:
        run = run_suite(co, limit)
    finally:
        reset_to_base(co)
    if not run.usable:
        return run.note
    failing = _failing(run, base)
    if not failing:
        return None
    _, _, graph = select_for(co, head)
    cold, warm, narrowed = select_for(co, head, impact) if impact is not None else (*select_for(co, head)[:2], graph)
    views = {"graph": judge(graph, failing, inventory), "impact": judge(narrowed, failing, inventory)}
    return Outcome(mutation, failing, views, cold, warm)
