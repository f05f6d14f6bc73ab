"""`issue_comment`: subscribed in app.yml for pull request slash commands, which arrive in a later release."""

from sqlalchemy.orm import Session

from webhook.events.base import Decision, Event, ignored


def handle(event: Event, session: Session) -> Decision:
    return ignored("slash commands in comments are not handled yet")
