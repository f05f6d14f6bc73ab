"""Impact records: kept per repository and commit, the newest few only.

`save_impact_record` replaces the record of a commit recorded again and keeps at most
`KEEP_PER_REPOSITORY` per repository (the oldest go first); `impact_record` returns the stored
bytes for one commit, from the same installation only.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.models import ImpactRecord, utcnow

KEEP_PER_REPOSITORY = 50


def save_impact_record(session: Session, *, installation_id: int, repository_id: int, commit_sha: str,
                       data: bytes, tests: int, run_id: int | None = None,
                       keep: int = KEEP_PER_REPOSITORY) -> ImpactRecord:
    """Store (or replace) the impact record of `commit_sha`, then drop the repository's oldest beyond `keep`."""
    record = session.scalar(select(ImpactRecord).where(ImpactRecord.repository_id == repository_id,
                                                       ImpactRecord.commit_sha == commit_sha))
    if record is None:
        record = ImpactRecord(installation_id=installation_id, repository_id=repository_id, commit_sha=commit_sha,
                              run_id=run_id, tests=tests, data=data)
        session.add(record)
    else:
        record.installation_id, record.run_id, record.tests, record.data = installation_id, run_id, tests, data
        record.created_at = utcnow()
    session.flush()
    newest = select(ImpactRecord.id).where(ImpactRecord.repository_id == repository_id).order_by(
        ImpactRecord.created_at.desc(), ImpactRecord.id.desc()).limit(max(keep, 1))
    session.execute(delete(ImpactRecord).where(ImpactRecord.repository_id == repository_id,
                                               ImpactRecord.id.not_in(newest.scalar_subquery())))
    return record


def impact_record(session: Session, repository_id: int, commit_sha: str, *, installation_id: int) -> bytes | None:
    """The stored impact data of `commit_sha`, recorded in this installation, or None."""
    return session.scalar(select(ImpactRecord.data).where(
        ImpactRecord.repository_id == repository_id, ImpactRecord.commit_sha == commit_sha,
        ImpactRecord.installation_id == installation_id))
