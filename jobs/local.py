"""`verdict check`: the same pipeline on a local git checkout — no GitHub, no Redis, SQLite by default.

The working tree as it is on disk (tracked and untracked files, minus ignored ones) is
copied into a fresh workspace, run through a runner, recorded like any run, and turned
into the report a check run would show.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import storage
from checks.output import CheckReport, report_for
from jobs.monitor import RunMonitor
from runners import RunResult, RunSpec, get_runner, test_command_for
from verdict.errors import PermanentError
from verdict.settings import Settings

LOCAL_INSTALLATION = 0


@dataclass
class LocalVerdict:
    run_id: int
    report: CheckReport
    result: RunResult
    changed: list[str]


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise PermanentError(f"git {' '.join(args)}: {proc.stderr.strip() or 'failed'}")
    return proc.stdout


def changed_files(repo: Path, base: str) -> list[str]:
    """Files under `repo` changed between the merge base of `base` and the working tree (committed or not)."""
    try:
        git(repo, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")
    except PermanentError:
        raise PermanentError(f"--base {base!r} is not a commit in {repo}") from None
    merge_base = git(repo, "merge-base", base, "HEAD").strip()
    tracked = git(repo, "diff", "--name-only", "--relative", merge_base, "--", ".").splitlines()
    untracked = git(repo, "ls-files", "--others", "--exclude-standard").splitlines()
    return sorted(set(tracked) | set(untracked))


def copy_worktree(repo: Path, dest: Path) -> None:
    listing = git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for rel in filter(None, listing.split("\0")):
        src = repo / rel
        if not src.exists() and not src.is_symlink():
            continue  # deleted in the working tree
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            target.symlink_to(src.readlink())
        elif src.is_file():
            shutil.copy2(src, target)


def _repository_id(top: Path) -> int:
    # Local repositories get negative ids so they never collide with GitHub's.
    return -int(hashlib.sha256(str(top).encode()).hexdigest()[:12], 16)


def check_local(path: Path, settings: Settings, *, base: str | None = None, runner: str = "process") -> LocalVerdict:
    if not path.is_dir():
        raise PermanentError(f"{path} is not a directory")
    try:
        git(path, "rev-parse", "--show-toplevel")
    except PermanentError:
        raise PermanentError(f"{path} is not inside a git checkout") from None
    top = path.resolve()  # PATH is the repository under test, even inside a larger checkout
    head = git(top, "rev-parse", "HEAD").strip() if _has_commits(top) else "0" * 40
    changed = changed_files(top, base) if base else []
    run_runner = get_runner(runner)
    engine = storage.make_engine(settings.database_url)
    storage.migrate(engine)
    sessions = storage.session_factory(engine)
    repository_id = _repository_id(top)
    with storage.session_scope(sessions) as session:
        storage.upsert_installation(session, LOCAL_INSTALLATION, account_login="local", account_type="User")
        storage.upsert_repository(session, repository_id, installation_id=LOCAL_INSTALLATION, full_name=top.name,
                                  clone_url=top.as_uri())
        run = storage.start_run(session, installation_id=LOCAL_INSTALLATION, repository_id=repository_id,
                                head_sha=head, trigger="local", delivery_id=None, rerun=True)
        assert run is not None  # rerun=True always starts a new attempt
        run_id = run.id
        storage.claim_run(session, run_id, worker="local", runner=runner)
    try:
        result = _run_copy(top, run_runner, runner, settings, sessions, run_id)
    except BaseException as exc:  # record why, so no local run is left in progress either
        with storage.session_scope(sessions) as session:
            storage.finish_run(session, run_id, conclusion="failure", title="The tests could not be run",
                               summary=str(exc), error=f"{exc.__class__.__name__}: {exc}")
            storage.mark_reported(session, run_id)
        engine.dispose()
        raise
    preamble = f"Changed since `{base}`: {len(changed)} file(s)." if base else ""
    report = report_for(result, preamble=preamble)
    with storage.session_scope(sessions) as session:
        storage.add_test_results(session, run_id, result.tests)
        storage.finish_run(session, run_id, conclusion=report.conclusion, title=report.title,
                           summary=report.summary, error=result.error, totals=report.totals,
                           test_duration=result.duration)
        storage.mark_reported(session, run_id)
    engine.dispose()
    return LocalVerdict(run_id, report, result, changed)


def _has_commits(top: Path) -> bool:
    return subprocess.run(["git", "-C", str(top), "rev-parse", "--verify", "-q", "HEAD"],
                          capture_output=True).returncode == 0


def _run_copy(top: Path, run_runner, runner: str, settings: Settings, sessions, run_id: int) -> RunResult:
    with tempfile.TemporaryDirectory(prefix="verdict-check-") as tmp, RunMonitor(sessions, run_id) as monitor:
        workspace = Path(tmp) / "workspace"
        workspace.mkdir()
        copy_worktree(top, workspace)
        command = test_command_for(workspace)
        monitor.note(f"running {' '.join(command)} with the {runner} runner")
        return run_runner.run(RunSpec(workspace=workspace, command=command, timeout=settings.run_timeout,
                                      memory_mb=settings.run_memory_mb, cpus=settings.run_cpus,
                                      on_output=monitor.line))
