"""Watchlist alerts made after commit (issue 16): the outbox of changes that may alter watched
answers, written in each change's transaction; the delivery worker makes the alerts from it.

Revision ID: watch_changes
Revises: monitoring
Create Date: 2026-12-06 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "watch_changes"
down_revision: str | None = "monitoring"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = app.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "watch_changes",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("audit_seq", sa.BigInteger(), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("done_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_watch_changes")),
    )
    op.create_index("ix_watch_changes_done_at_seq", "watch_changes", ["done_at", "seq"])


def downgrade() -> None:
    op.drop_index("ix_watch_changes_done_at_seq", table_name="watch_changes")
    op.drop_table("watch_changes")
