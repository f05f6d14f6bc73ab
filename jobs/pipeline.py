"""The jobs for one commit: create the queued check run, run the tests, publish the verdict.

Job functions are module-level and take only a run id. Each reads the run from the
database and acts only if the run is in the state it expects, so a duplicate job does
nothing. A run that fails for any reason is still finished and published: no check run
is ever left queued or in progress by a job that ran.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import storage
from checks import (
    CONFIG_CHECK_NAME,
    ConversationClient,
    GitHubPermanentError,
    InstallationClient,
    actions_for,
    approval_report,
    complete,
    config_report,
    create_config_check,
    create_queued,
    error_report,
    mark_in_progress,
    report_for,
)
from checks.output import CheckReport, annotations_for, details_for
from jobs import queues
from jobs.access import approval_needed_because, can_write, drop_run, installation_stopped, is_trusted
from jobs.artifacts import collect_artifacts
from jobs.cancelling import supersede_older_heads
from jobs.context import JobContext, current
from jobs.impact import impact_loader, keep_recording, records_impact, with_recording
from jobs.monitor import RunMonitor
from jobs.plans import plan_for
from jobs.repo_config import (
    CONFIG_PATH,
    RepoConfig,
    RepoConfigError,
    effective_limits,
    load_config,
)
from jobs.scoping import requested_arguments, scoped_arguments, select_for_commit, skipped_report
from jobs.triggers import Comparison, comparison_for
from jobs.workspace import fetch_commit
from runners import Outcome, RunResult, TestCase, TestStatus, get_runner
from scope import scope_config, summary_markdown
from verdict.errors import PermanentError, TransientError, VerdictError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunFacts:
    """Plain values copied out of the database so no ORM object outlives its session."""

    run_id: int
    installation_id: int
    repository_id: int
    repo: str
    clone_url: str
    head_sha: str
    check_run_id: int | None
    status: str
    delivery_id: str | None
    default_branch: str


def _facts(ctx: JobContext, run_id: int) -> RunFacts | None:
    with storage.session_scope(ctx.sessions) as session:
        run = storage.get_run(session, run_id)
        if run is None:
            return None
        repo = storage.get_repository(session, run.repository_id)
        if repo is None:
            raise PermanentError(f"run {run_id}: repository {run.repository_id} is not recorded")
        return RunFacts(run_id, run.installation_id, run.repository_id, repo.full_name, repo.clone_url, run.head_sha,
                        run.check_run_id, run.status, run.delivery_id, repo.default_branch or "main")


def create_check(run_id: int) -> None:
    """Show the run on GitHub as `queued`, then decide whether it may run before handing it to the runs queue.

    A pull request's new head cancels the runs of its older heads. The config (default branch, with what it
    `_extends`) must be valid: if not, a "verdict/config" check run shows the problems on the file's lines and
    the run fails without running anything. A fork's (or a newcomer's) run waits for approval of its head
    commit: it completes as `action_required` with an "Approve run" button. A suspended or removed
    installation's run is dropped.
    """
    ctx = current()
    facts = _facts(ctx, run_id)
    if facts is None or facts.status == "completed":
        log.info("run %s: nothing to create (%s)", run_id, "missing" if facts is None else "completed")
        return
    if _dropped(ctx, run_id, facts.installation_id):
        return
    api = ConversationClient(ctx.github, facts.installation_id)
    if facts.check_run_id is None:
        try:
            check_run_id = create_queued(api, facts.repo, head_sha=facts.head_sha,
                                         details_url=ctx.details_url(run_id), run_id=run_id)
        except GitHubPermanentError as exc:
            _abandon(ctx, facts, exc)
            return
        with storage.session_scope(ctx.sessions) as session:
            storage.set_check_run_id(session, run_id, check_run_id)
        log.info("run %s: check run %s queued on %s@%s", run_id, check_run_id, facts.repo, facts.head_sha[:12])
    gate = _gate_facts(ctx, run_id)
    if gate.trigger.startswith("pull_request.") and gate.pull_numbers:
        supersede_older_heads(ctx, installation_id=facts.installation_id, repository_id=gate.repository_id,
                              run_id=run_id, head_sha=facts.head_sha, pull_numbers=gate.pull_numbers,
                              newer_url=ctx.details_url(run_id))
    try:
        config = load_config(api, facts.repo, facts.default_branch)
        why = _awaits_approval(ctx, api, facts, gate, config)
    except RepoConfigError as exc:
        _fail_on_config(ctx, api, facts, exc)
        return
    except PermanentError as exc:
        _finish_with_error(ctx, run_id, "Verdict could not run the tests", exc)
        publish_or_enqueue(ctx, run_id)
        return
    if why is not None:
        _hold_for_approval(ctx, facts, why)
        return
    queues.enqueue_execute(ctx.redis, ctx.settings, run_id)


@dataclass(frozen=True)
class GateFacts:
    """What create_check needs beyond RunFacts: who asked, which pull requests, the approval gate."""

    repository_id: int
    trigger: str
    pull_numbers: list[int]
    request: dict | None
    gate: dict | None


def _gate_facts(ctx: JobContext, run_id: int) -> GateFacts:
    with storage.session_scope(ctx.sessions) as session:
        run = storage.get_run(session, run_id)
        assert run is not None
        return GateFacts(run.repository_id, run.trigger, [int(n) for n in run.pull_numbers or []],
                         dict(run.request) if run.request else None, dict(run.gate) if run.gate else None)


def _dropped(ctx: JobContext, run_id: int, installation_id: int) -> bool:
    """A suspended or removed installation's run is finished as cancelled, with the reason in its log."""
    stopped = installation_stopped(ctx, installation_id)
    if stopped is None:
        return False
    drop_run(ctx, run_id, stopped)
    return True


