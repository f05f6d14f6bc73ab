"""`verdict check`: the same pipeline on a local git checkout — no GitHub, no Redis, SQLite by default.

The working tree as it is on disk (tracked and untracked files, minus ignored ones) is
copied into a fresh workspace, run through a runner, recorded like any run, and turned
into the report a check run would show. A full pytest run of a clean checkout (nothing
changed since HEAD) also records impact data for HEAD in the same database; a later
`verdict check --base REF` (or `verdict scope`) whose merge base is that commit narrows its
selection with it.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import make_url

import storage
from checks.output import CheckReport, report_for
from jobs.impact import impact_loader, keep_recording, records_impact, with_recording
from jobs.monitor import RunMonitor
from jobs.scoping import scoped_arguments, skipped_report
from runners import Outcome, RunResult, get_runner, test_plan_for
from scope import ChangeSet, ImpactMap, ScopeConfigError, Selection, changed_files, select_tests, summary_markdown
from scope.cli import config_at
from scope.git import resolve_commit as git_resolve
from verdict.errors import PermanentError
from verdict.settings import Settings

LOCAL_INSTALLATION = 0


@dataclass
class LocalVerdict:
    run_id: int
    report: CheckReport
    result: RunResult
    changed: list[str]
    selection: Selection | None = None


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise PermanentError(f"git {' '.join(args)}: {proc.stderr.strip() or 'failed'}")
    return proc.stdout


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


def check_local(path: Path, settings: Settings, *, base: str | None = None, runner: str = "process",
                run_all: bool = False) -> LocalVerdict:
    top, toplevel = _checkout_root(path)
    change_set = _change_set(top, toplevel, base)
    changes = _under(change_set.paths, top, toplevel) if change_set is not None else []
    run_runner = get_runner(runner)
    engine = storage.make_engine(settings.database_url)
    storage.migrate(engine)
    sessions = storage.session_factory(engine)
    selection = None
    if change_set is not None and not run_all and top == toplevel:  # scope needs PATH to be a checkout's top
        assert base is not None
        rules = config_at(top, base)
        impact = _impact_for(sessions, top, change_set) if settings.impact and rules.impact else None
        selection = select_tests(top, change_set, rules, impact=impact)
    run_id = _start_local_run(sessions, top, runner)
    full_run = run_all or change_set is None
    record_as = None
    if settings.impact and full_run and top == toplevel and (head := _clean_head(top)):
        record_as = head if _impact_allowed(top, head) else None
    try:
        result = _run_copy(top, run_runner, runner, settings, sessions, run_id, selection, record_as)
        if result is None:
            assert selection is not None
            result, report = RunResult(Outcome.EXITED, 0, 0.0), skipped_report(selection)
        else:
            preamble = f"Changed since `{base}`: {len(changes)} file(s)." if base else ""
            report = report_for(result, preamble=preamble,
                                appendix=summary_markdown(selection) if selection is not None else "")
    except BaseException as exc:  # record why, so no local run is left in progress either
        with storage.session_scope(sessions) as session:
            storage.finish_run(session, run_id, conclusion="failure", title="The tests could not be run",
                               summary=str(exc), error=f"{exc.__class__.__name__}: {exc}")
            storage.mark_reported(session, run_id)
        engine.dispose()
        raise
    with storage.session_scope(sessions) as session:
        storage.add_test_results(session, run_id, result.tests)
        storage.finish_run(session, run_id, conclusion=report.conclusion, title=report.title,
                           summary=report.summary, error=result.error, totals=report.totals,
                           test_duration=result.duration, resources=result.resources)
        storage.mark_reported(session, run_id)
    engine.dispose()
    return LocalVerdict(run_id, report, result, changes, selection)


def _checkout_root(path: Path) -> tuple[Path, Path]:
    """(PATH, the top of its git checkout): PATH is the repository under test, even inside a larger one."""
    if not path.is_dir():
        raise PermanentError(f"{path} is not a directory")
    try:
        toplevel = Path(git(path, "rev-parse", "--show-toplevel").strip()).resolve()
    except PermanentError:
        raise PermanentError(f"{path} is not inside a git checkout") from None
    return path.resolve(), toplevel


def _change_set(top: Path, toplevel: Path, base: str | None) -> ChangeSet | None:
    """What changed since the merge base with `base` (None without --base)."""
    if base is None:
        return None
    if git_resolve(toplevel, base) is None:
        raise PermanentError(f"--base {base!r} is not a commit in {top}")
    return changed_files(toplevel, base)


def _under(paths: list[str], top: Path, toplevel: Path) -> list[str]:
    """The changed paths under PATH, relative to PATH."""
    prefix = top.relative_to(toplevel).as_posix()
    if prefix == ".":
        return list(paths)
    return [p[len(prefix) + 1:] for p in paths if p.startswith(prefix + "/")]


def _start_local_run(sessions, top: Path, runner: str) -> int:
    head = git(top, "rev-parse", "HEAD").strip() if _has_commits(top) else "0" * 40
    repository_id = _repository_id(top)
    with storage.session_scope(sessions) as session:
        storage.upsert_installation(session, LOCAL_INSTALLATION, account_login="local", account_type="User")
        storage.upsert_repository(session, repository_id, installation_id=LOCAL_INSTALLATION, full_name=top.name,
                                  clone_url=top.as_uri())
        run = storage.start_run(session, installation_id=LOCAL_INSTALLATION, repository_id=repository_id,
                                head_sha=head, trigger="local", delivery_id=None, rerun=True)
        assert run is not None  # rerun=True always starts a new attempt
        storage.claim_run(session, run.id, worker="local", runner=runner)
        return run.id


def _has_commits(top: Path) -> bool:
    return subprocess.run(["git", "-C", str(top), "rev-parse", "--verify", "-q", "HEAD"],
                          capture_output=True).returncode == 0


def _impact_for(sessions, top: Path, change_set: ChangeSet) -> ImpactMap | None:
    """The impact data recorded for the change's base commit by an earlier `verdict check --all`."""
    return _local_records(sessions, top)(change_set.base_commit) if change_set.base_commit else None


