"""The tables, as SQLAlchemy 2 declarative models, and the values their status columns take.

Every datetime column is `UTCDateTime`: it refuses naive datetimes, stores UTC and always
returns timezone-aware UTC values, on SQLite (which has no time zones) as on PostgreSQL.
The migrations in storage/migrations must describe exactly these tables (a test checks it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

DELIVERY_STATUSES = ("received", "enqueued", "processed", "ignored", "duplicate", "rejected", "failed")
RUN_STATUSES = ("queued", "in_progress", "completed")
CONCLUSIONS = ("success", "failure", "neutral", "cancelled", "timed_out", "action_required", "skipped")
LOG_STREAMS = ("stdout", "stderr", "verdict", "console")  # console: a VM's serial console


def utcnow() -> datetime:
    return datetime.now(UTC)


def require_aware(value: datetime, name: str = "datetime") -> datetime:
    """Return `value` in UTC; a naive datetime is a bug (whose clock would it be?)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """TIMESTAMP WITH TIME ZONE on PostgreSQL, UTC text on SQLite; aware UTC in Python."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = require_aware(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[int]: JSON()}


# Log lines and test results grow fastest: 64-bit keys on PostgreSQL (SQLite's rowid is 64-bit already).
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Installation(Base):
    __tablename__ = "installations"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    account_login: Mapped[str] = mapped_column(String(255))
    account_type: Mapped[str] = mapped_column(String(32))
    suspended_at: Mapped[datetime | None]
    removed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Repository(Base):
    __tablename__ = "repositories"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    installation_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("installations.id"), index=True)
    full_name: Mapped[str] = mapped_column(String(255), index=True)
    clone_url: Mapped[str] = mapped_column(String(1024))
    default_branch: Mapped[str] = mapped_column(String(255), default="main")
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    removed_at: Mapped[datetime | None]


class Delivery(Base):
    """One webhook delivery, keyed by X-GitHub-Delivery (a redelivery reuses the id)."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_status_updated_at", "status", "updated_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event: Mapped[str] = mapped_column(String(64))
    action: Mapped[str | None] = mapped_column(String(64))
    installation_id: Mapped[int | None] = mapped_column(BigInteger)  # no FK: may be unknown yet
    repository_full_name: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="received")
    detail: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Run(Base):
    """One check run: one attempt at testing one commit of one repository."""

    __tablename__ = "runs"
    __table_args__ = (
        UniqueConstraint("repository_id", "head_sha", "attempt", name="uq_runs_repository_sha_attempt"),
        Index("ix_runs_status_heartbeat_at", "status", "heartbeat_at"),
        Index("ix_runs_status_reported_at", "status", "reported_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    installation_id: Mapped[int] = mapped_column(BigInteger)
    repository_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("repositories.id"))
    head_sha: Mapped[str] = mapped_column(String(64))
    head_branch: Mapped[str | None] = mapped_column(String(255))
    pull_numbers: Mapped[list[int]] = mapped_column(default=list)
    trigger: Mapped[str] = mapped_column(String(64))
    delivery_id: Mapped[str | None] = mapped_column(String(64), index=True)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    check_run_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    conclusion: Mapped[str | None] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)
    runner: Mapped[str | None] = mapped_column(String(64))
    worker: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    reported_at: Mapped[datetime | None]
    tests_total: Mapped[int] = mapped_column(Integer, default=0)
    tests_passed: Mapped[int] = mapped_column(Integer, default=0)
    tests_failed: Mapped[int] = mapped_column(Integer, default=0)
    tests_skipped: Mapped[int] = mapped_column(Integer, default=0)
    tests_errors: Mapped[int] = mapped_column(Integer, default=0)
    test_duration: Mapped[float | None] = mapped_column(Float)
    peak_memory_mb: Mapped[float | None] = mapped_column(Float)  # sampled by the runner
    avg_memory_mb: Mapped[float | None] = mapped_column(Float)
    avg_cpu_percent: Mapped[float | None] = mapped_column(Float)  # 100 = one full core
    # What a person asked this run to do, for the pipeline (None: the default, what the change affects):
    # {"command": "test"|"retest", "by": login, "target": "all"|"<path or scope>", "only": [pytest node ids]}
    request: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))  # SQL NULL, not JSON null
    # What the approval gate of a pull request run needs (None: not a pull request run, no gate):
    # {"fork": bool, "author": login, "author_association": "OWNER" | "MEMBER" | "CONTRIBUTOR" | ...}
    gate: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))


class RunStatus(Base):
    """One entry of a run's status history (queued, in_progress, completed)."""

    __tablename__ = "run_statuses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    conclusion: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class TestResult(Base):
    __tablename__ = "test_results"
    __test__ = False  # not a pytest test class

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Text)
    classname: Mapped[str] = mapped_column(Text, default="")
    file: Mapped[str | None] = mapped_column(Text)
    line: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    duration: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    trace: Mapped[str] = mapped_column(Text, default="")


class LogLine(Base):
    __tablename__ = "log_lines"
    __table_args__ = (UniqueConstraint("run_id", "seq", name="uq_log_lines_run_seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    stream: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Artifact(Base):
    __tablename__ = "artifacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)


class Approval(Base):
    """`/ok-to-test`: a trusted person approved running one head commit of one pull request."""

    __tablename__ = "approvals"
    __table_args__ = (
        UniqueConstraint("repository_id", "pull_number", "head_sha", name="uq_approvals_repository_pull_sha"),
        Index("ix_approvals_repository_sha", "repository_id", "head_sha"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    installation_id: Mapped[int] = mapped_column(BigInteger)
    repository_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("repositories.id"))
    pull_number: Mapped[int] = mapped_column(Integer)
    head_sha: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ImpactRecord(Base):
    """Which tests ran which functions in one full run of one commit (scope.impact), as compressed JSON.

    Written after a full pytest run of a default-branch commit; read when a later change's base is
    that commit, to narrow its selection to the tests that ran the changed functions.
    """

    __tablename__ = "impact_records"
    __table_args__ = (
        UniqueConstraint("repository_id", "commit_sha", name="uq_impact_records_repository_sha"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    installation_id: Mapped[int] = mapped_column(BigInteger)
    repository_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("repositories.id"), index=True)
    commit_sha: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    tests: Mapped[int] = mapped_column(Integer)  # test functions recorded
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
