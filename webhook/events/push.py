"""`push`: test the pushed head commit (branch deletions and tag pushes do nothing)."""

from sqlalchemy.orm import Session

from webhook.events.base import Decision, Event, ignored, test_commit

ZERO_SHA = "0" * 40


def handle(event: Event, session: Session) -> Decision:
    payload = event.payload
    ref: str = payload.get("ref", "")
    if payload.get("deleted") or payload.get("after", ZERO_SHA) == ZERO_SHA:
        return ignored(f"{ref} was deleted")
    if not ref.startswith("refs/heads/"):
        return ignored(f"{ref} is not a branch")
    return test_commit(event, session, head_sha=payload["after"], head_branch=ref.removeprefix("refs/heads/"),
                       pull_numbers=[])