def _dropped_before_start(ctx: JobContext, run_id: int) -> bool:
    facts = _facts(ctx, run_id)
    return facts is not None and facts.status == "queued" and _dropped(ctx, run_id, facts.installation_id)


def _awaits_approval(ctx: JobContext, api: ConversationClient, facts: RunFacts, gate: GateFacts,
                     config: RepoConfig) -> str | None:
    """Why this run must wait for approval, or None when it may run.

    A run someone with write access asked for (a command or a button: `request.by`) runs; so does a pull
    request by a trusted author, or one whose head commit was approved in this installation.
    """
    if gate.gate is None or (gate.request or {}).get("by"):
        return None
    why = approval_needed_because(gate.gate)
    author = str(gate.gate.get("author") or "")
    if why is None or (author and is_trusted(config, author)):
        return None
    with storage.session_scope(ctx.sessions) as session:
        if storage.is_approved(session, gate.repository_id, facts.head_sha, installation_id=facts.installation_id):
            return None
    if author and can_write(ctx, api, installation_id=facts.installation_id, repository_id=gate.repository_id,
                            repo=facts.repo, login=author):
        return None
    return why


def _hold_for_approval(ctx: JobContext, facts: RunFacts, why: str) -> None:
    report = approval_report(why, ctx.details_url(facts.run_id))
    with storage.session_scope(ctx.sessions) as session:
        storage.append_log(session, facts.run_id, "verdict", f"waiting for approval: this pull request is {why}")
        storage.finish_run(session, facts.run_id, conclusion=report.conclusion, title=report.title,
                           summary=report.summary, note="waiting for approval")
    log.info("run %s: %s@%s waits for approval (%s)", facts.run_id, facts.repo, facts.head_sha[:12], why)
    publish_or_enqueue(ctx, facts.run_id)


def _fail_on_config(ctx: JobContext, api: ConversationClient, facts: RunFacts, exc: RepoConfigError) -> None:
    """A separate "verdict/config" check run with the problems on the file's lines; the run fails, untested."""
    report = config_report(CONFIG_PATH, [(p.line, p.message) for p in exc.problems])
    created = f"{ctx.settings.queue_prefix}:config-check:{facts.run_id}"  # once, however often this job is retried
    if not ctx.redis.exists(created):
        create_config_check(api, facts.repo, head_sha=facts.head_sha, details_url=ctx.details_url(facts.run_id),
                            run_id=facts.run_id, report=report)
        ctx.redis.set(created, 1, ex=7 * 86400)
    problems = "\n".join(f"- line {p.line}: {p.message}" for p in exc.problems)
    _finish_with_error(ctx, facts.run_id, f"Invalid {CONFIG_PATH}", exc,
                       explanation=f"`{CONFIG_PATH}` on the default branch is invalid, so no test was run "
                                   f"(the **{CONFIG_CHECK_NAME}** check shows each problem on its line):"
                                   f"\n\n{problems}")
    publish_or_enqueue(ctx, facts.run_id)


def _abandon(ctx: JobContext, facts: RunFacts, exc: GitHubPermanentError) -> None:
    """No check run can be created (installation unknown to GitHub, app removed): finish quietly."""
    reason = str(exc)
    if exc.status == 404 and "token" in reason:
        reason = f"installation {facts.installation_id} is unknown to GitHub: {exc}"
    log.error("run %s abandoned: %s", facts.run_id, reason)
    with storage.session_scope(ctx.sessions) as session:
        storage.finish_run(session, facts.run_id, conclusion="cancelled", title="Not run", summary=reason,
                           error=reason, note="no check run could be created")
        storage.mark_reported(session, facts.run_id)
        if facts.delivery_id:
            storage.set_delivery_status(session, facts.delivery_id, "rejected", reason)


