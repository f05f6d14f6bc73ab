"""`issue_comment`: slash commands in a new comment on a pull request become one commands job.

Only `created` counts: editing or deleting a comment never runs anything again. Comments on plain
issues, comments without commands, and comments by bots (Verdict's own `<slug>[bot]` included)
are ignored. Who may run what is decided by the job, which can ask GitHub.
"""

from sqlalchemy.orm import Session

from webhook.commands import parse_commands
from webhook.events.base import Decision, Event, ignored, record_repository


def handle(event: Event, session: Session) -> Decision:
    if event.action != "created":
        return ignored(f"issue_comment.{event.action} does not run commands (only new comments do)")
    issue, comment = event.payload["issue"], event.payload["comment"]
    if not issue.get("pull_request"):
        return ignored(f"#{issue['number']} is an issue, not a pull request")
    sender = event.payload.get("sender") or comment.get("user") or {}
    if _is_bot(event, sender, comment):
        return ignored(f"comment {comment['id']} is by a bot ({sender.get('login')})")
    commands = parse_commands(comment.get("body"))
    if not commands:
        return ignored(f"comment {comment['id']} has no commands")
    where = record_repository(event, session)
    if isinstance(where, Decision):
        return where
    names = ", ".join(f"/{c.name}" if c.name != "unknown" else repr(c.line) for c in commands)
    return Decision("accepted", f"{names} from @{sender.get('login')} on #{issue['number']} queued",
                    comment_job=True)


def _is_bot(event: Event, sender: dict, comment: dict) -> bool:
    via_app = (comment.get("performed_via_github_app") or {}).get("id")
    return (sender.get("type") == "Bot" or str(sender.get("login", "")).endswith("[bot]")
            or (event.app_id is not None and via_app == event.app_id))
