"""Pull request conversations: what a slash command asked a run to do, and `/ok-to-test` approvals.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

`runs.request` is NULL for runs started by events; a command stores {"command", "by", "target", "only"}.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)  # storage.models.UTCDateTime stores through this type


def upgrade() -> None:
    op.add_column("runs", sa.Column("request", sa.JSON(), nullable=True))
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("installation_id", sa.BigInteger(), nullable=False),
        sa.Column("repository_id", sa.BigInteger(), nullable=False),
        sa.Column("pull_number", sa.Integer(), nullable=False),
        sa.Column("head_sha", sa.String(length=64), nullable=False),
        sa.Column("approved_by", sa.String(length=255), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["repository_id"], ["repositories.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("repository_id", "pull_number", "head_sha", name="uq_approvals_repository_pull_sha"),
    )
    op.create_index("ix_approvals_repository_sha", "approvals", ["repository_id", "head_sha"])


def downgrade() -> None:
    op.drop_table("approvals")  # drops its index with it
    op.drop_column("runs", "request")  # native ALTER TABLE ... DROP COLUMN (SQLite >= 3.35, PostgreSQL)