def _local_records(sessions, top: Path) -> Callable[[str], ImpactMap | None]:
    return impact_loader(sessions, installation_id=LOCAL_INSTALLATION, repository_id=_repository_id(top),
                         note=lambda message: None)


def local_impact_loader(top: Path, settings: Settings) -> Callable[[str], ImpactMap | None]:
    """For `verdict scope`: a function giving the local database's impact data of a commit, if any
    (no database is created for it: without one there is nothing recorded)."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).expanduser().exists():
        return lambda commit: None
    engine = storage.make_engine(settings.database_url)
    storage.migrate(engine)
    return _local_records(storage.session_factory(engine), top.resolve())


def _impact_allowed(top: Path, commit: str) -> bool:
    """`scope.impact` of the commit's .github/verdict.yml (an invalid file: no recording either)."""
    try:
        return config_at(top, commit).impact
    except ScopeConfigError:
        return False


def _clean_head(top: Path) -> str | None:
    """HEAD's sha when the working tree holds exactly HEAD (so a run of it describes that commit)."""
    if not _has_commits(top) or git(top, "status", "--porcelain", "--untracked-files=all", "--", ".").strip():
        return None
    return git(top, "rev-parse", "HEAD").strip()


def _run_copy(top: Path, run_runner, runner: str, settings: Settings, sessions, run_id: int,
              selection: Selection | None, record_as: str | None) -> RunResult | None:
    """Run the selected tests of a copy of the working tree; None when the selection leaves nothing to run.

    With `record_as` (a commit sha), a full pytest or Mocha run records impact data for that commit.
    """
    with tempfile.TemporaryDirectory(prefix="verdict-check-") as tmp, RunMonitor(sessions, run_id) as monitor:
        workspace = Path(tmp) / "workspace"
        workspace.mkdir()
        copy_worktree(top, workspace)
        plan = test_plan_for(workspace)
        only = scoped_arguments(selection, plan.framework)
        if only is None:
            return None
        spec = plan.spec(workspace, timeout=settings.run_timeout, memory_mb=settings.run_memory_mb,
                         cpus=settings.run_cpus, on_output=monitor.line)
        spec.command += only
        record = records_impact(record_as is not None, trusted=True, framework=plan.framework, runner=runner,
                                arguments=only)
        spec = with_recording(spec, plan.framework) if record else spec
        monitor.note(f"running {' '.join(spec.command)} with the {runner} runner")
        result = run_runner.run(spec)
        if record and record_as is not None and result.outcome == Outcome.EXITED:
            keep_recording(sessions, workspace, record_as, installation_id=LOCAL_INSTALLATION,
                           repository_id=_repository_id(top), run_id=run_id, note=monitor.note)
        return result
