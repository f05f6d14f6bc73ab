"""What each sandbox costs over running the same suite directly on the host, and QEMU's boot.

One run generates a 200-test pytest suite and a 200-test Jest suite (the jest example's
package.json and lock file, node_modules from the dependency cache) in a temporary directory,
then runs each suite `--repeat` times on the host (`sys.executable -m pytest`, `npx jest`, the
runners' own arguments), in the process runner and in the docker runner, alternating, each run
on a fresh copy, and reports medians. The overhead is a runner's median minus the host's,
measured in the same run. The first docker run of each suite is timed apart ("first container"):
the image is already built (a build is minutes and is not measured). QEMU is timed from the
call to run() until the first KTAP result line of examples/ktap-selftest on the console.
Run it as `benchmarks/runners --help`; timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runners.deps import DependencyCache  # noqa: E402
from runners.discover import JAVASCRIPT, PYTEST  # noqa: E402
from runners.reports import parse_report  # noqa: E402
from runners.result import RunResult, RunSpec, TestStatus  # noqa: E402

TESTS = 200
FILES = 10
KTAP_RESULT = re.compile(r"^\s*(not )?ok \d+")
TARGETS = {"process": 0.1, "docker": 1.0, "qemu": 6.0}  # seconds: overhead, overhead, boot to first test


@dataclass
class Timing:
    seconds: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")


def pytest_suite(root: Path) -> Path:
    (root / "tests").mkdir(parents=True)
    (root / "conftest.py").write_text("")
    for number in range(FILES):
        body = "".join(f"def test_case_{number}_{case}():\n    assert {case} + 1 == {case + 1}\n\n\n"
                       for case in range(TESTS // FILES))
        (root / "tests" / f"test_generated_{number}.py").write_text(body)
    return root


def jest_suite(root: Path) -> Path:
    example = ROOT / "examples" / "jest-calculator"
    (root / "test").mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(example / name, root / name)
    for number in range(FILES):
        body = "".join(f"test('case {number}.{case}', () => {{ expect({case} + 1).toBe({case + 1}); }});\n"
                       for case in range(TESTS // FILES))
        (root / "test" / f"generated{number}.test.js").write_text(body)
    return root


def fresh_copy(suite: Path, scratch: Path, label: str) -> Path:
    target = Path(tempfile.mkdtemp(prefix=f"{label}-", dir=scratch)) / "repo"
    return shutil.copytree(suite, target, symlinks=True, ignore=shutil.ignore_patterns("node_modules"))


def check_counts(tests: list, label: str, timing: Timing) -> None:
    passed = sum(1 for t in tests if t.status == TestStatus.PASSED)
    if passed != TESTS and f"{label}: {passed} passed" not in timing.problems:
        timing.problems.append(f"{label}: {passed} passed of {TESTS}")


def host_run(framework: str, workspace: Path, node_modules: Path | None, timing: Timing) -> None:
    plan = PYTEST if framework == "pytest" else JAVASCRIPT["jest"]
    command = [sys.executable, *plan.command[1:]] if framework == "pytest" else plan.command
    (workspace / ".verdict").mkdir(exist_ok=True)
    if node_modules is not None:
        (workspace / "node_modules").symlink_to(node_modules)
    started = time.monotonic()
    subprocess.run(command, cwd=workspace, capture_output=True, timeout=300)
    cases, _error = parse_report(plan.report_format, workspace / plan.report_file, workspace, str(workspace))
    timing.seconds.append(time.monotonic() - started)
    check_counts(cases, "host", timing)


def runner_run(runner, framework: str, workspace: Path, timing: Timing) -> None:
    plan = PYTEST if framework == "pytest" else JAVASCRIPT["jest"]
    started = time.monotonic()
    # every core, as on the host: the default one-core quota would measure the limit, not the sandbox
    result: RunResult = runner.run(plan.spec(workspace, timeout=300, cpus=float(os.cpu_count() or 1)))
    timing.seconds.append(time.monotonic() - started)
    if result.resources is not None:
        timing.peak_mb.append(result.resources.peak_memory_mb)
    if result.error:
        timing.problems.append(f"{runner.name}: {result.error[:100]}")
    check_counts(result.tests, runner.name, timing)


def qemu_boot(repeat: int, scratch: Path) -> Timing | str:
    from runners.errors import RunnerError
    from runners.qemu import QemuRunner

    timing = Timing()
    for _ in range(repeat):
        workspace = shutil.copytree(ROOT / "examples" / "ktap-selftest", fresh_copy_dir(scratch, "qemu"))
        first: list[float] = []

        def seen(_stream: str, line: str, first: list[float] = first) -> None:
            if not first and KTAP_RESULT.match(line):
                first.append(time.monotonic())

        started = time.monotonic()
        try:
            result = QemuRunner(memory_mb=256).run(RunSpec(workspace=workspace, command=["sh", "tests/run.sh"],
                                                           timeout=120, on_output=seen))
        except RunnerError as exc:
            return f"skipped: {exc}"
        if not first:
            timing.problems.append(f"qemu: no KTAP result line ({result.error})")
            continue
        timing.seconds.append(first[0] - started)
        if result.resources is not None:
            timing.peak_mb.append(result.resources.peak_memory_mb)
    return timing


def fresh_copy_dir(scratch: Path, label: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"{label}-", dir=scratch)) / "repo"


def measure_suite(framework: str, suite: Path, runners: dict[str, object], repeat: int, scratch: Path,
                  node_modules: Path | None, deadline: float) -> dict[str, Timing]:
    timings = {"host": Timing(), **{name: Timing() for name in runners}}
    if "docker" in runners:  # the first container of this suite, image cached
        timings["docker first"] = Timing()
        runner_run(runners["docker"], framework, fresh_copy(suite, scratch, "docker"), timings["docker first"])
    for name, runner in runners.items():  # warm-up: caches, imports, the page cache
        if name != "docker":
            runner_run(runner, framework, fresh_copy(suite, scratch, name), Timing())
    host_run(framework, fresh_copy(suite, scratch, "host"), node_modules, Timing())
    for round_number in range(repeat):
        if time.monotonic() > deadline and round_number >= 2:
            print(f"  {framework}: time limit reached after {round_number} rounds", flush=True)
            break
        host_run(framework, fresh_copy(suite, scratch, "host"), node_modules, timings["host"])
        for name, runner in runners.items():
            runner_run(runner, framework, fresh_copy(suite, scratch, name), timings[name])
    return timings


def verdict(value: float, target: float) -> str:
    return "PASS" if value <= target else "FAIL"


def report(results: dict[str, dict[str, Timing]], qemu: Timing | str | None) -> list[str]:
    lines = [f"{'suite':<8} {'where':<14} {'runs':>4} {'median s':>9} {'min s':>7} {'max s':>7} "
             f"{'overhead s':>10} {'(of mins)':>9} {'peak MB':>8}  target"]
    notes: list[str] = []
    for framework, timings in results.items():
        host = timings["host"].median
        host_min = min(timings["host"].seconds, default=float("nan"))
        for name, timing in timings.items():
            if not timing.seconds:
                continue
            overhead = timing.median - host if name != "host" else 0.0
            kind = name.split()[0]
            target = ""
            if name in TARGETS:
                target = f"{verdict(overhead, TARGETS[name])} (<= {TARGETS[name]:g} s overhead)"
            elif name == "docker first":
                target = "(not a target: first container of the suite)"
            peak = f"{statistics.median(timing.peak_mb):8.0f}" if timing.peak_mb else f"{'-':>8}"
            lines.append(f"{framework:<8} {name:<14} {len(timing.seconds):>4} {timing.median:>9.3f} "
                         f"{min(timing.seconds):>7.3f} {max(timing.seconds):>7.3f} "
                         f"{(f'{overhead:+.3f}' if kind != 'host' else '-'):>10} "
                         f"{(f'{min(timing.seconds) - host_min:+.3f}' if kind != 'host' else '-'):>9} {peak}  {target}")
            notes += [f"{framework}: {problem}" for problem in timing.problems]
    if isinstance(qemu, Timing) and qemu.seconds:
        peak = f"{statistics.median(qemu.peak_mb):8.0f}" if qemu.peak_mb else f"{'-':>8}"
        lines.append(f"{'ktap':<8} {'qemu boot':<14} {len(qemu.seconds):>4} {qemu.median:>9.3f} "
                     f"{min(qemu.seconds):>7.3f} {max(qemu.seconds):>7.3f} {'-':>10} {'-':>9} {peak}  "
                     f"{verdict(qemu.median, TARGETS['qemu'])} (<= {TARGETS['qemu']:g} s to the first KTAP result)")
        notes += [f"ktap: {problem}" for problem in qemu.problems]
    elif isinstance(qemu, str):
        notes.append(f"qemu: {qemu}")
    lines += [f"note: {note}" for note in dict.fromkeys(notes)]
    return lines


def commit() -> str:
    def git(*arguments: str) -> str:
        done = subprocess.run(["git", "-C", str(ROOT), *arguments], capture_output=True, text=True, timeout=10)
        return done.stdout.strip() if done.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + (" (+ uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/runners", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="measured runs per suite and place (default 5)")
    parser.add_argument("--qemu-repeat", type=int, default=3, help="QEMU boots to time (default 3)")
    parser.add_argument("--only", default="pytest,jest,qemu", help="comma-separated: pytest, jest, qemu")
    parser.add_argument("--runners", default="process,docker", help="comma-separated: process, docker")
    parser.add_argument("--time-limit", type=float, default=150.0,
                        help="seconds after which no new round starts (at least 2 rounds run; default 150)")
    parser.add_argument("--cache-dir", default=None, help="dependency cache (default: the runners' own)")
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    deadline = time.monotonic() + args.time_limit
    print(f"Verdict sandbox overhead benchmark   commit {commit()}   cores {os.cpu_count()}   "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"{TESTS} generated tests per suite in {FILES} files; {args.repeat} measured runs per place, median; "
          "each run on a fresh copy")
    runners, reason = make_runners(args.runners.split(","), args.cache_dir)
    if reason:
        print(f"benchmarks/runners: {reason}", file=sys.stderr)
        return 2
    results: dict[str, dict[str, Timing]] = {}
    qemu: Timing | str | None = None
    with tempfile.TemporaryDirectory(prefix="verdict-bench-runners-") as scratch_dir:
        scratch = Path(scratch_dir)
        if "pytest" in only:
            print("  pytest: measuring", flush=True)
            suite = pytest_suite(scratch / "pytest-suite")
            results["pytest"] = measure_suite("pytest", suite, runners, args.repeat, scratch, None, deadline)
        if "jest" in only:
            print("  jest: installing dependencies if the cache lacks them, then measuring", flush=True)
            suite = jest_suite(scratch / "jest-suite")
            node_modules = jest_node_modules(runners, suite, scratch)
            results["jest"] = measure_suite("jest", suite, runners, args.repeat, scratch, node_modules, deadline)
        if "qemu" in only:
            print("  qemu: timing boots", flush=True)
            qemu = qemu_boot(args.qemu_repeat, scratch)
    print()
    print("\n".join(report(results, qemu)))
    print("(overhead: the median minus the host's median for the same suite, measured in this run; "
          "(of mins): the fastest run minus the host's fastest, steadier on a busy machine)")
    return 0


def make_runners(names: list[str], cache_dir: str | None) -> tuple[dict[str, object], str | None]:
    from runners.errors import RunnerError

    deps = DependencyCache(cache_dir)
    runners: dict[str, object] = {}
    for name in names:
        try:
            if name == "process":
                from runners.process import ProcessRunner

                runners[name] = ProcessRunner(deps=deps)
            elif name == "docker":
                from runners.docker import DockerRunner
                from runners.images import docker_client, ensure_image

                client = docker_client()
                for image in ("python", "node"):
                    ensure_image(client, image)
                runners[name] = DockerRunner(client=client, deps=deps)
            else:
                return {}, f"unknown runner {name!r}: choose process, docker"
        except RunnerError as exc:
            return {}, f"the {name} runner cannot run here: {exc}"
    return runners, None


def jest_node_modules(runners: dict[str, object], suite: Path, scratch: Path) -> Path:
    """The cache entry's node_modules, installing it through a runner on a miss."""
    runner = next(iter(runners.values()))
    deps: DependencyCache = runner.deps  # type: ignore[attr-defined]
    key = deps.node_dependencies(suite)
    assert key is not None
    if not (deps.root / key.key).is_dir():
        runner_run(runner, "jest", fresh_copy(suite, scratch, "install"), Timing())
    return deps.root / key.key / "node_modules"


if __name__ == "__main__":
    sys.exit(main())
