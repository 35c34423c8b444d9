"""Screenings by name: logged like checks, receipt included.

Revision ID: screenings
Revises: search_grams
Create Date: 2026-12-06 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "screenings"
down_revision: str | None = "search_grams"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "screenings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_code", sa.String(length=96), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("top_subject_id", sa.Uuid(), nullable=True),
        sa.Column("top_score", sa.Float(), nullable=True),
        sa.Column("matches", sa.Integer(), nullable=False),
        sa.Column("state_digest", sa.String(length=64), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("receipt", sa.Text(), nullable=False),
        sa.Column("screened_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screenings")),
    )
    op.create_index("ix_screenings_agency_screened_at", "screenings", ["agency_code", "screened_at"])


def downgrade() -> None:
    op.drop_index("ix_screenings_agency_screened_at", table_name="screenings")
    op.drop_table("screenings")
