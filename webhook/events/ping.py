"""`ping`: GitHub's hello when the webhook is set up."""

from sqlalchemy.orm import Session

from webhook.events.base import Decision, Event


def handle(event: Event, session: Session) -> Decision:
    hook = event.payload.get("hook") or {}
    return Decision("accepted", f"pong (hook {hook.get('id', '?')}, events: {', '.join(hook.get('events', []))})")