def execute(run_id: int) -> None:
    """Fetch the commit, run its tests in a sandbox, store the results, then publish them."""
    ctx = current()
    if _dropped_before_start(ctx, run_id):
        return
    with storage.session_scope(ctx.sessions) as session:
        if not storage.claim_run(session, run_id, worker=ctx.worker_name, runner=ctx.settings.runner):
            log.info("run %s: not queued any more; nothing to do", run_id)
            return
    facts = _facts(ctx, run_id)
    assert facts is not None
    api = ctx.github.installation(facts.installation_id)
    workspace = ctx.settings.data_dir / "workspaces" / f"run-{run_id}"
    with RunMonitor(ctx.sessions, run_id, heartbeat_every=min(5.0, ctx.settings.stale_after / 4)) as monitor:
        try:
            if facts.check_run_id:
                _best_effort(lambda: mark_in_progress(api, facts.repo, facts.check_run_id), run_id)
            _run_tests(ctx, facts, api, workspace, monitor)
        except RepoConfigError as exc:
            monitor.note(f"error: {exc}")
            problems = "\n".join(f"- line {p.line}: {p.message}" for p in exc.problems)
            _finish_with_error(ctx, run_id, f"Invalid {CONFIG_PATH}", exc,
                               explanation=f"`{CONFIG_PATH}` on the default branch is invalid:\n\n{problems}")
        except VerdictError as exc:
            monitor.note(f"error: {exc}")
            _finish_with_error(ctx, run_id, "Verdict could not run the tests", exc)
        except Exception as exc:  # a bug of ours: still finish the check run, with the reason
            log.exception("run %s failed", run_id)
            monitor.note(f"internal error: {exc.__class__.__name__}: {exc}")
            _finish_with_error(ctx, run_id, "Verdict failed while running the tests", exc)
        finally:
            shutil.rmtree(workspace, ignore_errors=True)
    publish_or_enqueue(ctx, run_id)


def _run_tests(ctx: JobContext, facts: RunFacts, api: InstallationClient, workspace: Path,
               monitor: RunMonitor) -> None:
    # The configuration comes from the default branch, never from the commit under test.
    config = load_config(api, facts.repo, facts.default_branch)
    limits = effective_limits(config, cpus=ctx.settings.run_cpus, memory_mb=ctx.settings.run_memory_mb,
                              timeout=ctx.settings.run_timeout)
    monitor.note(f"fetching {facts.head_sha} from {facts.clone_url}")
    token = api.clone_token()
    fetch_commit(facts.clone_url, facts.head_sha, workspace, token)
    runner_name, plan = plan_for(workspace, config, ctx.settings.runner)
    with storage.session_scope(ctx.sessions) as session:
        only = requested_arguments(storage.run_request(session, facts.run_id), workspace)
    selection, comparison = None, _comparison(ctx, facts)
    uses_impact = ctx.settings.impact and scope_config(config.scope).impact
    if only is None:  # not narrowed by a slash command: the scope decides
        impact_for = impact_loader(ctx.sessions, installation_id=facts.installation_id,
                                   repository_id=facts.repository_id, note=monitor.note)
        selection = select_for_commit(
            workspace, comparison, config, clone_url=facts.clone_url, token=token,
            head_sha=facts.head_sha, default_branch=facts.default_branch,
            cache_dir=ctx.settings.data_dir / "scope-cache", note=monitor.note,
            impact_for=impact_for if uses_impact else None)
        only = scoped_arguments(selection, plan.framework)
    if only is None:
        assert selection is not None
        _finish(ctx, facts.run_id, skipped_report(selection), RunResult(Outcome.EXITED, 0, 0.0))
        return
    spec = plan.spec(workspace, timeout=limits.timeout or ctx.settings.run_timeout,
                     memory_mb=limits.memory_mb or ctx.settings.run_memory_mb,
                     cpus=limits.cpus or ctx.settings.run_cpus, image=config.image, on_output=monitor.line)
    spec.command += only
    record = records_impact(uses_impact, trusted=comparison.default_branch_push, framework=plan.framework,
                            runner=runner_name, arguments=only)
    spec = with_recording(spec, plan.framework) if record else spec
    monitor.note(f"running {' '.join(spec.command)} with the {runner_name} runner")
    result = get_runner(runner_name).run(spec)
    if record:
        keep_recording(ctx.sessions, workspace, facts.head_sha, installation_id=facts.installation_id,
                       repository_id=facts.repository_id, run_id=facts.run_id, note=monitor.note)
    kept = _keep_artifacts(ctx, facts.run_id, workspace, monitor)
    report = report_for(result, details_url=ctx.details_url(facts.run_id), artifacts=kept,
                        appendix=summary_markdown(selection) if selection is not None else "")
    monitor.note(f"finished: {report.conclusion} — {report.title}")
    _finish(ctx, facts.run_id, report, result)


