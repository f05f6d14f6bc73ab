"""The check run lifecycle: queued → in_progress → completed, annotations in batches of 50."""

from __future__ import annotations

from checks.client import CheckRunsAPI, utc_now_iso
from checks.output import CHECK_NAME, CheckReport

ANNOTATIONS_PER_REQUEST = 50


def create_queued(api: CheckRunsAPI, repo: str, *, head_sha: str, details_url: str, run_id: int) -> int:
    return api.create_check_run(repo, name=CHECK_NAME, head_sha=head_sha, details_url=details_url,
                                external_id=str(run_id), status="queued")


def mark_in_progress(api: CheckRunsAPI, repo: str, check_run_id: int, *, title: str = "Running tests") -> None:
    api.update_check_run(repo, check_run_id, status="in_progress", started_at=utc_now_iso(),
                         output={"title": title, "summary": "Verdict is running the tests for this commit."})


def complete(api: CheckRunsAPI, repo: str, check_run_id: int, report: CheckReport) -> None:
    """Send every annotation (≤50 per request, GitHub appends them), then the conclusion."""
    batches = [report.annotations[i:i + ANNOTATIONS_PER_REQUEST]
               for i in range(0, len(report.annotations), ANNOTATIONS_PER_REQUEST)] or [[]]
    for batch in batches[:-1]:
        api.update_check_run(repo, check_run_id, output={**report.output(), "annotations": batch})
    final_output = report.output()
    if batches[-1]:
        final_output["annotations"] = batches[-1]
    api.update_check_run(repo, check_run_id, status="completed", conclusion=report.conclusion,
                         completed_at=utc_now_iso(), output=final_output)
