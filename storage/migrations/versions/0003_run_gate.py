"""What a pull request run's approval gate needs to know: fork, author and author association.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08

`runs.gate` is NULL for runs that are not about a pull request; a pull_request event stores
{"fork": bool, "author": login, "author_association": "OWNER" | "MEMBER" | ...}.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("gate", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("runs", "gate")