def _finish(ctx: JobContext, run_id: int, report: CheckReport, result: RunResult) -> None:
    with storage.session_scope(ctx.sessions) as session:
        storage.add_test_results(session, run_id, result.tests)
        storage.finish_run(session, run_id, conclusion=report.conclusion, title=report.title,
                           summary=report.summary, error=result.error, totals=report.totals,
                           test_duration=result.duration, resources=result.resources)


def _comparison(ctx: JobContext, facts: RunFacts) -> Comparison:
    with storage.session_scope(ctx.sessions) as session:
        delivery = storage.get_delivery(session, facts.delivery_id) if facts.delivery_id else None
        if delivery is None:
            return Comparison(None, reason="no triggering delivery recorded: running everything")
        event, payload = delivery.event, json.loads(delivery.payload)
    return comparison_for(event, payload, facts.default_branch)


def _keep_artifacts(ctx: JobContext, run_id: int, workspace: Path,
                    monitor: RunMonitor) -> list[tuple[str, int, str]]:
    """Collect what the tests wrote to artifacts/ before the workspace is removed."""
    collection = collect_artifacts(workspace, ctx.settings.data_dir / "artifacts" / f"run-{run_id}")
    for skipped in collection.skipped:
        monitor.note(f"artifact skipped: {skipped}")
    kept = []
    with storage.session_scope(ctx.sessions) as session:
        for artifact in collection.artifacts:
            row = storage.add_artifact(session, run_id, name=artifact.name, size=artifact.size,
                                       sha256=artifact.sha256, path=str(artifact.path.resolve()))
            kept.append((artifact.name, artifact.size, f"{ctx.details_url(run_id)}/artifacts/{row.id}"))
    return kept


def _finish_with_error(ctx: JobContext, run_id: int, title: str, exc: BaseException,
                       explanation: str | None = None) -> None:
    kind = "temporary" if isinstance(exc, TransientError) else "permanent"
    report = error_report(title, f"{explanation or exc}\n\nThis looks {kind}; use **Re-run** on this check to try "
                          "again.", conclusion="failure")
    with storage.session_scope(ctx.sessions) as session:
        storage.finish_run(session, run_id, conclusion=report.conclusion, title=report.title,
                           summary=report.summary, error=str(exc))


def _best_effort(call, run_id: int) -> None:
    try:
        call()
    except VerdictError as exc:
        log.warning("run %s: could not mark the check run in progress: %s", run_id, exc)


def publish_or_enqueue(ctx: JobContext, run_id: int) -> None:
    try:
        publish(run_id)
    except TransientError as exc:
        log.warning("run %s: publishing failed (%s); queued for retry", run_id, exc)
        queues.enqueue_publish(ctx.redis, ctx.settings, run_id)


def publish(run_id: int) -> None:
    """Send a finished run's verdict to its check run, with its buttons (idempotent: once reported, never again)."""
    ctx = current()
    facts = _facts(ctx, run_id)
    if facts is not None and (stopped := installation_stopped(ctx, facts.installation_id)):
        log.warning("run %s: not published: %s", run_id, stopped)
        with storage.session_scope(ctx.sessions) as session:
            storage.mark_reported(session, run_id)  # GitHub refuses this installation's tokens
        return
    with storage.session_scope(ctx.sessions) as session:
        run = storage.get_run(session, run_id)
        if run is None or run.status != "completed" or run.reported_at or not run.check_run_id:
            return
        repo = storage.get_repository(session, run.repository_id)
        if repo is None:
            raise PermanentError(f"run {run_id}: repository {run.repository_id} is not recorded")
        failures = [_case(r) for r in storage.test_results(session, run_id)
                    if r.status in (TestStatus.FAILED, TestStatus.ERROR)]
        report = CheckReport(conclusion=run.conclusion or "neutral", title=run.title or run.conclusion or "Done",
                             summary=run.summary or "", text=details_for(failures),
                             annotations=annotations_for(failures))
        target = (run.installation_id, repo.full_name, run.check_run_id)
        actions = actions_for(report.conclusion, bool(failures))
    try:
        complete(ctx.github.installation(target[0]), target[1], target[2], report, actions=actions)
    except PermanentError as exc:
        log.error("run %s: GitHub refused the result: %s", run_id, exc)
        raise
    with storage.session_scope(ctx.sessions) as session:
        storage.mark_reported(session, run_id)
    log.info("run %s: check run %s completed as %s", run_id, target[2], report.conclusion)


def _case(row) -> TestCase:
    return TestCase(name=row.name, status=TestStatus(row.status), classname=row.classname or "", file=row.file,
                    line=row.line, duration=row.duration or 0.0, message=row.message or "", trace=row.trace or "")
