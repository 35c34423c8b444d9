"""References the registry issues to organisations without a code.

Revision ID: issued_references
Revises: screenings
Create Date: 2026-12-06 21:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "issued_references"
down_revision: str | None = "screenings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "issued_references",
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("jurisdiction", sa.String(length=6), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("agency_code", sa.String(length=96), nullable=False),
        sa.Column("issued_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("reference", name=op.f("pk_issued_references")),
        sa.UniqueConstraint(
            "jurisdiction", "name_key", name=op.f("uq_issued_references_jurisdiction_name_key")
        ),
    )


def downgrade() -> None:
    op.drop_table("issued_references")
