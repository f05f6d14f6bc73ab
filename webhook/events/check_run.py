"""`check_run`: "Re-run" on one of Verdict's check runs starts a new attempt with a new check run;
a button on it (`requested_action`: approve, rerun-failed, rerun-all) becomes one actions job,
which checks who pressed it (that needs GitHub) before acting.
"""

from sqlalchemy.orm import Session

from webhook.events.base import Decision, Event, ignored, record_repository, test_commit

BUTTONS = ("approve", "rerun-failed", "rerun-all")


def handle(event: Event, session: Session) -> Decision:
    if event.action not in ("rerequested", "requested_action"):
        return ignored(f"check_run.{event.action} does not start a run")
    check_run = event.payload["check_run"]
    app = check_run.get("app") or {}
    if event.app_id is not None and app.get("id") not in (None, event.app_id):
        return ignored(f"check run {check_run.get('id')} belongs to another app ({app.get('slug', app.get('id'))})")
    if event.action == "requested_action":
        return _button(event, session, check_run)
    return test_commit(event, session, head_sha=check_run["head_sha"],
                       head_branch=(check_run.get("check_suite") or {}).get("head_branch"),
                       pull_numbers=[pr["number"] for pr in check_run.get("pull_requests") or []], rerun=True)


def _button(event: Event, session: Session, check_run: dict) -> Decision:
    identifier = (event.payload.get("requested_action") or {}).get("identifier")
    if identifier not in BUTTONS:
        return ignored(f"check run button {identifier!r} is not one of Verdict's")
    where = record_repository(event, session)
    if isinstance(where, Decision):
        return where
    login = (event.payload.get("sender") or {}).get("login")
    return Decision("accepted", f"{identifier} on check run {check_run['id']} by @{login} queued", comment_job=True)
