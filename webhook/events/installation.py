"""`installation` and `installation_repositories`: keep the installation and repository tables true."""

from sqlalchemy.orm import Session

import storage
from webhook.events.base import Decision, Event, ignored


def handle_installation(event: Event, session: Session) -> Decision:
    inst = event.payload["installation"]
    account = inst.get("account") or {}
    if event.action in ("created", "new_permissions_accepted", "unsuspend", "suspend"):
        storage.upsert_installation(session, inst["id"], account_login=account.get("login", ""),
                                    account_type=account.get("type", "User"))
    if event.action == "created":
        _add_repositories(session, inst["id"], event.payload.get("repositories") or [])
    elif event.action == "deleted":
        storage.remove_installation(session, inst["id"])
    elif event.action in ("suspend", "unsuspend"):
        storage.set_installation_suspended(session, inst["id"], event.action == "suspend")
    else:
        return ignored(f"installation.{event.action} changes nothing Verdict keeps")
    return Decision("accepted", f"installation {inst['id']} {event.action}")


def handle_installation_repositories(event: Event, session: Session) -> Decision:
    inst = event.payload["installation"]
    account = inst.get("account") or {}
    if storage.get_installation(session, inst["id"]) is None:
        storage.upsert_installation(session, inst["id"], account_login=account.get("login", ""),
                                    account_type=account.get("type", "User"))
    added = event.payload.get("repositories_added") or []
    removed = event.payload.get("repositories_removed") or []
    _add_repositories(session, inst["id"], added)
    for repo in removed:
        storage.remove_repository(session, repo["id"])
    return Decision("accepted", f"installation {inst['id']}: {len(added)} added, {len(removed)} removed")


def _add_repositories(session: Session, installation_id: int, repos: list[dict]) -> None:
    for repo in repos:  # these payloads carry only id, name, full_name and private
        storage.upsert_repository(session, repo["id"], installation_id=installation_id,
                                  full_name=repo["full_name"],
                                  clone_url=f"https://github.com/{repo['full_name']}.git",
                                  private=bool(repo.get("private")))
