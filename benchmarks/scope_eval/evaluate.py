"""One project's evaluation: the base run, each mutant's full run, and scope's selection for it.

A mutation is kept when its full run fails a test that passed on the base commit. It is caught
when every test file holding such a failure is in the selection (or the selection runs
everything). Selection time is `changed_files` plus `select_tests`, measured twice per kept
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
from benchmarks.scope_eval.suites import SuiteRun, run_suite
from scope import Selection, changed_files, select_tests


@dataclass
class Outcome:
    """One kept mutation: what failed, what scope selected, and how long selection took."""

    mutation: Mutation
    failing_files: set[str]
    selected_files: set[str]
    runs_everything: bool
    total_test_files: int
    cold: float
    warm: float
    reason: str

    @property
    def caught(self) -> bool:
        return self.runs_everything or self.failing_files <= self.selected_files

    @property
    def share(self) -> float:
        if self.runs_everything or not self.total_test_files:
            return 1.0
        return len(self.selected_files) / self.total_test_files


@dataclass
class ProjectResult:
    name: str
    language: str
    modules: int = 0
    test_files: int = 0
    tried: int = 0
    unusable: int = 0  # mutant runs that timed out or crashed the runner
    base_failing: int = 0
    base_seconds: float = 0.0
    outcomes: list[Outcome] = field(default_factory=list)
    stopped_early: str = ""

    @property
    def kept(self) -> int:
        return len(self.outcomes)

    @property
    def caught(self) -> int:
        return sum(o.caught for o in self.outcomes)

    def median(self, attr: str) -> float | None:
        values = [getattr(o, attr) for o in self.outcomes]
        return statistics.median(values) if values else None


def timed_selection(root: Path, base: str, head: str, cache_dir: Path) -> tuple[float, Selection]:
    started = time.perf_counter()
    selection = select_tests(root, changed_files(root, base, head=head), cache_dir=cache_dir)
    return time.perf_counter() - started, selection


def select_for(co: Checkout, head: str) -> tuple[float, float, Selection]:
    """Cold and warm selection time for base..head, and the (warm) selection."""
    with tempfile.TemporaryDirectory(prefix="verdict-bench-scope-cache-") as tmp:
        cold, _ = timed_selection(co.root, co.base, head, Path(tmp))
        warm, selection = timed_selection(co.root, co.base, head, Path(tmp))
    return cold, warm, selection


def evaluate(co: Checkout, count: int, budget: float, log: Callable[[str], None]) -> ProjectResult:
    """Base run, then up to `count` mutants while `budget` seconds of mutant runs last."""
    project = co.project
    result = ProjectResult(project.name, project.language)
    files = modules(co.root, project.package, project.language, project.tests)
    result.modules = len(files)
    base = run_suite(co, time_limit=600)
    if not base.usable:
        result.stopped_early = f"the base run is unusable ({base.note})"
        return result
    result.base_failing, result.base_seconds = len(base.failed), base.seconds
    log(f"  {project.name}: base suite {base.seconds:.1f} s, {len(base.failed)} already failing; "
        f"{len(files)} modules")
    limit = max(30.0, 3 * base.seconds + 10)
    started = time.monotonic()
    for mutation, text in draw(co.root, files, project.language, count, seed=project.name):
        if result.tried and time.monotonic() - started + base.seconds > budget:
            result.stopped_early = f"time budget of {budget:.0f} s reached"
            break
        result.tried += 1
        outcome = _try(co, mutation, text, base, limit)
        if outcome is None:
            log(f"    {mutation.label}: no test failed (not kept)")
            continue
        if isinstance(outcome, str):
            result.unusable += 1
            log(f"    {mutation.label}: {outcome}")
            continue
        result.outcomes.append(outcome)
        result.test_files = outcome.total_test_files
        mark = "caught" if outcome.caught else "MISSED " + ", ".join(sorted(outcome.failing_files
                                                                           - outcome.selected_files))
        log(f"    {mutation.label}: {len(outcome.failing_files)} failing file(s), "
            f"{outcome.share:.0%} selected, {mark}")
    if not result.test_files:
        _, _, selection = select_for(co, co.base)
        result.test_files = selection.total_test_files
    return result


def _try(co: Checkout, mutation: Mutation, text: str, base: SuiteRun, limit: float) -> Outcome | str | None:
    """The outcome of one mutant; None when no test fails, a note when the run was unusable."""
    head = commit_mutant(co, mutation.path, text, mutation.label)
    try:
        run = run_suite(co, limit)
    finally:
        reset_to_base(co)
    if not run.usable:
        return run.note
    new = run.failed - base.failed
    if not new:
        return None
    cold, warm, selection = select_for(co, head)
    return Outcome(mutation, run.files(new), {s.file for s in selection.selected}, selection.runs_everything,
                   selection.total_test_files, cold, warm, selection.reason)
