"""`pull_request`: test the head commit when a pull request is opened or its head changes."""

from sqlalchemy.orm import Session

from webhook.events.base import Decision, Event, ignored, test_commit

ACTIONS = ("opened", "synchronize", "reopened", "ready_for_review")


def handle(event: Event, session: Session) -> Decision:
    if event.action not in ACTIONS:
        return ignored(f"pull_request.{event.action} does not start a run")
    pr = event.payload["pull_request"]
    return test_commit(event, session, head_sha=pr["head"]["sha"], head_branch=pr["head"].get("ref"),
                       pull_numbers=[pr["number"]])
