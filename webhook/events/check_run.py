"""`check_run`: "Re-run" on one of Verdict's check runs starts a new attempt with a new check run."""

from sqlalchemy.orm import Session

from webhook.events.base import Decision, Event, ignored, test_commit


def handle(event: Event, session: Session) -> Decision:
    if event.action != "rerequested":
        return ignored(f"check_run.{event.action} does not start a run")
    check_run = event.payload["check_run"]
    app = check_run.get("app") or {}
    if event.app_id is not None and app.get("id") not in (None, event.app_id):
        return ignored(f"check run {check_run.get('id')} belongs to another app ({app.get('slug', app.get('id'))})")
    return test_commit(event, session, head_sha=check_run["head_sha"],
                       head_branch=(check_run.get("check_suite") or {}).get("head_branch"),
                       pull_numbers=[pr["number"] for pr in check_run.get("pull_requests") or []], rerun=True)
