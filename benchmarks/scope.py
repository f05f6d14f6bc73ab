"""Scope evaluation: does test selection catch real failures, how much does it run, and how fast is it?

On pinned releases of real Python and JavaScript projects fetched from PyPI and npm (see
`scope_eval/projects.py`), each made a git repository, the benchmark commits mutants (one flipped
comparison or integer constant plus one per commit), runs the full suite on each to learn exactly
which tests fail, and asks scope which tests to run for that commit. It reports per project the
mutations tried and kept (at least one test newly failing), how many scope caught (every failing
test file selected), the median share of test files selected, and cold and warm selection time;
then the same timings on a generated 1,000-module repository, and the issue's targets.

    benchmarks/scope            # full: up to 15 mutants per project, ~10 minutes
    benchmarks/scope --quick    # up to 3 mutants per project, ~2-3 minutes

Exit status 0 whenever it ran (a missed target is printed, not an error), 2 when it could not.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a file: `scope` here would shadow Verdict's scope package
    sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]

from benchmarks.scope_eval.evaluate import ProjectResult, evaluate  # noqa: E402
from benchmarks.scope_eval.projects import PROJECTS, checkout, python_env  # noqa: E402
from benchmarks.scope_eval.synthetic import SyntheticResult, run_synthetic  # noqa: E402

TARGET_SHARE = 0.25
TARGET_WARM = 1.0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks/scope", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 mutants and 25 s of mutant runs per project")
    parser.add_argument("--mutations", type=int, help="mutants tried per project at most (default 15, quick 3)")
    parser.add_argument("--budget", type=float,
                        help="seconds of mutant runs per project (default 150, quick 25); one mutant always runs")
    parser.add_argument("--projects", help="comma-separated subset, e.g. boltons,qs")
    parser.add_argument("--keep", action="store_true", help="keep the temporary repositories and print where")
    args = parser.parse_args(argv)
    args.mutations = max(1, min(args.mutations or (3 if args.quick else 15), 100))
    args.budget = max(5.0, min(args.budget or (25.0 if args.quick else 150.0), 1800.0))
    return args


def commit_label() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True,
                               timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return sha + (" (+ uncommitted changes)" if dirty else "")


def log(message: str) -> None:
    print(message, flush=True)


def fmt(value: float | None, pattern: str) -> str:
    return "-" if value is None else format(value, pattern)


def table(results: list[ProjectResult], synthetic: SyntheticResult | None) -> list[str]:
    head = (f"{'project':<16} {'language':<8} {'modules':>7} {'files':>5} {'tests':>5} {'tried/kept':>10} "
            f"{'caught':>6} {'graph':>6} {'%sel':>5} {'graph':>6} {'cold s':>7} {'warm s':>7}")
    rows = [head, "-" * len(head)]
    for r in results:
        impact, graph = r.median_share("impact"), r.median_share("graph")
        caught, caught_graph = f"{r.caught('impact')}/{r.kept}", f"{r.caught('graph')}/{r.kept}"
        rows.append(f"{r.name:<16} {r.language:<8} {r.modules:>7} {r.test_files:>5} {r.test_items:>5} "
                    f"{f'{r.tried}/{r.kept}':>10} {caught:>6} {caught_graph:>6} "
                    f"{fmt(None if impact is None else 100 * impact, '.0f'):>5} "
                    f"{fmt(None if graph is None else 100 * graph, '.0f'):>6} "
                    f"{fmt(r.median('cold'), '.3f'):>7} {fmt(r.median('warm'), '.3f'):>7}")
    if synthetic:
        share = 100 * synthetic.selected / max(synthetic.test_files, 1)
        narrowed = share if synthetic.impact_selected is None else \
            100 * synthetic.impact_selected / max(synthetic.test_files, 1)
        cold, warm = synthetic.impact_cold or synthetic.cold, synthetic.impact_warm or synthetic.warm
        rows.append(f"{'synthetic':<16} {'python':<8} {synthetic.modules:>7} {synthetic.test_files:>5} "
                    f"{synthetic.test_files:>5} {'1 change':>10} {'-':>6} {'-':>6} {narrowed:>5.0f} {share:>6.0f} "
                    f"{statistics.median(cold):>7.3f} {statistics.median(warm):>7.3f}")
    return rows


def targets(results: list[ProjectResult], synthetic: SyntheticResult | None) -> list[str]:
    outcomes = [o for r in results for o in r.outcomes]
    caught = sum(o.views["impact"].caught for o in outcomes)
    lines = []
    verdict = "PASS" if outcomes and caught == len(outcomes) else "FAIL" if outcomes else "n/a"
    lines.append(f"{verdict}  every failing mutation caught: {caught} of {len(outcomes)}")
    if outcomes:
        medians = {r.name: m for r in results if (m := r.median_share("impact")) is not None}
        over = [name for name, m in medians.items() if m > TARGET_SHARE]
        pooled = statistics.median(o.views["impact"].share for o in outcomes)
        graph = statistics.median(o.views["graph"].share for o in outcomes)
        verdict = "PASS" if pooled <= TARGET_SHARE else "FAIL"
        extra = (f"; projects whose own median is over 25%: {', '.join(f'{n} {100 * medians[n]:.0f}%' for n in over)}"
                 if over else "; every project's own median is within it too")
        lines.append(f"{verdict}  median selection <= 25% of tests: {100 * pooled:.0f}% over all {len(outcomes)} "
                     f"kept mutations (import graph alone: {100 * graph:.0f}%){extra}")
    else:
        lines.append("n/a   median selection <= 25% of tests: no kept mutations")
    if synthetic:
        for label, cold, warm in (("", synthetic.cold, synthetic.warm),
                                  (" with impact data", synthetic.impact_cold, synthetic.impact_warm)):
            if warm:
                median = statistics.median(warm)
                lines.append(f"{'PASS' if median < TARGET_WARM else 'FAIL'}  warm selection < 1 s on a 1,000-module "
                             f"repository{label}: {median:.3f} s (median of {len(warm)}; cold "
                             f"{statistics.median(cold):.3f} s)")
    return lines


def misses(results: list[ProjectResult]) -> list[str]:
    lines = []
    for r in results:
        for o in r.outcomes:
            for name, view in o.views.items():
                if not view.caught:
                    lines.append(f"  {r.name} ({name}): {o.mutation.label}")
                    lines.append(f"    failing, not selected: {', '.join(view.missed[:10])}")
                    lines.append(f"    scope said: {view.reason}")
    return lines


def recording(results: list[ProjectResult]) -> list[str]:
    return [f"  {r.name}: base suite {r.base_seconds:.1f} s, recording impact {r.traced_seconds:.1f} s "
            f"({r.traced_seconds / r.base_seconds:.1f}x)" for r in results if r.traced_seconds and r.base_seconds]


def run(args: argparse.Namespace, workdir: Path) -> tuple[list[ProjectResult], SyntheticResult]:
    chosen = [p for p in PROJECTS if not args.projects or p.name in args.projects.split(",")]
    if not chosen:
        raise SystemExit(f"benchmarks/scope: no project named in {args.projects!r}")
    python = python_env(list(PROJECTS))  # one virtualenv for every Python suite, the synthetic one too
    results = []
    for project in chosen:
        log(f"{project.name} {project.version} ({project.language}): {project.why}")
        co = checkout(project, workdir, python)
        results.append(evaluate(co, args.mutations, args.budget, log))
        if results[-1].stopped_early:
            log(f"  stopped: {results[-1].stopped_early}")
    log("synthetic: 1,000 modules, 300 test files, one module changed")
    synthetic = run_synthetic(workdir, repeats=3 if args.quick else 5, python=python)
    return results, synthetic


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    log(f"Verdict scope evaluation   commit {commit_label()}   cores {os.cpu_count()}   "
        f"load average {os.getloadavg()[0]:.2f}")
    log(f"up to {args.mutations} mutants and {args.budget:.0f} s of mutant runs per project"
        f"{' (--quick)' if args.quick else ''}")
    workdir = Path(tempfile.mkdtemp(prefix="verdict-bench-scope-"))
    try:
        results, synthetic = run(args, workdir)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
            return 2
        raise
    finally:
        if args.keep:
            log(f"repositories kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    log("")
    for line in table(results, synthetic):
        log(line)
    log("(files, tests: test files and test items of the base run (JS: files); tried/kept: mutants run / "
        "mutants that made a passing test fail; caught: kept mutants whose every failing test was selected, "
        "with impact data and with the import graph alone (graph); %sel: median share of tests selected with "
        "impact data, graph: without; cold s, warm s: median selection time with impact data)")
    unusable = [f"{r.name} {r.unusable}" for r in results if r.unusable]
    if unusable:
        log(f"mutant runs that timed out or crashed the runner (not counted): {', '.join(unusable)}")
    cost = recording(results)
    if cost:
        log("cost of recording impact data (the base run traced, once per base commit):")
        for line in cost:
            log(line)
    log("")
    for line in targets(results, synthetic):
        log(line)
    missed = misses(results)
    if missed:
        log("")
        log("missed mutations (a failing test that scope did not select):")
        for line in missed:
            log(line)
    log(f"\ntotal time {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
