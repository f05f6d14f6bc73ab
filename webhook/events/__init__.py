"""The one table of event handlers. app.yml's default_events must all appear here (a test checks)."""

from webhook.events import check_run, check_suite, installation, issue_comment, ping, pull_request, push
from webhook.events.base import Decision, Event, Handler, ignored

HANDLERS: dict[str, Handler] = {
    "ping": ping.handle,
    "push": push.handle,
    "pull_request": pull_request.handle,
    "check_suite": check_suite.handle,
    "check_run": check_run.handle,
    "issue_comment": issue_comment.handle,
    "installation": installation.handle_installation,
    "installation_repositories": installation.handle_installation_repositories,
}

__all__ = ["HANDLERS", "Decision", "Event", "Handler", "ignored"]
