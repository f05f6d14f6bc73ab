"""The check run lifecycle: queued → in_progress → completed, annotations in batches of 50.

The completing update carries the check run's buttons (`actions`), e.g. "Approve run" on a run
that waits for approval, "Re-run failed" and "Re-run all" on a finished one.
"""

from __future__ import annotations

from checks.client import CheckRunsAPI, utc_now_iso
from checks.output import CHECK_NAME, CONFIG_CHECK_NAME, CheckReport

ANNOTATIONS_PER_REQUEST = 50


def create_queued(api: CheckRunsAPI, repo: str, *, head_sha: str, details_url: str, run_id: int) -> int:
    return api.create_check_run(repo, name=CHECK_NAME, head_sha=head_sha, details_url=details_url,
                                external_id=str(run_id), status="queued")


def mark_in_progress(api: CheckRunsAPI, repo: str, check_run_id: int, *, title: str = "Running tests") -> None:
    api.update_check_run(repo, check_run_id, status="in_progress", started_at=utc_now_iso(),
                         output={"title": title, "summary": "Verdict is running the tests for this commit."})


def create_config_check(api: CheckRunsAPI, repo: str, *, head_sha: str, details_url: str, run_id: int,
                        report: CheckReport) -> int:
    """The separate "verdict/config" check run: the config's problems as annotations on its lines."""
    check_run_id = api.create_check_run(repo, name=CONFIG_CHECK_NAME, head_sha=head_sha, details_url=details_url,
                                        external_id=f"{run_id}-config", status="in_progress")
    complete(api, repo, check_run_id, report)
    return check_run_id


def complete(api: CheckRunsAPI, repo: str, check_run_id: int, report: CheckReport,
             actions: list[dict[str, str]] | None = None) -> None:
    """Send every annotation (≤50 per request, GitHub appends them), then the conclusion and buttons."""
    batches = [report.annotations[i:i + ANNOTATIONS_PER_REQUEST]
               for i in range(0, len(report.annotations), ANNOTATIONS_PER_REQUEST)] or [[]]
    for batch in batches[:-1]:
        api.update_check_run(repo, check_run_id, output={**report.output(), "annotations": batch})
    final_output = report.output()
    if batches[-1]:
        final_output["annotations"] = batches[-1]
    api.update_check_run(repo, check_run_id, status="completed", conclusion=report.conclusion,
                         completed_at=utc_now_iso(), output=final_output, actions=actions)
