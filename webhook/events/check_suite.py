"""`check_suite`: GitHub asks for checks on a new commit (requested) or a re-run (rerequested)."""

from sqlalchemy.orm import Session

from webhook.events.base import Decision, Event, ignored, test_commit


def handle(event: Event, session: Session) -> Decision:
    if event.action not in ("requested", "rerequested"):
        return ignored(f"check_suite.{event.action} does not start a run")
    suite = event.payload["check_suite"]
    return test_commit(event, session, head_sha=suite["head_sha"], head_branch=suite.get("head_branch"),
                       pull_numbers=[pr["number"] for pr in suite.get("pull_requests") or []],
                       rerun=event.action == "rerequested")
