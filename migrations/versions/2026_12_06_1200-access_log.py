"""Who looked: the government view's reads, logged with client, agency, action and reference.

Revision ID: access_log
Revises: court_listings
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "access_log"
down_revision: str | None = "court_listings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "access_log",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("agency_code", sa.String(length=96), nullable=False),
        sa.Column("what", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.Column("identifier", sa.String(length=64), nullable=True),
        sa.Column("record_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log")),
    )
    op.create_index("ix_access_log_at", "access_log", ["at"], unique=False)
    op.create_index("ix_access_log_client_at", "access_log", ["client_id", "at"], unique=False)
    op.create_index("ix_access_log_subject_at", "access_log", ["subject_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_access_log_subject_at", table_name="access_log")
    op.drop_index("ix_access_log_client_at", table_name="access_log")
    op.drop_index("ix_access_log_at", table_name="access_log")
    op.drop_table("access_log")
