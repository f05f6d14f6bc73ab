"""`/ok-to-test` approvals: a trusted person's go-ahead for one head commit of one pull request.

An approval is bound to the commit it was given for: a new push makes a new head sha, which is
not approved until someone approves it again.
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import Approval, utcnow


def approve(
    session: Session,
    *,
    installation_id: int,
    repository_id: int,
    pull_number: int,
    head_sha: str,
    approved_by: str,
) -> Approval:
    """Record the approval of `head_sha`; approving the same commit again keeps the first approval."""
    existing = _approval(session, repository_id, pull_number, head_sha)
    if existing is not None and existing.installation_id != installation_id:
        # The repository moved to another installation: an approval given there does not count here.
        existing.installation_id, existing.approved_by, existing.at = installation_id, approved_by, utcnow()
        session.flush()
    if existing is not None:
        return existing
    approval = Approval(installation_id=installation_id, repository_id=repository_id, pull_number=int(pull_number),
                        head_sha=head_sha, approved_by=approved_by)
    try:
        with session.begin_nested():
            session.add(approval)
    except IntegrityError:
        if (existing := _approval(session, repository_id, pull_number, head_sha)) is None:
            raise  # not a concurrent approval of the same commit (an unknown repository, say)
        return existing
    return approval


def _approval(session: Session, repository_id: int, pull_number: int, head_sha: str) -> Approval | None:
    query = select(Approval).where(Approval.repository_id == repository_id, Approval.pull_number == pull_number,
                                   Approval.head_sha == head_sha)
    return session.scalar(query)


def is_approved(session: Session, repository_id: int, head_sha: str, *, installation_id: int | None = None) -> bool:
    """Has someone approved running this commit (for any pull request of the repository)?

    Jobs pass `installation_id`: an approval given in one installation never unlocks another's run,
    even for the same repository id (a transferred repository) and the same commit.
    """
    query = exists().where(Approval.repository_id == repository_id, Approval.head_sha == head_sha)
    if installation_id is not None:
        query = query.where(Approval.installation_id == installation_id)
    return bool(session.scalar(select(query)))


def approvals_for(session: Session, repository_id: int, pull_number: int) -> list[Approval]:
    """A pull request's approvals, oldest first."""
    query = (select(Approval).where(Approval.repository_id == repository_id, Approval.pull_number == pull_number)
             .order_by(Approval.at, Approval.id))
    return list(session.scalars(query))
